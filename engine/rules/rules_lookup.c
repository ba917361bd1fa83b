/*
 * rules_lookup.c — every lookup into a compiled rule set (rules.h): the
 * rotations and entitlements, the directory, policies, profiles and request
 * settings. The deciders link these without the compiler: this file
 * depends only on the layout in rules_model.h and on base/.
 *
 * Every function accepts a NULL rule set (and a NULL id) and then finds
 * nothing; what it returns is owned by the rule set.
 */
#include "rules/rules_model.h"

#include <string.h>

/* ---- the schedule half ---- */

const sk_rules_access_t *sk_rules_access_of(const sk_rules_t *rules)
{
    return rules ? rules->access : NULL;
}

const sk_rotation_t *sk_rules_rotation(const sk_rules_t *rules, const char *id)
{
    return rules && id ? sk_strmap_get(&rules->rotations, id) : NULL;
}

const sk_entitlement_t *sk_rules_entitlement(const sk_rules_t *rules,
                                             const char *key)
{
    return rules && key ? sk_strmap_get(&rules->ents, key) : NULL;
}

void sk_rules_stats(const sk_rules_t *rules, sk_rules_stats_t *out)
{
    if (rules)
        *out = rules->stats;
    else
        memset(out, 0, sizeof(*out));
}

const char *sk_rules_version(const sk_rules_t *rules)
{
    return rules ? rules->version : "";
}

size_t sk_rules_rotation_count(const sk_rules_t *rules)
{
    return rules ? rules->n_rot : 0;
}

const sk_rotation_t *sk_rules_rotation_at(const sk_rules_t *rules, size_t i)
{
    return rules && i < rules->n_rot ? &rules->rot[i] : NULL;
}

/* ---- the directory and requests ---- */

const sk_person_t *sk_rules_person(const sk_rules_t *rules, const char *id)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && id ? sk_strmap_get(&a->people, id) : NULL;
}

const sk_group_t *sk_rules_group(const sk_rules_t *rules, const char *id)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && id ? sk_strmap_get(&a->groups, id) : NULL;
}

const sk_app_t *sk_rules_app(const sk_rules_t *rules, const char *id)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && id ? sk_strmap_get(&a->apps, id) : NULL;
}

int sk_rules_in_group(const sk_person_t *person, const sk_group_t *group)
{
    for (size_t i = 0; person && group && i < person->n_groups; i++)
        if (person->groups[i] == group)
            return 1;
    return 0;
}

void sk_rules_access_stats(const sk_rules_t *rules,
                           sk_rules_access_stats_t *out)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);

    memset(out, 0, sizeof(*out));
    if (!a)
        return;
    out->people = a->n_person;
    out->groups = a->n_group;
    out->policies = a->n_policy;
    out->request_blocks = a->request_blocks;
}

const sk_policy_t *sk_rules_policy(const sk_rules_t *rules, const char *id)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && id ? sk_strmap_get(&a->policies, id) : NULL;
}

const sk_request_settings_t *sk_rules_request_settings(const sk_rules_t *rules,
                                                       const char *key)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && key ? sk_strmap_get(&a->ent_req, key) : NULL;
}

const sk_profile_t *sk_rules_profile(const sk_rules_t *rules, const char *id)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && id ? sk_strmap_get(&a->profiles, id) : NULL;
}

const sk_request_settings_t *
sk_rules_profile_request_settings(const sk_rules_t *rules, const char *id)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && id ? sk_strmap_get(&a->prof_req, id) : NULL;
}

/* ---- iteration, for front-ends (the Slack app's user map and pickers) ---- */

size_t sk_rules_person_count(const sk_rules_t *rules)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a ? a->n_person : 0;
}

const sk_person_t *sk_rules_person_at(const sk_rules_t *rules, size_t i)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && i < a->n_person ? &a->person[i] : NULL;
}

size_t sk_rules_entitlement_count(const sk_rules_t *rules)
{
    return rules ? rules->n_ent : 0;
}

const sk_entitlement_t *sk_rules_entitlement_at(const sk_rules_t *rules, size_t i)
{
    return rules && i < rules->n_ent ? &rules->ent[i] : NULL;
}

/* ---- comparing two rule sets (a rules reload) ---- */

static int same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int sk_rules_entitlement_same(const sk_rules_t *a, const sk_rules_t *b, const char *key)
{
    const sk_entitlement_t *x = sk_rules_entitlement(a, key), *y = sk_rules_entitlement(b, key);
    return x && y && same_str(x->resource, y->resource) &&
           same_str(x->permission, y->permission) && x->max_duration_ms == y->max_duration_ms;
}

int sk_rules_rotation_same(const sk_rules_t *a, const sk_rules_t *b, const char *id)
{
    const sk_rotation_t *x = sk_rules_rotation(a, id), *y = sk_rules_rotation(b, id);
    if (!x || !y || x->n_edges != y->n_edges)
        return 0;
    for (size_t i = 0; i < x->n_edges; i++) {
        const sk_enrollment_edge_t *p = &x->edges[i], *q = &y->edges[i];
        if (strcmp(p->ent->key, q->ent->key) != 0 || !sk_rules_entitlement_same(a, b, p->ent->key) ||
            p->grant_before_ms != q->grant_before_ms || p->revoke_after_ms != q->revoke_after_ms ||
            p->max_escalation_level != q->max_escalation_level)
            return 0;
    }
    return 1;
}
