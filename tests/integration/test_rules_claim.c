/*
 * test_rules_claim.c — rules that changed while no engine ran, or that an
 * instance joining the group runs, take access back when the partition is
 * claimed, with no new input event (issue: fail-open edges, 1). Over real
 * parts: a redis-server, the mock Kafka cluster over TCP, engines in
 * threads.
 *
 *  1. engine A grants under rules 1 and stops; rules 2 drop an entitlement
 *     of the enrollment; engine B starts on rules 2 and claims the
 *     partition: the REVOKE of that entitlement comes, the other stays, and
 *     the partition records the rules version it was swept with;
 *  2. engine C joins the group with rules 3 (the rotation gone) while B
 *     runs; B leaves, C is given the partition by the rebalance: the REVOKE
 *     of the entitlement left comes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sk_fixture.h"
#include "sk_test.h"

#define PARTS 2

static sk_fx_redis_t redis;
static sk_fx_kafka_t kafka;
static sk_fx_engine_t eng_a, eng_b, eng_c;
static sk_fx_reader_t *commands;
static char dir1[128], dir3[128];

#define RULES(ENTS, PROFILE_ENTS, ROTATIONS)                                                       \
    "apps:\n  - id: rc\n    entitlements:\n" ENTS ROTATIONS "profiles:\n"                          \
    "  - id: p-rc\n    entitlements: [" PROFILE_ENTS "]\n"
#define ENROLL                                                                                     \
    "rotations:\n  - id: rcrot\nenrollments:\n  - id: e-rc\n    rotations: [rcrot]\n    profiles: [p-rc]\n"
#define ENT_GONE "      - id: gone\n        max_duration: 8h\n"
#define ENT_KEPT "      - id: kept\n        max_duration: 8h\n"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int write_rules(const char *dir, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/rules.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

/* The command of user for ent with this action, waiting up to timeout_ms. */
static const sk_fx_record_t *wait_command(const char *user, sk_command_action_t action,
                                          const char *ent, int timeout_ms)
{
    return sk_fx_reader_wait_command(commands, user, action, ent, timeout_ms);
}

static int partition_of(const char *user)
{
    for (int p = 0; p < PARTS; p++)
        if (sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users %s", p, user) == 1)
            return p;
    return -1;
}

TEST(a_setup)
{
    snprintf(dir1, sizeof(dir1), "/tmp/sk-rclaim-1-%d", (int)getpid());
    snprintf(dir3, sizeof(dir3), "/tmp/sk-rclaim-3-%d", (int)getpid());
    mkdir(dir1, 0700);
    mkdir(dir3, 0700);
    CHECK_INT(write_rules(dir1, RULES(ENT_GONE ENT_KEPT, "rc/gone, rc/kept", ENROLL)), 0);
    CHECK_INT(sk_fx_redis_start(&redis), 0);
    CHECK_INT(sk_fx_kafka_start(&kafka, PARTS), 0);
    commands = sk_fx_reader_new(kafka.bootstraps, "shiftkey.commands.v1", PARTS);
    CHECK(commands != NULL);
}

TEST(b_rules_changed_while_down_revoke_at_the_claim)
{
    CHECK_INT(sk_fx_engine_start(&eng_a, kafka.bootstraps, redis.port, dir1, "sk-rclaim"), 0);
    sk_ms_t now = sk_now_ms();
    sk_schedule_event_t ev = {"rc1", SK_SHIFT_STARTED, "test", "rcrot", "rc-user", "rc1",
                              now,   now + 3600000,    1,      now};
    CHECK_INT(sk_fx_produce_event(&kafka, &ev), 0);
    CHECK(wait_command("rc-user", SK_CMD_GRANT, "gone", 20000) != NULL);
    CHECK(wait_command("rc-user", SK_CMD_GRANT, "kept", 5000) != NULL);
    int p = partition_of("rc-user");
    CHECK(p >= 0);
    sleep_ms(300); /* the outbox trimmed */
    sk_fx_engine_stop(&eng_a);

    /* rules 2, written while no engine runs: the profile loses "gone" */
    CHECK_INT(write_rules(dir1, RULES(ENT_GONE ENT_KEPT, "rc/kept", ENROLL)), 0);
    sk_ms_t t0 = sk_now_ms();
    CHECK_INT(sk_fx_engine_start(&eng_b, kafka.bootstraps, redis.port, dir1, "sk-rclaim"), 0);
    const sk_fx_record_t *r = wait_command("rc-user", SK_CMD_REVOKE, "gone", 30000);
    CHECK(r != NULL);
    if (r)
        fprintf(stderr, "  REVOKE after the claim under new rules: %lld ms after start\n",
                (long long)(r->seen_ms - t0));
    CHECK(wait_command("rc-user", SK_CMD_REVOKE, "kept", 500) == NULL);
    /* the partition records the rules it was swept with */
    if (p >= 0)
        CHECK_INT(sk_fx_redis_int(&redis, "STRLEN sk:{p%d}:rules", p), 32);
}

TEST(c_rebalance_to_an_instance_with_newer_rules_revokes)
{
    /* rules 3 (instance C only): the rotation, and with it the enrollment, gone */
    CHECK_INT(write_rules(dir3, RULES(ENT_GONE ENT_KEPT, "rc/kept", "")), 0);
    CHECK_INT(sk_fx_engine_start(&eng_c, kafka.bootstraps, redis.port, dir3, "sk-rclaim"), 0);
    sleep_ms(3000); /* C joins the group */
    /* B leaves: the rebalance gives C every partition */
    sk_fx_engine_stop(&eng_b);
    const sk_fx_record_t *r = wait_command("rc-user", SK_CMD_REVOKE, "kept", 30000);
    CHECK(r != NULL);
}

TEST(z_teardown)
{
    char cmd[1024];
    sk_fx_reader_destroy(commands);
    sk_fx_engine_stop(&eng_c);
    sk_fx_kafka_stop(&kafka);
    sk_fx_redis_stop(&redis);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s'", dir1, dir3, redis.dir);
    CHECK_INT(system(cmd), 0);
}

SK_TEST_MAIN(SK_TEST_CASE(a_setup), SK_TEST_CASE(b_rules_changed_while_down_revoke_at_the_claim),
             SK_TEST_CASE(c_rebalance_to_an_instance_with_newer_rules_revokes),
             SK_TEST_CASE(z_teardown))
