/*
 * test_store.c — the Redis layer against a real redis-server: the atomic
 * apply (the user's packed value, timer, offset, outbox; each kind written
 * once per batch), the old layout refused as lost, duplicate offsets, owner-epoch
 * fencing and a lost epoch told apart, outbox read and trim, script cache
 * loss (reloaded once, and a bounded retry against a fake server that never
 * keeps a script) and a Redis restart.
 */
#include <arpa/inet.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sk_fixture.h"
#include "sk_test.h"
#include "pipeline/load.h"
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

static sk_arena_t pack_arena; /* the packed values the tests write */

/* A user's state of one field, packed (codec/state_pack.h), as a write. */
static void set_value(sk_store_writes_t *w, const char *field, const char *value, sk_ms_t keep)
{
    sk_store_field_t f = {field, strlen(field), value, strlen(value)};
    void *b = NULL;
    size_t len = 0;
    CHECK_INT(sk_state_pack(&pack_arena, &f, 1, keep, &b, &len), 0);
    w->value_op = SK_STORE_VALUE_SET;
    w->value = b;
    w->value_len = len;
}

/* The value of `field` in the user's packed value in Redis (a static copy;
 * "" when the field is absent, "(none)" without a key, "(damaged)"). */
static const char *read_field(sk_store_t *s, int32_t p, const char *user, const char *field)
{
    static char buf[256];
    sk_arena_t a;
    sk_store_value_t v = {0};
    sk_packed_field_t *f = NULL;
    size_t n = 0;
    sk_arena_init(&a, 4096);
    snprintf(buf, sizeof(buf), "(none)");
    if (sk_store_read_users(s, 1, &p, &user, &a, &v) == 0 && v.len) {
        snprintf(buf, sizeof(buf), "(damaged)");
        if (sk_state_unpack(&a, v.bytes, v.len, &f, &n, NULL) == 0) {
            buf[0] = '\0';
            for (size_t i = 0; i < n; i++)
                if (strcmp(f[i].name, field) == 0)
                    snprintf(buf, sizeof(buf), "%s", f[i].value);
        }
    }
    sk_arena_fini(&a);
    return buf;
}

/* How many times the server ran `cmd` (INFO commandstats), or -1. */
static long long calls_of(const char *cmd)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis.port, tv);
    char key[64];
    long long v = 0;
    redisReply *r = c && !c->err ? redisCommand(c, "INFO commandstats") : NULL;
    snprintf(key, sizeof(key), "cmdstat_%s:calls=", cmd);
    const char *p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, key) : NULL;
    if (!r || r->type != REDIS_REPLY_STRING)
        v = -1;
    else if (p)
        v = strtoll(p + strlen(key), NULL, 10);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return v;
}

/* One apply setting the state of user "ana" to one field `field` = `value`. */
static int apply_one(sk_store_t *s, int64_t epoch, int64_t offset, const char *field,
                     const char *value, const char *out, bool *applied)
{
    sk_outbox_entry_t e = {SK_OUT_COMMANDS, "ana", 3, out, strlen(out)};
    sk_store_writes_t w = {.partition = 3,
                           .epoch = epoch,
                           .topic = "in",
                           .offset = offset,
                           .user = "ana",
                           .next_wake_ms = 1234,
                           .n_out = 1,
                           .out = &e};
    set_value(&w, field, value, sk_now_ms() + 60000);
    return sk_store_apply(s, &w, applied);
}

TEST(a_setup)
{
    CHECK_INT(sk_fx_redis_start(&redis), 0);
    sk_arena_init(&pack_arena, 4096);
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
    CHECK_STR(read_field(s, 3, "ana", "g:x S 1"), "100 r");
    CHECK_INT(sk_fx_redis_int(&redis, "ZSCORE sk:{p3}:timers ana"), 1234);
    /* one field of the partition's users hash, no TTL: the keep-until sweep drops it */
    CHECK_INT(sk_fx_redis_int(&redis, "PTTL sk:{p3}:users"), -1);
    CHECK_INT(sk_store_applied_offset(s, 3, "in", &off), 0);
    CHECK_INT(off, 10);
    CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p3}:outbox"), 1);

    /* the same offset again changes nothing and stages nothing */
    CHECK_INT(apply_one(s, epoch, 10, "g:y S 2", "200 r", "cmd-dup", &applied), 0);
    CHECK(!applied);
    CHECK_STR(read_field(s, 3, "ana", "g:x S 1"), "100 r");
    CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p3}:outbox"), 1);

    /* the state reads back through sk_load_user */
    sk_arena_t a;
    sk_user_state_t st;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_load_user(s, 3, "ana", &a, &st), 0);
    CHECK_INT(st.n_sources, 1);
    if (st.n_sources == 1) {
        CHECK_STR(st.sources[0].ent_key, "x");
        CHECK_INT(st.sources[0].expires_ms, 100);
    }
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

/* EVALSHA calls the server has run (INFO commandstats), or -1. */
static long long evalsha_calls(void)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis.port, tv);
    long long v = -1;
    redisReply *r = c && !c->err ? redisCommand(c, "INFO commandstats") : NULL;
    const char *p =
        r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "cmdstat_evalsha:calls=") : NULL;
    if (p)
        v = strtoll(p + strlen("cmdstat_evalsha:calls="), NULL, 10);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return v;
}

/* A batch of two partitions' inputs: one script call per partition, in
 * order, a replayed offset in the middle skipped, the offsets and outputs
 * written once and in order, and the other partition's fence apart. */
TEST(a_batch_is_one_script_call_per_partition_in_order)
{
    sk_store_t *s = connect_store();
    int64_t e5 = 0, e6 = 0;
    if (!s)
        return;
    CHECK_INT(sk_store_claim(s, 11, &e5), 0);
    CHECK_INT(sk_store_claim(s, 12, &e6), 0);
    sk_outbox_entry_t o1 = {SK_OUT_COMMANDS, "bo", 2, "one", 3},
                      o2 = {SK_OUT_AUDIT, "bo", 2, "two", 3},
                      o3 = {SK_OUT_COMMANDS, "bo", 2, "three", 5},
                      o4 = {SK_OUT_COMMANDS, "cy", 2, "other", 5};
    sk_ms_t keep = sk_now_ms() + 60000;
    sk_store_writes_t w[5] = {{.partition = 11,
                               .epoch = e5,
                               .topic = "in",
                               .offset = 20,
                               .user = "bo",
                               .next_wake_ms = 500,
                               .n_out = 1,
                               .out = &o1,
                               .seq = 1},
                              {.partition = 12,
                               .epoch = e6 - 1 /* not ours: fenced out, partition 5 unaffected */,
                               .topic = "in",
                               .offset = 7,
                               .user = "cy",
                               .next_wake_ms = SK_MS_NONE,
                               .n_out = 1,
                               .out = &o4},
                              {.partition = 11,
                               .epoch = e5,
                               .topic = "in",
                               .offset = 21,
                               .user = "bo",
                               .next_wake_ms = 400,
                               .n_out = 1,
                               .out = &o2,
                               .seq = 2},
                              {.partition = 11,
                               .epoch = e5,
                               .topic = "in",
                               .offset = 21 /* again */,
                               .user = "bo",
                               .next_wake_ms = 1,
                               .n_out = 1,
                               .out = &o3,
                               .seq = 3},
                              {.partition = 11,
                               .epoch = e5,
                               .topic = "in",
                               .offset = 22,
                               .user = "bo",
                               .next_wake_ms = 300,
                               .n_out = 1,
                               .out = &o3,
                               .seq = 4}};
    set_value(&w[0], "a", "1", keep);
    set_value(&w[1], "a", "1", keep);
    set_value(&w[2], "b", "2", keep);
    set_value(&w[3], "a", "skipped", keep);
    set_value(&w[4], "a", "3", keep);
    bool applied[5];
    int rcs[5];
    long long evalsha0 = evalsha_calls(), hset0 = calls_of("hset"), zadd0 = calls_of("zadd");
    CHECK_INT(sk_store_apply_many(s, w, 5, applied, rcs), 0);
    CHECK_INT(evalsha_calls() - evalsha0, 2); /* one call per partition */
    CHECK_INT(calls_of("hset") - hset0, 2);   /* the users' values once, the offsets */
    CHECK_INT(calls_of("zadd") - zadd0, 1);   /* and the timers once */
    CHECK_INT(rcs[0], 0);
    CHECK_INT(rcs[1], SK_EFENCED);
    CHECK_INT(rcs[2], 0);
    CHECK_INT(rcs[3], 0);
    CHECK_INT(rcs[4], 0);
    CHECK(applied[0] && !applied[1] && applied[2] && !applied[3] && applied[4]);
    /* the state: the last applied value whole (a=3, no b); the timer its last */
    CHECK_STR(read_field(s, 11, "bo", "a"), "3");
    CHECK_STR(read_field(s, 11, "bo", "b"), "");
    CHECK_INT(sk_fx_redis_int(&redis, "ZSCORE sk:{p11}:timers bo"), 300);
    CHECK_INT(sk_fx_redis_int(&redis, "HGET sk:{p11}:offsets in"), 22);
    CHECK_INT(sk_fx_redis_int(&redis, "HGET sk:{p11}:offsets #seq"), 4);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p12}:users cy"), 0);
    /* the outbox holds the applied steps' entries, in order */
    sk_arena_t a;
    sk_outbox_entry_t *out = NULL;
    size_t n = 0;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_store_outbox_read(s, 11, 10, &a, &out, &n), 0);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK(out[0].value_len == 3 && memcmp(out[0].value, "one", 3) == 0);
        CHECK(out[1].value_len == 3 && memcmp(out[1].value, "two", 3) == 0);
        CHECK(out[2].value_len == 5 && memcmp(out[2].value, "three", 5) == 0);
        CHECK_INT(out[1].topic, SK_OUT_AUDIT);
    }
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

/* Many users of one partition in one call: each kind of write is one
 * command for all of them (the users hash's HSET and HDEL, ZADD, ZREM,
 * the on-call index's HSET and HDEL), and a kept value is not written. */
TEST(a_batch_writes_each_kind_once_for_its_users)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0;
    enum { N = 40 };
    sk_store_writes_t w[N];
    sk_store_oncall_field_t idx[N];
    char users[N][16], fields[N][32];
    bool applied[N];
    int rcs[N];
    if (!s)
        return;
    CHECK_INT(sk_store_claim(s, 14, &epoch), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HSET sk:{p14}:users u1 x u3 x"), 2);
    CHECK_INT(sk_fx_redis_int(&redis, "HSET sk:{p14}:oncall %s %s", "primary u3 s3", "1 2"), 1);
    for (int i = 0; i < N; i++) {
        snprintf(users[i], sizeof(users[i]), "u%d", i);
        snprintf(fields[i], sizeof(fields[i]), "%s s%d", users[i], i);
        idx[i] = (sk_store_oncall_field_t){"primary", fields[i], i % 4 == 3 ? NULL : "1 2"};
        w[i] = (sk_store_writes_t){.partition = 14,
                                   .epoch = epoch,
                                   .topic = "in",
                                   .offset = 100 + i,
                                   .user = users[i],
                                   .next_wake_ms = i % 2 ? SK_MS_NONE : 1000 + i,
                                   .n_oncall = 1,
                                   .oncall = &idx[i],
                                   .seq = 10 + i};
        if (i % 4 == 0)
            set_value(&w[i], "g:x S 1", users[i], SK_MS_NONE);
        else if (i % 4 == 1 || i % 4 == 3)
            w[i].value_op = SK_STORE_VALUE_DEL;
    }
    const char *cmds[] = {"mset",  "del", "zadd", "zrem",  "hset", "hdel",
                          "rpush", "set", "hget", "hmget", "get"};
    long long before[11], after[11];
    for (int c = 0; c < 11; c++)
        before[c] = calls_of(cmds[c]);
    CHECK_INT(sk_store_apply_many(s, w, N, applied, rcs), 0);
    for (int c = 0; c < 11; c++)
        after[c] = calls_of(cmds[c]);
    CHECK_INT(after[0] - before[0], 0);   /* no MSET: the users are one hash */
    CHECK_INT(after[1] - before[1], 0);   /* no DEL */
    CHECK_INT(after[2] - before[2], 1);   /* ZADD of the 20 with a timer */
    CHECK_INT(after[3] - before[3], 1);   /* ZREM of the 20 without */
    CHECK_INT(after[4] - before[4], 3);   /* HSET of the 10 users, the index, the offsets */
    CHECK_INT(after[5] - before[5], 2);   /* HDEL of the 20 users deleted, of the index */
    CHECK_INT(after[6] - before[6], 0);   /* no outbox entries: no RPUSH */
    CHECK_INT(after[7] - before[7], 0);   /* no SET per user */
    CHECK_INT(after[8] - before[8], 0);   /* the topic's applied offset came with the fence */
    CHECK_INT(after[9] - before[9], 1);   /* the fence: HMGET of #seq, #layout, the topic */
    CHECK_INT(after[10] - before[10], 1); /* and GET of the epoch: 8 commands for 40 inputs */
    CHECK(applied[0] && applied[N - 1] && rcs[0] == 0 && rcs[N - 1] == 0);
    CHECK_STR(read_field(s, 14, "u4", "g:x S 1"), "u4");
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p14}:users u1"), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p14}:users u3"), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p14}:users"), N / 4);
    CHECK_INT(sk_fx_redis_int(&redis, "ZSCORE sk:{p14}:timers u4"), 1004);
    CHECK_INT(sk_fx_redis_int(&redis, "ZCARD sk:{p14}:timers"), N / 2);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p14}:oncall"), N - N / 4);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p14}:oncall %s", "primary u3 s3"), 0);
    /* the states of several users of two partitions: one HMGET per partition */
    const char *who[] = {"u4", "ana", "u1", "u8", "nobody"};
    int32_t wp[] = {14, 3, 14, 14, 3};
    sk_store_value_t v[5];
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    long long hmget0 = calls_of("hmget");
    CHECK_INT(sk_store_read_users(s, 5, wp, who, &a, v), 0);
    CHECK_INT(calls_of("hmget") - hmget0, 2);
    CHECK(v[0].len > 0 && v[1].len > 0 && v[2].len == 0 && v[3].len > 0 && v[4].len == 0);
    CHECK_STR(read_field(s, 14, "u8", "g:x S 1"), "u8");
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

/* A partition written by an engine before the packed layout (users as
 * hashes; no "#layout" mark) is refused as lost, so it is rebuilt from the
 * changelog (ledger.c) before anything reads or writes it; a partition
 * never written is marked by its first claim. */
TEST(a_partition_of_the_old_layout_is_refused_as_lost)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0;
    bool applied = true;
    if (!s)
        return;
    CHECK_INT(sk_fx_redis_int(&redis, "HSET sk:{p13}:offsets in 5 #seq 3"), 2);
    CHECK_INT(sk_fx_redis_int(&redis, "HSET sk:{p13}:u:old g:x 1"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "HSET sk:{p13}:oncall:primary %s %s", "old s1", "1 2"), 1);
    CHECK_INT(sk_store_claim(s, 13, &epoch), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p13}:offsets #layout"), 0);
    sk_store_writes_t op = {.partition = 13,
                            .epoch = epoch,
                            .topic = "in",
                            .offset = 6,
                            .user = "old",
                            .next_wake_ms = SK_MS_NONE};
    set_value(&op, "g:x S 1", "1 r", SK_MS_NONE);
    CHECK_INT(sk_store_apply(s, &op, &applied), SK_ENOTFOUND);
    CHECK_CONTAINS(sk_store_last_error(s), "LOST layout");
    CHECK(!applied);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p13}:u:old"), 1); /* untouched */
    /* a users key of another type is an error, never an empty state */
    const char *who = "old";
    int32_t p = 13;
    sk_arena_t a;
    sk_store_value_t v;
    sk_arena_init(&a, 1024);
    CHECK_INT(sk_fx_redis_int(&redis, "SET sk:{p13}:users x"), -1);
    CHECK_INT(sk_store_read_users(s, 1, &p, &who, &a, &v), SK_EIO);
    sk_arena_fini(&a);
    /* rebuilt (here: from nothing), it is marked and written again */
    sk_store_restore_t rs = {.partition = 13, .epoch = epoch + 1, .seq = 3};
    CHECK_INT(sk_store_restore(s, &rs), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HGET sk:{p13}:offsets #layout"), 2);
    CHECK_INT(sk_fx_redis_int(&redis, "EXISTS sk:{p13}:u:old"), 0); /* the old keys are gone */
    CHECK_INT(sk_fx_redis_int(&redis, "EXISTS sk:{p13}:oncall:primary"), 0);
    op.epoch = epoch + 1;
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(applied);
    CHECK_STR(read_field(s, 13, "old", "g:x S 1"), "1 r");
    /* a fresh partition: marked at its first claim */
    CHECK_INT(sk_store_claim(s, 15, &epoch), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HGET sk:{p15}:offsets #layout"), 2);
    sk_store_destroy(s);
}

TEST(a_state_keeps_its_keep_until_in_its_value_not_a_ttl)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0;
    bool applied = false;
    sk_arena_t a;
    sk_user_state_t st;
    if (!s)
        return;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_store_claim(s, 7, &epoch), 0);
    sk_store_writes_t op = {.partition = 7,
                            .epoch = epoch,
                            .topic = "in",
                            .offset = 1,
                            .user = "cy",
                            .next_wake_ms = 1234};
    set_value(&op, "g:x S 1", "100 r", sk_now_ms() + 60000);
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "PTTL sk:{p7}:users"), -1);
    CHECK_INT(sk_load_user(s, 7, "cy", &a, &st), 0);
    CHECK_INT(st.n_sources, 1);
    /* past its keep-until, the value reads as an empty state (as a TTL
     * would have dropped it) even before the keep-until sweep deletes it */
    op.offset = 2;
    set_value(&op, "g:x S 1", "100 r", sk_now_ms() - 1);
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(applied);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p7}:users cy"), 1);
    CHECK_INT(sk_load_user(s, 7, "cy", &a, &st), 0);
    CHECK_INT(st.n_sources, 0);
    /* and a delete removes it */
    op.offset = 3;
    op.value_op = SK_STORE_VALUE_DEL;
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p7}:users cy"), 0);
    sk_arena_fini(&a);
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
    CHECK_INT(sk_store_outbox_trim(s, 3, epoch, 0, 1), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p3}:outbox"), 1);
    CHECK_INT(sk_store_outbox_trim(s, 3, epoch, 0, 1), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p3}:outbox"), 0);
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

/* The apply call is written as RESP by the store itself (pipeline/resp.c):
 * outbox entries whose keys and values hold what the protocol frames with
 * (NUL, CR LF, '$', '*'), an empty one and one of 300 kB reach Redis intact
 * and read back byte for byte, in order. */
TEST(binary_empty_and_large_outputs_cross_the_wire_intact)
{
    sk_store_t *s = connect_store();
    bool applied = false;
    sk_arena_t a;
    sk_outbox_entry_t *got = NULL;
    size_t n = 0, big_len = 300 * 1024;
    char *big = malloc(big_len);
    static const char bin_key[] = {'k', '\0', '\r', '\n', '$', '2'};
    static const char bin_val[] = {'*', '3', '\r', '\n', '\0', (char)0xff, '\r'};
    CHECK(s != NULL && big != NULL);
    if (!s || !big)
        goto out;
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)(i * 7 + 1);
    sk_outbox_entry_t e[] = {{SK_OUT_COMMANDS, bin_key, sizeof(bin_key), bin_val, sizeof(bin_val)},
                             {SK_OUT_AUDIT, "", 0, "", 0},
                             {SK_OUT_TASKS, "bo", 2, big, big_len}};
    sk_store_writes_t w = {.partition = 8,
                           .epoch = 0,
                           .topic = "in",
                           .offset = 1,
                           .user = "bo",
                           .next_wake_ms = SK_MS_NONE,
                           .n_out = 3,
                           .out = e};
    CHECK_INT(sk_store_claim(s, 8, &w.epoch), 0);
    set_value(&w, "g:x S 1", "100 r", sk_now_ms() + 60000);
    CHECK_INT(sk_store_apply(s, &w, &applied), 0);
    CHECK(applied);
    CHECK_STR(read_field(s, 8, "bo", "g:x S 1"), "100 r");
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_store_outbox_read(s, 8, 10, &a, &got, &n), 0);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n && i < 3; i++) {
        CHECK_INT(got[i].topic, e[i].topic);
        CHECK(got[i].key_len == e[i].key_len && memcmp(got[i].key, e[i].key, e[i].key_len) == 0);
        CHECK(got[i].value_len == e[i].value_len &&
              memcmp(got[i].value, e[i].value, e[i].value_len) == 0);
    }
    sk_arena_fini(&a);
out:
    free(big);
    sk_store_destroy(s);
}

/* The keep-until sweep (store_keep.c) reads the packed keep-until in Lua:
 * it deletes exactly the values at or past it, in HSCAN chunks, keeps
 * those ahead, never-dropped ones and values it cannot read, and does
 * nothing for an epoch that is not the owner's. */
TEST(the_keep_until_sweep_deletes_only_states_past_their_keep_until)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0;
    bool applied = false;
    sk_arena_t a;
    char **users = NULL;
    size_t n = 0, gone = 0;
    uint64_t cursor = 0;
    if (!s)
        return;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_store_claim(s, 4, &epoch), 0);
    sk_ms_t now = sk_now_ms();
    static const char *const names[] = {"past", "at", "ahead", "never"};
    sk_ms_t keeps[] = {now - 86400000, now, now + 1, SK_MS_NONE};
    for (int i = 0; i < 600; i++) { /* past listpack's 512: a hash HSCAN walks in chunks */
        char user[32];
        snprintf(user, sizeof(user), "%s-%d", names[i % 4], i);
        sk_store_writes_t op = {.partition = 4,
                                .epoch = epoch,
                                .topic = "in",
                                .offset = i + 1,
                                .user = user,
                                .next_wake_ms = SK_MS_NONE};
        set_value(&op, "g:x S 1", "100 r", keeps[i % 4]);
        CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    }
    CHECK_INT(sk_fx_redis_int(&redis, "HSET sk:{p4}:users odd not-a-packed-state"), 1);
    CHECK_INT(sk_store_keep_sweep(s, 4, epoch + 1, &cursor, 10, now, &a, &users, &n), SK_EFENCED);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p4}:users"), 601);
    int rounds = 0;
    do {
        CHECK_INT(sk_store_keep_sweep(s, 4, epoch, &cursor, 10, now, &a, &users, &n), 0);
        for (size_t i = 0; i < n; i++)
            CHECK(strncmp(users[i], "past-", 5) == 0 || strncmp(users[i], "at-", 3) == 0);
        gone += n;
    } while (++rounds < 1000 && cursor != 0);
    fprintf(stderr, "  keep-until sweep: %d chunks of COUNT 10\n", rounds);
    CHECK(rounds > 2); /* in chunks */
    CHECK_INT(gone, 300);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p4}:users"), 301);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p4}:users past-0"), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p4}:users at-1"), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p4}:users ahead-2"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p4}:users never-3"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p4}:users odd"), 1);
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
    sk_store_writes_t op = {.partition = 5,
                            .epoch = e_old,
                            .topic = "in",
                            .offset = 1,
                            .user = "bo",
                            .next_wake_ms = SK_MS_NONE};
    set_value(&op, "g:z S 1", "1 r", sk_now_ms() + 60000);
    CHECK_INT(sk_store_apply(old_owner, &op, &applied), SK_EFENCED);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p5}:users bo"), 0);
    CHECK_INT(sk_store_outbox_trim(old_owner, 5, e_old, 0, 1), SK_EFENCED);
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
    sk_store_writes_t op = {.partition = 6,
                            .epoch = epoch,
                            .topic = "in",
                            .offset = 1,
                            .user = "cy",
                            .next_wake_ms = SK_MS_NONE};
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(applied);
    sk_store_destroy(s);
}

TEST(a_lost_epoch_is_told_apart_from_a_newer_owner)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0;
    bool applied = true;
    if (!s)
        return;
    CHECK_INT(sk_store_claim(s, 9, &epoch), 0);
    /* Redis lost the partition's data (restart without persistence, FLUSHALL) */
    CHECK_INT(sk_fx_redis_int(&redis, "DEL sk:{p9}:epoch"), 1);
    sk_store_writes_t op = {.partition = 9,
                            .epoch = epoch,
                            .topic = "in",
                            .offset = 1,
                            .user = "di",
                            .next_wake_ms = SK_MS_NONE};
    CHECK_INT(sk_store_apply(s, &op, &applied), SK_ENOTFOUND);
    CHECK(!applied);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p9}:users di"), 0);
    /* claimed again, the same op goes through */
    CHECK_INT(sk_store_claim(s, 9, &op.epoch), 0);
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(applied);
    sk_store_destroy(s);
}

TEST(redis_behind_the_ledger_is_lost_not_fenced)
{
    sk_store_t *s = connect_store();
    int64_t epoch = 0, seq = -1, floors[2] = {0, 0}, epochs[2];
    int32_t parts[2] = {10, 11};
    int rcs[2] = {1, 1};
    bool applied = false;
    if (!s)
        return;
    CHECK_INT(sk_store_claim_above(s, 10, 0, &epoch, &seq), 0);
    CHECK_INT(seq, 0);
    sk_store_writes_t op = {.partition = 10,
                            .epoch = epoch,
                            .topic = "in",
                            .offset = 1,
                            .user = "el",
                            .next_wake_ms = SK_MS_NONE,
                            .seq_floor = 0,
                            .seq = 5};
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(applied);
    CHECK_INT(sk_fx_redis_int(&redis, "HGET sk:{p10}:offsets #seq"), 5);
    /* the ledger knows step 7: a Redis at 5 lost what came after (a replica that lagged) */
    op.offset = 2;
    op.seq_floor = 7;
    op.seq = 8;
    CHECK_INT(sk_store_apply(s, &op, &applied), SK_ENOTFOUND);
    CHECK_CONTAINS(sk_store_last_error(s), "LOST step sequence is 5");
    CHECK_INT(sk_store_outbox_trim(s, 10, epoch, 7, 1), SK_ENOTFOUND);
    /* an epoch below ours: Redis went back in time, not another owner */
    CHECK_INT(sk_fx_redis_int(&redis, "SET sk:{p10}:epoch %lld", (long long)epoch - 1), -1);
    op.seq_floor = 0;
    CHECK_INT(sk_store_apply(s, &op, &applied), SK_ENOTFOUND);
    CHECK_CONTAINS(sk_store_last_error(s), "LOST epoch went back");
    /* the check alone, pipelined: lost, and fine */
    CHECK_INT(sk_store_claim_above(s, 11, 0, &epochs[1], &seq), 0);
    epochs[0] = epoch;
    CHECK_INT(sk_store_check_many(s, 2, parts, epochs, floors, rcs), 0);
    CHECK_INT(rcs[0], SK_ENOTFOUND);
    CHECK_INT(rcs[1], 0);
    /* FLUSHALL: the trim says "epoch lost", distinctly from fenced */
    CHECK_INT(sk_fx_redis_int(&redis, "DEL sk:{p11}:epoch"), 1);
    CHECK_INT(sk_store_outbox_trim(s, 11, epochs[1], 0, 1), SK_ENOTFOUND);
    CHECK_CONTAINS(sk_store_last_error(s), "NOEPOCH");
    /* a claim never goes below what we held */
    CHECK_INT(sk_store_claim_above(s, 11, 42, &epoch, &seq), 0);
    CHECK_INT(epoch, 42);
    sk_store_destroy(s);
}

TEST(restore_rebuilds_a_partition_but_keeps_its_outbox)
{
    sk_store_t *s = connect_store();
    sk_arena_t a;
    sk_store_value_t h[1];
    const char *who[1] = {"fa"};
    int32_t pp[1] = {12};
    if (!s)
        return;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_fx_redis_int(&redis, "SET sk:{p12}:epoch 3"), -1);
    CHECK_INT(sk_fx_redis_int(&redis, "HSET sk:{p12}:users stale y"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "RPUSH sk:{p12}:outbox staged"), 1);
    sk_store_field_t f[2] = {{"g:a/b S s1", 10, "999 primary", 11}, {"s:s1", 4, "primary 1 2", 11}};
    void *packed = NULL;
    size_t packed_len = 0;
    CHECK_INT(sk_state_pack(&a, f, 2, SK_MS_NONE, &packed, &packed_len), 0);
    sk_store_restore_user_t u = {"fa", packed, packed_len, 123456};
    sk_store_oncall_field_t idx = {"primary", "fa s1", "1 2"};
    const char *topics[1] = {"in"};
    int64_t offs[1] = {41};
    sk_store_restore_t rs = {.partition = 12,
                             .epoch = 9,
                             .seq = 77,
                             .n_users = 1,
                             .users = &u,
                             .n_oncall = 1,
                             .oncall = &idx,
                             .n_offsets = 1,
                             .topics = topics,
                             .offsets = offs};
    CHECK_INT(sk_store_restore(s, &rs), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "GET sk:{p12}:epoch"), 9);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p12}:users stale"), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "LLEN sk:{p12}:outbox"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "HGET sk:{p12}:offsets in"), 41);
    CHECK_INT(sk_fx_redis_int(&redis, "HGET sk:{p12}:offsets #seq"), 77);
    CHECK_INT(sk_fx_redis_int(&redis, "ZSCORE sk:{p12}:timers fa"), 123456);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p12}:oncall"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p12}:oncall %s", "primary fa s1"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "HGET sk:{p12}:offsets #layout"), 2);
    CHECK_INT(sk_store_read_users(s, 1, pp, who, &a, h), 0);
    CHECK(h[0].len == packed_len && memcmp(h[0].bytes, packed, packed_len) == 0);
    CHECK_STR(read_field(s, 12, "fa", "s:s1"), "primary 1 2");
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

/*
 * A fake Redis that loads every script but never keeps one: SCRIPT gets a
 * sha, EVALSHA always NOSCRIPT, anything else +OK. It serves one
 * connection and gives up after FAKE_MAX_EVALSHA EVALSHAs (so a client that
 * retries without a bound ends with an I/O error instead of hanging).
 */
#define FAKE_MAX_EVALSHA 50
typedef struct fake_redis {
    int listen_fd, port;
    int evalsha, script_loads;
    pthread_t thread;
} fake_redis_t;

/* Parses one RESP array of bulk strings at buf[0..len); the first argument
 * into cmd. Returns the bytes used, or 0 when the command is incomplete. */
static size_t resp_command(const char *buf, size_t len, char *cmd, size_t cmd_len)
{
    const char *p = buf, *end = buf + len;
    long argc;
    char *nl;
    if (len < 4 || *p != '*' || !(nl = memchr(p, '\n', len)))
        return 0;
    argc = strtol(p + 1, NULL, 10);
    p = nl + 1;
    for (long i = 0; i < argc; i++) {
        if (p >= end || *p != '$' || !(nl = memchr(p, '\n', (size_t)(end - p))))
            return 0;
        long n = strtol(p + 1, NULL, 10);
        p = nl + 1;
        if (end - p < n + 2)
            return 0;
        if (i == 0)
            snprintf(cmd, cmd_len, "%.*s", (int)n, p);
        p += n + 2;
    }
    return (size_t)(p - buf);
}

static void *fake_redis_serve(void *arg)
{
    fake_redis_t *f = arg;
    static char buf[1 << 16];
    size_t have = 0;
    int fd = accept(f->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    for (;;) {
        char cmd[32];
        size_t used;
        ssize_t r = read(fd, buf + have, sizeof(buf) - have);
        if (r <= 0)
            break;
        have += (size_t)r;
        while ((used = resp_command(buf, have, cmd, sizeof(cmd))) > 0) {
            const char *reply = "+OK\r\n";
            if (strcasecmp(cmd, "SCRIPT") == 0) {
                f->script_loads++;
                reply = "$40\r\n0123456789012345678901234567890123456789\r\n";
            } else if (strcasecmp(cmd, "EVALSHA") == 0) {
                if (++f->evalsha > FAKE_MAX_EVALSHA)
                    goto out;
                reply = "-NOSCRIPT No matching script. Please use EVAL.\r\n";
            }
            if (write(fd, reply, strlen(reply)) < 0)
                goto out;
            memmove(buf, buf + used, have - used);
            have -= used;
        }
    }
out:
    close(fd);
    return NULL;
}

static int fake_redis_start(fake_redis_t *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    *f = (fake_redis_t){0};
    if ((f->listen_fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(f->listen_fd, 1) != 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->thread, NULL, fake_redis_serve, f) == 0 ? 0 : -1;
}

TEST(a_script_cache_that_keeps_failing_is_retried_once_then_an_io_error)
{
    fake_redis_t f;
    CHECK_INT(fake_redis_start(&f), 0);
    sk_store_config_t cfg = {.host = "127.0.0.1", .port = f.port};
    sk_store_t *s = sk_store_new(&cfg);
    bool applied[2] = {true, true};
    int rcs[2] = {0, 0};
    CHECK(s && sk_store_connect(s) == 0);
    if (s && sk_store_connected(s)) {
        sk_store_writes_t ops[2] = {{.partition = 1,
                                     .epoch = 1,
                                     .topic = "in",
                                     .offset = 1,
                                     .user = "ed",
                                     .next_wake_ms = SK_MS_NONE},
                                    {.partition = 1,
                                     .epoch = 1,
                                     .topic = "in",
                                     .offset = 2,
                                     .user = "ed",
                                     .next_wake_ms = SK_MS_NONE}};
        CHECK_INT(sk_store_apply_many(s, ops, 2, applied, rcs), SK_EIO);
        CHECK_INT(rcs[0], SK_EIO);
        CHECK_INT(rcs[1], SK_EIO);
        CHECK(!applied[0] && !applied[1]);
        CHECK_CONTAINS(sk_store_last_error(s), "NOSCRIPT");
        /* both ops of the partition in one script call, the scripts
         * reloaded once, the call sent once more */
        CHECK_INT(f.evalsha, 2);
        CHECK_INT(f.script_loads, 8); /* four scripts, loaded at connect and once again */
        /* the outbox trim is bounded the same way */
        CHECK_INT(sk_store_outbox_trim(s, 1, 1, 0, 1), SK_EIO);
        CHECK_INT(f.evalsha, 4);
    }
    sk_store_destroy(s); /* closes the connection: the fake server ends */
    pthread_join(f.thread, NULL);
    close(f.listen_fd);
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
             SK_TEST_CASE(binary_empty_and_large_outputs_cross_the_wire_intact),
             SK_TEST_CASE(a_state_keeps_its_keep_until_in_its_value_not_a_ttl),
             SK_TEST_CASE(the_keep_until_sweep_deletes_only_states_past_their_keep_until),
             SK_TEST_CASE(a_former_owner_is_fenced), SK_TEST_CASE(lost_script_cache_is_reloaded),
             SK_TEST_CASE(a_lost_epoch_is_told_apart_from_a_newer_owner),
             SK_TEST_CASE(redis_behind_the_ledger_is_lost_not_fenced),
             SK_TEST_CASE(restore_rebuilds_a_partition_but_keeps_its_outbox),
             SK_TEST_CASE(a_script_cache_that_keeps_failing_is_retried_once_then_an_io_error),
             SK_TEST_CASE(a_batch_is_one_script_call_per_partition_in_order),
             SK_TEST_CASE(a_batch_writes_each_kind_once_for_its_users),
             SK_TEST_CASE(a_partition_of_the_old_layout_is_refused_as_lost),
             SK_TEST_CASE(redis_restart_is_an_io_error_then_reconnects), SK_TEST_CASE(z_teardown))
