/*
 * request.c — the decider of access requests, sk_decide_request (see
 * decide_request.h for the contract, docs/requests-design.md for the plan):
 * validation, the dispatch of each event type, and the events CREATED,
 * APPROVED / DENIED (and their revocation twins), CANCELLED,
 * DURATION_CHANGED and ESCALATED. The other actions are in
 * request_actions.c, the policy run in request_policy.c, the working
 * memory and the ending in request_ctx.c; provisioning results in result.c.
 */
#include "decide/decide_request.h"

#include <assert.h>
#include <string.h>

#include "decide/campaign_actions.h"
#include "decide/request_actions.h"
#include "decide/request_policy.h"

/* Sets *why to why the subject may not request under `set` now, or NULL
 * when they may. 0, or SK_ENOMEM when the reason cannot be made (never a
 * refusal, nor a pass, made of a failed allocation). */
static int not_requestable(sk_rq_ctx_t *c, const sk_request_settings_t *set, const char **why)
{
    const char *list = "";
    *why = NULL;
    for (size_t i = 0; i < set->n_requestable_by; i++) {
        const sk_requester_rule_t *r = &set->requestable_by[i];
        switch (r->kind) {
        case SK_REQUESTER_EVERYONE: return 0;
        case SK_REQUESTER_ROTATION:
            if (sk_rq_on_call(c, r->rotation->id))
                return 0;
            list = sk_arena_sprintf(c->arena, "%s%snot on call in rotation '%s'", list,
                                    *list ? "; " : "", r->rotation->id);
            break;
        case SK_REQUESTER_GROUP:
            if (c->requester && sk_rules_in_group(c->requester, r->group))
                return 0;
            list = sk_arena_sprintf(c->arena, "%s%snot in group '%s'", list, *list ? "; " : "",
                                    r->group->id);
            break;
        }
        if (!list)
            return SK_ENOMEM;
    }
    *why = sk_arena_sprintf(c->arena, "'%s' may not request '%s' now (%s): %s", c->old->user,
                            c->ev->target, set->declared_in,
                            set->n_requestable_by ? list : "requestable by nobody");
    return *why ? 0 : SK_ENOMEM;
}

/* Sets *why to why a CREATED for `key` (settings `set`) is refused, or
 * NULL when it may go on to the policy. 0 or SK_ENOMEM. */
static int created_refusal(sk_rq_ctx_t *c, const sk_request_settings_t *set, const char *key,
                           const char **why)
{
    const sk_request_event_t *ev = c->ev;
    int rc = not_requestable(c, set, why);
    if (rc || *why)
        return rc;
    /* secure default: only self-service targets are requested */
    if (!set->self_service)
        *why = sk_arena_sprintf(c->arena,
                                "'%s' is not self-service (%s): it is granted by "
                                "enrollments only",
                                key, set->declared_in);
    else if (set->provisioning == SK_PROVISIONING_MANUAL && ev->target_kind == SK_TARGET_PROFILE)
        *why = sk_arena_sprintf(c->arena,
                                "profile '%s' is provisioned by hand (%s): a whole "
                                "profile cannot be requested, request its "
                                "entitlements one by one",
                                key, set->declared_in);
    else if (ev->emergency && !set->emergency_policy)
        *why =
            sk_arena_sprintf(c->arena, "'%s' has no emergency_policy: no emergency requests", key);
    else
        return 0;
    return *why ? 0 : SK_ENOMEM;
}

/* ---- events ---- */

/* The request settings of the target of a CREATED; rejects unknown
 * targets; sets *key to the target's canonical key, *why when it cannot be
 * requested at all. Returns the settings or NULL. */
static const sk_request_settings_t *created_settings(sk_rq_ctx_t *c, const char **key,
                                                     const char **why)
{
    const sk_request_event_t *ev = c->ev;
    const sk_request_settings_t *set = NULL;
    *key = NULL;
    if (ev->target_kind == SK_TARGET_PROFILE) {
        const sk_profile_t *p = sk_rules_profile(c->rules, ev->target);
        if (!p) {
            sk_rq_reject(c, SK_DL_UNKNOWN_REFERENCE,
                         sk_arena_sprintf(c->arena, "profile '%s' is not in the rules (version %s)",
                                          ev->target, sk_rules_version(c->rules)));
            return NULL;
        }
        *key = p->id;
        set = sk_rules_profile_request_settings(c->rules, p->id);
        if (!set)
            *why = sk_arena_sprintf(c->arena,
                                    "profile '%s' cannot be requested (no request "
                                    "block of its own): request its entitlements",
                                    p->id);
        return set;
    }
    const sk_entitlement_t *ent = sk_rules_entitlement(c->rules, ev->target);
    if (!ent) {
        sk_rq_reject(c, SK_DL_UNKNOWN_REFERENCE,
                     sk_arena_sprintf(c->arena, "entitlement '%s' is not in the rules (version %s)",
                                      ev->target, sk_rules_version(c->rules)));
        return NULL;
    }
    *key = ent->key;
    set = sk_rules_request_settings(c->rules, ent->key);
    if (!set)
        *why = sk_arena_sprintf(c->arena,
                                "'%s' cannot be requested (no request block): only "
                                "enrollments grant it",
                                ent->key);
    return set;
}

static int on_created(sk_rq_ctx_t *c)
{
    const sk_request_event_t *ev = c->ev;
    const char *key, *why = NULL;
    if (c->rq) {
        c->word = "ignored";
        c->reason = sk_arena_sprintf(c->arena, "request '%s' already exists; duplicate ignored",
                                     ev->request_id);
        return 0;
    }
    const sk_request_settings_t *set = created_settings(c, &key, &why);
    if (!key)
        return 0; /* rejected */
    if (ev->duration_ms == SK_MS_NONE || ev->duration_ms <= 0)
        return sk_rq_reject(
            c, SK_DL_INVALID,
            sk_arena_sprintf(c->arena, "request '%s' has no positive duration", ev->request_id));
    if (!set && !why)
        return SK_ENOMEM; /* the reason it cannot be requested could not be made */
    int rc;
    if (!why && (rc = created_refusal(c, set, key, &why)) != 0)
        return rc;
    if (why) {
        if ((rc = sk_rq_refuse(c, why)) != 0)
            return rc;
        return sk_rq_task(c, SK_TASK_REQUEST_REVIEW, SK_TASK_CLOSED, SK_TASK_DENIED, why);
    }
    sk_request_state_t *rq = &c->requests[c->n_requests++];
    memset(rq, 0, sizeof(*rq));
    rq->id = ev->request_id;
    rq->status = SK_REQUEST_OPEN;
    rq->kind = SK_REQUEST_KIND_ACCESS;
    rq->target_kind = ev->target_kind;
    rq->target = key;
    rq->duration_ms = ev->duration_ms;
    rq->emergency = ev->emergency;
    rq->policy = ev->emergency ? set->emergency_policy->id : set->policy->id;
    rq->rules_version = sk_rules_version(c->rules);
    rq->created_ms = c->in->now_ms;
    c->rq = rq;
    c->changed = true;
    sk_rq_trace(
        c, sk_arena_sprintf(c->arena, "request '%s' for '%s' (%s, %s): policy '%s' from %s", rq->id,
                            rq->target, sk_decide_fmt_dur(c->arena, rq->duration_ms),
                            rq->emergency ? "emergency" : "normal", rq->policy, set->declared_in));
    return sk_rq_run_steps(c);
}

/* 1 when the actor may act on the current step, else refuses. */
static int actor_assigned(sk_rq_ctx_t *c, const sk_policy_step_t *st)
{
    const char *actor = c->ev->actor;
    if (!st) {
        sk_rq_refuse(
            c, sk_arena_sprintf(c->arena, "request '%s' waits at no reviewers step", c->rq->id));
        return 0;
    }
    if (strcmp(actor, c->old->user) == 0 && !st->reviewers.allow_self_approval) {
        sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                         "'%s' may not review their own request '%s': "
                                         "policy '%s' step %d does not allow "
                                         "self-approval",
                                         actor, c->rq->id, c->rq->policy, c->rq->step + 1));
        return 0;
    }
    if (!sk_decide_has_id(c->rq->assignees, c->rq->n_assignees, actor)) {
        sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                         "'%s' is not an assignee of step %d of request "
                                         "'%s'; %s refused",
                                         actor, c->rq->step + 1, c->rq->id,
                                         sk_request_event_type_name(c->ev->type)));
        return 0;
    }
    return 1;
}

/* 1 when the event's kind (review / revocation) matches the record's. */
static int right_kind(sk_rq_ctx_t *c)
{
    sk_request_event_type_t t = c->ev->type;
    bool rev_event = t == SK_REQ_REVOCATION_CONFIRMED || t == SK_REQ_REVOCATION_DENIED;
    bool rev = c->rq->kind == SK_REQUEST_KIND_REVOCATION;
    if (rev_event == rev)
        return 1;
    sk_rq_refuse(c, rev ? sk_arena_sprintf(c->arena,
                                           "'%s' is a revocation proposal: use "
                                           "REVOCATION_CONFIRMED or REVOCATION_DENIED, "
                                           "not %s",
                                           c->rq->id, sk_request_event_type_name(t))
                        : sk_arena_sprintf(c->arena,
                                           "'%s' is an access request: use APPROVED or "
                                           "DENIED, not %s",
                                           c->rq->id, sk_request_event_type_name(t)));
    return 0;
}

/* APPROVED / DENIED of a request, REVOCATION_CONFIRMED / _DENIED of a
 * revocation proposal: the same review of the current step. */
static int on_review(sk_rq_ctx_t *c)
{
    if (!sk_rq_need_open(c, false) || !right_kind(c))
        return 0;
    const sk_policy_step_t *st = sk_rq_current_step(c);
    if (!actor_assigned(c, st))
        return 0;
    sk_request_state_t *rq = c->rq;
    const char *actor = c->ev->actor;
    bool rev = rq->kind == SK_REQUEST_KIND_REVOCATION;
    if (c->ev->type == SK_REQ_DENIED || c->ev->type == SK_REQ_REVOCATION_DENIED) {
        c->changed = true;
        return sk_rq_close_request(
            c, SK_REQUEST_DENIED, SK_TASK_DENIED, rev ? "kept" : "denied",
            rev ? sk_arena_sprintf(c->arena,
                                   "revocation denied by '%s' at step %d of policy "
                                   "'%s': '%s' keeps '%s'",
                                   actor, rq->step + 1, rq->policy, c->old->user, rq->target)
                : sk_arena_sprintf(c->arena, "denied by '%s' at step %d of policy '%s'", actor,
                                   rq->step + 1, rq->policy));
    }
    if (sk_decide_has_id(rq->approvers, rq->n_approvers, actor)) {
        c->word = "ignored";
        c->reason =
            sk_arena_sprintf(c->arena, "'%s' already approved step %d", actor, rq->step + 1);
        return 0;
    }
    rq->approvers = sk_rq_ids_with(c, rq->approvers, rq->n_approvers, actor, &rq->n_approvers);
    if (!rq->approvers)
        return SK_ENOMEM;
    c->changed = true;
    const char *line = sk_arena_sprintf(c->arena,
                                        "%s by '%s' (%zu of %d) at step %d of "
                                        "policy '%s'",
                                        rev ? "confirmed" : "approved", actor, rq->n_approvers,
                                        st->reviewers.approvals, rq->step + 1, rq->policy);
    sk_rq_trace(c, line);
    if ((int)rq->n_approvers < st->reviewers.approvals) {
        c->word = "pending";
        c->reason = line;
        return sk_rq_task(c, sk_rq_task_kind(rq), SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, line);
    }
    if (sk_rq_task(c, sk_rq_task_kind(rq), SK_TASK_CLOSED,
                   rev ? SK_TASK_CONFIRMED : SK_TASK_APPROVED, line))
        return SK_ENOMEM;
    rq->step++;
    return sk_rq_run_steps(c);
}

static int on_cancelled(sk_rq_ctx_t *c)
{
    if (!sk_rq_need_open(c, true))
        return 0;
    const char *actor = c->ev->actor;
    bool rev = c->rq->kind == SK_REQUEST_KIND_REVOCATION;
    if (rev && !sk_rq_is_admin(c, actor))
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "only an administrator (group '%s') may "
                                                "cancel revocation '%s' (not '%s')",
                                                SK_ADMIN_GROUP, c->rq->id, actor));
    if (!rev && strcmp(actor, c->old->user) != 0)
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "only the requester '%s' may cancel "
                                                "request '%s' (not '%s')",
                                                c->old->user, c->rq->id, actor));
    c->changed = true;
    return sk_rq_close_request(c, SK_REQUEST_CANCELLED, SK_TASK_CANCELLED, "cancelled",
                               sk_arena_sprintf(c->arena, "cancelled by %s '%s'",
                                                rev ? "the administrator" : "the requester",
                                                actor));
}

static int on_duration_changed(sk_rq_ctx_t *c)
{
    if (!sk_rq_need_open(c, false))
        return 0;
    if (c->rq->kind == SK_REQUEST_KIND_REVOCATION)
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "'%s' is a revocation proposal: it has "
                                                "no duration",
                                                c->rq->id));
    if (!actor_assigned(c, sk_rq_current_step(c)))
        return 0;
    if (c->ev->duration_ms == SK_MS_NONE || c->ev->duration_ms <= 0)
        return sk_rq_reject(c, SK_DL_INVALID, "DURATION_CHANGED without a positive duration");
    sk_request_state_t *rq = c->rq;
    c->reason = sk_arena_sprintf(c->arena, "duration changed from %s to %s by '%s'",
                                 sk_decide_fmt_dur(c->arena, rq->duration_ms),
                                 sk_decide_fmt_dur(c->arena, c->ev->duration_ms), c->ev->actor);
    rq->duration_ms = c->ev->duration_ms;
    c->changed = true;
    c->word = "state_updated";
    sk_rq_trace(c, c->reason);
    return sk_rq_task(c, sk_rq_task_kind(rq), SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, c->reason);
}

static int on_escalated(sk_rq_ctx_t *c)
{
    if (!sk_rq_need_open(c, false))
        return 0;
    sk_request_state_t *rq = c->rq;
    const char *actor = c->ev->actor;
    const sk_request_settings_t *set = sk_rq_settings(c, rq);
    if (strcmp(actor, c->old->user) != 0 &&
        !sk_decide_has_id(rq->assignees, rq->n_assignees, actor))
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "'%s' is neither the requester nor an "
                                                "assignee of request '%s'",
                                                actor, rq->id));
    if (rq->kind == SK_REQUEST_KIND_REVOCATION)
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "'%s' is a revocation proposal: it "
                                                "cannot be escalated",
                                                rq->id));
    if (rq->emergency)
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "request '%s' is already an emergency "
                                                "request",
                                                rq->id));
    if (!set || !set->emergency_policy)
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "'%s' has no emergency_policy: cannot "
                                                "escalate",
                                                rq->target));
    const char *why = sk_arena_sprintf(c->arena, "escalated by '%s' to emergency policy '%s'",
                                       actor, set->emergency_policy->id);
    if (rq->n_assignees) {
        /* closed under its own id (made while not an emergency), flagged */
        if (sk_rq_abandon_task(c, why))
            return SK_ENOMEM;
        c->tasks[c->n_tasks - 1].emergency = true;
    }
    sk_rq_trace(c, why);
    rq->emergency = true;
    rq->policy = set->emergency_policy->id;
    rq->rules_version = sk_rules_version(c->rules);
    rq->step = 0;
    rq->approvers = rq->assignees = NULL;
    rq->n_approvers = rq->n_assignees = 0;
    return sk_rq_run_steps(c);
}

/* ---- the decision ---- */

static int dispatch(sk_rq_ctx_t *c)
{
    switch (c->ev->type) {
    case SK_REQ_CREATED: return on_created(c);
    case SK_REQ_APPROVED:
    case SK_REQ_DENIED:
    case SK_REQ_REVOCATION_CONFIRMED:
    case SK_REQ_REVOCATION_DENIED: return on_review(c);
    case SK_REQ_CANCELLED: return on_cancelled(c);
    case SK_REQ_DURATION_CHANGED: return on_duration_changed(c);
    case SK_REQ_ESCALATED: return on_escalated(c);
    case SK_REQ_COMMENTED: return sk_rq_on_commented(c);
    case SK_REQ_REMINDER_SENT: return sk_rq_on_reminder(c);
    case SK_REQ_REASSIGNED: return sk_rq_on_reassigned(c);
    case SK_REQ_PROCESS_NOW: return sk_rq_on_process_now(c);
    case SK_REQ_RESTARTED:
    case SK_REQ_HARD_RESET:
    case SK_REQ_POLICY_CHANGED: return sk_rq_on_restart(c);
    case SK_REQ_STEP_SKIPPED: return sk_rq_on_step_skipped(c);
    case SK_REQ_DELETED: return sk_rq_on_deleted(c);
    case SK_REQ_REVOCATION_PROPOSED: return sk_rq_on_revocation_proposed(c);
    case SK_REQ_REVIEW_CERTIFIED:
    case SK_REQ_REVIEW_REVOKED:
    case SK_REQ_CAMPAIGN_STARTED:
    case SK_REQ_CAMPAIGN_CLOSED: return sk_campaign_on_event(c);
    default:
        c->word = "not_supported";
        c->reason = sk_arena_sprintf(c->arena, "%s is not supported yet; nothing changed",
                                     sk_request_event_type_name(c->ev->type));
        return 0;
    }
}

/* Validates what the rules cannot judge; 1 when the event may be decided. */
static int valid_event(sk_rq_ctx_t *c)
{
    const sk_request_event_t *ev = c->ev;
    const char *why = NULL;
    bool creates = ev->type == SK_REQ_CREATED || ev->type == SK_REQ_REVOCATION_PROPOSED;
    if (!ev->request_id || !sk_id_valid(ev->request_id, strlen(ev->request_id)))
        why = "missing or invalid request_id";
    else if (!ev->subject || strcmp(ev->subject, c->old->user) != 0)
        why = "the event's subject is not the user whose state was read";
    else if (!ev->actor || !sk_id_valid(ev->actor, strlen(ev->actor)))
        why = "missing or invalid actor";
    else if ((unsigned)ev->type >= SK_REQ_EVENT_TYPE_COUNT)
        why = "unknown request event type";
    else if ((unsigned)ev->target_kind >= SK_TARGET_KIND_COUNT)
        why = "unknown target kind";
    else if (!ev->target ||
             (creates || *ev->target ? !sk_id_valid(ev->target, strlen(ev->target)) : false))
        why = "missing or invalid target"; /* actions after CREATED may leave it empty */
    if (why)
        sk_rq_reject(c, SK_DL_INVALID, why);
    return why == NULL;
}

int sk_decide_request(const sk_rules_t *rules, const sk_request_input_t *in,
                      const sk_user_state_t *state, sk_arena_t *arena, sk_request_decision_t *out)
{
    sk_rq_ctx_t c;
    int rc;

    assert(rules && in && in->event && state && state->user && arena && out);
    if ((rc = sk_rq_begin(&c, rules, in, state, arena, out)) != 0)
        return rc;
    if (valid_event(&c)) {
        for (size_t i = 0; i < c.n_requests; i++)
            if (strcmp(c.requests[i].id, c.ev->request_id) == 0)
                c.rq = &c.requests[i];
        if ((rc = dispatch(&c)) != 0)
            return rc;
    }
    return sk_rq_finish(&c);
}
