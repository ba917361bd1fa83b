/*
 * test_conn_core — the connectors' pure parts: the diff (every rule of
 * connectors/core/diff.h), event ids, the state file round trip and its
 * refusals, the user map, ISO times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "diff.h"
#include "runner.h"
#include "sk_test.h"
#include "state.h"
#include "usermap.h"

#define H 3600000LL
#define NOW 1800000000000LL /* 2027-01-15T08:00:00Z */
#define HORIZON (NOW + 24 * H)

/* Runs the diff of shifts against *st, replaces *st with the next state, returns the events. */
static sk_conn_events_t step(sk_conn_state_t *st, const sk_conn_shifts_t *shifts, sk_ms_t now)
{
    sk_conn_state_t next;
    sk_conn_events_t evs;
    int rc = sk_conn_diff("test", "rot", st, shifts, now, now + 24 * H, &next, &evs);
    CHECK_INT(rc, 0);
    sk_conn_state_fini(st);
    *st = next;
    return evs;
}

TEST(new_shifts_scheduled_or_started)
{
    sk_conn_shifts_t s = {0};
    sk_conn_state_t st = {0};
    CHECK_INT(sk_conn_shifts_add(&s, "a", "alice", NOW - H, NOW + H, 1, false), 0);
    CHECK_INT(sk_conn_shifts_add(&s, "b", "bob", NOW + H, NOW + 2 * H, 2, false), 0);
    CHECK_INT(sk_conn_shifts_add(&s, "c", "carol", NOW - 2 * H, NOW - H, 1, false), 0);     /* over */
    CHECK_INT(sk_conn_shifts_add(&s, "d", "dave", NOW + 30 * H, NOW + 31 * H, 1, false), 0); /* beyond */
    CHECK_INT(sk_conn_shifts_add(&s, "e", "erin", NOW + H, NOW + 2 * H, 1, true), 0);       /* cancelled */
    sk_conn_events_t evs = step(&st, &s, NOW);
    CHECK_INT(evs.n, 2);
    CHECK_INT(evs.v[0].ev.type, SK_SHIFT_STARTED);
    CHECK_STR(evs.v[0].ev.user, "alice");
    CHECK_INT(evs.v[0].ev.occurred_at_ms, NOW);
    CHECK_INT(evs.v[1].ev.type, SK_SHIFT_SCHEDULED);
    CHECK_INT(evs.v[1].ev.escalation_level, 2);
    CHECK_STR(evs.v[1].ev.rotation, "rot");
    CHECK_STR(evs.v[1].ev.source, "test");
    CHECK(evs.v[1].ev.event_id == evs.v[1].event_id);
    CHECK_INT(st.n, 2);
    sk_conn_events_fini(&evs);
    /* the same again: nothing */
    evs = step(&st, &s, NOW + 1000);
    CHECK_INT(evs.n, 0);
    sk_conn_events_fini(&evs);
    /* bob's start reached, alice's end too */
    evs = step(&st, &s, NOW + H);
    CHECK_INT(evs.n, 2);
    CHECK_INT(evs.v[0].ev.type, SK_SHIFT_ENDED);
    CHECK_STR(evs.v[0].ev.shift_id, "a");
    CHECK_INT(evs.v[0].ev.end_ms, NOW + H);
    CHECK_INT(evs.v[1].ev.type, SK_SHIFT_STARTED);
    CHECK_STR(evs.v[1].ev.shift_id, "b");
    sk_conn_events_fini(&evs);
    sk_conn_shifts_fini(&s);
    sk_conn_state_fini(&st);
}

TEST(moved_gone_and_closed)
{
    sk_conn_shifts_t s = {0};
    sk_conn_state_t st = {0};
    sk_conn_shifts_add(&s, "a", "alice", NOW - H, NOW + H, 1, false);
    sk_conn_shifts_add(&s, "b", "bob", NOW + H, NOW + 2 * H, 1, false);
    sk_conn_events_t evs = step(&st, &s, NOW);
    sk_conn_events_fini(&evs);
    sk_conn_shifts_fini(&s);
    /* alice's end moved; bob gone before his start */
    sk_conn_shifts_add(&s, "a", "alice", NOW - H, NOW + 3 * H, 1, false);
    evs = step(&st, &s, NOW + 60000);
    CHECK_INT(evs.n, 2);
    CHECK_INT(evs.v[0].ev.type, SK_SHIFT_UPDATED);
    CHECK_INT(evs.v[0].ev.end_ms, NOW + 3 * H);
    CHECK_INT(evs.v[1].ev.type, SK_SHIFT_CANCELLED);
    CHECK_STR(evs.v[1].ev.user, "bob");
    sk_conn_events_fini(&evs);
    /* alice gone while running: ENDED now */
    sk_conn_shifts_t none = {0};
    evs = step(&st, &none, NOW + 120000);
    CHECK_INT(evs.n, 1);
    CHECK_INT(evs.v[0].ev.type, SK_SHIFT_ENDED);
    CHECK_INT(evs.v[0].ev.end_ms, NOW + 120000);
    sk_conn_events_fini(&evs);
    /* listed again: closed for good */
    evs = step(&st, &s, NOW + 180000);
    CHECK_INT(evs.n, 0);
    sk_conn_events_fini(&evs);
    /* tombstones forgotten a week after the end */
    evs = step(&st, &none, NOW + 3 * H + SK_CONN_TOMBSTONE_MS + 1);
    CHECK_INT(st.n, 0);
    sk_conn_events_fini(&evs);
    sk_conn_shifts_fini(&s);
    sk_conn_state_fini(&st);
}

TEST(unreadable_platform_only_time_ends)
{
    sk_conn_shifts_t s = {0};
    sk_conn_state_t st = {0};
    sk_conn_shifts_add(&s, "a", "alice", NOW - H, NOW + H, 1, false);
    sk_conn_shifts_add(&s, "b", "bob", NOW + H, NOW + 2 * H, 1, false);
    sk_conn_shifts_add(&s, "p", "pat", SK_CONN_START_UNKNOWN, SK_MS_NONE, 1, false);
    sk_conn_events_t evs = step(&st, &s, NOW);
    CHECK_INT(evs.n, 3);
    CHECK_INT(evs.v[2].ev.start_ms, NOW); /* permanent: first seen */
    CHECK_INT(evs.v[2].ev.end_ms, SK_MS_NONE);
    sk_conn_events_fini(&evs);
    evs = step(&st, NULL, NOW + 90 * 60000); /* platform down; alice's end passed */
    CHECK_INT(evs.n, 1);
    CHECK_INT(evs.v[0].ev.type, SK_SHIFT_ENDED);
    CHECK_INT(evs.v[0].ev.end_ms, NOW + H);
    sk_conn_events_fini(&evs);
    /* readable again at bob's end: bob ENDED; the permanent shift unchanged (first-seen start kept) */
    evs = step(&st, &s, NOW + 2 * H);
    CHECK_INT(evs.n, 1);
    CHECK_INT(evs.v[0].ev.type, SK_SHIFT_ENDED);
    CHECK_STR(evs.v[0].ev.user, "bob");
    sk_conn_events_fini(&evs);
    sk_conn_shifts_fini(&s);
    sk_conn_state_fini(&st);
}

TEST(event_ids_deterministic)
{
    char a[80], b[80], c[80];
    sk_conn_event_id("pagerduty", "s", "u", SK_SHIFT_STARTED, 1, 2, 1, a);
    sk_conn_event_id("pagerduty", "s", "u", SK_SHIFT_STARTED, 1, 2, 1, b);
    sk_conn_event_id("pagerduty", "s", "u", SK_SHIFT_STARTED, 1, 3, 1, c);
    CHECK_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    CHECK(strncmp(a, "pagerduty-", 10) == 0 && strlen(a) == 10 + 32);
    sk_conn_event_id("pagerduty", "s", "u", SK_SHIFT_STARTED, 1, 2, 2, c);
    CHECK(strcmp(a, c) != 0);
}

TEST(state_file_round_trip)
{
    char path[] = "/tmp/sk-conn-state-XXXXXX", err[512];
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    sk_conn_state_t st = {0}, back = {0};
    CHECK_INT(sk_conn_state_load(path, "ical", "rot", &back, err, sizeof(err)), 0); /* missing: empty */
    CHECK_INT(back.n, 0);
    sk_conn_seen_t e = {"ical:x", "alice@example.com", NOW, SK_MS_NONE, 2, SK_SHIFT_STARTED, 3, NOW};
    sk_conn_state_add(&st, &e);
    e.id = "ical:y";
    e.end_ms = NOW + H;
    e.last = SK_SHIFT_CANCELLED;
    sk_conn_state_add(&st, &e);
    CHECK_INT(sk_conn_state_save(path, "ical", "rot", &st, err, sizeof(err)), 0);
    CHECK_INT(sk_conn_state_load(path, "ical", "rot", &back, err, sizeof(err)), 0);
    CHECK_INT(back.n, 2);
    CHECK_STR(back.v[0].user, "alice@example.com");
    CHECK_INT(back.v[0].end_ms, SK_MS_NONE);
    CHECK_INT(back.v[0].level, 2);
    CHECK_INT(back.v[0].seq, 3);
    CHECK_INT(back.v[1].end_ms, NOW + H);
    CHECK(sk_conn_seen_closed(&back.v[1]));
    sk_conn_state_fini(&back);
    CHECK_INT(sk_conn_state_load(path, "ical", "other", &back, err, sizeof(err)), SK_EINVAL);
    CHECK_CONTAINS(err, "belongs to another connector");
    FILE *f = fopen(path, "a");
    fputs("broken\tline\n", f);
    fclose(f);
    CHECK_INT(sk_conn_state_load(path, "ical", "rot", &back, err, sizeof(err)), SK_EPARSE);
    CHECK_CONTAINS(err, ":4: expected 8 tab-separated fields");
    unlink(path);
    sk_conn_state_fini(&st);
}

TEST(user_map)
{
    char path[] = "/tmp/sk-conn-users-XXXXXX", err[512], buf[300];
    int fd = mkstemp(path);
    const char *text = "# comment\nusers:\n  Alice@Example.com: alice\nPBOB001=bob # pd id\n"
                       "- \"carol@example.com\": 'c.smith'\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    sk_conn_usermap_t *m = sk_conn_usermap_new(path, err, sizeof(err));
    CHECK(m != NULL);
    if (m) {
        CHECK_INT(sk_conn_usermap_size(m), 3);
        CHECK_STR(sk_conn_usermap_resolve(m, "PX", "alice@example.COM", buf, sizeof(buf)), "alice");
        CHECK_STR(sk_conn_usermap_resolve(m, "PBOB001", "bob@x", buf, sizeof(buf)), "bob");
        CHECK_STR(sk_conn_usermap_resolve(m, NULL, "carol@example.com", buf, sizeof(buf)), "c.smith");
        CHECK_STR(sk_conn_usermap_resolve(m, "PZ", "Dave@Example.com", buf, sizeof(buf)), "dave@example.com");
        CHECK(sk_conn_usermap_resolve(m, "PZ", NULL, buf, sizeof(buf)) == NULL);
        sk_conn_usermap_destroy(m);
    }
    FILE *f = fopen(path, "a");
    fputs("no separator here\n", f);
    fclose(f);
    CHECK(sk_conn_usermap_new(path, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, ":6: expected KEY=ID or KEY: ID");
    unlink(path);
}

TEST(iso_times)
{
    sk_ms_t t;
    char buf[32];
    CHECK_INT(sk_conn_parse_iso("2026-10-25T01:00:00Z", &t), 0);
    CHECK_INT(t, 1792890000000LL);
    CHECK_INT(sk_conn_parse_iso("2026-10-25T03:00:00+02:00", &t), 0);
    CHECK_INT(t, 1792890000000LL);
    CHECK_INT(sk_conn_parse_iso("2026-10-24T20:00:00.250-05:00", &t), 0);
    CHECK_INT(t, 1792890000250LL);
    CHECK_INT(sk_conn_parse_iso("2026-10-25T01:00:00", &t), -1);
    CHECK_STR(sk_conn_format_iso(1792890000000LL, buf, sizeof(buf)), "2026-10-25T01:00:00Z");
}

SK_TEST_MAIN(SK_TEST_CASE(new_shifts_scheduled_or_started), SK_TEST_CASE(moved_gone_and_closed),
             SK_TEST_CASE(unreadable_platform_only_time_ends), SK_TEST_CASE(event_ids_deterministic),
             SK_TEST_CASE(state_file_round_trip), SK_TEST_CASE(user_map), SK_TEST_CASE(iso_times))
