/*
 * engine_internal.h — the engine's state, shared by the pipeline stages
 * (consume.c, apply.c, emit.c, timers.c, engine.c). Not a public API.
 */
#ifndef SK_ENGINE_INTERNAL_H
#define SK_ENGINE_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "base/arena.h"
#include "codec/codec.h"
#include "decide/decide.h"
#include "pipeline/engine.h"
#include "rules/rules.h"
#include "pipeline/store.h"

#define SK_MAX_PARTITIONS 1024

/* The input topics, co-partitioned: partition N of each belongs to the
 * same owner and shares the partition's Redis keys. */
typedef enum sk_in_topic {
    SK_IN_SCHEDULE = 0,
    SK_IN_REQUESTS = 1,
    SK_IN_RESULTS = 2, /* shiftkey.provisioning.results.v1 */
    SK_IN_TOPIC_COUNT
} sk_in_topic_t;

/* Where an input topic's partition stands. */
typedef struct sk_in_progress {
    int64_t next_offset;    /* next offset, for the Kafka commit */
    int64_t applied_offset; /* last offset known applied in Redis, -1 none */
    bool commit_pending;
} sk_in_progress_t;

/* Records of one partition's outbox produced together (emit.c). */
typedef struct sk_chunk sk_chunk_t;

/* A partition of the input topic this instance owns. */
typedef struct sk_owned {
    bool owned;
    int64_t epoch;        /* our claim in Redis */
    bool dirty;           /* outbox has entries not yet produced */
    sk_in_progress_t in[SK_IN_TOPIC_COUNT];
    sk_chunk_t *chunks, *chunks_tail; /* produced, awaiting acknowledgement, oldest first */
    size_t inflight;      /* outbox entries covered by those chunks */
} sk_owned_t;

struct sk_engine {
    sk_engine_config_t cfg;
    char *strings[16]; /* copies of cfg strings, freed at destroy */
    sk_rules_t *rules;
    sk_codec_t *codec;
    sk_store_t *store;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    rd_kafka_topic_t *out_topics[SK_OUT_TOPIC_COUNT];
    sk_owned_t parts[SK_MAX_PARTITIONS];
    sk_arena_t arena;      /* per record, reset before each */
    sk_engine_stats_t stats;
    bool redis_down_logged;
    long crash_after_apply; /* failpoints for fault tests (engine.c); 0 = off */
    long crash_before_trim;
    long flushes;
    sk_ms_t next_timer_scan;
    int32_t n_partitions;  /* of the input topics; 0 = not known yet */
};

/* consume.c */
int sk_consume_open(sk_engine_t *e, char *err, size_t err_len);
void sk_consume_close(sk_engine_t *e);
/* The partition count of the input topics (from the cluster's metadata,
 * cached until the next assignment): the on-call index is read from every
 * partition, owned or not. 0, or SK_EIO when the metadata cannot be had. */
int sk_consume_partition_count(sk_engine_t *e, int32_t *n);

/* apply.c: decode + decide + apply a batch of input records, with one
 * pipelined state load and one pipelined apply. 0; SK_EIO (reconnect, then
 * retry the same batch: what was applied is skipped); SK_EAGAIN (a
 * partition was claimed again: retry now); other codes: retry later. */
int sk_apply_batch(sk_engine_t *e, rd_kafka_message_t *const *msgs, size_t n);
/* Decides + applies the timer of one user. Same return codes. */
int sk_apply_timer(sk_engine_t *e, int32_t partition, const char *user, sk_ms_t now);

/* emit.c */
int sk_emit_open(sk_engine_t *e, char *err, size_t err_len);
void sk_emit_close(sk_engine_t *e);
/* One pass, without blocking: serves delivery reports, trims what was
 * acknowledged, produces what was staged since, commits input offsets.
 * 0 or SK_EIO (Redis). */
int sk_emit_pump(sk_engine_t *e);
/* Pumps until everything staged for partition p (or all owned ones) is
 * acknowledged and trimmed, or 30 s passed. 0, SK_EIO. */
int sk_emit_flush_partition(sk_engine_t *e, int32_t p);
int sk_emit_flush_all(sk_engine_t *e);
/* Forgets partition p's chunks in flight (before it is reset or released). */
void sk_emit_forget(sk_engine_t *e, int32_t p);

/* Exits abruptly when the failpoint set for this stage is reached (fault
 * tests only; see failpoint_init in engine.c). */
void sk_engine_failpoint_before_trim(sk_engine_t *e);

/* timers.c: fires the due timers of owned partitions. */
int sk_timers_fire(sk_engine_t *e, sk_ms_t now);

/* The input topic index of a topic name, or -1; and the name of an index. */
int sk_engine_in_topic(const sk_engine_t *e, const char *name);
const char *sk_engine_in_topic_name(const sk_engine_t *e, int t);

/* Claims partition p in Redis (new epoch) and re-sends its outbox. */
int sk_engine_take_partition(sk_engine_t *e, int32_t p);

/* Sets librdkafka "name=value" settings on conf of the client `scope`
 * ("consumer" or "producer"); a setting prefixed "consumer:" or "producer:"
 * applies to that client only, others to both. 0 or -1 with err. */
int sk_kafka_conf_apply(rd_kafka_conf_t *conf, const char *scope, const char *const *props,
                        size_t n, char *err, size_t err_len);

#endif
