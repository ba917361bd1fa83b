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

#include "base/duration.h"
#include "base/sk.h"

/* One entitlement of one app: what a provisioner grants. */
typedef struct sk_entitlement {
    const char *key;         /* "app/entitlement", unique in the rule set */
    const char *app;         /* app id */
    const char *id;          /* entitlement id within the app */
    const char *name;        /* display name; may be "" */
    const char *resource;    /* what the provisioner acts on; may be "" */
    const char *permission;  /* the permission on it; may be "" */
    sk_ms_t max_duration_ms; /* > 0: no grant of it lasts longer */
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
    const char *name;        /* display name; may be "" */
    const char *platform;    /* pagerduty, opsgenie, ical, manual; may be "" */
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
const sk_entitlement_t *sk_rules_entitlement(const sk_rules_t *rules, const char *key);

/* Counts, for logs and `rules check`. */
typedef struct sk_rules_stats {
    size_t files, apps, entitlements, rotations, profiles, enrollments;
} sk_rules_stats_t;
void sk_rules_stats(const sk_rules_t *rules, sk_rules_stats_t *out);

/* A stable fingerprint of the compiled content (hex, 32 chars), logged at
 * load and written into audit records so every decision names its rules. */
const char *sk_rules_version(const sk_rules_t *rules);

/*
 * Comparing the rules in force with the ones they replace (a reload), so
 * that the users a change touches are decided again at once:
 * sk_rules_entitlement_same — 1 when `key` is an entitlement of both a and
 * b with the same resource, permission and maximum duration, else 0;
 * sk_rules_rotation_same — 1 when rotation `id` is in both and gives the
 * same: the same edges in the same order (entitlements the same as above,
 * lead, grace and escalation level), else 0. NULL rule sets have nothing.
 */
int sk_rules_entitlement_same(const sk_rules_t *a, const sk_rules_t *b, const char *key);
int sk_rules_rotation_same(const sk_rules_t *a, const sk_rules_t *b, const char *id);

/* Iteration over rotations in declaration order (for listings). */
size_t sk_rules_rotation_count(const sk_rules_t *rules);
const sk_rotation_t *sk_rules_rotation_at(const sk_rules_t *rules, size_t i);

/* ==== access requests (issue 3): directory, policies, request settings ====
 *
 * Everything below is compiled with the rest of the rule set and owned by
 * it: every pointer reachable from these structs lives exactly as long as
 * the sk_rules_t it came from. Arrays are in declaration order.
 */

typedef struct sk_group sk_group_t;

/* A person of the directory (`people:`). */
typedef struct sk_person {
    const char *id;                  /* the user id used in events */
    const char *email;               /* may be "" */
    const struct sk_person *manager; /* NULL when none */
    size_t n_groups;                 /* groups from `groups:` of the person
                                       and `members:` of groups, no repeats */
    const sk_group_t *const *groups;
    size_t n_platform_ids; /* "pagerduty:PABC123", ... */
    const char *const *platform_ids;
} sk_person_t;

/* A group (`groups:`); members are the union of its `members:` and of the
 * people naming it in their `groups:`, without repeats. */
struct sk_group {
    const char *id;
    const char *name; /* may be "" */
    size_t n_members;
    const sk_person_t *const *members;
};

/* An app's `owner`: a person, a group, or free text (neither matched). */
typedef struct sk_app {
    const char *id;
    const char *name;                /* may be "" */
    const char *owner;               /* as written; may be "" */
    const sk_person_t *owner_person; /* set when owner is a person id */
    const sk_group_t *owner_group;   /* set when owner is a group id */
} sk_app_t;

/* Who reviews one step: any combination; an approval from any of them
 * counts. */
typedef struct sk_reviewers {
    size_t n_users;
    const sk_person_t *const *users;
    const sk_group_t *group;      /* NULL when not set */
    int manager;                  /* 1: the requester's manager */
    int app_owner;                /* 1: the owner of the entitlement's app */
    const sk_rotation_t *on_call; /* NULL when not set */
    int approvals;                /* >= 1: approvals the step needs */
    int allow_self_approval;      /* 0 (default): the requester's own
                                     approval never counts */
} sk_reviewers_t;

typedef enum sk_step_kind {
    SK_STEP_AUTO_APPROVE = 1, /* approved at once */
    SK_STEP_CONDITION,        /* condition true: next step; false: denied */
    SK_STEP_REVIEWERS         /* wait for reviewers.approvals approvals */
} sk_step_kind_t;

typedef struct sk_expr sk_expr_t; /* expr.h */

typedef struct sk_policy_step {
    sk_step_kind_t kind;
    const sk_expr_t *condition; /* SK_STEP_CONDITION; evaluate: expr.h */
    const char *condition_text; /* as written; "" for other kinds */
    sk_reviewers_t reviewers;   /* SK_STEP_REVIEWERS */
} sk_policy_step_t;

/* A request policy (`policies:`): steps in order. */
typedef struct sk_policy {
    const char *id;
    const char *name; /* may be "" */
    size_t n_steps;   /* >= 1 */
    const sk_policy_step_t *steps;
} sk_policy_t;

/* One entry of `requestable_by`. */
typedef enum sk_requester_kind {
    SK_REQUESTER_EVERYONE = 1,
    SK_REQUESTER_ROTATION, /* on call now in .rotation */
    SK_REQUESTER_GROUP     /* member of .group */
} sk_requester_kind_t;

typedef struct sk_requester_rule {
    sk_requester_kind_t kind;
    const sk_rotation_t *rotation;
    const sk_group_t *group;
} sk_requester_rule_t;

/* A provisioner: exactly one of person and group is set. */
typedef struct sk_principal {
    const sk_person_t *person;
    const sk_group_t *group;
} sk_principal_t;

typedef enum sk_provisioning {
    SK_PROVISIONING_AUTOMATIC = 1,
    SK_PROVISIONING_MANUAL
} sk_provisioning_t;

/* A `request:` block of an entitlement or a profile, compiled. */
typedef struct sk_request_settings {
    const char *declared_in; /* "entitlement:<app/id>" or "profile:<id>" */
    int self_service;        /* default 0 */
    size_t n_requestable_by; /* 0: nobody may request it */
    const sk_requester_rule_t *requestable_by;
    const sk_policy_t *policy;           /* never NULL */
    const sk_policy_t *emergency_policy; /* NULL: no emergency requests */
    sk_provisioning_t provisioning;      /* default automatic */
    size_t n_provisioners;               /* >= 1 when manual */
    const sk_principal_t *provisioners;
    const sk_policy_t *revocation_policy; /* NULL when none */
} sk_request_settings_t;

/* Lookups; NULL when absent (or when rules or the id is NULL). */
const sk_person_t *sk_rules_person(const sk_rules_t *rules, const char *id);
const sk_group_t *sk_rules_group(const sk_rules_t *rules, const char *id);
const sk_policy_t *sk_rules_policy(const sk_rules_t *rules, const char *id);
const sk_app_t *sk_rules_app(const sk_rules_t *rules, const char *id);

/* 1 when person is a member of group (see sk_group), else 0. */
int sk_rules_in_group(const sk_person_t *person, const sk_group_t *group);

/*
 * sk_rules_request_settings — how the entitlement `key` ("app/id") may be
 * requested. Precedence: the entitlement's own `request:` block; else the
 * block of the first profile, in declaration order (files by name, then
 * position), that lists the entitlement and has one; else NULL (the
 * entitlement cannot be requested, only granted by enrollments).
 */
const sk_request_settings_t *sk_rules_request_settings(const sk_rules_t *rules, const char *key);

/* The `request:` block of profile `id` itself; NULL when it has none. */
const sk_request_settings_t *sk_rules_profile_request_settings(const sk_rules_t *rules,
                                                               const char *id);

/* A profile (`profiles:`) with its entitlements, for requests of a whole
 * profile; unknown entitlement references are left out. */
typedef struct sk_profile {
    const char *id;
    size_t n_entitlements;
    const sk_entitlement_t *const *entitlements; /* declaration order */
} sk_profile_t;

/* The profile `id`; NULL when absent. */
const sk_profile_t *sk_rules_profile(const sk_rules_t *rules, const char *id);

/*
 * Iteration in declaration order (files by name, then position), for
 * front-ends that map their own user ids (a `slack:U…` platform id, an
 * e-mail) to people or list what may be requested. `i` past the count (or
 * a NULL rule set) gives NULL; what is returned is owned by the rule set.
 */
size_t sk_rules_person_count(const sk_rules_t *rules);
const sk_person_t *sk_rules_person_at(const sk_rules_t *rules, size_t i);
size_t sk_rules_entitlement_count(const sk_rules_t *rules);
const sk_entitlement_t *sk_rules_entitlement_at(const sk_rules_t *rules, size_t i);

/* How long after a FAILED (retryable) result the first retry of the command
 * is due (top-level `provisioning_retry`, default 1m; decide doubles it per
 * retry). The default for a NULL rule set. */
#define SK_PROVISIONING_RETRY_DEFAULT_MS (60LL * 1000)
sk_ms_t sk_rules_provisioning_retry(const sk_rules_t *rules);

/* ==== access review campaigns (issue 17, `campaigns:`, rules_campaign.c) ====
 *
 * A campaign asks reviewers to certify or revoke standing access held by
 * requests: its scope names entitlements (directly, by app, or by profile)
 * and the kinds of grants; its schedule gives the first start, how long a
 * run lasts until due, an optional grace of daily overdue reminders, and an
 * optional recurrence. Owned by the rule set like everything above. */

typedef enum sk_campaign_end {
    SK_CAMPAIGN_END_LEAVE = 0, /* items still open at the end stay as they are */
    SK_CAMPAIGN_END_REVOKE = 1 /* items still open at the end are revoked */
} sk_campaign_end_t;

/* Kinds of grants in scope (bits of sk_campaign_t.grants). */
#define SK_CAMPAIGN_GRANTS_REQUESTS  1u /* held by an approved access request */
#define SK_CAMPAIGN_GRANTS_EMERGENCY 2u /* held by an emergency request */
/* of an entitlement provisioned by hand (`provisioning: manual`), held by a request */
#define SK_CAMPAIGN_GRANTS_MANUAL    4u
/* found outside shiftkey by a provisioner's reconciliation (F sources) */
#define SK_CAMPAIGN_GRANTS_FOUND     8u

typedef struct sk_campaign {
    const char *id;
    const char *name; /* may be "" */
    size_t n_owners;  /* >= 1 */
    const sk_person_t *const *owners;
    size_t n_ents; /* entitlement keys in scope, no repeats, >= 1 */
    const char *const *ents;
    unsigned grants;          /* SK_CAMPAIGN_GRANTS_* bits, never 0 */
    sk_ms_t older_than_ms;    /* 0: any age; else only requests at least this old */
    sk_reviewers_t reviewers; /* the request-policy reviewer kinds; the holder
                                 never reviews their own access */
    sk_ms_t start_ms;         /* first run's start (absolute) */
    sk_ms_t due_after_ms;     /* > 0: a run is due this long after its start */
    sk_ms_t grace_ms;         /* >= 0: overdue time before the end action runs */
    sk_ms_t every_ms;         /* 0: one run; else a new run this often */
    sk_campaign_end_t end_action;
    const char *slack_channel; /* "" when none */
} sk_campaign_t;

/* The campaigns in declaration order; NULL past the count. */
size_t sk_rules_campaign_count(const sk_rules_t *rules);
const sk_campaign_t *sk_rules_campaign_at(const sk_rules_t *rules, size_t i);
/* The campaign `id`; NULL when absent. */
const sk_campaign_t *sk_rules_campaign(const sk_rules_t *rules, const char *id);
/* 1 when ent_key is in the campaign's scope of entitlements. */
int sk_campaign_covers(const sk_campaign_t *c, const char *ent_key);
/* 1 when person id `who` is an owner of c. */
int sk_campaign_is_owner(const sk_campaign_t *c, const char *who);
/* The start of the latest run of c started at or before now, or SK_MS_NONE
 * when none has started yet. */
sk_ms_t sk_campaign_run_at(const sk_campaign_t *c, sk_ms_t now);
/* The start of the first run of c after now, or SK_MS_NONE (no recurrence
 * left). */
sk_ms_t sk_campaign_next_run(const sk_campaign_t *c, sk_ms_t now);

/* Counts of the directory and policies (sk_rules_stats keeps its layout). */
typedef struct sk_rules_access_stats {
    size_t people, groups, policies, request_blocks;
} sk_rules_access_stats_t;
void sk_rules_access_stats(const sk_rules_t *rules, sk_rules_access_stats_t *out);

#endif
