/*
 * ready.h — whether the Kafka brokers answer, for /readyz, kept current by
 * a background thread: /readyz runs on the HTTP server's threads and must
 * answer at once, while asking the brokers takes up to 500 ms when they
 * are down. The thread asks them every second (a metadata request through
 * the publisher's producer, sk_slack_publisher_ping) and keeps the answer
 * and its time; /readyz reads them. Fail closed: before the first answer,
 * and when the last one is older than a few intervals (the thread stuck),
 * the brokers count as not answering.
 */
#ifndef SK_SLACK_READY_H
#define SK_SLACK_READY_H

#include <stddef.h>

#include "action.h"
#include "base/metrics.h"

typedef struct sk_slack_ready sk_slack_ready_t;

/*
 * sk_slack_ready_start — starts the check of pub's brokers every
 * interval_ms; each answer also sets the gauge up (1 or 0; may be NULL).
 * pub and up are borrowed and must outlive the check. NULL when the thread
 * cannot start.
 */
sk_slack_ready_t *sk_slack_ready_start(sk_slack_publisher_t *pub, int interval_ms, sk_metric_t *up);

/*
 * sk_slack_ready_kafka — 1 when the last check, at most a few intervals
 * old, found the brokers answering; else 0 with the reason in why (naming
 * Kafka). Never waits on Kafka; thread-safe.
 */
int sk_slack_ready_kafka(sk_slack_ready_t *r, char *why, size_t why_len);

/* Stops the check (within one check's time) and frees r; NULL is a no-op. */
void sk_slack_ready_stop(sk_slack_ready_t *r);

#endif
