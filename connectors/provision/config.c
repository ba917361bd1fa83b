/* config.c — the provisioner's configuration file and its secrets (see prov.h). */
#include <strings.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "prov.h"

static const char *const SECTION_NAMES[SK_PROV_SEC_COUNT] = {"", "target", "entitlements", "users"};

void sk_prov_conf_error(const sk_prov_conf_t *c, int line, const char *fmt, ...)
{
    va_list ap;
    if (line > 0)
        fprintf(stderr, "%s:%d: ", c->path, line);
    else
        fprintf(stderr, "%s: ", c->path);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Cuts a comment: '#' at the start or after a blank. */
static void cut_comment(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            return;
        }
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1L << 20) ||
        fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)n + 1);
    if (!buf)
        goto out;
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[n] = '\0';
out:
    fclose(f);
    return buf;
}

/* Parses one line (already NUL-terminated). 0, or -1 after an error. */
static int parse_line(sk_prov_conf_t *c, char *s, int lineno, sk_prov_section_t *sec)
{
    cut_comment(s);
    s = trim(s);
    if (!*s)
        return 0;
    if (*s == '[') {
        char *end = strchr(s, ']');
        if (!end || end[1]) {
            sk_prov_conf_error(c, lineno, "expected [section]");
            return -1;
        }
        *end = '\0';
        for (int i = 1; i < SK_PROV_SEC_COUNT; i++)
            if (strcmp(trim(s + 1), SECTION_NAMES[i]) == 0) {
                *sec = (sk_prov_section_t)i;
                return 0;
            }
        sk_prov_conf_error(c, lineno,
                           "unknown section [%s] (expected [target], [entitlements] "
                           "or [users])",
                           trim(s + 1));
        return -1;
    }
    char *eq = strchr(s, '=');
    if (!eq) {
        sk_prov_conf_error(c, lineno, "expected key = value, got '%s'", s);
        return -1;
    }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    if (!*key) {
        sk_prov_conf_error(c, lineno, "missing key before '='");
        return -1;
    }
    for (size_t i = 0; i < c->n_kv; i++)
        if (c->kv[i].section == *sec && strcmp(c->kv[i].key, key) == 0) {
            sk_prov_conf_error(c, lineno, "'%s' set twice (first on line %d)", key, c->kv[i].line);
            return -1;
        }
    c->kv[c->n_kv++] = (sk_prov_kv_t){.section = *sec, .key = key, .value = val, .line = lineno};
    return 0;
}

int sk_prov_conf_load(const char *path, sk_prov_conf_t *c)
{
    int errors = 0, lineno = 0;
    size_t lines = 1;
    sk_prov_section_t sec = SK_PROV_SEC_TOP;
    memset(c, 0, sizeof(*c));
    c->path = path;
    c->text = read_all(path);
    if (!c->text) {
        fprintf(stderr, "%s: cannot read: %s\n", path, errno ? strerror(errno) : "too large");
        return -1;
    }
    for (const char *p = c->text; *p; p++)
        lines += *p == '\n';
    c->kv = calloc(lines, sizeof(*c->kv));
    if (!c->kv) {
        fprintf(stderr, "%s: out of memory\n", path);
        goto fail;
    }
    for (char *s = c->text; s;) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        if (parse_line(c, s, lineno, &sec) != 0)
            errors++;
        s = nl ? nl + 1 : NULL;
    }
    if (errors == 0)
        return 0;
fail:
    sk_prov_conf_fini(c);
    return -1;
}

void sk_prov_conf_fini(sk_prov_conf_t *c)
{
    free(c->kv);
    free(c->text);
    c->kv = NULL;
    c->text = NULL;
    c->n_kv = 0;
}

static sk_prov_kv_t *find(const sk_prov_conf_t *c, sk_prov_section_t s, const char *key)
{
    for (size_t i = 0; i < c->n_kv; i++)
        if (c->kv[i].section == s && strcmp(c->kv[i].key, key) == 0)
            return &c->kv[i];
    return NULL;
}

const char *sk_prov_conf_get(const sk_prov_conf_t *c, sk_prov_section_t s, const char *key,
                             const char *def)
{
    sk_prov_kv_t *kv = find(c, s, key);
    if (!kv)
        return def;
    kv->used = true;
    return kv->value;
}

int sk_prov_conf_line(const sk_prov_conf_t *c, sk_prov_section_t s, const char *key)
{
    const sk_prov_kv_t *kv = find(c, s, key);
    return kv ? kv->line : 0;
}

int sk_prov_conf_unused(const sk_prov_conf_t *c, sk_prov_section_t s)
{
    int n = 0;
    for (size_t i = 0; i < c->n_kv; i++)
        if (c->kv[i].section == s && !c->kv[i].used) {
            sk_prov_conf_error(c, c->kv[i].line, "unknown key '%s'%s%s%s", c->kv[i].key,
                               s ? " in [" : "", s ? SECTION_NAMES[s] : "", s ? "]" : "");
            n++;
        }
    return n;
}

int sk_prov_conf_bool(const sk_prov_conf_t *c, sk_prov_section_t s, const char *key, bool def,
                      bool *out)
{
    const char *v = sk_prov_conf_get(c, s, key, NULL);
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false",
                                                                                "off", "0"};
    *out = def;
    if (!v)
        return 0;
    for (size_t i = 0; i < SK_ARRAY_LEN(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, 0;
    }
    sk_prov_conf_error(c, sk_prov_conf_line(c, s, key), "%s '%s': expected yes or no", key, v);
    return -1;
}

int sk_prov_secret(const sk_prov_conf_t *c, sk_prov_section_t s, const char *name, char *buf,
                   size_t len)
{
    char kfile[64], kenv[64];
    snprintf(kfile, sizeof(kfile), "%s_file", name);
    snprintf(kenv, sizeof(kenv), "%s_env", name);
    const char *path = sk_prov_conf_get(c, s, kfile, NULL);
    const char *env = sk_prov_conf_get(c, s, kenv, NULL);
    if (path && *path) {
        int line = sk_prov_conf_line(c, s, kfile);
        struct stat sb;
        FILE *f = fopen(path, "r");
        if (!f || fstat(fileno(f), &sb) != 0) {
            sk_prov_conf_error(c, line, "%s %s: %s", kfile, path, strerror(errno));
            if (f)
                fclose(f);
            return -1;
        }
        /* group-readable is fine (Kubernetes mounts secrets 0440 for the fsGroup);
         * world access or a group that may write is not */
        if (sb.st_mode & (S_IRWXO | S_IWGRP)) {
            sk_prov_conf_error(c, line, "%s %s: readable by others (mode %03o); chmod 600 it",
                               kfile, path, (unsigned)(sb.st_mode & 0777));
            fclose(f);
            return -1;
        }
        if (!fgets(buf, (int)len, f)) {
            sk_prov_conf_error(c, line, "%s %s: empty", kfile, path);
            fclose(f);
            return -1;
        }
        fclose(f);
        buf[strcspn(buf, "\r\n")] = '\0';
        return 0;
    }
    if (env && *env) {
        const char *v = getenv(env);
        if (!v || !*v) {
            sk_prov_conf_error(c, sk_prov_conf_line(c, s, kenv), "%s: $%s is not set", kenv, env);
            return -1;
        }
        snprintf(buf, len, "%s", v);
        return 0;
    }
    return 1;
}

/* ---- lists of names ---- */

int sk_prov_names_add(sk_prov_names_t *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return SK_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return SK_ENOMEM;
    l->n++;
    return 0;
}

void sk_prov_names_fini(sk_prov_names_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}
