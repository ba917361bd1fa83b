/*
 * bench_raw_kafka.c — the raw Kafka pipe for the pipeline's real record
 * mix, no shiftkey logic: per event, plain librdkafka produces the input
 * record and every output the engine produces for it (commands, audit,
 * tasks, changelog: bench_mix.c, real encoded records of their real sizes),
 * keys over 100,000 users, to topics of the same mock broker, while a
 * consumer reads every record back. The figure is events/s through the pipe
 * (first produce to last consume).
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

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

/* One topic per kind of record, as the engine has (bench.h's
 * BENCH_RAW_TOPICS, created by bench_main.c), so no partition of the mock
 * broker comes near its retention. */
static const char *const raw_topics[BENCH_MIX_KINDS] = BENCH_RAW_TOPICS;

static void assign_all(rd_kafka_t *rk)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(BENCH_MIX_KINDS * BENCH_PARTITIONS);
    for (int k = 0; k < BENCH_MIX_KINDS; k++)
        for (int i = 0; i < BENCH_PARTITIONS; i++)
            rd_kafka_topic_partition_list_add(l, raw_topics[k], i)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

int bench_raw_kafka(const bench_env_t *env, bench_results_t *res)
{
    static const char *const pconf[] = {"linger.ms", "1", "enable.idempotence", "true", NULL};
    static const char *const cconf[] = {
        "group.id", "bench-raw", "enable.auto.commit", "false", "fetch.wait.max.ms", "10", NULL};
    bench_mix_t mix;
    size_t events = env->quick ? 5000 : 100000, n = 0;
    double bytes = 0;
    pipe_reader_t r = {0};
    pthread_t th;
    int rc = -1;
    if (bench_mix_build(env, &mix) != 0)
        return -1;
    for (size_t i = 0; i < events; i++)
        n += mix.events[i % mix.n_events].n;
    r.want = n;
    double cpu0[BENCH_CPU_PARTS], cpu1[BENCH_CPU_PARTS];
    rd_kafka_t *p = client(RD_KAFKA_PRODUCER, env->brokers, pconf);
    bench_cpu_claim(env->cpu, BENCH_CPU_PRODUCER);
    r.rk = client(RD_KAFKA_CONSUMER, env->brokers, cconf);
    if (!p || !r.rk)
        goto out;
    rd_kafka_poll_set_consumer(r.rk);
    assign_all(r.rk);
    pthread_create(&th, NULL, reader_main, &r);
    bench_cpu_claim(env->cpu, BENCH_CPU_READER);
    bench_sleep_us(1000000); /* the consumer connects and starts fetching */
    bench_cpu_sample(env->cpu, cpu0);
    uint64_t t0 = bench_now_us();
    for (size_t i = 0; i < events; i++) {
        const bench_mix_event_t *ev = &mix.events[i % mix.n_events];
        char key[16];
        int klen = snprintf(key, sizeof(key), "u%06zu", (i * 7919) % 100000);
        for (size_t k = ev->first; k < ev->first + ev->n; k++) {
            const bench_mix_rec_t *rec = &mix.recs[k];
            const char *topic = raw_topics[rec->kind];
            bytes += (double)(rec->len + (size_t)klen);
            while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen),
                                     RD_KAFKA_V_VALUE(rec->val, rec->len),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p, 1);
        }
    }
    rd_kafka_flush(p, 60000);
    uint64_t t_prod = bench_now_us();
    for (int i = 0; i < 600 && atomic_load(&r.got) < n; i++)
        bench_sleep_us(100000);
    bench_cpu_sample(env->cpu, cpu1); /* the idle wait after the last record is small */
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    size_t got = atomic_load(&r.got);
    bench_cpu_per_event(cpu0, cpu1, events, &res->kafka_cpu);
    res->kafka_records = n;
    res->kafka_events = events;
    res->kafka_record_bytes = bytes / (double)n;
    res->kafka_records_per_event = (double)n / (double)events;
    res->kafka_produce_per_s = (double)events / ((double)(t_prod - t0) / 1e6);
    bench_mix_describe(&mix, res->mix, sizeof(res->mix));
    if (got == n)
        res->kafka_pipe_per_s = (double)events / ((double)(r.last_us - t0) / 1e6);
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
    bench_mix_free(&mix);
    return rc;
}
