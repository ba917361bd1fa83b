/* conn_metrics.c — an on-call connector's metrics and readiness (conn_metrics.h). */
#include "conn_metrics.h"

#include <stdio.h>
#include <string.h>

void sk_conn_metrics_init(sk_conn_metrics_t *m, const char *source, const char *rotation)
{
    sk_metrics_t *r = sk_metrics_new();
    memset(m, 0, sizeof(*m));
    if (!r)
        return;
    m->reg = r;
    m->info =
        sk_metrics_gauge(r, "shiftkey_connector_info",
                         "the connector: its source and the rotation it feeds", "source,rotation");
    m->polls = sk_metrics_counter(r, "shiftkey_connector_polls_total",
                                  "polls by outcome: ok, held, platform_failed, send_failed, "
                                  "state_failed",
                                  "outcome");
    m->api_errors = sk_metrics_counter(r, "shiftkey_connector_vendor_api_errors_total",
                                       "failed requests to the platform's API (each attempt) by "
                                       "HTTP status, network or file",
                                       "status");
    m->published = sk_metrics_counter(r, "shiftkey_connector_records_published_total",
                                      "schedule events acknowledged by Kafka, by type", "type");
    m->last_success = sk_metrics_gauge(r, "shiftkey_connector_last_success_timestamp_seconds",
                                       "when the last successful poll ended (Unix time)", NULL);
    m->last_ok = sk_metrics_gauge(r, "shiftkey_connector_last_poll_ok",
                                  "1 when the last poll read the platform and Kafka took its "
                                  "events",
                                  NULL);
    m->rl_waits = sk_metrics_counter(r, "shiftkey_connector_rate_limit_waits_total",
                                     "429 answers waited out before trying again", NULL);
    m->rl_seconds = sk_metrics_counter(r, "shiftkey_connector_rate_limit_wait_seconds_total",
                                       "time spent waiting out 429 answers", NULL);
    m->kafka_up =
        sk_metrics_gauge(r, "shiftkey_connector_kafka_up", "1 when Kafka answered last", NULL);
    sk_metric_set(m->info, 1, source, rotation);
    sk_metric_set(m->last_ok, 0);
    sk_metric_set(m->kafka_up, 0);
}

void sk_conn_metrics_fini(sk_conn_metrics_t *m)
{
    sk_metrics_destroy(m->reg);
    memset(m, 0, sizeof(*m));
}

void sk_conn_metrics_poll(sk_conn_metrics_t *m, const char *outcome, int ok, long long now_ms)
{
    sk_metric_add(m->polls, 1, outcome);
    sk_metric_set(m->last_ok, ok ? 1 : 0);
    if (ok)
        sk_metric_set(m->last_success, (double)now_ms / 1000.0);
}

int sk_conn_metrics_ready(void *ctx, char *why, size_t why_len)
{
    sk_metrics_t *reg = ctx;
    if (sk_metrics_value(reg, "shiftkey_connector_last_poll_ok") < 1)
        snprintf(why, why_len, "the last poll did not succeed (or none yet)");
    else if (sk_metrics_value(reg, "shiftkey_connector_kafka_up") < 1)
        snprintf(why, why_len, "Kafka brokers not answering");
    else
        return 1;
    return 0;
}
