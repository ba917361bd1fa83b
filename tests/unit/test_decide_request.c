/*
 * test_decide_request.c — the pure decision for access requests, driven
 * with fixed clocks on tests/rules/requests: requestable-now checks,
 * auto-approve, caps, two-step reviews, assignees and self-approval,
 * escalation, a request next to an on-call shift, storage round trip.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decide/decide_request.h"
#include "sk_decide_fx.h"
#include "sk_test.h"

#define RULES "tests/rules/requests"
#define T0    1800000000000LL /* a fixed "now" */
#define MIN   60000LL
#define HOUR  (60 * MIN)

static sk_dfx_t fx = {.rules_path = RULES};

static sk_request_event_t rev(sk_request_event_type_t type, const char *req, const char *actor,
                              const char *subject, const char *target, sk_ms_t dur)
{
    return (sk_request_event_t){.event_id = "re-1",
                                .type = type,
                                .request_id = req,
                                .actor = actor,
                                .subject = subject,
                                .target_kind = SK_TARGET_ENTITLEMENT,
                                .target = target,
                                .duration_ms = dur,
                                .justification = "incident 42",
                                .comment = "",
                                .source = "test",
                                .occurred_at_ms = T0};
}

static const char *const oncall_users[] = {"carl", "dana"};
static const sk_oncall_list_t oncall[] = {{"primary", 2, oncall_users}};

/* Decides one request event on `st` at `now`; the new state replaces *st. */
static sk_request_decision_t act(sk_user_state_t *st, const sk_request_event_t *e, sk_ms_t now)
{
    sk_request_decision_t d;
    sk_request_input_t in = {.event = e,
                             .origin = {"shiftkey.requests.v1", 0, 7},
                             .now_ms = now,
                             .n_oncall = 1,
                             .oncall = oncall};
    CHECK_INT(sk_decide_request(fx.rules, &in, st, &fx.arena, &d), 0);
    if (!d.base.rejected)
        *st = d.base.state;
    return d;
}

/* A schedule event or a timer (e NULL) through sk_decide. */
static sk_decision_t shift(sk_user_state_t *st, const sk_schedule_event_t *e, sk_ms_t now)
{
    sk_decision_t d;
    sk_input_t in = {.kind = e ? SK_INPUT_SCHEDULE : SK_INPUT_TIMER,
                     .schedule = e,
                     .user = st->user,
                     .origin = {"t", 0, e ? 1 : -1},
                     .now_ms = now};
    CHECK_INT(sk_decide(fx.rules, &in, st, &fx.arena, &d), 0);
    if (!d.rejected)
        *st = d.state;
    return d;
}

static sk_schedule_event_t sev(sk_shift_event_type_t type, const char *user, sk_ms_t start,
                               sk_ms_t end, sk_ms_t at)
{
    return (sk_schedule_event_t){"se-1", type, "test", "primary", user, "sh1", start, end, 1, at};
}

TEST(self_service_auto_approve_grants_at_once)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "r1", "bob", "bob", "app/read", 2 * HOUR);
    sk_request_decision_t d = act(&st, &c, T0);
    CHECK(!d.base.rejected && !d.refused);
    CHECK_INT(d.base.n_commands, 1);
    if (d.base.n_commands == 1) {
        const sk_command_t *g = &d.base.commands[0];
        CHECK_INT(g->action, SK_CMD_GRANT);
        CHECK_STR(g->entitlement, "read");
        CHECK_INT(g->expires_at_ms, T0 + 2 * HOUR);
        CHECK_INT(g->n_sources, 1);
        CHECK_INT(g->sources[0].kind, SK_SOURCE_REQUEST);
        CHECK_STR(g->sources[0].id, "r1");
        CHECK(!g->emergency);
    }
    CHECK_INT(d.base.n_tasks, 0);
    CHECK_STR(d.base.audit.decision, "granted");
    CHECK_STR(d.base.audit.actor, "bob");
    CHECK_INT(d.base.next_wake_ms, T0 + 2 * HOUR);
    CHECK_INT(st.n_requests, 1);
    CHECK_INT(st.requests[0].status, SK_REQUEST_APPROVED);
    CHECK_STR(st.requests[0].policy, "auto");
    CHECK_INT(d.base.diff.n_set, 2); /* q:r1 + the source */
}

TEST(a_duration_above_the_maximum_is_capped)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "r2", "bob", "bob", "app/read", 24 * HOUR);
    sk_request_decision_t d = act(&st, &c, T0);
    CHECK_INT(d.base.n_commands, 1);
    CHECK_INT(d.base.commands[0].expires_at_ms, T0 + 8 * HOUR);
    bool capped = false;
    for (size_t i = 0; i < d.base.audit.n_trace; i++)
        capped |= strstr(sk_text_render(&d.base.audit.trace[i], &fx.arena),
                         "capped to the maximum 8h") != NULL;
    CHECK(capped);
}

TEST(not_requestable_is_refused_with_a_reason_not_dead_lettered)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "eve"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "r3", "eve", "eve", "app/read", HOUR);
    sk_request_decision_t d = act(&st, &c, T0);
    CHECK(!d.base.rejected);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "not on call in rotation 'primary'");
    CHECK_CONTAINS(d.refuse_reason, "not in group 'eng'");
    CHECK_STR(d.base.audit.decision, "refused");
    CHECK_INT(d.base.n_commands, 0);
    CHECK_INT(d.base.diff.n_set + d.base.diff.n_del, 0);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_CLOSED);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_DENIED);
    CHECK_CONTAINS(d.base.tasks[0].reason, "may not request");
    /* on call in primary now: requestable */
    sk_schedule_event_t s = sev(SK_SHIFT_STARTED, "eve", T0 - HOUR, T0 + HOUR, T0 - HOUR);
    shift(&st, &s, T0 - HOUR);
    c.duration_ms = 2 * HOUR; /* past the shift's T0 + 1h */
    d = act(&st, &c, T0);
    CHECK(!d.refused);
    CHECK_INT(d.base.n_commands, 1); /* EXTEND: the shift already holds read */
    CHECK_INT(d.base.commands[0].action, SK_CMD_EXTEND);
}

TEST(not_self_service_and_a_hand_provisioned_profile_are_refused)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "eve"};
    sk_request_event_t a = rev(SK_REQ_CREATED, "r30", "eve", "eve", "app/nonself", HOUR);
    sk_request_decision_t d = act(&st, &a, T0);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "'app/nonself' is not self-service");
    CHECK_INT(d.base.n_commands, 0);
    sk_request_event_t b = rev(SK_REQ_CREATED, "r31", "eve", "eve", "p-hand", HOUR);
    b.target_kind = SK_TARGET_PROFILE;
    d = act(&st, &b, T0);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "profile 'p-hand' is provisioned by hand");
    CHECK_INT(d.base.n_commands, 0);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_DENIED);
}

TEST(an_unknown_entitlement_or_request_is_dead_lettered)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "r4", "bob", "bob", "app/nope", HOUR);
    sk_request_decision_t d = act(&st, &c, T0);
    CHECK(d.base.rejected);
    CHECK_INT(d.base.reject_kind, SK_DL_UNKNOWN_REFERENCE);
    sk_request_event_t a = rev(SK_REQ_APPROVED, "r404", "ann", "bob", "app/write", SK_MS_NONE);
    d = act(&st, &a, T0);
    CHECK(d.base.rejected);
    CHECK_STR(d.base.audit.decision, "rejected");
    sk_request_event_t o = rev(SK_REQ_CREATED, "r5", "bob", "someone-else", "app/read", HOUR);
    d = act(&st, &o, T0);
    CHECK(d.base.rejected);
    CHECK_INT(d.base.reject_kind, SK_DL_INVALID);
}

TEST(a_condition_is_evaluated_on_the_request)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t ok = rev(SK_REQ_CREATED, "c1", "bob", "bob", "app/short", 30 * MIN);
    sk_request_event_t no = rev(SK_REQ_CREATED, "c2", "bob", "bob", "app/short", 2 * HOUR);
    sk_request_decision_t d = act(&st, &ok, T0);
    CHECK_INT(d.base.n_commands, 1);
    d = act(&st, &no, T0);
    CHECK_INT(d.base.n_commands, 0);
    CHECK_STR(d.base.audit.decision, "denied");
    CHECK_CONTAINS(d.base.audit.reason, "is false");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_DENIED);
    CHECK_INT(sk_state_request(&st, "c2")->status, SK_REQUEST_DENIED);
    sk_user_state_t dana = {.user = "dana"}; /* in owners: the condition is false */
    sk_request_event_t od = rev(SK_REQ_CREATED, "c3", "dana", "dana", "app/short", 30 * MIN);
    d = act(&dana, &od, T0);
    CHECK_STR(d.base.audit.decision, "denied");
}

TEST(two_step_deny_at_step_one_never_asks_step_two)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "w1", "bob", "bob", "app/write", HOUR);
    sk_request_decision_t d = act(&st, &c, T0);
    CHECK_STR(d.base.audit.decision, "pending");
    CHECK_INT(d.base.n_commands, 0);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_CREATED);
    CHECK_INT(d.base.tasks[0].step, 1);
    CHECK_INT(d.base.tasks[0].n_assignees, 1);
    CHECK_STR(d.base.tasks[0].assignees[0], "ann"); /* bob's manager */
    /* a review waiting for people keeps the user's key: no TTL */
    CHECK(d.base.keep_until_ms == SK_MS_NONE);
    const char *task1 = d.base.tasks[0].task_id;
    sk_request_event_t deny = rev(SK_REQ_DENIED, "w1", "ann", "bob", "app/write", SK_MS_NONE);
    d = act(&st, &deny, T0 + MIN);
    CHECK_STR(d.base.audit.decision, "denied");
    CHECK(d.base.keep_until_ms != SK_MS_NONE); /* closed: the key expires again */
    CHECK(d.base.keep_until_ms > T0 + MIN);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_STR(d.base.tasks[0].task_id, task1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_CLOSED);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_DENIED);
    CHECK_INT(d.base.tasks[0].n_assignees, 0); /* nobody acts on a closed task */
    CHECK_INT(d.base.n_commands, 0);
    /* a later approval changes nothing: step 2 is never asked */
    sk_request_event_t ap = rev(SK_REQ_APPROVED, "w1", "ann", "bob", "app/write", SK_MS_NONE);
    d = act(&st, &ap, T0 + 2 * MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "already DENIED");
    CHECK_INT(d.base.n_tasks, 0);
    CHECK_INT(d.base.n_commands, 0);
}

TEST(two_step_approvals_grant_after_the_last_step)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "w2", "bob", "bob", "app/write", HOUR);
    act(&st, &c, T0);
    sk_request_event_t a1 = rev(SK_REQ_APPROVED, "w2", "ann", "bob", "app/write", SK_MS_NONE);
    sk_request_decision_t d = act(&st, &a1, T0 + MIN);
    CHECK_STR(d.base.audit.decision, "pending");
    CHECK_INT(d.base.n_tasks, 2); /* step 1 closed, step 2 created */
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_APPROVED);
    CHECK_INT(d.base.tasks[1].step, 2);
    CHECK_INT(d.base.tasks[1].n_assignees, 3); /* owners: ann, carl, dana */
    sk_request_event_t a2 = rev(SK_REQ_APPROVED, "w2", "dana", "bob", "app/write", SK_MS_NONE);
    d = act(&st, &a2, T0 + 2 * MIN);
    CHECK_STR(d.base.audit.decision, "granted");
    CHECK_INT(d.base.n_commands, 1);
    CHECK_INT(d.base.commands[0].expires_at_ms, T0 + 2 * MIN + HOUR);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_APPROVED);
}

TEST(an_unassigned_reviewer_is_refused_and_audited)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "w3", "bob", "bob", "app/write", HOUR);
    act(&st, &c, T0);
    sk_request_event_t a = rev(SK_REQ_APPROVED, "w3", "dana", "bob", "app/write", SK_MS_NONE);
    sk_request_decision_t d = act(&st, &a, T0 + MIN);
    CHECK(d.refused && !d.base.rejected);
    CHECK_CONTAINS(d.refuse_reason, "'dana' is not an assignee of step 1");
    CHECK_STR(d.base.audit.decision, "refused");
    CHECK_STR(d.base.audit.actor, "dana");
    CHECK_INT(d.base.diff.n_set + d.base.diff.n_del, 0);
    CHECK_INT(d.base.n_commands, 0);
    /* nor can an outsider change the duration */
    sk_request_event_t dc = rev(SK_REQ_DURATION_CHANGED, "w3", "eve", "bob", "app/write", MIN);
    d = act(&st, &dc, T0 + MIN);
    CHECK(d.refused);
}

TEST(self_approval_is_refused_unless_the_step_allows_it)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "w4", "bob", "bob", "app/write", HOUR);
    act(&st, &c, T0);
    sk_request_event_t a = rev(SK_REQ_APPROVED, "w4", "bob", "bob", "app/write", SK_MS_NONE);
    sk_request_decision_t d = act(&st, &a, T0 + MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "does not allow self-approval");
    /* team-self allows it: bob is among the assignees and may approve */
    sk_request_event_t c2 = rev(SK_REQ_CREATED, "d1", "bob", "bob", "app/deploy", HOUR);
    d = act(&st, &c2, T0);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].n_assignees, 2); /* bob, carl */
    sk_request_event_t a2 = rev(SK_REQ_APPROVED, "d1", "bob", "bob", "app/deploy", SK_MS_NONE);
    d = act(&st, &a2, T0 + MIN);
    CHECK(!d.refused);
    CHECK_STR(d.base.audit.decision, "granted");
}

TEST(on_call_reviewers_come_from_the_pre_resolved_list)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "eve"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "a1", "eve", "eve", "app/admin", 3 * HOUR);
    sk_request_decision_t d = act(&st, &c, T0);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].n_assignees, 2);
    CHECK_STR(d.base.tasks[0].assignees[0], "carl");
    /* an assignee shortens the duration, then approves: capped at 1h anyway */
    sk_request_event_t dc =
        rev(SK_REQ_DURATION_CHANGED, "a1", "carl", "eve", "app/admin", 30 * MIN);
    d = act(&st, &dc, T0 + MIN);
    CHECK_STR(d.base.audit.decision, "state_updated");
    CHECK_INT(d.base.tasks[0].state, SK_TASK_UPDATED);
    sk_request_event_t a = rev(SK_REQ_APPROVED, "a1", "dana", "eve", "app/admin", SK_MS_NONE);
    d = act(&st, &a, T0 + 2 * MIN);
    CHECK_INT(d.base.n_commands, 1);
    CHECK_INT(d.base.commands[0].expires_at_ms, T0 + 32 * MIN);
}

TEST(cancel_by_the_requester_closes_the_task)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "w5", "bob", "bob", "app/write", HOUR);
    act(&st, &c, T0);
    sk_request_event_t x = rev(SK_REQ_CANCELLED, "w5", "ann", "bob", "app/write", SK_MS_NONE);
    sk_request_decision_t d = act(&st, &x, T0 + MIN);
    CHECK(d.refused);
    x.actor = "bob";
    d = act(&st, &x, T0 + MIN);
    CHECK_STR(d.base.audit.decision, "cancelled");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_CANCELLED);
    CHECK_INT(sk_state_request(&st, "w5")->status, SK_REQUEST_CANCELLED);
}

TEST(escalation_switches_to_the_emergency_policy_and_flags_the_grant)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "e1", "bob", "bob", "app/write", HOUR);
    act(&st, &c, T0);
    sk_request_event_t e = rev(SK_REQ_ESCALATED, "e1", "bob", "bob", "app/write", SK_MS_NONE);
    sk_request_decision_t d = act(&st, &e, T0 + MIN);
    CHECK_INT(d.base.n_commands, 1);
    if (d.base.n_commands == 1) {
        CHECK_INT(d.base.commands[0].action, SK_CMD_GRANT);
        CHECK(d.base.commands[0].emergency);
        CHECK_INT(d.base.commands[0].sources[0].kind, SK_SOURCE_EMERGENCY);
    }
    CHECK_INT(d.base.n_tasks, 2); /* the step-1 review closes; the grant's record */
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_CANCELLED);
    CHECK(d.base.tasks[0].emergency);
    if (d.base.n_tasks == 2) {
        const sk_task_t *g = &d.base.tasks[1];
        CHECK_INT(g->kind, SK_TASK_EMERGENCY_GRANT);
        CHECK_INT(g->state, SK_TASK_CLOSED);
        CHECK_INT(g->outcome, SK_TASK_APPROVED);
        CHECK(g->emergency);
        CHECK_STR(g->justification, "incident 42"); /* the ESCALATED event's */
        CHECK(d.base.n_commands == 1 && g->expires_ms == d.base.commands[0].expires_at_ms);
        CHECK(strcmp(g->task_id, d.base.tasks[0].task_id) != 0);
    }
    CHECK_CONTAINS(d.base.audit.reason, "[emergency]");
    CHECK_STR(sk_state_request(&st, "e1")->policy, "break-glass");
    CHECK(sk_state_request(&st, "e1")->emergency);
    /* escalating again is refused */
    d = act(&st, &e, T0 + 2 * MIN);
    CHECK(d.refused);
    /* the REVOKE at the emergency grant's expiry (the timer) is flagged too */
    CHECK_INT(st.n_sources, 1);
    if (st.n_sources == 1) {
        sk_decision_t t = shift(&st, NULL, st.sources[0].expires_ms);
        CHECK_INT(t.n_commands, 1);
        if (t.n_commands == 1) {
            CHECK_INT(t.commands[0].action, SK_CMD_REVOKE);
            CHECK(t.commands[0].emergency);
        }
    }
}

/* Issue 13: an auto-approved emergency request publishes one task record
 * (EMERGENCY_GRANT, CLOSED / APPROVED, who, justification, until); a normal
 * auto-approved one none; a replay of the same event decides nothing new. */
TEST(an_auto_approved_emergency_grant_has_one_task_record)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "eg1", "bob", "bob", "app/write", HOUR);
    c.emergency = true;
    sk_request_decision_t d = act(&st, &c, T0);
    CHECK(!d.base.rejected && !d.refused);
    CHECK_INT(d.base.n_commands, 1);
    CHECK_INT(d.base.n_tasks, 1);
    if (d.base.n_tasks == 1 && d.base.n_commands == 1) {
        const sk_task_t *g = &d.base.tasks[0];
        CHECK(d.base.commands[0].emergency);
        CHECK_INT(g->kind, SK_TASK_EMERGENCY_GRANT);
        CHECK_INT(g->state, SK_TASK_CLOSED);
        CHECK_INT(g->outcome, SK_TASK_APPROVED);
        CHECK(g->emergency);
        CHECK_STR(g->subject, "bob");
        CHECK_STR(g->request_id, "eg1");
        CHECK_STR(g->target, "app/write");
        CHECK_STR(g->justification, "incident 42");
        CHECK_INT(g->expires_ms, d.base.commands[0].expires_at_ms);
        CHECK_INT(g->n_assignees, 0);
        CHECK_CONTAINS(g->reason, "approved");
        CHECK_INT(g->at_ms, T0);
    }
    /* the same CREATED again: a duplicate, no second record */
    d = act(&st, &c, T0 + MIN);
    CHECK_INT(d.base.n_tasks, 0);
    /* a normal auto-approved request: no record */
    sk_request_event_t n = rev(SK_REQ_CREATED, "ng1", "bob", "bob", "app/read", HOUR);
    d = act(&st, &n, T0 + 2 * MIN);
    CHECK_INT(d.base.n_commands, 1);
    CHECK_INT(d.base.n_tasks, 0);
}

TEST(a_request_outlives_the_shift_holding_the_same_entitlement)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_schedule_event_t s = sev(SK_SHIFT_STARTED, "bob", T0, T0 + 2 * HOUR, T0);
    sk_decision_t sd = shift(&st, &s, T0);
    CHECK_INT(sd.n_commands, 1);
    sk_request_event_t c = rev(SK_REQ_CREATED, "q1", "bob", "bob", "app/read", 6 * HOUR);
    sk_request_decision_t d = act(&st, &c, T0 + HOUR);
    CHECK_INT(d.base.n_commands, 1);
    CHECK_INT(d.base.commands[0].action, SK_CMD_EXTEND);
    CHECK_INT(d.base.commands[0].expires_at_ms, T0 + 7 * HOUR);
    CHECK_INT(d.base.commands[0].n_sources, 2);
    /* the shift ends early: no REVOKE, and the request is kept */
    sk_schedule_event_t e = sev(SK_SHIFT_ENDED, "bob", T0, T0 + 90 * MIN, T0 + 90 * MIN);
    sd = shift(&st, &e, T0 + 90 * MIN);
    CHECK_INT(sd.n_commands, 0);
    for (size_t i = 0; i < sd.diff.n_del; i++)
        CHECK(strncmp(sd.diff.del[i], "q:", 2) != 0);
    CHECK_INT(st.n_requests, 1);
    CHECK_INT(sd.next_wake_ms, T0 + 7 * HOUR);
    /* the request's expiry revokes it */
    sd = shift(&st, NULL, T0 + 7 * HOUR);
    CHECK_INT(sd.n_commands, 1);
    CHECK_INT(sd.commands[0].action, SK_CMD_REVOKE);
    CHECK_CONTAINS(sd.commands[0].reason, "expired at");
}

TEST(request_state_survives_its_storage_form)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"}, back;
    sk_request_event_t c = rev(SK_REQ_CREATED, "w6", "bob", "bob", "app/write", HOUR);
    sk_request_event_t g = rev(SK_REQ_CREATED, "g6", "bob", "bob", "app/read", HOUR);
    sk_request_event_t a = rev(SK_REQ_APPROVED, "w6", "ann", "bob", "app/write", SK_MS_NONE);
    act(&st, &c, T0);
    act(&st, &g, T0);
    act(&st, &a, T0 + MIN);
    sk_user_state_t empty = {.user = "bob"};
    sk_state_diff_t all;
    size_t bad = 9;
    CHECK_INT(sk_state_diff(&fx.arena, &empty, &st, &all), 0);
    CHECK_INT(all.n_set, 3); /* q:w6, q:g6, the read source */
    CHECK_INT(sk_state_parse(&fx.arena, "bob", all.set, all.n_set, &back, &bad), 0);
    CHECK_INT(bad, 0);
    CHECK_INT(back.n_requests, 2);
    const sk_request_state_t *w = sk_state_request(&back, "w6");
    CHECK(w != NULL);
    if (w) {
        CHECK_INT(w->status, SK_REQUEST_OPEN);
        CHECK_INT(w->step, 1);
        CHECK_INT(w->n_assignees, 3);
        CHECK_INT(w->n_approvers, 0);
        CHECK_STR(w->policy, "two-step");
        CHECK_STR(w->rules_version, sk_rules_version(fx.rules));
        CHECK_INT(w->duration_ms, HOUR);
        CHECK_INT(w->updated_ms, T0 + MIN);
    }
    sk_state_diff_t none;
    CHECK_INT(sk_state_diff(&fx.arena, &st, &back, &none), 0);
    CHECK_INT(none.n_set + none.n_del, 0);
    /* a damaged request field is skipped and counted */
    sk_user_state_t damaged;
    sk_state_field_t f = {"q:x", 3, "OPEN E app/write", 16};
    CHECK_INT(sk_state_parse(&fx.arena, "bob", &f, 1, &damaged, &bad), 0);
    CHECK_INT(damaged.n_requests, 0);
    CHECK_INT(bad, 1);
    /* a duplicate CREATED changes nothing */
    sk_request_decision_t d = act(&back, &c, T0 + 2 * MIN);
    CHECK_STR(d.base.audit.decision, "ignored");
}

static sk_state_field_t field(const char *name, const char *value)
{
    return (sk_state_field_t){name, strlen(name), value, strlen(value)};
}

TEST(request_kinds_rounds_and_open_tasks_survive_storage)
{
    sk_dfx_setup(&fx);
    const char *old_value = "OPEN E app/write 3600000 0 two-step v1 0 1 2 0 0";
    sk_state_field_t f[] = {
        field("q:old", old_value), /* written before kinds and rounds */
        field("q:rev", "APPROVED E app/logs 0 0 revoke-review v1 0 1 2 0 0 R 0"),
        field("q:rnd", "OPEN E app/write 3600000 0 two-step v1 0 1 2 0 1 ann A 3"),
        field("t:abc", "DEPROVISIONING app/vault h1 5 2 ann pat"),
        field("q:bad", "OPEN E app/write 3600000 0 two-step v1 0 1 2 0 0 A 0"),
        field("t:bad2", "DEPROVISIONING app/vault - 5 3 ann"),
        field("r:0123456789abcdef0123456789abcdef", "app/read EXTEND 2 99"),
        field("r:bad3", "app/read DELETE 2 99"),
        field("r:fedcba9876543210fedcba9876543210", "app/read REVOKE 0 -"), /* a memo */
    };
    sk_user_state_t st, back;
    size_t bad = 0;
    CHECK_INT(sk_state_parse(&fx.arena, "bob", f, 9, &st, &bad), 0);
    CHECK_INT(bad, 3);
    CHECK_INT(st.n_retries, 2);
    const sk_retry_t *r = sk_state_retry(&st, "0123456789abcdef0123456789abcdef");
    CHECK(r && r->action == SK_CMD_EXTEND && r->attempt == 2 && r->next_ms == 99);
    r = sk_state_retry(&st, "fedcba9876543210fedcba9876543210");
    CHECK(r && r->action == SK_CMD_REVOKE && r->attempt == 0 && r->next_ms == SK_MS_NONE);
    CHECK_INT(st.n_requests, 3);
    CHECK_INT(st.n_open_tasks, 1);
    CHECK_INT(sk_state_request(&st, "old")->kind, SK_REQUEST_KIND_ACCESS);
    CHECK_INT(sk_state_request(&st, "old")->round, 0);
    CHECK_INT(sk_state_request(&st, "rev")->kind, SK_REQUEST_KIND_REVOCATION);
    CHECK_INT(sk_state_request(&st, "rnd")->round, 3);
    const sk_open_task_t *t = sk_state_open_task(&st, "abc");
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(t->kind, SK_TASK_DEPROVISIONING);
        CHECK_STR(t->ent_key, "app/vault");
        CHECK_STR(t->request_id, "h1");
        CHECK_INT(t->created_ms, 5);
        CHECK_INT(t->n_assignees, 2);
    }
    sk_user_state_t empty = {.user = "bob"};
    sk_state_diff_t all, none;
    CHECK_INT(sk_state_diff(&fx.arena, &empty, &st, &all), 0);
    CHECK_INT(all.n_set, 6);
    for (size_t i = 0; i < all.n_set; i++)
        if (strcmp(all.set[i].name, "q:old") == 0)
            CHECK_STR(all.set[i].value, old_value); /* stored as it was */
    CHECK_INT(sk_state_parse(&fx.arena, "bob", all.set, all.n_set, &back, &bad), 0);
    CHECK_INT(bad, 0);
    CHECK_INT(sk_state_diff(&fx.arena, &st, &back, &none), 0);
    CHECK_INT(none.n_set + none.n_del, 0);
}

TEST(command_task_and_audit_ids_are_deterministic)
{
    sk_dfx_setup(&fx);
    sk_user_state_t a = {.user = "bob"}, b = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "k1", "bob", "bob", "app/read", HOUR);
    sk_request_decision_t d1 = act(&a, &c, T0);
    sk_request_decision_t d2 = act(&b, &c, T0);
    CHECK_INT(d1.base.n_commands, 1);
    CHECK_STR(d1.base.commands[0].command_id, d2.base.commands[0].command_id);
    CHECK_STR(d1.base.audit.audit_id, d2.base.audit.audit_id);
    CHECK_INT(strlen(d1.base.commands[0].command_id), 32);
    sk_request_event_t w = rev(SK_REQ_CREATED, "k2", "bob", "bob", "app/write", HOUR);
    d1 = act(&a, &w, T0);
    d2 = act(&b, &w, T0);
    CHECK_STR(d1.base.tasks[0].task_id, d2.base.tasks[0].task_id);
}

TEST(a_comment_updates_the_task_and_changes_nothing)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "u1", "bob", "bob", "app/write", HOUR);
    act(&st, &c, T0);
    sk_request_event_t m = rev(SK_REQ_COMMENTED, "u1", "ann", "bob", "app/write", SK_MS_NONE);
    m.comment = "looking";
    sk_request_decision_t d = act(&st, &m, T0 + MIN);
    CHECK_STR(d.base.audit.decision, "commented");
    CHECK_CONTAINS(d.base.audit.reason, "comment by 'ann'");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_UPDATED);
    CHECK_INT(d.base.diff.n_set + d.base.diff.n_del, 0);
}

/* The test binary is linked with -Wl,--wrap=sk_arena_sprintf (Makefile):
 * the deciders' sk_arena_sprintf calls come here, and the `fail_at`-th of
 * them (counting from 1; 0: none) fails as when out of memory. */
static int sprintf_calls, sprintf_fail_at;

char *__wrap_sk_arena_sprintf(sk_arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *__wrap_sk_arena_sprintf(sk_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    if (++sprintf_calls == sprintf_fail_at)
        return NULL;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n < 0 ? NULL : sk_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* An allocation failure is an error, never a decision: whichever string
 * of the decision cannot be made, sk_decide_request returns SK_ENOMEM or
 * the decision it makes with memory enough (the "not requestable" refusal
 * once returned "out of memory" as its reason, audited like any refusal,
 * and took a failed final message for "requestable"). */
TEST(an_allocation_failure_is_an_error_never_a_refusal)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "eve"};
    sk_request_event_t c = rev(SK_REQ_CREATED, "r3", "eve", "eve", "app/read", HOUR);
    sk_request_input_t in = {.event = &c,
                             .origin = {"shiftkey.requests.v1", 0, 7},
                             .now_ms = T0,
                             .n_oncall = 1,
                             .oncall = oncall};
    sk_request_decision_t want;
    sprintf_calls = sprintf_fail_at = 0;
    CHECK_INT(sk_decide_request(fx.rules, &in, &st, &fx.arena, &want), 0);
    CHECK(want.refused);
    int n = sprintf_calls;
    CHECK(n > 2);
    for (int k = 1; k <= n; k++) {
        sk_request_decision_t d;
        sprintf_calls = 0;
        sprintf_fail_at = k;
        int rc = sk_decide_request(fx.rules, &in, &st, &fx.arena, &d);
        if (rc != 0) {
            CHECK_INT(rc, SK_ENOMEM);
            continue;
        }
        CHECK(d.refused && !d.base.rejected); /* a trace line may be missing, no more */
        CHECK_STR(d.base.audit.decision, "refused");
        CHECK_STR(d.refuse_reason, want.refuse_reason);
        CHECK_STR(d.base.audit.reason, want.base.audit.reason);
    }
    sprintf_fail_at = 0;
}

TEST(zz_cleanup)
{
    sk_dfx_teardown(&fx);
    CHECK(1);
}

SK_TEST_MAIN(SK_TEST_CASE(self_service_auto_approve_grants_at_once),
             SK_TEST_CASE(a_duration_above_the_maximum_is_capped),
             SK_TEST_CASE(not_requestable_is_refused_with_a_reason_not_dead_lettered),
             SK_TEST_CASE(not_self_service_and_a_hand_provisioned_profile_are_refused),
             SK_TEST_CASE(an_unknown_entitlement_or_request_is_dead_lettered),
             SK_TEST_CASE(a_condition_is_evaluated_on_the_request),
             SK_TEST_CASE(two_step_deny_at_step_one_never_asks_step_two),
             SK_TEST_CASE(two_step_approvals_grant_after_the_last_step),
             SK_TEST_CASE(an_unassigned_reviewer_is_refused_and_audited),
             SK_TEST_CASE(self_approval_is_refused_unless_the_step_allows_it),
             SK_TEST_CASE(on_call_reviewers_come_from_the_pre_resolved_list),
             SK_TEST_CASE(cancel_by_the_requester_closes_the_task),
             SK_TEST_CASE(escalation_switches_to_the_emergency_policy_and_flags_the_grant),
             SK_TEST_CASE(an_auto_approved_emergency_grant_has_one_task_record),
             SK_TEST_CASE(a_request_outlives_the_shift_holding_the_same_entitlement),
             SK_TEST_CASE(request_state_survives_its_storage_form),
             SK_TEST_CASE(request_kinds_rounds_and_open_tasks_survive_storage),
             SK_TEST_CASE(command_task_and_audit_ids_are_deterministic),
             SK_TEST_CASE(a_comment_updates_the_task_and_changes_nothing),
             SK_TEST_CASE(an_allocation_failure_is_an_error_never_a_refusal),
             SK_TEST_CASE(zz_cleanup))
