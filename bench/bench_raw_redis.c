/*
 * bench_raw_redis.c — the raw Redis limit: the least the design needs, no
 * shiftkey logic, against the same redis-server. Per event one durable
 * atomic write, pipelined: an EVALSHA of a minimal apply script (the epoch
 * fence, the applied offset, the user's hash fields the event changes and
 * its outputs appended to the partition's outbox, of their real sizes:
 * bench_mix.c); every 500 events, per partition, one LTRIM of the outbox
 * (its records were produced from memory). No state is read back: the
 * engine owning a partition holds its users' states.
 */
#include <hiredis.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "base/sk.h"

#define BATCH    500
#define MAX_ARGS (3 + 4 + 3 + 1 + 2 * BENCH_MIX_FIELDS + BENCH_MIX_MAX)

static const char SCRIPT[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED') end\n"
    "redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])\n"
    "local n = tonumber(ARGV[4])\n"
    "if n > 0 then redis.call('HSET', KEYS[4], unpack(ARGV, 5, 4 + 2 * n)) end\n"
    "if #ARGV > 4 + 2 * n then redis.call('RPUSH', KEYS[3], unpack(ARGV, 5 + 2 * n, #ARGV)) end\n"
    "return 1\n";

typedef struct raw_ctx {
    redisContext *c;
    char sha[41];
    const bench_mix_t *mix;
    long long offset[BENCH_PARTITIONS];
    double bytes;
    unsigned char packed[64 * 1024]; /* one event's outbox entries */
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

/* Appends the one write of event i. */
static int event_cmd(raw_ctx_t *x, size_t i)
{
    const bench_mix_event_t *ev = &x->mix->events[i % x->mix->n_events];
    char user[16], k[4][64], off[24], nset[8];
    int p = (int)(i % BENCH_PARTITIONS);
    const char *argv[MAX_ARGS];
    size_t lens[MAX_ARGS];
    int argc = 0;
    snprintf(user, sizeof(user), "u%06zu", (i * 7919) % 100000);
    snprintf(k[0], sizeof(k[0]), "raw:{p%d}:epoch", p);
    snprintf(k[1], sizeof(k[1]), "raw:{p%d}:offsets", p);
    snprintf(k[2], sizeof(k[2]), "raw:{p%d}:outbox", p);
    snprintf(k[3], sizeof(k[3]), "raw:{p%d}:u:%s", p, user);
    snprintf(off, sizeof(off), "%lld", ++x->offset[p]);
    snprintf(nset, sizeof(nset), "%zu", ev->n_set);
    const char *head[] = {
        "EVALSHA", x->sha, "4", k[0], k[1], k[2], k[3], "1", "shiftkey.schedule.v1", off, nset};
    for (size_t j = 0; j < SK_ARRAY_LEN(head); j++) {
        argv[argc] = head[j];
        lens[argc++] = strlen(head[j]);
    }
    for (size_t j = 0; j < ev->n_set; j++) {
        argv[argc] = ev->set_name[j];
        lens[argc++] = strlen(ev->set_name[j]);
        argv[argc] = ev->set_value[j];
        lens[argc++] = strlen(ev->set_value[j]);
    }
    /* the outputs as the outbox keeps them (topic byte, key length, key,
     * value); the input record is not staged */
    size_t used = 0;
    for (size_t j = ev->first; j < ev->first + ev->n; j++) {
        const bench_mix_rec_t *rec = &x->mix->recs[j];
        size_t len = 5 + rec->key_len + rec->len;
        if (rec->kind == BENCH_MIX_INPUT || used + len > sizeof(x->packed))
            continue;
        unsigned char *e = x->packed + used;
        e[0] = (unsigned char)rec->kind;
        e[1] = e[2] = e[3] = 0;
        e[4] = (unsigned char)rec->key_len;
        memcpy(e + 5, rec->key, rec->key_len);
        memcpy(e + 5 + rec->key_len, rec->val, rec->len);
        argv[argc] = (const char *)e;
        lens[argc++] = len;
        used += len;
    }
    for (int j = 0; j < argc; j++)
        x->bytes += (double)lens[j];
    return redisAppendCommandArgv(x->c, argc, argv, lens) == REDIS_OK ? 0 : -1;
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

static double run(raw_ctx_t *x, size_t n)
{
    double t0 = bench_now_s();
    for (size_t i = 0; i < n; i += BATCH) {
        size_t b = n - i < BATCH ? n - i : BATCH;
        for (size_t j = 0; j < b; j++)
            if (event_cmd(x, i + j) != 0)
                return -1;
        /* the produced outputs leave the outboxes */
        for (int p = 0; p < BENCH_PARTITIONS; p++)
            if (redisAppendCommand(x->c, "LTRIM raw:{p%d}:outbox %d -1", p, BATCH * 8) != REDIS_OK)
                return -1;
        if (read_replies(x, b + BENCH_PARTITIONS) != 0)
            return -1;
    }
    return (double)n / (bench_now_s() - t0);
}

int bench_raw_redis(const bench_env_t *env, bench_results_t *res)
{
    struct timeval tv = {5, 0};
    static raw_ctx_t x;
    bench_mix_t mix;
    int rc = -1;
    if (bench_mix_build(env, &mix) != 0)
        return -1;
    memset(&x, 0, sizeof(x));
    x.mix = &mix;
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
    double cpu0[BENCH_CPU_PARTS], cpu1[BENCH_CPU_PARTS];
    res->redis_events = n;
    bench_cpu_sample(env->cpu, cpu0);
    res->redis_pipelined_per_s = run(&x, n);
    bench_cpu_sample(env->cpu, cpu1);
    bench_cpu_per_event(cpu0, cpu1, n, &res->redis_cpu);
    res->redis_bytes_per_event = x.bytes / (double)n;
    rc = res->redis_pipelined_per_s > 0 ? 0 : -1;
    expect_ok(redisCommand(x.c, "FLUSHALL"), "FLUSHALL");
out:
    if (x.c)
        redisFree(x.c);
    bench_mix_free(&mix);
    return rc;
}
