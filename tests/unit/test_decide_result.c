/*
 * test_decide_result.c — provisioning by hand and provisioning results,
 * driven with fixed clocks on tests/rules/requests: the PROVISIONING task
 * of an approved request of a hand-provisioned entitlement, its answers
 * (PROVISIONED grants, WONT_PROVISION denies, FAILED stays open), who may
 * answer, DEPROVISIONING tasks when such a grant ends and their answers,
 * and results of automatic provisioners.
 */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "decide/decide_request.h"
#include "sk_decide_fx.h"
#include "sk_test.h"

#define RULES "tests/rules/requests"
#define T0    1800000000000LL
#define MIN   60000LL
#define HOUR  (60 * MIN)

static sk_dfx_t fx = {.rules_path = RULES};

/* Creates request `id` of `user` for `target` (1h) at T0. */
static sk_request_decision_t create(sk_user_state_t *st, const char *id, const char *target)
{
    sk_request_event_t e = {.event_id = "re-1",
                            .type = SK_REQ_CREATED,
                            .request_id = id,
                            .actor = st->user,
                            .subject = st->user,
                            .target_kind = SK_TARGET_ENTITLEMENT,
                            .target = target,
                            .duration_ms = HOUR,
                            .justification = "",
                            .comment = "",
                            .source = "test",
                            .occurred_at_ms = T0};
    sk_request_input_t in = {.event = &e, .origin = {"shiftkey.requests.v1", 0, 1}, .now_ms = T0};
    sk_request_decision_t d;
    CHECK_INT(sk_decide_request(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.base.tasks, d.base.n_tasks);
    if (!d.base.rejected)
        *st = d.base.state;
    return d;
}

/* Decides one provisioning result on *st at `now`; the new state replaces *st. */
static sk_request_decision_t answer(sk_user_state_t *st, const char *command_id,
                                    sk_provisioning_status_t status, const char *who,
                                    const char *message, sk_ms_t now)
{
    sk_provisioning_result_t r = {
        .result = status, .provisioner = who, .user = st->user, .message = message, .at_ms = now};
    snprintf(r.command_id, sizeof(r.command_id), "%s", command_id);
    sk_result_input_t in = {
        .result = &r, .origin = {"shiftkey.provisioning.results.v1", 0, 9}, .now_ms = now};
    sk_request_decision_t d;
    CHECK_INT(sk_decide_result(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.base.tasks, d.base.n_tasks);
    if (!d.base.rejected)
        *st = d.base.state;
    return d;
}

/* The user's timer through sk_decide. */
static sk_decision_t timer(sk_user_state_t *st, sk_ms_t now)
{
    sk_decision_t d;
    sk_input_t in = {
        .kind = SK_INPUT_TIMER, .user = st->user, .origin = {"", 0, -1}, .now_ms = now};
    CHECK_INT(sk_decide(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.tasks, d.n_tasks);
    if (!d.rejected)
        *st = d.state;
    return d;
}

/* The state after a round trip through its storage form. */
static sk_user_state_t stored(const sk_user_state_t *st)
{
    sk_user_state_t empty = {.user = st->user}, back;
    sk_state_diff_t all;
    size_t bad = 9;
    CHECK_INT(sk_state_diff(&fx.arena, &empty, st, &all), 0);
    CHECK_INT(sk_state_parse(&fx.arena, st->user, all.set, all.n_set, &back, &bad), 0);
    CHECK_INT(bad, 0);
    return back;
}

/* Opens the PROVISIONING task of `id` (app/byhand for bob); returns its id. */
static const char *provisioning_task(sk_user_state_t *st, const char *id, const char *target)
{
    sk_request_decision_t d = create(st, id, target);
    CHECK(!d.refused && !d.base.rejected);
    CHECK_INT(d.base.n_tasks, 1);
    return d.base.n_tasks ? d.base.tasks[0].task_id : "";
}

TEST(an_approved_hand_provisioned_request_opens_a_provisioning_task)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_decision_t d = create(&st, "h1", "app/byhand");
    CHECK(!d.refused);
    CHECK_INT(d.base.n_commands, 0); /* no grant yet */
    CHECK_STR(d.base.audit.decision, "provisioning");
    CHECK_INT(d.base.n_tasks, 1);
    const sk_task_t *t = &d.base.tasks[0];
    CHECK_INT(t->kind, SK_TASK_PROVISIONING);
    CHECK_INT(t->state, SK_TASK_CREATED);
    CHECK_INT(t->step, 0);
    CHECK_INT(t->n_assignees, 1);
    CHECK_STR(t->assignees[0], "ann");
    CHECK_STR(t->request_id, "h1");
    CHECK_INT(strlen(t->task_id), 32);
    CHECK_INT(sk_state_request(&st, "h1")->status, SK_REQUEST_PROVISIONING);
    CHECK_INT(st.n_sources, 0);
    /* the task id is known again from the stored state alone */
    sk_user_state_t back = stored(&st);
    d = answer(&back, t->task_id, SK_PROV_PROVISIONED, "ann", "", T0 + MIN);
    CHECK_STR(d.base.audit.decision, "granted");
    /* groups of provisioners count through their members */
    sk_user_state_t eve = {.user = "eve"};
    d = create(&eve, "v1", "app/vault");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].n_assignees, 2);
    CHECK_STR(d.base.tasks[0].assignees[1], "pat");
}

TEST(wont_provision_closes_with_the_reason_and_grants_nothing)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    const char *task = provisioning_task(&st, "h2", "app/byhand");
    sk_request_decision_t d =
        answer(&st, task, SK_PROV_WONT_PROVISION, "ann", "no licence left", T0 + MIN);
    CHECK(!d.refused && !d.base.rejected);
    CHECK_INT(d.base.n_commands, 0);
    CHECK_STR(d.base.audit.decision, "denied");
    CHECK_CONTAINS(d.base.audit.reason, "no licence left");
    CHECK_STR(d.base.audit.actor, "ann");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_STR(d.base.tasks[0].task_id, task);
    CHECK_INT(d.base.tasks[0].kind, SK_TASK_PROVISIONING);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_CLOSED);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_WONT_PROVISION);
    CHECK_CONTAINS(d.base.tasks[0].reason, "no licence left");
    CHECK_INT(sk_state_request(&st, "h2")->status, SK_REQUEST_DENIED);
    CHECK_INT(st.n_sources, 0);
}

TEST(provisioned_grants_from_the_answer_and_closes_the_task)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    const char *task = provisioning_task(&st, "h3", "app/byhand");
    sk_request_decision_t d = answer(&st, task, SK_PROV_PROVISIONED, "ann", "done", T0 + 10 * MIN);
    CHECK_STR(d.base.audit.decision, "granted");
    CHECK_INT(d.base.n_commands, 1);
    if (d.base.n_commands == 1) {
        CHECK_INT(d.base.commands[0].action, SK_CMD_GRANT);
        CHECK_STR(d.base.commands[0].entitlement, "byhand");
        CHECK_INT(d.base.commands[0].expires_at_ms, T0 + 10 * MIN + HOUR); /* from now */
        CHECK_STR(d.base.commands[0].sources[0].id, "h3");
    }
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_CLOSED);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_PROVISIONED);
    CHECK_INT(sk_state_request(&st, "h3")->status, SK_REQUEST_APPROVED);
    CHECK_INT(d.base.next_wake_ms, T0 + 10 * MIN + HOUR);
    /* the same result again answers a closed task: no command, no task */
    d = answer(&st, task, SK_PROV_PROVISIONED, "ann", "done", T0 + 11 * MIN);
    CHECK_INT(d.base.n_commands + d.base.n_tasks, 0);
    CHECK_STR(d.base.audit.decision, "ignored");
    CHECK_INT(d.base.diff.n_set + d.base.diff.n_del, 0);
    d = answer(&st, task, SK_PROV_WONT_PROVISION, "ann", "", T0 + 12 * MIN);
    CHECK_INT(d.base.n_commands + d.base.n_tasks, 0);
    CHECK_INT(sk_state_request(&st, "h3")->status, SK_REQUEST_APPROVED);
}

TEST(the_requester_may_cancel_while_waiting_for_a_provisioner)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    const char *task = provisioning_task(&st, "h6", "app/byhand");
    sk_request_event_t x = {.event_id = "re-2",
                            .type = SK_REQ_CANCELLED,
                            .request_id = "h6",
                            .actor = "bob",
                            .subject = "bob",
                            .target = "",
                            .duration_ms = SK_MS_NONE,
                            .justification = "",
                            .comment = "",
                            .source = "test",
                            .occurred_at_ms = T0 + MIN};
    sk_request_input_t in = {.event = &x, .now_ms = T0 + MIN};
    sk_request_decision_t d;
    CHECK_INT(sk_decide_request(fx.rules, &in, &st, &fx.arena, &d), 0);
    st = d.base.state;
    CHECK_STR(d.base.audit.decision, "cancelled");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_STR(d.base.tasks[0].task_id, task);
    CHECK_INT(d.base.tasks[0].kind, SK_TASK_PROVISIONING);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_CANCELLED);
    /* a provisioner's late answer grants nothing */
    d = answer(&st, task, SK_PROV_PROVISIONED, "ann", "", T0 + 2 * MIN);
    CHECK_INT(d.base.n_commands, 0);
    CHECK_STR(d.base.audit.decision, "ignored");
}

TEST(only_a_listed_provisioner_may_answer)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    const char *task = provisioning_task(&st, "h4", "app/byhand");
    sk_request_decision_t d = answer(&st, task, SK_PROV_PROVISIONED, "eve", "", T0 + MIN);
    CHECK(d.refused && !d.base.rejected);
    CHECK_CONTAINS(d.refuse_reason, "'eve' is not a provisioner of request 'h4'");
    CHECK_STR(d.base.audit.decision, "refused");
    CHECK_STR(d.base.audit.actor, "eve");
    CHECK_INT(d.base.n_commands, 0);
    CHECK_INT(d.base.n_tasks, 0);
    CHECK_INT(d.base.diff.n_set + d.base.diff.n_del, 0);
    CHECK_INT(sk_state_request(&st, "h4")->status, SK_REQUEST_PROVISIONING);
    /* pat provisions vault through the group prov */
    sk_user_state_t eve = {.user = "eve"};
    task = provisioning_task(&eve, "v2", "app/vault");
    d = answer(&eve, task, SK_PROV_PROVISIONED, "pat", "", T0 + MIN);
    CHECK(!d.refused);
    CHECK_INT(d.base.n_commands, 1);
}

TEST(failed_leaves_the_task_open_with_the_message)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    const char *task = provisioning_task(&st, "h5", "app/byhand");
    sk_request_decision_t d = answer(&st, task, SK_PROV_FAILED, "ann", "LDAP down", T0 + MIN);
    CHECK(!d.refused);
    CHECK_STR(d.base.audit.decision, "provisioning_failed");
    CHECK_CONTAINS(d.base.audit.reason, "LDAP down");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_UPDATED);
    CHECK_STR(d.base.tasks[0].task_id, task);
    CHECK_CONTAINS(d.base.tasks[0].reason, "LDAP down");
    CHECK_INT(d.base.n_commands, 0);
    CHECK_INT(sk_state_request(&st, "h5")->status, SK_REQUEST_PROVISIONING);
    /* and a later PROVISIONED still works */
    d = answer(&st, task, SK_PROV_PROVISIONED, "ann", "", T0 + 2 * MIN);
    CHECK_INT(d.base.n_commands, 1);
}

/* Grants vault to eve by hand at T0 + MIN (expires T0 + MIN + 1h). */
static void vault_granted(sk_user_state_t *eve, const char *id)
{
    const char *task = provisioning_task(eve, id, "app/vault");
    sk_request_decision_t d = answer(eve, task, SK_PROV_PROVISIONED, "ann", "", T0 + MIN);
    CHECK_INT(d.base.n_commands, 1);
}

TEST(a_hand_provisioned_grant_that_expires_opens_a_deprovisioning_task)
{
    sk_dfx_setup(&fx);
    sk_user_state_t eve = {.user = "eve"};
    vault_granted(&eve, "v3");
    sk_decision_t e = timer(&eve, T0 + MIN + HOUR);
    CHECK_INT(e.n_commands, 1);
    CHECK_INT(e.commands[0].action, SK_CMD_REVOKE);
    CHECK_INT(e.n_tasks, 1);
    const sk_task_t *t = &e.tasks[0];
    CHECK_INT(t->kind, SK_TASK_DEPROVISIONING);
    CHECK_INT(t->state, SK_TASK_CREATED);
    CHECK_STR(t->task_id, e.commands[0].command_id);
    CHECK_STR(t->request_id, "v3");
    CHECK_STR(t->target, "app/vault");
    CHECK_INT(t->n_assignees, 2);
    CHECK_CONTAINS(t->reason, "take 'app/vault' away from 'eve' by hand");
    CHECK_INT(eve.n_open_tasks, 1);
    bool stored_t = false;
    for (size_t i = 0; i < e.diff.n_set; i++)
        stored_t |= strncmp(e.diff.set[i].name, "t:", 2) == 0;
    CHECK(stored_t);
    /* idempotent: the timer again changes nothing */
    sk_decision_t again = timer(&eve, T0 + MIN + HOUR);
    CHECK_INT(again.n_commands + again.n_tasks, 0);
    /* survives storage; an outsider cannot close it; a provisioner can */
    sk_user_state_t back = stored(&eve);
    CHECK_INT(back.n_open_tasks, 1);
    char id[33];
    snprintf(id, sizeof(id), "%s", t->task_id);
    sk_request_decision_t d = answer(&back, id, SK_PROV_DEPROVISIONED, "bob", "", T0 + 2 * HOUR);
    CHECK(d.refused);
    CHECK_INT(back.n_open_tasks, 1);
    d = answer(&back, id, SK_PROV_DEPROVISIONED, "pat", "removed", T0 + 2 * HOUR);
    CHECK(!d.refused);
    CHECK_STR(d.base.audit.decision, "deprovisioned");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].kind, SK_TASK_DEPROVISIONING);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_CLOSED);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_PROVISIONED);
    CHECK_INT(back.n_open_tasks, 0);
    CHECK_INT(d.base.diff.n_del, 1);
    CHECK_CONTAINS(d.base.diff.del[0], "t:");
    CHECK_INT(d.base.n_commands, 0);
}

TEST(with_no_provisioner_an_administrator_closes_a_deprovisioning_task)
{
    sk_dfx_setup(&fx);
    /* eve holds app/orphan (its provisioner group emptied since) */
    sk_grant_source_t src = {.ent_key = "app/orphan",
                             .kind = SK_SOURCE_REQUEST,
                             .id = "o1",
                             .rotation = "",
                             .expires_ms = T0 + HOUR};
    sk_user_state_t eve = {.user = "eve", .n_sources = 1, .sources = &src};
    sk_decision_t e = timer(&eve, T0 + HOUR);
    CHECK_INT(e.n_commands, 1);
    CHECK_INT(e.n_tasks, 1);
    if (e.n_tasks != 1)
        return;
    CHECK_INT(e.tasks[0].kind, SK_TASK_DEPROVISIONING);
    CHECK_INT(e.tasks[0].n_assignees, 0);
    CHECK_CONTAINS(e.tasks[0].reason, "an administrator (group shiftkey-admins) must");
    char id[33];
    snprintf(id, sizeof(id), "%s", e.tasks[0].task_id);
    sk_request_decision_t d = answer(&eve, id, SK_PROV_DEPROVISIONED, "bob", "", T0 + 2 * HOUR);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "with no provisioner, an administrator");
    d = answer(&eve, id, SK_PROV_DEPROVISIONED, "root", "done by hand", T0 + 2 * HOUR);
    CHECK(!d.refused);
    CHECK_STR(d.base.audit.decision, "deprovisioned");
    CHECK_INT(eve.n_open_tasks, 0);
}

TEST(wont_deprovision_closes_with_a_warning)
{
    sk_dfx_setup(&fx);
    sk_user_state_t eve = {.user = "eve"};
    vault_granted(&eve, "v4");
    sk_decision_t e = timer(&eve, T0 + MIN + HOUR);
    CHECK_INT(e.n_tasks, 1);
    char id[33];
    snprintf(id, sizeof(id), "%s", e.n_tasks ? e.tasks[0].task_id : "");
    sk_request_decision_t d = answer(&eve, id, SK_PROV_FAILED, "ann", "busy", T0 + 2 * HOUR);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_UPDATED);
    CHECK_INT(eve.n_open_tasks, 1);
    d = answer(&eve, id, SK_PROV_WONT_PROVISION, "ann", "shared account", T0 + 2 * HOUR);
    CHECK_STR(d.base.audit.decision, "wont_deprovision");
    CHECK_CONTAINS(d.base.audit.reason, "access may remain");
    CHECK_CONTAINS(d.base.audit.reason, "shared account");
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_WONT_PROVISION);
    CHECK_INT(eve.n_open_tasks, 0);
}

TEST(results_of_automatic_provisioners_are_audited)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    const char *cmd = "0123456789abcdef0123456789abcdef";
    sk_request_decision_t d = answer(&st, cmd, SK_PROV_PROVISIONED, "aws-connector", "", T0);
    CHECK_STR(d.base.audit.decision, "confirmed");
    CHECK_INT(d.base.n_tasks + d.base.n_commands, 0);
    CHECK_INT(d.base.diff.n_set + d.base.diff.n_del, 0);
    CHECK_STR(d.base.audit.event_id, cmd);
    d = answer(&st, cmd, SK_PROV_FAILED, "aws-connector", "throttled", T0);
    CHECK_STR(d.base.audit.decision, "provisioning_failed");
    CHECK_CONTAINS(d.base.audit.reason, "throttled");
    CHECK_CONTAINS(d.base.audit.reason, cmd);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].kind, SK_TASK_PROVISIONING);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_CREATED);
    CHECK_INT(d.base.tasks[0].n_assignees, 0);
    CHECK_CONTAINS(d.base.tasks[0].reason, cmd);
    CHECK_INT(d.base.diff.n_set + d.base.diff.n_del, 0);
    d = answer(&st, cmd, SK_PROV_WONT_PROVISION, "aws-connector", "", T0);
    CHECK_STR(d.base.audit.decision, "provisioning_failed");
}

/* A FAILED (retryable) answer of an automatic provisioner. */
static sk_request_decision_t failed_retryable(sk_user_state_t *st, const char *command_id,
                                              sk_ms_t now)
{
    sk_provisioning_result_t r = {.result = SK_PROV_FAILED,
                                  .retryable = true,
                                  .provisioner = "aws-connector",
                                  .user = st->user,
                                  .message = "throttled",
                                  .at_ms = now};
    snprintf(r.command_id, sizeof(r.command_id), "%s", command_id);
    sk_result_input_t in = {.result = &r, .now_ms = now};
    sk_request_decision_t d;
    CHECK_INT(sk_decide_result(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.base.tasks, d.base.n_tasks);
    if (!d.base.rejected)
        *st = d.base.state;
    return d;
}

/* bob holds app/read for 8h from T0 by request; returns the GRANT's id. */
static const char *read_granted(sk_user_state_t *st, const char *id)
{
    sk_request_event_t e = {.event_id = "re-3",
                            .type = SK_REQ_CREATED,
                            .request_id = id,
                            .actor = st->user,
                            .subject = st->user,
                            .target_kind = SK_TARGET_ENTITLEMENT,
                            .target = "app/read",
                            .duration_ms = 8 * HOUR,
                            .justification = "",
                            .comment = "",
                            .source = "test",
                            .occurred_at_ms = T0};
    sk_request_input_t in = {.event = &e, .now_ms = T0};
    sk_request_decision_t d;
    CHECK_INT(sk_decide_request(fx.rules, &in, st, &fx.arena, &d), 0);
    *st = d.base.state;
    CHECK_INT(d.base.n_commands, 1);
    return d.base.n_commands ? sk_arena_strdup(&fx.arena, d.base.commands[0].command_id) : "";
}

TEST(a_retryable_failure_is_retried_with_backoff_then_given_up)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    const char *cmd = read_granted(&st, "g1");
    sk_request_decision_t d = failed_retryable(&st, cmd, T0 + 1000);
    CHECK_STR(d.base.audit.decision, "retry_scheduled");
    CHECK_CONTAINS(d.base.audit.reason, "retry 1 of 5 in 1m");
    CHECK_INT(d.base.n_tasks, 0);
    CHECK_INT(st.n_retries, 1);
    CHECK_INT(d.base.next_wake_ms, T0 + 1000 + MIN);
    d = failed_retryable(&st, cmd, T0 + 2000); /* again before the retry */
    CHECK_STR(d.base.audit.decision, "retry_pending");
    CHECK_INT(d.base.diff.n_set + d.base.diff.n_del, 0);
    CHECK_INT(d.base.next_wake_ms, T0 + 1000 + MIN);
    /* a refused request event keeps the retry's wake-up */
    sk_request_event_t x = {.event_id = "re-5",
                            .type = SK_REQ_CANCELLED,
                            .request_id = "g1",
                            .actor = "bob",
                            .subject = "bob",
                            .target = "",
                            .duration_ms = SK_MS_NONE,
                            .justification = "",
                            .comment = "",
                            .source = "test",
                            .occurred_at_ms = T0 + 3000};
    sk_request_input_t xin = {.event = &x, .now_ms = T0 + 3000};
    CHECK_INT(sk_decide_request(fx.rules, &xin, &st, &fx.arena, &d), 0);
    CHECK(d.refused);
    CHECK_INT(d.base.next_wake_ms, T0 + 1000 + MIN);
    x.request_id = "nope"; /* and so does a rejected one */
    CHECK_INT(sk_decide_request(fx.rules, &xin, &st, &fx.arena, &d), 0);
    CHECK(d.base.rejected);
    CHECK_INT(d.base.next_wake_ms, T0 + 1000 + MIN);
    sk_user_state_t back = stored(&st);
    CHECK_INT(back.n_retries, 1);
    CHECK_INT(back.retries[0].next_ms, T0 + 1000 + MIN);
    sk_ms_t gap = MIN;
    for (int k = 1; k <= SK_RETRY_MAX; k++) {
        sk_ms_t due = st.retries[0].next_ms;
        sk_decision_t t = timer(&st, due);
        CHECK_INT(t.n_commands, 1);
        if (t.n_commands == 1) {
            CHECK_STR(t.commands[0].command_id, cmd); /* the same command again */
            CHECK_INT(t.commands[0].action, SK_CMD_GRANT);
            CHECK_INT(t.commands[0].issued_at_ms, due);
            CHECK_CONTAINS(t.commands[0].reason, "after a FAILED (retryable) result");
        }
        CHECK_INT(st.retries[0].attempt, k);
        gap *= 2;
        CHECK_INT(st.retries[0].next_ms, due + gap);
        CHECK_INT(t.next_wake_ms, due + gap);
        t = timer(&st, due); /* idempotent */
        CHECK_INT(t.n_commands + t.diff.n_set + t.diff.n_del, 0);
    }
    sk_decision_t t = timer(&st, st.retries[0].next_ms);
    CHECK_INT(t.n_commands, 0);
    CHECK_INT(t.n_tasks, 1);
    CHECK_INT(t.tasks[0].kind, SK_TASK_PROVISIONING);
    CHECK_STR(t.tasks[0].target, "app/read");
    CHECK_CONTAINS(t.tasks[0].reason, "still failed after 5 retries");
    CHECK_INT(st.n_retries, 0);
}

/* RULES plus one more file holding `extra`, loaded from a temporary folder
 * of links (removed again); errors into *errs. The caller destroys both. */
static sk_rules_t *rules_plus(const char *extra, sk_rules_errors_t *errs)
{
    char dir[] = "/tmp/sk-rules-XXXXXX", path[PATH_MAX + 300], abs[PATH_MAX];
    sk_rules_errors_init(errs);
    if (!mkdtemp(dir) || !realpath(RULES, abs))
        return NULL;
    DIR *d = opendir(abs);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char to[PATH_MAX + 300];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", abs, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        CHECK_INT(symlink(path, to), 0);
    }
    if (d)
        closedir(d);
    snprintf(path, sizeof path, "%s/zz-settings.yaml", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(extra, f);
        fclose(f);
    }
    sk_rules_t *r = sk_rules_load(dir, errs);
    d = opendir(dir);
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    return r;
}

TEST(provisioning_retry_of_the_rules_sets_the_first_wait)
{
    sk_dfx_setup(&fx);
    sk_rules_errors_t errs;
    sk_rules_t *fast = rules_plus("provisioning_retry: 3s\n", &errs);
    CHECK(fast != NULL);
    CHECK_INT((int)errs.count, 0);
    sk_rules_errors_fini(&errs);
    if (!fast)
        return;
    CHECK_INT(sk_rules_provisioning_retry(fx.rules), SK_RETRY_BASE_MS);
    CHECK_INT(sk_rules_provisioning_retry(fast), 3000);
    CHECK(strcmp(sk_rules_version(fast), sk_rules_version(fx.rules)) != 0);
    sk_rules_t *saved = fx.rules;
    fx.rules = fast; /* the helpers decide with fx.rules */
    sk_user_state_t st = {.user = "bob"};
    const char *cmd = read_granted(&st, "g1");
    sk_request_decision_t d = failed_retryable(&st, cmd, T0 + 1000);
    CHECK_STR(d.base.audit.decision, "retry_scheduled");
    CHECK_CONTAINS(d.base.audit.reason, "retry 1 of 5 in 3"); /* 3s or 3000ms */
    CHECK_INT(d.base.next_wake_ms, T0 + 1000 + 3000);
    sk_decision_t t = timer(&st, T0 + 4000);
    CHECK_INT(t.n_commands, 1);
    CHECK_INT(t.next_wake_ms, T0 + 4000 + 6000); /* doubled */
    fx.rules = saved;
    sk_rules_destroy(fast);
    /* refused like every bad setting: the whole rule set, with the place */
    const char *bad[] = {"provisioning_retry: 0\n", "provisioning_retry: 2h\n",
                         "provisioning_retry: soon\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sk_rules_t *r = rules_plus(bad[i], &errs);
        CHECK(r == NULL);
        CHECK_INT((int)errs.count, 1);
        if (errs.count) {
            CHECK_CONTAINS(errs.items[0].message, "bad provisioning_retry");
            CHECK_CONTAINS(errs.items[0].file, "zz-settings.yaml");
            CHECK_INT(errs.items[0].line, 1);
        }
        sk_rules_errors_fini(&errs);
        sk_rules_destroy(r);
    }
}

TEST(a_retry_stops_when_confirmed_or_superseded)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    const char *cmd = read_granted(&st, "g2");
    failed_retryable(&st, cmd, T0 + 1000);
    sk_request_decision_t d = answer(&st, cmd, SK_PROV_PROVISIONED, "aws-connector", "", T0 + 2000);
    CHECK_STR(d.base.audit.decision, "confirmed");
    CHECK_INT(st.n_retries, 0);
    CHECK_INT(d.base.diff.n_del, 1);
    /* superseded: a later request extends read before the retry is due */
    failed_retryable(&st, cmd, T0 + 3000);
    CHECK_INT(st.n_retries, 1);
    sk_request_event_t e = {.event_id = "re-4",
                            .type = SK_REQ_CREATED,
                            .request_id = "g3",
                            .actor = "bob",
                            .subject = "bob",
                            .target_kind = SK_TARGET_ENTITLEMENT,
                            .target = "app/read",
                            .duration_ms = 8 * HOUR,
                            .justification = "",
                            .comment = "",
                            .source = "test",
                            .occurred_at_ms = T0 + 4000};
    sk_request_input_t in = {.event = &e, .now_ms = T0 + 4000};
    CHECK_INT(sk_decide_request(fx.rules, &in, &st, &fx.arena, &d), 0);
    st = d.base.state;
    CHECK_INT(d.base.n_commands, 1); /* the EXTEND */
    sk_decision_t t = timer(&st, T0 + 3000 + MIN);
    CHECK_INT(t.n_commands, 0);
    CHECK_INT(t.n_tasks, 0);
    CHECK_INT(st.n_retries, 0);
    /* a FAILED for a command no source explains (a REVOKE) opens the task */
    d = failed_retryable(&st, "ffffffffffffffffffffffffffffffff", T0 + 5000);
    CHECK_STR(d.base.audit.decision, "provisioning_failed");
    CHECK_INT(d.base.n_tasks, 1);
}

TEST(a_failed_revoke_is_retried_until_confirmed_or_granted_again)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    read_granted(&st, "g4");
    sk_ms_t end = T0 + 8 * HOUR;
    sk_decision_t t = timer(&st, end); /* the request's grant expires */
    CHECK_INT(t.n_commands, 1);
    if (t.n_commands != 1)
        return;
    CHECK_INT(t.commands[0].action, SK_CMD_REVOKE);
    const char *revoke = sk_arena_strdup(&fx.arena, t.commands[0].command_id);
    /* remembered, without a wake-up of its own */
    CHECK_INT(st.n_retries, 1);
    const sk_retry_t *m = sk_state_retry(&st, revoke);
    CHECK(m && m->action == SK_CMD_REVOKE && m->next_ms == SK_MS_NONE);
    CHECK(t.next_wake_ms != end + MIN);
    CHECK_INT(stored(&st).n_retries, 1);
    sk_request_decision_t d = failed_retryable(&st, revoke, end + 1000);
    CHECK_STR(d.base.audit.decision, "retry_scheduled");
    CHECK_CONTAINS(d.base.audit.reason, "REVOKE of 'app/read'");
    CHECK_INT(d.base.next_wake_ms, end + 1000 + MIN);
    t = timer(&st, end + 1000 + MIN);
    CHECK_INT(t.n_commands, 1);
    if (t.n_commands == 1) {
        CHECK_STR(t.commands[0].command_id, revoke); /* the same REVOKE again */
        CHECK_INT(t.commands[0].action, SK_CMD_REVOKE);
        CHECK_STR(t.commands[0].app, "app");
        CHECK_STR(t.commands[0].entitlement, "read");
        CHECK_CONTAINS(t.commands[0].reason, "after a FAILED (retryable) result");
    }
    CHECK_INT(st.n_retries, 1);
    d = answer(&st, revoke, SK_PROV_DEPROVISIONED, "aws-connector", "", end + 2 * MIN);
    CHECK_STR(d.base.audit.decision, "confirmed");
    CHECK_INT(st.n_retries, 0);

    /* granted again: a remembered REVOKE of the same entitlement is dropped */
    sk_user_state_t eve = {.user = "bob"};
    read_granted(&eve, "g5");
    t = timer(&eve, end);
    CHECK_INT(eve.n_retries, 1);
    sk_request_event_t e = {.event_id = "re-6",
                            .type = SK_REQ_CREATED,
                            .request_id = "g6",
                            .actor = "bob",
                            .subject = "bob",
                            .target_kind = SK_TARGET_ENTITLEMENT,
                            .target = "app/read",
                            .duration_ms = HOUR,
                            .justification = "",
                            .comment = "",
                            .source = "test",
                            .occurred_at_ms = end + MIN};
    sk_request_input_t in = {.event = &e, .now_ms = end + MIN};
    CHECK_INT(sk_decide_request(fx.rules, &in, &eve, &fx.arena, &d), 0);
    eve = d.base.state;
    CHECK_INT(d.base.n_commands, 1); /* the GRANT */
    CHECK_INT(eve.n_retries, 0);
}

TEST(invalid_results_are_rejected)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_decision_t d = answer(&st, "abc", SK_PROV_PROVISIONED, "", "", T0);
    CHECK(d.base.rejected);
    CHECK_INT(d.base.reject_kind, SK_DL_INVALID);
    sk_provisioning_result_t r = {.result = SK_PROV_PROVISIONED,
                                  .provisioner = "ann",
                                  .user = "someone-else",
                                  .message = "",
                                  .at_ms = T0};
    snprintf(r.command_id, sizeof(r.command_id), "abc");
    sk_result_input_t in = {.result = &r, .now_ms = T0};
    CHECK_INT(sk_decide_result(fx.rules, &in, &st, &fx.arena, &d), 0);
    CHECK(d.base.rejected);
    CHECK_STR(d.base.audit.decision, "rejected");
    d = answer(&st, "", SK_PROV_PROVISIONED, "ann", "", T0);
    CHECK(d.base.rejected);
}

/* 1 when s is well-formed UTF-8. */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80             ? 0
                : (*p & 0xE0) == 0xC0 ? 1
                : (*p & 0xF0) == 0xE0 ? 2
                : (*p & 0xF8) == 0xF0 ? 3
                                      : -1;
        if (n < 0)
            return false;
        for (p++; n > 0; n--, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

/* A provisioner's message may take the whole SK_TEXT_MAX the decoder allows;
 * the task that quotes it behind a prefix must still decode (answer() checks
 * every task on the wire), so its reason is cut, on a character boundary,
 * with a marker. The audit reason likewise. */
TEST(a_longest_message_is_cut_so_that_the_task_still_decodes)
{
    sk_dfx_setup(&fx);
    char msg[SK_TEXT_MAX + 1];
    for (size_t i = 0; i + 1 < sizeof(msg); i += 2)
        memcpy(&msg[i], "\xc3\xa9", 2); /* é, 2 bytes */
    msg[SK_TEXT_MAX] = '\0';
    const sk_task_t *t;
    /* an automatic provisioner's FAILED: a PROVISIONING task without assignees */
    sk_user_state_t st = {.user = "bob"};
    sk_request_decision_t d =
        answer(&st, "0123456789abcdef0123456789abcdef", SK_PROV_FAILED, "aws-connector", msg, T0);
    CHECK_INT(d.base.n_tasks, 1);
    t = &d.base.tasks[0];
    CHECK(strlen(t->reason) <= SK_TEXT_MAX);
    CHECK_CONTAINS(t->reason, "0123456789abcdef0123456789abcdef"); /* the prefix stays */
    CHECK(utf8_ok(t->reason));
    CHECK_CONTAINS(t->reason, " [truncated]");
    CHECK(strlen(d.base.audit.reason) <= SK_TEXT_MAX);
    CHECK(utf8_ok(d.base.audit.reason));
    for (size_t i = 0; i < d.base.audit.n_trace; i++)
        CHECK(strlen(sk_text_render(&d.base.audit.trace[i], &fx.arena)) <= SK_TEXT_MAX);
    /* a hand provisioner's FAILED on a request's PROVISIONING task */
    sk_user_state_t bob = {.user = "bob"};
    const char *task = provisioning_task(&bob, "h9", "app/byhand");
    d = answer(&bob, task, SK_PROV_FAILED, "ann", msg, T0 + MIN);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK(strlen(d.base.tasks[0].reason) <= SK_TEXT_MAX);
    CHECK(utf8_ok(d.base.tasks[0].reason));
    /* short text is left alone */
    d = answer(&bob, task, SK_PROV_FAILED, "ann", "LDAP down", T0 + 2 * MIN);
    CHECK(strstr(d.base.tasks[0].reason, "[truncated]") == NULL);
}

TEST(zz_cleanup)
{
    sk_dfx_teardown(&fx);
    CHECK(1);
}

SK_TEST_MAIN(SK_TEST_CASE(an_approved_hand_provisioned_request_opens_a_provisioning_task),
             SK_TEST_CASE(wont_provision_closes_with_the_reason_and_grants_nothing),
             SK_TEST_CASE(provisioned_grants_from_the_answer_and_closes_the_task),
             SK_TEST_CASE(the_requester_may_cancel_while_waiting_for_a_provisioner),
             SK_TEST_CASE(only_a_listed_provisioner_may_answer),
             SK_TEST_CASE(failed_leaves_the_task_open_with_the_message),
             SK_TEST_CASE(a_hand_provisioned_grant_that_expires_opens_a_deprovisioning_task),
             SK_TEST_CASE(with_no_provisioner_an_administrator_closes_a_deprovisioning_task),
             SK_TEST_CASE(wont_deprovision_closes_with_a_warning),
             SK_TEST_CASE(results_of_automatic_provisioners_are_audited),
             SK_TEST_CASE(a_retryable_failure_is_retried_with_backoff_then_given_up),
             SK_TEST_CASE(provisioning_retry_of_the_rules_sets_the_first_wait),
             SK_TEST_CASE(a_retry_stops_when_confirmed_or_superseded),
             SK_TEST_CASE(a_failed_revoke_is_retried_until_confirmed_or_granted_again),
             SK_TEST_CASE(invalid_results_are_rejected),
             SK_TEST_CASE(a_longest_message_is_cut_so_that_the_task_still_decodes),
             SK_TEST_CASE(zz_cleanup))
