/*
 * test_conn_core — the connectors' pure parts: the diff (every rule of
 * connectors/core/diff.h), event ids, the state file round trip and its
 * refusals, the user map, ISO times; window clipping over simulated days,
 * mass disappearance held, the Opsgenie / JSM timeline reader (with the
 * vendor's documented example), rate-limit headers and backoff.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "diff.h"
#include "http.h"
#include "og_timeline.h"
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
    int rc = sk_conn_diff("test", "rot", st, shifts, now, now + 24 * H, NULL, &next, &evs, NULL);
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
    CHECK_CONTAINS(err, ":4: expected 8 or 9 tab-separated fields");
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
    CHECK_INT(sk_conn_parse_iso("2026-10-25T02:30:00+0130", &t), 0);
    CHECK_INT(t, 1792890000000LL);
    /* issue 10: offsets were read with sscanf("%2d:%2d") and then p += 6:
     * "+1:30" read past the end (ASan: heap-buffer-overflow), "+-1:-3" passed */
    const char *bad[] = {"2026-10-25T01:00:00+1:30", "2026-10-25T01:00:00+-1:-3",
                         "2026-10-25T01:00:00+01", "2026-10-25T01:00:00+24:00",
                         "2026-10-25T01:00:00+01:60", "2026-10-25T01:00:00+01:00x",
                         "2026-10-25T01:00:00.Z", "2026-10-25T01:00:00+"};
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        char *heap = strdup(bad[i]); /* exact size: any over-read is caught by ASan */
        t = 42;
        CHECK_INT(sk_conn_parse_iso(heap, &t), -1);
        CHECK_INT(t, 42);
        free(heap);
    }
    CHECK_STR(sk_conn_format_iso(1792890000000LL, buf, sizeof(buf)), "2026-10-25T01:00:00Z");
}


/* The Opsgenie / JSM timeline window cuts a period: [max(start, from), min(end, to)). */
static void add_clipped(sk_conn_shifts_t *s, const char *series, const char *user, sk_ms_t start,
                        sk_ms_t end, sk_ms_t from, sk_ms_t to)
{
    char id[200], iso[32];
    if (end <= from || start >= to)
        return;
    sk_conn_shift_t sh = {.user = (char *)user, .level = 1, .series = (char *)series};
    sh.start_clipped = start <= from;
    sh.end_clipped = end >= to;
    sh.start_ms = sh.start_clipped ? from : start;
    sh.end_ms = sh.end_clipped ? to : end;
    snprintf(id, sizeof(id), "%s:%s", series, sk_conn_format_iso(sh.start_ms, iso, sizeof(iso)));
    sh.id = id;
    CHECK_INT(sk_conn_shifts_add_ex(s, &sh), 0);
}

/* issue 18: a period longer than the window, polled every 6 hours over 12
 * simulated days (a clock offset), the window sliding as Opsgenie's does:
 * one STARTED, no ENDED/STARTED pair, id and start kept, the "at least
 * until" end moved only when it comes inside the look-ahead, the real end
 * taken once it is in the window, and ENDED at it. */
TEST(clipped_period_over_simulated_days)
{
    const sk_ms_t D = 24 * H, a_start = NOW - 10 * D, a_end = NOW + 9 * D + 5 * H;
    const sk_ms_t b_start = NOW + 3 * D, b_end = NOW + 4 * D;
    sk_conn_state_t st = {0};
    sk_conn_diff_opts_t opts = {0.5};
    char first_id[200] = "";
    int started = 0, ended = 0, updated = 0, other = 0, b_events = 0;
    sk_ms_t last_end = 0;
    for (sk_ms_t now = NOW; now <= NOW + 12 * D; now += 6 * H) {
        sk_ms_t from, horizon = now + 24 * H;
        long days;
        sk_og_window(now, horizon, &from, &days);
        sk_conn_shifts_t s = {0};
        add_clipped(&s, "og:S:R:u-alice", "alice", a_start, a_end, from, from + days * D);
        add_clipped(&s, "og:S:R:u-bob", "bob", b_start, b_end, from, from + days * D);
        sk_conn_state_t next;
        sk_conn_events_t evs;
        sk_conn_diff_stats_t ds;
        CHECK_INT(sk_conn_diff("opsgenie", "rot", &st, &s, now, horizon, &opts, &next, &evs, &ds), 0);
        CHECK_INT(ds.held, 0);
        for (size_t i = 0; i < evs.n; i++) {
            const sk_schedule_event_t *e = &evs.v[i].ev;
            if (strcmp(e->user, "bob") == 0) {
                b_events++;
                continue;
            }
            if (!first_id[0])
                snprintf(first_id, sizeof(first_id), "%s", e->shift_id);
            CHECK_STR(e->shift_id, first_id);
            CHECK_INT(e->start_ms, from <= a_start ? a_start : e->start_ms);
            started += e->type == SK_SHIFT_STARTED;
            ended += e->type == SK_SHIFT_ENDED;
            updated += e->type == SK_SHIFT_UPDATED;
            other += e->type != SK_SHIFT_STARTED && e->type != SK_SHIFT_ENDED &&
                     e->type != SK_SHIFT_UPDATED;
            if (e->type == SK_SHIFT_ENDED)
                CHECK_INT(e->end_ms, a_end);
            if (e->type != SK_SHIFT_ENDED) {
                CHECK(e->end_ms >= horizon); /* never an end the engine would revoke early */
                last_end = e->end_ms;
            }
        }
        sk_conn_events_fini(&evs);
        sk_conn_shifts_fini(&s);
        sk_conn_state_fini(&st);
        st = next;
    }
    CHECK_INT(started, 1);
    CHECK_INT(ended, 1);
    CHECK_INT(other, 0);
    /* the bound moved once (7 days asked ahead), then the real end came in view */
    if (updated < 1 || updated > 3)
        fprintf(stderr, "  %d UPDATED events\n", updated);
    CHECK(updated >= 1 && updated <= 3);
    CHECK_INT(last_end, a_end);
    CHECK_INT(b_events, 3); /* SCHEDULED, STARTED, ENDED: an ordinary period is untouched */
    sk_conn_state_fini(&st);
}

static int count_type(const sk_conn_events_t *evs, sk_shift_event_type_t t)
{
    int n = 0;
    for (size_t i = 0; i < evs->n; i++)
        n += evs->v[i].ev.type == t;
    return n;
}

/* issue 18: an answer that lists nobody must not revoke everyone at once. */
TEST(mass_disappearance_held_until_confirmed)
{
    sk_conn_shifts_t all = {0}, one_gone = {0}, none = {0};
    sk_conn_state_t st = {0}, next;
    sk_conn_events_t evs;
    sk_conn_diff_stats_t ds;
    sk_conn_diff_opts_t opts = {0.5};
    const char *users[] = {"ann", "ben", "cat", "dan"};
    for (int i = 0; i < 4; i++) {
        sk_conn_shifts_add(&all, users[i], users[i], NOW - H, NOW + 5 * H, 1, false);
        if (i)
            sk_conn_shifts_add(&one_gone, users[i], users[i], NOW - H, NOW + 5 * H, 1, false);
    }
    evs = step(&st, &all, NOW);
    CHECK_INT(evs.n, 4);
    sk_conn_events_fini(&evs);
    /* 4 of 4 vanish: held, nothing sent, marked in the state (and its file) */
    CHECK_INT(sk_conn_diff("t", "rot", &st, &none, NOW + 60000, NOW + 25 * H, &opts, &next, &evs, &ds), 0);
    CHECK_INT(evs.n, 0);
    CHECK_INT(ds.open, 4);
    CHECK_INT(ds.vanished, 4);
    CHECK_INT(ds.held, 4);
    CHECK(next.v[0].flags & SK_CONN_SEEN_HELD);
    sk_conn_events_fini(&evs);
    sk_conn_state_fini(&st);
    st = next;
    /* they are back: nothing sent, marks gone */
    CHECK_INT(sk_conn_diff("t", "rot", &st, &all, NOW + 120000, NOW + 25 * H, &opts, &next, &evs, &ds), 0);
    CHECK_INT(evs.n, 0);
    CHECK(!(next.v[0].flags & SK_CONN_SEEN_HELD));
    sk_conn_events_fini(&evs);
    sk_conn_state_fini(&st);
    st = next;
    /* gone again, twice: held, then confirmed → 4 ENDED */
    CHECK_INT(sk_conn_diff("t", "rot", &st, &none, NOW + 180000, NOW + 25 * H, &opts, &next, &evs, &ds), 0);
    CHECK_INT(evs.n, 0);
    sk_conn_events_fini(&evs);
    sk_conn_state_fini(&st);
    st = next;
    CHECK_INT(sk_conn_diff("t", "rot", &st, &none, NOW + 240000, NOW + 25 * H, &opts, &next, &evs, &ds), 0);
    CHECK_INT(count_type(&evs, SK_SHIFT_ENDED), 4);
    CHECK_INT(ds.held, 0);
    sk_conn_events_fini(&evs);
    sk_conn_state_fini(&st);
    st = next;
    sk_conn_state_fini(&st);
    /* 1 of 4 vanishes: under the share, ended at once; max_end_share 1: never held */
    evs = step(&st, &all, NOW);
    sk_conn_events_fini(&evs);
    CHECK_INT(sk_conn_diff("t", "rot", &st, &one_gone, NOW + 60000, NOW + 25 * H, &opts, &next, &evs, &ds), 0);
    CHECK_INT(count_type(&evs, SK_SHIFT_ENDED), 1);
    CHECK_INT(ds.held, 0);
    sk_conn_events_fini(&evs);
    sk_conn_state_fini(&next);
    opts.max_end_share = 1.0;
    CHECK_INT(sk_conn_diff("t", "rot", &st, &none, NOW + 60000, NOW + 25 * H, &opts, &next, &evs, &ds), 0);
    CHECK_INT(count_type(&evs, SK_SHIFT_ENDED), 4);
    sk_conn_events_fini(&evs);
    sk_conn_state_fini(&next);
    sk_conn_state_fini(&st);
    sk_conn_shifts_fini(&all);
    sk_conn_shifts_fini(&one_gone);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The JSM Operations reference's own example of GET /v1/schedules/{id}/timeline
 * (tests/connectors/vendor/), read by the shared Opsgenie reader. */
TEST(jsm_vendor_example_timeline)
{
    char err[256];
    size_t len = 0;
    char *body = slurp("tests/connectors/vendor/jsm_ops_timeline_example.json", &len);
    CHECK(body != NULL); /* run from the repository root */
    if (!body)
        return;
    char path[] = "/tmp/sk-conn-jsm-users-XXXXXX";
    int fd = mkstemp(path);
    const char *map = "5b2b0e011b3a756623f4e25e: alice\ne75fed1b-4234-45bc-b5b3-b936979f3cc0: bob\n";
    CHECK(write(fd, map, strlen(map)) == (ssize_t)strlen(map));
    close(fd);
    sk_conn_usermap_t *um = sk_conn_usermap_new(path, err, sizeof(err));
    sk_conn_shifts_t out = {0};
    sk_conn_poll_t p = {.prog = "test", .users = um, .out = &out};
    sk_ms_t from, to;
    sk_conn_parse_iso("2024-01-29T00:00:00Z", &from);
    sk_conn_parse_iso("2024-02-12T00:00:00Z", &to);
    CHECK_INT(sk_og_timeline_parse(&SK_OG_JSM, &p, "sched1", body, len, 0, 0), 0);
    /* user periods: 6 in Primary, 5 in Secondary (of alice and bob) */
    CHECK_INT(out.n, 11);
    CHECK_INT(p.skipped, 10); /* 3 team, 3 escalation, 4 noone periods: not persons */
    size_t clipped_end = 0;
    for (size_t i = 0; i < out.n; i++) {
        CHECK(strncmp(out.v[i].id, "jsm:sched1:", 11) == 0);
        CHECK(out.v[i].series && strncmp(out.v[i].id, out.v[i].series, strlen(out.v[i].series)) == 0);
        clipped_end += out.v[i].end_clipped;
        CHECK(!out.v[i].start_clipped || out.v[i].start_ms == from);
    }
    CHECK_INT(clipped_end, 1); /* Secondary's last base period ends at the window's end */
    CHECK_STR(out.v[0].user, "alice");
    CHECK_STR(out.v[0].id, "jsm:sched1:072cb9c1-698e-49fa-b1dc-1e8c190a76a6:5b2b0e011b3a756623f4e25e:"
                           "2024-02-01T08:11:21Z");
    sk_conn_shifts_fini(&out);
    /* the same body read as Opsgenie: not a timeline (no data wrapper) → failed poll */
    p.skipped = 0;
    CHECK_INT(sk_og_timeline_parse(&SK_OG_OPSGENIE, &p, "sched1", body, len, from, to), SK_EPARSE);
    CHECK_CONTAINS(p.err, "not an Opsgenie timeline");
    sk_conn_shifts_fini(&out);
    free(body);
    sk_conn_usermap_destroy(um);
    unlink(path);
}

/* issue 18: a period whose person is missing or of an unknown kind fails the
 * poll (never an empty schedule). */
TEST(timeline_shapes_not_understood_fail)
{
    sk_conn_shifts_t out = {0};
    sk_conn_poll_t p = {.prog = "test", .out = &out};
    const char *responder = "{\"data\":{\"finalTimeline\":{\"rotations\":[{\"id\":\"r1\",\"periods\":["
                            "{\"startDate\":\"2027-01-15T00:00:00Z\",\"endDate\":\"2027-01-16T00:00:00Z\","
                            "\"responder\":{\"id\":\"u1\",\"type\":\"user\"}}]}]}}}";
    CHECK_INT(sk_og_timeline_parse(&SK_OG_OPSGENIE, &p, "s", responder, strlen(responder), 0, 0), SK_EPARSE);
    CHECK_CONTAINS(p.err, "without recipient.type");
    const char *unknown = "{\"data\":{\"finalTimeline\":{\"rotations\":[{\"id\":\"r1\",\"periods\":["
                          "{\"startDate\":\"2027-01-15T00:00:00Z\",\"endDate\":\"2027-01-16T00:00:00Z\","
                          "\"recipient\":{\"id\":\"g1\",\"type\":\"group\",\"name\":\"x\"}}]}]}}}";
    CHECK_INT(sk_og_timeline_parse(&SK_OG_OPSGENIE, &p, "s", unknown, strlen(unknown), 0, 0), SK_EPARSE);
    CHECK_CONTAINS(p.err, "unknown recipient type 'group'");
    CHECK_INT(out.n, 0);
    const char *notjson = "<html>maintenance</html>";
    CHECK_INT(sk_og_timeline_parse(&SK_OG_JSM, &p, "s", notjson, strlen(notjson), 0, 0), SK_EPARSE);
    CHECK_CONTAINS(p.err, "not a JSM Operations timeline");
    sk_conn_shifts_fini(&out);
}

static void header(sk_http_limits_t *l, const char *line, sk_ms_t now)
{
    sk_http_limits_header(l, line, strlen(line), now);
}

TEST(rate_limit_headers_and_backoff)
{
    sk_http_limits_t l;
    unsigned seed = 7;
    const char *why = "";
    sk_http_limits_init(&l);
    header(&l, "Retry-After: 3\r\n", NOW);
    CHECK_INT(l.retry_after_ms, 3000);
    sk_http_limits_init(&l);
    header(&l, "retry-after: Fri, 15 Jan 2027 08:00:05 GMT\r\n", NOW); /* NOW = 08:00:00Z */
    CHECK_INT(l.retry_after_ms, 5000);
    sk_http_limits_init(&l);
    header(&l, "ratelimit-reset: 2\r\n", NOW);
    CHECK_INT(l.reset_ms, 2000);
    sk_http_limits_init(&l);
    header(&l, "X-RateLimit-Reset: 2027-01-15T08:00:04Z\r\n", NOW);
    CHECK_INT(l.reset_ms, 4000);
    sk_http_limits_init(&l);
    header(&l, "X-RateLimit-Reset: 1800000006\r\n", NOW); /* epoch seconds */
    CHECK_INT(l.reset_ms, 6000);
    sk_http_limits_init(&l);
    header(&l, "X-RateLimit-State: THROTTLED\r\n", NOW);
    header(&l, "X-RateLimit-Period-In-Sec: 60\r\n", NOW);
    header(&l, "X-RateLimit-Remaining: 0\r\n", NOW);
    header(&l, "Retry-After: soon\r\n", NOW);
    CHECK_INT(l.period_ms, 60000);
    CHECK_INT(l.remaining, 0);
    CHECK_INT(l.retry_after_ms, -1);
    /* a hint is honoured plus at most a tenth + 250 ms of jitter */
    for (int i = 0; i < 50; i++) {
        long long w = sk_http_wait_ms(&l, 429, 1, 1000, 120000, &seed, &why);
        CHECK(w >= 60000 && w <= 66250);
    }
    CHECK_STR(why, "X-RateLimit-Period-In-Sec");
    CHECK_INT(sk_http_wait_ms(&l, 429, 1, 1000, 30000, &seed, &why), -1); /* longer than max */
    /* no hint: exponential backoff, half fixed, half jitter, capped */
    sk_http_limits_init(&l);
    long long lo[4] = {500, 1000, 2000, 4000}, hi[4] = {1000, 2000, 4000, 8000};
    int varied = 0;
    for (int a = 1; a <= 4; a++) {
        long long first = -1;
        for (int i = 0; i < 20; i++) {
            long long w = sk_http_wait_ms(&l, 429, a, 1000, 60000, &seed, &why);
            CHECK(w >= lo[a - 1] && w <= hi[a - 1]);
            varied |= first >= 0 && w != first;
            first = w;
        }
    }
    CHECK(varied);
    CHECK_STR(why, "backoff");
    CHECK(sk_http_wait_ms(&l, 500, 30, 1000, 5000, &seed, &why) <= 5000);
}

SK_TEST_MAIN(SK_TEST_CASE(new_shifts_scheduled_or_started), SK_TEST_CASE(moved_gone_and_closed),
             SK_TEST_CASE(unreadable_platform_only_time_ends), SK_TEST_CASE(event_ids_deterministic),
             SK_TEST_CASE(state_file_round_trip), SK_TEST_CASE(user_map), SK_TEST_CASE(iso_times),
             SK_TEST_CASE(clipped_period_over_simulated_days),
             SK_TEST_CASE(mass_disappearance_held_until_confirmed),
             SK_TEST_CASE(jsm_vendor_example_timeline), SK_TEST_CASE(timeline_shapes_not_understood_fail),
             SK_TEST_CASE(rate_limit_headers_and_backoff))
