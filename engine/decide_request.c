/* decide_request.c — the pure decision for access requests (see
 * decide_request.h for the contract, docs/requests-design.md for the plan). */
#include "decide_request.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "expr.h"

#define MAX_TASKS 8

/* Working memory of one decision. */
typedef struct req_ctx {
    const sk_rules_t *rules;
    const sk_request_input_t *in;
    const sk_request_event_t *ev;
    const sk_user_state_t *old;
    sk_arena_t *arena;
    sk_request_decision_t *out;
    const sk_person_t *requester;      /* NULL when not in the directory */
    sk_request_state_t *requests;      /* the new request table */
    size_t n_requests;
    sk_request_state_t *rq;            /* the request acted on, in requests */
    sk_grant_source_t *sources;        /* the new sources */
    size_t n_sources;
    const char *trace[64];
    size_t n_trace;
    sk_task_t tasks[MAX_TASKS];
    size_t n_tasks;
    bool changed;                      /* the request table changed */
    const char *word;                  /* audit decision when no command */
    const char *reason;                /* audit reason when no command */
} req_ctx_t;

static sk_ms_t ms_min(sk_ms_t a, sk_ms_t b) { return a < b ? a : b; }

static sk_ms_t ms_add(sk_ms_t a, sk_ms_t b)
{
    return a > SK_MS_NONE - b ? SK_MS_NONE : a + b;
}

static void trace(req_ctx_t *c, const char *line)
{
    if (!line)
        return;
    if (c->n_trace < SK_ARRAY_LEN(c->trace) - 1)
        c->trace[c->n_trace++] = line;
    else if (c->n_trace == SK_ARRAY_LEN(c->trace) - 1)
        c->trace[c->n_trace++] = "(trace truncated)";
}

static const char *fmt_dur(req_ctx_t *c, sk_ms_t ms)
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

static int reject(req_ctx_t *c, sk_dead_letter_kind_t kind, const char *reason)
{
    c->out->base.rejected = true;
    c->out->base.reject_kind = kind;
    c->out->base.reject_reason = reason ? reason : "rejected";
    return 0;
}

static int refuse(req_ctx_t *c, const char *reason)
{
    c->out->refused = true;
    c->out->refuse_reason = reason ? reason : "refused";
    trace(c, c->out->refuse_reason);
    return 0;
}

/* ---- tasks ---- */

/* A task id: deterministic over subject, request, policy, emergency flag,
 * step and a tag, so a replay produces the same task. */
static const char *task_id(req_ctx_t *c, const char *policy, int step, const char *tag)
{
    XXH3_state_t st;
    char num[32], *out = sk_arena_alloc(c->arena, 33);
    if (!out)
        return NULL;
    XXH3_128bits_reset(&st);
    XXH3_128bits_update(&st, c->old->user, strlen(c->old->user) + 1);
    XXH3_128bits_update(&st, c->ev->request_id, strlen(c->ev->request_id) + 1);
    XXH3_128bits_update(&st, policy, strlen(policy) + 1);
    XXH3_128bits_update(&st, tag, strlen(tag) + 1);
    snprintf(num, sizeof(num), "%d:%d", step, c->rq && c->rq->emergency ? 1 : 0);
    XXH3_128bits_update(&st, num, strlen(num) + 1);
    hash_hex(&st, out);
    return out;
}

/* Adds a REQUEST_REVIEW task record for the current step of c->rq (or, with
 * no request, for the refused creation). */
static int add_task(req_ctx_t *c, sk_task_state_t state, sk_task_outcome_t outcome,
                    const char *reason)
{
    assert(c->n_tasks < MAX_TASKS);
    sk_task_t *t = &c->tasks[c->n_tasks];
    const sk_request_state_t *rq = c->rq;
    memset(t, 0, sizeof(*t));
    t->kind = SK_TASK_REQUEST_REVIEW;
    t->state = state;
    t->outcome = state == SK_TASK_CLOSED ? outcome : SK_TASK_OUTCOME_NONE;
    t->request_id = c->ev->request_id;
    t->subject = c->old->user;
    t->target = rq ? rq->target : c->ev->target;
    t->step = rq ? rq->step + 1 : 0;
    t->n_assignees = rq ? rq->n_assignees : 0;
    t->assignees = rq ? (const char *const *)rq->assignees : NULL;
    t->emergency = rq ? rq->emergency : c->ev->emergency;
    t->reason = reason;
    t->at_ms = c->in->now_ms;
    t->task_id = rq ? task_id(c, rq->policy, rq->step, "review")
                    : task_id(c, "", 0, "refused");
    if (!t->task_id || !t->reason)
        return SK_ENOMEM;
    c->n_tasks++;
    return 0;
}

/* ---- who the requester is ---- */

/* On call now in rotation_id: an open shift of the requester covering now. */
static int cb_on_call(void *user, const char *rotation_id)
{
    const req_ctx_t *c = user;
    sk_ms_t now = c->in->now_ms;
    for (size_t i = 0; i < c->old->n_shifts; i++) {
        const sk_shift_t *sh = &c->old->shifts[i];
        if (sh->status == SK_SHIFT_STATUS_OPEN && strcmp(sh->rotation, rotation_id) == 0 &&
            sh->start_ms <= now && (sh->end_ms == SK_MS_NONE || now < sh->end_ms))
            return 1;
    }
    return 0;
}

static int cb_in_group(void *user, const char *group_id)
{
    const req_ctx_t *c = user;
    const sk_group_t *g = sk_rules_group(c->rules, group_id);
    return c->requester && g && sk_rules_in_group(c->requester, g);
}

/* NULL when requestable now, else why not. */
static const char *not_requestable(req_ctx_t *c, const sk_request_settings_t *set)
{
    const char *why = "";
    for (size_t i = 0; i < set->n_requestable_by; i++) {
        const sk_requester_rule_t *r = &set->requestable_by[i];
        switch (r->kind) {
        case SK_REQUESTER_EVERYONE:
            return NULL;
        case SK_REQUESTER_ROTATION:
            if (cb_on_call(c, r->rotation->id))
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

/* ---- reviewers ---- */

static bool has_id(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static void add_id(const char **ids, size_t *n, const char *id, const char *requester,
                   bool self_ok)
{
    if (!self_ok && strcmp(id, requester) == 0)
        return;
    if (!has_id(ids, *n, id))
        ids[(*n)++] = id;
}

static void add_group(const char **ids, size_t *n, const sk_group_t *g, const char *requester,
                      bool self_ok)
{
    for (size_t i = 0; g && i < g->n_members; i++)
        add_id(ids, n, g->members[i]->id, requester, self_ok);
}

/* Resolves the assignees of a reviewers step into c->rq; 0 or SK_ENOMEM. */
static int resolve_reviewers(req_ctx_t *c, const sk_reviewers_t *rv)
{
    const char *me = c->old->user;
    bool self = rv->allow_self_approval != 0;
    const sk_oncall_list_t *oc = NULL;
    size_t cap = rv->n_users + 2;
    if (rv->group)
        cap += rv->group->n_members;
    const sk_entitlement_t *ent = sk_rules_entitlement(c->rules, c->rq->target);
    const sk_app_t *app = ent ? sk_rules_app(c->rules, ent->app) : NULL;
    if (rv->app_owner && app && app->owner_group)
        cap += app->owner_group->n_members;
    for (size_t i = 0; rv->on_call && i < c->in->n_oncall; i++)
        if (strcmp(c->in->oncall[i].rotation, rv->on_call->id) == 0)
            oc = &c->in->oncall[i];
    cap += oc ? oc->n_users : 0;
    const char **ids = sk_arena_calloc(c->arena, cap + 1, sizeof(*ids));
    size_t n = 0;
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
    c->rq->assignees = ids;
    c->rq->n_assignees = n;
    c->rq->approvers = NULL;
    c->rq->n_approvers = 0;
    return 0;
}

/* ---- running the policy ---- */

static int close_request(req_ctx_t *c, sk_request_status_t st, sk_task_outcome_t outcome,
                         const char *word, const char *reason)
{
    c->rq->status = st;
    c->word = word;
    c->reason = reason;
    trace(c, reason);
    return add_task(c, SK_TASK_CLOSED, outcome, reason);
}

/* Every step passed: the request becomes a grant source. */
static int grant(req_ctx_t *c)
{
    const sk_entitlement_t *ent = sk_rules_entitlement(c->rules, c->rq->target);
    sk_request_state_t *rq = c->rq;
    if (!ent)
        return close_request(c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
                             sk_arena_sprintf(c->arena, "entitlement '%s' is no longer in the rules",
                                              rq->target));
    sk_ms_t dur = ms_min(rq->duration_ms, ent->max_duration_ms);
    sk_grant_source_t *s = &c->sources[c->n_sources++];
    s->ent_key = ent->key;
    s->kind = rq->emergency ? SK_SOURCE_EMERGENCY : SK_SOURCE_REQUEST;
    s->id = rq->id;
    s->rotation = "";
    s->expires_ms = ms_add(c->in->now_ms, dur);
    rq->status = SK_REQUEST_APPROVED;
    rq->assignees = NULL;
    rq->n_assignees = 0;
    if (dur < rq->duration_ms)
        trace(c, sk_arena_sprintf(c->arena, "duration %s capped to the maximum %s of '%s'",
                                  fmt_dur(c, rq->duration_ms), fmt_dur(c, dur), ent->key));
    c->word = "granted";
    c->reason = sk_arena_sprintf(c->arena, "request '%s' approved (policy '%s') for %s",
                                 rq->id, rq->policy, fmt_dur(c, dur));
    trace(c, c->reason);
    return 0;
}

/* Runs the frozen policy of c->rq from its current step until a reviewers
 * step waits, a condition denies, or every step passed (grant). */
static int run_steps(req_ctx_t *c)
{
    sk_request_state_t *rq = c->rq;
    const sk_policy_t *pol = sk_rules_policy(c->rules, rq->policy);
    if (!pol)
        return close_request(c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
                             sk_arena_sprintf(c->arena, "policy '%s' is no longer in the rules",
                                              rq->policy));
    for (; rq->step < (int)pol->n_steps; rq->step++) {
        const sk_policy_step_t *st = &pol->steps[rq->step];
        if (st->kind == SK_STEP_AUTO_APPROVE) {
            trace(c, sk_arena_sprintf(c->arena, "policy '%s' step %d: auto_approve", pol->id,
                                      rq->step + 1));
        } else if (st->kind == SK_STEP_CONDITION) {
            sk_expr_ctx_t x = {.user = c, .on_call = cb_on_call, .in_group = cb_in_group,
                               .duration_ms = rq->duration_ms, .emergency = rq->emergency};
            int v = sk_expr_eval(st->condition, &x);
            trace(c, sk_arena_sprintf(c->arena, "policy '%s' step %d: condition '%s' is %s",
                                      pol->id, rq->step + 1, st->condition_text,
                                      v ? "true" : "false"));
            if (!v)
                return close_request(c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
                                     sk_arena_sprintf(c->arena,
                                                      "denied: condition '%s' of policy '%s' "
                                                      "step %d is false",
                                                      st->condition_text, pol->id, rq->step + 1));
        } else {
            if (resolve_reviewers(c, &st->reviewers))
                return SK_ENOMEM;
            if (rq->n_assignees == 0)
                return close_request(c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
                                     sk_arena_sprintf(c->arena,
                                                      "denied: nobody can review step %d of "
                                                      "policy '%s'",
                                                      rq->step + 1, pol->id));
            c->word = "pending";
            c->reason = sk_arena_sprintf(c->arena,
                                         "waiting for %d approval(s) at step %d of policy '%s'",
                                         st->reviewers.approvals, rq->step + 1, pol->id);
            trace(c, c->reason);
            return add_task(c, SK_TASK_CREATED, SK_TASK_OUTCOME_NONE, c->reason);
        }
    }
    return grant(c);
}

/* ---- events ---- */

static int on_created(req_ctx_t *c)
{
    const sk_request_event_t *ev = c->ev;
    if (c->rq) {
        c->word = "ignored";
        c->reason = sk_arena_sprintf(c->arena, "request '%s' already exists; duplicate ignored",
                                     ev->request_id);
        return 0;
    }
    if (ev->target_kind != SK_TARGET_ENTITLEMENT) {
        c->word = "not_supported";
        c->reason = "requests for a profile are not supported yet; nothing changed";
        return 0;
    }
    const sk_entitlement_t *ent = sk_rules_entitlement(c->rules, ev->target);
    if (!ent)
        return reject(c, SK_DL_UNKNOWN_REFERENCE,
                      sk_arena_sprintf(c->arena, "entitlement '%s' is not in the rules (version %s)",
                                       ev->target, sk_rules_version(c->rules)));
    if (ev->duration_ms == SK_MS_NONE || ev->duration_ms <= 0)
        return reject(c, SK_DL_INVALID,
                      sk_arena_sprintf(c->arena, "request '%s' has no positive duration",
                                       ev->request_id));
    const sk_request_settings_t *set = sk_rules_request_settings(c->rules, ent->key);
    const char *why = !set ? sk_arena_sprintf(c->arena, "'%s' cannot be requested (no request "
                                                        "block): only enrollments grant it",
                                              ent->key)
                           : not_requestable(c, set);
    /* secure defaults: only self-service entitlements are requested, and
     * hand-provisioned ones wait for provisioning tasks (not built yet) */
    if (!why && !set->self_service)
        why = sk_arena_sprintf(c->arena, "'%s' is not self-service (%s): it is granted by "
                                         "enrollments only",
                               ent->key, set->declared_in);
    if (!why && set->provisioning == SK_PROVISIONING_MANUAL)
        why = sk_arena_sprintf(c->arena, "'%s' is provisioned by hand, and provisioning tasks "
                                         "are not supported yet: ask its provisioners",
                               ent->key);
    if (!why && ev->emergency && !set->emergency_policy)
        why = sk_arena_sprintf(c->arena, "'%s' has no emergency_policy: no emergency requests",
                               ent->key);
    if (why) {
        refuse(c, why);
        return add_task(c, SK_TASK_CLOSED, SK_TASK_DENIED, why);
    }
    sk_request_state_t *rq = &c->requests[c->n_requests++];
    memset(rq, 0, sizeof(*rq));
    rq->id = ev->request_id;
    rq->status = SK_REQUEST_OPEN;
    rq->target_kind = ev->target_kind;
    rq->target = ent->key;
    rq->duration_ms = ev->duration_ms;
    rq->emergency = ev->emergency;
    rq->policy = ev->emergency ? set->emergency_policy->id : set->policy->id;
    rq->rules_version = sk_rules_version(c->rules);
    rq->created_ms = c->in->now_ms;
    c->rq = rq;
    c->changed = true;
    trace(c, sk_arena_sprintf(c->arena, "request '%s' for '%s' (%s, %s): policy '%s' from %s",
                              rq->id, rq->target, fmt_dur(c, rq->duration_ms),
                              rq->emergency ? "emergency" : "normal", rq->policy,
                              set->declared_in));
    return run_steps(c);
}

/* Checks that the request exists and is open; refuses or rejects when not.
 * Returns 1 when the event may act on it. */
static int need_open(req_ctx_t *c)
{
    if (!c->rq) {
        reject(c, SK_DL_UNKNOWN_REFERENCE,
               sk_arena_sprintf(c->arena, "request '%s' of '%s' is not known",
                                c->ev->request_id, c->old->user));
        return 0;
    }
    if (c->rq->status != SK_REQUEST_OPEN) {
        refuse(c, sk_arena_sprintf(c->arena, "request '%s' is already %s; %s refused",
                                   c->rq->id, sk_request_status_name(c->rq->status),
                                   sk_request_event_type_name(c->ev->type)));
        return 0;
    }
    return 1;
}

/* The current reviewers step of c->rq, or NULL. */
static const sk_policy_step_t *current_step(req_ctx_t *c)
{
    const sk_policy_t *pol = sk_rules_policy(c->rules, c->rq->policy);
    if (!pol || c->rq->step >= (int)pol->n_steps ||
        pol->steps[c->rq->step].kind != SK_STEP_REVIEWERS)
        return NULL;
    return &pol->steps[c->rq->step];
}

/* 1 when the actor may act on the current step, else refuses. */
static int actor_assigned(req_ctx_t *c, const sk_policy_step_t *st)
{
    const char *actor = c->ev->actor;
    if (!st) {
        refuse(c, sk_arena_sprintf(c->arena, "request '%s' waits at no reviewers step",
                                   c->rq->id));
        return 0;
    }
    if (strcmp(actor, c->old->user) == 0 && !st->reviewers.allow_self_approval) {
        refuse(c, sk_arena_sprintf(c->arena, "'%s' may not review their own request '%s': "
                                             "policy '%s' step %d does not allow self-approval",
                                   actor, c->rq->id, c->rq->policy, c->rq->step + 1));
        return 0;
    }
    if (!has_id(c->rq->assignees, c->rq->n_assignees, actor)) {
        refuse(c, sk_arena_sprintf(c->arena, "'%s' is not an assignee of step %d of request "
                                             "'%s'; %s refused",
                                   actor, c->rq->step + 1, c->rq->id,
                                   sk_request_event_type_name(c->ev->type)));
        return 0;
    }
    return 1;
}

static int on_review(req_ctx_t *c)
{
    if (!need_open(c))
        return 0;
    const sk_policy_step_t *st = current_step(c);
    if (!actor_assigned(c, st))
        return 0;
    sk_request_state_t *rq = c->rq;
    const char *actor = c->ev->actor;
    c->changed = true;
    if (c->ev->type == SK_REQ_DENIED)
        return close_request(c, SK_REQUEST_DENIED, SK_TASK_DENIED, "denied",
                             sk_arena_sprintf(c->arena, "denied by '%s' at step %d of policy '%s'",
                                              actor, rq->step + 1, rq->policy));
    if (has_id(rq->approvers, rq->n_approvers, actor)) {
        c->changed = false;
        c->word = "ignored";
        c->reason = sk_arena_sprintf(c->arena, "'%s' already approved step %d", actor,
                                     rq->step + 1);
        return 0;
    }
    const char **ap = sk_arena_calloc(c->arena, rq->n_approvers + 2, sizeof(*ap));
    if (!ap)
        return SK_ENOMEM;
    if (rq->n_approvers)
        memcpy(ap, rq->approvers, rq->n_approvers * sizeof(*ap));
    ap[rq->n_approvers++] = actor;
    rq->approvers = ap;
    const char *line = sk_arena_sprintf(c->arena, "approved by '%s' (%zu of %d) at step %d of "
                                                  "policy '%s'",
                                        actor, rq->n_approvers, st->reviewers.approvals,
                                        rq->step + 1, rq->policy);
    trace(c, line);
    if ((int)rq->n_approvers < st->reviewers.approvals) {
        c->word = "pending";
        c->reason = line;
        return add_task(c, SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, line);
    }
    if (add_task(c, SK_TASK_CLOSED, SK_TASK_APPROVED, line))
        return SK_ENOMEM;
    rq->step++;
    return run_steps(c);
}

static int on_cancelled(req_ctx_t *c)
{
    if (!need_open(c))
        return 0;
    if (strcmp(c->ev->actor, c->old->user) != 0)
        return refuse(c, sk_arena_sprintf(c->arena, "only the requester '%s' may cancel "
                                                    "request '%s' (not '%s')",
                                          c->old->user, c->rq->id, c->ev->actor));
    c->changed = true;
    return close_request(c, SK_REQUEST_CANCELLED, SK_TASK_CANCELLED, "cancelled",
                         sk_arena_sprintf(c->arena, "cancelled by the requester '%s'",
                                          c->ev->actor));
}

static int on_duration_changed(req_ctx_t *c)
{
    if (!need_open(c) || !actor_assigned(c, current_step(c)))
        return 0;
    if (c->ev->duration_ms == SK_MS_NONE || c->ev->duration_ms <= 0)
        return reject(c, SK_DL_INVALID, "DURATION_CHANGED without a positive duration");
    sk_request_state_t *rq = c->rq;
    c->reason = sk_arena_sprintf(c->arena, "duration changed from %s to %s by '%s'",
                                 fmt_dur(c, rq->duration_ms), fmt_dur(c, c->ev->duration_ms),
                                 c->ev->actor);
    rq->duration_ms = c->ev->duration_ms;
    c->changed = true;
    c->word = "state_updated";
    trace(c, c->reason);
    return add_task(c, SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, c->reason);
}

static int on_escalated(req_ctx_t *c)
{
    if (!need_open(c))
        return 0;
    sk_request_state_t *rq = c->rq;
    const char *actor = c->ev->actor;
    const sk_request_settings_t *set = sk_rules_request_settings(c->rules, rq->target);
    if (strcmp(actor, c->old->user) != 0 && !has_id(rq->assignees, rq->n_assignees, actor))
        return refuse(c, sk_arena_sprintf(c->arena, "'%s' is neither the requester nor an "
                                                    "assignee of request '%s'",
                                          actor, rq->id));
    if (rq->emergency)
        return refuse(c, sk_arena_sprintf(c->arena, "request '%s' is already an emergency "
                                                    "request", rq->id));
    if (!set || !set->emergency_policy)
        return refuse(c, sk_arena_sprintf(c->arena, "'%s' has no emergency_policy: cannot "
                                                    "escalate", rq->target));
    const char *why = sk_arena_sprintf(c->arena, "escalated by '%s' to emergency policy '%s'",
                                       actor, set->emergency_policy->id);
    if (rq->n_assignees) {
        /* closed under its own id (made while not an emergency), flagged */
        if (add_task(c, SK_TASK_CLOSED, SK_TASK_CANCELLED, why))
            return SK_ENOMEM;
        c->tasks[c->n_tasks - 1].emergency = true;
    }
    trace(c, why);
    rq->emergency = true;
    rq->policy = set->emergency_policy->id;
    rq->rules_version = sk_rules_version(c->rules);
    rq->step = 0;
    rq->approvers = rq->assignees = NULL;
    rq->n_approvers = rq->n_assignees = 0;
    c->changed = true;
    return run_steps(c);
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

static int fill_audit(req_ctx_t *c)
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
        trace(c, sk_arena_sprintf(c->arena, "justification: %s", ev->justification));
    if (ev->comment && ev->comment[0])
        trace(c, sk_arena_sprintf(c->arena, "comment: %s", ev->comment));
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
 * future start of a grant window of an open shift (as sk_decide computes). */
static sk_ms_t next_wake(req_ctx_t *c, const sk_user_state_t *st)
{
    sk_ms_t wake = SK_MS_NONE, now = c->in->now_ms;
    for (size_t i = 0; i < st->n_sources; i++)
        wake = ms_min(wake, st->sources[i].expires_ms);
    for (size_t i = 0; i < st->n_shifts; i++) {
        const sk_shift_t *sh = &st->shifts[i];
        const sk_rotation_t *rot = sk_rules_rotation(c->rules, sh->rotation);
        if (sh->status != SK_SHIFT_STATUS_OPEN || !rot)
            continue;
        for (size_t j = 0; j < rot->n_edges; j++) {
            sk_ms_t from = sh->start_ms - rot->edges[j].grant_before_ms;
            if (sh->start_ms >= INT64_MIN + rot->edges[j].grant_before_ms && now < from)
                wake = ms_min(wake, from);
        }
    }
    return wake;
}

/* ---- the decision ---- */

static int dispatch(req_ctx_t *c)
{
    switch (c->ev->type) {
    case SK_REQ_CREATED: return on_created(c);
    case SK_REQ_APPROVED:
    case SK_REQ_DENIED: return on_review(c);
    case SK_REQ_CANCELLED: return on_cancelled(c);
    case SK_REQ_DURATION_CHANGED: return on_duration_changed(c);
    case SK_REQ_ESCALATED: return on_escalated(c);
    default:
        c->word = "not_supported";
        c->reason = sk_arena_sprintf(c->arena, "%s is not supported yet; nothing changed",
                                     sk_request_event_type_name(c->ev->type));
        return 0;
    }
}

/* Validates what the rules cannot judge; 1 when the event may be decided. */
static int valid_event(req_ctx_t *c)
{
    const sk_request_event_t *ev = c->ev;
    const char *why = NULL;
    if (!ev->request_id || !sk_id_valid(ev->request_id, strlen(ev->request_id)))
        why = "missing or invalid request_id";
    else if (!ev->subject || strcmp(ev->subject, c->old->user) != 0)
        why = "the event's subject is not the user whose state was read";
    else if (!ev->actor || !sk_id_valid(ev->actor, strlen(ev->actor)))
        why = "missing or invalid actor";
    else if ((unsigned)ev->type >= SK_REQ_EVENT_TYPE_COUNT)
        why = "unknown request event type";
    else if (!ev->target || (ev->type == SK_REQ_CREATED || *ev->target
                                 ? !sk_id_valid(ev->target, strlen(ev->target))
                                 : false))
        why = "missing or invalid target"; /* actions after CREATED may leave it empty */
    if (why)
        reject(c, SK_DL_INVALID, why);
    return why == NULL;
}

int sk_decide_request(const sk_rules_t *rules, const sk_request_input_t *in,
                      const sk_user_state_t *state, sk_arena_t *arena,
                      sk_request_decision_t *out)
{
    req_ctx_t c = {.rules = rules, .in = in, .ev = in ? in->event : NULL, .old = state,
                   .arena = arena, .out = out};
    sk_decision_t *d = &out->base;
    int rc = SK_ENOMEM;

    assert(rules && in && in->event && state && state->user && arena && out);
    memset(out, 0, sizeof(*out));
    d->next_wake_ms = SK_MS_NONE;
    c.requests = sk_arena_calloc(arena, state->n_requests + 1, sizeof(*c.requests));
    c.sources = sk_arena_calloc(arena, state->n_sources + 1, sizeof(*c.sources));
    if (!c.requests || !c.sources)
        goto out;
    if (state->n_requests)
        memcpy(c.requests, state->requests, state->n_requests * sizeof(*c.requests));
    if (state->n_sources)
        memcpy(c.sources, state->sources, state->n_sources * sizeof(*c.sources));
    c.n_requests = state->n_requests;
    c.n_sources = state->n_sources;
    c.requester = sk_rules_person(rules, state->user);
    if (valid_event(&c)) {
        for (size_t i = 0; i < c.n_requests; i++)
            if (strcmp(c.requests[i].id, c.ev->request_id) == 0)
                c.rq = &c.requests[i];
        if ((rc = dispatch(&c)) != 0)
            goto out;
        rc = SK_ENOMEM;
    }
    d->state = *state;
    if (!d->rejected && !out->refused && c.changed) {
        c.rq->updated_ms = in->now_ms;
        d->state.requests = c.requests;
        d->state.n_requests = c.n_requests;
        d->state.sources = c.sources;
        d->state.n_sources = c.n_sources;
        if (sk_decide_commands(rules, state->user, in->now_ms, state, c.sources, c.n_sources,
                               arena, d))
            goto out;
        for (size_t i = 0; i < d->n_commands; i++)
            for (size_t j = 0; j < d->commands[i].n_sources; j++)
                if (d->commands[i].sources[j].kind == SK_SOURCE_EMERGENCY)
                    d->commands[i].emergency = true;
    }
    d->next_wake_ms = next_wake(&c, &d->state);
    d->keep_until_ms = ms_add(d->next_wake_ms == SK_MS_NONE ? in->now_ms : d->next_wake_ms,
                              SK_SHIFT_MEMORY_MS);
    if (sk_state_diff(arena, state, &d->state, &d->diff))
        goto out;
    d->tasks = sk_arena_calloc(arena, c.n_tasks + 1, sizeof(*d->tasks));
    if (!d->tasks)
        goto out;
    if (c.n_tasks)
        memcpy(d->tasks, c.tasks, c.n_tasks * sizeof(*d->tasks));
    d->n_tasks = c.n_tasks;
    rc = fill_audit(&c);
out:
    return rc;
}
