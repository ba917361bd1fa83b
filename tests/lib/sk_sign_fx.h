/*
 * sk_sign_fx.h — signing in integration tests: deterministic test keys (the
 * seed of signer X is BLAKE2b-256(X), so tests/rules can hold their public
 * keys; never do this with real keys), and producing a record signed by a
 * key, unsigned, with a chosen signing time or on a chosen partition.
 *
 * The fixture's sk_fx_produce_request/_result sign with the test front
 * SK_FX_FRONT (the signers.yaml of each tests/rules set declares it, vouching for
 * everyone), so tests that are not about identity need not care.
 */
#ifndef SK_SIGN_FX_H
#define SK_SIGN_FX_H

#include "base/keyfile.h"
#include "sk_fixture.h"

#define SK_FX_FRONT "fx-front"

/* The test key of signer (see above). */
void sk_fx_test_key(const char *signer, sk_signing_key_t *k);

/*
 * sk_fx_produce_signed — produces (key, val) to topic, with an "sk-sig"
 * header signed by k at issued_at_ms (k NULL: unsigned), on `partition`
 * (RD_KAFKA_PARTITION_UA: the producer's murmur2 partitioner). Waits for
 * delivery. 0 or -1.
 */
int sk_fx_produce_signed(sk_fx_kafka_t *fx, const char *topic, const char *key, const void *val,
                         size_t len, const sk_signing_key_t *k, sk_ms_t issued_at_ms,
                         int32_t partition);

/* Encodes a request event and produces it signed by k now (NULL: unsigned). */
int sk_fx_produce_request_as(sk_fx_kafka_t *fx, const sk_request_event_t *ev,
                             const sk_signing_key_t *k);

#endif
