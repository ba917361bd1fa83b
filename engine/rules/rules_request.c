/*
 * rules_request.c — the access-request half of the rule language (rules.h,
 * rules/README.md), part two: request policies (`policies`, with condition
 * expressions compiled by expr.c) and the `request:` blocks of entitlements
 * and profiles, with the precedence between them (an entitlement's own block,
 * else the block of its first profile that has one) and their lookups.
 *
 * Run by sk_rules_access_compile() (rules_access.c) after the directory and
 * app owners; uses its helpers and state (rules_access.h). Every error names
 * file:line:column; compiled expressions are owned by the access part.
 */
#include "rules/rules_access.h"

#include <stdio.h>
#include <string.h>

/* ---- policies ----------------------------------------------------------- */

/* Context of sk_expr_refs() while checking one condition. */
typedef struct ac_expr_refs {
    ac_t *c;
    size_t fi;
    sk_pos_t at; /* position of the first character of the expression */
    const char *policy;
} ac_expr_refs_t;

static void ac_expr_ref(void *user, sk_expr_ref_kind_t kind, const char *name, size_t offset)
{
    ac_expr_refs_t *x = user;
    sk_pos_t at = {x->at.line, x->at.col + (int)offset};
    char where[128];

    snprintf(where, sizeof(where), "in condition of policy '%s'", x->policy);
    if (kind == SK_EXPR_REF_ROTATION && !sk_rules_rotation(x->c->rules, name)) {
        /* rotation ids are in the rule set's own map: suggest from rotations */
        const char *best = NULL;
        for (size_t i = 0; i < sk_rules_rotation_count(x->c->rules); i++) {
            const char *id = sk_rules_rotation_at(x->c->rules, i)->id;
            if (sk_rules_edit_distance(name, id) <= 2 &&
                (!best || sk_rules_edit_distance(name, id) < sk_rules_edit_distance(name, best)))
                best = id;
        }
        if (best)
            sk_ac_error(x->c, x->fi, at, "unknown rotation '%s' %s (did you mean '%s'?)", name,
                        where, best);
        else
            sk_ac_error(x->c, x->fi, at, "unknown rotation '%s' %s", name, where);
    } else if (kind == SK_EXPR_REF_GROUP && !sk_strmap_get(&x->c->a->groups, name)) {
        sk_ac_unknown(x->c, x->fi, at, "group", name, where, &x->c->a->groups);
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

static void ac_condition(ac_t *c, size_t fi, const char *path, const char *policy, const char *text,
                         sk_policy_step_t *st)
{
    sk_expr_error_t err;
    sk_pos_t at = ac_text_start(c, fi, sk_ac_pos(c, fi, "%s.condition", path));
    sk_expr_t *e = sk_expr_compile(text, &err);
    ac_expr_refs_t x = {c, fi, at, policy};

    st->kind = SK_STEP_CONDITION;
    st->condition_text = sk_ac_str(c, text);
    if (!e) {
        sk_ac_error(c, fi, (sk_pos_t){at.line, at.col + (int)err.offset},
                    "bad condition in policy '%s': %s", policy, err.message);
        return;
    }
    c->a->exprs[c->a->n_exprs++] = e; /* now owned by the access part */
    st->condition = e;
    if (c->check_refs)
        sk_expr_refs(e, ac_expr_ref, &x);
}

void sk_ac_reviewers(ac_t *c, size_t fi, const char *path, const char *owner,
                     const sk_raw_reviewers_t *rr, sk_reviewers_t *rv)
{
    const sk_person_t **users = sk_ac_calloc(c, rr->users_count, sizeof(*users));
    char where[160];

    snprintf(where, sizeof(where), "in reviewers of %s", owner);
    for (unsigned k = 0; users && k < rr->users_count; k++) {
        const sk_person_t *p = sk_strmap_get(&c->a->people, rr->users[k]);
        if (p)
            users[rv->n_users++] = p;
        else if (c->check_refs)
            sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "%s.reviewers.users[%u]", path, k), "person",
                          rr->users[k], where, &c->a->people);
    }
    rv->users = users;
    if (rr->group) {
        rv->group = sk_strmap_get(&c->a->groups, rr->group);
        if (!rv->group && c->check_refs)
            sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "%s.reviewers.group", path), "group", rr->group,
                          where, &c->a->groups);
    }
    if (rr->on_call) {
        rv->on_call = sk_rules_rotation(c->rules, rr->on_call);
        if (!rv->on_call && c->check_refs)
            sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "%s.reviewers.on_call", path), "rotation",
                          rr->on_call, where, &c->rot_ids);
    }
    rv->manager = rr->manager && *rr->manager;
    rv->app_owner = rr->app_owner && *rr->app_owner;
    rv->allow_self_approval = rr->allow_self_approval && *rr->allow_self_approval;
    rv->approvals = rr->approvals ? *rr->approvals : 1;
    if (rv->approvals < 1)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.reviewers.approvals", path),
                    "approvals must be at least 1 (got %d) in %s", rv->approvals, owner);
    if (rr->users_count == 0 && !rr->group && !rv->manager && !rv->app_owner && !rr->on_call)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.reviewers", path),
                    "reviewers of %s name nobody: set users, group, "
                    "manager, app_owner or on_call",
                    owner);
}

static void ac_step(ac_t *c, size_t fi, const char *path, const char *policy,
                    const sk_raw_step_t *rs, sk_policy_step_t *st)
{
    int kinds = !!rs->auto_approve + !!rs->condition + !!rs->reviewers;

    st->condition_text = "";
    if (kinds != 1) {
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s", path),
                    "a step of policy '%s' must have exactly one of "
                    "auto_approve, condition, reviewers (found %s)",
                    policy, kinds == 0 ? "none" : "several");
        return;
    }
    if (rs->auto_approve) {
        st->kind = SK_STEP_AUTO_APPROVE;
        if (!*rs->auto_approve)
            sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.auto_approve", path),
                        "auto_approve must be true in policy '%s' (remove the "
                        "step instead)",
                        policy);
    } else if (rs->condition) {
        ac_condition(c, fi, path, policy, rs->condition, st);
    } else {
        const char *owner = sk_arena_sprintf(&c->tmp, "policy '%s'", policy);
        st->kind = SK_STEP_REVIEWERS;
        if (!owner)
            c->oom = 1;
        else
            sk_ac_reviewers(c, fi, path, owner, rs->reviewers, &st->reviewers);
    }
}

void sk_ac_policies(ac_t *c)
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
            if (!sk_ac_define(c, fi, "policy", rp->id, path))
                continue;
            p = &a->policy[a->n_policy++];
            p->id = sk_ac_str(c, rp->id);
            p->name = sk_ac_str(c, rp->name);
            sk_ac_put(c, &a->policies, p->id, p);
            if (rp->steps_count == 0)
                sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.id", path), "policy '%s' has no steps",
                            rp->id);
            steps = sk_ac_calloc(c, rp->steps_count, sizeof(*steps));
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
static const sk_policy_t *ac_policy_ref(ac_t *c, size_t fi, const char *path, const char *field,
                                        const char *ref, const char *owner)
{
    const sk_policy_t *p = sk_strmap_get(&c->a->policies, ref);
    char where[160];

    if (!p && c->check_refs) {
        snprintf(where, sizeof(where), "as %s of %s", field, owner);
        sk_ac_unknown(c, fi, sk_ac_pos(c, fi, "%s.request.%s", path, field), "policy", ref, where,
                      &c->a->policies);
    }
    return p;
}

static void ac_requestable(ac_t *c, size_t fi, const char *path, const sk_raw_request_t *rq,
                           const char *owner, sk_request_settings_t *s)
{
    sk_requester_rule_t *rules = sk_ac_calloc(c, rq->requestable_by_count, sizeof(*rules));
    char where[160];

    snprintf(where, sizeof(where), "in requestable_by of %s", owner);
    for (unsigned k = 0; rules && k < rq->requestable_by_count; k++) {
        const char *v = rq->requestable_by[k];
        sk_pos_t at = sk_ac_pos(c, fi, "%s.request.requestable_by[%u]", path, k);
        sk_requester_rule_t *r = &rules[s->n_requestable_by];
        if (strcmp(v, "everyone") == 0) {
            r->kind = SK_REQUESTER_EVERYONE;
        } else if (strncmp(v, "rotation:", 9) == 0) {
            r->kind = SK_REQUESTER_ROTATION;
            r->rotation = sk_rules_rotation(c->rules, v + 9);
            if (!r->rotation) {
                if (c->check_refs)
                    sk_ac_unknown(c, fi, at, "rotation", v + 9, where, &c->rot_ids);
                continue;
            }
        } else if (strncmp(v, "group:", 6) == 0) {
            r->kind = SK_REQUESTER_GROUP;
            r->group = sk_strmap_get(&c->a->groups, v + 6);
            if (!r->group) {
                if (c->check_refs)
                    sk_ac_unknown(c, fi, at, "group", v + 6, where, &c->a->groups);
                continue;
            }
        } else {
            sk_ac_error(c, fi, at,
                        "bad requestable_by '%s' of %s: use rotation:<id>, "
                        "group:<id> or everyone",
                        v, owner);
            continue;
        }
        s->n_requestable_by++;
    }
    s->requestable_by = rules;
}

static void ac_provisioners(ac_t *c, size_t fi, const char *path, const sk_raw_request_t *rq,
                            const char *owner, sk_request_settings_t *s)
{
    sk_principal_t *pr = sk_ac_calloc(c, rq->provisioners_count, sizeof(*pr));
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
            sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.request.provisioners[%u]", path, k),
                        "unknown person or group '%s' %s%s%s%s", v, where,
                        hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        }
    }
    s->provisioners = pr;
}

/*
 * Compiles the request block at "<path>.request" of `owner` ("entitlement
 * 'demo/console'" or "profile 'x'"); declared_in names it for traces.
 */
static sk_request_settings_t *ac_request(ac_t *c, size_t fi, const char *path,
                                         const sk_raw_request_t *rq, const char *owner,
                                         const char *declared_in)
{
    sk_request_settings_t *s = sk_ac_calloc(c, 1, sizeof(*s));

    if (!s)
        return NULL;
    c->a->request_blocks++;
    s->declared_in = sk_ac_str(c, declared_in);
    s->self_service = rq->self_service && *rq->self_service;
    ac_requestable(c, fi, path, rq, owner, s);
    if (!rq->policy)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.request", path),
                    "missing required field 'policy' in request of %s", owner);
    else
        s->policy = ac_policy_ref(c, fi, path, "policy", rq->policy, owner);
    if (rq->emergency_policy)
        s->emergency_policy =
            ac_policy_ref(c, fi, path, "emergency_policy", rq->emergency_policy, owner);
    if (rq->revocation_policy)
        s->revocation_policy =
            ac_policy_ref(c, fi, path, "revocation_policy", rq->revocation_policy, owner);
    s->provisioning = SK_PROVISIONING_AUTOMATIC;
    if (rq->provisioning && strcmp(rq->provisioning, "manual") == 0)
        s->provisioning = SK_PROVISIONING_MANUAL;
    else if (rq->provisioning && strcmp(rq->provisioning, "automatic") != 0)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.request.provisioning", path),
                    "bad provisioning '%s' of %s: expected automatic or manual", rq->provisioning,
                    owner);
    ac_provisioners(c, fi, path, rq, owner, s);
    if (s->provisioning == SK_PROVISIONING_MANUAL && rq->provisioners_count == 0)
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s.request.provisioning", path),
                    "provisioning of %s is manual but no provisioners are "
                    "named",
                    owner);
    return s;
}

/* Records profile rp (the first of its id) with its known entitlements. */
static void ac_profile(ac_t *c, const sk_raw_profile_t *rp)
{
    sk_profile_t *p;
    const sk_entitlement_t **ents;

    if (!rp->id || sk_strmap_get(&c->a->profiles, rp->id))
        return;
    p = sk_ac_calloc(c, 1, sizeof(*p));
    ents = sk_ac_calloc(c, rp->entitlements_count, sizeof(*ents));
    if (!p || !ents)
        return;
    p->id = sk_ac_str(c, rp->id);
    for (unsigned k = 0; k < rp->entitlements_count; k++) {
        const sk_entitlement_t *e = sk_rules_entitlement(c->rules, rp->entitlements[k]);
        if (e)
            ents[p->n_entitlements++] = e;
    }
    p->entitlements = ents;
    sk_ac_put(c, &c->a->profiles, p->id, p);
}

/* Request blocks of entitlements, then of profiles, then the fallback of
 * entitlements without a block of their own to their first profile's. */
void sk_ac_requests(ac_t *c)
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
                snprintf(path, sizeof(path), "apps[%u].entitlements[%u]", i, k);
                snprintf(owner, sizeof(owner), "entitlement '%s/%s'", ra->id, re->id);
                snprintf(in, sizeof(in), "entitlement:%s/%s", ra->id, re->id);
                s = ac_request(c, fi, path, re->request, owner, in);
                e = sk_rules_entitlement(c->rules, in + 12);
                if (s && e && !sk_strmap_get(&a->ent_req, e->key))
                    sk_ac_put(c, &a->ent_req, e->key, s);
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
            id = sk_ac_str(c, rp->id);
            sk_ac_put(c, &a->prof_req, id, s);
        }
    }
    for (size_t fi = 0; fi < c->n_files; fi++) {
        const sk_raw_doc_t *d = c->files[fi].doc;
        for (unsigned i = 0; d && i < d->profiles_count; i++) {
            const sk_raw_profile_t *rp = &d->profiles[i];
            sk_request_settings_t *s = rp->id ? sk_strmap_get(&a->prof_req, rp->id) : NULL;
            ac_profile(c, rp);
            for (unsigned k = 0; s && k < rp->entitlements_count; k++) {
                const sk_entitlement_t *e = sk_rules_entitlement(c->rules, rp->entitlements[k]);
                if (e && !sk_strmap_get(&a->ent_req, e->key))
                    sk_ac_put(c, &a->ent_req, e->key, s);
            }
        }
    }
}
