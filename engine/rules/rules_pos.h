/*
 * rules_pos.h — internals of the rules module, shared by rules_load.c,
 * rules_pos.c, rules_compile.c, rules_errors.c, rules_access.c and
 * rules_request.c (whose own shared internals are in rules_access.h). Not
 * a public header: nothing outside engine/rules/rules_*.c includes it.
 *
 * Three things live here:
 *   1. the position index: one libyaml event pass over a file that maps a
 *      node path ("apps[0].entitlements[1].max_duration") to the line and
 *      column of its key and of its value, so every error can name an exact
 *      place;
 *   2. the raw document: what libcyaml fills from one file, before checks;
 *   3. error helpers (append a formatted error, did-you-mean suggestions).
 */
#ifndef SK_RULES_POS_H
#define SK_RULES_POS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "rules/rules.h"
#include "base/strmap.h"

/* ---- 1. position index ------------------------------------------------ */

/* A 1-based place in a file; {0, 0} when unknown. */
typedef struct sk_pos {
    int line;
    int col;
} sk_pos_t;

typedef enum sk_pos_kind {
    SK_POS_SCALAR = 1,
    SK_POS_SEQUENCE,
    SK_POS_MAPPING,
    SK_POS_ALIAS
} sk_pos_kind_t;

/* One node of the document. For a sequence entry, key == value. When a
 * mapping repeats a key, the second occurrence is indexed as "path#dup". */
typedef struct sk_pos_entry {
    const char *path;   /* "" for the root, "apps", "apps[0].id", ... */
    sk_pos_t key;       /* where the mapping key starts */
    sk_pos_t value;     /* where the value node starts */
    sk_pos_kind_t kind; /* what the value is */
} sk_pos_entry_t;

typedef struct sk_pos_index {
    sk_arena_t arena;     /* paths and entries */
    sk_strmap_t map;      /* path -> sk_pos_entry_t* (first document wins) */
    sk_pos_t first_alias; /* where the first alias (*name) is; {0,0}: none */
    sk_pos_t second_doc;  /* where a second document starts; {0,0}: none */
    sk_pos_t err_pos;     /* set when sk_pos_index_build() fails to parse */
    char err_msg[256];
} sk_pos_index_t;

/*
 * sk_pos_index_build — parses buf (len bytes of YAML) with libyaml's event
 * parser and indexes every node. Returns 0; SK_EPARSE on a YAML syntax
 * error (then err_pos / err_msg say where and what); SK_ENOMEM. In every
 * case ix must be released with sk_pos_index_fini().
 */
int sk_pos_index_build(sk_pos_index_t *ix, const unsigned char *buf, size_t len);

/* The entry for `path`, or NULL. Borrowed from ix. */
const sk_pos_entry_t *sk_pos_index_get(const sk_pos_index_t *ix, const char *path);

/* printf-style path lookup; returns {0,0} positions if absent. `want_key`
 * selects the key position (falls back to the value position). */
sk_pos_t sk_pos_index_at(const sk_pos_index_t *ix, int want_key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void sk_pos_index_fini(sk_pos_index_t *ix);

/* ---- 2. raw documents (filled by libcyaml; every field optional) ------ */

/* A `request:` block of an entitlement or a profile. */
typedef struct sk_raw_request {
    bool *self_service; /* NULL when absent */
    char **requestable_by;
    unsigned requestable_by_count;
    char *policy, *emergency_policy, *provisioning, *revocation_policy;
    char **provisioners;
    unsigned provisioners_count;
} sk_raw_request_t;

typedef struct sk_raw_ent {
    char *id, *name, *resource, *permission, *max_duration;
    sk_raw_request_t *request; /* NULL when absent */
} sk_raw_ent_t;

typedef struct sk_raw_app {
    char *id, *name, *owner;
    sk_raw_ent_t *entitlements;
    unsigned entitlements_count;
} sk_raw_app_t;

typedef struct sk_raw_rot {
    char *id, *name, *platform, *external_id;
} sk_raw_rot_t;

typedef struct sk_raw_profile {
    char *id, *name, *description;
    char **entitlements;
    unsigned entitlements_count;
    sk_raw_request_t *request; /* NULL when absent */
} sk_raw_profile_t;

typedef struct sk_raw_person {
    char *id, *email, *manager;
    char **groups;
    unsigned groups_count;
    char **platform_ids;
    unsigned platform_ids_count;
} sk_raw_person_t;

typedef struct sk_raw_group {
    char *id, *name;
    char **members;
    unsigned members_count;
} sk_raw_group_t;

typedef struct sk_raw_reviewers {
    char **users;
    unsigned users_count;
    char *group, *on_call;
    bool *manager, *app_owner, *allow_self_approval; /* NULL when absent */
    int *approvals;                                  /* NULL when absent */
} sk_raw_reviewers_t;

typedef struct sk_raw_step {
    bool *auto_approve; /* NULL when absent */
    char *condition;
    sk_raw_reviewers_t *reviewers; /* NULL when absent */
} sk_raw_step_t;

typedef struct sk_raw_policy {
    char *id, *name, *description;
    sk_raw_step_t *steps;
    unsigned steps_count;
} sk_raw_policy_t;

typedef struct sk_raw_enroll {
    char *id;
    char **rotations;
    unsigned rotations_count;
    char **profiles;
    unsigned profiles_count;
    char *grant_before, *revoke_after;
    unsigned *max_escalation_level; /* NULL when absent */
} sk_raw_enroll_t;

typedef struct sk_raw_signer {
    char *id;
    bool *front; /* NULL when absent */
    char **public_keys;
    unsigned public_keys_count;
    char **vouches_for;
    unsigned vouches_for_count;
} sk_raw_signer_t;

/* A `campaigns:` entry (access review campaigns, rules_campaign.c). */
typedef struct sk_raw_campaign_scope {
    char **apps;
    unsigned apps_count;
    char **entitlements;
    unsigned entitlements_count;
    char **profiles;
    unsigned profiles_count;
    char **grants;
    unsigned grants_count;
    char *older_than;
} sk_raw_campaign_scope_t;

typedef struct sk_raw_campaign {
    char *id, *name;
    char **owners;
    unsigned owners_count;
    sk_raw_campaign_scope_t *scope; /* NULL when absent */
    sk_raw_reviewers_t *reviewers;  /* NULL when absent */
    char *start, *due_after, *grace, *every, *end_action, *slack_channel;
} sk_raw_campaign_t;

typedef struct sk_raw_doc {
    sk_raw_app_t *apps;
    unsigned apps_count;
    sk_raw_rot_t *rotations;
    unsigned rotations_count;
    sk_raw_profile_t *profiles;
    unsigned profiles_count;
    sk_raw_enroll_t *enrollments;
    unsigned enrollments_count;
    sk_raw_person_t *people;
    unsigned people_count;
    sk_raw_group_t *groups;
    unsigned groups_count;
    sk_raw_policy_t *policies;
    unsigned policies_count;
    char *identity, *signing_window; /* NULL when absent */
    char *provisioning_retry;        /* NULL when absent */
    sk_raw_signer_t *signers;
    unsigned signers_count;
    sk_raw_campaign_t *campaigns;
    unsigned campaigns_count;
} sk_raw_doc_t;

/* One rule file as loaded: its text, its position index, its raw data. */
typedef struct sk_rules_file {
    char *path;          /* as printed in errors, e.g. "rules/apps.yaml" */
    unsigned char *text; /* file bytes */
    size_t len;
    sk_pos_index_t pos;
    sk_raw_doc_t *doc; /* NULL if the file failed or is empty */
    int failed;        /* 1 after a syntax or schema error */
} sk_rules_file_t;

/*
 * sk_rules_compile — checks the loaded files as one rule set and compiles
 * them. `structural_failure` is non-zero when some file failed to load:
 * then unknown-reference checks are skipped (they would cascade) and the
 * result is always NULL. Appends every error to errs; returns the rule set
 * only when no error at all was found. Borrows files; copies what it keeps.
 */
sk_rules_t *sk_rules_compile(const sk_rules_file_t *files, size_t n_files, int structural_failure,
                             sk_rules_errors_t *errs);

/* ---- 3. errors --------------------------------------------------------- */

/* Appends "file:line:col: message". Returns 0 or SK_ENOMEM. */
int sk_rules_errors_add(sk_rules_errors_t *errs, const char *file, int line, int col,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int sk_rules_errors_vadd(sk_rules_errors_t *errs, const char *file, int line, int col,
                         const char *fmt, va_list ap);

/* Sorts errors by file, line, column, keeping the order of equal places. */
void sk_rules_errors_sort(sk_rules_errors_t *errs);

/* Levenshtein distance of a and b, capped at 255. */
int sk_rules_edit_distance(const char *a, const char *b);

/*
 * sk_rules_suggest — the candidate closest to `word` if its edit distance
 * is at most 2 (and smaller than the word), else NULL. Borrowed from cands.
 */
const char *sk_rules_suggest(const char *word, const char *const *cands, size_t n);

/* ---- 4. access rules (rules_access.c, rules_request.c) ---------------- */

/* People, groups, apps, policies and request settings of a rule set. */
typedef struct sk_rules_access sk_rules_access_t;

/*
 * sk_rules_access_compile — checks and compiles the `people`, `groups`,
 * `policies` sections, app owners and every `request:` block of `files`.
 * `rules` must already hold its rotations and entitlements (they are
 * referenced). Reference checks are skipped when check_refs is 0. Appends
 * every error to errs; sets *oom on allocation failure. Returns the
 * compiled part (owned by the caller, sk_rules_access_destroy()) or NULL on
 * out of memory. Errors do not make it NULL: the caller refuses the whole
 * set when errs grew.
 */
sk_rules_access_t *sk_rules_access_compile(const sk_rules_t *rules, const sk_rules_file_t *files,
                                           size_t n_files, int check_refs, sk_rules_errors_t *errs,
                                           int *oom);
void sk_rules_access_destroy(sk_rules_access_t *a);

/* Feeds the compiled content into an XXH3_state_t (the rule set version). */
void sk_rules_access_hash(const sk_rules_access_t *a, void *xxh3_state);

/* The access part of a compiled rule set (rules_lookup.c). */
const sk_rules_access_t *sk_rules_access_of(const sk_rules_t *rules);

/* 1 if id matches [a-z0-9][a-z0-9_.-]* and is at most 64 bytes. */
/* Longest rule id (rotation, app, entitlement, person, ...), bytes. */
#define SK_RULES_ID_MAX 64

int sk_rules_id_syntax_ok(const char *id);

/* Closest key of map m to word (edit distance <= 2), or NULL. */
const char *sk_rules_suggest_map(const sk_strmap_t *m, const char *word);

#endif
