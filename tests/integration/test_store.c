/*
 * test_store.c — the Redis layer against a real redis-server: the atomic
 * apply (state, timer, offset, outbox), duplicate offsets, owner-epoch
 * fencing, outbox read and trim, script cache loss and a Redis restart.
 */
#include <string.h>

#include "sk_fixture.h"
#include "sk_test.h"
#include "pipeline/store.h"

static sk_fx_redis_t redis;

static sk_store_t *connect_store(void)
{
    sk_store_config_t cfg = {.host = "127.0.0.1", .port = redis.port};
    sk_store_t *s = sk_store_new(&cfg);
    if (s && sk_store_connect(s) != 0) {
        fprintf(stderr, "  connect: %s\n", sk_store_last_error(s));
        sk_store_destroy(s);
        return NULL;
    }
    return s;
}

/* One apply of a state diff setting `field` = `value` for user "ana". */
static int apply_one(sk_store_t *s, int64_t epoch, int64_t offset, const char *field,
                     const char *value, const char *out, bool *applied)
{
    sk_state_field_t set = {field, strlen(field), value, strlen(value)};
    sk_state_diff_t diff = {.n_set = 1, .set = &set};
    sk_outbox_entry_t e = {SK_OUT_COMMANDS, "ana", 3, out, strlen(out)};
    sk_apply_op_t op = {.partition = 3, .epoch = epoch, .topic = "in", .offset = offset,
                        .user = "ana", .diff = &diff, .next_wake_ms = 1234,
                        .keep_until_ms = sk_now_ms() + 60000, .n_out = 1, .out = &e};
    return sk_store_apply(s, &op, applied);
}

TEST(a_setup)
{
    CHECK_INT(sk_fx_redis_start(&redis), 0);
}

TEST(apply_writes_state_timer_offset_and_outbox_atomically)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0, off = -2;
    bool applied = false;
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_INT(sk_store_claim(s, 3, &epoch), 0);
    CHECK(epoch >= 1);
    CHECK_INT(apply_one(s, epoch, 10, "g:x S 1", "100 r", "cmd-1", &applied), 0);
    CHECK(applied);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p3}:u:ana"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "ZSCORE sk:{p3}:timers ana"), 1234);
    CHECK(sk_fx_redis_int(&redis, "PTTL sk:{p3}:u:ana") > 0);
    CHECK_INT(sk_store_applied_offset(s, 3, "in", &off), 0);
    CHECK_INT(off, 10);
    CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p3}:outbox"), 1);

    /* the same offset again changes nothing and stages nothing */
    CHECK_INT(apply_one(s, epoch, 10, "g:y S 2", "200 r", "cmd-dup", &applied), 0);
    CHECK(!applied);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p3}:u:ana"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p3}:outbox"), 1);

    /* the state reads back through sk_store_load_user */
    sk_arena_t a;
    sk_user_state_t st;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_store_load_user(s, 3, "ana", &a, &st), 0);
    CHECK_INT(st.n_sources, 1);
    if (st.n_sources == 1) {
        CHECK_STR(st.sources[0].ent_key, "x");
        CHECK_INT(st.sources[0].expires_ms, 100);
    }
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

TEST(a_state_waiting_for_people_never_expires)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0;
    bool applied = false;
    if (!s)
        return;
    CHECK_INT(sk_store_claim(s, 7, &epoch), 0);
    sk_state_field_t f = {"g:x S 1", 7, "100 r", 5};
    sk_state_diff_t diff = {.n_set = 1, .set = &f};
    sk_apply_op_t op = {.partition = 7, .epoch = epoch, .topic = "in", .offset = 1,
                        .user = "cy", .diff = &diff, .next_wake_ms = 1234,
                        .keep_until_ms = sk_now_ms() + 60000};
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(sk_fx_redis_int(&redis, "PTTL sk:{p7}:u:cy") > 0);
    /* keep_until SK_MS_NONE (a review waits for people): the TTL goes */
    op.offset = 2;
    op.keep_until_ms = SK_MS_NONE;
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(applied);
    CHECK_INT(sk_fx_redis_int(&redis, "PTTL sk:{p7}:u:cy"), -1);
    sk_store_destroy(s);
}

TEST(outbox_reads_in_order_and_trims_exactly_what_was_sent)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0;
    bool applied;
    sk_arena_t a;
    sk_outbox_entry_t *out = NULL;
    size_t n = 0;
    if (!s)
        return;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_store_claim(s, 3, &epoch), 0);
    CHECK_INT(apply_one(s, epoch, 11, "g:y S 2", "200 r", "cmd-2", &applied), 0);
    CHECK_INT(sk_store_outbox_read(s, 3, 100, &a, &out, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_INT(out[0].value_len, 5);
        CHECK(memcmp(out[0].value, "cmd-1", 5) == 0);
        CHECK(memcmp(out[1].value, "cmd-2", 5) == 0);
        CHECK_INT(out[1].key_len, 3);
        CHECK(memcmp(out[1].key, "ana", 3) == 0);
        CHECK_INT(out[1].topic, SK_OUT_COMMANDS);
    }
    CHECK_INT(sk_store_outbox_trim(s, 3, epoch, 1), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p3}:outbox"), 1);
    CHECK_INT(sk_store_outbox_trim(s, 3, epoch, 1), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p3}:outbox"), 0);
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

TEST(a_former_owner_is_fenced)
{
    sk_store_t *old_owner = connect_store(), *new_owner = connect_store();
    int64_t e_old = 0, e_new = 0;
    bool applied = false;
    if (!old_owner || !new_owner)
        return;
    CHECK_INT(sk_store_claim(old_owner, 5, &e_old), 0);
    CHECK_INT(sk_store_claim(new_owner, 5, &e_new), 0);
    CHECK(e_new > e_old);
    sk_state_field_t set = {"g:z S 1", 7, "1 r", 3};
    sk_state_diff_t diff = {.n_set = 1, .set = &set};
    sk_apply_op_t op = {.partition = 5, .epoch = e_old, .topic = "in", .offset = 1,
                        .user = "bo", .diff = &diff, .next_wake_ms = SK_MS_NONE,
                        .keep_until_ms = sk_now_ms() + 60000};
    CHECK_INT(sk_store_apply(old_owner, &op, &applied), SK_EFENCED);
    CHECK_INT(sk_fx_redis_int(&redis, "EXISTS sk:{p5}:u:bo"), 0);
    CHECK_INT(sk_store_outbox_trim(old_owner, 5, e_old, 1), SK_EFENCED);
    op.epoch = e_new;
    CHECK_INT(sk_store_apply(new_owner, &op, &applied), 0);
    CHECK(applied);
    sk_store_destroy(old_owner);
    sk_store_destroy(new_owner);
}

TEST(lost_script_cache_is_reloaded)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0;
    bool applied = false;
    if (!s)
        return;
    CHECK_INT(sk_store_claim(s, 6, &epoch), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "SCRIPT FLUSH"), -1); /* status reply */
    CHECK_INT(sk_fx_redis_int(&redis, "SCRIPT EXISTS 0"), 1);
    sk_state_diff_t diff = {0};
    sk_apply_op_t op = {.partition = 6, .epoch = epoch, .topic = "in", .offset = 1,
                        .user = "cy", .diff = &diff, .next_wake_ms = SK_MS_NONE,
                        .keep_until_ms = sk_now_ms() + 60000};
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(applied);
    sk_store_destroy(s);
}

TEST(redis_restart_is_an_io_error_then_reconnects)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0;
    if (!s)
        return;
    int port = redis.port;
    sk_fx_redis_stop(&redis);
    CHECK_INT(sk_store_claim(s, 7, &epoch), SK_EIO);
    CHECK(!sk_store_connected(s));
    CHECK(strlen(sk_store_last_error(s)) > 0);
    CHECK_INT(sk_store_connect(s), SK_EIO);
    redis.port = port; /* same port again */
    CHECK_INT(sk_fx_redis_start_on(&redis, port), 0);
    CHECK_INT(sk_store_connect(s), 0);
    CHECK_INT(sk_store_claim(s, 7, &epoch), 0);
    sk_store_destroy(s);
}

TEST(z_teardown)
{
    sk_fx_redis_stop(&redis);
    CHECK(1);
}

SK_TEST_MAIN(SK_TEST_CASE(a_setup),
             SK_TEST_CASE(apply_writes_state_timer_offset_and_outbox_atomically),
             SK_TEST_CASE(outbox_reads_in_order_and_trims_exactly_what_was_sent),
             SK_TEST_CASE(a_state_waiting_for_people_never_expires),
             SK_TEST_CASE(a_former_owner_is_fenced), SK_TEST_CASE(lost_script_cache_is_reloaded),
             SK_TEST_CASE(redis_restart_is_an_io_error_then_reconnects), SK_TEST_CASE(z_teardown))
