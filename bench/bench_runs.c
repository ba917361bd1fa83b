/*
 * bench_runs.c — the engine end to end: sustained throughput and latency at
 * saturation (closed loop: a fixed number of events in flight), latency at
 * fixed rates (open loop: 1,000/s and 10,000/s), Redis bytes per active
 * grant, and timer precision with many timers pending.
 */
#include <fcntl.h>
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_engine.h"
#include "codec/state_pack.h"

#define DAY_MS (24LL * 3600 * 1000)

static void run_begin(bench_engine_ctx_t *x, bench_rate_run_t *run, double rate, size_t cap)
{
    memset(run, 0, sizeof(*run));
    run->target_rate = rate;
    bench_lat_init(&run->samples, cap);
    bench_lat_init(&run->samples_kafka, cap);
    sk_engine_stats(x->engine, &x->stats0);
    bench_cpu_sample(x->env->cpu, x->cpu0);
    x->run_t0_us = bench_now_us();
    atomic_store(&x->lat_kafka, &run->samples_kafka);
    atomic_store(&x->lat, &run->samples);
}

/* The engine loop's and the CPU's figures of the run, from the deltas
 * since run_begin (per decided event). */
static void run_loop_figures(bench_engine_ctx_t *x, bench_rate_run_t *run)
{
    sk_engine_stats_t s1, *s0 = &x->stats0;
    double cpu1[BENCH_CPU_PARTS], ev = run->completed ? (double)run->completed : 1;
    sk_engine_stats(x->engine, &s1);
    bench_cpu_sample(x->env->cpu, cpu1);
    bench_cpu_per_event(x->cpu0, cpu1, run->completed, &run->cpu);
    run->batches = (double)(s1.loop_batches - s0->loop_batches);
    run->batch_mean = run->batches > 0
                          ? (double)(s1.loop_batch_records - s0->loop_batch_records) / run->batches
                          : 0;
    for (int i = 0; i < 5; i++)
        run->batch_pct[i] =
            run->batches > 0
                ? 100 * (double)(s1.loop_batch_hist[i] - s0->loop_batch_hist[i]) / run->batches
                : 0;
    run->turn_us[0] = (double)(s1.loop_us_poll - s0->loop_us_poll) / ev;
    run->turn_us[1] = (double)(s1.loop_us_apply - s0->loop_us_apply) / ev;
    run->turn_us[2] = (double)(s1.loop_us_timers - s0->loop_us_timers) / ev;
    run->turn_us[3] = (double)(s1.loop_us_pump - s0->loop_us_pump) / ev;
    run->commits_per_event = (double)(s1.offset_commits - s0->offset_commits) / ev;
    for (int i = 0; i < 5; i++)
        run->work_hist[i] = (double)(s1.loop_work_hist[i] - s0->loop_work_hist[i]);
    for (int i = 0; i < 3; i++)
        run->slow[i] = (double)(s1.loop_slow[i] - s0->loop_slow[i]);
    run->poll_over = (double)(s1.loop_poll_over - s0->loop_poll_over);
}

/* Waits for the run's decisions, then computes its figures. */
static void run_end(bench_engine_ctx_t *x, bench_rate_run_t *run, size_t audit0, size_t cmds0,
                    double drain_s)
{
    size_t want = audit0 + run->events;
    size_t got = bench_engine_wait_audit(x, want, drain_s);
    double secs = (double)(bench_now_us() - x->run_t0_us) / 1e6;
    bench_sleep_us(200000); /* the last commands of the last decisions */
    atomic_store(&x->lat, NULL);
    atomic_store(&x->lat_kafka, NULL);
    run->completed = got - audit0;
    run->seconds = secs;
    run->events_per_s = (double)run->completed / secs;
    run->commands_per_s = (double)(atomic_load(&x->commands_seen) - cmds0) / secs;
    bench_lat_summary(&run->samples, &run->lat);
    bench_lat_summary(&run->samples_kafka, &run->lat_kafka);
    run_loop_figures(x, run);
    if (got < want)
        fprintf(stderr, "bench: run at %.0f/s: %zu of %zu decisions seen\n", run->target_rate,
                run->completed, run->events);
}

/* Closed loop: keeps `window` events in flight for `seconds` (or max events). */
static int run_saturation(bench_engine_ctx_t *x, bench_rate_run_t *run, size_t window,
                          double seconds, size_t max)
{
    size_t audit0 = atomic_load(&x->audit_seen), cmds0 = atomic_load(&x->commands_seen);
    run_begin(x, run, 0, max);
    double end = bench_now_s() + seconds;
    while (run->events < max && bench_now_s() < end) {
        size_t done = atomic_load(&x->audit_seen) - audit0;
        if (run->events - done >= window) {
            rd_kafka_poll(x->producer, 0);
            bench_sleep_us(200);
            continue;
        }
        if (bench_engine_produce_next(x) != 0)
            return -1;
        run->events++;
    }
    run_end(x, run, audit0, cmds0, 90);
    return 0;
}

/* Above capacity, as the raw Kafka pipe is measured: n events produced as
 * fast as the producer takes them, no window; events/s from the first
 * produce to the last decision seen. */
static int run_burst(bench_engine_ctx_t *x, bench_rate_run_t *run, size_t n)
{
    size_t audit0 = atomic_load(&x->audit_seen), cmds0 = atomic_load(&x->commands_seen);
    run_begin(x, run, 0, n);
    for (size_t i = 0; i < n; i++) {
        if (bench_engine_produce_next(x) != 0)
            return -1;
        run->events++;
    }
    run_end(x, run, audit0, cmds0, 90);
    return 0;
}

/* Open loop: event i is produced at t0 + i / rate, whatever the engine does. */
static int run_rate(bench_engine_ctx_t *x, bench_rate_run_t *run, double rate, double seconds)
{
    size_t audit0 = atomic_load(&x->audit_seen), cmds0 = atomic_load(&x->commands_seen);
    size_t n = (size_t)(rate * seconds);
    run_begin(x, run, rate, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t due = x->run_t0_us + (uint64_t)((double)i * 1e6 / rate), now = bench_now_us();
        if (due > now + 200)
            bench_sleep_us(due - now);
        if (bench_engine_produce_next(x) != 0)
            return -1;
        run->events++;
    }
    run_end(x, run, audit0, cmds0, 90);
    return 0;
}

/* Counts "g:" fields (grant sources) in the users' packed values (the
 * partitions' users hashes sk:{pN}:users), and the users. */
static int count_grants(int port, size_t *grants, size_t *users)
{
    struct timeval tv = {10, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    *grants = *users = 0;
    if (!c || c->err)
        return -1;
    for (int p = 0; p < BENCH_PARTITIONS; p++) {
        char cursor[32] = "0";
        do {
            redisReply *r = redisCommand(c, "HSCAN sk:{p%d}:users %s COUNT 1000", p, cursor);
            if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
                if (r)
                    freeReplyObject(r);
                redisFree(c);
                return -1;
            }
            snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
            const redisReply *kv = r->element[1];
            for (size_t i = 0; i + 1 < kv->elements; i += 2) {
                const redisReply *v = kv->element[i + 1];
                sk_arena_t a;
                sk_packed_field_t *f = NULL;
                size_t n = 0;
                (*users)++;
                sk_arena_init(&a, 4096); /* the user's packed value (codec/state_pack.h) */
                if (sk_state_unpack(&a, v->str, v->len, &f, &n, NULL) == 0)
                    for (size_t j = 0; j < n; j++)
                        if (strncmp(f[j].name, "g:", 2) == 0)
                            (*grants)++;
                sk_arena_fini(&a);
            }
            freeReplyObject(r);
        } while (strcmp(cursor, "0") != 0);
    }
    redisFree(c);
    return 0;
}

/* Adds n far-future members to the partitions' timer sets (users that are
 * not due for 30 days), pipelined. */
static int seed_timers(int port, size_t n)
{
    struct timeval tv = {10, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    long long far = (long long)sk_now_ms() + 30 * DAY_MS;
    int rc = 0;
    if (!c || c->err)
        return -1;
    for (size_t i = 0; i < n && rc == 0; i += 1000) {
        size_t b = n - i < 1000 ? n - i : 1000;
        for (size_t j = 0; j < b; j++)
            redisAppendCommand(c, "ZADD sk:{p%lld}:timers %lld x%07lld",
                               (long long)((i + j) % BENCH_PARTITIONS), far + (long long)(i + j),
                               (long long)(i + j));
        for (size_t j = 0; j < b; j++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR)
                rc = -1;
            if (r)
                freeReplyObject(r);
        }
    }
    redisFree(c);
    return rc;
}

/* Timer users whose grants end (and timers fall due) spread over a window;
 * measures due time -> REVOKE readable. */
static int run_timers(bench_engine_ctx_t *x, bench_results_t *res)
{
    const bench_env_t *env = x->env;
    size_t pending = env->quick ? 20000 : 1000000;
    int n = env->quick ? 300 : 5000;
    sk_ms_t lead = env->quick ? 2000 : 8000, spread = env->quick ? 1000 : 10000;
    long long m0 = bench_redis_used_memory(env->redis_port);
    if (seed_timers(env->redis_port, pending) != 0)
        return -1;
    long long m1 = bench_redis_used_memory(env->redis_port);
    res->timers_pending = pending;
    res->redis_bytes_per_timer = (double)(m1 - m0) / (double)pending;
    bench_lat_init(&res->timer_samples, (size_t)n);
    x->timer_lat = &res->timer_samples;
    bench_lat_t produced, read;
    bench_lat_init(&produced, (size_t)n);
    bench_lat_init(&read, (size_t)n);
    x->timer_lat_produced = &produced;
    x->timer_lat_read = &read;
    sk_engine_stats(x->engine, &x->stats0);
    bench_cpu_sample(x->env->cpu, x->cpu0);
    x->run_t0_us = bench_now_us();
    sk_ms_t base = sk_now_ms() + lead;
    for (int t = 0; t < n; t++)
        if (bench_engine_produce_timer_user(x, t, base + spread * t / n) != 0)
            return -1;
    rd_kafka_flush(x->producer, 10000);
    double deadline = bench_now_s() + (double)(lead + spread) / 1000.0 + 20;
    while (atomic_load(&x->timer_revokes) < (size_t)n && bench_now_s() < deadline)
        bench_sleep_us(20000);
    x->timer_lat = NULL;
    x->timer_lat_produced = x->timer_lat_read = NULL;
    bench_lat_summary(&produced, &res->timer_produced_lat);
    bench_lat_summary(&read, &res->timer_read_lat);
    bench_lat_fini(&produced);
    bench_lat_fini(&read);
    res->timers_run.completed = (size_t)n;
    run_loop_figures(x, &res->timers_run);
    res->timers_expected = (size_t)n;
    res->timers_fired = atomic_load(&x->timer_revokes);
    sk_engine_stats_t s1;
    sk_engine_stats(x->engine, &s1);
    for (int i = 0; i < 6; i++) {
        res->timer_late[i] = (double)(s1.timer_late_hist[i] - x->stats0.timer_late_hist[i]);
        res->timer_wake[i] = (double)(s1.timer_wake_hist[i] - x->stats0.timer_wake_hist[i]);
    }
    res->timers_by_scan = (double)(s1.timers_by_scan - x->stats0.timers_by_scan);
    bench_lat_summary(&res->timer_samples, &res->timer_lat);
    res->timers_pending += (size_t)n;
    return 0;
}

/*
 * Recovery: the engine is stopped (cleanly), 2,000 events are produced
 * meanwhile, and a new instance starts: from its partitions' assignment
 * (which claims each partition, re-sends its outbox and checks Redis
 * against its changelog) to the first command readable.
 */
static int run_recovery(bench_engine_ctx_t *x, bench_results_t *res)
{
    size_t audit0 = atomic_load(&x->audit_seen), n = 2000;
    sk_engine_stats_t st;
    bench_engine_stop(x);
    for (size_t i = 0; i < n; i++)
        if (bench_engine_produce_next(x) != 0)
            return -1;
    rd_kafka_flush(x->producer, 10000);
    bench_sleep_us(500000); /* the reader has seen every command before the stop */
    atomic_store(&x->first_cmd_ms, 0);
    if (bench_engine_start(x) != 0)
        return -1;
    double deadline = bench_now_s() + 60;
    while (!atomic_load(&x->first_cmd_ms) && bench_now_s() < deadline)
        bench_sleep_us(2000);
    sk_engine_stats(x->engine, &st);
    if (atomic_load(&x->first_cmd_ms) && st.assigned_at_ms)
        res->recovery_ms = (double)(atomic_load(&x->first_cmd_ms) - st.assigned_at_ms);
    snprintf(res->recovery_what, sizeof(res->recovery_what),
             "a new instance, %d partitions, %zu events waiting", BENCH_PARTITIONS, n);
    (void)bench_engine_wait_audit(x, audit0 + n, 60);
    return res->recovery_ms > 0 ? 0 : -1;
}

/* BENCH_RUNS (comma list of sat, burst, 1k, 10k, timers, recovery; default
 * all): the engine's runs to do, for profiling one of them. */
static bool run_wanted(const char *name)
{
    const char *runs = getenv("BENCH_RUNS");
    size_t n = strlen(name);
    if (!runs || !*runs)
        return true;
    for (const char *p = runs; (p = strstr(p, name)); p += n)
        if ((p == runs || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static void write_tsv(const bench_env_t *env, const char *name, const bench_lat_t *l)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", env->out_dir, name);
    if (bench_lat_write_tsv(l, path) != 0)
        perror(path);
}

int bench_engine(const bench_env_t *env, bench_results_t *res)
{
    bench_engine_ctx_t *x = calloc(1, sizeof(*x));
    int rc = -1;
    if (!x)
        return -1;
    long long mem0 = bench_redis_used_memory(env->redis_port);
    if (bench_engine_open(x, env) != 0)
        goto out;
    res->fetch_wait_ms = x->fetch_wait_ms;
    /* warm-up: the group forms, the engine claims its partitions */
    size_t warm = env->quick ? 400 : 4000;
    for (size_t i = 0; i < warm; i++)
        if (bench_engine_produce_next(x) != 0)
            goto out;
    if (bench_engine_wait_audit(x, warm, 90) < warm) {
        fprintf(stderr, "bench: warm-up: the engine did not decide %zu events in 90 s\n", warm);
        goto out;
    }
    /* the fixed rates first: the mock broker scans a partition's whole log
     * for every fetch that finds data (bench/README.md), and the unpaced
     * runs below leave long logs behind */
    if ((run_wanted("1k") && run_rate(x, &res->r1k, 1000, env->quick ? 2 : 20)) ||
        (run_wanted("10k") && run_rate(x, &res->r10k, 10000, env->quick ? 1 : 10)))
        goto out;
    long long cmds0 = bench_redis_commands(env->redis_port);
    long long reqs0 = bench_redis_requests(env->redis_port);
    double cpu0 = bench_engine_cpu_s(x);
    if (run_wanted("sat")) {
        if (run_saturation(x, &res->sat, 4000, env->quick ? 3 : 30, env->quick ? 40000 : 250000))
            goto out;
        res->engine_cpu_pct = 100 * (bench_engine_cpu_s(x) - cpu0) / res->sat.seconds;
        res->redis_cmds_per_event =
            (double)(bench_redis_commands(env->redis_port) - cmds0) / (double)res->sat.completed;
        res->redis_requests_per_event =
            (double)(bench_redis_requests(env->redis_port) - reqs0) / (double)res->sat.completed;
    }
    if (run_wanted("burst") && run_burst(x, &res->burst, env->quick ? 5000 : 100000))
        goto out;
    res->engine_rss_mb = bench_rss_mb() - x->rss_before_mb;
    if (count_grants(env->redis_port, &res->active_grants, &res->users_with_state) == 0 &&
        res->active_grants)
        res->redis_bytes_per_grant =
            (double)(bench_redis_used_memory(env->redis_port) - mem0) / (double)res->active_grants;
    if ((run_wanted("timers") && run_timers(x, res) != 0) ||
        (run_wanted("recovery") && run_recovery(x, res) != 0))
        goto out;
    write_tsv(env, "lat_saturation.tsv", &res->sat.samples);
    write_tsv(env, "lat_burst.tsv", &res->burst.samples);
    write_tsv(env, "lat_1000.tsv", &res->r1k.samples);
    write_tsv(env, "lat_10000.tsv", &res->r10k.samples);
    write_tsv(env, "lat_timers.tsv", &res->timer_samples);
    rc = 0;
out:
    bench_engine_close(x);
    free(x);
    return rc;
}
