/*
 * test_signed.c — signed actions through the engine over real parts (mock
 * cluster over TCP, a real redis-server), rules tests/rules/requests with
 * the signers of its signers.yaml (deterministic test keys, sk_sign_fx.h):
 *
 *   - a forged approval (unsigned; signed by another key under the
 *     reviewer's id; signed by the requester for the reviewer) is a dead
 *     letter, audited refused_* with the claimed actor and the signer, and
 *     the request stays open: the real reviewer's signed approval then moves
 *     it on;
 *   - a front approving for someone outside its vouches_for is refused, for
 *     someone inside it is accepted;
 *   - a replayed signed approval (the same bytes again) is refused;
 *   - an old signed CREATED + APPROVED pair (outside the window) is refused;
 *   - self-approval is still refused when correctly signed;
 *   - a record on another partition than its key's is a dead letter and the
 *     user's state stays single (no Redis key on the wrong partition);
 *   - a forged provisioning result (DEPROVISIONED, unsigned) is refused.
 */
#include <string.h>
#include <time.h>

#include "base/keyhash.h"
#include "sk_fixture.h"
#include "sk_sign_fx.h"
#include "sk_test.h"

#define RULES "tests/rules/requests"
#define PARTS 4
#define HOUR  3600000LL
#define T_REQ "shiftkey.requests.v1"

static sk_fx_redis_t redis;
static sk_fx_kafka_t kafka;
static sk_fx_engine_t eng;
static sk_fx_reader_t *commands, *tasks, *deadletters, *audit;
static sk_signing_key_t k_ann, k_bob, k_carl, k_slack, k_root;

static sk_request_event_t req(sk_request_event_type_t type, const char *event_id, const char *id,
                              const char *actor, const char *subject, const char *target)
{
    return (sk_request_event_t){.event_id = event_id,
                                .type = type,
                                .request_id = id,
                                .actor = actor,
                                .subject = subject,
                                .target_kind = SK_TARGET_ENTITLEMENT,
                                .target = target,
                                .duration_ms = type == SK_REQ_CREATED ? HOUR : SK_MS_NONE,
                                .justification = "",
                                .comment = "",
                                .source = "test",
                                .occurred_at_ms = sk_now_ms()};
}

/* Encodes ev; *buf in arena a. */
static size_t encode(const sk_request_event_t *ev, sk_arena_t *a, void **buf)
{
    sk_codec_t *codec = sk_codec_new();
    size_t len = 0;
    CHECK_INT(sk_codec_encode_request(codec, ev, a, buf, &len), 0);
    sk_codec_destroy(codec);
    return len;
}

/* Produces ev signed by k (NULL: unsigned) at issued_at (0: now). */
static int send_as(const sk_request_event_t *ev, const sk_signing_key_t *k, sk_ms_t issued_at)
{
    sk_arena_t a;
    void *buf;
    sk_arena_init(&a, 4096);
    size_t len = encode(ev, &a, &buf);
    int rc = sk_fx_produce_signed(&kafka, T_REQ, ev->subject, buf, len, k,
                                  issued_at ? issued_at : sk_now_ms(), RD_KAFKA_PARTITION_UA);
    sk_arena_fini(&a);
    return rc;
}

static bool wait_records(sk_fx_reader_t *r, const char *user, const char *a, const char *b,
                         int timeout_ms)
{
    sk_ms_t deadline = sk_now_ms() + timeout_ms;
    do {
        const sk_fx_record_t *x[256];
        size_t n = sk_fx_reader_get(r, user, x, 256);
        for (size_t i = 0; i < n; i++)
            if (sk_fx_record_contains(x[i], a) && (!b || sk_fx_record_contains(x[i], b)))
                return true;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    } while (sk_now_ms() < deadline);
    return false;
}

/* A dead letter of user whose reason contains both texts. */
static bool dead_letter(const char *user, const char *a, const char *b)
{
    return wait_records(deadletters, user, a, b, 15000);
}

static bool audited(const char *user, const char *a, const char *b)
{
    return wait_records(audit, user, a, b, 15000);
}

static size_t commands_of(const char *subject, const char *request_id)
{
    const sk_fx_record_t *r[64];
    size_t n = sk_fx_reader_get(commands, subject, r, 64), k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < r[i]->cmd.n_sources; j++)
            if (strcmp(r[i]->cmd.sources[j].id, request_id) == 0) {
                k++;
                break;
            }
    return k;
}

/* commands_of, after waiting up to 15 s for at least n of them. */
static size_t wait_commands_of(const char *subject, const char *request_id, size_t n)
{
    sk_ms_t deadline = sk_now_ms() + 15000;
    while (commands_of(subject, request_id) < n && sk_now_ms() < deadline)
        sk_fx_reader_wait(commands, subject, 1000, 50);
    return commands_of(subject, request_id);
}

TEST(a_setup)
{
    CHECK_INT(sk_fx_redis_start(&redis), 0);
    CHECK_INT(sk_fx_kafka_start(&kafka, PARTS), 0);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, RULES, "sk-signed"), 0);
    commands = sk_fx_reader_new(kafka.bootstraps, "shiftkey.commands.v1", PARTS);
    tasks = sk_fx_reader_new(kafka.bootstraps, "shiftkey.tasks.v1", PARTS);
    deadletters = sk_fx_reader_new(kafka.bootstraps, "shiftkey.deadletter.v1", PARTS);
    audit = sk_fx_reader_new(kafka.bootstraps, "shiftkey.audit.v1", PARTS);
    sk_fx_test_key("ann", &k_ann);
    sk_fx_test_key("bob", &k_bob);
    sk_fx_test_key("carl", &k_carl);
    sk_fx_test_key("fx-slack", &k_slack);
    sk_fx_test_key("root", &k_root);
}

TEST(forged_approvals_are_refused_audited_and_the_request_stays_open)
{
    sk_signing_key_t forged;
    unsigned char seed[SK_KEY_SEED_LEN];
    memset(seed, 0x42, sizeof(seed));
    CHECK_INT(sk_keyfile_generate("ann", seed, &forged), 0); /* "ann", not ann's key */

    sk_request_event_t c = req(SK_REQ_CREATED, "fg-1", "r-forge", "bob", "bob", "app/write");
    CHECK_INT(send_as(&c, &k_bob, 0), 0);
    CHECK(audited("bob", "fg-1", "pending"));
    /* unsigned, with the right actor name */
    sk_request_event_t a1 = req(SK_REQ_APPROVED, "fg-2", "r-forge", "ann", "bob", "app/write");
    CHECK_INT(send_as(&a1, NULL, 0), 0);
    CHECK(dead_letter("bob", "identity refused (unsigned)", "claimed actor 'ann'"));
    CHECK(audited("bob", "refused_unsigned", "fg-2"));
    /* signed under ann's id with another key */
    sk_request_event_t a2 = req(SK_REQ_APPROVED, "fg-3", "r-forge", "ann", "bob", "app/write");
    CHECK_INT(send_as(&a2, &forged, 0), 0);
    CHECK(dead_letter("bob", "identity refused (bad_signature)", "signer 'ann'"));
    CHECK(audited("bob", "refused_bad_signature", "fg-3"));
    /* the requester's own valid key, acting as ann */
    sk_request_event_t a3 = req(SK_REQ_APPROVED, "fg-4", "r-forge", "ann", "bob", "app/write");
    CHECK_INT(send_as(&a3, &k_bob, 0), 0);
    CHECK(dead_letter("bob", "identity refused (signer_not_allowed)", "signer 'bob'"));
    CHECK(audited("bob", "refused_signer_not_allowed", "claimed actor 'ann'"));
    /* an unknown signer */
    sk_signing_key_t mallory;
    sk_fx_test_key("mallory", &mallory);
    sk_request_event_t a4 = req(SK_REQ_APPROVED, "fg-5", "r-forge", "ann", "bob", "app/write");
    CHECK_INT(send_as(&a4, &mallory, 0), 0);
    CHECK(dead_letter("bob", "identity refused (unknown_signer)", "'mallory'"));
    /* nothing was granted, the request still waits at step 1: ann's own
     * signed approval moves it to step 2 */
    CHECK_INT(commands_of("bob", "r-forge"), 0);
    CHECK(!wait_records(audit, "bob", "r-forge", "at step 2", 10));
    sk_request_event_t ok = req(SK_REQ_APPROVED, "fg-6", "r-forge", "ann", "bob", "app/write");
    CHECK_INT(send_as(&ok, &k_ann, 0), 0);
    CHECK(audited("bob", "fg-6", "at step 2"));
    CHECK_INT(commands_of("bob", "r-forge"), 0);
}

TEST(a_front_may_vouch_only_for_its_set)
{
    /* step 2 of r-forge: the owners (ann, carl, dana); root is an admin but
     * not in fx-slack's set [ann, group:eng]: skip-step refused */
    sk_request_event_t skip =
        req(SK_REQ_STEP_SKIPPED, "fr-1", "r-forge", "root", "bob", "app/write");
    CHECK_INT(send_as(&skip, &k_slack, 0), 0);
    CHECK(dead_letter("bob", "identity refused (signer_not_allowed)", "signer 'fx-slack'"));
    CHECK_INT(commands_of("bob", "r-forge"), 0);
    /* carl is in eng: fx-slack may vouch for him, his approval grants */
    sk_request_event_t a = req(SK_REQ_APPROVED, "fr-2", "r-forge", "carl", "bob", "app/write");
    CHECK_INT(send_as(&a, &k_slack, 0), 0);
    CHECK(audited("bob", "fr-2", "granted"));
    CHECK_INT(wait_commands_of("bob", "r-forge", 1), 1);
}

TEST(a_replayed_signed_approval_is_refused)
{
    /* pair: two approvals of owners; ann's approval sent twice must not count twice */
    sk_request_event_t c = req(SK_REQ_CREATED, "rp-1", "r-replay", "bob", "bob", "app/pair");
    CHECK_INT(send_as(&c, &k_bob, 0), 0);
    CHECK(audited("bob", "rp-1", "pending"));
    sk_request_event_t a = req(SK_REQ_APPROVED, "rp-2", "r-replay", "ann", "bob", "app/pair");
    sk_ms_t at = sk_now_ms();
    CHECK_INT(send_as(&a, &k_ann, at), 0);
    CHECK(audited("bob", "rp-2", "pending"));
    CHECK_INT(send_as(&a, &k_ann, at), 0); /* the same bytes, the same signature */
    CHECK(dead_letter("bob", "identity refused (replayed)", "'rp-2'"));
    CHECK(audited("bob", "refused_replayed", "rp-2"));
    CHECK_INT(commands_of("bob", "r-replay"), 0);
}

TEST(an_old_signed_pair_outside_the_window_is_refused)
{
    const sk_ms_t old = sk_now_ms() - 2 * HOUR;
    sk_request_event_t c = req(SK_REQ_CREATED, "ow-1", "r-old", "carl", "carl", "app/write");
    c.occurred_at_ms = old;
    sk_request_event_t a = req(SK_REQ_APPROVED, "ow-2", "r-old", "ann", "carl", "app/write");
    a.occurred_at_ms = old;
    CHECK_INT(send_as(&c, &k_carl, old), 0);
    CHECK_INT(send_as(&a, &k_ann, old), 0);
    CHECK(dead_letter("carl", "identity refused (out_of_window)", "ow-1") ||
          dead_letter("carl", "identity refused (out_of_window)", "'carl'"));
    CHECK(audited("carl", "refused_out_of_window", "ow-2"));
    CHECK_INT(commands_of("carl", "r-old"), 0);
    /* signed now but claiming an old occurred_at: refused as well */
    sk_request_event_t c2 = req(SK_REQ_CREATED, "ow-3", "r-old2", "carl", "carl", "app/write");
    c2.occurred_at_ms = old;
    CHECK_INT(send_as(&c2, &k_carl, 0), 0);
    CHECK(audited("carl", "refused_out_of_window", "ow-3"));
}

TEST(self_approval_is_still_refused_when_correctly_signed)
{
    sk_request_event_t c = req(SK_REQ_CREATED, "ss-1", "r-self", "bob", "bob", "peer/review");
    CHECK_INT(send_as(&c, &k_bob, 0), 0);
    CHECK(audited("bob", "ss-1", "pending"));
    sk_request_event_t self = req(SK_REQ_APPROVED, "ss-2", "r-self", "bob", "bob", "peer/review");
    CHECK_INT(send_as(&self, &k_bob, 0), 0);
    CHECK(audited("bob", "ss-2", "may not review their own request"));
    CHECK_INT(commands_of("bob", "r-self"), 0);
}

TEST(a_record_on_the_wrong_partition_is_a_dead_letter_and_state_stays_single)
{
    const char *user = "carl";
    int32_t right = sk_keyhash_partition(user, strlen(user), PARTS);
    int32_t wrong = (right + 1) % PARTS;
    sk_request_event_t c = req(SK_REQ_CREATED, "wp-1", "r-part", user, user, "app/read");
    sk_arena_t a;
    void *buf;
    sk_arena_init(&a, 4096);
    size_t len = encode(&c, &a, &buf);
    CHECK_INT(sk_fx_produce_signed(&kafka, T_REQ, user, buf, len, &k_carl, sk_now_ms(), wrong), 0);
    CHECK(dead_letter(user, "maps to partition", "murmur2"));
    CHECK_INT(commands_of(user, "r-part"), 0);
    /* the same request on the right partition is decided once */
    c.event_id = "wp-2";
    len = encode(&c, &a, &buf);
    CHECK_INT(sk_fx_produce_signed(&kafka, T_REQ, user, buf, len, &k_carl, sk_now_ms(), right), 0);
    CHECK(audited(user, "wp-2", "granted"));
    CHECK_INT(wait_commands_of(user, "r-part", 1), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users %s", (int)wrong, user), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users %s", (int)right, user), 1);
    /* a shift event on the wrong partition too (schedule topic) */
    sk_schedule_event_t ev = {.event_id = "wp-s1",
                              .type = SK_SHIFT_STARTED,
                              .source = "test",
                              .rotation = "primary",
                              .user = "dana",
                              .shift_id = "wp-shift",
                              .start_ms = sk_now_ms() - 1000,
                              .end_ms = sk_now_ms() + HOUR,
                              .escalation_level = 1,
                              .occurred_at_ms = sk_now_ms()};
    sk_codec_t *codec = sk_codec_new();
    CHECK_INT(sk_codec_encode_schedule(codec, &ev, &a, &buf, &len), 0);
    int32_t dr = sk_keyhash_partition("dana", 4, PARTS);
    CHECK_INT(sk_fx_produce_signed(&kafka, "shiftkey.schedule.v1", "dana", buf, len, NULL,
                                   sk_now_ms(), (dr + 1) % PARTS),
              0);
    CHECK(dead_letter("dana", "maps to partition", NULL));
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p%d}:users dana", (int)((dr + 1) % PARTS)), 0);
    sk_codec_destroy(codec);
    sk_arena_fini(&a);
}

TEST(a_forged_provisioning_result_is_refused)
{
    sk_provisioning_result_t r = {.command_id = "0123456789abcdef0123456789abcdef",
                                  .result = SK_PROV_DEPROVISIONED,
                                  .provisioner = "pat",
                                  .user = "hal",
                                  .message = "",
                                  .at_ms = sk_now_ms()};
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    void *buf;
    size_t len;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_codec_encode_provisioning_result(codec, &r, &a, &buf, &len), 0);
    CHECK_INT(sk_fx_produce_signed(&kafka, "shiftkey.provisioning.results.v1", "hal", buf, len,
                                   NULL, sk_now_ms(), RD_KAFKA_PARTITION_UA),
              0);
    CHECK(dead_letter("hal", "identity refused (unsigned)", "claimed actor 'pat'"));
    /* signed by a person who is not the provisioner */
    CHECK_INT(sk_fx_produce_signed(&kafka, "shiftkey.provisioning.results.v1", "hal", buf, len,
                                   &k_ann, sk_now_ms(), RD_KAFKA_PARTITION_UA),
              0);
    CHECK(dead_letter("hal", "identity refused (signer_not_allowed)", "signer 'ann'"));
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
}

TEST(z_teardown)
{
    sk_fx_reader_destroy(commands);
    sk_fx_reader_destroy(tasks);
    sk_fx_reader_destroy(deadletters);
    sk_fx_reader_destroy(audit);
    sk_fx_engine_stop(&eng);
    sk_fx_kafka_stop(&kafka);
    sk_fx_redis_stop(&redis);
    CHECK(1);
}

SK_TEST_MAIN(SK_TEST_CASE(a_setup),
             SK_TEST_CASE(forged_approvals_are_refused_audited_and_the_request_stays_open),
             SK_TEST_CASE(a_front_may_vouch_only_for_its_set),
             SK_TEST_CASE(a_replayed_signed_approval_is_refused),
             SK_TEST_CASE(an_old_signed_pair_outside_the_window_is_refused),
             SK_TEST_CASE(self_approval_is_still_refused_when_correctly_signed),
             SK_TEST_CASE(a_record_on_the_wrong_partition_is_a_dead_letter_and_state_stays_single),
             SK_TEST_CASE(a_forged_provisioning_result_is_refused), SK_TEST_CASE(z_teardown))
