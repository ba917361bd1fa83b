/*
 * verify.h — the checks of pipeline/verify.c on an input record before it
 * is decided: its partition, its signature, its freshness. Pipeline only.
 */
#ifndef SK_VERIFY_H
#define SK_VERIFY_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "base/sk.h"
#include "rules/rules.h"

typedef struct sk_engine sk_engine_t;

/* The outcome of a check; strings are copies. */
typedef struct sk_verify {
    bool accepted;
    const char *verdict; /* "ok", "wrong_partition", "bad_signature", "replayed", ... (static) */
    char signer[256];    /* "" when unsigned */
    char reason[512];    /* one readable sentence */
} sk_verify_t;

/* Logs the identity mode of the rules at load: loudly for unsigned-demo. */
void sk_verify_announce(const sk_rules_t *rules);

/*
 * sk_verify_partition — out->accepted is false when msg is keyed and not
 * on the partition its key maps to (murmur2 over the input topics'
 * partition count). 0, or SK_EIO when the partition count is unknown (the
 * batch is retried).
 */
int sk_verify_partition(sk_engine_t *e, const rd_kafka_message_t *msg, sk_verify_t *out);

/*
 * sk_verify_identity — verifies the signature of a decoded request or
 * provisioning result (user = subject/record key, actor and event_id and
 * occurred_at_ms from the payload) with the rules in force, then (signed
 * records only) that its event id was not seen before within the window.
 * Fills *out; 0, or SK_EIO / SK_ENOMEM (retry the batch).
 */
int sk_verify_identity(sk_engine_t *e, const rd_kafka_message_t *msg, const char *user,
                       const char *actor, const char *event_id, sk_ms_t occurred_at_ms,
                       sk_ms_t now_ms, sk_verify_t *out);

#endif
