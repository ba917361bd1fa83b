/*
 * engine_metrics.h — what the engine reports to a metrics registry
 * (base/metrics.h; served by pipeline/diag.c): the families, one-line
 * calls for the stages, and a periodic sample of what is cheaper to read
 * than to count (partitions owned, consumer lag, outbox in flight, Redis
 * and Kafka reachable). Without a registry every family is NULL and every
 * call does nothing.
 *
 * The metrics (README.md, "Operations", lists them with their meaning):
 *   shiftkey_input_records_total{topic,outcome}   applied | duplicate | dead_letter
 *   shiftkey_decisions_total{kind,outcome}        kind schedule|request|result|timer;
 *                                                 outcome the audit decision word
 *   shiftkey_commands_total{action}               GRANT | REVOKE | EXTEND
 *   shiftkey_tasks_total{kind,state}
 *   shiftkey_dead_letters_total{reason}           UNDECODABLE | INVALID | UNKNOWN_REFERENCE
 *   shiftkey_refused_actions_total{action,reason} reason classified (engine_metrics.c)
 *   shiftkey_timers_fired_total, shiftkey_fenced_total, shiftkey_restores_total
 *   shiftkey_timer_lateness_seconds               histogram: a timer's REVOKE after expiry
 *   shiftkey_record_to_command_seconds            histogram: record timestamp -> command staged
 *   shiftkey_consumer_lag{topic,partition}        high watermark - next offset, owned partitions
 *   shiftkey_outbox_inflight                      outbox entries produced, not yet acknowledged
 *   shiftkey_partitions_owned, shiftkey_redis_up, shiftkey_kafka_up
 *   shiftkey_commands_held                        REVOKE/EXTENDs Kafka refused, held and retried
 *   shiftkey_redis_errors_total, shiftkey_kafka_errors_total{client}
 *   shiftkey_rules_info{version} (1), shiftkey_rules_reloads_total{result} ok | refused
 */
#ifndef SK_ENGINE_METRICS_H
#define SK_ENGINE_METRICS_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "base/metrics.h"
#include "decide/decide.h"
#include "rules/rules.h"

typedef struct sk_engine_metrics {
    sk_metrics_t *reg;
    sk_metric_t *records, *decisions, *commands, *tasks, *dead_letters, *refused;
    sk_metric_t *timers, *fenced, *restores;
    sk_metric_t *timer_lateness, *latency;
    sk_metric_t *lag, *outbox, *partitions, *redis_up, *kafka_up, *held;
    sk_metric_t *redis_errors, *kafka_errors;
    sk_metric_t *rules_info, *reloads;
    uint64_t last_timers, last_fenced, last_restores; /* engine stats already counted */
    sk_ms_t next_sample, next_kafka_probe;
} sk_engine_metrics_t;

/* Registers the families in reg (NULL: leaves every family NULL). */
void sk_engine_metrics_init(sk_engine_metrics_t *m, sk_metrics_t *reg);

/* The rules in force (after a load or a reload; ok false: a reload was
 * refused and the old rules stay). */
void sk_engine_metrics_rules(sk_engine_metrics_t *m, const sk_rules_t *rules, bool ok);

/*
 * sk_engine_metrics_decision — one input decided (or skipped as already
 * applied): kind "schedule", "request", "result" or "timer"; topic NULL for
 * timers; action the request event type's name, for refusals; record_ms
 * the Kafka record's timestamp (SK_MS_NONE for timers), now_ms the
 * decision time.
 */
void sk_engine_metrics_decision(sk_engine_metrics_t *m, const char *kind, const char *topic,
                                bool applied, const sk_decision_t *d, bool refused,
                                const char *refuse_reason, const char *action, sk_ms_t record_ms,
                                sk_ms_t now_ms);

/* A request or result whose identity verify.c refused (verdict NULL: none):
 * shiftkey_refused_actions_total{action=kind, reason="identity_<verdict>"}. */
void sk_engine_metrics_identity(sk_engine_metrics_t *m, const char *kind, const char *verdict);

/* An error librdkafka reported (error_cb: the engine as opaque). */
void sk_engine_metrics_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* One failed attempt at Redis (also: redis_up 0 until the next sample). */
void sk_engine_metrics_redis_error(sk_engine_metrics_t *m);

/* The classification of a refusal's reason used as the label (bounded). */
const char *sk_engine_metrics_refusal_class(const char *reason);

#endif
