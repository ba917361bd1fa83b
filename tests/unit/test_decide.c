/*
 * test_decide.c — the pure decision function, driven with fixed clocks:
 * grants at shift start, revokes at end, overlapping sources, lead and
 * grace, caps, overrides, duplicates, stale and invalid events.
 */
#include <stdio.h>
#include <string.h>

#include "decide/decide.h"
#include "sk_decide_fx.h"
#include "sk_test.h"

#define RULES "tests/rules/engine"
#define T0    1800000000000LL /* a fixed "now" */
#define MIN   60000LL
#define HOUR  (60 * MIN)

static sk_dfx_t fx = {.rules_path = RULES};

static sk_schedule_event_t ev(sk_shift_event_type_t type, const char *user, const char *rot,
                              const char *shift, sk_ms_t start, sk_ms_t end, sk_ms_t at)
{
    return (sk_schedule_event_t){"ev-1", type, "test", rot, user, shift, start, end, 1, at};
}

/* Decides one event on `st` at `now`; the new state replaces *st. */
static sk_decision_t step(sk_user_state_t *st, const sk_schedule_event_t *e, sk_ms_t now)
{
    sk_decision_t d;
    sk_input_t in = {.kind = e ? SK_INPUT_SCHEDULE : SK_INPUT_TIMER,
                     .schedule = e,
                     .user = e ? e->user : st->user,
                     .origin = {"t", 0, e ? 1 : -1},
                     .now_ms = now};
    int rc = sk_decide(fx.rules, &in, st, &fx.arena, &d);
    CHECK_INT(rc, 0);
    if (!d.rejected)
        *st = d.state;
    return d;
}

static const sk_command_t *find_cmd(const sk_decision_t *d, const char *ent)
{
    for (size_t i = 0; i < d->n_commands; i++)
        if (strcmp(d->commands[i].entitlement, ent) == 0)
            return &d->commands[i];
    return NULL;
}

TEST(shift_start_grants_each_entitlement_until_shift_end)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "alice"};
    sk_schedule_event_t e = ev(SK_SHIFT_STARTED, "alice", "primary", "s1", T0, T0 + HOUR, T0);
    sk_decision_t d = step(&st, &e, T0);
    CHECK_INT(d.n_commands, 2);
    const sk_command_t *r = find_cmd(&d, "read"), *w = find_cmd(&d, "write");
    CHECK(r && w);
    if (r && w) {
        CHECK_INT(r->action, SK_CMD_GRANT);
        CHECK_INT(r->expires_at_ms, T0 + HOUR);
        CHECK_STR(r->app, "app");
        CHECK_INT(r->n_sources, 1);
        CHECK_STR(r->sources[0].id, "s1");
        CHECK_INT(w->action, SK_CMD_GRANT);
    }
    CHECK_INT(d.next_wake_ms, T0 + HOUR);
    CHECK_STR(d.audit.decision, "granted");
    CHECK_INT(d.audit.n_commands, 2);
    CHECK(d.audit.n_trace >= 3);
    CHECK(d.diff.n_set == 3 && d.diff.n_del == 0); /* shift + 2 sources */
}

TEST(shift_end_revokes_and_clears_the_timer)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "bob"};
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "bob", "primary", "s1", T0, T0 + HOUR, T0);
    step(&st, &s, T0);
    sk_schedule_event_t e =
        ev(SK_SHIFT_ENDED, "bob", "primary", "s1", T0, T0 + 30 * MIN, T0 + 30 * MIN);
    sk_decision_t d = step(&st, &e, T0 + 30 * MIN);
    CHECK_INT(d.n_commands, 2);
    CHECK_INT(d.commands[0].action, SK_CMD_REVOKE);
    CHECK_INT(d.commands[1].action, SK_CMD_REVOKE);
    CHECK_CONTAINS(d.commands[0].reason,
                   "SHIFT 's1' in rotation 'primary' ended before its planned expiry");
    CHECK_INT(st.n_sources, 0);
    CHECK_INT(d.next_wake_ms, SK_MS_NONE);
    CHECK_STR(d.audit.decision, "revoked");
}

TEST(overlapping_sources_revoke_only_when_the_last_one_ends)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "carol"};
    sk_schedule_event_t a = ev(SK_SHIFT_STARTED, "carol", "primary", "pa", T0, T0 + HOUR, T0);
    sk_schedule_event_t b = ev(SK_SHIFT_STARTED, "carol", "secondary", "sb", T0, T0 + 2 * HOUR, T0);
    step(&st, &a, T0);
    sk_decision_t d = step(&st, &b, T0);
    CHECK_INT(d.n_commands, 1); /* read: expiry moves to the later source */
    CHECK_INT(d.commands[0].action, SK_CMD_EXTEND);
    CHECK_INT(d.commands[0].expires_at_ms, T0 + 2 * HOUR);
    CHECK_INT(d.commands[0].n_sources, 2);
    /* primary ends: write goes, read stays (held by the secondary shift) */
    sk_schedule_event_t ae = ev(SK_SHIFT_ENDED, "carol", "primary", "pa", T0, T0 + HOUR, T0 + HOUR);
    d = step(&st, &ae, T0 + HOUR);
    CHECK_INT(d.n_commands, 1);
    CHECK_STR(d.commands[0].entitlement, "write");
    CHECK_INT(d.commands[0].action, SK_CMD_REVOKE);
    /* the secondary's end passes with no event: the timer revokes read */
    CHECK_INT(d.next_wake_ms, T0 + 2 * HOUR);
    d = step(&st, NULL, T0 + 2 * HOUR);
    CHECK_INT(d.n_commands, 1);
    CHECK_STR(d.commands[0].entitlement, "read");
    CHECK_INT(d.commands[0].action, SK_CMD_REVOKE);
    CHECK_CONTAINS(d.commands[0].reason, "expired at");
    CHECK_STR(d.audit.actor, "timer");
}

/* The audit trace is kept as lazy texts (codec/text.h) and written only
 * when read; written, its lines and the reasons say what they always said,
 * to the byte. */
TEST(trace_lines_and_reasons_read_as_they_always_did)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "carol"};
    sk_schedule_event_t a = ev(SK_SHIFT_STARTED, "carol", "primary", "pa", T0, T0 + HOUR, T0);
    sk_schedule_event_t b = ev(SK_SHIFT_STARTED, "carol", "secondary", "sb", T0, T0 + 2 * HOUR, T0);
    sk_decision_t d = step(&st, &a, T0);
    CHECK(d.audit.n_trace >= 3);
    CHECK_STR(sk_text_render(&d.audit.trace[0], &fx.arena),
              "STARTED shift 'pa' in rotation 'primary' (level 1): 2027-01-15T08:00:00.000Z -> "
              "2027-01-15T09:00:00.000Z");
    const sk_command_t *r = find_cmd(&d, "read");
    CHECK(r != NULL);
    if (r) {
        CHECK_CONTAINS(r->reason, "on call in rotation 'primary' (shift 'pa'): profile '");
        char want[1024];
        snprintf(want, sizeof(want), "GRANT app/read until 2027-01-15T09:00:00.000Z: %s",
                 r->reason);
        CHECK_STR(sk_text_render(&d.audit.trace[1], &fx.arena), want);
    }
    d = step(&st, &b, T0);
    CHECK_INT(d.n_commands, 1);
    CHECK_STR(d.commands[0].reason, "expiry moved from 2027-01-15T09:00:00.000Z to "
                                    "2027-01-15T10:00:00.000Z (SHIFT 'sb')");
    CHECK_STR(d.audit.reason, d.commands[0].reason);
    sk_schedule_event_t ae =
        ev(SK_SHIFT_ENDED, "carol", "primary", "pa", T0, T0 + 30 * MIN, T0 + 30 * MIN);
    d = step(&st, &ae, T0 + 30 * MIN);
    CHECK_STR(d.commands[0].reason, "SHIFT 'pa' in rotation 'primary' ended before its planned "
                                    "expiry 2027-01-15T09:00:00.000Z; no other source holds it");
    CHECK_STR(sk_text_render(&d.audit.trace[d.audit.n_trace - 1], &fx.arena),
              "REVOKE app/write until 2027-01-15T09:00:00.000Z: SHIFT 'pa' in rotation 'primary' "
              "ended before its planned expiry 2027-01-15T09:00:00.000Z; no other source holds "
              "it");
    d = step(&st, NULL, T0 + 2 * HOUR);
    CHECK_STR(d.commands[0].reason,
              "expired at 2027-01-15T10:00:00.000Z; no source holds it any more");
    CHECK_STR(d.audit.actor, "timer");
}

TEST(entitlement_maximum_caps_the_grant)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "dave"};
    sk_schedule_event_t e = ev(SK_SHIFT_STARTED, "dave", "capped", "c1", T0, T0 + HOUR, T0);
    sk_decision_t d = step(&st, &e, T0);
    CHECK_INT(d.n_commands, 1);
    CHECK_INT(d.commands[0].expires_at_ms, T0 + 3000);
    d = step(&st, NULL, T0 + 3000);
    CHECK_INT(d.n_commands, 1);
    CHECK_INT(d.commands[0].action, SK_CMD_REVOKE);
    /* the shift is still open, but the cap has passed: no re-grant */
    sk_schedule_event_t again =
        ev(SK_SHIFT_STARTED, "dave", "capped", "c1", T0, T0 + HOUR, T0 + 4000);
    d = step(&st, &again, T0 + 4000);
    CHECK_INT(d.n_commands, 0);
}

TEST(future_shift_grants_at_start_minus_lead_and_revokes_after_grace)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "erin"};
    sk_ms_t start = T0 + 10 * MIN, end = T0 + HOUR;
    sk_schedule_event_t e = ev(SK_SHIFT_SCHEDULED, "erin", "lead", "l1", start, end, T0);
    sk_decision_t d = step(&st, &e, T0);
    CHECK_INT(d.n_commands, 0);
    CHECK_STR(d.audit.decision, "state_updated");
    CHECK_INT(d.next_wake_ms, start - 1000);
    d = step(&st, NULL, start - 1001); /* a timer just before: nothing */
    CHECK_INT(d.n_commands, 0);
    d = step(&st, NULL, start - 1000);
    CHECK_INT(d.n_commands, 1);
    CHECK_INT(d.commands[0].action, SK_CMD_GRANT);
    CHECK_INT(d.commands[0].expires_at_ms, end + 1000);
    CHECK_INT(d.next_wake_ms, end + 1000);
}

TEST(override_moves_the_expiry_and_the_timer)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "frank"};
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "frank", "secondary", "o1", T0, T0 + HOUR, T0);
    step(&st, &s, T0);
    sk_schedule_event_t u =
        ev(SK_SHIFT_UPDATED, "frank", "secondary", "o1", T0, T0 + 20 * MIN, T0 + MIN);
    sk_decision_t d = step(&st, &u, T0 + MIN);
    CHECK_INT(d.n_commands, 1);
    CHECK_INT(d.commands[0].action, SK_CMD_EXTEND);
    CHECK_INT(d.commands[0].expires_at_ms, T0 + 20 * MIN);
    CHECK_INT(d.next_wake_ms, T0 + 20 * MIN);
}

TEST(the_same_event_twice_gives_no_second_command)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "gina"};
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "gina", "primary", "d1", T0, T0 + HOUR, T0);
    sk_decision_t d1 = step(&st, &s, T0);
    sk_decision_t d2 = step(&st, &s, T0 + 5000);
    CHECK_INT(d1.n_commands, 2);
    CHECK_INT(d2.n_commands, 0);
    CHECK_INT(d2.diff.n_set + d2.diff.n_del, 0);
    CHECK_STR(d2.audit.decision, "no_change");
}

TEST(command_ids_are_deterministic)
{
    sk_dfx_setup(&fx);
    sk_user_state_t a = {.user = "hank"}, b = {.user = "hank"};
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "hank", "primary", "x1", T0, T0 + HOUR, T0);
    sk_decision_t d1 = step(&a, &s, T0);
    sk_decision_t d2 = step(&b, &s, T0 + 999); /* decided later: same command */
    CHECK_STR(d1.commands[0].command_id, d2.commands[0].command_id);
    CHECK_INT(strlen(d1.commands[0].command_id), 32);
    CHECK(strcmp(d1.commands[0].command_id, d1.commands[1].command_id) != 0);
    sk_schedule_event_t later =
        ev(SK_SHIFT_STARTED, "hank", "primary", "x1", T0, T0 + 2 * HOUR, T0);
    sk_user_state_t c = {.user = "hank"};
    sk_decision_t d3 = step(&c, &later, T0);
    CHECK(strcmp(d1.commands[0].command_id, d3.commands[0].command_id) != 0);
}

TEST(unknown_rotation_is_rejected_with_a_reason)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "ivan"};
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "ivan", "nope", "n1", T0, T0 + HOUR, T0);
    sk_decision_t d = step(&st, &s, T0);
    CHECK(d.rejected);
    CHECK_INT(d.reject_kind, SK_DL_UNKNOWN_REFERENCE);
    CHECK_CONTAINS(d.reject_reason, "rotation 'nope' is not in the rules");
    CHECK_INT(d.n_commands, 0);
    CHECK_STR(d.audit.decision, "rejected");
}

TEST(start_after_end_is_rejected)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "jill"};
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "jill", "primary", "b1", T0 + HOUR, T0, T0);
    sk_decision_t d = step(&st, &s, T0);
    CHECK(d.rejected);
    CHECK_INT(d.reject_kind, SK_DL_INVALID);
    CHECK_CONTAINS(d.reject_reason, "before it starts");
}

TEST(events_for_an_ended_shift_are_ignored)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "kim"};
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "kim", "primary", "k1", T0, T0 + HOUR, T0);
    sk_schedule_event_t e = ev(SK_SHIFT_ENDED, "kim", "primary", "k1", T0, T0 + MIN, T0 + MIN);
    step(&st, &s, T0);
    step(&st, &e, T0 + MIN);
    sk_decision_t d = step(&st, &s, T0 + 2 * MIN); /* a late duplicate of STARTED */
    CHECK_INT(d.n_commands, 0);
    CHECK_STR(d.audit.decision, "ignored");
}

TEST(cancelled_shift_revokes_at_once)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "lee"};
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "lee", "lead", "c1", T0, T0 + HOUR, T0);
    sk_schedule_event_t c = ev(SK_SHIFT_CANCELLED, "lee", "lead", "c1", T0, T0 + HOUR, T0 + MIN);
    step(&st, &s, T0);
    sk_decision_t d = step(&st, &c, T0 + MIN);
    CHECK_INT(d.n_commands, 1);
    CHECK_INT(d.commands[0].action, SK_CMD_REVOKE);
}

TEST(state_survives_its_storage_form)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "mo"}, back;
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "mo", "primary", "m1", T0, SK_MS_NONE, T0);
    sk_decision_t d = step(&st, &s, T0);
    size_t bad = 9;
    CHECK_INT(d.commands[0].expires_at_ms, T0 + 8 * HOUR); /* open-ended: capped */
    CHECK_INT(sk_state_parse(&fx.arena, "mo", d.diff.set, d.diff.n_set, &back, &bad), 0);
    CHECK_INT(bad, 0);
    CHECK_INT(back.n_shifts, 1);
    CHECK_INT(back.n_sources, 2);
    CHECK_INT(back.shifts[0].end_ms, SK_MS_NONE);
    /* deciding on the parsed state changes nothing */
    sk_decision_t again = step(&back, &s, T0 + 1);
    CHECK_INT(again.n_commands, 0);
    CHECK_INT(again.diff.n_set + again.diff.n_del, 0);
}

TEST(times_near_the_end_of_int64_do_not_wrap)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "max"};
    sk_schedule_event_t s =
        ev(SK_SHIFT_SCHEDULED, "max", "lead", "m1", INT64_MAX - 1000, SK_MS_NONE, T0);
    sk_decision_t d = step(&st, &s, T0); /* UBSan stops the test on overflow */
    CHECK_INT(d.n_commands, 0);
    CHECK_INT(d.next_wake_ms, INT64_MAX - 2000); /* start - 1 s lead */
}

static sk_state_field_t field(const char *name, const char *value)
{
    return (sk_state_field_t){name, strlen(name), value, strlen(value)};
}

TEST(requests_open_tasks_and_retries_are_carried_over)
{
    sk_dfx_setup(&fx);
    sk_state_field_t f[] = {
        field("q:r1", "OPEN E app/write 3600000 0 two-step v1 0 1 2 0 1 ann"),
        field("t:0123456789abcdef0123456789abcdef", "DEPROVISIONING app/read - 5 1 ann"),
        field("r:fedcba9876543210fedcba9876543210", "app/short GRANT 0 1800000120000"),
    };
    sk_user_state_t st;
    size_t bad = 9;
    CHECK_INT(sk_state_parse(&fx.arena, "alice", f, 3, &st, &bad), 0);
    CHECK_INT(bad, 0);
    sk_schedule_event_t e = ev(SK_SHIFT_STARTED, "alice", "primary", "s1", T0, T0 + HOUR, T0);
    sk_decision_t d = step(&st, &e, T0);
    CHECK_INT(d.n_commands, 2);
    CHECK_INT(st.n_requests + st.n_open_tasks + st.n_retries, 3);
    for (size_t i = 0; i < d.diff.n_set; i++)
        CHECK(d.diff.set[i].name[0] == 's' || d.diff.set[i].name[0] == 'g');
    CHECK_INT(d.diff.n_del, 0);
    CHECK_INT(d.next_wake_ms, T0 + 2 * MIN); /* the retry, before the shift's end */
    /* the retry is due, but nothing holds app/short: dropped, no command */
    d = step(&st, NULL, T0 + 2 * MIN);
    CHECK_INT(d.n_commands, 0);
    CHECK_INT(st.n_retries, 0);
    CHECK_INT(d.diff.n_del, 1);
    CHECK_INT(d.next_wake_ms, T0 + HOUR);
}

TEST(zz_cleanup)
{
    sk_dfx_teardown(&fx);
    CHECK(1);
}

SK_TEST_MAIN(SK_TEST_CASE(shift_start_grants_each_entitlement_until_shift_end),
             SK_TEST_CASE(shift_end_revokes_and_clears_the_timer),
             SK_TEST_CASE(overlapping_sources_revoke_only_when_the_last_one_ends),
             SK_TEST_CASE(trace_lines_and_reasons_read_as_they_always_did),
             SK_TEST_CASE(entitlement_maximum_caps_the_grant),
             SK_TEST_CASE(future_shift_grants_at_start_minus_lead_and_revokes_after_grace),
             SK_TEST_CASE(override_moves_the_expiry_and_the_timer),
             SK_TEST_CASE(the_same_event_twice_gives_no_second_command),
             SK_TEST_CASE(command_ids_are_deterministic),
             SK_TEST_CASE(unknown_rotation_is_rejected_with_a_reason),
             SK_TEST_CASE(start_after_end_is_rejected),
             SK_TEST_CASE(events_for_an_ended_shift_are_ignored),
             SK_TEST_CASE(cancelled_shift_revokes_at_once),
             SK_TEST_CASE(state_survives_its_storage_form),
             SK_TEST_CASE(times_near_the_end_of_int64_do_not_wrap),
             SK_TEST_CASE(requests_open_tasks_and_retries_are_carried_over),
             SK_TEST_CASE(zz_cleanup))
