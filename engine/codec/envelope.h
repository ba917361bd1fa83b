/*
 * envelope.h — the signature envelope of shiftkey's signed input records
 * (requests and provisioning results; DESIGN.md, "Identity and trust").
 *
 * A signed record carries one Kafka header named SK_ENVELOPE_HEADER
 * ("sk-sig") whose value is the envelope, all integers big-endian:
 *
 *   offset   size  field
 *   0        1     version, 1
 *   1        1     L, length of the signer id, 1..255
 *   2        L     signer id (printable ASCII without spaces, as sk_id_valid)
 *   2+L      8     issued_at: signing time, ms since the Unix epoch, signed
 *   10+L     64    Ed25519 signature (RFC 8032, pure Ed25519)
 *
 * The envelope is exactly 74+L bytes: anything else is refused. The
 * signature covers this message (no separators other than the lengths):
 *
 *   "shiftkey.sig.v1"                (15 ASCII bytes, no NUL)
 *   u32 len(topic)  topic            (the topic the record is written to)
 *   u32 len(key)    key              (no key: length 0)
 *   u32 len(value)  value            (the Avro bytes, framing included)
 *   u8  L           signer id
 *   i64 issued_at
 *
 * so a signature binds the record to its topic, its key (the subject user),
 * its whole payload (actor, event id, occurred_at inside it), the signer
 * and the signing time; moving it to another topic, key or record fails.
 * The Avro schemas do not change. tests/blackbox/test_signature_interop.py
 * checks this format with Python's nacl.
 */
#ifndef SK_ENVELOPE_H
#define SK_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/keyfile.h"
#include "base/sk.h"

#define SK_ENVELOPE_HEADER     "sk-sig"
#define SK_ENVELOPE_VERSION    1
#define SK_ENVELOPE_SIG_LEN    64
#define SK_ENVELOPE_SIGNER_MAX 255
#define SK_ENVELOPE_MAX        (2 + SK_ENVELOPE_SIGNER_MAX + 8 + SK_ENVELOPE_SIG_LEN)

/* A parsed envelope; self-contained (no pointers into the input). */
typedef struct sk_envelope {
    char signer[SK_ENVELOPE_SIGNER_MAX + 1]; /* NUL-terminated */
    sk_ms_t issued_at_ms;
    unsigned char sig[SK_ENVELOPE_SIG_LEN];
} sk_envelope_t;

/*
 * sk_envelope_sign — signs (topic, key, value, k->signer, issued_at_ms)
 * with k and writes the envelope into out (out_cap >= SK_ENVELOPE_MAX is
 * always enough); *out_len is its length. key may be NULL when key_len is
 * 0. Returns 0, SK_EINVAL (signer id invalid, out too small, topic NULL),
 * or SK_ENOMEM. Leaves out untouched on error. No I/O.
 */
int sk_envelope_sign(const sk_signing_key_t *k, const char *topic, const void *key, size_t key_len,
                     const void *value, size_t value_len, sk_ms_t issued_at_ms, unsigned char *out,
                     size_t out_cap, size_t *out_len);

/*
 * sk_envelope_parse — parses len bytes at buf (any bytes, e.g. straight
 * from a Kafka header; buf may be NULL when len is 0) into *env. Returns 0,
 * or SK_EPARSE with a readable reason (reason may be NULL). Checks the
 * version, the exact length and the signer id's characters; does not
 * verify the signature. *env is unspecified on error. Pure.
 */
int sk_envelope_parse(const void *buf, size_t len, sk_envelope_t *env, char *reason,
                      size_t reason_len);

/*
 * sk_envelope_verify — 0 if env->sig is a valid Ed25519 signature by
 * public key pk over the message above built from (topic, key, value,
 * env->signer, env->issued_at_ms); SK_EINVAL if not; SK_ENOMEM. Pure.
 */
int sk_envelope_verify(const sk_envelope_t *env, const unsigned char pk[SK_KEY_PUBLIC_LEN],
                       const char *topic, const void *key, size_t key_len, const void *value,
                       size_t value_len);

#endif
