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

/* Position of the value at a path in file fi. */
sk_pos_t ac_pos(const ac_t *c, size_t fi, const char *fmt, ...)
{
    char path[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return sk_pos_index_at(&c->files[fi].pos, 0, "%s", path);
}

void ac_error(ac_t *c, size_t fi, sk_pos_t at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (sk_rules_errors_vadd(c->errs, c->files[fi].path, at.line, at.col, fmt,
                             ap) != 0)
        c->oom = 1;
    va_end(ap);
}

/* "unknown <kind> '<ref>' <where> (did you mean '<hint>'?)" */
void ac_unknown(ac_t *c, size_t fi, sk_pos_t at, const char *kind,
                const char *ref, const char *where, const sk_strmap_t *known)
{
    const char *hint = sk_rules_suggest_map(known, ref);

    if (hint)
        ac_error(c, fi, at, "unknown %s '%s' %s (did you mean '%s'?)", kind,
                 ref, where, hint);
    else
        ac_error(c, fi, at, "unknown %s '%s' %s", kind, ref, where);
}

const char *ac_str(ac_t *c, const char *s)
{
    char *copy = sk_arena_strdup(&c->a->arena, s ? s : "");

    if (!copy)
        c->oom = 1;
    return copy ? copy : "";
}

void *ac_calloc(ac_t *c, size_t n, size_t size)
{
    void *p = sk_arena_calloc(&c->a->arena, n + 1, size);

    if (!p)
        c->oom = 1;
    return p;
}

void ac_put(ac_t *c, sk_strmap_t *m, const char *key, void *v)
{
    if (sk_strmap_put(m, key, v) != 0)
        c->oom = 1;
}

/* A person id is a user id as events carry it, often an e-mail address:
 * like other ids, with '@' and '+' allowed after the first character. */
static int ac_person_id_ok(const char *id)
{
    char buf[65];
    size_t n = strlen(id);

    if (n == 0 || n > 64)
        return 0;
    memcpy(buf, id, n + 1);
    for (size_t i = 1; i < n; i++)
        if (buf[i] == '@' || buf[i] == '+')
            buf[i] = '.';
    return sk_rules_id_syntax_ok(buf);
}

/*
 * Checks the id of entry `path` and that it is the first of its kind.
 * Returns 1 when the entry should be compiled.
 */
int ac_define(ac_t *c, size_t fi, const char *kind, const char *id,
              const char *path)
{
    sk_pos_t at = ac_pos(c, fi, "%s.id", path);
    char *key;
    ac_origin_t *o;

    if (!id || !*id) {
        ac_error(c, fi, ac_pos(c, fi, "%s", path),
                 "missing required field 'id' in %s", kind);
        return 0;
    }
    if (strcmp(kind, "person") == 0 ? !ac_person_id_ok(id)
                                    : !sk_rules_id_syntax_ok(id)) {
        ac_error(c, fi, at,
                 "invalid %s id '%s': use lowercase letters, digits, '_', "
                 "'.'%s and '-', starting with a letter or digit, at most 64 "
                 "characters",
                 kind, id, strcmp(kind, "person") == 0 ? ", '@', '+'" : "");
        return 0;
    }
    key = sk_arena_sprintf(&c->tmp, "%s:%s", kind, id);
    if (!key) {
        c->oom = 1;
        return 0;
    }
    o = sk_strmap_get(&c->origin, key);
    if (o) {
        ac_error(c, fi, at, "duplicate %s '%s' (first defined at %s:%d:%d)",
                 kind, id, o->file, o->pos.line, o->pos.col);
        return 0;
    }
    o = sk_arena_calloc(&c->tmp, 1, sizeof(*o));
    if (!o) {
        c->oom = 1;
        return 0;
    }
    o->file = c->files[fi].path;
    o->pos = at;
    ac_put(c, &c->origin, key, o);
    return 1;
}

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
            if (!ac_define(c, fi, "person", rp->id, path))
                continue;
            p = &a->person[a->n_person++];
            p->id = ac_str(c, rp->id);
            p->email = ac_str(c, rp->email);
            ids = ac_calloc(c, rp->platform_ids_count, sizeof(*ids));
            for (unsigned k = 0; ids && k < rp->platform_ids_count; k++) {
                const char *pid = rp->platform_ids[k];
                const char *colon = strchr(pid, ':');
                if (!colon || colon == pid || !colon[1])
                    ac_error(c, fi,
                             ac_pos(c, fi, "%s.platform_ids[%u]", path, k),
                             "bad platform id '%s' of person '%s': use "
                             "<platform>:<id>, e.g. pagerduty:PABC123",
                             pid, rp->id);
                ids[p->n_platform_ids++] = ac_str(c, pid);
            }
            p->platform_ids = ids;
            ac_put(c, &a->people, p->id, p);
        }
        for (unsigned i = 0; d && i < d->groups_count; i++) {
            const sk_raw_group_t *rg = &d->groups[i];
            char path[32];
            sk_group_t *g;
            snprintf(path, sizeof(path), "groups[%u]", i);
            if (!ac_define(c, fi, "group", rg->id, path))
                continue;
            g = &a->group[a->n_group++];
            g->id = ac_str(c, rg->id);
            g->name = ac_str(c, rg->name);
            ac_put(c, &a->groups, g->id, g);
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
                sk_person_t *p = rp->id ? sk_strmap_get(&a->people, rp->id)
                                        : NULL;
                char where[128];
                if (!p)
                    continue;
                snprintf(where, sizeof(where), "in groups of person '%s'",
                         rp->id);
                if (pass == 1 && rp->manager) {
                    p->manager = sk_strmap_get(&a->people, rp->manager);
                    if (!p->manager && c->check_refs) {
                        char mw[128];
                        snprintf(mw, sizeof(mw), "as manager of person '%s'",
                                 rp->id);
                        ac_unknown(c, fi,
                                   ac_pos(c, fi, "people[%u].manager", i),
                                   "person", rp->manager, mw, &a->people);
                    }
                }
                for (unsigned k = 0; k < rp->groups_count; k++) {
                    sk_group_t *g = sk_strmap_get(&a->groups, rp->groups[k]);
                    if (!g) {
                        if (pass == 1 && c->check_refs)
                            ac_unknown(c, fi,
                                       ac_pos(c, fi, "people[%u].groups[%u]",
                                              i, k),
                                       "group", rp->groups[k], where,
                                       &a->groups);
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
                sk_group_t *g = rg->id ? sk_strmap_get(&a->groups, rg->id)
                                       : NULL;
                char where[128];
                if (!g)
                    continue;
                snprintf(where, sizeof(where), "in members of group '%s'",
                         rg->id);
                for (unsigned k = 0; k < rg->members_count; k++) {
                    sk_person_t *p = sk_strmap_get(&a->people, rg->members[k]);
                    if (!p) {
                        if (pass == 1 && c->check_refs)
                            ac_unknown(c, fi,
                                       ac_pos(c, fi, "groups[%u].members[%u]",
                                              i, k),
                                       "person", rg->members[k], where,
                                       &a->people);
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
            a->person[i].groups = ac_calloc(c, pcount[i], sizeof(void *));
        for (size_t i = 0; pass == 0 && i < a->n_group; i++)
            a->group[i].members = ac_calloc(c, gcount[i], sizeof(void *));
        if (c->oom)
            goto out;
    }
out:
    free(pcount);
    free(gcount);
}

/* Where person p's `manager:` is declared: file index and path. */
static int ac_find_person(const ac_t *c, const char *id, size_t *fi_out,
                          unsigned *i_out)
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
                used += (size_t)snprintf(msg + used, sizeof(msg) - used,
                                         "%s -> ", q->id);
                if (used >= sizeof(msg))
                    used = sizeof(msg) - 1;
                q = q->manager;
            } while (q != p);
            snprintf(msg + used, sizeof(msg) - used, "%s", p->id);
            if (ac_find_person(c, p->id, &fi, &ri))
                ac_error(c, fi, ac_pos(c, fi, "people[%u].manager", ri),
                         "manager cycle: %s", msg);
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
            if (!ra->id || !sk_rules_id_syntax_ok(ra->id) ||
                sk_strmap_get(&a->apps, ra->id))
                continue; /* reported by rules_compile.c */
            app = &a->app[a->n_app++];
            app->id = ac_str(c, ra->id);
            app->name = ac_str(c, ra->name);
            app->owner = ac_str(c, ra->owner);
            app->owner_person = sk_strmap_get(&a->people, app->owner);
            app->owner_group = sk_strmap_get(&a->groups, app->owner);
            if (app->owner_person && app->owner_group) {
                ac_error(c, fi, ac_pos(c, fi, "apps[%u].owner", i),
                         "owner '%s' of app '%s' names both a person and a "
                         "group: rename one of them",
                         ra->owner, ra->id);
            }
            ac_put(c, &a->apps, app->id, app);
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
    c->a->person = ac_calloc(c, np, sizeof(sk_person_t));
    c->a->group = ac_calloc(c, ng, sizeof(sk_group_t));
    c->a->policy = ac_calloc(c, npol, sizeof(sk_policy_t));
    c->a->app = ac_calloc(c, napp, sizeof(sk_app_t));
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
        ac_put(c, &c->rot_ids, rot->id, (void *)rot);
    }
    return c->oom ? SK_ENOMEM : 0;
}

sk_rules_access_t *sk_rules_access_compile(const sk_rules_t *rules,
                                           const sk_rules_file_t *files,
                                           size_t n_files, int check_refs,
                                           sk_rules_errors_t *errs, int *oom)
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
            ac_policies(&c);
        if (!c.oom)
            ac_requests(&c);
        if (!c.oom)
            ac_signers(&c);
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
            ac_hash_num(st, r->manager * 8 + r->app_owner * 4 +
                                r->allow_self_approval * 2);
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
}

/* ---- lookups ------------------------------------------------------------ */

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

