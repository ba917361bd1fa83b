/*
 * followups.c — the steps every decision of a user ends with, whatever its
 * input (see followups.h): DEPROVISIONING tasks for hand-provisioned
 * entitlements that lose their last source, REVOKE memos and the retries
 * of failed commands, and the pruning of closed requests.
 */
#include "decide/followups.h"

#include "base/strbuf.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "decide/commands.h"
#include "decide/decide_request.h" /* SK_ADMIN_GROUP, SK_RETRY_* */

sk_ms_t sk_decide_retry_delay(const sk_rules_t *rules, int attempt)
{
    sk_ms_t d = sk_rules_provisioning_retry(rules);
    for (int i = 0; i < attempt && d < SK_RETRY_CAP_MS; i++)
        d *= 2;
    return d < SK_RETRY_CAP_MS ? d : SK_RETRY_CAP_MS;
}

static void add_unique(const char **ids, size_t *n, const char *id)
{
    if (!sk_decide_has_id(ids, *n, id))
        ids[(*n)++] = id;
}

const char **sk_decide_provisioners(sk_arena_t *arena, const sk_request_settings_t *set,
                                    size_t *n_out)
{
    size_t cap = 1, n = 0;
    for (size_t i = 0; i < set->n_provisioners; i++)
        cap += set->provisioners[i].group ? set->provisioners[i].group->n_members : 1;
    const char **ids = sk_arena_calloc(arena, cap, sizeof(*ids));
    if (!ids)
        return NULL;
    for (size_t i = 0; i < set->n_provisioners; i++) {
        const sk_principal_t *p = &set->provisioners[i];
        if (p->person)
            add_unique(ids, &n, p->person->id);
        for (size_t j = 0; p->group && j < p->group->n_members; j++)
            add_unique(ids, &n, p->group->members[j]->id);
    }
    *n_out = n;
    return ids;
}

/* ---- retries: helpers ---- */

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

/* ---- deprovisioning tasks ---- */

/* The settings of a command's entitlement when it is provisioned by hand. */
static const sk_request_settings_t *manual_settings(const sk_rules_t *rules, sk_arena_t *arena,
                                                    const sk_command_t *cmd, const char **key)
{
    sk_strbuf_t b; /* "<app>/<entitlement>" */
    sk_strbuf_init(&b, arena);
    sk_strbuf_str(&b, cmd->app);
    sk_strbuf_chr(&b, '/');
    sk_strbuf_str(&b, cmd->entitlement);
    *key = sk_strbuf_finish(&b);
    const sk_request_settings_t *set = *key ? sk_rules_request_settings(rules, *key) : NULL;
    return set && set->provisioning == SK_PROVISIONING_MANUAL ? set : NULL;
}

/* Opens one DEPROVISIONING task for cmd (a REVOKE). */
static int open_deprovisioning(const sk_request_settings_t *set, const char *key,
                               const sk_command_t *cmd, sk_ms_t now, sk_arena_t *arena,
                               sk_task_t *t, sk_open_task_t *o)
{
    size_t n = 0;
    const char **ids = sk_decide_provisioners(arena, set, &n);
    const char *req = "", *id = sk_arena_strdup(arena, cmd->command_id);
    for (size_t i = 0; i < cmd->n_sources && !req[0]; i++)
        if (cmd->sources[i].kind != SK_SOURCE_SHIFT)
            req = cmd->sources[i].id;
    *o = (sk_open_task_t){.id = id,
                          .kind = SK_TASK_DEPROVISIONING,
                          .ent_key = key,
                          .request_id = req,
                          .created_ms = now,
                          .n_assignees = n,
                          .assignees = ids};
    *t = (sk_task_t){.task_id = id,
                     .kind = SK_TASK_DEPROVISIONING,
                     .state = SK_TASK_CREATED,
                     .outcome = SK_TASK_OUTCOME_NONE,
                     .request_id = req,
                     .subject = cmd->user,
                     .target = key,
                     .step = 0,
                     .n_assignees = n,
                     .assignees = (const char *const *)ids,
                     .emergency = cmd->emergency,
                     .at_ms = now};
    const char *why = sk_command_reason(cmd, arena);
    t->reason = !why ? NULL
                     : sk_arena_sprintf(arena,
                                        "take '%s' away from '%s' by hand (%s: provisioning "
                                        "manual)%s: %s",
                                        key, cmd->user, set->declared_in,
                                        n ? ""
                                          : " — the rules name no provisioner who can: an "
                                            "administrator (group " SK_ADMIN_GROUP ") must",
                                        why);
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
    sk_open_task_t *open = sk_arena_calloc(arena, d->state.n_open_tasks + add + 1, sizeof(*open));
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

/* ---- pruning closed requests ---- */

/* 1 when a shift still in st has a grant window of `ent` that had begun by
 * `at`: a confirmed revocation at `at` keeps that window revoked (shift.c)
 * only while it is remembered. */
static bool shift_window_begun(const sk_rules_t *rules, const sk_user_state_t *st, const char *ent,
                               sk_ms_t at)
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
        sk_ms_t forget = sk_decide_ms_add(rq->updated_ms, SK_SHIFT_MEMORY_MS);
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
            now_ms >= sk_decide_ms_add(rq->updated_ms, SK_SHIFT_MEMORY_MS))
            continue;
        keep[k++] = *rq;
    }
    state->requests = keep;
    state->n_requests = k;
    return (int)drop;
}

/* ---- retries of failed commands ---- */

/* The task that says the retries of r gave up. */
static int gave_up_task(const sk_retry_t *r, const char *user, sk_ms_t now, sk_arena_t *arena,
                        sk_task_t *t)
{
    *t = (sk_task_t){.task_id = r->command_id,
                     .kind = SK_TASK_PROVISIONING,
                     .state = SK_TASK_CREATED,
                     .outcome = SK_TASK_OUTCOME_NONE,
                     .request_id = "",
                     .subject = user,
                     .target = r->ent_key,
                     .at_ms = now};
    t->reason = sk_arena_sprintf(arena,
                                 "%s of '%s' to '%s' (command %s) still failed after %d "
                                 "retries: look at the access by hand",
                                 sk_command_action_name(r->action), r->ent_key, user, r->command_id,
                                 r->attempt);
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
        rs[n++] = (sk_retry_t){.command_id = id,
                               .ent_key = key,
                               .action = SK_CMD_REVOKE,
                               .attempt = 0,
                               .next_ms = SK_MS_NONE};
    }
    st->retries = rs;
    st->n_retries = n;
    return 0;
}

int sk_decide_retries(const sk_rules_t *rules, sk_ms_t now_ms, sk_arena_t *arena, sk_decision_t *d,
                      sk_ms_t *wake)
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
            if (sk_decide_hold_command(rules, st, r.ent_key, r.action, now_ms, arena, &cmd))
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
        const char *why = sk_command_reason(cmd, arena);
        cmd->reason = !why ? NULL
                           : sk_arena_sprintf(arena,
                                              "retry %d of %d of command %s after a FAILED "
                                              "(retryable) result: %s",
                                              r.attempt, SK_RETRY_MAX, r.command_id, why);
        if (!cmd->reason)
            return SK_ENOMEM;
        cmds[nc++] = *cmd;
        r.next_ms = sk_decide_ms_add(now_ms, sk_decide_retry_delay(rules, r.attempt));
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
        *wake = sk_decide_ms_min(*wake, state->retries[i].next_ms);
    return sk_decide_prune(rules, now_ms, &scratch, arena, wake) < 0 ? SK_ENOMEM : 0;
}
