/*
 * conn_metrics.h — what an on-call connector reports (issue 15): its
 * metric families in a registry (engine/base/metrics.h), served with the
 * engine's /metrics, /healthz and /readyz endpoint (engine/pipeline/diag.h)
 * when --diag-addr is given. Without a registry every call does nothing.
 *
 *   shiftkey_connector_info{source,rotation}            1
 *   shiftkey_connector_polls_total{outcome}             ok | held | platform_failed |
 *                                                       send_failed | state_failed
 *   shiftkey_connector_vendor_api_errors_total{status}  each failed HTTP attempt: the
 *                                                       status ("429", "500", …) or
 *                                                       "network" / "file"
 *   shiftkey_connector_records_published_total{type}    schedule events Kafka acknowledged
 *   shiftkey_connector_last_success_timestamp_seconds   end of the last successful poll
 *   shiftkey_connector_last_poll_ok                     1 when the last poll succeeded
 *   shiftkey_connector_rate_limit_waits_total           429s waited out
 *   shiftkey_connector_rate_limit_wait_seconds_total    time spent waiting them out
 *   shiftkey_connector_kafka_up                         1 when the brokers answered last
 *
 * /readyz is 200 when the last poll succeeded and Kafka answered.
 */
#ifndef SK_CONN_METRICS_H
#define SK_CONN_METRICS_H

#include <stddef.h>

#include "base/metrics.h"

typedef struct sk_conn_metrics {
    sk_metrics_t *reg; /* owned; NULL: no metrics */
    sk_metric_t *info, *polls, *api_errors, *published, *last_success, *last_ok;
    sk_metric_t *rl_waits, *rl_seconds, *kafka_up;
} sk_conn_metrics_t;

/* Registers the families in a new registry (reg NULL and every family
 * NULL when out of memory: the connector runs without metrics). */
void sk_conn_metrics_init(sk_conn_metrics_t *m, const char *source, const char *rotation);

/* Frees the registry (after the diag server stopped). */
void sk_conn_metrics_fini(sk_conn_metrics_t *m);

/* One poll ended with outcome (see above); ok polls set the last-success
 * time to now_ms. */
void sk_conn_metrics_poll(sk_conn_metrics_t *m, const char *outcome, int ok, long long now_ms);

/* The readiness of a connector (an sk_diag_ready_fn; ctx: the registry):
 * the last poll succeeded and Kafka answered. */
int sk_conn_metrics_ready(void *ctx, char *why, size_t why_len);

#endif
