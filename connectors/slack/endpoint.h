/*
 * endpoint.h — Slack → shiftkey: the HTTP endpoint Slack posts slash
 * commands and interactions to (libmicrohttpd), and the worker that does
 * the slow part after Slack got its answer.
 *
 * Every POST is verified first (verify.h): a missing or bad signature, a
 * timestamp more than 5 minutes off or a replayed request is answered 401
 * and nothing else happens. Then the answer goes out at once (Slack wants
 * it within 3 s): an ephemeral text, a modal's validation errors, or an
 * empty 200; the work that talks to Slack or Kafka (views.open, producing
 * the action and waiting for the broker, the ephemeral follow-up on
 * response_url) is queued for the worker thread.
 *
 * The clicker is the person whose `slack:` platform id is the Slack user
 * id (or, with email_lookup, whose e-mail Slack's users.info reports); an
 * unknown user gets an ephemeral answer saying so and nothing is sent.
 * Actions are checked against the task's assignees as the notifier last
 * saw them (a non-assignee is told and nothing is sent); the engine
 * checks again.
 *
 * GET /healthz, /readyz and /metrics are answered by engine/pipeline/diag.c
 * (sk_diag_answer): shiftkey_slack_requests_total{outcome} (accepted,
 * refused), shiftkey_slack_actions_total{outcome} (sent, failed) and
 * shiftkey_slack_kafka_up. /readyz reads the brokers' state a background
 * check keeps (ready.h), so it never waits on Kafka.
 */
#ifndef SK_SLACK_ENDPOINT_H
#define SK_SLACK_ENDPOINT_H

#include <signal.h>
#include <stddef.h>

#include "api.h"
#include "base/keyfile.h"
#include "rules/rules.h"
#include "shared.h"

typedef struct sk_slack_endpoint_cfg {
    const char *listen;         /* "127.0.0.1:3000" or ":3000" */
    const char *signing_secret; /* borrowed */
    const sk_rules_t *rules;
    sk_slack_tasks_t *tasks;
    const sk_slack_api_t *api;
    int email_lookup;
    const char *brokers, *requests_topic, *results_topic;
    const sk_signing_key_t
        *front_key; /* signs every record; NULL: unsigned (unsigned-demo rules) */
} sk_slack_endpoint_cfg_t;

typedef struct sk_slack_endpoint sk_slack_endpoint_t;

/* Listens and starts the worker. NULL with the reason in err. cfg and
 * everything it points to must outlive the endpoint. */
sk_slack_endpoint_t *sk_slack_endpoint_start(const sk_slack_endpoint_cfg_t *cfg, char *err,
                                             size_t err_len);

/* Stops listening, lets the worker finish the queued jobs, frees. */
void sk_slack_endpoint_stop(sk_slack_endpoint_t *ep);

#endif
