/*
 * rules_model.h — the compiled rule set's own layout, shared by the files
 * that build it (rules_compile.c, rules_access.c, rules_request.c) and by
 * the lookups (rules_lookup.c). Not a public header: everything outside
 * rules/ sees sk_rules_t only through rules.h.
 *
 * Every pointer reachable from these structs lives in their arenas and is
 * owned by the rule set (sk_rules_destroy frees it all).
 */
#ifndef SK_RULES_MODEL_H
#define SK_RULES_MODEL_H

#include "rules/expr.h"
#include "rules/rules_pos.h"
#include "rules/signers.h"

struct sk_rules {
    sk_arena_t arena;      /* everything below points into it */
    sk_strmap_t rotations; /* id -> sk_rotation_t* */
    sk_strmap_t ents;      /* key -> sk_entitlement_t* */
    sk_entitlement_t *ent; /* in declaration order */
    size_t n_ent;
    sk_rotation_t *rot; /* in declaration order */
    size_t n_rot;
    sk_rules_stats_t stats;
    sk_rules_access_t *access; /* people, groups, policies, requests */
    char version[33];
};

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
    sk_signers_t signers;  /* rules_signers.c */
    sk_ms_t retry_base_ms; /* provisioning_retry, rules_settings.c */
    sk_strmap_t campaigns; /* id -> sk_campaign_t* (rules_campaign.c) */
    sk_campaign_t *campaign;
    size_t n_campaign;
};

#endif
