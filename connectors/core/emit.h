/*
 * emit.h — schedule events to Kafka: Avro (engine/codec/codec.h) in Confluent
 * framing, key = user, idempotent producer, and a send that returns only
 * once the broker acknowledged every record (so the state file is saved
 * only after Kafka has the events: a crash re-sends, never loses).
 */
#ifndef SK_CONN_EMIT_H
#define SK_CONN_EMIT_H

#include <stddef.h>

#include "diff.h"

typedef struct sk_conn_emitter sk_conn_emitter_t;

/* A producer for brokers/topic with extra librdkafka settings ("name=value",
 * n_props of them). NULL on error with the reason in err. */
sk_conn_emitter_t *sk_conn_emitter_new(const char *brokers, const char *topic,
                                       const char *const *props, size_t n_props, char *err,
                                       size_t errlen);
void sk_conn_emitter_destroy(sk_conn_emitter_t *em);

/* Asks the brokers for the topic's metadata, waiting up to timeout_ms:
 * 0 when they answered, SK_EIO when not (for /readyz). */
int sk_conn_emitter_ping(sk_conn_emitter_t *em, int timeout_ms);

/*
 * sk_conn_emitter_send — encodes and produces every event, then waits up to
 * timeout_ms for all deliveries. Returns 0 when each was acknowledged;
 * SK_EINVAL if one cannot be encoded (nothing is produced), SK_EIO if any
 * delivery failed or timed out (err says why). Records of a failed send may
 * still have reached the topic: the caller re-sends them (same ids).
 */
int sk_conn_emitter_send(sk_conn_emitter_t *em, const sk_conn_events_t *evs, int timeout_ms,
                         char *err, size_t errlen);

#endif
