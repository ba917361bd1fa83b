/*
 * rules_access.c — the access-request half of the rule language (rules.h,
 * rules/README.md), part one: the directory (`people`, `groups`, managers
 * and their cycles), app owners, the compile entry point, the hash and the
 * directory lookups. Policies and `request:` blocks are in rules_request.c;
 * what both share is in rules_access.h.
 *
 * Called by sk_rules_compile() once rotations and entitlements are known.
 * Like the rest of the loader it collects every error with file:line:column
 * and never stops at the first. The result owns one arena (every struct and
 * string), its lookup maps and the compiled expressions.
 */
#include "rules/rules_access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

/* ---- directory ---------------------------------------------------------- */

static void ac_define_directory(ac_t *c)
{
    sk_rules_access_t *a = c->a;

    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        for (unsigned i = 0; d && i < d->people_count; i++) {
            const sk_raw_person_t *rp = &d->people[i];
            char path[32];
            sk_person_t *p;
            const char **ids;
            snprintf(path, sizeof(path), "people[%u]", i);
            if (!sk_ac_define(c, fi, "person", rp->id, path))
                continue;
            p = &a->person[a->n_person++];
            p->id = sk_ac_str(c, rp->id);
            p->email = sk_ac_str(c, rp->email);
            ids = sk_ac_calloc(c, rp->platform_ids_count, sizeof(*ids));
            for (unsigned k = 0; ids && k < rp->platform_ids_count; k++) {
                const char *pid = rp->platform_ids[k];
                const char *colon = strchr(pid, ':');
                if (!colon || colon == pid || !colon[1])
                    sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.platform_ids[%u]", path, k),
                                "bad platform id '%s' of person '%s': use "
                                "<platform>:<id>, e.g. pagerduty:PABC123",
                                pid, rp->id);
                ids[p->n_platform_ids++] = sk_ac_str(c, pid);
            }
            p->platform_ids = ids;
            sk_ac_put(c, &a->people, p->id, p);
        }
        for (unsigned i = 0; d && i < d->groups_count; i++) {
            const sk_raw_group_t *rg = &d->groups[i];
            char path[32];
            sk_group_t *g;
            snprintf(path, sizeof(path), "groups[%u]", i);
            if (!sk_ac_define(c, fi, "group", rg->id, path))
                continue;
            g = &a->group[a->n_group++];
            g->id = sk_ac_str(c, rg->id);
            g->name = sk_ac_str(c, rg->name);
            sk_ac_put(c, &a->groups, g->id, g);
        }
    }
}

/* Adds the membership (p, g) once to both sides. */
static void ac_member(sk_person_t *p, sk_group_t *g)
{
    const sk_group_t **pg = (const sk_group_t **)p->groups;
    const sk_person_t **gm = (const sk_person_t **)g->members;

    for (size_t i = 0; i < p->n_groups; i++)
        if (pg[i] == g)
            return;
    pg[p->n_groups++] = g;
    gm[g->n_members++] = p;
}

/*
 * Resolves managers and memberships. Pass 0 counts the memberships each
 * person and group may get (upper bounds), pass 1 fills them.
 */
static void ac_resolve_directory(ac_t *c)
{
    sk_rules_access_t *a = c->a;
    size_t *pcount = calloc(a->n_person + 1, sizeof(*pcount));
    size_t *gcount = calloc(a->n_group + 1, sizeof(*gcount));

    if (!pcount || !gcount) {
        c->oom = 1;
        goto out;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t fi = 0; fi < c->n_files; fi++) {
            const sk_raw_doc_t *d = c->files[fi].doc;
            for (unsigned i = 0; d && i < d->people_count; i++) {
                const sk_raw_person_t *rp = &d->people[i];
                sk_person_t *p = rp->id ? sk_strmap_get(&a->people, rp->id) : NULL;
                char where[128];
                if (!p)
                    continue;
                snprintf(where, sizeof(where), "in groups of person '%s'", rp->id);
                if (pass == 1 && rp->manager) {
                    p->manager = sk_strmap_get(&a->people, rp->manager);
                    if (!p->manager && c->check_refs) {
                        char mw[128];
                        snprintf(mw, sizeof(mw), "as manager of person '%s'", rp->id);
                        sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "people[%u].manager", i), "person",
                                      rp->manager, mw, &a->people);
                    }
                }
                for (unsigned k = 0; k < rp->groups_count; k++) {
                    sk_group_t *g = sk_strmap_get(&a->groups, rp->groups[k]);
                    if (!g) {
                        if (pass == 1 && c->check_refs)
                            sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "people[%u].groups[%u]", i, k),
                                          "group", rp->groups[k], where, &a->groups);
                    } else if (pass == 0) {
                        pcount[p - a->person]++;
                        gcount[g - a->group]++;
                    } else {
                        ac_member(p, g);
                    }
                }
            }
            for (unsigned i = 0; d && i < d->groups_count; i++) {
                const sk_raw_group_t *rg = &d->groups[i];
                sk_group_t *g = rg->id ? sk_strmap_get(&a->groups, rg->id) : NULL;
                char where[128];
                if (!g)
                    continue;
                snprintf(where, sizeof(where), "in members of group '%s'", rg->id);
                for (unsigned k = 0; k < rg->members_count; k++) {
                    sk_person_t *p = sk_strmap_get(&a->people, rg->members[k]);
                    if (!p) {
                        if (pass == 1 && c->check_refs)
                            sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "groups[%u].members[%u]", i, k),
                                          "person", rg->members[k], where, &a->people);
                    } else if (pass == 0) {
                        pcount[p - a->person]++;
                        gcount[g - a->group]++;
                    } else {
                        ac_member(p, g);
                    }
                }
            }
        }
        for (size_t i = 0; pass == 0 && i < a->n_person; i++)
            a->person[i].groups = sk_ac_calloc(c, pcount[i], sizeof(void *));
        for (size_t i = 0; pass == 0 && i < a->n_group; i++)
            a->group[i].members = sk_ac_calloc(c, gcount[i], sizeof(void *));
        if (c->oom)
            goto out;
    }
out:
    free(pcount);
    free(gcount);
}

/* Where person p's `manager:` is declared: file index and path. */
static int ac_find_person(const ac_t *c, const char *id, size_t *fi_out, unsigned *i_out)
{
    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        for (unsigned i = 0; d && i < d->people_count; i++) {
            if (d->people[i].id && strcmp(d->people[i].id, id) == 0) {
                *fi_out = fi;
                *i_out = i;
                return 1;
            }
        }
    }
    return 0;
}

/*
 * Reports every manager cycle once ("manager cycle: a -> b -> a"), at the
 * `manager:` of the first person of the cycle met in declaration order.
 */
static void ac_manager_cycles(ac_t *c)
{
    sk_rules_access_t *a = c->a;
    char *state = calloc(a->n_person + 1, 1); /* 0 new, 1 on path, 2 done */

    if (!state) {
        c->oom = 1;
        return;
    }
    for (size_t i = 0; i < a->n_person; i++) {
        const sk_person_t *p = &a->person[i];
        while (p && state[p - a->person] == 0) {
            state[p - a->person] = 1;
            p = p->manager;
        }
        if (p && state[p - a->person] == 1) {
            char msg[512];
            size_t used = 0, fi;
            unsigned ri;
            const sk_person_t *q = p;
            do {
                used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s -> ", q->id);
                if (used >= sizeof(msg))
                    used = sizeof(msg) - 1;
                q = q->manager;
            } while (q != p);
            snprintf(msg + used, sizeof(msg) - used, "%s", p->id);
            if (ac_find_person(c, p->id, &fi, &ri))
                sk_ac_error(c, fi, sk_ac_pos(c, fi, "people[%u].manager", ri), "manager cycle: %s",
                            msg);
        }
        for (p = &a->person[i]; p && state[p - a->person] == 1; p = p->manager)
            state[p - a->person] = 2;
    }
    free(state);
}

/* App owners: a person id, else a group id, else free text. */
static void ac_apps(ac_t *c)
{
    sk_rules_access_t *a = c->a;

    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        for (unsigned i = 0; d && i < d->apps_count; i++) {
            const sk_raw_app_t *ra = &d->apps[i];
            sk_app_t *app;
            if (!ra->id || !sk_rules_id_syntax_ok(ra->id) || sk_strmap_get(&a->apps, ra->id))
                continue; /* reported by rules_compile.c */
            app = &a->app[a->n_app++];
            app->id = sk_ac_str(c, ra->id);
            app->name = sk_ac_str(c, ra->name);
            app->owner = sk_ac_str(c, ra->owner);
            app->owner_person = sk_strmap_get(&a->people, app->owner);
            app->owner_group = sk_strmap_get(&a->groups, app->owner);
            if (app->owner_person && app->owner_group) {
                sk_ac_error(c, fi, sk_ac_pos(c, fi, "apps[%u].owner", i),
                            "owner '%s' of app '%s' names both a person and a "
                            "group: rename one of them",
                            ra->owner, ra->id);
            }
            sk_ac_put(c, &a->apps, app->id, app);
        }
    }
}

/* ---- entry points ------------------------------------------------------- */

static int ac_alloc(ac_t *c)
{
    size_t np = 0, ng = 0, npol = 0, napp = 0, nsteps = 0;

    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        if (!d)
            continue;
        np += d->people_count;
        ng += d->groups_count;
        npol += d->policies_count;
        napp += d->apps_count;
        for (unsigned i = 0; i < d->policies_count; i++)
            nsteps += d->policies[i].steps_count;
    }
    c->a->person = sk_ac_calloc(c, np, sizeof(sk_person_t));
    c->a->group = sk_ac_calloc(c, ng, sizeof(sk_group_t));
    c->a->policy = sk_ac_calloc(c, npol, sizeof(sk_policy_t));
    c->a->app = sk_ac_calloc(c, napp, sizeof(sk_app_t));
    c->a->exprs = calloc(nsteps + 1, sizeof(sk_expr_t *));
    if (!c->a->exprs)
        c->oom = 1;
    return c->oom ? SK_ENOMEM : 0;
}

/* Indexes the rule set's rotation ids, for did-you-mean suggestions on
 * unknown rotation references (the rule set's own map is private to it). */
static int ac_rotation_ids(ac_t *c)
{
    for (size_t i = 0; i < sk_rules_rotation_count(c->rules); i++) {
        const sk_rotation_t *rot = sk_rules_rotation_at(c->rules, i);
        sk_ac_put(c, &c->rot_ids, rot->id, (void *)rot);
    }
    return c->oom ? SK_ENOMEM : 0;
}

sk_rules_access_t *sk_rules_access_compile(const sk_rules_t *rules, const sk_rules_file_t *files,
                                           size_t n_files, int check_refs, sk_rules_errors_t *errs,
                                           int *oom)
{
    ac_t c;
    sk_rules_access_t *a = calloc(1, sizeof(*a));

    if (!a) {
        *oom = 1;
        return NULL;
    }
    memset(&c, 0, sizeof(c));
    c.a = a;
    c.rules = rules;
    c.files = files;
    c.n_files = n_files;
    c.check_refs = check_refs;
    c.errs = errs;
    sk_arena_init(&a->arena, 16384);
    sk_strmap_init(&a->people);
    sk_strmap_init(&a->groups);
    sk_strmap_init(&a->policies);
    sk_strmap_init(&a->apps);
    sk_strmap_init(&a->ent_req);
    sk_strmap_init(&a->prof_req);
    sk_strmap_init(&a->profiles);
    sk_strmap_init(&a->campaigns);
    sk_arena_init(&c.tmp, 4096);
    sk_strmap_init(&c.origin);
    sk_strmap_init(&c.rot_ids);
    if (ac_alloc(&c) == 0 && ac_rotation_ids(&c) == 0) {
        ac_define_directory(&c);
        if (!c.oom)
            ac_resolve_directory(&c);
        if (!c.oom)
            ac_manager_cycles(&c);
        if (!c.oom)
            ac_apps(&c);
        if (!c.oom)
            sk_ac_policies(&c);
        if (!c.oom)
            sk_ac_requests(&c);
        if (!c.oom)
            sk_ac_signers(&c);
        if (!c.oom)
            sk_ac_settings(&c);
        if (!c.oom)
            sk_ac_campaigns(&c);
    }
    sk_strmap_fini(&c.rot_ids);
    sk_strmap_fini(&c.origin);
    sk_arena_fini(&c.tmp);
    if (c.oom) {
        *oom = 1;
        sk_rules_access_destroy(a);
        return NULL;
    }
    return a;
}

void sk_rules_access_destroy(sk_rules_access_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_exprs; i++)
        sk_expr_destroy(a->exprs[i]);
    free(a->exprs);
    sk_strmap_fini(&a->people);
    sk_strmap_fini(&a->groups);
    sk_strmap_fini(&a->policies);
    sk_strmap_fini(&a->apps);
    sk_strmap_fini(&a->ent_req);
    sk_strmap_fini(&a->prof_req);
    sk_strmap_fini(&a->profiles);
    sk_strmap_fini(&a->campaigns);
    sk_arena_fini(&a->arena);
    free(a);
}

static void ac_hash_str(XXH3_state_t *st, const char *s)
{
    XXH3_128bits_update(st, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void ac_hash_num(XXH3_state_t *st, long long v)
{
    XXH3_128bits_update(st, &v, sizeof(v));
}

static void ac_hash_request(XXH3_state_t *st, const sk_request_settings_t *s)
{
    ac_hash_str(st, s->declared_in);
    ac_hash_num(st, s->self_service);
    for (size_t k = 0; k < s->n_requestable_by; k++) {
        const sk_requester_rule_t *r = &s->requestable_by[k];
        ac_hash_num(st, r->kind);
        ac_hash_str(st, r->rotation ? r->rotation->id : r->group ? r->group->id : "");
    }
    ac_hash_str(st, s->policy ? s->policy->id : "");
    ac_hash_str(st, s->emergency_policy ? s->emergency_policy->id : "");
    ac_hash_str(st, s->revocation_policy ? s->revocation_policy->id : "");
    ac_hash_num(st, s->provisioning);
    for (size_t k = 0; k < s->n_provisioners; k++)
        ac_hash_str(st, s->provisioners[k].person ? s->provisioners[k].person->id
                                                  : s->provisioners[k].group->id);
}

void sk_rules_access_hash(const sk_rules_access_t *a, void *xxh3_state)
{
    XXH3_state_t *st = xxh3_state;

    ac_hash_str(st, "access-v1");
    if (a->retry_base_ms != SK_PROVISIONING_RETRY_DEFAULT_MS) /* older versions stay as they were */
        ac_hash_num(st, a->retry_base_ms);
    for (size_t i = 0; i < a->n_person; i++) {
        const sk_person_t *p = &a->person[i];
        ac_hash_str(st, p->id);
        ac_hash_str(st, p->email);
        ac_hash_str(st, p->manager ? p->manager->id : "");
        for (size_t k = 0; k < p->n_groups; k++)
            ac_hash_str(st, p->groups[k]->id);
        for (size_t k = 0; k < p->n_platform_ids; k++)
            ac_hash_str(st, p->platform_ids[k]);
    }
    for (size_t i = 0; i < a->n_group; i++)
        ac_hash_str(st, a->group[i].id);
    for (size_t i = 0; i < a->n_app; i++)
        ac_hash_str(st, a->app[i].owner);
    for (size_t i = 0; i < a->n_policy; i++) {
        const sk_policy_t *p = &a->policy[i];
        ac_hash_str(st, p->id);
        for (size_t k = 0; k < p->n_steps; k++) {
            const sk_policy_step_t *s = &p->steps[k];
            const sk_reviewers_t *r = &s->reviewers;
            ac_hash_num(st, s->kind);
            ac_hash_str(st, s->condition_text);
            for (size_t u = 0; u < r->n_users; u++)
                ac_hash_str(st, r->users[u]->id);
            ac_hash_str(st, r->group ? r->group->id : "");
            ac_hash_str(st, r->on_call ? r->on_call->id : "");
            ac_hash_num(st, r->manager * 8 + r->app_owner * 4 + r->allow_self_approval * 2);
            ac_hash_num(st, r->approvals);
        }
    }
    /* request settings per entitlement and profile; map order is
     * unspecified, so each entry is hashed alone and the sums combined */
    for (int m = 0; m < 2; m++) {
        const sk_strmap_t *map = m ? &a->prof_req : &a->ent_req;
        unsigned long long sum = 0;
        for (size_t i = 0; i < map->cap; i++) {
            XXH3_state_t *t;
            if (!map->slots[i].key || !(t = XXH3_createState()))
                continue;
            XXH3_128bits_reset(t);
            ac_hash_str(t, map->slots[i].key);
            ac_hash_request(t, map->slots[i].value);
            sum += XXH3_128bits_digest(t).low64;
            XXH3_freeState(t);
        }
        ac_hash_num(st, (long long)sum);
    }
    sk_ac_campaigns_hash(a, st);
}
