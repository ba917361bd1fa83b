/*
 * embedded.h — an in-process Kafka-protocol broker for the embedded default
 * (`shiftkeyd --kafka embedded`): librdkafka's mock cluster, listening on
 * loopback. Any Kafka client (kcat, confluent_kafka, the CLI) can use it
 * through the bootstrap address it writes to a file.
 *
 * Limits (librdkafka 2.0.2's mock): about 5 MB or 100,000 messages kept per
 * partition, no TLS/SASL, transactions without markers. It is for demos and
 * tests, never for production.
 */
#ifndef SK_EMBEDDED_H
#define SK_EMBEDDED_H

#include <stddef.h>

typedef struct sk_embedded sk_embedded_t;

/*
 * sk_embedded_start — starts a one-broker cluster, creates the topics with
 * `partitions` partitions each, and, when bootstrap_file is not NULL,
 * writes the bootstrap address there (atomically: temp file + rename).
 * Returns NULL on failure with a reason in err.
 */
sk_embedded_t *sk_embedded_start(int partitions, const char *const *topics, size_t n_topics,
                                 const char *bootstrap_file, char *err, size_t err_len);

/* "127.0.0.1:PORT"; owned by the cluster. */
const char *sk_embedded_bootstraps(const sk_embedded_t *emb);

/* Stops the broker; every message in it is gone. */
void sk_embedded_stop(sk_embedded_t *emb);

#endif
