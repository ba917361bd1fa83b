/*
 * bench_raw_kafka.c — the raw Kafka pipe, no shiftkey logic: plain
 * librdkafka produces records of the size and key spread of the benchmark's
 * events (a real encoded ScheduleEvent, keys over 100,000 users) to a topic
 * of the same mock broker, while a consumer reads them all back. The figure
 * is records/s through the pipe (first produce to last consume).
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "codec/codec.h"

typedef struct pipe_reader {
    rd_kafka_t *rk;
    size_t want;
    atomic_size_t got;
    atomic_int stop;
    uint64_t last_us;
} pipe_reader_t;

static void *reader_main(void *arg)
{
    pipe_reader_t *r = arg;
    while (!atomic_load(&r->stop) && atomic_load(&r->got) < r->want) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 50);
        if (!m)
            continue;
        if (!m->err) {
            atomic_fetch_add(&r->got, 1);
            r->last_us = bench_now_us();
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *brokers, const char *const *kv)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
    for (; kv && kv[0]; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "raw kafka: %s\n", err);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk)
        fprintf(stderr, "raw kafka: %s\n", err);
    return rk;
}

/* One encoded ScheduleEvent like the benchmark sends, into buf. */
static size_t sample_event(char *buf, size_t cap)
{
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    void *out = NULL;
    size_t len = 0;
    sk_ms_t now = sk_now_ms();
    sk_schedule_event_t ev = {.event_id = "e-00000001",
                              .type = SK_SHIFT_STARTED,
                              .source = "pagerduty",
                              .rotation = "rot-0042",
                              .user = "u012345",
                              .shift_id = "sh-12345-0",
                              .start_ms = now - 60000,
                              .end_ms = now + 8 * 3600000LL,
                              .escalation_level = 1,
                              .occurred_at_ms = now};
    sk_arena_init(&a, 4096);
    if (codec && sk_codec_encode_schedule(codec, &ev, &a, &out, &len) == 0 && len <= cap)
        memcpy(buf, out, len);
    else
        len = 0;
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    return len;
}

int bench_raw_kafka(const bench_env_t *env, bench_results_t *res)
{
    static const char *const pconf[] = {"linger.ms", "5", "enable.idempotence", "true", NULL};
    static const char *const cconf[] = {
        "group.id", "bench-raw", "enable.auto.commit", "false", "fetch.wait.max.ms", "10", NULL};
    char val[1024];
    size_t n = env->quick ? 20000 : 300000, len = sample_event(val, sizeof(val));
    pipe_reader_t r = {.want = n};
    pthread_t th;
    int rc = -1;
    if (!len)
        return -1;
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, env->brokers, pconf);
    r.rk = client(RD_KAFKA_CONSUMER, env->brokers, cconf);
    if (!p || !r.rk)
        goto out;
    rd_kafka_poll_set_consumer(r.rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(BENCH_PARTITIONS);
    for (int i = 0; i < BENCH_PARTITIONS; i++)
        rd_kafka_topic_partition_list_add(l, BENCH_RAW_TOPIC, i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(r.rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    pthread_create(&th, NULL, reader_main, &r);
    bench_sleep_us(1000000); /* the consumer connects and starts fetching */
    uint64_t t0 = bench_now_us();
    for (size_t i = 0; i < n; i++) {
        char key[16];
        int klen = snprintf(key, sizeof(key), "u%06zu", (i * 7919) % 100000);
        while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(BENCH_RAW_TOPIC), RD_KAFKA_V_KEY(key, klen),
                                 RD_KAFKA_V_VALUE(val, len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 1);
    }
    rd_kafka_flush(p, 60000);
    uint64_t t_prod = bench_now_us();
    for (int i = 0; i < 600 && atomic_load(&r.got) < n; i++)
        bench_sleep_us(100000);
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    size_t got = atomic_load(&r.got);
    res->kafka_records = n;
    res->kafka_record_bytes = (double)len + 7; /* + the key */
    res->kafka_produce_per_s = (double)n / ((double)(t_prod - t0) / 1e6);
    if (got == n)
        res->kafka_pipe_per_s = (double)n / ((double)(r.last_us - t0) / 1e6);
    else
        fprintf(stderr, "raw kafka: consumed %zu of %zu records\n", got, n);
    rc = got == n ? 0 : -1;
out:
    if (r.rk) {
        rd_kafka_consumer_close(r.rk);
        rd_kafka_destroy(r.rk);
    }
    if (p)
        rd_kafka_destroy(p);
    return rc;
}
