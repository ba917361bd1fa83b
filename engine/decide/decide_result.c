/*
 * decide_result.c — the pure decision for provisioning results
 * (shiftkey.provisioning.results.v1, decide_request.h), and two steps every
 * decider shares (decide.h): DEPROVISIONING tasks for hand-provisioned
 * entitlements that lose their last source, and the pruning of closed
 * requests.
 *
 * A result answers, by its command_id, one of:
 *   - the PROVISIONING task of a request (its id is recomputed from the
 *     request's q: field): only its provisioners may answer;
 *   - an open DEPROVISIONING task ("t:" field): only its provisioners;
 *   - anything else: a command handled by an automatic provisioner.
 */
#include "decide/decide_request_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ": message", or "" when the result has none. */
static const char *with_message(dr_ctx_t *c, const sk_provisioning_result_t *r)
{
    if (!r->message || !r->message[0])
        return "";
    return sk_arena_sprintf(c->arena, ": %s", r->message);
}

static int not_a_provisioner(dr_ctx_t *c, const sk_provisioning_result_t *r, const char *what)
{
    return dr_refuse(c, sk_arena_sprintf(c->arena, "'%s' is not a provisioner of %s; %s result "
                                                   "refused",
                                         r->provisioner, what,
                                         sk_provisioning_status_name(r->result)));
}

/* ---- the PROVISIONING task of a request ---- */

static int on_provisioning(dr_ctx_t *c, const sk_provisioning_result_t *r)
{
    sk_request_state_t *rq = c->rq;
    const char *who = r->provisioner, *msg = with_message(c, r);
    if (!dr_has_id(rq->assignees, rq->n_assignees, who))
        return not_a_provisioner(c, r, sk_arena_sprintf(c->arena, "request '%s'", rq->id));
    if (r->result == SK_PROV_PROVISIONED && !sk_rules_entitlement(c->rules, rq->target)) {
        c->changed = true;
        return dr_close_request(c, SK_REQUEST_DENIED, SK_TASK_CANCELLED, "denied",
                                sk_arena_sprintf(c->arena, "'%s' is no longer in the rules: "
                                                           "request '%s' is not granted",
                                                 rq->target, rq->id));
    }
    switch (r->result) {
    case SK_PROV_PROVISIONED: {
        const char *line = sk_arena_sprintf(c->arena, "'%s' provisioned '%s' for '%s' by hand%s",
                                            who, rq->target, c->old->user, msg);
        dr_trace(c, line);
        if (dr_task(c, SK_TASK_PROVISIONING, SK_TASK_CLOSED, SK_TASK_PROVISIONED, line))
            return SK_ENOMEM;
        return dr_grant_now(c);
    }
    case SK_PROV_WONT_PROVISION:
        c->changed = true;
        return dr_close_request(c, SK_REQUEST_DENIED, SK_TASK_WONT_PROVISION, "denied",
                                sk_arena_sprintf(c->arena, "'%s' won't provision '%s' for '%s'%s",
                                                 who, rq->target, c->old->user, msg));
    case SK_PROV_FAILED:
        c->word = "provisioning_failed";
        c->reason = sk_arena_sprintf(c->arena, "provisioning of '%s' by '%s' failed%s%s; the "
                                               "task stays open",
                                     rq->target, who, r->retryable ? " (retryable)" : "", msg);
        dr_trace(c, c->reason);
        return dr_task(c, SK_TASK_PROVISIONING, SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, c->reason);
    default:
        c->word = "ignored";
        c->reason = sk_arena_sprintf(c->arena, "%s does not answer the PROVISIONING task of "
                                               "request '%s'; ignored",
                                     sk_provisioning_status_name(r->result), rq->id);
        return 0;
    }
}

/* ---- an open DEPROVISIONING task ---- */

/* A task record of the open task t. */
static int open_task_record(dr_ctx_t *c, const sk_open_task_t *t, sk_task_state_t state,
                            sk_task_outcome_t outcome, const char *reason)
{
    sk_task_t rec = {.task_id = t->id, .kind = t->kind, .state = state,
                     .outcome = state == SK_TASK_CLOSED ? outcome : SK_TASK_OUTCOME_NONE,
                     .request_id = t->request_id, .subject = c->old->user,
                     .target = t->ent_key, .step = 0, .n_assignees = t->n_assignees,
                     .assignees = (const char *const *)t->assignees, .reason = reason,
                     .at_ms = c->in->now_ms};
    return dr_task_raw(c, &rec);
}

static int on_deprovisioning(dr_ctx_t *c, const sk_provisioning_result_t *r, size_t idx)
{
    const sk_open_task_t t = c->open_tasks[idx];
    const char *who = r->provisioner, *msg = with_message(c, r);
    sk_task_outcome_t outcome = SK_TASK_PROVISIONED;
    /* with no provisioner to ask, an administrator answers: the access must
     * not stay with nobody able to close the task */
    bool admin_fallback = t.n_assignees == 0 && dr_is_admin(c, who);
    if (!dr_has_id(t.assignees, t.n_assignees, who) && !admin_fallback)
        return not_a_provisioner(c, r, sk_arena_sprintf(c->arena, "'%s' (deprovisioning task "
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
        c->reason = sk_arena_sprintf(c->arena, "WARNING: '%s' will not take '%s' away from '%s' "
                                               "by hand%s; the access may remain",
                                     who, t.ent_key, c->old->user, msg);
        break;
    default:
        c->word = "provisioning_failed";
        c->reason = sk_arena_sprintf(c->arena, "deprovisioning of '%s' by '%s' failed%s%s; the "
                                               "task stays open",
                                     t.ent_key, who, r->retryable ? " (retryable)" : "", msg);
        dr_trace(c, c->reason);
        return open_task_record(c, &t, SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE, c->reason);
    }
    dr_trace(c, c->reason);
    memmove(&c->open_tasks[idx], &c->open_tasks[idx + 1],
            (c->n_open_tasks - idx - 1) * sizeof(*c->open_tasks));
    c->n_open_tasks--;
    c->changed = true;
    return open_task_record(c, &t, SK_TASK_CLOSED, outcome, c->reason);
}

/* ---- a command of an automatic provisioner ---- */

/* How long before retry number `attempt` (0 = the first). */
static sk_ms_t backoff(int attempt)
{
    sk_ms_t d = SK_RETRY_BASE_MS;
    for (int i = 0; i < attempt && d < SK_RETRY_CAP_MS; i++)
        d *= 2;
    return d < SK_RETRY_CAP_MS ? d : SK_RETRY_CAP_MS;
}

/* A remembered REVOKE no provisioner has answered FAILED yet: kept so that a
 * FAILED (retryable) answer to it can be retried; never due by itself. */
static bool retry_is_memo(const sk_retry_t *r)
{
    return r->action == SK_CMD_REVOKE && r->next_ms == SK_MS_NONE;
}

/* The REVOKE of `ent` for user, sent again under its first id `id` (the
 * sources that held it are gone; the command names none). NULL when out of
 * memory. */
static sk_command_t *revoke_again(const sk_rules_t *rules, const char *user, const char *ent,
                                  const char *id, sk_ms_t now, sk_arena_t *arena)
{
    const sk_entitlement_t *e = sk_rules_entitlement(rules, ent);
    sk_command_t *cmd = sk_arena_calloc(arena, 1, sizeof(*cmd));
    if (!cmd)
        return NULL;
    cmd->action = SK_CMD_REVOKE;
    cmd->user = user;
    cmd->app = e ? e->app : ent;
    cmd->entitlement = e ? e->id : "";
    cmd->resource = e ? e->resource : "";
    cmd->permission = e ? e->permission : "";
    cmd->expires_at_ms = now;
    cmd->issued_at_ms = now;
    cmd->reason = sk_arena_sprintf(arena, "'%s' was revoked; no source holds it", ent);
    if (!cmd->reason)
        return NULL;
    snprintf(cmd->command_id, sizeof(cmd->command_id), "%s", id);
    return cmd;
}

/* 1 when a source of st holds ent. */
static bool held(const sk_user_state_t *st, const char *ent)
{
    for (size_t i = 0; i < st->n_sources; i++)
        if (strcmp(st->sources[i].ent_key, ent) == 0)
            return true;
    return false;
}

/*
 * The command that gives `ent` as the sources of st hold it now, as
 * `action` (GRANT or EXTEND: same sources and expiry, so the same id as the
 * one sk_decide_commands emitted for them). *out NULL when no source of st
 * holds ent. Returns 0 or SK_ENOMEM.
 */
static int hold_command(const sk_rules_t *rules, const sk_user_state_t *st, const char *ent,
                        sk_command_action_t action, sk_ms_t now, sk_arena_t *arena,
                        sk_command_t **out)
{
    sk_grant_source_t *rest = sk_arena_calloc(arena, st->n_sources + 1, sizeof(*rest));
    sk_user_state_t before = *st;
    sk_decision_t tmp = {0};
    size_t n = 0;
    *out = NULL;
    if (!rest)
        return SK_ENOMEM;
    for (size_t i = 0; i < st->n_sources; i++)
        if (strcmp(st->sources[i].ent_key, ent) != 0)
            rest[n++] = st->sources[i];
    if (n == st->n_sources)
        return 0;
    before.sources = rest;
    before.n_sources = n;
    if (sk_decide_commands(rules, st->user, now, &before, st->sources, st->n_sources, arena,
                           &tmp))
        return SK_ENOMEM;
    if (tmp.n_commands != 1 || tmp.commands[0].action != SK_CMD_GRANT)
        return 0;
    sk_command_t *cmd = &tmp.commands[0];
    cmd->action = action;
    sk_decide_command_id(cmd, ent, cmd->command_id);
    *out = cmd;
    return 0;
}

/* Finds which GRANT / EXTEND of the user's current sources `id` is: sets
 * *ent and *action. Returns 1 when found, 0 when not, or SK_ENOMEM. */
static int find_command(dr_ctx_t *c, const char *id, const char **ent,
                        sk_command_action_t *action)
{
    static const sk_command_action_t actions[] = {SK_CMD_GRANT, SK_CMD_EXTEND};
    for (size_t i = 0; i < c->old->n_sources; i++) {
        for (size_t k = 0; k < SK_ARRAY_LEN(actions); k++) {
            sk_command_t *cmd;
            if (hold_command(c->rules, c->old, c->old->sources[i].ent_key, actions[k],
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
static void drop_retry(dr_ctx_t *c, const char *id)
{
    for (size_t i = 0; i < c->n_retries; i++) {
        if (strcmp(c->retries[i].command_id, id) != 0)
            continue;
        memmove(&c->retries[i], &c->retries[i + 1],
                (c->n_retries - i - 1) * sizeof(*c->retries));
        c->n_retries--;
        c->changed = true;
        dr_trace(c, sk_arena_sprintf(c->arena, "no more retries of command %s", id));
        return;
    }
}

/* FAILED (retryable) for a GRANT / EXTEND of the current sources: the
 * first retry is scheduled. Sets *done when it handled the result. */
static int schedule_retry(dr_ctx_t *c, const sk_provisioning_result_t *r, bool *done)
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
        m->next_ms = dr_ms_add(c->in->now_ms, backoff(0));
        *done = true;
        c->changed = true;
        c->word = "retry_scheduled";
        c->reason = sk_arena_sprintf(c->arena, "'%s' reports FAILED (retryable) for REVOKE of "
                                               "'%s' (command %s)%s: retry 1 of %d in %s",
                                     r->provisioner, m->ent_key, r->command_id,
                                     with_message(c, r), SK_RETRY_MAX,
                                     dr_fmt_dur(c, backoff(0)));
        dr_trace(c, c->reason);
        return 0;
    }
    if (sk_state_retry(c->old, r->command_id)) {
        *done = true;
        c->word = "retry_pending";
        c->reason = sk_arena_sprintf(c->arena, "command %s failed again (retryable%s): its next "
                                               "retry is already scheduled",
                                     r->command_id, with_message(c, r));
        dr_trace(c, c->reason);
        return 0;
    }
    int found = find_command(c, r->command_id, &ent, &action);
    if (found <= 0)
        return found;
    sk_retry_t *rt = &c->retries[c->n_retries++];
    /* c->ev->event_id is the arena copy of the command id */
    *rt = (sk_retry_t){.command_id = c->ev->event_id, .ent_key = ent, .action = action,
                       .attempt = 0, .next_ms = dr_ms_add(c->in->now_ms, backoff(0))};
    *done = true;
    c->changed = true;
    c->word = "retry_scheduled";
    c->reason = sk_arena_sprintf(c->arena, "'%s' reports FAILED (retryable) for %s of '%s' "
                                           "(command %s)%s: retry 1 of %d in %s",
                                 r->provisioner, sk_command_action_name(action), ent,
                                 r->command_id, with_message(c, r), SK_RETRY_MAX,
                                 dr_fmt_dur(c, backoff(0)));
    dr_trace(c, c->reason);
    return 0;
}

static int on_automatic(dr_ctx_t *c, const sk_provisioning_result_t *r)
{
    const char *status = sk_provisioning_status_name(r->result), *msg = with_message(c, r);
    if (r->result == SK_PROV_PROVISIONED || r->result == SK_PROV_DEPROVISIONED) {
        c->word = "confirmed";
        c->reason = sk_arena_sprintf(c->arena, "'%s' confirms command %s: %s%s", r->provisioner,
                                     r->command_id, status, msg);
        dr_trace(c, c->reason);
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
    c->reason = sk_arena_sprintf(c->arena, "'%s' reports %s%s for command %s%s: look at the "
                                           "access of '%s' by hand",
                                 r->provisioner, status,
                                 r->result == SK_PROV_FAILED && r->retryable ? " (retryable)" : "",
                                 r->command_id, msg, c->old->user);
    dr_trace(c, c->reason);
    sk_task_t t = {.task_id = dr_task_id(c, NULL, 0,
                                         sk_arena_sprintf(c->arena, "failed:%s:%s",
                                                          r->command_id, status)),
                   .kind = SK_TASK_PROVISIONING, .state = SK_TASK_CREATED,
                   .outcome = SK_TASK_OUTCOME_NONE, .request_id = "", .subject = c->old->user,
                   .target = sk_arena_sprintf(c->arena, "command:%s", r->command_id),
                   .reason = c->reason, .at_ms = c->in->now_ms};
    if (!t.target)
        return SK_ENOMEM;
    return dr_task_raw(c, &t);
}

/* ---- the decision ---- */

static int on_result(dr_ctx_t *c, const sk_provisioning_result_t *r)
{
    for (size_t i = 0; i < c->n_requests; i++) {
        sk_request_state_t *rq = &c->requests[i];
        if (rq->kind != SK_REQUEST_KIND_ACCESS || rq->status == SK_REQUEST_OPEN)
            continue;
        const char *id = dr_provision_task_id(c, rq);
        if (!id)
            return SK_ENOMEM;
        if (strcmp(id, r->command_id) != 0)
            continue;
        c->rq = rq;
        if (rq->status == SK_REQUEST_PROVISIONING)
            return on_provisioning(c, r);
        /* a late or repeated answer to a task already closed */
        c->word = "ignored";
        c->reason = sk_arena_sprintf(c->arena, "the PROVISIONING task of request '%s' is "
                                               "closed (%s); %s from '%s' ignored",
                                     rq->id, sk_request_status_name(rq->status),
                                     sk_provisioning_status_name(r->result), r->provisioner);
        dr_trace(c, c->reason);
        return 0;
    }
    for (size_t i = 0; i < c->n_open_tasks; i++)
        if (strcmp(c->open_tasks[i].id, r->command_id) == 0)
            return on_deprovisioning(c, r, i);
    return on_automatic(c, r);
}

/* Validates what the rules cannot judge; 1 when the result may be decided. */
static int valid_result(dr_ctx_t *c, const sk_provisioning_result_t *r)
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
    if (why)
        dr_reject(c, SK_DL_INVALID, why);
    return why == NULL;
}

int sk_decide_result(const sk_rules_t *rules, const sk_result_input_t *in,
                     const sk_user_state_t *state, sk_arena_t *arena,
                     sk_request_decision_t *out)
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
    sk_request_event_t ev = {.event_id = command_id, .type = SK_REQ_EVENT_TYPE_COUNT,
                             .request_id = "", .actor = r->provisioner ? r->provisioner : "",
                             .subject = state->user, .target = "", .justification = "",
                             .comment = "", .source = "provisioning", .occurred_at_ms = r->at_ms};
    sk_request_input_t rin = {.event = &ev, .origin = in->origin, .now_ms = in->now_ms};
    dr_ctx_t c;
    int rc;
    if ((rc = dr_begin(&c, rules, &rin, state, arena, out)) != 0)
        return rc;
    if (valid_result(&c, r) && (rc = on_result(&c, r)) != 0)
        return rc;
    return dr_finish(&c);
}

/* ---- shared: deprovisioning tasks (decide.h) ---- */

/* The settings of a command's entitlement when it is provisioned by hand. */
static const sk_request_settings_t *manual_settings(const sk_rules_t *rules, sk_arena_t *arena,
                                                    const sk_command_t *cmd, const char **key)
{
    *key = sk_arena_sprintf(arena, "%s/%s", cmd->app, cmd->entitlement);
    const sk_request_settings_t *set = *key ? sk_rules_request_settings(rules, *key) : NULL;
    return set && set->provisioning == SK_PROVISIONING_MANUAL ? set : NULL;
}

/* Opens one DEPROVISIONING task for cmd (a REVOKE). */
static int open_deprovisioning(const sk_request_settings_t *set, const char *key,
                               const sk_command_t *cmd, sk_ms_t now, sk_arena_t *arena,
                               sk_task_t *t, sk_open_task_t *o)
{
    size_t n = 0;
    const char **ids = dr_provisioners(arena, set, &n);
    const char *req = "", *id = sk_arena_strdup(arena, cmd->command_id);
    for (size_t i = 0; i < cmd->n_sources && !req[0]; i++)
        if (cmd->sources[i].kind != SK_SOURCE_SHIFT)
            req = cmd->sources[i].id;
    *o = (sk_open_task_t){.id = id, .kind = SK_TASK_DEPROVISIONING, .ent_key = key,
                          .request_id = req, .created_ms = now, .n_assignees = n,
                          .assignees = ids};
    *t = (sk_task_t){.task_id = id, .kind = SK_TASK_DEPROVISIONING, .state = SK_TASK_CREATED,
                     .outcome = SK_TASK_OUTCOME_NONE, .request_id = req, .subject = cmd->user,
                     .target = key, .step = 0, .n_assignees = n,
                     .assignees = (const char *const *)ids, .emergency = cmd->emergency,
                     .at_ms = now};
    t->reason = sk_arena_sprintf(arena, "take '%s' away from '%s' by hand (%s: provisioning "
                                        "manual)%s: %s",
                                 key, cmd->user, set->declared_in,
                                 n ? "" : " — the rules name no provisioner who can: an "
                                          "administrator (group " SK_ADMIN_GROUP ") must",
                                 cmd->reason);
    return ids && id && t->reason ? 0 : SK_ENOMEM;
}

int sk_decide_deprovisioning(const sk_rules_t *rules, sk_ms_t now_ms, sk_arena_t *arena,
                             sk_decision_t *d)
{
    const char *key;
    size_t add = 0;
    assert(rules && arena && d);
    for (size_t i = 0; i < d->n_commands; i++)
        if (d->commands[i].action == SK_CMD_REVOKE &&
            manual_settings(rules, arena, &d->commands[i], &key) &&
            !sk_state_open_task(&d->state, d->commands[i].command_id))
            add++;
    if (add == 0)
        return 0;
    sk_task_t *tasks = sk_arena_calloc(arena, d->n_tasks + add + 1, sizeof(*tasks));
    sk_open_task_t *open =
        sk_arena_calloc(arena, d->state.n_open_tasks + add + 1, sizeof(*open));
    if (!tasks || !open)
        return SK_ENOMEM;
    if (d->n_tasks)
        memcpy(tasks, d->tasks, d->n_tasks * sizeof(*tasks));
    if (d->state.n_open_tasks)
        memcpy(open, d->state.open_tasks, d->state.n_open_tasks * sizeof(*open));
    size_t nt = d->n_tasks, no = d->state.n_open_tasks;
    for (size_t i = 0; i < d->n_commands; i++) {
        const sk_command_t *cmd = &d->commands[i];
        const sk_request_settings_t *set;
        if (cmd->action != SK_CMD_REVOKE || !(set = manual_settings(rules, arena, cmd, &key)) ||
            sk_state_open_task(&d->state, cmd->command_id))
            continue;
        if (open_deprovisioning(set, key, cmd, now_ms, arena, &tasks[nt++], &open[no++]))
            return SK_ENOMEM;
    }
    d->tasks = tasks;
    d->n_tasks = nt;
    d->state.open_tasks = open;
    d->state.n_open_tasks = no;
    return 0;
}

/* ---- shared: pruning closed requests (decide.h) ---- */

/* 1 when a shift still in st has a grant window of `ent` that had begun by
 * `at`: a confirmed revocation at `at` keeps that window revoked (decide.c)
 * only while it is remembered. */
static bool shift_window_begun(const sk_rules_t *rules, const sk_user_state_t *st,
                               const char *ent, sk_ms_t at)
{
    for (size_t i = 0; i < st->n_shifts; i++) {
        const sk_shift_t *sh = &st->shifts[i];
        const sk_rotation_t *rot = sk_rules_rotation(rules, sh->rotation);
        for (size_t j = 0; rot && j < rot->n_edges; j++) {
            const sk_enrollment_edge_t *e = &rot->edges[j];
            if (strcmp(e->ent->key, ent) == 0 && sh->start_ms - e->grant_before_ms <= at)
                return true;
        }
    }
    return false;
}

/* 1 when rq is over: nothing more can happen to it, nor depends on it. */
static bool request_closed(const sk_rules_t *rules, const sk_user_state_t *st,
                           const sk_request_state_t *rq)
{
    if (rq->status == SK_REQUEST_DENIED || rq->status == SK_REQUEST_CANCELLED)
        return true;
    if (rq->status != SK_REQUEST_APPROVED)
        return false;
    if (rq->kind == SK_REQUEST_KIND_REVOCATION)
        return !shift_window_begun(rules, st, rq->target, rq->updated_ms);
    for (size_t i = 0; i < st->n_sources; i++)
        if (st->sources[i].kind != SK_SOURCE_SHIFT && strcmp(st->sources[i].id, rq->id) == 0)
            return false;
    return true;
}

int sk_decide_prune(const sk_rules_t *rules, sk_ms_t now_ms, sk_user_state_t *state,
                    sk_arena_t *arena, sk_ms_t *wake)
{
    size_t drop = 0;
    assert(rules && state && arena && wake);
    for (size_t i = 0; i < state->n_requests; i++) {
        const sk_request_state_t *rq = &state->requests[i];
        sk_ms_t forget = dr_ms_add(rq->updated_ms, SK_SHIFT_MEMORY_MS);
        if (!request_closed(rules, state, rq))
            continue;
        if (now_ms >= forget)
            drop++;
        else if (forget < *wake)
            *wake = forget;
    }
    if (drop == 0)
        return 0;
    sk_request_state_t *keep = sk_arena_calloc(arena, state->n_requests + 1, sizeof(*keep));
    size_t k = 0;
    if (!keep)
        return SK_ENOMEM;
    for (size_t i = 0; i < state->n_requests; i++) {
        const sk_request_state_t *rq = &state->requests[i];
        if (request_closed(rules, state, rq) &&
            now_ms >= dr_ms_add(rq->updated_ms, SK_SHIFT_MEMORY_MS))
            continue;
        keep[k++] = *rq;
    }
    state->requests = keep;
    state->n_requests = k;
    return (int)drop;
}

/* ---- shared: retries of failed commands (decide.h) ---- */

/* The task that says the retries of r gave up. */
static int gave_up_task(const sk_retry_t *r, const char *user, sk_ms_t now, sk_arena_t *arena,
                        sk_task_t *t)
{
    *t = (sk_task_t){.task_id = r->command_id, .kind = SK_TASK_PROVISIONING,
                     .state = SK_TASK_CREATED, .outcome = SK_TASK_OUTCOME_NONE,
                     .request_id = "", .subject = user, .target = r->ent_key, .at_ms = now};
    t->reason = sk_arena_sprintf(arena, "%s of '%s' to '%s' (command %s) still failed after %d "
                                        "retries: look at the access by hand",
                                 sk_command_action_name(r->action), r->ent_key, user,
                                 r->command_id, r->attempt);
    return t->reason ? 0 : SK_ENOMEM;
}

/*
 * Remembers each REVOKE of d of an entitlement provisioned automatically as
 * a retry memo ("r:<id>" -> "<ent> REVOKE 0 -"), so that a FAILED
 * (retryable) answer to it can be retried; a REVOKE that is not answered so
 * is forgotten when the entitlement is granted again or revoked anew (at
 * most one per entitlement), or with the user's key. A GRANT or EXTEND of
 * an entitlement drops its REVOKE records. Commands already retried (their
 * id has a record) change nothing. 0 or SK_ENOMEM.
 */
/* 1 when cmd is about the entitlement key "app/entitlement" `ent`. */
static bool command_for(const sk_command_t *cmd, const char *ent)
{
    size_t n = strlen(cmd->app);
    return strncmp(ent, cmd->app, n) == 0 && ent[n] == '/' &&
           strcmp(ent + n + 1, cmd->entitlement) == 0;
}

static int remember_revokes(const sk_rules_t *rules, sk_arena_t *arena, sk_decision_t *d)
{
    sk_user_state_t *st = &d->state;
    const char *key;
    size_t add = 0;
    bool revoke_records = false;
    for (size_t i = 0; i < d->n_commands; i++)
        add += d->commands[i].action == SK_CMD_REVOKE &&
               !sk_state_retry(st, d->commands[i].command_id);
    for (size_t i = 0; i < st->n_retries; i++)
        revoke_records |= st->retries[i].action == SK_CMD_REVOKE;
    if (d->n_commands == 0 || (add == 0 && !revoke_records))
        return 0; /* the common case: nothing to remember or to drop */
    sk_retry_t *rs = sk_arena_calloc(arena, st->n_retries + add + 1, sizeof(*rs));
    size_t n = 0;
    if (!rs)
        return SK_ENOMEM;
    for (size_t i = 0; i < st->n_retries; i++) {
        const sk_retry_t *r = &st->retries[i];
        bool superseded = false;
        for (size_t j = 0; j < d->n_commands && r->action == SK_CMD_REVOKE; j++)
            superseded |= command_for(&d->commands[j], r->ent_key) &&
                          strcmp(d->commands[j].command_id, r->command_id) != 0;
        if (!superseded)
            rs[n++] = *r;
    }
    for (size_t i = 0; i < d->n_commands; i++) {
        const sk_command_t *cmd = &d->commands[i];
        if (cmd->action != SK_CMD_REVOKE || sk_state_retry(st, cmd->command_id) ||
            manual_settings(rules, arena, cmd, &key)) /* those get DEPROVISIONING tasks */
            continue;
        if (!key)
            return SK_ENOMEM;
        const char *id = sk_arena_strdup(arena, cmd->command_id);
        if (!id)
            return SK_ENOMEM;
        rs[n++] = (sk_retry_t){.command_id = id, .ent_key = key, .action = SK_CMD_REVOKE,
                               .attempt = 0, .next_ms = SK_MS_NONE};
    }
    st->retries = rs;
    st->n_retries = n;
    return 0;
}

int sk_decide_retries(const sk_rules_t *rules, sk_ms_t now_ms, sk_arena_t *arena,
                      sk_decision_t *d, sk_ms_t *wake)
{
    sk_user_state_t *st = &d->state;
    assert(rules && arena && d && wake);
    if (remember_revokes(rules, arena, d))
        return SK_ENOMEM;
    size_t n = st->n_retries, k = 0;
    if (n == 0)
        return 0;
    sk_retry_t *keep = sk_arena_calloc(arena, n + 1, sizeof(*keep));
    sk_command_t *cmds = sk_arena_calloc(arena, d->n_commands + n + 1, sizeof(*cmds));
    sk_task_t *tasks = sk_arena_calloc(arena, d->n_tasks + n + 1, sizeof(*tasks));
    if (!keep || !cmds || !tasks)
        return SK_ENOMEM;
    if (d->n_commands)
        memcpy(cmds, d->commands, d->n_commands * sizeof(*cmds));
    if (d->n_tasks)
        memcpy(tasks, d->tasks, d->n_tasks * sizeof(*tasks));
    size_t nc = d->n_commands, nt = d->n_tasks;
    for (size_t i = 0; i < n; i++) {
        sk_retry_t r = st->retries[i];
        sk_command_t *cmd;
        if (r.next_ms > now_ms) {
            keep[k++] = r;
            *wake = r.next_ms < *wake ? r.next_ms : *wake;
            continue;
        }
        if (r.action == SK_CMD_REVOKE) {
            if (held(st, r.ent_key))
                continue; /* granted again since: the REVOKE is superseded */
            if (!(cmd = revoke_again(rules, st->user, r.ent_key, r.command_id, now_ms, arena)))
                return SK_ENOMEM;
        } else {
            if (hold_command(rules, st, r.ent_key, r.action, now_ms, arena, &cmd))
                return SK_ENOMEM;
            if (!cmd || strcmp(cmd->command_id, r.command_id) != 0)
                continue; /* superseded by a later change: dropped */
        }
        if (r.attempt >= SK_RETRY_MAX) {
            if (gave_up_task(&r, st->user, now_ms, arena, &tasks[nt++]))
                return SK_ENOMEM;
            continue;
        }
        r.attempt++;
        cmd->reason = sk_arena_sprintf(arena, "retry %d of %d of command %s after a FAILED "
                                              "(retryable) result: %s",
                                       r.attempt, SK_RETRY_MAX, r.command_id, cmd->reason);
        if (!cmd->reason)
            return SK_ENOMEM;
        cmds[nc++] = *cmd;
        r.next_ms = dr_ms_add(now_ms, backoff(r.attempt));
        *wake = r.next_ms < *wake ? r.next_ms : *wake;
        keep[k++] = r;
    }
    d->commands = cmds;
    d->n_commands = nc;
    d->tasks = tasks;
    d->n_tasks = nt;
    st->retries = keep;
    st->n_retries = k;
    return 0;
}

int sk_decide_pending_wake(const sk_rules_t *rules, sk_ms_t now_ms, const sk_user_state_t *state,
                           sk_arena_t *arena, sk_ms_t *wake)
{
    sk_user_state_t scratch = *state; /* pruned copy, thrown away */
    for (size_t i = 0; i < state->n_retries; i++)
        *wake = dr_ms_min(*wake, state->retries[i].next_ms);
    return sk_decide_prune(rules, now_ms, &scratch, arena, wake) < 0 ? SK_ENOMEM : 0;
}
