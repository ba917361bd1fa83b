/*
 * sk_fixture.h — real parts for integration tests: a private redis-server
 * on a free loopback port, librdkafka's mock cluster over TCP, the engine
 * running in a thread, a producer of schedule events and a reader of the
 * commands topic.
 */
#ifndef SK_FIXTURE_H
#define SK_FIXTURE_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "codec/codec.h"
#include "pipeline/engine.h"

/* A redis-server child process. */
typedef struct sk_fx_redis {
    pid_t pid;
    int port;
    char dir[256];
    int durable; /* set before start: append-only file, fsync always */
} sk_fx_redis_t;

/* Starts redis-server on a free port (no persistence) and waits until it
 * answers PING. 0 or -1. */
int sk_fx_redis_start(sk_fx_redis_t *r);
/* The same on a given port (e.g. to restart a stopped server). */
int sk_fx_redis_start_on(sk_fx_redis_t *r, int port);
void sk_fx_redis_stop(sk_fx_redis_t *r);

/* Runs a redis command, returns its integer or string reply parsed as a
 * number, or -1. For assertions on Redis state. */
long long sk_fx_redis_int(const sk_fx_redis_t *r, const char *fmt, ...);

/* The mock Kafka cluster with the seven shiftkey topics (same partition
 * count each). */
typedef struct sk_fx_kafka {
    rd_kafka_t *rk; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mcluster;
    const char *bootstraps;
    rd_kafka_t *producer;
} sk_fx_kafka_t;

int sk_fx_kafka_start(sk_fx_kafka_t *k, int partitions);
void sk_fx_kafka_stop(sk_fx_kafka_t *k);

/* Produces raw bytes to a topic with a key; waits for delivery. 0 or -1. */
int sk_fx_produce(sk_fx_kafka_t *k, const char *topic, const char *key, const void *val,
                  size_t len);

/* Encodes and produces a schedule event keyed by its user. */
int sk_fx_produce_event(sk_fx_kafka_t *k, const sk_schedule_event_t *ev);

/* Encodes and produces a request event keyed by its subject. */
int sk_fx_produce_request(sk_fx_kafka_t *k, const sk_request_event_t *ev);

/* Encodes and produces a provisioning result keyed by its user. */
int sk_fx_produce_result(sk_fx_kafka_t *k, const sk_provisioning_result_t *res);

/* The engine in a thread. */
typedef struct sk_fx_engine {
    sk_engine_t *engine;
    pthread_t thread;
    volatile sig_atomic_t stop, reload;
} sk_fx_engine_t;

int sk_fx_engine_start(sk_fx_engine_t *fe, const char *brokers, int redis_port, const char *rules,
                       const char *group);
/* The same with extra librdkafka settings ("producer:message.max.bytes=4096"). */
int sk_fx_engine_start_with(sk_fx_engine_t *fe, const char *brokers, int redis_port,
                            const char *rules, const char *group, const char *const *extra,
                            size_t n_extra);
void sk_fx_engine_stop(sk_fx_engine_t *fe);

/* A record read back from an output topic, decoded. */
typedef struct sk_fx_record {
    sk_command_t cmd;    /* for commands */
    sk_dead_letter_t dl; /* for dead letters */
    sk_task_t task;      /* for tasks */
    sk_ms_t seen_ms;     /* when the reader got it */
    const void *raw;     /* the bytes as on the topic */
    size_t raw_len;
} sk_fx_record_t;

/* Reads a topic from the beginning, in the background, keeping everything.
 * Commands, tasks and dead letters are decoded; audit records are kept raw
 * (search them with sk_fx_record_contains). */
typedef struct sk_fx_reader sk_fx_reader_t;
sk_fx_reader_t *sk_fx_reader_new(const char *brokers, const char *topic, int partitions);
void sk_fx_reader_destroy(sk_fx_reader_t *r);

/* Waits until at least n records for `user` (key) are there, up to
 * timeout_ms. Returns how many there are. Records stay owned by the reader. */
size_t sk_fx_reader_wait(sk_fx_reader_t *r, const char *user, size_t n, int timeout_ms);
/* A commands reader's command to `user` with this action on entitlement
 * `ent`, waiting up to timeout_ms; NULL when none came. Owned by the reader. */
const sk_fx_record_t *sk_fx_reader_wait_command(sk_fx_reader_t *r, const char *user,
                                                sk_command_action_t action, const char *ent,
                                                int timeout_ms);
size_t sk_fx_reader_get(sk_fx_reader_t *r, const char *user, const sk_fx_record_t **out,
                        size_t max);

/* True when the record's bytes contain `text` (Avro strings are stored as
 * is, so this finds a decision word or a reason in an audit record). */
bool sk_fx_record_contains(const sk_fx_record_t *rec, const char *text);

#endif
