/*
 * test_poison.c — no input and no output stops a partition (issue 12,
 * "Fail closed"), over real parts (mock Kafka over TCP, redis-server):
 *
 * - an input of 1,100,000 bytes is dead-lettered with a bounded prefix, its
 *   length and its SHA-256, and the later REVOKEs of its partition still
 *   reach the commands topic;
 * - an output the broker refuses for good is replaced by a notice; one the
 *   producer refuses at once (larger than its message.max.bytes) too, and
 *   the commands behind it go on;
 * - a rules reload is an audit record of the engine;
 * - an applied offset beyond the end of its topic stops the partition with
 *   an ERROR and an audit record, while the other partitions go on;
 * - SIGTERM (stop + destroy) with outputs Kafka never confirms takes less
 *   than 10 s, and what was not confirmed is produced after a restart.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sk_fixture.h"
#include "sk_test.h"

#define PARTS       4
#define BIG         1100000
#define PRODUCE_API 0 /* Kafka's ApiKey of Produce */

static sk_fx_redis_t redis;
static sk_fx_kafka_t kafka;
static sk_fx_engine_t eng;
static sk_fx_reader_t *commands, *dead, *audit;
static char rules_dir[128];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static sk_schedule_event_t shift(sk_shift_event_type_t type, const char *id, const char *user,
                                 const char *shift_id)
{
    sk_ms_t now = sk_now_ms();
    return (sk_schedule_event_t){id,       type,       "test",        "primary", user,
                                 shift_id, now - 1000, now + 3600000, 1,         now};
}

/* The partition of user's state key, or -1. */
static int partition_of(const char *user)
{
    for (int p = 0; p < PARTS; p++)
        if (sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users %s", p, user) == 1)
            return p;
    return -1;
}

static void hex(const unsigned char *h, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", h[i]);
}

/* Produces len bytes to partition p of the schedule topic with a producer
 * that accepts records of up to 2 MB. 0 or -1. */
static int produce_big(int p, const char *key, const void *val, size_t len)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", kafka.bootstraps, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "message.max.bytes", "2000000", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk)
        return -1;
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("shiftkey.schedule.v1"), RD_KAFKA_V_PARTITION(p),
                          RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)val, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    int rc = err == 0 && rd_kafka_flush(rk, 10000) == 0 ? 0 : -1;
    if (err)
        fprintf(stderr, "  produce_big: %s\n", rd_kafka_err2str(err));
    rd_kafka_destroy(rk);
    return rc;
}

/* Commands of user with the given action. */
static size_t count_action(const char *user, sk_command_action_t action)
{
    const sk_fx_record_t *r[64];
    size_t n = sk_fx_reader_get(commands, user, r, 64), k = 0;
    for (size_t i = 0; i < n; i++)
        k += r[i]->cmd.action == action;
    return k;
}

/* The first record of reader rd for key whose bytes contain text, or NULL
 * after timeout_ms. */
static const sk_fx_record_t *wait_record(sk_fx_reader_t *rd, const char *key, const char *text,
                                         int timeout_ms)
{
    sk_ms_t deadline = sk_now_ms() + timeout_ms;
    do {
        const sk_fx_record_t *r[256];
        size_t n = sk_fx_reader_get(rd, key, r, 256);
        for (size_t i = 0; i < n; i++)
            if (sk_fx_record_contains(r[i], text))
                return r[i];
        sleep_ms(50);
    } while (sk_now_ms() < deadline);
    return NULL;
}

static void engine_stats(sk_engine_stats_t *st)
{
    sk_engine_stats(eng.engine, st);
}

TEST(a_setup)
{
    char cmd[512];
    CHECK(sodium_init() >= 0);
    snprintf(rules_dir, sizeof(rules_dir), "/tmp/sk-poison-rules-%d", (int)getpid());
    mkdir(rules_dir, 0700);
    snprintf(cmd, sizeof(cmd), "cp tests/rules/engine/test.yaml '%s/test.yaml'", rules_dir);
    CHECK_INT(system(cmd), 0);
    CHECK_INT(sk_fx_redis_start(&redis), 0);
    CHECK_INT(sk_fx_kafka_start(&kafka, PARTS), 0);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, rules_dir, "sk-poison"), 0);
    commands = sk_fx_reader_new(kafka.bootstraps, "shiftkey.commands.v1", PARTS);
    dead = sk_fx_reader_new(kafka.bootstraps, "shiftkey.deadletter.v1", PARTS);
    audit = sk_fx_reader_new(kafka.bootstraps, "shiftkey.audit.v1", PARTS);
}

TEST(b_oversized_input_is_dead_lettered_bounded_and_later_commands_pass)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char sha[65], len_text[64];
    sk_schedule_event_t s1 = shift(SK_SHIFT_STARTED, "big-1", "big-user", "bs1");
    CHECK_INT(sk_fx_produce_event(&kafka, &s1), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "big-user", 2, 15000), 2);
    int p = partition_of("big-user");
    CHECK(p >= 0);
    if (p < 0)
        return;
    /* 1,100,000 bytes of garbage, keyed by the user, on the user's partition */
    unsigned char *big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7 + 3);
    CHECK_INT(produce_big(p, "big-user", big, BIG), 0);
    /* the shift ends: two REVOKEs of the same partition, behind the poison */
    sk_ms_t t0 = sk_now_ms();
    sk_schedule_event_t e1 = shift(SK_SHIFT_ENDED, "big-2", "big-user", "bs1");
    e1.end_ms = sk_now_ms();
    CHECK_INT(sk_fx_produce_event(&kafka, &e1), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "big-user", 4, 20000), 4);
    CHECK_INT(count_action("big-user", SK_CMD_REVOKE), 2);
    fprintf(stderr, "  REVOKEs behind a %d-byte input reached the commands topic in %lld ms\n", BIG,
            (long long)(sk_now_ms() - t0));
    /* the dead letter: the first 8192 bytes, the length and the SHA-256 */
    CHECK(sk_fx_reader_wait(dead, "big-user", 1, 10000) >= 1);
    const sk_fx_record_t *r[4];
    size_t n = sk_fx_reader_get(dead, "big-user", r, 4);
    CHECK(n >= 1);
    if (n >= 1) {
        crypto_hash_sha256(h, big, BIG);
        hex(h, sizeof(h), sha);
        snprintf(len_text, sizeof(len_text), "value %d bytes", BIG);
        fprintf(stderr, "  dead letter: %zu bytes on the topic, payload %zu bytes\n", r[0]->raw_len,
                r[0]->dl.payload_len);
        CHECK_INT(r[0]->dl.payload_len, 8192);
        CHECK(r[0]->dl.payload && memcmp(r[0]->dl.payload, big, 8192) == 0);
        CHECK(r[0]->raw_len < 8192 + 2048);
        CHECK_CONTAINS(r[0]->dl.reason, len_text);
        CHECK_CONTAINS(r[0]->dl.reason, sha);
        CHECK_INT(r[0]->dl.origin.partition, p);
    }
    free(big);
}

TEST(c_output_refused_by_the_broker_is_replaced_by_a_notice)
{
    sk_engine_stats_t st;
    sk_fx_engine_stop(&eng);
    /* an undecodable input: its dead letter and its audit record are the
     * only outputs, and the broker refuses the first of them for good */
    CHECK_INT(sk_fx_produce(&kafka, "shiftkey.schedule.v1", "ref-user", "not avro at all", 15), 0);
    rd_kafka_mock_push_request_errors(kafka.mcluster, PRODUCE_API, 1,
                                      RD_KAFKA_RESP_ERR_INVALID_RECORD);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, rules_dir, "sk-poison"), 0);
    sk_ms_t deadline = sk_now_ms() + 20000;
    do {
        sleep_ms(50);
        engine_stats(&st);
    } while (st.outputs_refused == 0 && sk_now_ms() < deadline);
    CHECK_INT(st.outputs_refused, 1);
    /* the refused one is either the dead letter (key ref-user) or the
     * audit record (key "": the input had no readable user) */
    CHECK(wait_record(dead, NULL, "Broker failed to validate record", 10000) != NULL);
    CHECK(wait_record(audit, "shiftkey-engine", "output_refused", 10000) != NULL);
    /* and the partition goes on */
    sk_schedule_event_t s = shift(SK_SHIFT_STARTED, "ref-1", "ref-user", "rs1");
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "ref-user", 2, 15000), 2);
}

TEST(d_output_refused_by_the_producer_does_not_block)
{
    static const char *const small[] = {"producer:message.max.bytes=4096"};
    static char garbage[20000];
    sk_engine_stats_t st;
    sk_fx_engine_stop(&eng);
    /* this engine's producer takes at most 4096 bytes: the dead letter of a
     * 20,000-byte input (8192 bytes of prefix) is refused at once */
    CHECK_INT(sk_fx_engine_start_with(&eng, kafka.bootstraps, redis.port, rules_dir, "sk-poison",
                                      small, 1),
              0);
    memset(garbage, 'g', sizeof(garbage));
    CHECK_INT(sk_fx_produce(&kafka, "shiftkey.schedule.v1", "sync-user", garbage, sizeof(garbage)),
              0);
    const sk_fx_record_t *notice = wait_record(dead, "sync-user", "refused by Kafka", 20000);
    CHECK(notice != NULL);
    /* the partition's outbox goes on: a command staged after the refused
     * record (the engine had joined the group by now) */
    sk_ms_t t0 = sk_now_ms();
    sk_schedule_event_t s = shift(SK_SHIFT_STARTED, "sync-1", "sync-user", "ss1");
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "sync-user", 2, 20000), 2);
    fprintf(stderr, "  GRANTs after a refused dead letter reached the commands topic in %lld ms\n",
            (long long)(sk_now_ms() - t0));
    if (notice) {
        CHECK_CONTAINS(notice->dl.reason, "shiftkey.deadletter.v1");
        CHECK_CONTAINS(notice->dl.reason, "Message size too large");
        CHECK(notice->raw_len < 4096);
    }
    engine_stats(&st);
    CHECK(st.outputs_refused >= 1);
    sk_fx_engine_stop(&eng);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, rules_dir, "sk-poison"), 0);
}

TEST(e_rules_reload_is_an_engine_audit_record)
{
    eng.reload = 1;
    CHECK(wait_record(audit, "shiftkey-engine", "rules_reloaded", 10000) != NULL);
}

TEST(f_applied_offset_beyond_the_topic_end_stops_the_partition)
{
    char key[64], user[32], id[32];
    sk_engine_stats_t st;
    int p = partition_of("big-user");
    CHECK(p >= 0);
    if (p < 0)
        return;
    snprintf(key, sizeof(key), "sk:{p%d}:offsets", p);
    long long was = sk_fx_redis_int(&redis, "HGET %s shiftkey.schedule.v1", key);
    size_t before = sk_fx_reader_wait(commands, "big-user", 99, 0);
    sk_fx_engine_stop(&eng);
    /* the broker forgot its records (restarted, topic recreated) while
     * Redis kept its state */
    sk_fx_redis_int(&redis, "HSET %s shiftkey.schedule.v1 5000000", key);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, rules_dir, "sk-poison"), 0);
    const sk_fx_record_t *r = wait_record(audit, "shiftkey-engine", "partition_stopped", 20000);
    CHECK(r != NULL);
    if (r) {
        CHECK(sk_fx_record_contains(r, "5000000"));
        CHECK(sk_fx_record_contains(r, "shiftkey.schedule.v1"));
        CHECK(sk_fx_record_contains(r, "HDEL"));
    }
    engine_stats(&st);
    CHECK_INT(st.partitions_stopped, 1);
    /* a record for the stopped partition is not consumed (nor skipped as
     * applied: it stays in the topic), the other partitions go on */
    sk_schedule_event_t s = shift(SK_SHIFT_STARTED, "big-3", "big-user", "bs3");
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    int others = 0;
    for (int i = 0; i < 8; i++) {
        snprintf(user, sizeof(user), "off-%d", i);
        snprintf(id, sizeof(id), "off-%d", i);
        sk_schedule_event_t o = shift(SK_SHIFT_STARTED, id, user, id);
        CHECK_INT(sk_fx_produce_event(&kafka, &o), 0);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(user, sizeof(user), "off-%d", i);
        size_t got = sk_fx_reader_wait(commands, user, 2, 3000);
        int q = partition_of(user);
        CHECK((got == 2 && q >= 0 && q != p) || (got == 0 && q < 0));
        others += got == 2;
    }
    CHECK(others > 0);
    CHECK_INT(sk_fx_reader_wait(commands, "big-user", before + 2, 1000), before);
    /* the operator puts the right offset back: the record is consumed */
    sk_fx_engine_stop(&eng);
    sk_fx_redis_int(&redis, "HSET %s shiftkey.schedule.v1 %lld", key, was);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, rules_dir, "sk-poison"), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "big-user", before + 2, 20000), before + 2);
}

TEST(g_sigterm_with_outputs_kafka_never_confirms_takes_under_10s)
{
    static rd_kafka_resp_err_t errs[20000];
    sk_engine_stats_t st;
    sk_fx_engine_stop(&eng);
    sk_schedule_event_t s = shift(SK_SHIFT_STARTED, "stuck-1", "stuck-user", "st1");
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    /* from now on every produce request fails with a retriable error */
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        errs[i] = RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS;
    rd_kafka_mock_push_request_errors_array(kafka.mcluster, PRODUCE_API,
                                            sizeof(errs) / sizeof(errs[0]), errs);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, rules_dir, "sk-poison"), 0);
    sk_ms_t deadline = sk_now_ms() + 20000;
    do {
        sleep_ms(50);
        engine_stats(&st);
    } while (st.records == 0 && sk_now_ms() < deadline);
    CHECK(st.records >= 1);
    sleep_ms(500);
    sk_ms_t t0 = sk_now_ms();
    sk_fx_engine_stop(&eng); /* what SIGTERM does: stop, then destroy */
    sk_ms_t took = sk_now_ms() - t0;
    fprintf(stderr, "  stop with outputs never confirmed took %lld ms\n", (long long)took);
    CHECK(took < 10000);
    CHECK_INT(sk_fx_reader_wait(commands, "stuck-user", 1, 0), 0);
    /* Kafka heals: the outputs left staged are produced by the next start */
    rd_kafka_mock_clear_request_errors(kafka.mcluster, PRODUCE_API);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, rules_dir, "sk-poison"), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "stuck-user", 2, 20000), 2);
}

TEST(h_sigterm_with_the_broker_down_takes_under_10s)
{
    sk_schedule_event_t s = shift(SK_SHIFT_STARTED, "down-1", "down-user", "dn1");
    CHECK_INT(sk_fx_produce_event(&kafka, &s), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "down-user", 2, 20000), 2);
    /* the only broker stops answering: no produce, no commit, no group */
    rd_kafka_mock_broker_set_down(kafka.mcluster, 1);
    sleep_ms(1000);
    sk_ms_t t0 = sk_now_ms();
    sk_fx_engine_stop(&eng);
    sk_ms_t took = sk_now_ms() - t0;
    fprintf(stderr, "  stop with the broker down took %lld ms\n", (long long)took);
    CHECK(took < 10000);
    rd_kafka_mock_broker_set_up(kafka.mcluster, 1);
}

TEST(z_teardown)
{
    char cmd[512];
    sk_fx_reader_destroy(commands);
    sk_fx_reader_destroy(dead);
    sk_fx_reader_destroy(audit);
    sk_fx_engine_stop(&eng);
    sk_fx_kafka_stop(&kafka);
    sk_fx_redis_stop(&redis);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", rules_dir, redis.dir);
    CHECK_INT(system(cmd), 0);
}

SK_TEST_MAIN(SK_TEST_CASE(a_setup),
             SK_TEST_CASE(b_oversized_input_is_dead_lettered_bounded_and_later_commands_pass),
             SK_TEST_CASE(c_output_refused_by_the_broker_is_replaced_by_a_notice),
             SK_TEST_CASE(d_output_refused_by_the_producer_does_not_block),
             SK_TEST_CASE(e_rules_reload_is_an_engine_audit_record),
             SK_TEST_CASE(f_applied_offset_beyond_the_topic_end_stops_the_partition),
             SK_TEST_CASE(g_sigterm_with_outputs_kafka_never_confirms_takes_under_10s),
             SK_TEST_CASE(h_sigterm_with_the_broker_down_takes_under_10s), SK_TEST_CASE(z_teardown))
