/*
 * fuzz_rules.c — the rules loader, sk_rules_load(), on arbitrary file
 * contents: YAML syntax, libcyaml's schema, the position index, the checks
 * and the compilation.
 *
 * The input is written to a file in a per-process temporary directory and
 * loaded. An input holding the line "#@file" is split there into several
 * files (00.yaml, 01.yaml, ...) loaded as one directory, so cross-file
 * duplicates and references are reached too (the line is a YAML comment).
 *
 * A load either fails with well-formed errors (at least one; each with a
 * file, a non-empty message, line and column >= 0) or returns a rule set
 * whose counts and lookups agree with each other, whose every edge holds
 * the compile-time guarantees (max_duration > 0, times >= 0, level
 * 0..100), and whose version is 32 hex digits and the same on a second load.
 * Everything is destroyed every time: LeakSanitizer sees any leak.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "rules/rules.h"

#define SPLIT_MARK "#@file\n"
#define MAX_FILES  16

static char g_dir[64];  /* per-process temporary directory */
static pid_t g_owner;   /* the process that made g_dir */
static FILE *g_devnull; /* sink for sk_rules_errors_print */

static void remove_dir(void)
{
    if (g_owner != getpid())
        return; /* a forked child's copy: the parent removes its own */
    DIR *d = opendir(g_dir);
    struct dirent *de;
    char path[384];
    if (d) {
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", g_dir, de->d_name);
            if (unlink(path) != 0)
                rmdir(path); /* a split input's "set" (emptied after each input) */
        }
        closedir(d);
    }
    rmdir(g_dir);
}

/* Makes this process's temporary directory on first use (again after a
 * fork, so parallel processes never share files). */
static void ensure_dir(void)
{
    static int registered;
    if (g_owner == getpid())
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/sk-fuzz-rules.XXXXXX",
             tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(g_dir) != NULL, "mkdtemp: %s", strerror(errno));
    g_owner = getpid();
    if (!registered) {
        atexit(remove_dir);
        registered = 1;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_devnull = fopen("/dev/null", "w");
    FUZZ_CHECK(g_devnull != NULL, "/dev/null: %s", strerror(errno));
    return 0;
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    FUZZ_CHECK(fp != NULL, "%s: %s", path, strerror(errno));
    FUZZ_CHECK(fwrite(data, 1, size, fp) == size, "%s: short write", path);
    FUZZ_CHECK(fclose(fp) == 0, "%s: %s", path, strerror(errno));
}

static const uint8_t *find_mark(const uint8_t *p, const uint8_t *end)
{
    size_t m = strlen(SPLIT_MARK);
    for (; (size_t)(end - p) >= m; p++)
        if (memcmp(p, SPLIT_MARK, m) == 0)
            return p;
    return NULL;
}

/* Writes the input as one file or, split at SPLIT_MARK, as several files of
 * one directory. Returns the path to load and sets *n_files. */
static const char *write_input(const uint8_t *data, size_t size, char *path, size_t path_len,
                               size_t *n_files)
{
    const uint8_t *end = data + size, *mark = find_mark(data, end);
    if (!mark) {
        snprintf(path, path_len, "%s/rules.yaml", g_dir);
        write_file(path, data, size);
        *n_files = 1;
        return path;
    }
    snprintf(path, path_len, "%s/set", g_dir);
    FUZZ_CHECK(mkdir(path, 0700) == 0, "%s: %s", path, strerror(errno));
    size_t n = 0;
    const uint8_t *p = data;
    while (p && n < MAX_FILES) {
        const uint8_t *next = n + 1 < MAX_FILES ? find_mark(p, end) : NULL;
        char file[128];
        snprintf(file, sizeof file, "%s/set/%02zu.yaml", g_dir, n++);
        write_file(file, p, (size_t)((next ? next : end) - p));
        p = next ? next + strlen(SPLIT_MARK) : NULL;
    }
    *n_files = n;
    return path;
}

static void remove_input(size_t n_files, int split)
{
    char file[128];
    if (!split) {
        snprintf(file, sizeof file, "%s/rules.yaml", g_dir);
        unlink(file);
        return;
    }
    for (size_t i = 0; i < n_files; i++) {
        snprintf(file, sizeof file, "%s/set/%02zu.yaml", g_dir, i);
        unlink(file);
    }
    snprintf(file, sizeof file, "%s/set", g_dir);
    FUZZ_CHECK(rmdir(file) == 0, "%s: %s", file, strerror(errno));
}

static void check_errors(const sk_rules_errors_t *errs)
{
    FUZZ_CHECK(errs->count >= 1, "refused with no error");
    FUZZ_CHECK(errs->count <= errs->cap && errs->items, "error list count %zu cap %zu", errs->count,
               errs->cap);
    for (size_t i = 0; i < errs->count; i++) {
        const sk_rules_error_t *e = &errs->items[i];
        FUZZ_CHECK(e->file && e->file[0], "error %zu without a file", i);
        FUZZ_CHECK(e->message && e->message[0], "error %zu without a message", i);
        FUZZ_CHECK(e->line >= 0 && e->column >= 0, "error %zu at %d:%d", i, e->line, e->column);
        FUZZ_CHECK(!strchr(e->message, '\n'), "error %zu: message spans lines: %s", i, e->message);
    }
    sk_rules_errors_print(errs, g_devnull);
}

static void check_rules(const sk_rules_t *r, size_t n_files)
{
    sk_rules_stats_t st;
    sk_rules_stats(r, &st);
    FUZZ_CHECK(st.files == n_files, "stats.files %zu, loaded %zu", st.files, n_files);
    FUZZ_CHECK(st.rotations == sk_rules_rotation_count(r), "stats.rotations %zu vs %zu",
               st.rotations, sk_rules_rotation_count(r));
    FUZZ_CHECK(st.entitlements == 0 || st.apps > 0, "%zu entitlements in 0 apps", st.entitlements);
    const char *v = sk_rules_version(r);
    FUZZ_CHECK(v && strlen(v) == 32 && strspn(v, "0123456789abcdef") == 32, "version '%s'",
               v ? v : "(null)");
    size_t n_edges = 0;
    for (size_t i = 0; i < st.rotations; i++) {
        const sk_rotation_t *rot = sk_rules_rotation_at(r, i);
        FUZZ_CHECK(rot && rot->id && rot->id[0], "rotation %zu", i);
        FUZZ_CHECK(rot->name && rot->platform && rot->external_id, "rotation %s: NULL text",
                   rot->id);
        FUZZ_CHECK(sk_rules_rotation(r, rot->id) == rot, "lookup of rotation '%s'", rot->id);
        FUZZ_CHECK(rot->n_edges == 0 || rot->edges, "rotation %s: edges NULL", rot->id);
        for (size_t j = 0; j < rot->n_edges; j++) {
            const sk_enrollment_edge_t *e = &rot->edges[j];
            FUZZ_CHECK(e->ent && e->enrollment && e->profile, "edge %s[%zu]", rot->id, j);
            FUZZ_CHECK(sk_rules_entitlement(r, e->ent->key) == e->ent, "lookup of entitlement '%s'",
                       e->ent->key);
            FUZZ_CHECK(e->ent->max_duration_ms > 0, "%s: max_duration %lld", e->ent->key,
                       (long long)e->ent->max_duration_ms);
            FUZZ_CHECK(e->grant_before_ms >= 0 && e->revoke_after_ms >= 0,
                       "edge %s[%zu]: negative time", rot->id, j);
            FUZZ_CHECK(e->max_escalation_level >= 0 && e->max_escalation_level <= 100,
                       "edge %s[%zu]: level %d", rot->id, j, e->max_escalation_level);
            size_t klen = strlen(e->ent->app);
            FUZZ_CHECK(strncmp(e->ent->key, e->ent->app, klen) == 0 && e->ent->key[klen] == '/' &&
                           strcmp(e->ent->key + klen + 1, e->ent->id) == 0,
                       "key '%s' is not app/id", e->ent->key);
            n_edges++;
        }
    }
    FUZZ_CHECK(n_edges == 0 || (st.enrollments > 0 && st.profiles > 0 && st.entitlements > 0),
               "%zu edges from %zu enrollments, %zu profiles, %zu entitlements", n_edges,
               st.enrollments, st.profiles, st.entitlements);
    FUZZ_CHECK(sk_rules_rotation_at(r, st.rotations) == NULL, "rotation past the end");
    FUZZ_CHECK(sk_rules_rotation(r, "") == NULL, "empty rotation id found");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[128];
    size_t n_files = 0;
    sk_rules_errors_t errs;

    if (!g_devnull)
        LLVMFuzzerInitialize(NULL, NULL);
    ensure_dir();
    const char *load = write_input(data, size, path, sizeof path, &n_files);
    int split = strcmp(load + strlen(load) - 4, "/set") == 0;

    sk_rules_errors_init(&errs);
    sk_rules_t *r = sk_rules_load(load, &errs);
    if (!r) {
        check_errors(&errs);
    } else {
        FUZZ_CHECK(errs.count == 0, "rule set returned with %zu errors", errs.count);
        check_rules(r, n_files);
        /* the version is a function of the content: a second load agrees */
        sk_rules_errors_t errs2;
        sk_rules_errors_init(&errs2);
        sk_rules_t *r2 = sk_rules_load(load, &errs2);
        FUZZ_CHECK(r2 != NULL, "second load of the same files failed");
        FUZZ_CHECK(strcmp(sk_rules_version(r), sk_rules_version(r2)) == 0,
                   "version differs between two loads");
        sk_rules_destroy(r2);
        sk_rules_errors_fini(&errs2);
        sk_rules_destroy(r);
    }
    sk_rules_errors_fini(&errs);
    remove_input(n_files, split);
    return 0;
}
