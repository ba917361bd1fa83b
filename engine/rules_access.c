/*
 * rules_access.c — the access-request half of the rule language (rules.h,
 * rules/README.md): the directory (`people`, `groups`), app owners, request
 * policies (`policies`, with condition expressions compiled by expr.c) and
 * the `request:` blocks of entitlements and profiles.
 *
 * Called by sk_rules_compile() once rotations and entitlements are known.
 * Like the rest of the loader it collects every error with file:line:column
 * and never stops at the first. The result owns one arena (every struct and
 * string), its lookup maps and the compiled expressions.
 */
#include "expr.h"
#include "rules_pos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

struct sk_rules_access {
    sk_arena_t arena;
    sk_strmap_t people, groups, policies, apps;
    sk_strmap_t ent_req;  /* entitlement key -> sk_request_settings_t* */
    sk_strmap_t prof_req; /* profile id -> sk_request_settings_t* */
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
};

/* Compile state. */
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
} ac_t;

typedef struct ac_origin {
    const char *file;
    sk_pos_t pos;
} ac_origin_t;

static sk_pos_t ac_pos(const ac_t *c, size_t fi, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Position of the value at a path in file fi. */
static sk_pos_t ac_pos(const ac_t *c, size_t fi, const char *fmt, ...)
{
    char path[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return sk_pos_index_at(&c->files[fi].pos, 0, "%s", path);
}

static void ac_error(ac_t *c, size_t fi, sk_pos_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void ac_error(ac_t *c, size_t fi, sk_pos_t at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (sk_rules_errors_vadd(c->errs, c->files[fi].path, at.line, at.col, fmt,
                             ap) != 0)
        c->oom = 1;
    va_end(ap);
}

/* "unknown <kind> '<ref>' <where> (did you mean '<hint>'?)" */
static void ac_unknown(ac_t *c, size_t fi, sk_pos_t at, const char *kind,
                       const char *ref, const char *where,
                       const sk_strmap_t *known)
{
    const char *hint = sk_rules_suggest_map(known, ref);

    if (hint)
        ac_error(c, fi, at, "unknown %s '%s' %s (did you mean '%s'?)", kind,
                 ref, where, hint);
    else
        ac_error(c, fi, at, "unknown %s '%s' %s", kind, ref, where);
}

static const char *ac_str(ac_t *c, const char *s)
{
    char *copy = sk_arena_strdup(&c->a->arena, s ? s : "");

    if (!copy)
        c->oom = 1;
    return copy ? copy : "";
}

static void *ac_calloc(ac_t *c, size_t n, size_t size)
{
    void *p = sk_arena_calloc(&c->a->arena, n + 1, size);

    if (!p)
        c->oom = 1;
    return p;
}

static void ac_put(ac_t *c, sk_strmap_t *m, const char *key, void *v)
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
static int ac_define(ac_t *c, size_t fi, const char *kind, const char *id,
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

/* ---- policies ----------------------------------------------------------- */

/* Context of sk_expr_refs() while checking one condition. */
typedef struct ac_expr_refs {
    ac_t *c;
    size_t fi;
    sk_pos_t at; /* position of the first character of the expression */
    const char *policy;
} ac_expr_refs_t;

static void ac_expr_ref(void *user, sk_expr_ref_kind_t kind, const char *name,
                        size_t offset)
{
    ac_expr_refs_t *x = user;
    sk_pos_t at = {x->at.line, x->at.col + (int)offset};
    char where[128];

    snprintf(where, sizeof(where), "in condition of policy '%s'", x->policy);
    if (kind == SK_EXPR_REF_ROTATION &&
        !sk_rules_rotation(x->c->rules, name)) {
        /* rotation ids are in the rule set's own map: suggest from rotations */
        const char *best = NULL;
        for (size_t i = 0; i < sk_rules_rotation_count(x->c->rules); i++) {
            const char *id = sk_rules_rotation_at(x->c->rules, i)->id;
            if (sk_rules_edit_distance(name, id) <= 2 &&
                (!best || sk_rules_edit_distance(name, id) <
                              sk_rules_edit_distance(name, best)))
                best = id;
        }
        if (best)
            ac_error(x->c, x->fi, at,
                     "unknown rotation '%s' %s (did you mean '%s'?)", name,
                     where, best);
        else
            ac_error(x->c, x->fi, at, "unknown rotation '%s' %s", name, where);
    } else if (kind == SK_EXPR_REF_GROUP &&
               !sk_strmap_get(&x->c->a->groups, name)) {
        ac_unknown(x->c, x->fi, at, "group", name, where, &x->c->a->groups);
    }
}

/*
 * Where the text of a scalar value starts: its position, one column further
 * when the scalar is quoted. Offsets into single-line scalars are exact.
 */
static sk_pos_t ac_text_start(const ac_t *c, size_t fi, sk_pos_t at)
{
    const sk_rules_file_t *f = &c->files[fi];
    size_t off = 0;
    int line = 1;

    while (off < f->len && line < at.line)
        if (f->text[off++] == '\n')
            line++;
    off += (size_t)(at.col > 0 ? at.col - 1 : 0);
    if (off < f->len && (f->text[off] == '"' || f->text[off] == '\''))
        at.col++;
    return at;
}

static void ac_condition(ac_t *c, size_t fi, const char *path,
                         const char *policy, const char *text,
                         sk_policy_step_t *st)
{
    sk_expr_error_t err;
    sk_pos_t at = ac_text_start(c, fi, ac_pos(c, fi, "%s.condition", path));
    sk_expr_t *e = sk_expr_compile(text, &err);
    ac_expr_refs_t x = {c, fi, at, policy};

    st->kind = SK_STEP_CONDITION;
    st->condition_text = ac_str(c, text);
    if (!e) {
        ac_error(c, fi, (sk_pos_t){at.line, at.col + (int)err.offset},
                 "bad condition in policy '%s': %s", policy, err.message);
        return;
    }
    c->a->exprs[c->a->n_exprs++] = e; /* now owned by the access part */
    st->condition = e;
    if (c->check_refs)
        sk_expr_refs(e, ac_expr_ref, &x);
}

static void ac_reviewers(ac_t *c, size_t fi, const char *path,
                         const char *policy, const sk_raw_reviewers_t *rr,
                         sk_reviewers_t *rv)
{
    const sk_person_t **users = ac_calloc(c, rr->users_count, sizeof(*users));
    char where[128];

    snprintf(where, sizeof(where), "in reviewers of policy '%s'", policy);
    for (unsigned k = 0; users && k < rr->users_count; k++) {
        const sk_person_t *p = sk_strmap_get(&c->a->people, rr->users[k]);
        if (p)
            users[rv->n_users++] = p;
        else if (c->check_refs)
            ac_unknown(c, fi, ac_pos(c, fi, "%s.reviewers.users[%u]", path, k),
                       "person", rr->users[k], where, &c->a->people);
    }
    rv->users = users;
    if (rr->group) {
        rv->group = sk_strmap_get(&c->a->groups, rr->group);
        if (!rv->group && c->check_refs)
            ac_unknown(c, fi, ac_pos(c, fi, "%s.reviewers.group", path),
                       "group", rr->group, where, &c->a->groups);
    }
    if (rr->on_call) {
        rv->on_call = sk_rules_rotation(c->rules, rr->on_call);
        if (!rv->on_call && c->check_refs)
            ac_error(c, fi, ac_pos(c, fi, "%s.reviewers.on_call", path),
                     "unknown rotation '%s' %s", rr->on_call, where);
    }
    rv->manager = rr->manager && *rr->manager;
    rv->app_owner = rr->app_owner && *rr->app_owner;
    rv->allow_self_approval = rr->allow_self_approval && *rr->allow_self_approval;
    rv->approvals = rr->approvals ? *rr->approvals : 1;
    if (rv->approvals < 1)
        ac_error(c, fi, ac_pos(c, fi, "%s.reviewers.approvals", path),
                 "approvals must be at least 1 (got %d) in policy '%s'",
                 rv->approvals, policy);
    if (rr->users_count == 0 && !rr->group && !rv->manager &&
        !rv->app_owner && !rr->on_call)
        ac_error(c, fi, ac_pos(c, fi, "%s.reviewers", path),
                 "reviewers of policy '%s' name nobody: set users, group, "
                 "manager, app_owner or on_call",
                 policy);
}

static void ac_step(ac_t *c, size_t fi, const char *path, const char *policy,
                    const sk_raw_step_t *rs, sk_policy_step_t *st)
{
    int kinds = !!rs->auto_approve + !!rs->condition + !!rs->reviewers;

    st->condition_text = "";
    if (kinds != 1) {
        ac_error(c, fi, ac_pos(c, fi, "%s", path),
                 "a step of policy '%s' must have exactly one of "
                 "auto_approve, condition, reviewers (found %s)",
                 policy, kinds == 0 ? "none" : "several");
        return;
    }
    if (rs->auto_approve) {
        st->kind = SK_STEP_AUTO_APPROVE;
        if (!*rs->auto_approve)
            ac_error(c, fi, ac_pos(c, fi, "%s.auto_approve", path),
                     "auto_approve must be true in policy '%s' (remove the "
                     "step instead)",
                     policy);
    } else if (rs->condition) {
        ac_condition(c, fi, path, policy, rs->condition, st);
    } else {
        st->kind = SK_STEP_REVIEWERS;
        ac_reviewers(c, fi, path, policy, rs->reviewers, &st->reviewers);
    }
}

static void ac_policies(ac_t *c)
{
    sk_rules_access_t *a = c->a;

    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        for (unsigned i = 0; d && i < d->policies_count; i++) {
            const sk_raw_policy_t *rp = &d->policies[i];
            char path[32], spath[64];
            sk_policy_t *p;
            sk_policy_step_t *steps;
            snprintf(path, sizeof(path), "policies[%u]", i);
            if (!ac_define(c, fi, "policy", rp->id, path))
                continue;
            p = &a->policy[a->n_policy++];
            p->id = ac_str(c, rp->id);
            p->name = ac_str(c, rp->name);
            ac_put(c, &a->policies, p->id, p);
            if (rp->steps_count == 0)
                ac_error(c, fi, ac_pos(c, fi, "%s.id", path),
                         "policy '%s' has no steps", rp->id);
            steps = ac_calloc(c, rp->steps_count, sizeof(*steps));
            for (unsigned k = 0; steps && k < rp->steps_count; k++) {
                snprintf(spath, sizeof(spath), "%s.steps[%u]", path, k);
                ac_step(c, fi, spath, p->id, &rp->steps[k], &steps[k]);
            }
            p->steps = steps;
            p->n_steps = steps ? rp->steps_count : 0;
        }
    }
}

/* ---- request blocks ----------------------------------------------------- */

/* Resolves a policy reference; NULL (after an error) when unknown. */
static const sk_policy_t *ac_policy_ref(ac_t *c, size_t fi, const char *path,
                                        const char *field, const char *ref,
                                        const char *owner)
{
    const sk_policy_t *p = sk_strmap_get(&c->a->policies, ref);
    char where[160];

    if (!p && c->check_refs) {
        snprintf(where, sizeof(where), "as %s of %s", field, owner);
        ac_unknown(c, fi, ac_pos(c, fi, "%s.request.%s", path, field),
                   "policy", ref, where, &c->a->policies);
    }
    return p;
}

static void ac_requestable(ac_t *c, size_t fi, const char *path,
                           const sk_raw_request_t *rq, const char *owner,
                           sk_request_settings_t *s)
{
    sk_requester_rule_t *rules =
        ac_calloc(c, rq->requestable_by_count, sizeof(*rules));
    char where[160];

    snprintf(where, sizeof(where), "in requestable_by of %s", owner);
    for (unsigned k = 0; rules && k < rq->requestable_by_count; k++) {
        const char *v = rq->requestable_by[k];
        sk_pos_t at = ac_pos(c, fi, "%s.request.requestable_by[%u]", path, k);
        sk_requester_rule_t *r = &rules[s->n_requestable_by];
        if (strcmp(v, "everyone") == 0) {
            r->kind = SK_REQUESTER_EVERYONE;
        } else if (strncmp(v, "rotation:", 9) == 0) {
            r->kind = SK_REQUESTER_ROTATION;
            r->rotation = sk_rules_rotation(c->rules, v + 9);
            if (!r->rotation) {
                if (c->check_refs)
                    ac_error(c, fi, at, "unknown rotation '%s' %s", v + 9,
                             where);
                continue;
            }
        } else if (strncmp(v, "group:", 6) == 0) {
            r->kind = SK_REQUESTER_GROUP;
            r->group = sk_strmap_get(&c->a->groups, v + 6);
            if (!r->group) {
                if (c->check_refs)
                    ac_unknown(c, fi, at, "group", v + 6, where,
                               &c->a->groups);
                continue;
            }
        } else {
            ac_error(c, fi, at,
                     "bad requestable_by '%s' of %s: use rotation:<id>, "
                     "group:<id> or everyone",
                     v, owner);
            continue;
        }
        s->n_requestable_by++;
    }
    s->requestable_by = rules;
}

static void ac_provisioners(ac_t *c, size_t fi, const char *path,
                            const sk_raw_request_t *rq, const char *owner,
                            sk_request_settings_t *s)
{
    sk_principal_t *pr = ac_calloc(c, rq->provisioners_count, sizeof(*pr));
    char where[160];

    snprintf(where, sizeof(where), "in provisioners of %s", owner);
    for (unsigned k = 0; pr && k < rq->provisioners_count; k++) {
        const char *v = rq->provisioners[k];
        sk_principal_t *p = &pr[s->n_provisioners];
        p->person = sk_strmap_get(&c->a->people, v);
        p->group = p->person ? NULL : sk_strmap_get(&c->a->groups, v);
        if (p->person || p->group) {
            s->n_provisioners++;
            continue;
        }
        if (c->check_refs) {
            const char *hint = sk_rules_suggest_map(&c->a->people, v);
            if (!hint)
                hint = sk_rules_suggest_map(&c->a->groups, v);
            ac_error(c, fi,
                     ac_pos(c, fi, "%s.request.provisioners[%u]", path, k),
                     "unknown person or group '%s' %s%s%s%s", v, where,
                     hint ? " (did you mean '" : "", hint ? hint : "",
                     hint ? "'?)" : "");
        }
    }
    s->provisioners = pr;
}

/*
 * Compiles the request block at "<path>.request" of `owner` ("entitlement
 * 'demo/console'" or "profile 'x'"); declared_in names it for traces.
 */
static sk_request_settings_t *ac_request(ac_t *c, size_t fi, const char *path,
                                         const sk_raw_request_t *rq,
                                         const char *owner,
                                         const char *declared_in)
{
    sk_request_settings_t *s = ac_calloc(c, 1, sizeof(*s));

    if (!s)
        return NULL;
    c->a->request_blocks++;
    s->declared_in = ac_str(c, declared_in);
    s->self_service = rq->self_service && *rq->self_service;
    ac_requestable(c, fi, path, rq, owner, s);
    if (!rq->policy)
        ac_error(c, fi, ac_pos(c, fi, "%s.request", path),
                 "missing required field 'policy' in request of %s", owner);
    else
        s->policy = ac_policy_ref(c, fi, path, "policy", rq->policy, owner);
    if (rq->emergency_policy)
        s->emergency_policy = ac_policy_ref(c, fi, path, "emergency_policy",
                                            rq->emergency_policy, owner);
    if (rq->revocation_policy)
        s->revocation_policy = ac_policy_ref(c, fi, path, "revocation_policy",
                                             rq->revocation_policy, owner);
    s->provisioning = SK_PROVISIONING_AUTOMATIC;
    if (rq->provisioning && strcmp(rq->provisioning, "manual") == 0)
        s->provisioning = SK_PROVISIONING_MANUAL;
    else if (rq->provisioning && strcmp(rq->provisioning, "automatic") != 0)
        ac_error(c, fi, ac_pos(c, fi, "%s.request.provisioning", path),
                 "bad provisioning '%s' of %s: expected automatic or manual",
                 rq->provisioning, owner);
    ac_provisioners(c, fi, path, rq, owner, s);
    if (s->provisioning == SK_PROVISIONING_MANUAL &&
        rq->provisioners_count == 0)
        ac_error(c, fi, ac_pos(c, fi, "%s.request.provisioning", path),
                 "provisioning of %s is manual but no provisioners are "
                 "named",
                 owner);
    return s;
}

/* Request blocks of entitlements, then of profiles, then the fallback of
 * entitlements without a block of their own to their first profile's. */
static void ac_requests(ac_t *c)
{
    sk_rules_access_t *a = c->a;
    char path[64], owner[192], in[192];

    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        for (unsigned i = 0; d && i < d->apps_count; i++) {
            const sk_raw_app_t *ra = &d->apps[i];
            for (unsigned k = 0; k < ra->entitlements_count; k++) {
                const sk_raw_ent_t *re = &ra->entitlements[k];
                const sk_entitlement_t *e;
                sk_request_settings_t *s;
                if (!re->request || !ra->id || !re->id)
                    continue;
                snprintf(path, sizeof(path), "apps[%u].entitlements[%u]", i,
                         k);
                snprintf(owner, sizeof(owner), "entitlement '%s/%s'", ra->id,
                         re->id);
                snprintf(in, sizeof(in), "entitlement:%s/%s", ra->id, re->id);
                s = ac_request(c, fi, path, re->request, owner, in);
                e = sk_rules_entitlement(c->rules, in + 12);
                if (s && e && !sk_strmap_get(&a->ent_req, e->key))
                    ac_put(c, &a->ent_req, e->key, s);
            }
        }
        for (unsigned i = 0; d && i < d->profiles_count; i++) {
            const sk_raw_profile_t *rp = &d->profiles[i];
            sk_request_settings_t *s;
            const char *id;
            if (!rp->request || !rp->id)
                continue;
            snprintf(path, sizeof(path), "profiles[%u]", i);
            snprintf(owner, sizeof(owner), "profile '%s'", rp->id);
            snprintf(in, sizeof(in), "profile:%s", rp->id);
            s = ac_request(c, fi, path, rp->request, owner, in);
            if (!s || sk_strmap_get(&a->prof_req, rp->id))
                continue;
            id = ac_str(c, rp->id);
            ac_put(c, &a->prof_req, id, s);
        }
    }
    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        for (unsigned i = 0; d && i < d->profiles_count; i++) {
            const sk_raw_profile_t *rp = &d->profiles[i];
            sk_request_settings_t *s =
                rp->id ? sk_strmap_get(&a->prof_req, rp->id) : NULL;
            for (unsigned k = 0; s && k < rp->entitlements_count; k++) {
                const sk_entitlement_t *e =
                    sk_rules_entitlement(c->rules, rp->entitlements[k]);
                if (e && !sk_strmap_get(&a->ent_req, e->key))
                    ac_put(c, &a->ent_req, e->key, s);
            }
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
    sk_arena_init(&c.tmp, 4096);
    sk_strmap_init(&c.origin);
    if (ac_alloc(&c) == 0) {
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
    }
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

const sk_policy_t *sk_rules_policy(const sk_rules_t *rules, const char *id)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && id ? sk_strmap_get(&a->policies, id) : NULL;
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

const sk_request_settings_t *sk_rules_request_settings(const sk_rules_t *rules,
                                                       const char *key)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && key ? sk_strmap_get(&a->ent_req, key) : NULL;
}

const sk_request_settings_t *
sk_rules_profile_request_settings(const sk_rules_t *rules, const char *id)
{
    const sk_rules_access_t *a = sk_rules_access_of(rules);
    return a && id ? sk_strmap_get(&a->prof_req, id) : NULL;
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
