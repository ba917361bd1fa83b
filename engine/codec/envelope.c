/*
 * envelope.c — build, parse and verify the "sk-sig" signature envelope.
 * The byte format is documented in envelope.h; the parser trusts nothing
 * (it is fuzzed: tests/fuzz/fuzz_envelope.c).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/envelope.h"

#define SIG_DOMAIN "shiftkey.sig.v1"

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

static unsigned char *put_i64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(u >> (56 - 8 * i));
    return p + 8;
}

static unsigned char *put_bytes(unsigned char *p, const void *b, size_t n)
{
    if (n)
        memcpy(p, b, n);
    return p + n;
}

/* The signed message (envelope.h) in a new heap buffer; NULL when out of
 * memory or when a length does not fit 32 bits. */
static unsigned char *message_new(const char *topic, const void *key, size_t key_len,
                                  const void *value, size_t value_len, const char *signer,
                                  sk_ms_t issued_at, size_t *len)
{
    size_t topic_len = strlen(topic), signer_len = strlen(signer);
    if (topic_len > UINT32_MAX || key_len > UINT32_MAX || value_len > UINT32_MAX ||
        signer_len > SK_ENVELOPE_SIGNER_MAX)
        return NULL;
    *len = strlen(SIG_DOMAIN) + 4 + topic_len + 4 + key_len + 4 + value_len + 1 + signer_len + 8;
    unsigned char *m = malloc(*len), *p = m;
    if (!m)
        return NULL;
    p = put_bytes(p, SIG_DOMAIN, strlen(SIG_DOMAIN));
    p = put_bytes(put_u32(p, (uint32_t)topic_len), topic, topic_len);
    p = put_bytes(put_u32(p, (uint32_t)key_len), key, key_len);
    p = put_bytes(put_u32(p, (uint32_t)value_len), value, value_len);
    *p++ = (unsigned char)signer_len;
    p = put_bytes(p, signer, signer_len);
    put_i64(p, issued_at);
    return m;
}

int sk_envelope_sign(const sk_signing_key_t *k, const char *topic, const void *key, size_t key_len,
                     const void *value, size_t value_len, sk_ms_t issued_at_ms, unsigned char *out,
                     size_t out_cap, size_t *out_len)
{
    size_t signer_len = strlen(k->signer), mlen = 0;
    unsigned char *m = NULL, *p;
    int rc = SK_EINVAL;

    if (!topic || signer_len == 0 || signer_len > SK_ENVELOPE_SIGNER_MAX ||
        !sk_id_valid(k->signer, signer_len) || out_cap < 2 + signer_len + 8 + SK_ENVELOPE_SIG_LEN)
        goto out;
    if (sk_keyfile_init() != 0) {
        rc = SK_EIO;
        goto out;
    }
    m = message_new(topic, key, key_len, value, value_len, k->signer, issued_at_ms, &mlen);
    if (!m) {
        rc = SK_ENOMEM;
        goto out;
    }
    p = out;
    *p++ = SK_ENVELOPE_VERSION;
    *p++ = (unsigned char)signer_len;
    p = put_bytes(p, k->signer, signer_len);
    p = put_i64(p, issued_at_ms);
    crypto_sign_detached(p, NULL, m, mlen, k->secret);
    *out_len = 2 + signer_len + 8 + SK_ENVELOPE_SIG_LEN;
    rc = 0;
out:
    free(m);
    return rc;
}

int sk_envelope_parse(const void *buf, size_t len, sk_envelope_t *env, char *reason,
                      size_t reason_len)
{
    const unsigned char *b = buf;
    char dummy[8];
    size_t signer_len;
    uint64_t t = 0;

    if (!reason) {
        reason = dummy;
        reason_len = sizeof(dummy);
    }
    if (!b || len < 2) {
        snprintf(reason, reason_len, "signature envelope too short (%zu bytes)", len);
        return SK_EPARSE;
    }
    if (b[0] != SK_ENVELOPE_VERSION) {
        snprintf(reason, reason_len, "signature envelope version %u (this engine reads 1)",
                 (unsigned)b[0]);
        return SK_EPARSE;
    }
    signer_len = b[1];
    if (signer_len == 0 || len != 2 + signer_len + 8 + SK_ENVELOPE_SIG_LEN) {
        snprintf(reason, reason_len,
                 "signature envelope of %zu bytes for a signer id of %zu (expected %zu)", len,
                 signer_len, 2 + signer_len + 8 + SK_ENVELOPE_SIG_LEN);
        return SK_EPARSE;
    }
    if (!sk_id_valid((const char *)b + 2, signer_len)) {
        snprintf(reason, reason_len, "signature envelope: invalid signer id");
        return SK_EPARSE;
    }
    memcpy(env->signer, b + 2, signer_len);
    env->signer[signer_len] = '\0';
    for (int i = 0; i < 8; i++)
        t = t << 8 | b[2 + signer_len + i];
    env->issued_at_ms = (sk_ms_t)t;
    memcpy(env->sig, b + 2 + signer_len + 8, SK_ENVELOPE_SIG_LEN);
    return 0;
}

int sk_envelope_verify(const sk_envelope_t *env, const unsigned char pk[SK_KEY_PUBLIC_LEN],
                       const char *topic, const void *key, size_t key_len, const void *value,
                       size_t value_len)
{
    size_t mlen = 0;
    unsigned char *m;
    int rc;

    if (!topic || sk_keyfile_init() != 0)
        return SK_EINVAL;
    m = message_new(topic, key, key_len, value, value_len, env->signer, env->issued_at_ms, &mlen);
    if (!m)
        return SK_ENOMEM;
    rc = crypto_sign_verify_detached(env->sig, m, mlen, pk) == 0 ? 0 : SK_EINVAL;
    free(m);
    return rc;
}
