/*
 * rules_access.h — internals shared by rules_access.c (directory, app
 * owners, compile entry point, hash), rules_request.c (policies and
 * `request:` blocks) and rules_access_ctx.c (the helpers both use). Not a
 * public header: only those files include it. rules_access.c calls
 * rules_request.c, both call rules_access_ctx.c, never the other way.
 *
 * The compiled access part and the compile state live here, with the error
 * and allocation helpers of rules_access_ctx.c that both halves use. Every
 * string and struct they allocate goes into the access part's arena.
 */
#ifndef SK_RULES_ACCESS_H
#define SK_RULES_ACCESS_H

#include "rules/rules_model.h"
#include "rules/rules_pos.h"
#include "rules/signers.h"

/* Compile state, on the stack of sk_rules_access_compile(). */
typedef struct ac {
    sk_rules_access_t *a;
    const sk_rules_t *rules;
    const sk_rules_file_t *files;
    size_t n_files;
    int check_refs;
    sk_rules_errors_t *errs;
    int oom;
    sk_arena_t tmp;
    sk_strmap_t origin;  /* "kind:id" -> sk_pos_t* + file, duplicates */
    sk_strmap_t rot_ids; /* rotation id -> sk_rotation_t*, for suggestions */
} ac_t;

typedef struct ac_origin {
    const char *file;
    sk_pos_t pos;
} ac_origin_t;

/* Position of the value at a printf-style path in file fi; {0,0} if absent. */
sk_pos_t sk_ac_pos(const ac_t *c, size_t fi, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends "file:line:col: message" for file fi; sets c->oom on failure. */
void sk_ac_error(ac_t *c, size_t fi, sk_pos_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "unknown <kind> '<ref>' <where> (did you mean '<hint>'?)", the hint being
 * the closest key of `known` (sk_rules_suggest_map()), if any. */
void sk_ac_unknown(ac_t *c, size_t fi, sk_pos_t at, const char *kind, const char *ref,
                   const char *where, const sk_strmap_t *known);

/* Copy of s ("" for NULL) in the access arena; "" (and c->oom) on failure. */
const char *sk_ac_str(ac_t *c, const char *s);

/* n + 1 zeroed elements in the access arena; NULL (and c->oom) on failure. */
void *sk_ac_calloc(ac_t *c, size_t n, size_t size);

/* sk_strmap_put(), setting c->oom on failure. */
void sk_ac_put(ac_t *c, sk_strmap_t *m, const char *key, void *v);

/*
 * sk_ac_define — checks the id of entry `path` (e.g. "policies[2]") of file fi
 * and that it is the first of its kind ("person", "group", "policy").
 * Returns 1 when the entry should be compiled, 0 after an error.
 */
int sk_ac_define(ac_t *c, size_t fi, const char *kind, const char *id, const char *path);

/* rules_request.c: compiles the `policies` sections (after the directory). */
void sk_ac_policies(ac_t *c);

/* rules_request.c: compiles every `request:` block, then gives entitlements
 * without one the block of their first profile that has one. */
void sk_ac_requests(ac_t *c);

/* rules_settings.c: compiles `provisioning_retry` (default
 * SK_PROVISIONING_RETRY_DEFAULT_MS). */
void sk_ac_settings(ac_t *c);

/* rules_request.c: compiles a `reviewers:` block at `path` of file fi into
 * rv; `owner` names its owner in messages ("policy 'p'", "campaign 'c'"). */
void sk_ac_reviewers(ac_t *c, size_t fi, const char *path, const char *owner,
                     const sk_raw_reviewers_t *rr, sk_reviewers_t *rv);
/* rules_campaign.c: compiles the `campaigns` sections (after the directory,
 * policies and request blocks). */
void sk_ac_campaigns(ac_t *c);
/* rules_campaign.c: feeds the campaigns into the rule set version. */
void sk_ac_campaigns_hash(const sk_rules_access_t *a, void *xxh3_state);
/* rules_signers.c: compiles `identity`, `signing_window` and `signers`
 * (after the directory). */
void sk_ac_signers(ac_t *c);

#endif
