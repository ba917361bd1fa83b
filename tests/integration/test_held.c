/*
 * test_held.c — commands that take access away are never dropped (fail-open
 * edges, 2 and 3). Over real parts: a redis-server, the mock Kafka cluster
 * over TCP, the engine in a thread, with the failpoint that makes Kafka
 * refuse REVOKE/EXTEND records for good (SHIFTKEY_FAILPOINT=
 * refuse-takeaway:N, failpoint.h).
 *
 *  1. a shift's end: both REVOKEs are refused, held (in Redis, the engine's
 *     stats), produced again with backoff and taken at last; no dead-letter
 *     notice replaces them; another user's GRANT flows meanwhile;
 *  2. state lost and not restorable (Redis flushed and read-only): the
 *     fail-closed REVOKEs go through the same held path: refused at first,
 *     produced again, taken;
 *  3. /readyz's check answers not ready while a command is held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/metrics.h"
#include "pipeline/diag.h"
#include "sk_fixture.h"
#include "sk_test.h"

#define PARTS 2

static sk_fx_redis_t redis;
static sk_fx_kafka_t kafka;
static sk_fx_engine_t eng;
static sk_fx_reader_t *commands;
static char rules_dir[128];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static sk_schedule_event_t started(const char *id, const char *user, sk_ms_t end)
{
    sk_ms_t now = sk_now_ms();
    return (sk_schedule_event_t){id, SK_SHIFT_STARTED, "test", "primary", user, id, now, end, 1,
                                 now};
}

/* REVOKEs of user seen so far; *last gets the last one's arrival. */
static int revokes_of(const char *user, sk_ms_t *last)
{
    const sk_fx_record_t *r[16];
    size_t n = sk_fx_reader_get(commands, user, r, 16);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i]->cmd.action == SK_CMD_REVOKE) {
            k++;
            *last = r[i]->seen_ms;
        }
    return k;
}

static int partition_of(const char *user)
{
    for (int p = 0; p < PARTS; p++)
        if (sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users %s", p, user) == 1)
            return p;
    return -1;
}

/* Starts the engine with `refusals` REVOKE/EXTEND productions refused. */
static int start_engine(const char *refusals)
{
    char v[64];
    snprintf(v, sizeof(v), "refuse-takeaway:%s", refusals);
    setenv("SHIFTKEY_FAILPOINT", v, 1);
    int rc = sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, rules_dir, "sk-held");
    unsetenv("SHIFTKEY_FAILPOINT");
    return rc;
}

TEST(a_setup)
{
    char cmd[512];
    snprintf(rules_dir, sizeof(rules_dir), "/tmp/sk-held-rules-%d", (int)getpid());
    mkdir(rules_dir, 0700);
    snprintf(cmd, sizeof(cmd), "cp tests/rules/engine/test.yaml '%s/'", rules_dir);
    CHECK_INT(system(cmd), 0);
    CHECK_INT(sk_fx_redis_start(&redis), 0);
    CHECK_INT(sk_fx_kafka_start(&kafka, PARTS), 0);
    commands = sk_fx_reader_new(kafka.bootstraps, "shiftkey.commands.v1", PARTS);
    CHECK(commands != NULL);
}

TEST(b_a_refused_revoke_is_held_and_retried_never_dropped)
{
    /* 6 refusals: the two REVOKEs refused at once, at +1 s and at +3 s */
    CHECK_INT(start_engine("6"), 0);
    /* the engine owns its partitions (a first user's GRANTs came) */
    sk_schedule_event_t w = started("h0", "warm-user", sk_now_ms() + 3600000);
    CHECK_INT(sk_fx_produce_event(&kafka, &w), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "warm-user", 2, 30000), 2);
    sk_ms_t end = sk_now_ms() + 2500, seen = 0;
    sk_schedule_event_t a = started("h1", "held-user", end);
    CHECK_INT(sk_fx_produce_event(&kafka, &a), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "held-user", 2, 20000), 2);
    int p = partition_of("held-user");
    CHECK(p >= 0);

    /* the shift ends: both REVOKEs are refused and held */
    sk_engine_stats_t st;
    sk_ms_t deadline = sk_now_ms() + 15000;
    do {
        sleep_ms(50);
        sk_engine_stats(eng.engine, &st);
    } while (st.commands_held < 2 && sk_now_ms() < deadline);
    CHECK_INT(st.commands_held, 2);
    if (p >= 0)
        CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p%d}:held", p), 2);
    CHECK_INT(revokes_of("held-user", &seen), 0);

    /* the partitions' other outputs flow meanwhile */
    sk_schedule_event_t b = started("h2", "flow-user", sk_now_ms() + 3600000);
    CHECK_INT(sk_fx_produce_event(&kafka, &b), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "flow-user", 2, 20000), 2);
    const sk_fx_record_t *g[4];
    CHECK_INT(sk_fx_reader_get(commands, "flow-user", g, 4), 2);

    /* produced again with backoff until Kafka takes them */
    deadline = sk_now_ms() + 30000;
    while (revokes_of("held-user", &seen) < 2 && sk_now_ms() < deadline)
        sleep_ms(50);
    CHECK_INT(revokes_of("held-user", &seen), 2);
    CHECK(g[0]->seen_ms < seen); /* the GRANT did not wait for the held REVOKEs */
    fprintf(stderr, "  held REVOKEs taken %lld ms after the shift's end\n",
            (long long)(seen - end));
    deadline = sk_now_ms() + 10000;
    do {
        sleep_ms(50);
        sk_engine_stats(eng.engine, &st);
    } while (st.commands_held > 0 && sk_now_ms() < deadline);
    CHECK_INT(st.commands_held, 0);
    CHECK_INT(st.outputs_refused, 0); /* no notice took a REVOKE's place */
    if (p >= 0) {
        deadline = sk_now_ms() + 5000;
        while (sk_fx_redis_int(&redis, "LLEN sk:{p%d}:held", p) != 0 && sk_now_ms() < deadline)
            sleep_ms(50);
        CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p%d}:held", p), 0);
    }
    sk_fx_engine_stop(&eng);
}

TEST(c_fail_closed_revokes_are_retried_until_taken)
{
    CHECK_INT(start_engine("2"), 0);
    sk_ms_t end = sk_now_ms() + 3600000, seen = 0;
    sk_schedule_event_t a = started("fc1", "fc-user", end);
    CHECK_INT(sk_fx_produce_event(&kafka, &a), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "fc-user", 2, 20000), 2);
    sleep_ms(500);
    sk_ms_t t0 = sk_now_ms();
    CHECK_INT(sk_fx_redis_int(&redis, "FLUSHALL"), -1);
    CHECK_INT(sk_fx_redis_int(&redis, "REPLICAOF 127.0.0.1 1"), -1); /* read-only now */
    sk_ms_t deadline = sk_now_ms() + 20000;
    while (revokes_of("fc-user", &seen) < 2 && sk_now_ms() < deadline)
        sleep_ms(50);
    CHECK_INT(revokes_of("fc-user", &seen), 2);
    /* both were refused once (the failpoint): taken after the backoff */
    CHECK(seen - t0 >= 1000);
    fprintf(stderr, "  fail-closed REVOKEs, refused once, taken %lld ms after the loss\n",
            (long long)(seen - t0));
    CHECK_INT(sk_fx_redis_int(&redis, "REPLICAOF NO ONE"), -1);
    sk_fx_engine_stop(&eng);
}

TEST(d_readyz_not_ready_while_a_command_is_held)
{
    sk_metrics_t *reg = sk_metrics_new();
    char why[128] = "";
    CHECK(reg != NULL);
    if (!reg)
        return;
    sk_metric_set(sk_metrics_gauge(reg, "shiftkey_redis_up", "", NULL), 1.0);
    sk_metric_set(sk_metrics_gauge(reg, "shiftkey_kafka_up", "", NULL), 1.0);
    sk_metric_set(sk_metrics_gauge(reg, "shiftkey_partitions_owned", "", NULL), 2.0);
    sk_metric_t *held = sk_metrics_gauge(reg, "shiftkey_commands_held", "", NULL);
    sk_metric_set(held, 0.0);
    CHECK_INT(sk_diag_engine_ready(reg, why, sizeof(why)), 1);
    sk_metric_set(held, 1.0);
    CHECK_INT(sk_diag_engine_ready(reg, why, sizeof(why)), 0);
    CHECK(strstr(why, "held") != NULL);
    sk_metrics_destroy(reg);
}

TEST(z_teardown)
{
    char cmd[512];
    sk_fx_reader_destroy(commands);
    sk_fx_kafka_stop(&kafka);
    sk_fx_redis_stop(&redis);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", rules_dir, redis.dir);
    CHECK_INT(system(cmd), 0);
}

SK_TEST_MAIN(SK_TEST_CASE(a_setup),
             SK_TEST_CASE(b_a_refused_revoke_is_held_and_retried_never_dropped),
             SK_TEST_CASE(c_fail_closed_revokes_are_retried_until_taken),
             SK_TEST_CASE(d_readyz_not_ready_while_a_command_is_held), SK_TEST_CASE(z_teardown))
