/*
 * bench_engine.c — the engine in a thread, the event producer and the
 * reader of its output topics (see bench_engine.h).
 *
 * Latency is measured without touching the engine: just before producing
 * an event that must yield commands (STARTED, UPDATED, ENDED), the producer
 * stores the time in send_us[user]; the reader takes it back (exchange with
 * 0) at the first command keyed by that user, so each such event gives one
 * sample: record produced -> first command readable on the commands topic.
 * A second sample starts when Kafka acknowledged the record (the
 * producer's delivery report, served at once by a thread of its own): the
 * record in Kafka -> the same command, without the producer's linger.
 * A user's next event is 100,000 events later, so samples cannot mix.
 */
#include "bench_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define HOUR_MS (3600LL * 1000)

static void *engine_main(void *arg)
{
    bench_engine_ctx_t *x = arg;
    sk_engine_run(x->engine, &x->stop, &x->reload);
    return NULL;
}

/* "u012345" -> 12345 (kind 'u') or "t00042" -> 42 (kind 't'); -1 if neither. */
static long key_index(const void *key, size_t len, char kind)
{
    const char *k = key;
    long v = 0;
    if (!k || len < 2 || len > 12 || k[0] != kind)
        return -1;
    for (size_t i = 1; i < len; i++) {
        if (k[i] < '0' || k[i] > '9')
            return -1;
        v = v * 10 + (k[i] - '0');
    }
    return v;
}

static void on_command(bench_engine_ctx_t *x, const rd_kafka_message_t *m)
{
    long u = key_index(m->key, m->key_len, 'u');
    int64_t none = 0;
    atomic_fetch_add(&x->commands_seen, 1);
    atomic_compare_exchange_strong(&x->first_cmd_ms, &none, (int64_t)sk_now_ms());
    if (u >= 0 && u < BENCH_USERS) {
        uint64_t sent = atomic_exchange(&x->send_us[u], 0);
        uint64_t acked = atomic_exchange(&x->acked_us[u], 0);
        bench_lat_t *lat = atomic_load(&x->lat), *lat_kafka = atomic_load(&x->lat_kafka);
        uint64_t now = bench_now_us();
        if (sent && lat)
            bench_lat_add(lat, (double)(sent - x->run_t0_us) / 1e6, (double)(now - sent) / 1e3);
        /* the report not served yet (rare: the thread below waits on it) gives no sample */
        if (sent && acked >= sent && lat_kafka)
            bench_lat_add(lat_kafka, (double)(sent - x->run_t0_us) / 1e6,
                          (double)(now - acked) / 1e3);
        return;
    }
    long t = key_index(m->key, m->key_len, 't');
    if (t < 0 || t >= BENCH_TIMER_USERS_MAX || !atomic_load(&x->timer_due_ms[t]))
        return;
    /* timer users: only their REVOKE counts (the GRANT came long before) */
    sk_arena_t a;
    sk_command_t cmd;
    char reason[256];
    sk_arena_init(&a, 4096);
    if (sk_codec_decode_command(x->reader_codec, m->payload, m->len, &a, &cmd, reason,
                                sizeof(reason)) == 0 &&
        cmd.action == SK_CMD_REVOKE) {
        int64_t due = atomic_exchange(&x->timer_due_ms[t], 0);
        sk_ms_t now = sk_now_ms();
        double at = (double)(bench_now_us() - x->run_t0_us) / 1e6;
        int64_t produced = rd_kafka_message_timestamp(m, NULL);
        if (due && x->timer_lat)
            bench_lat_add(x->timer_lat, at, (double)(now - due));
        if (due && produced > 0 && x->timer_lat_produced && x->timer_lat_read) {
            bench_lat_add(x->timer_lat_produced, at, (double)(produced - due));
            bench_lat_add(x->timer_lat_read, at, (double)(now - produced));
        }
        atomic_fetch_add(&x->timer_revokes, 1);
    }
    sk_arena_fini(&a);
}

static void *reader_main(void *arg)
{
    bench_engine_ctx_t *x = arg;
    while (!atomic_load(&x->reader_stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(x->reader, 20);
        if (!m)
            continue;
        if (!m->err) {
            const char *topic = rd_kafka_topic_name(m->rkt);
            if (strcmp(topic, "shiftkey.commands.v1") == 0)
                on_command(x, m);
            else if (strcmp(topic, "shiftkey.audit.v1") == 0)
                atomic_fetch_add(&x->audit_seen, 1);
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/* The producer's delivery report: an event that must yield commands
 * carries its user + 1 as opaque; the time Kafka took it is noted. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    bench_engine_ctx_t *x = opaque;
    uintptr_t u = (uintptr_t)m->_private;
    (void)rk;
    if (x && !m->err && u > 0 && u <= BENCH_USERS)
        atomic_store(&x->acked_us[u - 1], bench_now_us());
}

/* Serves the producer's delivery reports as they come (rd_kafka_poll wakes
 * on each), so their times are the acknowledgements'. */
static void *dr_main(void *arg)
{
    bench_engine_ctx_t *x = arg;
    while (!atomic_load(&x->dr_stop))
        rd_kafka_poll(x->producer, 50);
    return NULL;
}

static rd_kafka_t *kafka_client(rd_kafka_type_t type, const char *brokers, const char *const *kv,
                                bench_engine_ctx_t *dr_ctx)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (dr_ctx) {
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, dr_ctx);
    }
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
    for (; kv && kv[0]; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "bench: %s=%s: %s\n", kv[0], kv[1], err);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk)
        fprintf(stderr, "bench: %s\n", err);
    return rk;
}

static int open_reader(bench_engine_ctx_t *x)
{
    static const char *const conf[] = {
        "group.id", "bench-reader", "enable.auto.commit", "false", "fetch.wait.max.ms", "1", NULL};
    static const char *const topics[] = {"shiftkey.commands.v1", "shiftkey.audit.v1"};
    if (!(x->reader = kafka_client(RD_KAFKA_CONSUMER, x->env->brokers, conf, NULL)))
        return -1;
    rd_kafka_poll_set_consumer(x->reader);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2 * BENCH_PARTITIONS);
    for (int t = 0; t < 2; t++)
        for (int p = 0; p < BENCH_PARTITIONS; p++)
            rd_kafka_topic_partition_list_add(l, topics[t], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(x->reader, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (!(x->reader_codec = sk_codec_new()))
        return -1;
    return pthread_create(&x->reader_thread, NULL, reader_main, x) == 0 ? 0 : -1;
}

int bench_engine_open(bench_engine_ctx_t *x, const bench_env_t *env)
{
    const char *linger = getenv("BENCH_PRODUCER_LINGER_MS");
    const char *const pconf[] = {"linger.ms", linger && *linger ? linger : "5", "partitioner",
                                 "murmur2_random", NULL};
    /* the producer lingers 5 ms, as the connectors do (connectors/core/
     * emit.c) and librdkafka by default: the mock broker hands out one
     * message set per partition per fetch, so the open loop's records must
     * come in sets as a real source sends them (bench/README.md).
     * The mock broker answers a fetch that finds no data only after
     * fetch.wait.max.ms, even if records arrive meanwhile (a real broker
     * answers as soon as they do): the engine and the reader wait 1 ms (an
     * idle fetch costs the mock little: no log is searched) */
    const char *fw = getenv("BENCH_ENGINE_FETCH_WAIT_MS");
    const char *lvl = getenv("BENCH_LOG_LEVEL");
    snprintf(x->fetch_wait_prop, sizeof(x->fetch_wait_prop), "consumer:fetch.wait.max.ms=%s",
             fw && *fw ? fw : "1");
    x->fetch_wait_ms = atoi(fw && *fw ? fw : "1");
    x->eprops[0] = "consumer:session.timeout.ms=6000";
    x->eprops[1] = "consumer:heartbeat.interval.ms=500";
    x->eprops[2] = x->fetch_wait_prop;
    x->env = env;
    sk_arena_init(&x->arena, 4096);
    sk_log_set_level(lvl && sk_log_level_parse(lvl) >= 0 ? (sk_log_level_t)sk_log_level_parse(lvl)
                                                         : SK_LOG_INFO);
    if (!(x->codec = sk_codec_new()) ||
        !(x->producer = kafka_client(RD_KAFKA_PRODUCER, env->brokers, pconf, x)) ||
        pthread_create(&x->dr_thread, NULL, dr_main, x) != 0)
        return -1;
    bench_cpu_claim(env->cpu, BENCH_CPU_PRODUCER); /* this thread and the producer's */
    if (open_reader(x) != 0)
        return -1;
    bench_cpu_claim(env->cpu, BENCH_CPU_READER);
    x->rss_before_mb = bench_rss_mb();
    return bench_engine_start(x);
}

int bench_engine_start(bench_engine_ctx_t *x)
{
    char err[1024];
    sk_engine_config_t cfg = {.brokers = x->env->brokers,
                              .rules_path = x->env->rules_dir,
                              .group_id = "shiftkey-bench",
                              .redis = {.host = "127.0.0.1", .port = x->env->redis_port},
                              .kafka_props = x->eprops,
                              .n_kafka_props = 3};
    x->stop = 0;
    if (!(x->engine = sk_engine_new(&cfg, err, sizeof(err)))) {
        fprintf(stderr, "bench: engine: %s\n", err);
        return -1;
    }
    if (pthread_create(&x->engine_thread, NULL, engine_main, x) != 0)
        return -1;
    pthread_setname_np(x->engine_thread, "sk-engine"); /* for perf --comm */
    pthread_getcpuclockid(x->engine_thread, &x->engine_clock);
    return 0;
}

void bench_engine_stop(bench_engine_ctx_t *x)
{
    if (!x->engine)
        return;
    x->stop = 1;
    pthread_join(x->engine_thread, NULL);
    sk_engine_destroy(x->engine);
    x->engine = NULL;
}

double bench_engine_cpu_s(const bench_engine_ctx_t *x)
{
    struct timespec ts;
    if (clock_gettime(x->engine_clock, &ts) != 0)
        return -1;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_engine_close(bench_engine_ctx_t *x)
{
    bench_engine_stop(x);
    if (x->reader) {
        atomic_store(&x->reader_stop, 1);
        pthread_join(x->reader_thread, NULL);
        rd_kafka_consumer_close(x->reader);
        rd_kafka_destroy(x->reader);
        x->reader = NULL;
    }
    if (x->producer) {
        rd_kafka_flush(x->producer, 10000);
        atomic_store(&x->dr_stop, 1);
        pthread_join(x->dr_thread, NULL);
        rd_kafka_destroy(x->producer);
        x->producer = NULL;
    }
    sk_codec_destroy(x->reader_codec);
    sk_codec_destroy(x->codec);
    x->codec = x->reader_codec = NULL;
    sk_arena_fini(&x->arena);
}

/* Produces ev; u >= 0: an event that must yield commands, of user u (its
 * delivery report notes acked_us[u]). */
static int produce(bench_engine_ctx_t *x, const sk_schedule_event_t *ev, long u)
{
    void *buf;
    size_t len;
    sk_arena_reset(&x->arena);
    if (sk_codec_encode_schedule(x->codec, ev, &x->arena, &buf, &len) != 0)
        return -1;
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            x->producer, RD_KAFKA_V_TOPIC("shiftkey.schedule.v1"),
            RD_KAFKA_V_KEY(ev->user, strlen(ev->user)), RD_KAFKA_V_VALUE(buf, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)(u >= 0 ? u + 1 : 0)), RD_KAFKA_V_END);
        if (!err)
            break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return -1;
        rd_kafka_poll(x->producer, 1);
    }
    rd_kafka_poll(x->producer, 0);
    return 0;
}

int bench_engine_produce_next(bench_engine_ctx_t *x)
{
    static const sk_shift_event_type_t cycle[4] = {SK_SHIFT_SCHEDULED, SK_SHIFT_STARTED,
                                                   SK_SHIFT_UPDATED, SK_SHIFT_ENDED};
    char user[16], rot[16], shift[32], id[32];
    uint64_t s = x->seq++;
    uint32_t u = (uint32_t)((s * 7919) % BENCH_USERS);
    uint32_t k = x->user_events[u]++ + u; /* users start at different points */
    sk_shift_event_type_t type = cycle[k % 4];
    sk_ms_t now = sk_now_ms();
    snprintf(user, sizeof(user), "u%06u", u);
    snprintf(rot, sizeof(rot), "rot-%04u", u % BENCH_ROTATIONS);
    snprintf(shift, sizeof(shift), "sh-%u-%u", u, k / 4);
    snprintf(id, sizeof(id), "e-%llu", (unsigned long long)s);
    sk_schedule_event_t ev = {.event_id = id,
                              .type = type,
                              .source = "pagerduty",
                              .rotation = rot,
                              .user = user,
                              .shift_id = shift,
                              .escalation_level = 1,
                              .occurred_at_ms = now};
    switch (type) {
    case SK_SHIFT_SCHEDULED: /* future: no command, a timer 1h45m ahead */
        ev.start_ms = now + 2 * HOUR_MS;
        ev.end_ms = now + 10 * HOUR_MS;
        break;
    case SK_SHIFT_STARTED: /* GRANT */
        ev.start_ms = now - 60000;
        ev.end_ms = now + 8 * HOUR_MS;
        break;
    case SK_SHIFT_UPDATED: /* override: end moved, EXTEND */
        ev.start_ms = now - 120000;
        ev.end_ms = now + 9 * HOUR_MS;
        break;
    default: /* ENDED: REVOKE (revoke_after 0) */
        ev.start_ms = now - 180000;
        ev.end_ms = now;
        break;
    }
    atomic_store(&x->acked_us[u], 0);
    atomic_store(&x->send_us[u], type == SK_SHIFT_SCHEDULED ? 0 : bench_now_us());
    return produce(x, &ev, type == SK_SHIFT_SCHEDULED ? -1 : (long)u);
}

int bench_engine_produce_timer_user(bench_engine_ctx_t *x, int t, sk_ms_t due_ms)
{
    char user[16], rot[16], shift[32], id[32];
    sk_ms_t now = sk_now_ms();
    snprintf(user, sizeof(user), "t%05d", t);
    snprintf(rot, sizeof(rot), "rot-%04d", t % BENCH_ROTATIONS);
    snprintf(shift, sizeof(shift), "tsh-%d", t);
    snprintf(id, sizeof(id), "te-%d", t);
    sk_schedule_event_t ev = {.event_id = id,
                              .type = SK_SHIFT_STARTED,
                              .source = "pagerduty",
                              .rotation = rot,
                              .user = user,
                              .shift_id = shift,
                              .start_ms = now - 60000,
                              .end_ms = due_ms,
                              .escalation_level = 1,
                              .occurred_at_ms = now};
    atomic_store(&x->timer_due_ms[t], due_ms);
    return produce(x, &ev, -1);
}

size_t bench_engine_wait_audit(bench_engine_ctx_t *x, size_t n, double timeout_s)
{
    double deadline = bench_now_s() + timeout_s;
    size_t have;
    while ((have = atomic_load(&x->audit_seen)) < n && bench_now_s() < deadline) {
        rd_kafka_poll(x->producer, 0);
        bench_sleep_us(2000);
    }
    return have;
}
