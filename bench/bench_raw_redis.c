/*
 * bench_raw_redis.c — the raw Redis limit for the engine's command mix, no
 * shiftkey logic, against the same redis-server. Per event: HGETALL of the
 * user's hash, then EVALSHA of a script like the engine's apply script
 * (epoch check, offset check + HSET, HSET of 3 user fields, PEXPIREAT, ZADD
 * of the timer, RPUSH of 4 outbox entries of 320 bytes); after every 500
 * events, per partition, LRANGE + LTRIM of the outbox.
 *
 * Two figures: pipelined (the batch's commands written at once, replies read
 * after: the limit), and serial (each command waits for its reply: the
 * engine's pattern today, 2 round trips per event).
 */
#include <hiredis.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "base/sk.h"

#define BATCH       500
#define OUT_ENTRIES 4
#define OUT_BYTES   320

static const char SCRIPT[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end\n"
    "local done = redis.call('HGET', KEYS[2], ARGV[2])\n"
    "if done and tonumber(done) >= tonumber(ARGV[3]) then return 0 end\n"
    "redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])\n"
    "redis.call('HSET', KEYS[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11])\n"
    "redis.call('PEXPIREAT', KEYS[5], ARGV[5])\n"
    "redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])\n"
    "redis.call('RPUSH', KEYS[3], unpack(ARGV, 12, #ARGV))\n"
    "return 1\n";

typedef struct raw_ctx {
    redisContext *c;
    char sha[41];
    char out[OUT_BYTES];
    long long offset[BENCH_PARTITIONS];
} raw_ctx_t;

static int expect_ok(redisReply *r, const char *what)
{
    int bad = !r || r->type == REDIS_REPLY_ERROR;
    if (bad)
        fprintf(stderr, "raw redis: %s: %s\n", what, r ? r->str : "no reply");
    if (r)
        freeReplyObject(r);
    return bad ? -1 : 0;
}

/* Appends (or, serial, runs) the two commands of event i. */
static int event_cmds(raw_ctx_t *x, size_t i, bool serial)
{
    char user[16], k[5][64], off[24], exp[24], f[3][32];
    int p = (int)(i % BENCH_PARTITIONS);
    snprintf(user, sizeof(user), "u%06zu", (i * 7919) % 100000);
    snprintf(k[0], sizeof(k[0]), "raw:{p%d}:epoch", p);
    snprintf(k[1], sizeof(k[1]), "raw:{p%d}:offsets", p);
    snprintf(k[2], sizeof(k[2]), "raw:{p%d}:outbox", p);
    snprintf(k[3], sizeof(k[3]), "raw:{p%d}:timers", p);
    snprintf(k[4], sizeof(k[4]), "raw:{p%d}:u:%s", p, user);
    snprintf(off, sizeof(off), "%lld", ++x->offset[p]);
    snprintf(exp, sizeof(exp), "%lld", (long long)sk_now_ms() + 8 * 3600000LL);
    for (int j = 0; j < 3; j++)
        snprintf(f[j], sizeof(f[j]), "g:app%03d/ent0%d S sh-%zu", j, j, i);
    const char *argv[3 + 5 + 11 + OUT_ENTRIES] = {
        "EVALSHA", x->sha, "5", k[0], k[1], k[2], k[3], k[4], "1", "shiftkey.schedule.v1",
        off,       user,   exp, f[0], exp,  f[1], exp,  f[2], exp};
    size_t lens[SK_ARRAY_LEN(argv)];
    int argc = 19;
    for (int j = 0; j < OUT_ENTRIES; j++)
        argv[argc++] = x->out;
    for (int j = 0; j < argc; j++)
        lens[j] = argv[j] == x->out ? OUT_BYTES : strlen(argv[j]);
    if (serial) {
        if (expect_ok(redisCommand(x->c, "HGETALL %s", k[4]), "HGETALL") ||
            expect_ok(redisCommandArgv(x->c, argc, argv, lens), "EVALSHA"))
            return -1;
        return 0;
    }
    if (redisAppendCommand(x->c, "HGETALL %s", k[4]) != REDIS_OK ||
        redisAppendCommandArgv(x->c, argc, argv, lens) != REDIS_OK)
        return -1;
    return 0;
}

static int read_replies(raw_ctx_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(x->c, &r) != REDIS_OK || expect_ok(r, "pipelined reply"))
            return -1;
    }
    return 0;
}

/* Per partition: LRANGE the outbox, then LTRIM what was read. */
static int drain(raw_ctx_t *x, bool serial)
{
    for (int p = 0; p < BENCH_PARTITIONS; p++) {
        char k[64];
        snprintf(k, sizeof(k), "raw:{p%d}:outbox", p);
        if (serial) {
            redisReply *r = redisCommand(x->c, "LRANGE %s 0 999", k);
            size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
            if (expect_ok(r, "LRANGE") ||
                expect_ok(redisCommand(x->c, "LTRIM %s %lld -1", k, (long long)n), "LTRIM"))
                return -1;
        } else if (redisAppendCommand(x->c, "LRANGE %s 0 -1", k) != REDIS_OK ||
                   redisAppendCommand(x->c, "LTRIM %s %d -1", k, BATCH * OUT_ENTRIES) != REDIS_OK) {
            return -1;
        }
    }
    return serial ? 0 : read_replies(x, 2 * BENCH_PARTITIONS);
}

static double run(raw_ctx_t *x, size_t n, bool serial)
{
    double t0 = bench_now_s();
    for (size_t i = 0; i < n; i += BATCH) {
        size_t b = n - i < BATCH ? n - i : BATCH;
        for (size_t j = 0; j < b; j++)
            if (event_cmds(x, i + j, serial) != 0)
                return -1;
        if (!serial && read_replies(x, 2 * b) != 0)
            return -1;
        if (drain(x, serial) != 0)
            return -1;
    }
    return (double)n / (bench_now_s() - t0);
}

int bench_raw_redis(const bench_env_t *env, bench_results_t *res)
{
    struct timeval tv = {5, 0};
    raw_ctx_t x = {0};
    int rc = -1;
    memset(x.out, 'x', sizeof(x.out));
    x.c = redisConnectWithTimeout("127.0.0.1", env->redis_port, tv);
    if (!x.c || x.c->err)
        goto out;
    redisReply *r = redisCommand(x.c, "SCRIPT LOAD %s", SCRIPT);
    if (!r || r->type != REDIS_REPLY_STRING) {
        expect_ok(r, "SCRIPT LOAD");
        goto out;
    }
    memcpy(x.sha, r->str, 41);
    freeReplyObject(r);
    for (int p = 0; p < BENCH_PARTITIONS; p++)
        if (expect_ok(redisCommand(x.c, "SET raw:{p%d}:epoch 1", p), "SET"))
            goto out;
    size_t n = env->quick ? 10000 : 200000;
    res->redis_events = n;
    res->redis_pipelined_per_s = run(&x, n, false);
    res->redis_serial_per_s = run(&x, env->quick ? 5000 : 50000, true);
    rc = res->redis_pipelined_per_s > 0 && res->redis_serial_per_s > 0 ? 0 : -1;
    expect_ok(redisCommand(x.c, "FLUSHALL"), "FLUSHALL");
out:
    if (x.c)
        redisFree(x.c);
    return rc;
}
