/*
 * rules_access.h — internals shared by rules_access.c (directory, app
 * owners, compile entry point, hash) and rules_request.c (policies and
 * `request:` blocks). Not a public header: only those two files include it.
 *
 * The compiled access part and the compile state live here, with the error
 * and allocation helpers of rules_access.c that both halves use. Every
 * string and struct they allocate goes into the access part's arena.
 */
#ifndef SK_RULES_ACCESS_H
#define SK_RULES_ACCESS_H

#include "rules/expr.h"
#include "rules/rules_pos.h"
#include "rules/signers.h"

struct sk_rules_access {
    sk_arena_t arena;
    sk_strmap_t people, groups, policies, apps;
    sk_strmap_t ent_req;  /* entitlement key -> sk_request_settings_t* */
    sk_strmap_t prof_req; /* profile id -> sk_request_settings_t* */
    sk_strmap_t profiles; /* profile id -> sk_profile_t* (its entitlements) */
    sk_person_t *person;
    size_t n_person;
    sk_group_t *group;
    size_t n_group;
    sk_policy_t *policy;
    size_t n_policy;
    sk_app_t *app;
    size_t n_app;
    sk_expr_t **exprs; /* every compiled condition, freed on destroy */
    size_t n_exprs;
    size_t request_blocks;
    sk_signers_t signers; /* rules_signers.c */
};

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
    sk_strmap_t origin; /* "kind:id" -> sk_pos_t* + file, duplicates */
    sk_strmap_t rot_ids; /* rotation id -> sk_rotation_t*, for suggestions */
} ac_t;

typedef struct ac_origin {
    const char *file;
    sk_pos_t pos;
} ac_origin_t;

/* Position of the value at a printf-style path in file fi; {0,0} if absent. */
sk_pos_t ac_pos(const ac_t *c, size_t fi, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends "file:line:col: message" for file fi; sets c->oom on failure. */
void ac_error(ac_t *c, size_t fi, sk_pos_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "unknown <kind> '<ref>' <where> (did you mean '<hint>'?)", the hint being
 * the closest key of `known` (sk_rules_suggest_map()), if any. */
void ac_unknown(ac_t *c, size_t fi, sk_pos_t at, const char *kind,
                const char *ref, const char *where, const sk_strmap_t *known);

/* Copy of s ("" for NULL) in the access arena; "" (and c->oom) on failure. */
const char *ac_str(ac_t *c, const char *s);

/* n + 1 zeroed elements in the access arena; NULL (and c->oom) on failure. */
void *ac_calloc(ac_t *c, size_t n, size_t size);

/* sk_strmap_put(), setting c->oom on failure. */
void ac_put(ac_t *c, sk_strmap_t *m, const char *key, void *v);

/*
 * ac_define — checks the id of entry `path` (e.g. "policies[2]") of file fi
 * and that it is the first of its kind ("person", "group", "policy").
 * Returns 1 when the entry should be compiled, 0 after an error.
 */
int ac_define(ac_t *c, size_t fi, const char *kind, const char *id,
              const char *path);

/* rules_request.c: compiles the `policies` sections (after the directory). */
void ac_policies(ac_t *c);

/* rules_request.c: compiles every `request:` block, then gives entitlements
 * without one the block of their first profile that has one. */
void ac_requests(ac_t *c);

/* rules_signers.c: compiles `identity`, `signing_window` and `signers`
 * (after the directory). */
void ac_signers(ac_t *c);

#endif
