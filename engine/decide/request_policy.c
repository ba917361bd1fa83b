/*
 * request_policy.c — running a request's frozen policy (decide_request.h,
 * docs/requests-design.md "The decision"): conditions evaluated on the
 * subject's state, reviewers resolved from the directory and the
 * pre-resolved on-call lists, and what happens when every step passed —
 * the grant sources (one per entitlement of a profile, each capped), a
 * PROVISIONING task for hand-provisioned entitlements, or, for a
 * revocation proposal, the removal of every source of the entitlement.
 * Pure; below it only request_ctx.c and the common files.
 */
#include "decide/request_policy.h"

#include <string.h>

#include "decide/followups.h"
#include "rules/expr.h"

static int cb_on_call(void *user, const char *rotation_id)
{
    return sk_rq_on_call(user, rotation_id);
}

static int cb_in_group(void *user, const char *group_id)
{
    const sk_rq_ctx_t *c = user;
    const sk_group_t *g = sk_rules_group(c->rules, group_id);
    return c->requester && g && sk_rules_in_group(c->requester, g);
}

/* ---- reviewers and provisioners ---- */

static void add_id(const char **ids, size_t *n, const char *id, const char *requester, bool self_ok)
{
    if (!self_ok && strcmp(id, requester) == 0)
        return;
    if (!sk_decide_has_id(ids, *n, id))
        ids[(*n)++] = id;
}

static void add_group(const char **ids, size_t *n, const sk_group_t *g, const char *requester,
                      bool self_ok)
{
    for (size_t i = 0; g && i < g->n_members; i++)
        add_id(ids, n, g->members[i]->id, requester, self_ok);
}

/* The app of the entitlement a step is about (NULL for profiles). */
static const sk_app_t *target_app(sk_rq_ctx_t *c)
{
    const sk_entitlement_t *ent = c->rq->target_kind == SK_TARGET_ENTITLEMENT
                                      ? sk_rules_entitlement(c->rules, c->rq->target)
                                      : NULL;
    return ent ? sk_rules_app(c->rules, ent->app) : NULL;
}

int sk_rq_reviewers(sk_rq_ctx_t *c, const sk_reviewers_t *rv, const char ***out, size_t *n_out)
{
    const char *me = c->old->user;
    bool self = rv->allow_self_approval != 0;
    const sk_oncall_list_t *oc = NULL;
    const sk_app_t *app = target_app(c);
    size_t cap = rv->n_users + 2, n = 0;
    if (rv->group)
        cap += rv->group->n_members;
    if (rv->app_owner && app && app->owner_group)
        cap += app->owner_group->n_members;
    for (size_t i = 0; rv->on_call && i < c->in->n_oncall; i++)
        if (strcmp(c->in->oncall[i].rotation, rv->on_call->id) == 0)
            oc = &c->in->oncall[i];
    cap += oc ? oc->n_users : 0;
    const char **ids = sk_arena_calloc(c->arena, cap + 1, sizeof(*ids));
    if (!ids)
        return SK_ENOMEM;
    for (size_t i = 0; i < rv->n_users; i++)
        add_id(ids, &n, rv->users[i]->id, me, self);
    add_group(ids, &n, rv->group, me, self);
    if (rv->manager && c->requester && c->requester->manager)
        add_id(ids, &n, c->requester->manager->id, me, self);
    if (rv->app_owner && app && app->owner_person)
        add_id(ids, &n, app->owner_person->id, me, self);
    if (rv->app_owner && app)
        add_group(ids, &n, app->owner_group, me, self);
    for (size_t i = 0; oc && i < oc->n_users; i++)
        add_id(ids, &n, oc->users[i], me, self);
    *out = ids;
    *n_out = n;
    return 0;
}

/* ---- every step passed: grant, provision by hand, or revoke ---- */

int sk_rq_push_source(sk_rq_ctx_t *c, const sk_grant_source_t *s)
{
    for (size_t i = 0; i < c->n_sources; i++) {
        sk_grant_source_t *o = &c->sources[i];
        if (o->kind == s->kind && strcmp(o->ent_key, s->ent_key) == 0 &&
            strcmp(o->id, s->id) == 0) {
            *o = *s;
            return 0;
        }
    }
    if (c->n_sources == c->cap_sources) {
        size_t cap = 2 * c->cap_sources + 4;
        sk_grant_source_t *grown = sk_arena_calloc(c->arena, cap, sizeof(*grown));
        if (!grown)
            return SK_ENOMEM;
        if (c->n_sources)
            memcpy(grown, c->sources, c->n_sources * sizeof(*grown));
        c->sources = grown;
        c->cap_sources = cap;
    }
    c->sources[c->n_sources++] = *s;
    return 0;
}

/* The tasks-topic record of an emergency grant (issue 13: every
 * break-glass grant is heard of, auto-approved ones included): kind
 * EMERGENCY_GRANT, CLOSED / APPROVED at once, no assignees; until = the
 * latest expiry; the justification of the event that granted it when it
 * carries one (CREATED, ESCALATED: the state never keeps free text). */
static int emergency_record(sk_rq_ctx_t *c, sk_ms_t until)
{
    const sk_request_state_t *rq = c->rq;
    const sk_request_event_t *ev = c->ev;
    bool said =
        ev && (ev->type == SK_REQ_CREATED || ev->type == SK_REQ_ESCALATED) && ev->justification;
    sk_task_t t = {.task_id = sk_rq_task_id(c, rq, 0, "emergency-grant"),
                   .kind = SK_TASK_EMERGENCY_GRANT,
                   .state = SK_TASK_CLOSED,
                   .outcome = SK_TASK_APPROVED,
                   .request_id = rq->id,
                   .subject = c->old->user,
                   .target = rq->target,
                   .step = 0,
                   .emergency = true,
                   .reason = c->reason,
                   .at_ms = c->in->now_ms,
                   .justification = said ? ev->justification : "",
                   .expires_ms = until};
    return sk_rq_task_raw(c, &t);
}

int sk_rq_grant_now(sk_rq_ctx_t *c)
{
    sk_request_state_t *rq = c->rq;
    const sk_entitlement_t *one = NULL;
    const sk_entitlement_t *const *ents = NULL;
    const sk_profile_t *prof = NULL;
    size_t n = 0;
    sk_ms_t longest = 0;
    if (rq->target_kind == SK_TARGET_PROFILE && (prof = sk_rules_profile(c->rules, rq->target))) {
        ents = prof->entitlements;
        n = prof->n_entitlements;
    } else if (rq->target_kind == SK_TARGET_ENTITLEMENT &&
               (one = sk_rules_entitlement(c->rules, rq->target))) {
        ents = &one;
        n = 1;
    }
    if (n == 0)
        return sk_rq_close_request(
            c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
            sk_arena_sprintf(c->arena, "%s '%s' is no longer in the rules",
                             rq->target_kind == SK_TARGET_PROFILE ? "profile" : "entitlement",
                             rq->target));
    for (size_t i = 0; i < n; i++) {
        sk_ms_t dur = sk_decide_ms_min(rq->duration_ms, ents[i]->max_duration_ms);
        sk_grant_source_t s = {.ent_key = ents[i]->key,
                               .kind = rq->emergency ? SK_SOURCE_EMERGENCY : SK_SOURCE_REQUEST,
                               .id = rq->id,
                               .rotation = "",
                               .expires_ms = sk_decide_ms_add(c->in->now_ms, dur)};
        if (sk_rq_push_source(c, &s))
            return SK_ENOMEM;
        longest = dur > longest ? dur : longest;
        if (dur < rq->duration_ms)
            sk_rq_trace(c,
                        sk_arena_sprintf(c->arena, "duration %s capped to the maximum %s of '%s'",
                                         sk_decide_fmt_dur(c->arena, rq->duration_ms),
                                         sk_decide_fmt_dur(c->arena, dur), ents[i]->key));
    }
    rq->status = SK_REQUEST_APPROVED;
    rq->assignees = NULL;
    rq->n_assignees = 0;
    c->changed = true;
    c->word = "granted";
    if (prof)
        c->reason =
            sk_arena_sprintf(c->arena,
                             "request '%s' approved (policy '%s'): %zu "
                             "entitlement(s) of profile '%s' for up to %s",
                             rq->id, rq->policy, n, prof->id, sk_decide_fmt_dur(c->arena, longest));
    else
        c->reason = sk_arena_sprintf(c->arena, "request '%s' approved (policy '%s') for %s", rq->id,
                                     rq->policy, sk_decide_fmt_dur(c->arena, longest));
    sk_rq_trace(c, c->reason);
    return rq->emergency ? emergency_record(c, sk_decide_ms_add(c->in->now_ms, longest)) : 0;
}

/* Approved, but provisioned by hand: a PROVISIONING task for the
 * provisioners; the grant source waits for their PROVISIONED result. */
static int start_provisioning(sk_rq_ctx_t *c, const sk_request_settings_t *set)
{
    sk_request_state_t *rq = c->rq;
    size_t n = 0;
    const char **ids = sk_decide_provisioners(c->arena, set, &n);
    if (!ids)
        return SK_ENOMEM;
    if (n == 0)
        return sk_rq_close_request(c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
                                   sk_arena_sprintf(c->arena,
                                                    "denied: nobody can provision '%s' "
                                                    "(%s names no person)",
                                                    rq->target, set->declared_in));
    rq->status = SK_REQUEST_PROVISIONING;
    rq->assignees = ids;
    rq->n_assignees = n;
    rq->approvers = NULL;
    rq->n_approvers = 0;
    c->changed = true;
    c->word = "provisioning";
    c->reason = sk_arena_sprintf(c->arena,
                                 "request '%s' approved (policy '%s'); '%s' is "
                                 "provisioned by hand: waiting for a provisioner (%s)",
                                 rq->id, rq->policy, rq->target, ids[0]);
    sk_rq_trace(c, c->reason);
    return sk_rq_task(c, SK_TASK_PROVISIONING, SK_TASK_CREATED, SK_TASK_OUTCOME_NONE, c->reason);
}

/* A confirmed revocation: every source of the entitlement goes. */
static int revoke_now(sk_rq_ctx_t *c)
{
    sk_request_state_t *rq = c->rq;
    size_t k = 0, gone = 0;
    for (size_t i = 0; i < c->n_sources; i++) {
        if (strcmp(c->sources[i].ent_key, rq->target) == 0) {
            gone++;
            continue;
        }
        c->sources[k++] = c->sources[i];
    }
    c->n_sources = k;
    rq->status = SK_REQUEST_APPROVED;
    rq->assignees = NULL;
    rq->n_assignees = 0;
    c->changed = true;
    c->word = "confirmed";
    c->reason = gone ? sk_arena_sprintf(c->arena,
                                        "revocation '%s' confirmed (policy '%s'): '%s' "
                                        "is taken from '%s' (%zu source(s) removed)",
                                        rq->id, rq->policy, rq->target, c->old->user, gone)
                     : sk_arena_sprintf(c->arena,
                                        "revocation '%s' confirmed (policy '%s'): '%s' "
                                        "was no longer held",
                                        rq->id, rq->policy, rq->target);
    sk_rq_trace(c, c->reason);
    return 0;
}

static int all_steps_passed(sk_rq_ctx_t *c)
{
    sk_request_state_t *rq = c->rq;
    if (rq->kind == SK_REQUEST_KIND_REVOCATION)
        return revoke_now(c);
    const sk_request_settings_t *set = sk_rq_settings(c, rq);
    if (set && set->provisioning == SK_PROVISIONING_MANUAL) {
        if (rq->target_kind == SK_TARGET_PROFILE)
            return sk_rq_close_request(c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
                                       sk_arena_sprintf(c->arena,
                                                        "profile '%s' is provisioned by "
                                                        "hand: a whole profile cannot be "
                                                        "requested, request its "
                                                        "entitlements one by one",
                                                        rq->target));
        return start_provisioning(c, set);
    }
    return sk_rq_grant_now(c);
}

/* ---- running the policy ---- */

/* Waits at reviewers step st of c->rq (assignees resolved). */
static int wait_at(sk_rq_ctx_t *c, const sk_policy_step_t *st, bool rerun, bool reassigned)
{
    sk_request_state_t *rq = c->rq;
    c->word = "pending";
    c->reason = sk_arena_sprintf(c->arena, "waiting for %d approval(s) at step %d of policy '%s'",
                                 st->reviewers.approvals, rq->step + 1, rq->policy);
    sk_rq_trace(c, c->reason);
    sk_task_state_t ts = !rerun ? SK_TASK_CREATED : reassigned ? SK_TASK_ASSIGNED : SK_TASK_UPDATED;
    return sk_rq_task(c, sk_rq_task_kind(rq), ts, SK_TASK_OUTCOME_NONE, c->reason);
}

/* 1 when both lists hold the same ids (in any order). */
static bool same_ids(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!sk_decide_has_id(b, nb, a[i]))
            return false;
    return true;
}

/* A reviewers step: resolve, then wait — or, for the step PROCESS_NOW
 * re-runs, keep its approvals and pass when they already suffice.
 * Sets *passed. */
static int reviewers_step(sk_rq_ctx_t *c, const sk_policy_step_t *st, bool *passed)
{
    sk_request_state_t *rq = c->rq;
    const char **ids;
    size_t n;
    bool rerun = c->rerun_step == rq->step;
    const char *const *was = (const char *const *)rq->assignees;
    size_t n_was = rq->n_assignees;
    *passed = false;
    if (sk_rq_reviewers(c, &st->reviewers, &ids, &n))
        return SK_ENOMEM;
    rq->assignees = ids;
    rq->n_assignees = n;
    rq->approvers = NULL;
    rq->n_approvers = 0;
    if (rerun) {
        c->rerun_step = -1;
        rq->approvers = c->kept_approvers;
        rq->n_approvers = c->n_kept;
        if ((int)rq->n_approvers >= st->reviewers.approvals) {
            *passed = true;
            return sk_rq_task(c, sk_rq_task_kind(rq), SK_TASK_CLOSED,
                              rq->kind == SK_REQUEST_KIND_REVOCATION ? SK_TASK_CONFIRMED
                                                                     : SK_TASK_APPROVED,
                              sk_arena_sprintf(c->arena, "step %d already has %zu approval(s)",
                                               rq->step + 1, rq->n_approvers));
        }
    }
    if (n == 0)
        return sk_rq_close_request(c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
                                   sk_arena_sprintf(c->arena,
                                                    "denied: nobody can review step %d of "
                                                    "policy '%s'",
                                                    rq->step + 1, rq->policy));
    return wait_at(c, st, rerun, rerun && !same_ids(was, n_was, ids, n));
}

int sk_rq_run_steps(sk_rq_ctx_t *c)
{
    sk_request_state_t *rq = c->rq;
    const sk_policy_t *pol = sk_rules_policy(c->rules, rq->policy);
    c->changed = true;
    if (!pol)
        return sk_rq_close_request(
            c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
            sk_arena_sprintf(c->arena, "policy '%s' is no longer in the rules", rq->policy));
    for (; rq->step < (int)pol->n_steps; rq->step++) {
        const sk_policy_step_t *st = &pol->steps[rq->step];
        if (st->kind == SK_STEP_AUTO_APPROVE) {
            sk_rq_trace(c, sk_arena_sprintf(c->arena, "policy '%s' step %d: auto_approve", pol->id,
                                            rq->step + 1));
        } else if (st->kind == SK_STEP_CONDITION) {
            sk_expr_ctx_t x = {.user = c,
                               .on_call = cb_on_call,
                               .in_group = cb_in_group,
                               .duration_ms = rq->duration_ms,
                               .emergency = rq->emergency};
            int v = sk_expr_eval(st->condition, &x);
            sk_rq_trace(c, sk_arena_sprintf(c->arena, "policy '%s' step %d: condition '%s' is %s",
                                            pol->id, rq->step + 1, st->condition_text,
                                            v ? "true" : "false"));
            if (!v)
                return sk_rq_close_request(c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
                                           sk_arena_sprintf(c->arena,
                                                            "denied: condition '%s' of policy '%s' "
                                                            "step %d is false",
                                                            st->condition_text, pol->id,
                                                            rq->step + 1));
        } else {
            bool passed;
            int rc = reviewers_step(c, st, &passed);
            if (rc || !passed)
                return rc;
        }
    }
    rq->approvers = NULL;
    rq->n_approvers = 0;
    return all_steps_passed(c);
}
