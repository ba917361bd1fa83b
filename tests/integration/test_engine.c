/*
 * test_engine.c — the whole path over real parts: events produced to
 * librdkafka's mock cluster over TCP, the engine consuming them, state in a
 * real redis-server, commands read back from the commands topic.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sk_fixture.h"
#include "sk_test.h"
#include "base/keyhash.h"
#include "codec/state_pack.h"

#define RULES "tests/rules/engine"
#define PARTS 4

static sk_fx_redis_t redis;
static sk_fx_kafka_t kafka;
static sk_fx_engine_t eng;
static sk_fx_reader_t *commands, *deadletters;

static sk_schedule_event_t ev(sk_shift_event_type_t type, const char *event_id, const char *user,
                              const char *rot, const char *shift, sk_ms_t start, sk_ms_t end)
{
    return (sk_schedule_event_t){event_id, type,  "test", rot, user,
                                 shift,    start, end,    1,   sk_now_ms()};
}

static size_t cmds(const char *user, const sk_fx_record_t **out, size_t max)
{
    return sk_fx_reader_get(commands, user, out, max);
}

static size_t count_action(const char *user, sk_command_action_t a)
{
    const sk_fx_record_t *r[64];
    size_t n = cmds(user, r, 64), k = 0;
    for (size_t i = 0; i < n; i++)
        k += r[i]->cmd.action == a;
    return k;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

TEST(a_setup_real_redis_and_mock_kafka)
{
    CHECK_INT(sk_fx_redis_start(&redis), 0);
    CHECK_INT(sk_fx_kafka_start(&kafka, PARTS), 0);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, RULES, "sk-test"), 0);
    commands = sk_fx_reader_new(kafka.bootstraps, "shiftkey.commands.v1", PARTS);
    deadletters = sk_fx_reader_new(kafka.bootstraps, "shiftkey.deadletter.v1", PARTS);
}

TEST(shift_start_grants_and_shift_end_revokes)
{
    sk_ms_t now = sk_now_ms(), end = now + 3600000;
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "e1", "u-start", "primary", "s1", now, end);
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-start", 2, 15000), 2);
    const sk_fx_record_t *r[8];
    size_t n = cmds("u-start", r, 8);
    for (size_t i = 0; i < n && i < 2; i++) {
        CHECK_INT(r[i]->cmd.action, SK_CMD_GRANT);
        CHECK_INT(r[i]->cmd.expires_at_ms, end);
        CHECK_STR(r[i]->cmd.user, "u-start");
    }
    /* the grant is in Redis, with a TTL, and the timer is set */
    CHECK(sk_fx_redis_int(&redis, "EVAL %s 0",
                          "local n = 0 for _, k in ipairs(redis.call('KEYS', 'sk:*:users')) do "
                          "n = n + redis.call('HEXISTS', k, 'u-start') end return n") == 1);
    sk_schedule_event_t e = ev(SK_SHIFT_ENDED, "e2", "u-start", "primary", "s1", now, sk_now_ms());
    CHECK_INT(sk_fx_produce_event(&kafka, &e), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-start", 4, 15000), 4);
    CHECK_INT(count_action("u-start", SK_CMD_REVOKE), 2);
}

/* Records of the schedule topic not yet committed by `group`: the sum over
 * its partitions of the end offset minus the committed one (read with a
 * client of that group that never joins it); -1 when Kafka does not say. */
static int64_t uncommitted(const char *group)
{
    char err[256];
    int64_t behind = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", kafka.bootstraps, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!c)
        return -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(PARTS);
    for (int p = 0; p < PARTS; p++)
        rd_kafka_topic_partition_list_add(l, "shiftkey.schedule.v1", p);
    if (rd_kafka_committed(c, l, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        behind = -1;
    for (int p = 0; p < PARTS && behind >= 0; p++) {
        int64_t lo, hi, at = l->elems[p].offset;
        if (rd_kafka_query_watermark_offsets(c, "shiftkey.schedule.v1", p, &lo, &hi, 5000))
            behind = -1;
        else
            behind += hi - (at >= 0 ? at : 0);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(c);
    return behind;
}

/* Input offsets are committed for all partitions in one request a second
 * (emit.c), and at a stop whatever the interval: the group's committed
 * offsets reach the topic's end within a few seconds, and right after a
 * stop. */
TEST(offsets_committed_once_a_second_and_at_stop)
{
    sk_ms_t now = sk_now_ms();
    int64_t behind = -1;
    sk_schedule_event_t s =
        ev(SK_SHIFT_STARTED, "c1", "u-commit", "primary", "c1", now, now + 3600000);
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-commit", 2, 15000), 2);
    for (int i = 0; i < 50 && behind != 0; i++) {
        sleep_ms(100);
        behind = uncommitted("sk-test");
    }
    CHECK_INT(behind, 0);
    /* a record applied just before a stop is committed by the stop */
    sk_schedule_event_t e = ev(SK_SHIFT_ENDED, "c2", "u-commit", "primary", "c1", now, sk_now_ms());
    CHECK_INT(sk_fx_produce_event(&kafka, &e), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-commit", 4, 15000), 4);
    sk_fx_engine_stop(&eng);
    behind = uncommitted("sk-test");
    CHECK_INT(behind, 0);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, RULES, "sk-test"), 0);
}

TEST(overlapping_rotations_keep_the_shared_entitlement)
{
    sk_ms_t now = sk_now_ms();
    sk_schedule_event_t a =
        ev(SK_SHIFT_STARTED, "o1", "u-overlap", "primary", "pa", now, now + 3600000);
    sk_schedule_event_t b =
        ev(SK_SHIFT_STARTED, "o2", "u-overlap", "secondary", "sb", now, now + 3600000);
    CHECK_INT(sk_fx_produce_event(&kafka, &a), 0);
    CHECK_INT(sk_fx_produce_event(&kafka, &b), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-overlap", 2, 15000), 2);
    sk_schedule_event_t ae =
        ev(SK_SHIFT_ENDED, "o3", "u-overlap", "primary", "pa", now, sk_now_ms());
    CHECK_INT(sk_fx_produce_event(&kafka, &ae), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-overlap", 3, 15000), 3);
    const sk_fx_record_t *r[8];
    size_t n = cmds("u-overlap", r, 8);
    CHECK_INT(n, 3); /* GRANT read, GRANT write, REVOKE write; read stays */
    if (n >= 3) {
        CHECK_INT(r[2]->cmd.action, SK_CMD_REVOKE);
        CHECK_STR(r[2]->cmd.entitlement, "write");
    }
    sk_schedule_event_t be =
        ev(SK_SHIFT_ENDED, "o4", "u-overlap", "secondary", "sb", now, sk_now_ms());
    CHECK_INT(sk_fx_produce_event(&kafka, &be), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-overlap", 4, 15000), 4);
    n = cmds("u-overlap", r, 8);
    if (n >= 4) {
        CHECK_INT(r[3]->cmd.action, SK_CMD_REVOKE);
        CHECK_STR(r[3]->cmd.entitlement, "read");
    }
}

TEST(timer_revokes_when_no_end_event_arrives_within_2s)
{
    sk_ms_t now = sk_now_ms(), end = now + 1500;
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "t1", "u-timer", "secondary", "t1", now, end);
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-timer", 2, 15000), 2);
    const sk_fx_record_t *r[4];
    size_t n = cmds("u-timer", r, 4);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(r[1]->cmd.action, SK_CMD_REVOKE);
        CHECK(r[1]->seen_ms >= end);
        CHECK(r[1]->seen_ms - end <= 2000);
        fprintf(stderr, "  REVOKE seen %lld ms after due\n", (long long)(r[1]->seen_ms - end));
    }
}

TEST(future_shift_grants_at_start_minus_lead_not_before)
{
    sk_ms_t now = sk_now_ms(), start = now + 2500, end = start + 3600000;
    sk_schedule_event_t s = ev(SK_SHIFT_SCHEDULED, "f1", "u-future", "lead", "f1", start, end);
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    sleep_ms(1000); /* grant due at start - 1 s = now + 1.5 s */
    CHECK_INT(sk_fx_reader_wait(commands, "u-future", 1, 10), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-future", 1, 5000), 1);
    const sk_fx_record_t *r[2];
    if (cmds("u-future", r, 2) == 1) {
        CHECK_INT(r[0]->cmd.action, SK_CMD_GRANT);
        CHECK(r[0]->seen_ms >= start - 1000);
        CHECK_INT(r[0]->cmd.expires_at_ms, end + 1000);
    }
}

TEST(override_sends_the_new_expiry_and_moves_the_timer)
{
    sk_ms_t now = sk_now_ms();
    sk_schedule_event_t s =
        ev(SK_SHIFT_STARTED, "v1", "u-override", "secondary", "v1", now, now + 3600000);
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-override", 1, 15000), 1);
    sk_ms_t new_end = sk_now_ms() + 1500;
    sk_schedule_event_t u =
        ev(SK_SHIFT_UPDATED, "v2", "u-override", "secondary", "v1", now, new_end);
    CHECK_INT(sk_fx_produce_event(&kafka, &u), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-override", 3, 15000), 3);
    const sk_fx_record_t *r[4];
    if (cmds("u-override", r, 4) == 3) {
        CHECK_INT(r[1]->cmd.action, SK_CMD_EXTEND);
        CHECK_INT(r[1]->cmd.expires_at_ms, new_end);
        CHECK_INT(r[2]->cmd.action, SK_CMD_REVOKE);
        CHECK(r[2]->seen_ms - new_end <= 2000);
    }
}

TEST(duplicates_and_replays_send_no_second_command)
{
    sk_ms_t now = sk_now_ms();
    sk_schedule_event_t s =
        ev(SK_SHIFT_STARTED, "d1", "u-dup", "primary", "d1", now, now + 3600000);
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0); /* delivered twice */
    CHECK_INT(sk_fx_reader_wait(commands, "u-dup", 2, 15000), 2);
    /* replay everything: restart the engine in a new consumer group, which
     * starts from the applied offsets in Redis; then also forget those, so
     * every record is decided again */
    sk_fx_engine_stop(&eng);
    CHECK(
        sk_fx_redis_int(
            &redis, "EVAL %s 0",
            "for _,k in ipairs(redis.call('KEYS','sk:*:offsets')) do redis.call('DEL',k) end return 1") ==
        1);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, RULES, "sk-test-replay"), 0);
    sk_schedule_event_t mark =
        ev(SK_SHIFT_STARTED, "d2", "u-dup-mark", "secondary", "m", now, now + 3600000);
    CHECK_INT(sk_fx_produce_event(&kafka, &mark), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-dup-mark", 1, 20000), 1);
    sleep_ms(500);
    CHECK_INT(sk_fx_reader_wait(commands, "u-dup", 3, 10), 2);
}

TEST(engine_down_across_due_time_revokes_within_5s_of_restart)
{
    sk_ms_t now = sk_now_ms(), end = now + 1000;
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "r1", "u-restart", "secondary", "r1", now, end);
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-restart", 1, 15000), 1);
    sk_fx_engine_stop(&eng);
    sleep_ms(2000); /* the due time passes while the engine is down */
    CHECK_INT(sk_fx_reader_wait(commands, "u-restart", 2, 10), 1);
    sk_ms_t restarted = sk_now_ms();
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, RULES, "sk-test"), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-restart", 2, 10000), 2);
    const sk_fx_record_t *r[4];
    if (cmds("u-restart", r, 4) == 2) {
        CHECK_INT(r[1]->cmd.action, SK_CMD_REVOKE);
        CHECK(r[1]->seen_ms - restarted <= 5000);
        fprintf(stderr, "  REVOKE %lld ms after restart\n", (long long)(r[1]->seen_ms - restarted));
    }
}

static void *slow_scan_main(void *arg)
{
    sk_fx_engine_t *fe = arg;
    sk_engine_run(fe->engine, &fe->stop, &fe->reload);
    return NULL;
}

/* A timer fires when due, not at the next scan: with the scan every 60 s,
 * a grant ending 1.5 s after it was given is still revoked long before the
 * scan could have found it (the engine sleeps until the earliest due time). */
TEST(timer_fires_when_due_not_at_the_next_scan)
{
    char err[512];
    const char *props[] = {"consumer:session.timeout.ms=6000",
                           "consumer:heartbeat.interval.ms=500"};
    sk_engine_config_t cfg = {.brokers = kafka.bootstraps,
                              .rules_path = RULES,
                              .group_id = "sk-test",
                              .redis = {.host = "127.0.0.1", .port = redis.port},
                              .timer_interval_ms = 60000,
                              .kafka_props = props,
                              .n_kafka_props = 2};
    sk_fx_engine_stop(&eng);
    memset(&eng, 0, sizeof(eng));
    eng.engine = sk_engine_new(&cfg, err, sizeof(err));
    CHECK(eng.engine != NULL);
    if (!eng.engine)
        return;
    CHECK_INT(pthread_create(&eng.thread, NULL, slow_scan_main, &eng), 0);
    /* the shift must still be on when the engine decides it: wait for the
     * assignment (its first scan ran at start, before it) */
    sk_engine_stats_t st = {0};
    for (int i = 0; i < 300 && !st.assigned_at_ms; i++) {
        sleep_ms(50);
        sk_engine_stats(eng.engine, &st);
    }
    CHECK(st.assigned_at_ms > 0);
    sleep_ms(500);
    sk_ms_t now = sk_now_ms(), end = now + 1500;
    sk_schedule_event_t s = ev(SK_SHIFT_STARTED, "d1", "u-due", "secondary", "d1", now, end);
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-due", 2, 20000), 2);
    const sk_fx_record_t *r[4];
    if (cmds("u-due", r, 4) == 2) {
        CHECK_INT(r[0]->cmd.action, SK_CMD_GRANT);
        CHECK_INT(r[1]->cmd.action, SK_CMD_REVOKE);
        CHECK(r[1]->seen_ms >= end);
        /* the scan runs at start and then 60 s later: far from this */
        CHECK(r[1]->seen_ms - end < 20000);
        fprintf(stderr, "  REVOKE seen %lld ms after due (scan every 60 s)\n",
                (long long)(r[1]->seen_ms - end));
    }
}

static int dl_with(const char *needle)
{
    const sk_fx_record_t *r[64];
    size_t n = sk_fx_reader_get(deadletters, NULL, r, 64);
    for (size_t i = 0; i < n; i++)
        if (r[i]->dl.reason && strstr(r[i]->dl.reason, needle))
            return 1;
    return 0;
}

TEST(bad_records_become_dead_letters_and_the_engine_goes_on)
{
    sk_ms_t now = sk_now_ms();
    static const char garbage[] = "{\"not\": \"avro\"}";
    CHECK_INT(sk_fx_produce(&kafka, "shiftkey.schedule.v1", "u-bad", garbage, sizeof(garbage) - 1),
              0);
    /* a valid record, truncated */
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    void *buf;
    size_t len;
    sk_arena_init(&a, 4096);
    sk_schedule_event_t ok = ev(SK_SHIFT_STARTED, "b1", "u-bad", "primary", "b1", now, now + 60000);
    CHECK_INT(sk_codec_encode_schedule(codec, &ok, &a, &buf, &len), 0);
    CHECK_INT(sk_fx_produce(&kafka, "shiftkey.schedule.v1", "u-bad", buf, len / 2), 0);
    /* enum index out of range: the type is the second field, after event_id
     * (zigzag length 2 = 0x04, "b1"), so byte 5 + 3 holds it */
    unsigned char *bad = sk_arena_alloc(&a, len);
    memcpy(bad, buf, len);
    bad[SK_WIRE_HEADER_LEN + 3] = 0x12; /* zigzag 9 */
    CHECK_INT(sk_fx_produce(&kafka, "shiftkey.schedule.v1", "u-bad", bad, len), 0);
    sk_schedule_event_t unknown =
        ev(SK_SHIFT_STARTED, "b2", "u-bad", "no-such-rotation", "b2", now, now + 60000);
    CHECK_INT(sk_fx_produce_event(&kafka, &unknown), 0);
    sk_schedule_event_t backwards =
        ev(SK_SHIFT_STARTED, "b3", "u-bad", "primary", "b3", now + 60000, now);
    sk_codec_encode_schedule(codec, &backwards, &a, &buf, &len);
    CHECK_INT(sk_fx_produce(&kafka, "shiftkey.schedule.v1", "u-bad", buf, len), 0);
    /* and the engine goes on with the next good record */
    CHECK_INT(sk_fx_produce_event(&kafka, &ok), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-bad", 2, 15000), 2);
    CHECK(sk_fx_reader_wait(deadletters, NULL, 5, 15000) >= 5);
    CHECK(dl_with("framing") || dl_with("0x7b"));
    CHECK(dl_with("truncated"));
    CHECK(dl_with("out of range"));
    CHECK(dl_with("rotation 'no-such-rotation' is not in the rules"));
    CHECK(dl_with("before"));
    const sk_fx_record_t *r[64];
    size_t n = sk_fx_reader_get(deadletters, NULL, r, 64);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  dead letter: %s\n", r[i]->dl.reason);
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
}

/* Writes user's state as a closed shift, packed with keep_until `keep`, and
 * its timer at `due` (none when SK_MS_NONE), straight into Redis (the
 * engine is stopped). */
static void put_state(const char *user, sk_ms_t keep, sk_ms_t due)
{
    int32_t p = sk_keyhash_partition(user, strlen(user), PARTS);
    sk_arena_t a;
    char value[128];
    sk_ms_t t = sk_now_ms() - 3600000;
    snprintf(value, sizeof(value), "primary %lld %lld 1 1 %lld", (long long)t, (long long)t + 60000,
             (long long)t + 60000);
    sk_packed_field_t f = {"s:old", 5, value, strlen(value)};
    void *b = NULL;
    size_t len = 0;
    sk_arena_init(&a, 1024);
    CHECK_INT(sk_state_pack(&a, &f, 1, keep, &b, &len), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HSET sk:{p%d}:users %s %b", (int)p, user, b, len), 1);
    if (due != SK_MS_NONE)
        CHECK_INT(
            sk_fx_redis_int(&redis, "ZADD sk:{p%d}:timers %lld %s", (int)p, (long long)due, user),
            1);
    sk_arena_fini(&a);
}

/* User keys have no TTL and a keep-until alone sets no timer: a state past
 * its keep-until is deleted by the engine's sweep (keep_sweep.c), never
 * before its keep-until; one whose keep-until is ahead stays, and so does
 * an older engine's timer at a keep-until (it finds the state expired and
 * deletes it). A user whose shift the engine closed keeps its state with
 * a keep-until and no timer member. */
TEST(a_state_past_its_keep_until_is_deleted_by_the_sweep_never_before)
{
    sk_fx_engine_stop(&eng);
    sk_ms_t now = sk_now_ms();
    put_state("u-keep-gone", now + 1500, SK_MS_NONE);
    put_state("u-keep-kept", now + 600000, SK_MS_NONE);
    put_state("u-keep-timer", now + 1000, now + 1000); /* an older engine's timer */
    int32_t pg = sk_keyhash_partition("u-keep-gone", 11, PARTS),
            pk = sk_keyhash_partition("u-keep-kept", 11, PARTS),
            pt = sk_keyhash_partition("u-keep-timer", 12, PARTS);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, RULES, "sk-test"), 0);
    sk_ms_t deadline = now + 15000;
    bool early = false;
    while (sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users u-keep-gone", (int)pg) == 1 &&
           sk_now_ms() < deadline)
        sleep_ms(20);
    early = sk_now_ms() < now + 1500;
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users u-keep-gone", (int)pg), 0);
    CHECK(!early); /* not before its keep-until */
    CHECK_INT(sk_fx_redis_int(&redis, "ZSCORE sk:{p%d}:timers u-keep-gone", (int)pg), -1);
    while (sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users u-keep-timer", (int)pt) == 1 &&
           sk_now_ms() < deadline)
        sleep_ms(20);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users u-keep-timer", (int)pt), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "ZSCORE sk:{p%d}:timers u-keep-timer", (int)pt), -1);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users u-keep-kept", (int)pk), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "ZSCORE sk:{p%d}:timers u-keep-kept", (int)pk), -1);
    /* a shift the engine opens and closes: the state stays, no timer member */
    sk_schedule_event_t st =
        ev(SK_SHIFT_STARTED, "k1", "u-keep-shift", "primary", "k1", now, now + 600000);
    sk_schedule_event_t en =
        ev(SK_SHIFT_ENDED, "k2", "u-keep-shift", "primary", "k1", now, sk_now_ms());
    int32_t ps = sk_keyhash_partition("u-keep-shift", 12, PARTS);
    CHECK_INT(sk_fx_produce_event(&kafka, &st), 0);
    CHECK_INT(sk_fx_produce_event(&kafka, &en), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "u-keep-shift", 4, 15000), 4);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users u-keep-shift", (int)ps), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "ZSCORE sk:{p%d}:timers u-keep-shift", (int)ps), -1);
}

TEST(z_teardown)
{
    sk_fx_reader_destroy(commands);
    sk_fx_reader_destroy(deadletters);
    sk_fx_engine_stop(&eng);
    sk_fx_kafka_stop(&kafka);
    sk_fx_redis_stop(&redis);
    CHECK(1);
}

SK_TEST_MAIN(SK_TEST_CASE(a_setup_real_redis_and_mock_kafka),
             SK_TEST_CASE(shift_start_grants_and_shift_end_revokes),
             SK_TEST_CASE(offsets_committed_once_a_second_and_at_stop),
             SK_TEST_CASE(overlapping_rotations_keep_the_shared_entitlement),
             SK_TEST_CASE(timer_revokes_when_no_end_event_arrives_within_2s),
             SK_TEST_CASE(future_shift_grants_at_start_minus_lead_not_before),
             SK_TEST_CASE(override_sends_the_new_expiry_and_moves_the_timer),
             SK_TEST_CASE(duplicates_and_replays_send_no_second_command),
             SK_TEST_CASE(engine_down_across_due_time_revokes_within_5s_of_restart),
             SK_TEST_CASE(bad_records_become_dead_letters_and_the_engine_goes_on),
             SK_TEST_CASE(timer_fires_when_due_not_at_the_next_scan),
             SK_TEST_CASE(a_state_past_its_keep_until_is_deleted_by_the_sweep_never_before),
             SK_TEST_CASE(z_teardown))
