/*
 * test_decide_actions.c — the request actions after creation (who may do
 * each, and the transition it makes), revocation proposals, requests of a
 * whole profile and the pruning of closed requests, driven with fixed
 * clocks on tests/rules/requests. Administrators are the members of group
 * shiftkey-admins (root).
 *
 * Cast: bob (eng, manager ann) requests; ann, carl, dana are the owners;
 * eve is nobody in particular; root is the administrator.
 */
#include <string.h>

#include "codec/codec.h"
#include "decide/decide_request.h"
#include "sk_decide_fx.h"
#include "sk_test.h"

#define RULES "tests/rules/requests"
#define T0    1800000000000LL
#define MIN   60000LL
#define HOUR  (60 * MIN)
#define DAY   (24 * HOUR)

static sk_dfx_t fx = {.rules_path = RULES};

static sk_request_event_t ev(sk_request_event_type_t type, const char *req, const char *actor,
                             const char *subject, const char *target)
{
    return (sk_request_event_t){.event_id = "ae-1",
                                .type = type,
                                .request_id = req,
                                .actor = actor,
                                .subject = subject,
                                .target_kind = SK_TARGET_ENTITLEMENT,
                                .target = target,
                                .duration_ms = type == SK_REQ_CREATED ? HOUR : SK_MS_NONE,
                                .justification = "",
                                .comment = "",
                                .source = "test",
                                .occurred_at_ms = T0};
}

static const char *oncall_a[] = {"carl", "dana"};
static const char *oncall_b[] = {"ann"};
static sk_oncall_list_t oncall[] = {{"primary", 2, oncall_a}};

static sk_request_decision_t act(sk_user_state_t *st, const sk_request_event_t *e, sk_ms_t now)
{
    sk_request_decision_t d;
    sk_request_input_t in = {.event = e,
                             .origin = {"shiftkey.requests.v1", 0, 3},
                             .now_ms = now,
                             .n_oncall = 1,
                             .oncall = oncall};
    CHECK_INT(sk_decide_request(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.base.tasks, d.base.n_tasks);
    if (!d.base.rejected)
        *st = d.base.state;
    return d;
}

static sk_decision_t schedule(sk_user_state_t *st, const sk_schedule_event_t *e, sk_ms_t now)
{
    sk_decision_t d;
    sk_input_t in = {.kind = e ? SK_INPUT_SCHEDULE : SK_INPUT_TIMER,
                     .schedule = e,
                     .user = st->user,
                     .origin = {"t", 0, e ? 1 : -1},
                     .now_ms = now};
    CHECK_INT(sk_decide(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.tasks, d.n_tasks);
    if (!d.rejected)
        *st = d.state;
    return d;
}

/* bob's two-step request `id` for app/write, waiting at step 1 (ann). */
static sk_user_state_t two_step(const char *id)
{
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = ev(SK_REQ_CREATED, id, "bob", "bob", "app/write");
    act(&st, &c, T0);
    return st;
}

/* Decides `type` by `actor` on request `id` of bob. */
static sk_request_decision_t by(sk_user_state_t *st, sk_request_event_type_t type, const char *id,
                                const char *actor, sk_ms_t now)
{
    sk_request_event_t e = ev(type, id, actor, "bob", "");
    return act(st, &e, now);
}

static bool nothing_changed(const sk_request_decision_t *d)
{
    return d->base.diff.n_set + d->base.diff.n_del + d->base.n_commands == 0;
}

/* ---- comments and reminders ---- */

TEST(comments_and_reminders_by_requester_assignee_or_admin)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = two_step("c1");
    static const char *const ok[] = {"bob", "ann", "root"};
    for (size_t i = 0; i < 3; i++) {
        sk_request_decision_t d = by(&st, SK_REQ_COMMENTED, "c1", ok[i], T0 + MIN);
        CHECK(!d.refused);
        CHECK_STR(d.base.audit.decision, "commented");
        CHECK_STR(d.base.audit.actor, ok[i]);
        CHECK_INT(d.base.n_tasks, 1);
        CHECK_INT(d.base.tasks[0].state, SK_TASK_UPDATED);
        CHECK_CONTAINS(d.base.tasks[0].reason, "comment by");
        CHECK(nothing_changed(&d));
        d = by(&st, SK_REQ_REMINDER_SENT, "c1", ok[i], T0 + MIN);
        CHECK_STR(d.base.audit.decision, "reminded");
        CHECK_CONTAINS(d.base.tasks[0].reason, "reminder");
        CHECK_INT(d.base.tasks[0].n_assignees, 1);
    }
    sk_request_decision_t d = by(&st, SK_REQ_COMMENTED, "c1", "eve", T0 + MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "only the requester, an assignee or an administrator");
    CHECK_INT(d.base.n_tasks, 0);
    d = by(&st, SK_REQ_REMINDER_SENT, "c1", "dana", T0 + MIN);
    CHECK(d.refused);
    /* the comment goes to the audit trace, never to state */
    sk_request_event_t e = ev(SK_REQ_COMMENTED, "c1", "ann", "bob", "");
    e.comment = "checking with the team";
    d = act(&st, &e, T0 + MIN);
    bool traced = false;
    for (size_t i = 0; i < d.base.audit.n_trace; i++)
        traced |= strstr(sk_text_render(&d.base.audit.trace[i], &fx.arena),
                         "checking with the team") != NULL;
    CHECK(traced);
}

/* ---- reassignment ---- */

TEST(reassignment_within_the_allowed_reviewers)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = two_step("r1");
    sk_request_decision_t d = by(&st, SK_REQ_APPROVED, "r1", "ann", T0 + MIN); /* to step 2 */
    CHECK_INT(sk_state_request(&st, "r1")->n_assignees, 3);                    /* ann carl dana */
    /* no assignee named: dead letter */
    d = by(&st, SK_REQ_REASSIGNED, "r1", "dana", T0 + 2 * MIN);
    CHECK(d.base.rejected);
    CHECK_INT(d.base.reject_kind, SK_DL_INVALID);
    sk_request_event_t e = ev(SK_REQ_REASSIGNED, "r1", "eve", "bob", "");
    e.assignee = "carl";
    d = act(&st, &e, T0 + 2 * MIN); /* eve is no assignee */
    CHECK(d.refused);
    e.actor = "dana";
    e.assignee = "eve"; /* not an owner */
    d = act(&st, &e, T0 + 2 * MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "'eve' is not an allowed reviewer of step 2");
    e.assignee = "bob"; /* the requester */
    d = act(&st, &e, T0 + 2 * MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "may not review their own request");
    /* dana hands her place to carl (already there): ann, carl stay */
    e.assignee = "carl";
    d = act(&st, &e, T0 + 2 * MIN);
    CHECK(!d.refused);
    CHECK_STR(d.base.audit.decision, "reassigned");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_ASSIGNED);
    CHECK_INT(d.base.tasks[0].n_assignees, 2);
    const sk_request_state_t *rq = sk_state_request(&st, "r1");
    CHECK(rq && rq->n_assignees == 2);
    /* dana no longer may approve; carl may */
    d = by(&st, SK_REQ_APPROVED, "r1", "dana", T0 + 3 * MIN);
    CHECK(d.refused);
    /* the admin replaces every assignee */
    e.actor = "root";
    e.assignee = "dana";
    d = act(&st, &e, T0 + 3 * MIN);
    CHECK(!d.refused);
    CHECK_INT(d.base.tasks[0].n_assignees, 1);
    CHECK_STR(d.base.tasks[0].assignees[0], "dana");
    d = by(&st, SK_REQ_APPROVED, "r1", "dana", T0 + 4 * MIN);
    CHECK_STR(d.base.audit.decision, "granted");
}

/* ---- process now, restart, reset, policy change, skip ---- */

TEST(process_now_re_resolves_reviewers_and_keeps_approvals)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = ev(SK_REQ_CREATED, "p1", "bob", "bob", "app/pair");
    act(&st, &c, T0);
    sk_request_decision_t d = by(&st, SK_REQ_APPROVED, "p1", "ann", T0 + MIN);
    CHECK_STR(d.base.audit.decision, "pending");
    d = by(&st, SK_REQ_PROCESS_NOW, "p1", "eve", T0 + 2 * MIN);
    CHECK(d.refused);
    d = by(&st, SK_REQ_PROCESS_NOW, "p1", "bob", T0 + 2 * MIN);
    CHECK(!d.refused);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_UPDATED); /* the same task, not a new one */
    CHECK_INT(sk_state_request(&st, "p1")->n_approvers, 1);
    d = by(&st, SK_REQ_APPROVED, "p1", "carl", T0 + 3 * MIN);
    CHECK_STR(d.base.audit.decision, "granted");
    /* on-call reviewers are resolved again: the task is reassigned */
    sk_user_state_t eve = {.user = "eve"};
    sk_request_event_t a = ev(SK_REQ_CREATED, "a1", "eve", "eve", "app/admin");
    a.subject = "eve";
    d = act(&eve, &a, T0);
    CHECK_INT(d.base.tasks[0].n_assignees, 2);
    oncall[0].n_users = 1;
    oncall[0].users = oncall_b;
    sk_request_event_t p = ev(SK_REQ_PROCESS_NOW, "a1", "eve", "eve", "");
    d = act(&eve, &p, T0 + MIN);
    oncall[0].n_users = 2;
    oncall[0].users = oncall_a;
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_ASSIGNED);
    CHECK_INT(d.base.tasks[0].n_assignees, 1);
    CHECK_STR(d.base.tasks[0].assignees[0], "ann");
}

TEST(restart_goes_back_to_step_one_with_a_new_task)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_request_event_t c = ev(SK_REQ_CREATED, "s1", "bob", "bob", "app/write");
    sk_request_decision_t d = act(&st, &c, T0);
    char first[33];
    snprintf(first, sizeof(first), "%s", d.base.tasks[0].task_id);
    d = by(&st, SK_REQ_APPROVED, "s1", "ann", T0 + MIN); /* at step 2 */
    char second[33];
    snprintf(second, sizeof(second), "%s", d.base.tasks[1].task_id);
    d = by(&st, SK_REQ_RESTARTED, "s1", "ann", T0 + 2 * MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "only the requester or an administrator");
    d = by(&st, SK_REQ_RESTARTED, "s1", "bob", T0 + 2 * MIN);
    CHECK(!d.refused);
    CHECK_INT(d.base.n_tasks, 2);
    CHECK_STR(d.base.tasks[0].task_id, second); /* step 2's task closes */
    CHECK_INT(d.base.tasks[0].state, SK_TASK_CLOSED);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_CANCELLED);
    CHECK_INT(d.base.tasks[1].state, SK_TASK_CREATED); /* step 1 again, a new id */
    CHECK_INT(d.base.tasks[1].step, 1);
    CHECK(strcmp(d.base.tasks[1].task_id, first) != 0);
    const sk_request_state_t *rq = sk_state_request(&st, "s1");
    CHECK_INT(rq->step, 0);
    CHECK_INT(rq->n_approvers, 0);
    CHECK_INT(rq->round, 1);
    /* the round survives storage */
    sk_user_state_t empty = {.user = "bob"}, back;
    sk_state_diff_t all;
    size_t bad = 9;
    CHECK_INT(sk_state_diff(&fx.arena, &empty, &st, &all), 0);
    CHECK_INT(sk_state_parse(&fx.arena, "bob", all.set, all.n_set, &back, &bad), 0);
    CHECK_INT(bad, 0);
    CHECK_INT(sk_state_request(&back, "s1")->round, 1);
    /* the admin may restart too */
    d = by(&st, SK_REQ_RESTARTED, "s1", "root", T0 + 3 * MIN);
    CHECK(!d.refused);
    CHECK_INT(sk_state_request(&st, "s1")->round, 2);
}

TEST(hard_reset_and_policy_change_are_for_administrators)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = two_step("h1");
    sk_request_decision_t d = by(&st, SK_REQ_HARD_RESET, "h1", "bob", T0 + MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "only an administrator");
    d = by(&st, SK_REQ_HARD_RESET, "h1", "root", T0 + MIN);
    CHECK(!d.refused);
    CHECK_CONTAINS(d.base.audit.reason, "waiting for 1 approval(s) at step 1");
    CHECK_INT(d.base.n_tasks, 2); /* the old task closes, the new one opens */
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_CANCELLED);
    CHECK_STR(sk_state_request(&st, "h1")->policy, "two-step");
    CHECK_STR(sk_state_request(&st, "h1")->rules_version, sk_rules_version(fx.rules));
    /* POLICY_CHANGED */
    sk_request_event_t e = ev(SK_REQ_POLICY_CHANGED, "h1", "root", "bob", "");
    d = act(&st, &e, T0 + 2 * MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "names no policy");
    e.policy = "autoo";
    d = act(&st, &e, T0 + 2 * MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "policy 'autoo' is not in the rules");
    e.policy = "auto";
    e.actor = "ann";
    d = act(&st, &e, T0 + 2 * MIN);
    CHECK(d.refused);
    e.actor = "root";
    d = act(&st, &e, T0 + 2 * MIN);
    CHECK(!d.refused);
    CHECK_STR(d.base.audit.decision, "granted");
    CHECK_INT(d.base.n_commands, 1);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_CANCELLED);
    CHECK_STR(sk_state_request(&st, "h1")->policy, "auto");
}

TEST(an_administrator_skips_a_step)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = two_step("k1");
    sk_request_decision_t d = by(&st, SK_REQ_STEP_SKIPPED, "k1", "ann", T0 + MIN);
    CHECK(d.refused);
    d = by(&st, SK_REQ_STEP_SKIPPED, "k1", "root", T0 + MIN);
    CHECK(!d.refused);
    CHECK_INT(d.base.n_tasks, 2);
    CHECK_INT(d.base.tasks[0].step, 1);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_CANCELLED);
    CHECK_INT(d.base.tasks[1].step, 2);
    CHECK_INT(d.base.tasks[1].state, SK_TASK_CREATED);
    CHECK_INT(sk_state_request(&st, "k1")->step, 1);
    d = by(&st, SK_REQ_STEP_SKIPPED, "k1", "root", T0 + 2 * MIN);
    CHECK_STR(d.base.audit.decision, "granted");
}

TEST(delete_by_the_requester_while_open_or_by_an_administrator)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = two_step("d1");
    sk_request_decision_t d = by(&st, SK_REQ_DELETED, "d1", "ann", T0 + MIN);
    CHECK(d.refused);
    d = by(&st, SK_REQ_DELETED, "d1", "bob", T0 + MIN);
    CHECK(!d.refused);
    CHECK_STR(d.base.audit.decision, "deleted");
    CHECK_INT(d.base.diff.n_del, 1);
    CHECK_STR(d.base.diff.del[0], "q:d1");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_CANCELLED);
    CHECK(sk_state_request(&st, "d1") == NULL);
    d = by(&st, SK_REQ_DELETED, "d1", "bob", T0 + MIN);
    CHECK(d.base.rejected); /* gone */
    /* a closed request: only the administrator */
    st = two_step("d2");
    by(&st, SK_REQ_DENIED, "d2", "ann", T0 + MIN);
    d = by(&st, SK_REQ_DELETED, "d2", "bob", T0 + 2 * MIN);
    CHECK(d.refused);
    d = by(&st, SK_REQ_DELETED, "d2", "root", T0 + 2 * MIN);
    CHECK(!d.refused);
    CHECK_INT(d.base.n_tasks, 0); /* nothing was open */
    CHECK(sk_state_request(&st, "d2") == NULL);
}

/* ---- revocation ---- */

static sk_schedule_event_t secondary(const char *user, const char *shift, sk_ms_t start,
                                     sk_ms_t end)
{
    return (sk_schedule_event_t){
        "se-2", SK_SHIFT_STARTED, "test", "secondary", user, shift, start, end, 1, start};
}

/* eve on call in secondary from T0 - 1h to T0 + 4h: holds app/logs. */
static sk_user_state_t eve_with_logs(void)
{
    sk_user_state_t st = {.user = "eve"};
    sk_schedule_event_t s = secondary("eve", "sh-e", T0 - HOUR, T0 + 4 * HOUR);
    sk_decision_t d = schedule(&st, &s, T0 - HOUR);
    CHECK_INT(d.n_commands, 1);
    return st;
}

static sk_request_decision_t on_eve(sk_user_state_t *st, sk_request_event_type_t type,
                                    const char *id, const char *actor, const char *target,
                                    sk_ms_t now)
{
    sk_request_event_t e = ev(type, id, actor, "eve", target);
    return act(st, &e, now);
}

TEST(a_confirmed_revocation_revokes_and_stays_revoked)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = eve_with_logs();
    sk_request_decision_t d = on_eve(&st, SK_REQ_REVOCATION_PROPOSED, "v1", "bob", "app/logs", T0);
    CHECK(!d.refused && !d.base.rejected);
    CHECK_STR(d.base.audit.decision, "pending");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].kind, SK_TASK_REVOCATION);
    CHECK_INT(d.base.tasks[0].n_assignees, 3);
    CHECK_INT(sk_state_request(&st, "v1")->kind, SK_REQUEST_KIND_REVOCATION);
    d = on_eve(&st, SK_REQ_APPROVED, "v1", "ann", "", T0 + MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "use REVOCATION_CONFIRMED or REVOCATION_DENIED");
    d = on_eve(&st, SK_REQ_REVOCATION_CONFIRMED, "v1", "eve", "", T0 + MIN);
    CHECK(d.refused); /* no self-approval */
    d = on_eve(&st, SK_REQ_REVOCATION_CONFIRMED, "v1", "ann", "", T0 + MIN);
    CHECK(!d.refused);
    CHECK_STR(d.base.audit.decision, "revoked");
    CHECK_INT(d.base.n_commands, 1);
    CHECK_INT(d.base.commands[0].action, SK_CMD_REVOKE);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].state, SK_TASK_CLOSED);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_CONFIRMED);
    CHECK_INT(st.n_sources, 0);
    /* not even an administrator deletes it: it keeps the access revoked */
    d = on_eve(&st, SK_REQ_DELETED, "v1", "root", "", T0 + MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "cannot be deleted");
    CHECK(sk_state_request(&st, "v1") != NULL);
    /* the shift that held it does not bring it back */
    sk_decision_t t = schedule(&st, NULL, T0 + 2 * MIN);
    CHECK_INT(t.n_commands, 0);
    sk_schedule_event_t u = secondary("eve", "sh-e", T0 - HOUR, T0 + 5 * HOUR);
    u.type = SK_SHIFT_UPDATED;
    u.occurred_at_ms = T0 + 3 * MIN;
    t = schedule(&st, &u, T0 + 3 * MIN);
    CHECK_INT(t.n_commands, 0);
    /* a later shift grants again */
    sk_schedule_event_t later = secondary("eve", "sh-f", T0 + DAY, T0 + DAY + HOUR);
    t = schedule(&st, &later, T0 + DAY);
    CHECK_INT(t.n_commands, 1);
    CHECK_INT(t.commands[0].action, SK_CMD_GRANT);
}

TEST(a_denied_revocation_keeps_the_access)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = eve_with_logs();
    on_eve(&st, SK_REQ_REVOCATION_PROPOSED, "v2", "dana", "app/logs", T0);
    sk_request_decision_t d = on_eve(&st, SK_REQ_DENIED, "v2", "carl", "", T0 + MIN);
    CHECK(d.refused);
    d = on_eve(&st, SK_REQ_REVOCATION_DENIED, "v2", "carl", "", T0 + MIN);
    CHECK(!d.refused);
    CHECK_STR(d.base.audit.decision, "kept");
    CHECK_INT(d.base.n_commands, 0);
    CHECK_INT(d.base.tasks[0].outcome, SK_TASK_DENIED);
    CHECK_INT(st.n_sources, 1);
    CHECK_INT(sk_state_request(&st, "v2")->status, SK_REQUEST_DENIED);
    /* an access request is not confirmed */
    sk_user_state_t bob = two_step("w9");
    d = by(&bob, SK_REQ_REVOCATION_CONFIRMED, "w9", "ann", T0 + MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "use APPROVED or DENIED");
}

TEST(a_revocation_is_refused_without_a_policy_a_holder_or_a_known_actor)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = eve_with_logs();
    sk_request_decision_t d =
        on_eve(&st, SK_REQ_REVOCATION_PROPOSED, "v3", "mallory", "app/logs", T0);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "not in the directory");
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].kind, SK_TASK_REVOCATION);
    d = on_eve(&st, SK_REQ_REVOCATION_PROPOSED, "v4", "bob", "app/write", T0);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "does not hold 'app/write'");
    sk_user_state_t bob = {.user = "bob"};
    sk_request_event_t g = ev(SK_REQ_CREATED, "g1", "bob", "bob", "app/read");
    act(&bob, &g, T0);
    sk_request_event_t p = ev(SK_REQ_REVOCATION_PROPOSED, "v5", "ann", "bob", "app/read");
    d = act(&bob, &p, T0 + MIN);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "no revocation_policy");
    CHECK(nothing_changed(&d));
}

TEST(revoking_a_hand_provisioned_grant_opens_a_deprovisioning_task)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "eve"};
    sk_request_event_t c = ev(SK_REQ_CREATED, "h1", "eve", "eve", "app/vault");
    sk_request_decision_t d = act(&st, &c, T0);
    sk_provisioning_result_t r = {.result = SK_PROV_PROVISIONED,
                                  .provisioner = "ann",
                                  .user = "eve",
                                  .message = "",
                                  .at_ms = T0};
    snprintf(r.command_id, sizeof(r.command_id), "%s", d.base.tasks[0].task_id);
    sk_result_input_t in = {.result = &r, .now_ms = T0 + MIN};
    CHECK_INT(sk_decide_result(fx.rules, &in, &st, &fx.arena, &d), 0);
    st = d.base.state;
    CHECK_INT(st.n_sources, 1);
    d = on_eve(&st, SK_REQ_REVOCATION_PROPOSED, "x1", "dana", "app/vault", T0 + 2 * MIN);
    CHECK_STR(d.base.audit.decision, "revoked"); /* revoke-auto */
    CHECK_INT(d.base.n_commands, 1);
    CHECK_INT(d.base.n_tasks, 1);
    CHECK_INT(d.base.tasks[0].kind, SK_TASK_DEPROVISIONING);
    CHECK_STR(d.base.tasks[0].task_id, d.base.commands[0].command_id);
    CHECK_STR(d.base.tasks[0].request_id, "h1");
    CHECK_INT(st.n_open_tasks, 1);
}

/* ---- profiles ---- */

TEST(a_profile_request_grants_each_entitlement_capped)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "eve"};
    sk_request_event_t c = ev(SK_REQ_CREATED, "b1", "eve", "eve", "p-bundle");
    c.target_kind = SK_TARGET_PROFILE;
    c.duration_ms = 6 * HOUR;
    sk_request_decision_t d = act(&st, &c, T0);
    CHECK(!d.refused && !d.base.rejected);
    CHECK_STR(d.base.audit.decision, "granted");
    CHECK_CONTAINS(d.base.audit.reason, "2 entitlement(s) of profile 'p-bundle'");
    CHECK_INT(d.base.n_commands, 2);
    if (d.base.n_commands == 2) {
        CHECK_STR(d.base.commands[0].entitlement, "deploy"); /* sorted by key */
        CHECK_INT(d.base.commands[0].expires_at_ms, T0 + 4 * HOUR);
        CHECK_STR(d.base.commands[1].entitlement, "read");
        CHECK_INT(d.base.commands[1].expires_at_ms, T0 + 6 * HOUR);
        CHECK_INT(d.base.commands[1].sources[0].kind, SK_SOURCE_REQUEST);
        CHECK_STR(d.base.commands[1].sources[0].id, "b1");
    }
    const sk_request_state_t *rq = sk_state_request(&st, "b1");
    CHECK(rq && rq->target_kind == SK_TARGET_PROFILE);
    /* the first expiry revokes only its own entitlement */
    sk_decision_t t = schedule(&st, NULL, T0 + 4 * HOUR);
    CHECK_INT(t.n_commands, 1);
    CHECK_STR(t.commands[0].entitlement, "deploy");
    CHECK_INT(st.n_requests, 1);
    /* unknown profiles are dead-lettered; a profile without a block is refused */
    c.request_id = "b3";
    c.target = "p-nope";
    d = act(&st, &c, T0);
    CHECK(d.base.rejected);
    CHECK_INT(d.base.reject_kind, SK_DL_UNKNOWN_REFERENCE);
    c.request_id = "b2";
    c.target = "p-primary";
    d = act(&st, &c, T0);
    CHECK(d.refused);
    CHECK_CONTAINS(d.refuse_reason, "no request block of its own");
}

/* ---- pruning ---- */

TEST(closed_requests_are_forgotten_after_the_memory)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = two_step("z1");
    sk_request_decision_t d = by(&st, SK_REQ_DENIED, "z1", "ann", T0 + MIN);
    CHECK_INT(d.base.next_wake_ms, T0 + MIN + SK_SHIFT_MEMORY_MS);
    CHECK_INT(d.base.keep_until_ms, T0 + MIN + 2 * SK_SHIFT_MEMORY_MS);
    /* an approved one, until its source expired and the memory passed */
    sk_request_event_t g = ev(SK_REQ_CREATED, "z2", "bob", "bob", "app/read");
    d = act(&st, &g, T0 + 2 * MIN);
    CHECK_INT(d.base.next_wake_ms, T0 + 2 * MIN + HOUR);
    sk_decision_t t = schedule(&st, NULL, T0 + 2 * MIN + HOUR); /* REVOKE */
    CHECK_INT(t.n_commands, 1);
    CHECK_INT(t.next_wake_ms, T0 + MIN + SK_SHIFT_MEMORY_MS);
    CHECK_INT(st.n_requests, 2);
    t = schedule(&st, NULL, T0 + MIN + SK_SHIFT_MEMORY_MS);
    CHECK_INT(st.n_requests, 1); /* z1 forgotten */
    CHECK_INT(t.diff.n_del, 1);
    CHECK_STR(t.diff.del[0], "q:z1");
    CHECK_INT(t.next_wake_ms, T0 + 2 * MIN + SK_SHIFT_MEMORY_MS);
    t = schedule(&st, NULL, T0 + 2 * MIN + SK_SHIFT_MEMORY_MS);
    CHECK_INT(st.n_requests, 0);
    CHECK_INT(t.next_wake_ms, SK_MS_NONE);
    /* idempotent: the same timer again changes nothing */
    t = schedule(&st, NULL, T0 + 2 * MIN + SK_SHIFT_MEMORY_MS);
    CHECK_INT(t.n_commands + t.diff.n_set + t.diff.n_del, 0);
    /* an open request is never forgotten */
    sk_user_state_t open = two_step("z3");
    t = schedule(&open, NULL, T0 + 30 * DAY);
    CHECK_INT(open.n_requests, 1);
}

TEST(a_confirmed_revocation_is_remembered_while_the_shift_it_revoked_is)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = eve_with_logs(); /* shift until T0 + 4h */
    on_eve(&st, SK_REQ_REVOCATION_PROPOSED, "v7", "bob", "app/logs", T0);
    sk_request_decision_t d = on_eve(&st, SK_REQ_REVOCATION_CONFIRMED, "v7", "ann", "", T0 + MIN);
    CHECK_INT(d.base.n_commands, 1);
    sk_decision_t t = schedule(&st, NULL, T0 + MIN + SK_SHIFT_MEMORY_MS);
    CHECK_INT(t.n_commands, 0);
    CHECK_INT(st.n_requests, 1); /* the shift is still remembered */
    t = schedule(&st, NULL, T0 + 4 * HOUR + SK_SHIFT_MEMORY_MS);
    CHECK_INT(st.n_shifts, 0);
    CHECK_INT(st.n_requests, 0); /* forgotten with it */
    CHECK_INT(t.n_commands, 0);
}

TEST(zz_cleanup)
{
    sk_dfx_teardown(&fx);
    CHECK(1);
}

SK_TEST_MAIN(SK_TEST_CASE(comments_and_reminders_by_requester_assignee_or_admin),
             SK_TEST_CASE(reassignment_within_the_allowed_reviewers),
             SK_TEST_CASE(process_now_re_resolves_reviewers_and_keeps_approvals),
             SK_TEST_CASE(restart_goes_back_to_step_one_with_a_new_task),
             SK_TEST_CASE(hard_reset_and_policy_change_are_for_administrators),
             SK_TEST_CASE(an_administrator_skips_a_step),
             SK_TEST_CASE(delete_by_the_requester_while_open_or_by_an_administrator),
             SK_TEST_CASE(a_confirmed_revocation_revokes_and_stays_revoked),
             SK_TEST_CASE(a_denied_revocation_keeps_the_access),
             SK_TEST_CASE(a_revocation_is_refused_without_a_policy_a_holder_or_a_known_actor),
             SK_TEST_CASE(revoking_a_hand_provisioned_grant_opens_a_deprovisioning_task),
             SK_TEST_CASE(a_profile_request_grants_each_entitlement_capped),
             SK_TEST_CASE(closed_requests_are_forgotten_after_the_memory),
             SK_TEST_CASE(a_confirmed_revocation_is_remembered_while_the_shift_it_revoked_is),
             SK_TEST_CASE(zz_cleanup))
