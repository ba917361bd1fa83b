/*
 * result.c — the decider of provisioning results
 * (shiftkey.provisioning.results.v1), sk_decide_result (see
 * decide_request.h for the contract). A result answers, by its command_id,
 * one of:
 *   - the PROVISIONING task of a request (its id is recomputed from the
 *     request's q: field): only its provisioners may answer;
 *   - an open DEPROVISIONING task ("t:" field): only its provisioners;
 *   - anything else: a command handled by an automatic provisioner (its
 *     retries are scheduled here and made by the closing steps,
 *     followups.c).
 * A FOUND result answers no command: a provisioner's reconciliation found
 * the user holding an entitlement outside shiftkey; it is kept as a source
 * of kind F (no expiry, no GRANT: the access exists), so that access review
 * campaigns see it and a revoke takes it away.
 * Built on the request deciders' working memory (request_ctx.c).
 */
#include "decide/decide_request.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "decide/commands.h"
#include "decide/followups.h"
#include "decide/request_policy.h"

/* ": message", or "" when the result has none. */
static const char *with_message(sk_rq_ctx_t *c, const sk_provisioning_result_t *r)
{
    if (!r->message || !r->message[0])
        return "";
    return sk_arena_sprintf(c->arena, ": %s", r->message);
}

static int not_a_provisioner(sk_rq_ctx_t *c, const sk_provisioning_result_t *r, const char *what)
{
    return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                            "'%s' is not a provisioner of %s; %s result "
                                            "refused",
                                            r->provisioner, what,
                                            sk_provisioning_status_name(r->result)));
}

/* ---- the PROVISIONING task of a request ---- */

static int on_provisioning(sk_rq_ctx_t *c, const sk_provisioning_result_t *r)
{
    sk_request_state_t *rq = c->rq;
    const char *who = r->provisioner, *msg = with_message(c, r);
    if (!sk_decide_has_id(rq->assignees, rq->n_assignees, who))
        return not_a_provisioner(c, r, sk_arena_sprintf(c->arena, "request '%s'", rq->id));
    if (r->result == SK_PROV_PROVISIONED && !sk_rules_entitlement(c->rules, rq->target)) {
        c->changed = true;
        return sk_rq_close_request(c, SK_REQUEST_DENIED, SK_TASK_CANCELLED, "denied",
                                   sk_arena_sprintf(c->arena,
                                                    "'%s' is no longer in the rules: "
                                                    "request '%s' is not granted",
                                                    rq->target, rq->id));
    }
    switch (r->result) {
    case SK_PROV_PROVISIONED: {
        const char *line = sk_arena_sprintf(c->arena, "'%s' provisioned '%s' for '%s' by hand%s",
                                            who, rq->target, c->old->user, msg);
        sk_rq_trace(c, line);
        if (sk_rq_task(c, SK_TASK_PROVISIONING, SK_TASK_CLOSED, SK_TASK_PROVISIONED, line))
            return SK_ENOMEM;
        return sk_rq_grant_now(c);
    }
    case SK_PROV_WONT_PROVISION:
        c->changed = true;
        return sk_rq_close_request(c, SK_REQUEST_DENIED, SK_TASK_WONT_PROVISION, "denied",
                                   sk_arena_sprintf(c->arena,
                                                    "'%s' won't provision '%s' for '%s'%s", who,
                                                    rq->target, c->old->user, msg));
    case SK_PROV_FAILED:
        c->word = "provisioning_failed";
        c->reason = sk_arena_sprintf(c->arena,
                                     "provisioning of '%s' by '%s' failed%s%s; the "
                                     "task stays open",
                                     rq->target, who, r->retryable ? " (retryable)" : "", msg);
        sk_rq_trace(c, c->reason);
        return sk_rq_task(c, SK_TASK_PROVISIONING, SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE,
                          c->reason);
    default:
        c->word = "ignored";
        c->reason = sk_arena_sprintf(c->arena,
                                     "%s does not answer the PROVISIONING task of "
                                     "request '%s'; ignored",
                                     sk_provisioning_status_name(r->result), rq->id);
        return 0;
    }
}

/* ---- an open DEPROVISIONING task ---- */

/* A task record of the open task t. */
static int open_task_record(sk_rq_ctx_t *c, const sk_open_task_t *t, sk_task_state_t state,
                            sk_task_outcome_t outcome, const char *reason)
{
    sk_task_t rec = {.task_id = t->id,
                     .kind = t->kind,
                     .state = state,
                     .outcome = state == SK_TASK_CLOSED ? outcome : SK_TASK_OUTCOME_NONE,
                     .request_id = t->request_id,
                     .subject = c->old->user,
                     .target = t->ent_key,
                     .step = 0,
                     .n_assignees = t->n_assignees,
                     .assignees = (const char *const *)t->assignees,
                     .reason = reason,
                     .at_ms = c->in->now_ms};
    return sk_rq_task_raw(c, &rec);
}

static int on_deprovisioning(sk_rq_ctx_t *c, const sk_provisioning_result_t *r, size_t idx)
{
    const sk_open_task_t t = c->open_tasks[idx];
    const char *who = r->provisioner, *msg = with_message(c, r);
    sk_task_outcome_t outcome = SK_TASK_PROVISIONED;
    /* with no provisioner to ask, an administrator answers: the access must
     * not stay with nobody able to close the task */
    bool admin_fallback = t.n_assignees == 0 && sk_rq_is_admin(c, who);
    if (!sk_decide_has_id(t.assignees, t.n_assignees, who) && !admin_fallback)
        return not_a_provisioner(c, r,
                                 sk_arena_sprintf(c->arena,
                                                  "'%s' (deprovisioning task "
                                                  "'%s'%s)",
                                                  t.ent_key, t.id,
                                                  t.n_assignees ? ""
                                                                : "; with no provisioner, "
                                                                  "an administrator"));
    switch (r->result) {
    case SK_PROV_PROVISIONED:
    case SK_PROV_DEPROVISIONED:
        c->word = "deprovisioned";
        c->reason = sk_arena_sprintf(c->arena, "'%s' took '%s' away from '%s' by hand%s", who,
                                     t.ent_key, c->old->user, msg);
        break;
    case SK_PROV_WONT_PROVISION:
        outcome = SK_TASK_WONT_PROVISION;
        c->word = "wont_deprovision";
        c->reason = sk_arena_sprintf(c->arena,
                                     "WARNING: '%s' will not take '%s' away from '%s' "
                                     "by hand%s; the access may remain",
                                     who, t.ent_key, c->old->user, msg);
        break;
    default:
        c->word = "provisioning_failed";
        c->reason = sk_arena_sprintf(c->arena,
                                     "deprovisioning of '%s' by '%s' failed%s%s; the "
                                     "task stays open",
                                     t.ent_key, who, r->retryable ? " (retryable)" : "", msg);
        sk_rq_trace(c, c->reason);
        return open_task_record(c, &t, SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, c->reason);
    }
    sk_rq_trace(c, c->reason);
    memmove(&c->open_tasks[idx], &c->open_tasks[idx + 1],
            (c->n_open_tasks - idx - 1) * sizeof(*c->open_tasks));
    c->n_open_tasks--;
    c->changed = true;
    return open_task_record(c, &t, SK_TASK_CLOSED, outcome, c->reason);
}

/* ---- a command of an automatic provisioner ---- */

/* A remembered REVOKE no provisioner has answered FAILED yet: kept so that a
 * FAILED (retryable) answer to it can be retried; never due by itself. */
static bool retry_is_memo(const sk_retry_t *r)
{
    return r->action == SK_CMD_REVOKE && r->next_ms == SK_MS_NONE;
}

/* Finds which GRANT / EXTEND of the user's current sources `id` is: sets
 * *ent and *action. Returns 1 when found, 0 when not, or SK_ENOMEM. */
static int find_command(sk_rq_ctx_t *c, const char *id, const char **ent,
                        sk_command_action_t *action)
{
    static const sk_command_action_t actions[] = {SK_CMD_GRANT, SK_CMD_EXTEND};
    for (size_t i = 0; i < c->old->n_sources; i++) {
        for (size_t k = 0; k < SK_ARRAY_LEN(actions); k++) {
            sk_command_t *cmd;
            if (sk_decide_hold_command(c->rules, c->old, c->old->sources[i].ent_key, actions[k],
                                       c->in->now_ms, c->arena, &cmd))
                return SK_ENOMEM;
            if (cmd && strcmp(cmd->command_id, id) == 0) {
                *ent = c->old->sources[i].ent_key;
                *action = actions[k];
                return 1;
            }
        }
    }
    return 0;
}

/* Drops the retry of command `id`, if any. */
static void drop_retry(sk_rq_ctx_t *c, const char *id)
{
    for (size_t i = 0; i < c->n_retries; i++) {
        if (strcmp(c->retries[i].command_id, id) != 0)
            continue;
        memmove(&c->retries[i], &c->retries[i + 1], (c->n_retries - i - 1) * sizeof(*c->retries));
        c->n_retries--;
        c->changed = true;
        sk_rq_trace(c, sk_arena_sprintf(c->arena, "no more retries of command %s", id));
        return;
    }
}

/* FAILED (retryable) for a GRANT / EXTEND of the current sources: the
 * first retry is scheduled. Sets *done when it handled the result. */
static int schedule_retry(sk_rq_ctx_t *c, const sk_provisioning_result_t *r, bool *done)
{
    const char *ent;
    sk_command_action_t action;
    *done = false;
    for (size_t i = 0; i < c->n_retries; i++) {
        sk_retry_t *m = &c->retries[i];
        if (strcmp(m->command_id, r->command_id) != 0 || !retry_is_memo(m))
            continue;
        /* a REVOKE this user's decisions remembered: its first retry */
        m->attempt = 0;
        m->next_ms = sk_decide_ms_add(c->in->now_ms, sk_decide_retry_delay(c->rules, 0));
        *done = true;
        c->changed = true;
        c->word = "retry_scheduled";
        c->reason = sk_arena_sprintf(
            c->arena,
            "'%s' reports FAILED (retryable) for REVOKE of "
            "'%s' (command %s)%s: retry 1 of %d in %s",
            r->provisioner, m->ent_key, r->command_id, with_message(c, r), SK_RETRY_MAX,
            sk_decide_fmt_dur(c->arena, sk_decide_retry_delay(c->rules, 0)));
        sk_rq_trace(c, c->reason);
        return 0;
    }
    if (sk_state_retry(c->old, r->command_id)) {
        *done = true;
        c->word = "retry_pending";
        c->reason = sk_arena_sprintf(c->arena,
                                     "command %s failed again (retryable%s): its next "
                                     "retry is already scheduled",
                                     r->command_id, with_message(c, r));
        sk_rq_trace(c, c->reason);
        return 0;
    }
    int found = find_command(c, r->command_id, &ent, &action);
    if (found <= 0)
        return found;
    sk_retry_t *rt = &c->retries[c->n_retries++];
    /* c->ev->event_id is the arena copy of the command id */
    *rt = (sk_retry_t){.command_id = c->ev->event_id,
                       .ent_key = ent,
                       .action = action,
                       .attempt = 0,
                       .next_ms =
                           sk_decide_ms_add(c->in->now_ms, sk_decide_retry_delay(c->rules, 0))};
    *done = true;
    c->changed = true;
    c->word = "retry_scheduled";
    c->reason = sk_arena_sprintf(c->arena,
                                 "'%s' reports FAILED (retryable) for %s of '%s' "
                                 "(command %s)%s: retry 1 of %d in %s",
                                 r->provisioner, sk_command_action_name(action), ent, r->command_id,
                                 with_message(c, r), SK_RETRY_MAX,
                                 sk_decide_fmt_dur(c->arena, sk_decide_retry_delay(c->rules, 0)));
    sk_rq_trace(c, c->reason);
    return 0;
}

/* Drops the FOUND sources of `ent` that `provisioner` reported; returns
 * how many went. */
static size_t drop_found(sk_rq_ctx_t *c, const char *ent, const char *provisioner)
{
    size_t k = 0, gone = 0;
    for (size_t i = 0; i < c->n_sources; i++) {
        const sk_grant_source_t *s = &c->sources[i];
        if (s->kind == SK_SOURCE_FOUND && strcmp(s->ent_key, ent) == 0 &&
            strcmp(s->id, provisioner) == 0) {
            gone++;
            continue;
        }
        c->sources[k++] = *s;
    }
    c->n_sources = k;
    c->changed |= gone > 0;
    return gone;
}

/* The entitlement of the remembered REVOKE `id` (a memo or its retry), or
 * NULL. */
static const char *revoke_of(const sk_rq_ctx_t *c, const char *id)
{
    for (size_t i = 0; i < c->n_retries; i++)
        if (c->retries[i].action == SK_CMD_REVOKE && strcmp(c->retries[i].command_id, id) == 0)
            return c->retries[i].ent_key;
    return NULL;
}

static int on_automatic(sk_rq_ctx_t *c, const sk_provisioning_result_t *r)
{
    const char *status = sk_provisioning_status_name(r->result), *msg = with_message(c, r);
    if (r->result == SK_PROV_PROVISIONED || r->result == SK_PROV_DEPROVISIONED) {
        /* A REVOKE confirmed: access this provisioner found for that
         * entitlement is gone too, even when its report was read after the
         * revoke (a reconciliation that ran before the REVOKE was applied)
         * and recorded it again. */
        const char *ent = r->result == SK_PROV_DEPROVISIONED ? revoke_of(c, r->command_id) : NULL;
        size_t gone = ent ? drop_found(c, ent, r->provisioner) : 0;
        c->word = "confirmed";
        c->reason = sk_arena_sprintf(c->arena, "'%s' confirms command %s: %s%s%s", r->provisioner,
                                     r->command_id, status, msg,
                                     gone ? "; the access it found is no longer recorded" : "");
        sk_rq_trace(c, c->reason);
        drop_retry(c, r->command_id);
        return 0;
    }
    if (r->result == SK_PROV_FAILED && r->retryable) {
        bool done;
        int rc = schedule_retry(c, r, &done);
        if (rc || done)
            return rc;
    }
    drop_retry(c, r->command_id);
    c->word = "provisioning_failed";
    c->reason = sk_arena_sprintf(c->arena,
                                 "'%s' reports %s%s for command %s%s: look at the "
                                 "access of '%s' by hand",
                                 r->provisioner, status,
                                 r->result == SK_PROV_FAILED && r->retryable ? " (retryable)" : "",
                                 r->command_id, msg, c->old->user);
    sk_rq_trace(c, c->reason);
    sk_task_t t = {
        .task_id = sk_rq_task_id(c, NULL, 0,
                                 sk_arena_sprintf(c->arena, "failed:%s:%s", r->command_id, status)),
        .kind = SK_TASK_PROVISIONING,
        .state = SK_TASK_CREATED,
        .outcome = SK_TASK_OUTCOME_NONE,
        .request_id = "",
        .subject = c->old->user,
        .target = sk_arena_sprintf(c->arena, "command:%s", r->command_id),
        .reason = c->reason,
        .at_ms = c->in->now_ms};
    if (!t.target)
        return SK_ENOMEM;
    return sk_rq_task_raw(c, &t);
}

/* ---- access found by reconciliation ---- */

static int on_found(sk_rq_ctx_t *c, const sk_provisioning_result_t *r)
{
    const sk_entitlement_t *ent = sk_rules_entitlement(c->rules, r->entitlement);
    if (!ent)
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "'%s' reports '%s' found for '%s', an "
                                                "entitlement the rules do not have; refused",
                                                r->provisioner, r->entitlement, c->old->user));
    for (size_t i = 0; i < c->n_sources; i++) {
        const sk_grant_source_t *s = &c->sources[i];
        if (s->kind == SK_SOURCE_FOUND && strcmp(s->ent_key, ent->key) == 0 &&
            strcmp(s->id, r->provisioner) == 0) {
            c->word = "ignored";
            c->reason =
                sk_arena_sprintf(c->arena, "'%s' found '%s' for '%s' again: already recorded",
                                 r->provisioner, ent->key, c->old->user);
            sk_rq_trace(c, c->reason);
            return 0;
        }
    }
    /* the provisioner's id is kept in the new state: copied to the arena */
    sk_grant_source_t s = {.ent_key = ent->key,
                           .kind = SK_SOURCE_FOUND,
                           .id = sk_arena_strdup(c->arena, r->provisioner),
                           .rotation = "",
                           .expires_ms = SK_MS_NONE};
    if (!s.id || sk_rq_push_source(c, &s))
        return SK_ENOMEM;
    c->changed = true;
    c->word = "found";
    c->reason = sk_arena_sprintf(c->arena,
                                 "'%s' found '%s' held by '%s' outside shiftkey%s: recorded "
                                 "for access review (no expiry; a revoke takes it away)",
                                 r->provisioner, ent->key, c->old->user, with_message(c, r));
    sk_rq_trace(c, c->reason);
    return 0;
}

/* DEPROVISIONED naming an entitlement: reconciliation removed a stray; the
 * FOUND source this provisioner reported for it, if any, goes. */
static int on_stray_removed(sk_rq_ctx_t *c, const sk_provisioning_result_t *r)
{
    size_t gone = drop_found(c, r->entitlement, r->provisioner);
    c->word = gone ? "deprovisioned" : "ignored";
    c->reason = sk_arena_sprintf(c->arena, "'%s' removed '%s' from '%s' (reconciliation)%s%s",
                                 r->provisioner, r->entitlement, c->old->user, with_message(c, r),
                                 gone ? ": the found access is no longer recorded"
                                      : "; nothing was recorded");
    sk_rq_trace(c, c->reason);
    return 0;
}

/* ---- the decision ---- */

static int on_result(sk_rq_ctx_t *c, const sk_provisioning_result_t *r)
{
    if (r->result == SK_PROV_FOUND)
        return on_found(c, r);
    if (r->result == SK_PROV_DEPROVISIONED && r->entitlement && r->entitlement[0])
        return on_stray_removed(c, r);
    for (size_t i = 0; i < c->n_requests; i++) {
        sk_request_state_t *rq = &c->requests[i];
        if (rq->kind != SK_REQUEST_KIND_ACCESS || rq->status == SK_REQUEST_OPEN)
            continue;
        const char *id = sk_rq_provision_task_id(c, rq);
        if (!id)
            return SK_ENOMEM;
        if (strcmp(id, r->command_id) != 0)
            continue;
        c->rq = rq;
        if (rq->status == SK_REQUEST_PROVISIONING)
            return on_provisioning(c, r);
        /* a late or repeated answer to a task already closed */
        c->word = "ignored";
        c->reason = sk_arena_sprintf(c->arena,
                                     "the PROVISIONING task of request '%s' is "
                                     "closed (%s); %s from '%s' ignored",
                                     rq->id, sk_request_status_name(rq->status),
                                     sk_provisioning_status_name(r->result), r->provisioner);
        sk_rq_trace(c, c->reason);
        return 0;
    }
    for (size_t i = 0; i < c->n_open_tasks; i++)
        if (strcmp(c->open_tasks[i].id, r->command_id) == 0)
            return on_deprovisioning(c, r, i);
    return on_automatic(c, r);
}

/* Validates what the rules cannot judge; 1 when the result may be decided. */
static int valid_result(sk_rq_ctx_t *c, const sk_provisioning_result_t *r)
{
    const char *why = NULL;
    if (!r->user || strcmp(r->user, c->old->user) != 0)
        why = "the result's user is not the user whose state was read";
    else if (!r->provisioner || !sk_id_valid(r->provisioner, strlen(r->provisioner)))
        why = "missing or invalid provisioner";
    else if ((unsigned)r->result >= SK_PROV_STATUS_COUNT)
        why = "unknown provisioning result";
    else if (!r->command_id[0] || !sk_id_valid(r->command_id, strnlen(r->command_id, 33)))
        why = "missing or invalid command_id";
    else if (r->result == SK_PROV_FOUND && (!r->entitlement || !r->entitlement[0]))
        why = "FOUND without an entitlement";
    if (why)
        sk_rq_reject(c, SK_DL_INVALID, why);
    return why == NULL;
}

int sk_decide_result(const sk_rules_t *rules, const sk_result_input_t *in,
                     const sk_user_state_t *state, sk_arena_t *arena, sk_request_decision_t *out)
{
    assert(rules && in && in->result && state && state->user && arena && out);
    const sk_provisioning_result_t *r = in->result;
    /* the id may be kept in the new state ("r:"): copied out of the
     * result's own storage, which a caller may reuse */
    const char *command_id =
        sk_arena_strndup(arena, r->command_id, strnlen(r->command_id, sizeof(r->command_id)));
    if (!command_id)
        return SK_ENOMEM;
    /* seen by the shared helpers as an event by the provisioner */
    sk_request_event_t ev = {.event_id = command_id,
                             .type = SK_REQ_EVENT_TYPE_COUNT,
                             .request_id = "",
                             .actor = r->provisioner ? r->provisioner : "",
                             .subject = state->user,
                             .target = "",
                             .justification = "",
                             .comment = "",
                             .source = "provisioning",
                             .occurred_at_ms = r->at_ms};
    sk_request_input_t rin = {.event = &ev, .origin = in->origin, .now_ms = in->now_ms};
    sk_rq_ctx_t c;
    int rc;
    if ((rc = sk_rq_begin(&c, rules, &rin, state, arena, out)) != 0)
        return rc;
    if (valid_result(&c, r) && (rc = on_result(&c, r)) != 0)
        return rc;
    return sk_rq_finish(&c);
}
