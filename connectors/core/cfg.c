/* cfg.c — options from one table per group (see cfg.h). */
#include "cfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/sk.h"

static const char **field(const sk_cfg_group_t *g, const sk_cfg_row_t *r)
{
    return (const char **)((char *)g->base + r->offset);
}

static sk_cfg_multi_t *multi(const sk_cfg_group_t *g, const sk_cfg_row_t *r)
{
    return (sk_cfg_multi_t *)((char *)g->base + r->offset);
}

static void env_name(const char *prefix, const char *opt, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "%s", prefix);
    for (; *opt && k + 1 < len; opt++)
        buf[k++] = *opt == '-' ? '_' : (char)(*opt >= 'a' && *opt <= 'z' ? *opt - 32 : *opt);
    buf[k] = '\0';
}

void sk_cfg_usage(FILE *out, const char *head, const sk_cfg_group_t *groups, size_t n_groups,
                  const char *tail)
{
    fputs(head, out);
    for (size_t g = 0; g < n_groups; g++) {
        fprintf(out, "\n%s:\n", groups[g].title);
        for (size_t i = 0; i < groups[g].n_rows; i++) {
            const sk_cfg_row_t *r = &groups[g].rows[i];
            char headcol[64], env[96];
            snprintf(headcol, sizeof(headcol), "--%s%s%s", r->name, r->arg ? " " : "",
                     r->arg ? r->arg : "");
            env_name(groups[g].env_prefix, r->name, env, sizeof(env));
            fprintf(out, "  %-28s %s", headcol, r->doc);
            if (r->def)
                fprintf(out, " [%s]", r->def);
            if (r->repeatable)
                fprintf(out, " (repeatable)");
            else
                fprintf(out, " ($%s)", env);
            fprintf(out, "\n");
        }
    }
    fprintf(out, "  %-28s %s\n", "--help", "this text");
    if (tail)
        fputs(tail, out);
}

static const sk_cfg_row_t *find(const sk_cfg_group_t *groups, size_t n_groups, const char *name,
                                size_t nlen, const sk_cfg_group_t **gout)
{
    for (size_t g = 0; g < n_groups; g++)
        for (size_t i = 0; i < groups[g].n_rows; i++) {
            const sk_cfg_row_t *r = &groups[g].rows[i];
            if (strlen(r->name) == nlen && strncmp(r->name, name, nlen) == 0) {
                *gout = &groups[g];
                return r;
            }
        }
    return NULL;
}

int sk_cfg_parse(const char *prog, const char *head, const char *tail, const sk_cfg_group_t *groups,
                 size_t n_groups, int argc, char **argv)
{
    for (size_t g = 0; g < n_groups; g++)
        for (size_t i = 0; i < groups[g].n_rows; i++) {
            const sk_cfg_row_t *r = &groups[g].rows[i];
            char env[96];
            if (r->repeatable) {
                multi(&groups[g], r)->n = 0;
                continue;
            }
            env_name(groups[g].env_prefix, r->name, env, sizeof(env));
            const char *v = getenv(env);
            *field(&groups[g], r) = v && *v ? v : r->def;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        const sk_cfg_group_t *g = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            sk_cfg_usage(stdout, head, groups, n_groups, tail);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const sk_cfg_row_t *r = find(groups, n_groups, a, nlen, &g);
        if (!r) {
            fprintf(stderr, "%s: unknown option '--%.*s' (see --help)\n", prog, (int)nlen, a);
            return -1;
        }
        if (!r->arg) {
            if (eq) {
                fprintf(stderr, "%s: --%s takes no value\n", prog, r->name);
                return -1;
            }
            *field(g, r) = "1";
            continue;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        if (!val) {
            fprintf(stderr, "%s: --%s needs a value (see --help)\n", prog, r->name);
            return -1;
        }
        if (r->repeatable) {
            sk_cfg_multi_t *m = multi(g, r);
            if (m->n == SK_CFG_MAX_MULTI) {
                fprintf(stderr, "%s: --%s given more than %d times\n", prog, r->name,
                        SK_CFG_MAX_MULTI);
                return -1;
            }
            m->v[m->n++] = val;
        } else {
            *field(g, r) = val;
        }
    }
    return 0;
}

int sk_cfg_int(const char *prog, const char *name, const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *v == '\0' || *end != '\0' || n < min || n > max) {
        fprintf(stderr, "%s: --%s '%s': expected a whole number from %ld to %ld\n", prog, name,
                v ? v : "", min, max);
        return -1;
    }
    *out = n;
    return 0;
}

int sk_cfg_duration(const char *prog, const char *name, const char *v, long long min_ms,
                    long long *out_ms)
{
    sk_ms_t ms;
    if (!v || sk_duration_parse(v, &ms) != 0 || ms < min_ms) {
        fprintf(stderr,
                "%s: --%s '%s': expected a duration such as 90s, 15m, 24h or 500ms "
                "(at least %lld ms)\n",
                prog, name, v ? v : "", min_ms);
        return -1;
    }
    *out_ms = ms;
    return 0;
}
