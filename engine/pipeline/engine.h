/*
 * engine.h — the shiftkey engine as a library: shiftkeyd is a thin main()
 * around it, and the integration tests drive it in-process.
 *
 * Data flow of one input record (each stage its own file, under engine/):
 *   pipeline/consume.c  the consumer group on the schedule, requests and
 *                       provisioning results topics (co-partitioned): owns
 *                       partitions (pipeline/partition.c claims them) and
 *                       starts after the offset applied in Redis
 *   codec/decode.c      Avro -> sk_schedule_event_t (and the other inputs),
 *                       validated
 *   decide/shift.c      pure decision: new state, commands, tasks, audit, next
 *                       timer (decide/request.c, decide/result.c for the
 *                       other inputs)
 *   pipeline/apply.c    loads the users' states (pipeline/load.c), decides,
 *                       encodes the outputs and turns the decision into plain
 *                       writes that pipeline/store.c applies with the outbox
 *                       atomically
 *   pipeline/emit.c     produces the outbox, trims what Kafka acknowledged,
 *                       commits the input offsets
 *   pipeline/timers.c   due user timers -> the same decide/apply/emit path
 *   pipeline/engine.c   the loop over all of them
 * engine_internal.h lists the pipeline files in the order they call one
 * another.
 */
#ifndef SK_ENGINE_H
#define SK_ENGINE_H

#include <signal.h>

#include "base/metrics.h"
#include "pipeline/store.h"

typedef struct sk_engine_config {
    const char *brokers;   /* Kafka bootstrap servers */
    const char *group_id;  /* consumer group; default "shiftkey" */
    const char *client_id; /* default "shiftkeyd" */
    /* topic names: defaults and options in base/topics.h */
    const char *schedule_topic;   /* default "shiftkey.schedule.v1" */
    const char *requests_topic;   /* default "shiftkey.requests.v1" */
    const char *results_topic;    /* default "shiftkey.provisioning.results.v1" */
    const char *tasks_topic;      /* default "shiftkey.tasks.v1" */
    const char *commands_topic;   /* default "shiftkey.commands.v1" */
    const char *audit_topic;      /* default "shiftkey.audit.v1" */
    const char *deadletter_topic; /* default "shiftkey.deadletter.v1" */
    const char *changelog_topic;  /* default "shiftkey.changelog.v1": the ledger Redis is
                                     restored from (compacted, partitions as the inputs') */
    const char *rules_path;       /* directory or file of YAML rules */
    sk_store_config_t redis;
    int timer_interval_ms; /* the scan: ledger check, claims, all due timers; default 200
                              (timers also fire as soon as due, between scans) */
    int batch_max; /* most records polled, decided and applied as one pipelined batch; default 500 */
    int fetch_wait_max_ms;          /* consumer fetch.wait.max.ms; 0 = librdkafka's */
    const char *const *kafka_props; /* extra librdkafka "name=value" settings */
    size_t n_kafka_props;
    const char *schema_dir;      /* more writer schemas (schema_registry.h); NULL: none */
    const char *schema_registry; /* schema registry base URL for unknown ids; NULL: none */
    sk_metrics_t *metrics;       /* where to report (engine_metrics.h); NULL = nowhere.
                                     Borrowed: it must outlive the engine */
} sk_engine_config_t;

/* Defaults for every field left zero/NULL. */
void sk_engine_config_defaults(sk_engine_config_t *cfg);

typedef struct sk_engine sk_engine_t;

/*
 * sk_engine_new — loads the rules, creates the consumer and the producer
 * and connects to Redis (a Redis that is down is retried later, not an
 * error). Returns NULL on a configuration error, with the reason in err.
 * The config's strings are copied.
 */
sk_engine_t *sk_engine_new(const sk_engine_config_t *cfg, char *err, size_t err_len);

/*
 * sk_engine_run — consumes, decides, applies and emits until *stop becomes
 * non-zero; then flushes what is staged, commits and returns 0. When
 * *reload becomes non-zero it reloads the rules (a rule set with errors is
 * refused and the old one stays in force) and resets *reload to 0.
 */
int sk_engine_run(sk_engine_t *e, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

/* Leaves the group (committing offsets) and frees everything. */
void sk_engine_destroy(sk_engine_t *e);

/* Counters since start, for logs, tests and benchmarks. */
typedef struct sk_engine_stats {
    uint64_t records, decisions, commands, dead_letters, duplicates_skipped;
    uint64_t timers_fired, outbox_produced, fenced;
    uint64_t outputs_refused;    /* records Kafka refused for good, replaced by a notice */
    uint64_t commands_held;      /* REVOKE/EXTENDs Kafka refused, held and retried (now) */
    uint64_t partitions_stopped; /* offsets that did not fit the topics */
    uint64_t restores;           /* partitions rebuilt from the changelog */
    uint64_t restored_users;     /* users written back by those restores */
    uint64_t restore_ms_last;    /* how long the last one took (read + write), ms */
    uint64_t restore_ms_max;
    sk_ms_t assigned_at_ms; /* wall clock when the last assignment began (0: none yet) */
    /* the loop (engine.c), for benchmarks: its turns, the batches polled
     * and their records (batches of 1, 2-9, 10-99, 100 to batch_max - 1,
     * batch_max records), the wall time of each part of a turn in µs, and
     * the offset commits sent (emit.c) */
    uint64_t loop_turns, loop_batches, loop_batch_records, loop_batch_hist[5];
    uint64_t loop_us_poll, loop_us_apply, loop_us_timers, loop_us_pump;
    uint64_t loop_work_hist[5]; /* turns whose work (all but the wait for input) took
                                   < 1 ms, 1-5 ms, 5-20 ms, 20-100 ms, >= 100 ms */
    uint64_t loop_slow[3];      /* turns whose apply, timers or emit part alone took >= 20 ms */
    uint64_t loop_poll_over;    /* polls that returned >= 5 ms after their timeout (the
                                   thread got no core in time, or the client held it) */
    uint64_t offset_commits;
    /* timers fired (timers.c) by how late their apply ended after the
     * partition's earliest due time (an upper bound of each one's own
     * lateness): < 1, 1-5, 5-10, 10-20, 20-50, >= 50 ms; and how many of
     * them the --timer-interval-ms scan fired rather than the due-time wake;
     * timer_wake_hist: the same buckets for when the loop began to fire the
     * partition's due timers (found late), before their apply */
    uint64_t timer_late_hist[6], timer_wake_hist[6], timers_by_scan;
} sk_engine_stats_t;
void sk_engine_stats(const sk_engine_t *e, sk_engine_stats_t *out);

#endif
