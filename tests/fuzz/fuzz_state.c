/*
 * fuzz_state.c — a user's stored state (engine/decide/state.h): sk_state_parse()
 * on hash fields as Redis would return them, then sk_state_diff().
 *
 * Input: lines (split at '\n') taken in pairs, field name then value; a
 * last unpaired line is ignored. As in a Redis hash, a repeated name keeps
 * its last value. Each name and value is copied into its own exactly sized,
 * not NUL-terminated buffer, so ASan sees any read past its length.
 *
 * Invariants: parsing never fails on content (bad fields are skipped and
 * counted); every field is either parsed (a shift, source, request, open
 * task, retry or held entitlement's details) or counted bad; parsed records hold their ranges; the diff of the state against itself is
 * empty; the state's storage form (diff from an empty state) names each
 * field once and only fields that exist in the hash, so a later diff can
 * update or delete every field it read; and that storage form parses back,
 * with no bad field, to the same state.
 *
 * SK_FUZZ_SKIP_OPEN=1 skips inputs that reach the open bug of
 * crashes-open/state/ beside tests/fuzz/crashes/ (a NUL byte inside a field name), so a
 * fuzzing run can look past it until engine/decide/state.c is fixed.
 */
#include <string.h>

#include "fuzz_common.h"
#include "decide/state.h"

#define MAX_FIELDS 256

static sk_arena_t g_arena;
static int g_ready;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sk_arena_init(&g_arena, 4096);
    g_ready = 1;
    return 0;
}

static char *copy_exact(const uint8_t *p, size_t len)
{
    char *c = malloc(len ? len : 1);
    FUZZ_CHECK(c != NULL, "malloc");
    if (len)
        memcpy(c, p, len);
    return c;
}

static int same_name(const sk_state_field_t *a, const sk_state_field_t *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/* Splits the input into fields; a repeated name replaces the earlier one. */
static size_t split_fields(const uint8_t *data, size_t size, sk_state_field_t *f)
{
    const uint8_t *p = data, *end = data + size;
    const uint8_t *line[2];
    size_t line_len[2], n = 0;
    int k = 0;
    while (p < end && n < MAX_FIELDS) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *stop = nl ? nl : end;
        line[k] = p;
        line_len[k] = (size_t)(stop - p);
        p = nl ? nl + 1 : end;
        if (++k < 2)
            continue;
        k = 0;
        sk_state_field_t nf = {copy_exact(line[0], line_len[0]), line_len[0],
                               copy_exact(line[1], line_len[1]), line_len[1]};
        size_t i = 0;
        while (i < n && !same_name(&f[i], &nf))
            i++;
        if (i < n) {
            free((void *)f[i].name);
            free((void *)f[i].value);
        } else {
            n++;
        }
        f[i] = nf;
    }
    return n;
}

/* Fields a parsed state stands for: shifts, sources, requests, open tasks,
 * retries and held entitlements' details, one field each. */
static size_t n_parsed(const sk_user_state_t *st)
{
    return st->n_shifts + st->n_sources + st->n_requests + st->n_open_tasks + st->n_retries +
           st->n_held;
}

static void check_state(const sk_user_state_t *st)
{
    for (size_t i = 0; i < st->n_shifts; i++) {
        const sk_shift_t *sh = &st->shifts[i];
        FUZZ_CHECK(sh->id && sh->rotation, "shift %zu: NULL text", i);
        FUZZ_CHECK(sh->level >= 1, "shift %zu: level %d", i, sh->level);
        FUZZ_CHECK((unsigned)sh->status <= SK_SHIFT_STATUS_CANCELLED, "shift %zu: status %d",
                   i, (int)sh->status);
        FUZZ_CHECK(sk_state_shift(st, sh->id) != NULL, "shift '%s' not found", sh->id);
    }
    for (size_t i = 0; i < st->n_sources; i++) {
        const sk_grant_source_t *s = &st->sources[i];
        FUZZ_CHECK(s->ent_key && s->id && s->rotation, "source %zu: NULL text", i);
        FUZZ_CHECK((unsigned)s->kind < SK_SOURCE_KIND_COUNT, "source %zu: kind %d", i,
                   (int)s->kind);
    }
    for (size_t i = 0; i < st->n_requests; i++) {
        const sk_request_state_t *r = &st->requests[i];
        FUZZ_CHECK(r->id && r->target && r->policy && r->rules_version, "request %zu: NULL", i);
        FUZZ_CHECK((unsigned)r->status < SK_REQUEST_STATUS_COUNT, "request %zu: status %d", i,
                   (int)r->status);
        FUZZ_CHECK(r->step >= 0, "request %zu: step %d", i, r->step);
        FUZZ_CHECK(sk_state_request(st, r->id) != NULL, "request '%s' not found", r->id);
    }
    for (size_t i = 0; i < st->n_open_tasks; i++)
        FUZZ_CHECK(sk_state_open_task(st, st->open_tasks[i].id) != NULL,
                   "open task %zu not found", i);
    for (size_t i = 0; i < st->n_retries; i++)
        FUZZ_CHECK(sk_state_retry(st, st->retries[i].command_id) != NULL, "retry %zu not found",
                   i);
    for (size_t i = 0; i < st->n_held; i++) {
        const sk_held_detail_t *h = &st->held[i];
        FUZZ_CHECK(h->ent_key && h->resource && h->permission, "held %zu: NULL text", i);
        FUZZ_CHECK(sk_state_held(st, h->ent_key) != NULL, "held %zu not found", i);
    }
}

static void check_canonical(const sk_user_state_t *st, const sk_state_field_t *in,
                            size_t n_in)
{
    static const sk_user_state_t empty = {.user = "u"};
    sk_state_diff_t d;
    sk_user_state_t st2;
    size_t bad2 = 0;

    FUZZ_CHECK(sk_state_diff(&g_arena, &empty, st, &d) == 0, "diff from empty failed");
    FUZZ_CHECK(d.n_del == 0, "diff from empty deletes %zu fields", d.n_del);
    FUZZ_CHECK(d.n_set == n_parsed(st), "storage form: %zu fields for %zu", d.n_set,
               n_parsed(st));
    for (size_t i = 0; i < d.n_set; i++) {
        const sk_state_field_t *f = &d.set[i];
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(!same_name(&d.set[j], f),
                       "two parsed fields are stored under one name '%s'", f->name);
        size_t k = 0;
        while (k < n_in && !same_name(&in[k], f))
            k++;
        FUZZ_CHECK(k < n_in,
                   "parsed field is stored as '%s', a name the hash does not hold: "
                   "a later diff cannot update or delete the field it came from",
                   f->name);
    }
    FUZZ_CHECK(sk_state_parse(&g_arena, "u", d.set, d.n_set, &st2, &bad2) == 0, "re-parse");
    FUZZ_CHECK(bad2 == 0, "storage form has %zu fields that do not parse", bad2);
    FUZZ_CHECK(st2.n_shifts == st->n_shifts && st2.n_sources == st->n_sources &&
                   n_parsed(&st2) == n_parsed(st),
               "re-parse: %zu shifts %zu sources %zu fields, was %zu, %zu and %zu",
               st2.n_shifts, st2.n_sources, n_parsed(&st2), st->n_shifts, st->n_sources,
               n_parsed(st));
    FUZZ_CHECK(sk_state_diff(&g_arena, st, &st2, &d) == 0, "diff");
    FUZZ_CHECK(d.n_set == 0 && d.n_del == 0, "re-parsed state differs: %zu sets, %zu dels",
               d.n_set, d.n_del);
}

/* 1 when SK_FUZZ_SKIP_OPEN is set and a field name holds a NUL byte. */
static int skip_open_bug(const sk_state_field_t *f, size_t n)
{
    static int skip = -1;
    if (skip < 0) {
        const char *e = getenv("SK_FUZZ_SKIP_OPEN");
        skip = e && *e && strcmp(e, "0") != 0;
    }
    for (size_t i = 0; skip && i < n; i++)
        if (memchr(f[i].name, '\0', f[i].name_len))
            return 1;
    return 0;
}

static void free_fields(sk_state_field_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((void *)f[i].name);
        free((void *)f[i].value);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_state_field_t fields[MAX_FIELDS];
    sk_user_state_t st;
    sk_state_diff_t d;
    size_t n, bad = 0;

    if (!g_ready)
        LLVMFuzzerInitialize(NULL, NULL);
    sk_arena_reset(&g_arena);
    n = split_fields(data, size, fields);
    if (skip_open_bug(fields, n)) {
        free_fields(fields, n);
        return 0;
    }
    FUZZ_CHECK(sk_state_parse(&g_arena, "u", fields, n, &st, &bad) == 0, "parse failed");
    FUZZ_CHECK(bad <= n && n_parsed(&st) + bad == n, "%zu fields: %zu parsed + %zu bad", n,
               n_parsed(&st), bad);
    check_state(&st);
    FUZZ_CHECK(sk_state_diff(&g_arena, &st, &st, &d) == 0, "diff failed");
    FUZZ_CHECK(d.n_set == 0 && d.n_del == 0, "diff of a state with itself: %zu sets, %zu dels",
               d.n_set, d.n_del);
    check_canonical(&st, fields, n);
    free_fields(fields, n);
    return 0;
}
