/*
 * cfg.h — command-line and environment configuration from one table per
 * group of options (name, placeholder, default, doc), which drives parsing,
 * the environment variables and --help alike (as engine/shiftkeyd.c does).
 *
 * Precedence: default < environment (<env_prefix><NAME>, NAME upper-cased,
 * '-' → '_') < command line (--name VALUE or --name=VALUE).
 */
#ifndef SK_CONN_CFG_H
#define SK_CONN_CFG_H

#include <stddef.h>
#include <stdio.h>

#define SK_CFG_MAX_MULTI 32

typedef struct sk_cfg_row {
    const char *name; /* --name */
    const char *arg;  /* placeholder in --help; NULL for a flag without value ("1" when set) */
    size_t offset;    /* of a `const char *` in the group's struct */
    const char *def;  /* default, or NULL */
    const char *doc;
    int repeatable; /* values collect in a sk_cfg_multi_t at offset instead */
} sk_cfg_row_t;

/* Storage of a repeatable option. */
typedef struct sk_cfg_multi {
    const char *v[SK_CFG_MAX_MULTI];
    size_t n;
} sk_cfg_multi_t;

typedef struct sk_cfg_group {
    const char *title;      /* heading in --help */
    const char *env_prefix; /* "SHIFTKEY_" or "SHIFTKEY_PAGERDUTY_" */
    const sk_cfg_row_t *rows;
    size_t n_rows;
    void *base; /* the struct the offsets point into */
} sk_cfg_group_t;

/* Prints the usage: `head` (free text), then every group's options. */
void sk_cfg_usage(FILE *out, const char *head, const sk_cfg_group_t *groups, size_t n_groups,
                  const char *tail);

/*
 * sk_cfg_parse — fills every group's struct from defaults, environment and
 * argv. Returns 0; 1 when --help was asked (usage printed on stdout: exit
 * 0); -1 on a usage error (message on stderr, prefixed with prog: exit 2).
 */
int sk_cfg_parse(const char *prog, const char *head, const char *tail, const sk_cfg_group_t *groups,
                 size_t n_groups, int argc, char **argv);

/* Parses a whole number in [min, max]; -1 with a message naming --name. */
int sk_cfg_int(const char *prog, const char *name, const char *v, long min, long max, long *out);

/* Parses a duration ("90s", "15m", "24h", "500ms") of at least min_ms; -1 with a message. */
int sk_cfg_duration(const char *prog, const char *name, const char *v, long long min_ms,
                    long long *out_ms);

#endif
