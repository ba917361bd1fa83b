/* decide_request.c — the pure decision for access requests (see
 * decide_request.h for the contract, docs/requests-design.md for the plan):
 * the frame every request decider shares (decide_request_internal.h: the
 * working memory, tasks, the audit record, the new state), and the events
 * CREATED, APPROVED / DENIED (and their revocation twins), CANCELLED,
 * DURATION_CHANGED and ESCALATED. The policy run is in decide_policy.c,
 * the other actions in decide_actions.c, provisioning results in
 * decide_result.c. */
#include "decide/decide_request_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

void dr_trace(dr_ctx_t *c, const char *line)
{
    if (!line)
        return;
    if (c->n_trace < SK_ARRAY_LEN(c->trace) - 1)
        c->trace[c->n_trace++] = line;
    else if (c->n_trace == SK_ARRAY_LEN(c->trace) - 1)
        c->trace[c->n_trace++] = "(trace truncated)";
}

const char *dr_fmt_dur(dr_ctx_t *c, sk_ms_t ms)
{
    if (ms % 3600000 == 0)
        return sk_arena_sprintf(c->arena, "%" PRId64 "h", ms / 3600000);
    if (ms % 60000 == 0)
        return sk_arena_sprintf(c->arena, "%" PRId64 "m", ms / 60000);
    return sk_arena_sprintf(c->arena, "%" PRId64 "ms", ms);
}

static void hash_hex(XXH3_state_t *st, char out[33])
{
    XXH128_hash_t h = XXH3_128bits_digest(st);
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64, (uint64_t)h.low64);
}

/* ---- outcomes that change nothing ---- */

int dr_reject(dr_ctx_t *c, sk_dead_letter_kind_t kind, const char *reason)
{
    c->out->base.rejected = true;
    c->out->base.reject_kind = kind;
    c->out->base.reject_reason = reason ? reason : "rejected";
    return 0;
}

int dr_refuse(dr_ctx_t *c, const char *reason)
{
    c->out->refused = true;
    c->out->refuse_reason = reason ? reason : "refused";
    dr_trace(c, c->out->refuse_reason);
    return 0;
}

/* ---- ids ---- */

bool dr_has_id(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

const char **dr_ids_with(dr_ctx_t *c, const char *const *ids, size_t n, const char *id,
                         size_t *n_out)
{
    const char **out = sk_arena_calloc(c->arena, n + 2, sizeof(*out));
    if (!out)
        return NULL;
    if (n)
        memcpy(out, ids, n * sizeof(*out));
    if (!dr_has_id(ids, n, id))
        out[n++] = id;
    *n_out = n;
    return out;
}

bool dr_is_admin(const dr_ctx_t *c, const char *actor)
{
    const sk_group_t *g = sk_rules_group(c->rules, SK_ADMIN_GROUP);
    const sk_person_t *p = sk_rules_person(c->rules, actor);
    return g && p && sk_rules_in_group(p, g);
}

/* ---- tasks ---- */

const char *dr_task_id(dr_ctx_t *c, const sk_request_state_t *rq, int step, const char *tag)
{
    XXH3_state_t st;
    char num[48], *out = sk_arena_alloc(c->arena, 33);
    const char *id = rq ? rq->id : c->ev->request_id, *policy = rq ? rq->policy : "";
    if (!out)
        return NULL;
    XXH3_128bits_reset(&st);
    XXH3_128bits_update(&st, c->old->user, strlen(c->old->user) + 1);
    XXH3_128bits_update(&st, id, strlen(id) + 1);
    XXH3_128bits_update(&st, policy, strlen(policy) + 1);
    XXH3_128bits_update(&st, tag, strlen(tag) + 1);
    /* the round joins the hash only from 1 on: ids of round 0 never change */
    if (rq && rq->round > 0)
        snprintf(num, sizeof(num), "%d:%d:%d", step, rq->emergency ? 1 : 0, rq->round);
    else
        snprintf(num, sizeof(num), "%d:%d", step, rq && rq->emergency ? 1 : 0);
    XXH3_128bits_update(&st, num, strlen(num) + 1);
    hash_hex(&st, out);
    return out;
}

const char *dr_provision_task_id(dr_ctx_t *c, const sk_request_state_t *rq)
{
    return dr_task_id(c, rq, 0, "provision");
}

sk_task_kind_t dr_task_kind(const sk_request_state_t *rq)
{
    if (rq && rq->status == SK_REQUEST_PROVISIONING)
        return SK_TASK_PROVISIONING;
    if (rq && rq->kind == SK_REQUEST_KIND_REVOCATION)
        return SK_TASK_REVOCATION;
    return SK_TASK_REQUEST_REVIEW;
}

int dr_task_raw(dr_ctx_t *c, const sk_task_t *t)
{
    assert(c->n_tasks < DR_MAX_TASKS); /* a decision makes at most a few */
    if (c->n_tasks >= DR_MAX_TASKS || !t->task_id || !t->reason)
        return SK_ENOMEM;
    c->tasks[c->n_tasks] = *t;
    if (t->state == SK_TASK_CLOSED) { /* the schema: nobody acts on a closed task */
        c->tasks[c->n_tasks].n_assignees = 0;
        c->tasks[c->n_tasks].assignees = NULL;
    }
    c->n_tasks++;
    return 0;
}

int dr_task(dr_ctx_t *c, sk_task_kind_t kind, sk_task_state_t state, sk_task_outcome_t outcome,
            const char *reason)
{
    const sk_request_state_t *rq = c->rq;
    bool prov = kind == SK_TASK_PROVISIONING;
    sk_task_t t = {
        .kind = kind,
        .state = state,
        .outcome = state == SK_TASK_CLOSED ? outcome : SK_TASK_OUTCOME_NONE,
        .request_id = rq ? rq->id : c->ev->request_id,
        .subject = c->old->user,
        .target = rq ? rq->target : c->ev->target,
        .step = rq && !prov ? rq->step + 1 : 0,
        .n_assignees = rq ? rq->n_assignees : 0,
        .assignees = rq ? (const char *const *)rq->assignees : NULL,
        .emergency = rq ? rq->emergency : c->ev->emergency,
        .reason = reason,
        .at_ms = c->in->now_ms,
    };
    if (prov)
        t.task_id = dr_provision_task_id(c, rq);
    else
        t.task_id = rq ? dr_task_id(c, rq, rq->step, "review") : dr_task_id(c, NULL, 0, "refused");
    return dr_task_raw(c, &t);
}

int dr_close_request(dr_ctx_t *c, sk_request_status_t st, sk_task_outcome_t outcome,
                     const char *word, const char *reason)
{
    sk_task_kind_t kind = dr_task_kind(c->rq);
    c->rq->status = st;
    c->word = word;
    c->reason = reason;
    dr_trace(c, reason);
    return dr_task(c, kind, SK_TASK_CLOSED, outcome, reason);
}

int dr_abandon_task(dr_ctx_t *c, const char *why)
{
    if (!c->rq->n_assignees)
        return 0;
    return dr_task(c, dr_task_kind(c->rq), SK_TASK_CLOSED, SK_TASK_CANCELLED, why);
}

static const char *not_requestable(dr_ctx_t *c, const sk_request_settings_t *set)
{
    const char *why = "";
    for (size_t i = 0; i < set->n_requestable_by; i++) {
        const sk_requester_rule_t *r = &set->requestable_by[i];
        switch (r->kind) {
        case SK_REQUESTER_EVERYONE:
            return NULL;
        case SK_REQUESTER_ROTATION:
            if (dr_on_call(c, r->rotation->id))
                return NULL;
            why = sk_arena_sprintf(c->arena, "%s%snot on call in rotation '%s'", why,
                                   *why ? "; " : "", r->rotation->id);
            break;
        case SK_REQUESTER_GROUP:
            if (c->requester && sk_rules_in_group(c->requester, r->group))
                return NULL;
            why = sk_arena_sprintf(c->arena, "%s%snot in group '%s'", why, *why ? "; " : "",
                                   r->group->id);
            break;
        }
        if (!why)
            return "out of memory";
    }
    return sk_arena_sprintf(c->arena, "'%s' may not request '%s' now (%s): %s", c->old->user,
                            c->ev->target, set->declared_in,
                            set->n_requestable_by ? why : "requestable by nobody");
}


/* ---- events ---- */

/* The request settings of the target of a CREATED; rejects unknown
 * targets; sets *key to the target's canonical key, *why when it cannot be
 * requested at all. Returns the settings or NULL. */
static const sk_request_settings_t *created_settings(dr_ctx_t *c, const char **key,
                                                     const char **why)
{
    const sk_request_event_t *ev = c->ev;
    const sk_request_settings_t *set = NULL;
    *key = NULL;
    if (ev->target_kind == SK_TARGET_PROFILE) {
        const sk_profile_t *p = sk_rules_profile(c->rules, ev->target);
        if (!p) {
            dr_reject(c, SK_DL_UNKNOWN_REFERENCE,
                      sk_arena_sprintf(c->arena, "profile '%s' is not in the rules (version %s)",
                                       ev->target, sk_rules_version(c->rules)));
            return NULL;
        }
        *key = p->id;
        set = sk_rules_profile_request_settings(c->rules, p->id);
        if (!set)
            *why = sk_arena_sprintf(c->arena, "profile '%s' cannot be requested (no request "
                                              "block of its own): request its entitlements",
                                    p->id);
        return set;
    }
    const sk_entitlement_t *ent = sk_rules_entitlement(c->rules, ev->target);
    if (!ent) {
        dr_reject(c, SK_DL_UNKNOWN_REFERENCE,
                  sk_arena_sprintf(c->arena, "entitlement '%s' is not in the rules (version %s)",
                                   ev->target, sk_rules_version(c->rules)));
        return NULL;
    }
    *key = ent->key;
    set = sk_rules_request_settings(c->rules, ent->key);
    if (!set)
        *why = sk_arena_sprintf(c->arena, "'%s' cannot be requested (no request block): only "
                                          "enrollments grant it",
                                ent->key);
    return set;
}

static int on_created(dr_ctx_t *c)
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
        return dr_reject(c, SK_DL_INVALID,
                         sk_arena_sprintf(c->arena, "request '%s' has no positive duration",
                                          ev->request_id));
    if (!why)
        why = not_requestable(c, set);
    /* secure default: only self-service targets are requested */
    if (!why && !set->self_service)
        why = sk_arena_sprintf(c->arena, "'%s' is not self-service (%s): it is granted by "
                                         "enrollments only",
                               key, set->declared_in);
    if (!why && set->provisioning == SK_PROVISIONING_MANUAL &&
        ev->target_kind == SK_TARGET_PROFILE)
        why = sk_arena_sprintf(c->arena, "profile '%s' is provisioned by hand (%s): a whole "
                                         "profile cannot be requested, request its entitlements "
                                         "one by one",
                               key, set->declared_in);
    if (!why && ev->emergency && !set->emergency_policy)
        why = sk_arena_sprintf(c->arena, "'%s' has no emergency_policy: no emergency requests",
                               key);
    if (why) {
        dr_refuse(c, why);
        return dr_task(c, SK_TASK_REQUEST_REVIEW, SK_TASK_CLOSED, SK_TASK_DENIED, why);
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
    dr_trace(c, sk_arena_sprintf(c->arena, "request '%s' for '%s' (%s, %s): policy '%s' from %s",
                                 rq->id, rq->target, dr_fmt_dur(c, rq->duration_ms),
                                 rq->emergency ? "emergency" : "normal", rq->policy,
                                 set->declared_in));
    return dr_run_steps(c);
}

int dr_need_open(dr_ctx_t *c, bool provisioning_ok)
{
    if (!c->rq) {
        dr_reject(c, SK_DL_UNKNOWN_REFERENCE,
                  sk_arena_sprintf(c->arena, "request '%s' of '%s' is not known",
                                   c->ev->request_id, c->old->user));
        return 0;
    }
    if (c->rq->status != SK_REQUEST_OPEN &&
        !(provisioning_ok && c->rq->status == SK_REQUEST_PROVISIONING)) {
        dr_refuse(c, sk_arena_sprintf(c->arena, "request '%s' is already %s; %s refused",
                                      c->rq->id, sk_request_status_name(c->rq->status),
                                      sk_request_event_type_name(c->ev->type)));
        return 0;
    }
    return 1;
}

const sk_policy_step_t *dr_current_step(dr_ctx_t *c)
{
    const sk_policy_t *pol = sk_rules_policy(c->rules, c->rq->policy);
    if (c->rq->status != SK_REQUEST_OPEN || !pol || c->rq->step >= (int)pol->n_steps ||
        pol->steps[c->rq->step].kind != SK_STEP_REVIEWERS)
        return NULL;
    return &pol->steps[c->rq->step];
}

/* 1 when the actor may act on the current step, else refuses. */
static int actor_assigned(dr_ctx_t *c, const sk_policy_step_t *st)
{
    const char *actor = c->ev->actor;
    if (!st) {
        dr_refuse(c, sk_arena_sprintf(c->arena, "request '%s' waits at no reviewers step",
                                      c->rq->id));
        return 0;
    }
    if (strcmp(actor, c->old->user) == 0 && !st->reviewers.allow_self_approval) {
        dr_refuse(c, sk_arena_sprintf(c->arena, "'%s' may not review their own request '%s': "
                                                "policy '%s' step %d does not allow "
                                                "self-approval",
                                      actor, c->rq->id, c->rq->policy, c->rq->step + 1));
        return 0;
    }
    if (!dr_has_id(c->rq->assignees, c->rq->n_assignees, actor)) {
        dr_refuse(c, sk_arena_sprintf(c->arena, "'%s' is not an assignee of step %d of request "
                                                "'%s'; %s refused",
                                      actor, c->rq->step + 1, c->rq->id,
                                      sk_request_event_type_name(c->ev->type)));
        return 0;
    }
    return 1;
}

/* 1 when the event's kind (review / revocation) matches the record's. */
static int right_kind(dr_ctx_t *c)
{
    sk_request_event_type_t t = c->ev->type;
    bool rev_event = t == SK_REQ_REVOCATION_CONFIRMED || t == SK_REQ_REVOCATION_DENIED;
    bool rev = c->rq->kind == SK_REQUEST_KIND_REVOCATION;
    if (rev_event == rev)
        return 1;
    dr_refuse(c, rev ? sk_arena_sprintf(c->arena, "'%s' is a revocation proposal: use "
                                                  "REVOCATION_CONFIRMED or REVOCATION_DENIED, "
                                                  "not %s",
                                        c->rq->id, sk_request_event_type_name(t))
                     : sk_arena_sprintf(c->arena, "'%s' is an access request: use APPROVED or "
                                                  "DENIED, not %s",
                                        c->rq->id, sk_request_event_type_name(t)));
    return 0;
}

/* APPROVED / DENIED of a request, REVOCATION_CONFIRMED / _DENIED of a
 * revocation proposal: the same review of the current step. */
static int on_review(dr_ctx_t *c)
{
    if (!dr_need_open(c, false) || !right_kind(c))
        return 0;
    const sk_policy_step_t *st = dr_current_step(c);
    if (!actor_assigned(c, st))
        return 0;
    sk_request_state_t *rq = c->rq;
    const char *actor = c->ev->actor;
    bool rev = rq->kind == SK_REQUEST_KIND_REVOCATION;
    if (c->ev->type == SK_REQ_DENIED || c->ev->type == SK_REQ_REVOCATION_DENIED) {
        c->changed = true;
        return dr_close_request(
            c, SK_REQUEST_DENIED, SK_TASK_DENIED, rev ? "kept" : "denied",
            rev ? sk_arena_sprintf(c->arena, "revocation denied by '%s' at step %d of policy "
                                             "'%s': '%s' keeps '%s'",
                                   actor, rq->step + 1, rq->policy, c->old->user, rq->target)
                : sk_arena_sprintf(c->arena, "denied by '%s' at step %d of policy '%s'", actor,
                                   rq->step + 1, rq->policy));
    }
    if (dr_has_id(rq->approvers, rq->n_approvers, actor)) {
        c->word = "ignored";
        c->reason = sk_arena_sprintf(c->arena, "'%s' already approved step %d", actor,
                                     rq->step + 1);
        return 0;
    }
    rq->approvers = dr_ids_with(c, rq->approvers, rq->n_approvers, actor, &rq->n_approvers);
    if (!rq->approvers)
        return SK_ENOMEM;
    c->changed = true;
    const char *line = sk_arena_sprintf(c->arena, "%s by '%s' (%zu of %d) at step %d of "
                                                  "policy '%s'",
                                        rev ? "confirmed" : "approved", actor, rq->n_approvers,
                                        st->reviewers.approvals, rq->step + 1, rq->policy);
    dr_trace(c, line);
    if ((int)rq->n_approvers < st->reviewers.approvals) {
        c->word = "pending";
        c->reason = line;
        return dr_task(c, dr_task_kind(rq), SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, line);
    }
    if (dr_task(c, dr_task_kind(rq), SK_TASK_CLOSED, rev ? SK_TASK_CONFIRMED : SK_TASK_APPROVED,
                line))
        return SK_ENOMEM;
    rq->step++;
    return dr_run_steps(c);
}

static int on_cancelled(dr_ctx_t *c)
{
    if (!dr_need_open(c, true))
        return 0;
    const char *actor = c->ev->actor;
    bool rev = c->rq->kind == SK_REQUEST_KIND_REVOCATION;
    if (rev && !dr_is_admin(c, actor))
        return dr_refuse(c, sk_arena_sprintf(c->arena, "only an administrator (group '%s') may "
                                                       "cancel revocation '%s' (not '%s')",
                                             SK_ADMIN_GROUP, c->rq->id, actor));
    if (!rev && strcmp(actor, c->old->user) != 0)
        return dr_refuse(c, sk_arena_sprintf(c->arena, "only the requester '%s' may cancel "
                                                       "request '%s' (not '%s')",
                                             c->old->user, c->rq->id, actor));
    c->changed = true;
    return dr_close_request(c, SK_REQUEST_CANCELLED, SK_TASK_CANCELLED, "cancelled",
                            sk_arena_sprintf(c->arena, "cancelled by %s '%s'",
                                             rev ? "the administrator" : "the requester", actor));
}

static int on_duration_changed(dr_ctx_t *c)
{
    if (!dr_need_open(c, false))
        return 0;
    if (c->rq->kind == SK_REQUEST_KIND_REVOCATION)
        return dr_refuse(c, sk_arena_sprintf(c->arena, "'%s' is a revocation proposal: it has "
                                                       "no duration",
                                             c->rq->id));
    if (!actor_assigned(c, dr_current_step(c)))
        return 0;
    if (c->ev->duration_ms == SK_MS_NONE || c->ev->duration_ms <= 0)
        return dr_reject(c, SK_DL_INVALID, "DURATION_CHANGED without a positive duration");
    sk_request_state_t *rq = c->rq;
    c->reason = sk_arena_sprintf(c->arena, "duration changed from %s to %s by '%s'",
                                 dr_fmt_dur(c, rq->duration_ms), dr_fmt_dur(c, c->ev->duration_ms),
                                 c->ev->actor);
    rq->duration_ms = c->ev->duration_ms;
    c->changed = true;
    c->word = "state_updated";
    dr_trace(c, c->reason);
    return dr_task(c, dr_task_kind(rq), SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, c->reason);
}

static int on_escalated(dr_ctx_t *c)
{
    if (!dr_need_open(c, false))
        return 0;
    sk_request_state_t *rq = c->rq;
    const char *actor = c->ev->actor;
    const sk_request_settings_t *set = dr_settings(c, rq);
    if (strcmp(actor, c->old->user) != 0 && !dr_has_id(rq->assignees, rq->n_assignees, actor))
        return dr_refuse(c, sk_arena_sprintf(c->arena, "'%s' is neither the requester nor an "
                                                       "assignee of request '%s'",
                                             actor, rq->id));
    if (rq->kind == SK_REQUEST_KIND_REVOCATION)
        return dr_refuse(c, sk_arena_sprintf(c->arena, "'%s' is a revocation proposal: it "
                                                       "cannot be escalated",
                                             rq->id));
    if (rq->emergency)
        return dr_refuse(c, sk_arena_sprintf(c->arena, "request '%s' is already an emergency "
                                                       "request",
                                             rq->id));
    if (!set || !set->emergency_policy)
        return dr_refuse(c, sk_arena_sprintf(c->arena, "'%s' has no emergency_policy: cannot "
                                                       "escalate",
                                             rq->target));
    const char *why = sk_arena_sprintf(c->arena, "escalated by '%s' to emergency policy '%s'",
                                       actor, set->emergency_policy->id);
    if (rq->n_assignees) {
        /* closed under its own id (made while not an emergency), flagged */
        if (dr_abandon_task(c, why))
            return SK_ENOMEM;
        c->tasks[c->n_tasks - 1].emergency = true;
    }
    dr_trace(c, why);
    rq->emergency = true;
    rq->policy = set->emergency_policy->id;
    rq->rules_version = sk_rules_version(c->rules);
    rq->step = 0;
    rq->approvers = rq->assignees = NULL;
    rq->n_approvers = rq->n_assignees = 0;
    return dr_run_steps(c);
}

/* ---- the audit record and the wake-up ---- */

static const char *commands_word(const sk_decision_t *d)
{
    unsigned seen = 0;
    for (size_t i = 0; i < d->n_commands; i++)
        seen |= 1u << d->commands[i].action;
    switch (seen) {
    case 1u << SK_CMD_GRANT: return "granted";
    case 1u << SK_CMD_REVOKE: return "revoked";
    case 1u << SK_CMD_EXTEND: return "extended";
    default: return "changed";
    }
}

static int fill_audit(dr_ctx_t *c)
{
    sk_request_decision_t *out = c->out;
    sk_audit_t *a = &out->base.audit;
    const sk_request_event_t *ev = c->ev;
    XXH3_state_t st;
    char buf[96];

    XXH3_128bits_reset(&st);
    XXH3_128bits_update(&st, c->old->user, strlen(c->old->user) + 1);
    XXH3_128bits_update(&st, ev->event_id, strlen(ev->event_id) + 1);
    snprintf(buf, sizeof(buf), "%s|%d|%" PRId64,
             c->in->origin.topic ? c->in->origin.topic : "", c->in->origin.partition,
             c->in->origin.offset);
    XXH3_128bits_update(&st, buf, strlen(buf));
    hash_hex(&st, a->audit_id);
    a->at_ms = c->in->now_ms;
    a->actor = ev->actor;
    a->user = c->old->user;
    a->event_id = ev->event_id;
    a->rules_version = sk_rules_version(c->rules);
    a->origin = c->in->origin;
    if (out->base.rejected) {
        a->decision = "rejected";
        a->reason = out->base.reject_reason;
    } else if (out->refused) {
        a->decision = "refused";
        a->reason = out->refuse_reason;
    } else if (out->base.n_commands) {
        a->decision = commands_word(&out->base);
        a->reason = c->reason ? c->reason : out->base.commands[0].reason;
    } else {
        a->decision = c->word ? c->word : "no_change";
        a->reason = c->reason ? c->reason : "nothing to change";
    }
    if (c->rq && c->rq->emergency)
        a->reason = sk_arena_sprintf(c->arena, "[emergency] %s", a->reason);
    if (ev->justification && ev->justification[0])
        dr_trace(c, sk_arena_sprintf(c->arena, "justification: %s", ev->justification));
    if (ev->comment && ev->comment[0])
        dr_trace(c, sk_arena_sprintf(c->arena, "comment: %s", ev->comment));
    const char **ids = sk_arena_calloc(c->arena, out->base.n_commands + 1, sizeof(*ids));
    const char **tr = sk_arena_calloc(c->arena, c->n_trace + 1, sizeof(*tr));
    if (!ids || !tr || !a->reason)
        return SK_ENOMEM;
    for (size_t i = 0; i < out->base.n_commands; i++)
        ids[i] = out->base.commands[i].command_id;
    if (c->n_trace)
        memcpy(tr, c->trace, c->n_trace * sizeof(*tr));
    a->command_ids = ids;
    a->n_commands = out->base.n_commands;
    a->trace = tr;
    a->n_trace = c->n_trace;
    return 0;
}

/* The user's next wake-up: the earliest source expiry, or the earliest
 * future start of a grant window of a shift (the same as sk_decide). */
static sk_ms_t next_wake(dr_ctx_t *c, const sk_user_state_t *st)
{
    sk_ms_t wake = sk_decide_next_window_start(c->rules, st->shifts, st->n_shifts,
                                               c->in->now_ms);
    for (size_t i = 0; i < st->n_sources; i++)
        wake = dr_ms_min(wake, st->sources[i].expires_ms);
    return wake;
}

/* ---- the decision ---- */

static int dispatch(dr_ctx_t *c)
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
    case SK_REQ_COMMENTED: return dr_on_commented(c);
    case SK_REQ_REMINDER_SENT: return dr_on_reminder(c);
    case SK_REQ_REASSIGNED: return dr_on_reassigned(c);
    case SK_REQ_PROCESS_NOW: return dr_on_process_now(c);
    case SK_REQ_RESTARTED:
    case SK_REQ_HARD_RESET:
    case SK_REQ_POLICY_CHANGED: return dr_on_restart(c);
    case SK_REQ_STEP_SKIPPED: return dr_on_step_skipped(c);
    case SK_REQ_DELETED: return dr_on_deleted(c);
    case SK_REQ_REVOCATION_PROPOSED: return dr_on_revocation_proposed(c);
    default:
        c->word = "not_supported";
        c->reason = sk_arena_sprintf(c->arena, "%s is not supported yet; nothing changed",
                                     sk_request_event_type_name(c->ev->type));
        return 0;
    }
}

/* Validates what the rules cannot judge; 1 when the event may be decided. */
static int valid_event(dr_ctx_t *c)
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
    else if (!ev->target || (creates || *ev->target
                                 ? !sk_id_valid(ev->target, strlen(ev->target))
                                 : false))
        why = "missing or invalid target"; /* actions after CREATED may leave it empty */
    if (why)
        dr_reject(c, SK_DL_INVALID, why);
    return why == NULL;
}

int dr_begin(dr_ctx_t *c, const sk_rules_t *rules, const sk_request_input_t *in,
             const sk_user_state_t *state, sk_arena_t *arena, sk_request_decision_t *out)
{
    memset(c, 0, sizeof(*c));
    memset(out, 0, sizeof(*out));
    c->rules = rules;
    c->in = in;
    c->ev = in->event;
    c->old = state;
    c->arena = arena;
    c->out = out;
    c->rerun_step = -1;
    out->base.next_wake_ms = SK_MS_NONE;
    c->cap_sources = state->n_sources + 1;
    c->requests = sk_arena_calloc(arena, state->n_requests + 1, sizeof(*c->requests));
    c->sources = sk_arena_calloc(arena, c->cap_sources, sizeof(*c->sources));
    c->open_tasks = sk_arena_calloc(arena, state->n_open_tasks + 1, sizeof(*c->open_tasks));
    c->retries = sk_arena_calloc(arena, state->n_retries + 1, sizeof(*c->retries));
    if (!c->requests || !c->sources || !c->open_tasks || !c->retries)
        return SK_ENOMEM;
    if (state->n_retries)
        memcpy(c->retries, state->retries, state->n_retries * sizeof(*c->retries));
    c->n_retries = state->n_retries;
    if (state->n_requests)
        memcpy(c->requests, state->requests, state->n_requests * sizeof(*c->requests));
    if (state->n_sources)
        memcpy(c->sources, state->sources, state->n_sources * sizeof(*c->sources));
    if (state->n_open_tasks)
        memcpy(c->open_tasks, state->open_tasks, state->n_open_tasks * sizeof(*c->open_tasks));
    c->n_requests = state->n_requests;
    c->n_sources = state->n_sources;
    c->n_open_tasks = state->n_open_tasks;
    c->requester = sk_rules_person(rules, state->user);
    return 0;
}

/* The new state's commands (from the sources before and after). */
static int new_state(dr_ctx_t *c)
{
    sk_decision_t *d = &c->out->base;
    if (c->rq)
        c->rq->updated_ms = c->in->now_ms;
    d->state.requests = c->requests;
    d->state.n_requests = c->n_requests;
    d->state.sources = c->sources;
    d->state.n_sources = c->n_sources;
    d->state.open_tasks = c->open_tasks;
    d->state.n_open_tasks = c->n_open_tasks;
    d->state.retries = c->retries;
    d->state.n_retries = c->n_retries;
    return sk_decide_commands(c->rules, c->old->user, c->in->now_ms, c->old, c->sources,
                              c->n_sources, c->arena, d);
}

/* The steps every decision of the user ends with (decide.h):
 * DEPROVISIONING tasks, due retries (not on a refusal: it changes
 * nothing, they wait for the timer), closed requests forgotten; each
 * lowers *wake. A rejected event only reads their times. */
static int close_out(dr_ctx_t *c, sk_ms_t *wake)
{
    sk_decision_t *d = &c->out->base;
    size_t n_cmds = d->n_commands, n_tasks = d->n_tasks;
    if (d->rejected)
        return sk_decide_pending_wake(c->rules, c->in->now_ms, &d->state, c->arena, wake);
    if (sk_decide_deprovisioning(c->rules, c->in->now_ms, c->arena, d))
        return SK_ENOMEM;
    if (!c->out->refused && sk_decide_retries(c->rules, c->in->now_ms, c->arena, d, wake))
        return SK_ENOMEM;
    for (size_t i = 0; c->out->refused && i < d->state.n_retries; i++)
        *wake = dr_ms_min(*wake, d->state.retries[i].next_ms);
    for (size_t i = n_tasks; i < d->n_tasks; i++)
        dr_trace(c, d->tasks[i].reason);
    for (size_t i = n_cmds; i < d->n_commands; i++)
        dr_trace(c, d->commands[i].reason);
    int pruned = sk_decide_prune(c->rules, c->in->now_ms, &d->state, c->arena, wake);
    if (pruned < 0)
        return SK_ENOMEM;
    if (pruned > 0)
        dr_trace(c, sk_arena_sprintf(c->arena, "forgot %d closed request(s) older than the "
                                               "memory of %s",
                                     pruned, dr_fmt_dur(c, SK_SHIFT_MEMORY_MS)));
    return 0;
}

int dr_finish(dr_ctx_t *c)
{
    sk_decision_t *d = &c->out->base;
    sk_ms_t wake = SK_MS_NONE;
    d->state = *c->old;
    if (!d->rejected && !c->out->refused && c->changed && new_state(c))
        return SK_ENOMEM;
    d->tasks = sk_arena_calloc(c->arena, c->n_tasks + 1, sizeof(*d->tasks));
    if (!d->tasks)
        return SK_ENOMEM;
    if (c->n_tasks)
        memcpy(d->tasks, c->tasks, c->n_tasks * sizeof(*d->tasks));
    d->n_tasks = c->n_tasks;
    if (close_out(c, &wake))
        return SK_ENOMEM;
    d->next_wake_ms = dr_ms_min(next_wake(c, &d->state), wake);
    d->keep_until_ms =
        sk_state_awaits_people(&d->state)
            ? SK_MS_NONE
            : dr_ms_add(d->next_wake_ms == SK_MS_NONE ? c->in->now_ms : d->next_wake_ms,
                        SK_SHIFT_MEMORY_MS);
    if (sk_state_diff(c->arena, c->old, &d->state, &d->diff))
        return SK_ENOMEM;
    return fill_audit(c);
}

int sk_decide_request(const sk_rules_t *rules, const sk_request_input_t *in,
                      const sk_user_state_t *state, sk_arena_t *arena,
                      sk_request_decision_t *out)
{
    dr_ctx_t c;
    int rc;

    assert(rules && in && in->event && state && state->user && arena && out);
    if ((rc = dr_begin(&c, rules, in, state, arena, out)) != 0)
        return rc;
    if (valid_event(&c)) {
        for (size_t i = 0; i < c.n_requests; i++)
            if (strcmp(c.requests[i].id, c.ev->request_id) == 0)
                c.rq = &c.requests[i];
        if ((rc = dispatch(&c)) != 0)
            return rc;
    }
    return dr_finish(&c);
}
