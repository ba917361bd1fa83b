/*
 * rules.h — the rule set: loaded from YAML files with libcyaml, checked as a
 * whole, and compiled into immutable lookup structures that the pure
 * decision function reads. A rule set with any error is refused whole.
 *
 * Ownership: sk_rules_load() returns a rule set the caller owns and frees
 * with sk_rules_destroy(). Every pointer reachable from it (entitlements,
 * rotations, strings) lives exactly as long as the rule set; a reload builds
 * a new rule set and the old one is destroyed only after nothing uses it.
 */
#ifndef SK_RULES_H
#define SK_RULES_H

#include <stdio.h>

#include "sk.h"

/* One entitlement of one app: what a provisioner grants. */
typedef struct sk_entitlement {
    const char *key;          /* "app/entitlement", unique in the rule set */
    const char *app;          /* app id */
    const char *id;           /* entitlement id within the app */
    const char *name;         /* display name; may be "" */
    const char *resource;     /* what the provisioner acts on; may be "" */
    const char *permission;   /* the permission on it; may be "" */
    sk_ms_t max_duration_ms;  /* > 0: no grant of it lasts longer */
} sk_entitlement_t;

/*
 * One auto-enrollment edge, flattened at compile time: being on call in the
 * rotation (at an escalation level <= max_escalation_level, 0 = any) gives
 * the entitlement from grant_before_ms before the shift starts until
 * revoke_after_ms after it ends. `enrollment` and `profile` name the rules
 * that produced the edge, for the audit trace.
 */
typedef struct sk_enrollment_edge {
    const sk_entitlement_t *ent;
    const char *enrollment;   /* enrollment id */
    const char *profile;      /* access profile id */
    sk_ms_t grant_before_ms;  /* lead time, >= 0 */
    sk_ms_t revoke_after_ms;  /* grace after shift end, >= 0 */
    int max_escalation_level; /* 0 = every level */
} sk_enrollment_edge_t;

/* A rotation (an on-call schedule) and what being on call in it gives. */
typedef struct sk_rotation {
    const char *id;
    const char *name;     /* display name; may be "" */
    const char *platform; /* pagerduty, opsgenie, ical, manual; may be "" */
    const char *external_id; /* the platform's schedule id; may be "" */
    size_t n_edges;
    const sk_enrollment_edge_t *edges; /* ordered as declared */
} sk_rotation_t;

typedef struct sk_rules sk_rules_t;

/* One load or compile error, printed as "file:line:column: message". An
 * error about a path as a whole (unreadable, no rule files in a directory)
 * has line and column 0 and prints as "path:0:0: message". */
typedef struct sk_rules_error {
    char *file;
    int line;   /* 1-based; 0 if unknown */
    int column; /* 1-based; 0 if unknown */
    char *message;
} sk_rules_error_t;

/* Every error found in one load, in file order. Caller-provided storage. */
typedef struct sk_rules_errors {
    sk_rules_error_t *items;
    size_t count;
    size_t cap;
} sk_rules_errors_t;

void sk_rules_errors_init(sk_rules_errors_t *errs);
void sk_rules_errors_fini(sk_rules_errors_t *errs);

/* Prints every error, one "file:line:column: message" line each. */
void sk_rules_errors_print(const sk_rules_errors_t *errs, FILE *out);

/*
 * sk_rules_load — loads every *.yaml / *.yml file of the directory `path`
 * (sorted by name; not recursive), or the single file `path`, checks and
 * compiles them. Returns the rule set, or NULL when there is any error; then
 * `errs` holds every error found (at least one). The set is refused whole:
 * nothing partial is ever returned.
 */
sk_rules_t *sk_rules_load(const char *path, sk_rules_errors_t *errs);

void sk_rules_destroy(sk_rules_t *rules);

/* Lookups; NULL when absent. O(1) expected (hash tables). */
const sk_rotation_t *sk_rules_rotation(const sk_rules_t *rules, const char *id);
const sk_entitlement_t *sk_rules_entitlement(const sk_rules_t *rules,
                                             const char *key);

/* Counts, for logs and `rules check`. */
typedef struct sk_rules_stats {
    size_t files, apps, entitlements, rotations, profiles, enrollments;
} sk_rules_stats_t;
void sk_rules_stats(const sk_rules_t *rules, sk_rules_stats_t *out);

/* A stable fingerprint of the compiled content (hex, 32 chars), logged at
 * load and written into audit records so every decision names its rules. */
const char *sk_rules_version(const sk_rules_t *rules);

/* Iteration over rotations in declaration order (for listings). */
size_t sk_rules_rotation_count(const sk_rules_t *rules);
const sk_rotation_t *sk_rules_rotation_at(const sk_rules_t *rules, size_t i);

/*
 * sk_duration_parse — parses "90s", "15m", "12h", "7d", "1h30m" or "0" into
 * milliseconds. Returns 0, or SK_EINVAL for anything else (negative, empty,
 * unknown unit, overflow).
 */
int sk_duration_parse(const char *text, sk_ms_t *out_ms);

#endif
