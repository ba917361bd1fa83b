/*
 * request_actions.c — the request actions after creation other than the
 * reviews (request.c), each a small transition of the request acted
 * on, audited with its actor (and comment, in the trace), and revocation
 * proposals:
 *
 *   COMMENTED, REMINDER_SENT  requester, an assignee or an admin; no change
 *   REASSIGNED                an assignee (gives up their place) or an admin
 *                             (replaces every assignee), to an allowed
 *                             reviewer of the step
 *   PROCESS_NOW               requester, an assignee or an admin: the
 *                             current step again, its approvals kept
 *   RESTARTED                 requester or admin: step 1 of the frozen policy
 *   HARD_RESET                admin: the policy recomputed from the rules
 *   POLICY_CHANGED            admin: event->policy becomes the policy
 *   STEP_SKIPPED              admin: the current step passes
 *   DELETED                   admin, or the requester while OPEN: forgotten
 *                             (never a confirmed revocation: it keeps the
 *                             access revoked)
 *                             (its grant sources stay until they expire; a
 *                             deleted confirmed revocation no longer keeps
 *                             the grant windows it revoked from returning)
 *   REVOCATION_PROPOSED       anyone in the directory, for an entitlement the
 *                             subject holds now and whose request settings
 *                             have a revocation_policy
 *
 * "Admin" is a member of the SK_ADMIN_GROUP group (decide_request.h). An
 * action a transition abandons the open task of closes it (CANCELLED).
 */
#include "decide/request_actions.h"

#include "decide/request_policy.h"

#include <string.h>

static bool is_requester(const sk_rq_ctx_t *c)
{
    return strcmp(c->ev->actor, c->old->user) == 0;
}

static bool is_assignee(const sk_rq_ctx_t *c)
{
    return sk_decide_has_id(c->rq->assignees, c->rq->n_assignees, c->ev->actor);
}

/* Refuses the event: only `who` may do it. */
static int refuse_actor(sk_rq_ctx_t *c, const char *who)
{
    return sk_rq_refuse(c, sk_arena_sprintf(c->arena, "%s of request '%s' by '%s' refused: only %s "
                                                   "may do it",
                                         sk_request_event_type_name(c->ev->type), c->rq->id,
                                         c->ev->actor, who));
}

/* 1 when the actor is the requester, an assignee or an admin; else refuses. */
static int involved(sk_rq_ctx_t *c)
{
    if (is_requester(c) || is_assignee(c) || sk_rq_is_admin(c, c->ev->actor))
        return 1;
    refuse_actor(c, "the requester, an assignee or an administrator");
    return 0;
}

/* COMMENTED / REMINDER_SENT: the open task is UPDATED; nothing changes. */
static int note(sk_rq_ctx_t *c, const char *word, const char *reason)
{
    c->word = word;
    c->reason = reason;
    sk_rq_trace(c, reason);
    return sk_rq_task(c, sk_rq_task_kind(c->rq), SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, reason);
}

int sk_rq_on_commented(sk_rq_ctx_t *c)
{
    if (!sk_rq_need_open(c, true) || !involved(c))
        return 0;
    const char *text = c->ev->comment && c->ev->comment[0] ? c->ev->comment : NULL;
    return note(c, "commented",
                sk_arena_sprintf(c->arena, "comment by '%s'%s%s", c->ev->actor,
                                 text ? ": " : "", text ? text : ""));
}

int sk_rq_on_reminder(sk_rq_ctx_t *c)
{
    if (!sk_rq_need_open(c, true) || !involved(c))
        return 0;
    return note(c, "reminded",
                sk_arena_sprintf(c->arena, "reminder sent by '%s' to %zu assignee(s)",
                                 c->ev->actor, c->rq->n_assignees));
}

/* 1 when `who` may review the step st of c->rq, else refuses. */
static int allowed_reviewer(sk_rq_ctx_t *c, const sk_policy_step_t *st, const char *who)
{
    const char **ids;
    size_t n;
    if (strcmp(who, c->old->user) == 0 && !st->reviewers.allow_self_approval) {
        sk_rq_refuse(c, sk_arena_sprintf(c->arena, "'%s' may not review their own request '%s': "
                                                "step %d of policy '%s' does not allow "
                                                "self-approval",
                                      who, c->rq->id, c->rq->step + 1, c->rq->policy));
        return 0;
    }
    if (sk_rq_reviewers(c, &st->reviewers, &ids, &n))
        return -1;
    if (!sk_decide_has_id(ids, n, who)) {
        sk_rq_refuse(c, sk_arena_sprintf(c->arena, "'%s' is not an allowed reviewer of step %d of "
                                                "policy '%s'",
                                      who, c->rq->step + 1, c->rq->policy));
        return 0;
    }
    return 1;
}

int sk_rq_on_reassigned(sk_rq_ctx_t *c)
{
    const char *to = c->ev->assignee, *actor = c->ev->actor;
    if (!to || !sk_id_valid(to, strlen(to)))
        return sk_rq_reject(c, SK_DL_INVALID, "REASSIGNED without a valid assignee");
    if (!sk_rq_need_open(c, false))
        return 0;
    sk_request_state_t *rq = c->rq;
    const sk_policy_step_t *st = sk_rq_current_step(c);
    bool assignee = is_assignee(c);
    if (!st)
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena, "request '%s' waits at no reviewers step",
                                             rq->id));
    if (!assignee && !sk_rq_is_admin(c, actor))
        return refuse_actor(c, "an assignee of the step or an administrator");
    int ok = allowed_reviewer(c, st, to);
    if (ok <= 0)
        return ok < 0 ? SK_ENOMEM : 0;
    const char **ids = sk_arena_calloc(c->arena, rq->n_assignees + 2, sizeof(*ids));
    size_t n = 0;
    if (!ids)
        return SK_ENOMEM;
    /* an assignee hands over their own place; an admin names the reviewer */
    for (size_t i = 0; assignee && i < rq->n_assignees; i++)
        if (strcmp(rq->assignees[i], actor) != 0 && strcmp(rq->assignees[i], to) != 0)
            ids[n++] = rq->assignees[i];
    ids[n++] = to;
    rq->assignees = ids;
    rq->n_assignees = n;
    c->changed = true;
    c->word = "reassigned";
    c->reason = sk_arena_sprintf(c->arena, "step %d of request '%s' reassigned %s '%s' to '%s'",
                                 rq->step + 1, rq->id,
                                 assignee ? "from" : "by the administrator", actor, to);
    sk_rq_trace(c, c->reason);
    return sk_rq_task(c, sk_rq_task_kind(rq), SK_TASK_ASSIGNED, SK_TASK_OUTCOME_NONE, c->reason);
}

int sk_rq_on_process_now(sk_rq_ctx_t *c)
{
    if (!sk_rq_need_open(c, false) || !involved(c))
        return 0;
    sk_request_state_t *rq = c->rq;
    c->rerun_step = rq->step;
    c->kept_approvers = rq->approvers;
    c->n_kept = rq->n_approvers;
    sk_rq_trace(c, sk_arena_sprintf(c->arena, "processed now by '%s': step %d of policy '%s' "
                                           "evaluated again",
                                 c->ev->actor, rq->step + 1, rq->policy));
    return sk_rq_run_steps(c);
}

/* The policy a HARD_RESET gives c->rq under the current rules, or NULL
 * after a refusal. */
static const sk_policy_t *recomputed_policy(sk_rq_ctx_t *c)
{
    const sk_request_state_t *rq = c->rq;
    const sk_request_settings_t *set = sk_rq_settings(c, rq);
    const sk_policy_t *pol = !set ? NULL
                             : rq->kind == SK_REQUEST_KIND_REVOCATION ? set->revocation_policy
                             : rq->emergency ? set->emergency_policy
                                             : set->policy;
    if (!pol)
        sk_rq_refuse(c, sk_arena_sprintf(c->arena, "the rules (version %s) give '%s' no %s: "
                                                "request '%s' cannot be reset",
                                      sk_rules_version(c->rules), rq->target,
                                      rq->kind == SK_REQUEST_KIND_REVOCATION ? "revocation_policy"
                                      : rq->emergency ? "emergency_policy"
                                                      : "request block",
                                      rq->id));
    return pol;
}

/* The policy a POLICY_CHANGED names, or NULL after a refusal. */
static const sk_policy_t *named_policy(sk_rq_ctx_t *c)
{
    const char *id = c->ev->policy;
    const sk_policy_t *pol = id && *id ? sk_rules_policy(c->rules, id) : NULL;
    if (!id || !*id)
        sk_rq_refuse(c, "POLICY_CHANGED names no policy");
    else if (!pol)
        sk_rq_refuse(c, sk_arena_sprintf(c->arena, "policy '%s' is not in the rules (version %s); "
                                                "the policy of request '%s' is unchanged",
                                      id, sk_rules_version(c->rules), c->rq->id));
    return pol;
}

int sk_rq_on_restart(sk_rq_ctx_t *c)
{
    if (!sk_rq_need_open(c, false))
        return 0;
    sk_request_state_t *rq = c->rq;
    sk_request_event_type_t type = c->ev->type;
    const char *actor = c->ev->actor, *why;
    bool admin = sk_rq_is_admin(c, actor);
    const sk_policy_t *pol = sk_rules_policy(c->rules, rq->policy);
    if (type == SK_REQ_RESTARTED && !admin &&
        !(is_requester(c) && rq->kind == SK_REQUEST_KIND_ACCESS))
        return refuse_actor(c, "the requester or an administrator");
    if (type != SK_REQ_RESTARTED && !admin)
        return refuse_actor(c, "an administrator");
    if (type == SK_REQ_HARD_RESET && !(pol = recomputed_policy(c)))
        return 0;
    if (type == SK_REQ_POLICY_CHANGED && !(pol = named_policy(c)))
        return 0;
    if (type == SK_REQ_RESTARTED)
        why = sk_arena_sprintf(c->arena, "restarted by '%s' at step 1 of policy '%s'", actor,
                               rq->policy);
    else if (type == SK_REQ_HARD_RESET)
        why = sk_arena_sprintf(c->arena, "hard reset by '%s': policy '%s' from the rules "
                                         "(version %s), step 1",
                               actor, pol->id, sk_rules_version(c->rules));
    else
        why = sk_arena_sprintf(c->arena, "policy changed by '%s' from '%s' to '%s', step 1",
                               actor, rq->policy, pol->id);
    if (!why || sk_rq_abandon_task(c, why))
        return SK_ENOMEM;
    sk_rq_trace(c, why);
    if (type != SK_REQ_RESTARTED) {
        rq->policy = pol->id;
        rq->rules_version = sk_rules_version(c->rules);
    }
    rq->step = 0;
    rq->round = rq->round < SK_ROUND_MAX ? rq->round + 1 : SK_ROUND_MAX;
    rq->approvers = rq->assignees = NULL;
    rq->n_approvers = rq->n_assignees = 0;
    return sk_rq_run_steps(c);
}

int sk_rq_on_step_skipped(sk_rq_ctx_t *c)
{
    if (!sk_rq_need_open(c, false))
        return 0;
    sk_request_state_t *rq = c->rq;
    if (!sk_rq_is_admin(c, c->ev->actor))
        return refuse_actor(c, "an administrator");
    if (!sk_rq_current_step(c))
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena, "request '%s' waits at no reviewers step",
                                             rq->id));
    const char *why = sk_arena_sprintf(c->arena, "step %d of policy '%s' skipped by the "
                                                 "administrator '%s'",
                                       rq->step + 1, rq->policy, c->ev->actor);
    if (!why || sk_rq_abandon_task(c, why))
        return SK_ENOMEM;
    sk_rq_trace(c, why);
    rq->step++;
    rq->approvers = rq->assignees = NULL;
    rq->n_approvers = rq->n_assignees = 0;
    return sk_rq_run_steps(c);
}

int sk_rq_on_deleted(sk_rq_ctx_t *c)
{
    sk_request_state_t *rq = c->rq;
    if (!rq)
        return sk_rq_need_open(c, true); /* rejects: unknown request */
    bool open = rq->status == SK_REQUEST_OPEN || rq->status == SK_REQUEST_PROVISIONING;
    if (!sk_rq_is_admin(c, c->ev->actor) &&
        !(is_requester(c) && rq->status == SK_REQUEST_OPEN && rq->kind == SK_REQUEST_KIND_ACCESS))
        return refuse_actor(c, "an administrator, or the requester while it is OPEN");
    if (rq->kind == SK_REQUEST_KIND_REVOCATION && rq->status == SK_REQUEST_APPROVED)
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena, "revocation '%s' is confirmed: it keeps "
                                                       "the access revoked while remembered, "
                                                       "so it cannot be deleted",
                                             rq->id));
    const char *why = sk_arena_sprintf(c->arena, "request '%s' (%s) deleted by '%s'", rq->id,
                                       sk_request_status_name(rq->status), c->ev->actor);
    if (!why || (open && sk_rq_abandon_task(c, why)))
        return SK_ENOMEM;
    size_t idx = (size_t)(rq - c->requests);
    memmove(&c->requests[idx], &c->requests[idx + 1],
            (c->n_requests - idx - 1) * sizeof(*c->requests));
    c->n_requests--;
    c->rq = NULL;
    c->changed = true;
    c->word = "deleted";
    c->reason = why;
    sk_rq_trace(c, why);
    return 0;
}

/* ---- revocation proposals ---- */

/* NULL when c->ev may open a revocation of ent, else why not. */
static const char *not_revocable(sk_rq_ctx_t *c, const sk_entitlement_t *ent,
                                 const sk_request_settings_t *set)
{
    bool held = false;
    for (size_t i = 0; i < c->old->n_sources; i++)
        held |= strcmp(c->old->sources[i].ent_key, ent->key) == 0 &&
                c->old->sources[i].expires_ms > c->in->now_ms;
    if (!sk_rules_person(c->rules, c->ev->actor))
        return sk_arena_sprintf(c->arena, "'%s' is not in the directory: only people of the "
                                          "directory may propose a revocation",
                                c->ev->actor);
    if (!held)
        return sk_arena_sprintf(c->arena, "'%s' does not hold '%s' now: nothing to revoke",
                                c->old->user, ent->key);
    if (!set || !set->revocation_policy)
        return sk_arena_sprintf(c->arena, "'%s' has no revocation_policy: its revocation "
                                          "cannot be proposed",
                                ent->key);
    return NULL;
}

int sk_rq_on_revocation_proposed(sk_rq_ctx_t *c)
{
    const sk_request_event_t *ev = c->ev;
    if (c->rq) {
        c->word = "ignored";
        c->reason = sk_arena_sprintf(c->arena, "request '%s' already exists; duplicate ignored",
                                     ev->request_id);
        return 0;
    }
    if (ev->target_kind != SK_TARGET_ENTITLEMENT)
        return sk_rq_reject(c, SK_DL_INVALID, "a revocation names an entitlement, not a profile");
    const sk_entitlement_t *ent = sk_rules_entitlement(c->rules, ev->target);
    if (!ent)
        return sk_rq_reject(c, SK_DL_UNKNOWN_REFERENCE,
                         sk_arena_sprintf(c->arena, "entitlement '%s' is not in the rules "
                                                    "(version %s)",
                                          ev->target, sk_rules_version(c->rules)));
    const sk_request_settings_t *set = sk_rules_request_settings(c->rules, ent->key);
    const char *why = not_revocable(c, ent, set);
    if (why) {
        sk_rq_refuse(c, why);
        return sk_rq_task(c, SK_TASK_REVOCATION, SK_TASK_CLOSED, SK_TASK_DENIED, why);
    }
    sk_request_state_t *rq = &c->requests[c->n_requests++];
    memset(rq, 0, sizeof(*rq));
    rq->id = ev->request_id;
    rq->status = SK_REQUEST_OPEN;
    rq->kind = SK_REQUEST_KIND_REVOCATION;
    rq->target_kind = SK_TARGET_ENTITLEMENT;
    rq->target = ent->key;
    rq->duration_ms = 0;
    rq->policy = set->revocation_policy->id;
    rq->rules_version = sk_rules_version(c->rules);
    rq->created_ms = c->in->now_ms;
    c->rq = rq;
    c->changed = true;
    sk_rq_trace(c, sk_arena_sprintf(c->arena, "revocation '%s' of '%s' held by '%s' proposed by "
                                           "'%s': policy '%s' from %s",
                                 rq->id, rq->target, c->old->user, ev->actor, rq->policy,
                                 set->declared_in));
    return sk_rq_run_steps(c);
}
