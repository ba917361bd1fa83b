/*
 * poison.c — no input and no output may stop a partition (DESIGN.md, "Fail
 * closed"): what the engine writes about a record it refuses, or about an
 * output Kafka refuses, is small and bounded, whatever the record.
 *
 * - A dead letter keeps the first SK_DL_PAYLOAD_MAX bytes of the original
 *   value and SK_DL_KEY_MAX of its key, never the whole record; its reason
 *   states the original lengths and the SHA-256 of the whole value (and of
 *   the key when it was cut), so the record can be found and compared in
 *   the input topic. The Avro schema is unchanged (schemas/dead_letter.avsc:
 *   payload is "the original value", now its prefix; see its doc).
 * - A notice stands for an output record that Kafka refused for good (too
 *   large, invalid): a dead letter naming the output topic, the key, the
 *   size, the SHA-256 and the error, with a short prefix of the value.
 * - Every free-text field the engine writes into them is cut to a bound
 *   (SK_DL_REASON_MAX), at a UTF-8 character boundary.
 *
 * Nothing here does I/O: the SHA-256 is libsodium's.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/engine_internal.h"

void sk_poison_sha256_hex(const void *buf, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    static const char hex[] = "0123456789abcdef";
    crypto_hash_sha256(h, buf ? buf : (const void *)"", len);
    for (size_t i = 0; i < sizeof(h); i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = '\0';
}

size_t sk_poison_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    /* back off over continuation bytes (10xxxxxx) so no character is split */
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* A printable copy of at most max bytes of a key, for a reason: bytes
 * outside printable ASCII become '?', so a reason is always valid text. */
static const char *printable(sk_arena_t *a, const void *key, size_t len, size_t max)
{
    size_t n = len < max ? len : max;
    char *s = sk_arena_alloc(a, n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = ((const unsigned char *)key)[i];
        s[i] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
    }
    s[n] = '\0';
    return s;
}

/* Cuts reason to SK_DL_REASON_MAX bytes (marking the cut), in arena memory
 * when it has to be cut. NULL only when out of memory. */
static const char *bound_reason(sk_arena_t *a, const char *reason)
{
    size_t len = strlen(reason);
    if (len <= SK_DL_REASON_MAX)
        return reason;
    size_t n = sk_poison_utf8_cut(reason, len, SK_DL_REASON_MAX - 4);
    return sk_arena_sprintf(a, "%.*s ...", (int)n, reason);
}

int sk_poison_bound_dead_letter(sk_arena_t *a, sk_dead_letter_t *dl)
{
    char vsha[65], ksha[65];
    const char *why = dl->reason ? dl->reason : "rejected";
    bool cut_value = dl->payload_len > SK_DL_PAYLOAD_MAX;
    bool cut_key = dl->key && dl->key_len > SK_DL_KEY_MAX;
    /* the cause first, cut so that the facts after it always fit */
    size_t n = sk_poison_utf8_cut(why, strlen(why), SK_DL_REASON_MAX - 320);
    sk_poison_sha256_hex(dl->payload, dl->payload_len, vsha);
    if (cut_key)
        sk_poison_sha256_hex(dl->key, dl->key_len, ksha);
    const char *r = sk_arena_sprintf(
        a, "%.*s%s; value %zu bytes, sha256 %s%s%s%s%s%s", (int)n, why,
        n < strlen(why) ? " ..." : "", dl->payload_len, vsha,
        cut_value ? " (payload: its first " : "", cut_value ? SK_DL_PAYLOAD_MAX_TEXT " bytes)" : "",
        cut_key ? sk_arena_sprintf(a, "; key %zu bytes, sha256 ", dl->key_len) : "",
        cut_key ? ksha : "", cut_key ? " (key: its first " SK_DL_KEY_MAX_TEXT " bytes)" : "");
    if (!r)
        return SK_ENOMEM;
    dl->reason = bound_reason(a, r);
    if (!dl->reason)
        return SK_ENOMEM;
    if (cut_value)
        dl->payload_len = SK_DL_PAYLOAD_MAX;
    if (cut_key)
        dl->key_len = SK_DL_KEY_MAX;
    return 0;
}

int sk_poison_notice(sk_arena_t *a, const sk_poison_refusal_t *r, sk_dead_letter_t *dl)
{
    const char *key = printable(a, r->key, r->key_len, 128);
    const char *why = r->error[0] ? r->error : "refused";
    if (!key)
        return SK_ENOMEM;
    const char *reason = sk_arena_sprintf(
        a,
        "output refused by Kafka for good (%.200s): a %zu-byte record for %s, key '%s'%s "
        "(%zu bytes), value sha256 %s, was dropped; this notice stands for it (payload: "
        "its first %zu bytes)",
        why, r->value_len, r->topic_name, key, r->key_len > 128 ? "..." : "", r->key_len, r->sha256,
        r->prefix_len);
    if (!reason || !(reason = bound_reason(a, reason)))
        return SK_ENOMEM;
    *dl = (sk_dead_letter_t){.at_ms = r->at_ms,
                             .kind = SK_DL_INVALID,
                             .reason = reason,
                             .origin = {r->topic_name, r->partition, -1},
                             .key = r->key_len ? r->key : NULL,
                             .key_len = r->key_len < SK_DL_KEY_MAX ? r->key_len : SK_DL_KEY_MAX,
                             .payload = r->prefix,
                             .payload_len = r->prefix_len};
    return 0;
}

bool sk_poison_permanent(int kafka_err)
{
    switch (kafka_err) {
    case RD_KAFKA_RESP_ERR_INVALID_MSG: /* CORRUPT_MESSAGE */
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__INVALID_ARG: return true;
    default:
        /* retriable errors, a fatal producer, authorization, unknown topic:
         * not about this record; it stays staged and is produced again */
        return false;
    }
}

sk_poison_refusal_t *sk_poison_refusal_new(const char *topic_name, int32_t partition,
                                           const void *key, size_t key_len, const void *value,
                                           size_t value_len, const char *error)
{
    sk_poison_refusal_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->topic_name = topic_name;
    r->partition = partition;
    r->at_ms = sk_now_ms();
    r->key_len = key ? key_len : 0;
    if (r->key_len)
        memcpy(r->key, key, r->key_len < sizeof(r->key) ? r->key_len : sizeof(r->key));
    r->value_len = value_len;
    r->prefix_len = value_len < sizeof(r->prefix) ? value_len : sizeof(r->prefix);
    if (r->prefix_len)
        memcpy(r->prefix, value, r->prefix_len);
    sk_poison_sha256_hex(value, value_len, r->sha256);
    snprintf(r->error, sizeof(r->error), "%s", error ? error : "refused");
    return r;
}
