/*
 * runtime.h — internal to the provisioner runtime (runtime.c: Kafka, the
 * loop, results, metrics; apply.c: commands, local expiry, reconciliation).
 * Not used by targets.
 */
#ifndef SK_PROV_RUNTIME_H
#define SK_PROV_RUNTIME_H

#include <librdkafka/rdkafka.h>

#include "base/arena.h"
#include "base/keyfile.h"
#include "base/metrics.h"
#include "codec/codec.h"
#include "pipeline/diag.h"
#include "prov.h"

typedef enum sk_prov_reconcile {
    SK_PROV_RECONCILE_OFF = 0,
    SK_PROV_RECONCILE_REPORT,
    SK_PROV_RECONCILE_REMOVE
} sk_prov_reconcile_t;

/* Counters shown on /metrics (copied into the registry by the loop) and in
 * the periodic log line. */
typedef struct sk_prov_metrics {
    unsigned long commands[SK_PROV_STATUS_COUNT]; /* results by status (FOUND: reconciliation) */
    unsigned long duplicates;                     /* command ids answered again without applying */
    unsigned long skipped; /* commands of apps not served, undecodable ones */
    unsigned long expired; /* grants removed by local expiry */
    unsigned long strays;  /* memberships nobody granted, seen by reconciliation */
    unsigned long strays_removed;
    unsigned long publish_retries;
    unsigned long reconcile_runs;
} sk_prov_metrics_t;

typedef struct sk_prov_rt {
    const sk_prov_opts_t *o;
    sk_prov_conf_t conf;
    const sk_prov_target_t *target;
    void *tctx;
    const char *provisioner;  /* identity in results (identifier syntax) */
    const char *user_default; /* "id", "localpart" or "none" */
    sk_prov_reconcile_t reconcile;
    sk_ms_t reconcile_interval_ms;
    sk_ms_t expiry_grace_ms; /* local expiry at expires_at + this */
    sk_prov_names_t ignore;  /* members reconciliation leaves alone */
    sk_prov_state_t state;
    sk_signing_key_t key; /* signs every result (signing_key_file) */
    bool signing;
    rd_kafka_t *consumer, *producer;
    rd_kafka_topic_t *results;
    sk_codec_t *codec;
    sk_arena_t arena;         /* per command */
    size_t delivered, failed; /* delivery reports of the publish in progress */
    rd_kafka_resp_err_t delivery_err;
    sk_prov_metrics_t m;
    sk_prov_metrics_t shown; /* what the registry holds of m */
    sk_metrics_t *reg;       /* --metrics: served by engine/pipeline/diag.c; else NULL */
    sk_metric_t *fam[10];    /* results, the seven counters of m, grants, kafka up (runtime.c) */
    sk_diag_t *diag;
} sk_prov_rt_t;

/* 1 once SIGTERM or SIGINT came. */
int sk_prov_stopping(void);

/*
 * sk_prov_result_publish — the one way a result leaves the provisioner:
 * encodes r (Avro, Confluent framing), produces it keyed by r->user with
 * the murmur2 partitioner, and waits until the broker acknowledged it,
 * retrying with backoff while Kafka is unavailable. Returns 0 once
 * acknowledged; SK_EINVAL when r cannot be encoded (a bug: logged);
 * SK_EAGAIN when the process is stopping before it was acknowledged (the
 * caller then does not commit: the command comes again after a restart).
 *
 * Signing (issue 11) happens here and only here: with signing_key_file,
 * each attempt carries an SK_ENVELOPE_HEADER header, an Ed25519 signature
 * over (results topic, key, value) made at that attempt (codec/envelope.h),
 * so a retry after an outage is still inside the engine's signing window.
 */
int sk_prov_result_publish(sk_prov_rt_t *rt, const sk_provisioning_result_t *r);

/* The target object of "app/entitlement", or NULL when not configured. */
const char *sk_prov_object(const sk_prov_rt_t *rt, const char *ent);

/* 1 when the provisioner serves app (some [entitlements] key names it). */
int sk_prov_serves(const sk_prov_rt_t *rt, const char *app);

/*
 * sk_prov_apply_command — applies one decoded command and publishes its
 * result (none for an app not served). Returns 0 when the command is
 * finished (its offset may be committed), SK_EAGAIN when stopping before its
 * result was acknowledged.
 */
int sk_prov_apply_command(sk_prov_rt_t *rt, const sk_command_t *cmd);

/* Removes every grant whose expires_at (+ expiry_grace) has passed, reporting each. 0 or
 * SK_EAGAIN. */
int sk_prov_expire(sk_prov_rt_t *rt, sk_ms_t now);

/* Compares the target with the state (report or remove strays). */
void sk_prov_reconcile_run(sk_prov_rt_t *rt);

#endif
