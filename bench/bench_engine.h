/*
 * bench_engine.h — the engine under test and what drives it: the engine in
 * a thread (as tests/lib/sk_fixture.c runs it), a producer of schedule
 * events, and a reader of the commands and audit topics that turns what it
 * sees into latency samples. Internal to the bench.
 */
#ifndef SK_BENCH_ENGINE_H
#define SK_BENCH_ENGINE_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "bench.h"
#include "codec/codec.h"
#include "pipeline/engine.h"

#define BENCH_USERS           100000
#define BENCH_TIMER_USERS_MAX 20000

typedef struct bench_engine_ctx {
    const bench_env_t *env;
    /* the engine in a thread */
    sk_engine_t *engine;
    pthread_t engine_thread;
    volatile sig_atomic_t stop, reload;
    /* the event producer (main thread) */
    rd_kafka_t *producer;
    sk_codec_t *codec;
    sk_arena_t arena;
    uint64_t seq;                      /* events produced so far */
    uint32_t user_events[BENCH_USERS]; /* per user: events produced */
    /* shared with the reader thread */
    _Atomic uint64_t send_us[BENCH_USERS];               /* produce time of an event that should
                                              yield commands; 0 = none pending */
    _Atomic uint64_t acked_us[BENCH_USERS];              /* when Kafka acknowledged that event (the
                                              producer's delivery report); 0 = not yet */
    _Atomic int64_t timer_due_ms[BENCH_TIMER_USERS_MAX]; /* 0 = fired or none */
    atomic_size_t audit_seen, commands_seen, timer_revokes;
    _Atomic int64_t first_cmd_ms; /* wall clock of the first command read since it was 0 */
    /* reader thread */
    rd_kafka_t *reader;
    pthread_t reader_thread;
    atomic_int reader_stop;
    sk_codec_t *reader_codec;
    /* the run being measured; written by the reader only while set */
    _Atomic(bench_lat_t *) lat;       /* from the produce call */
    _Atomic(bench_lat_t *) lat_kafka; /* from the delivery report: the record in Kafka */
    pthread_t dr_thread;              /* serves the producer's delivery reports at once */
    atomic_int dr_stop;
    uint64_t run_t0_us;
    bench_lat_t *timer_lat;
    /* the same REVOKEs split at the engine's produce call (the record's
     * CreateTime): due -> produced, produced -> read */
    bench_lat_t *timer_lat_produced, *timer_lat_read;
    double rss_before_mb;
    int fetch_wait_ms;
    clockid_t engine_clock; /* CPU time of the engine thread */
    /* at the start of the run being measured (bench_runs.c) */
    sk_engine_stats_t stats0;
    double cpu0[BENCH_CPU_PARTS];
    char fetch_wait_prop[64];
    const char *eprops[3]; /* the engine's extra Kafka settings */
} bench_engine_ctx_t;

int bench_engine_open(bench_engine_ctx_t *x, const bench_env_t *env);
/* Stops and destroys the engine (a clean stop: what is staged stays in
 * the outboxes), leaving the producer and reader running. */
void bench_engine_stop(bench_engine_ctx_t *x);
/* Creates and starts the engine again (a new instance of the group).
 * 0 or -1. */
int bench_engine_start(bench_engine_ctx_t *x);
void bench_engine_close(bench_engine_ctx_t *x);

/* Produces the next event of the mix (round robin over the users, each user
 * cycling SCHEDULED -> STARTED -> UPDATED -> ENDED). Does not wait. 0 or -1. */
int bench_engine_produce_next(bench_engine_ctx_t *x);

/* Produces a STARTED shift for timer user t whose grant (and timer) ends at
 * due_ms (wall clock). 0 or -1. */
int bench_engine_produce_timer_user(bench_engine_ctx_t *x, int t, sk_ms_t due_ms);

/* CPU seconds the engine thread used so far, or -1. */
double bench_engine_cpu_s(const bench_engine_ctx_t *x);

/* Waits until the audit topic shows `n` decisions, up to timeout_s.
 * Returns the count seen. */
size_t bench_engine_wait_audit(bench_engine_ctx_t *x, size_t n, double timeout_s);

#endif
