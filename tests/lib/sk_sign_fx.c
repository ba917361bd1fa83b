/* sk_sign_fx.c — signed records for integration tests (see sk_sign_fx.h). */
#include <sodium.h>
#include <string.h>

#include "codec/envelope.h"
#include "sk_sign_fx.h"

void sk_fx_test_key(const char *signer, sk_signing_key_t *k)
{
    unsigned char seed[SK_KEY_SEED_LEN];
    (void)sk_keyfile_init();
    crypto_generichash(seed, sizeof(seed), (const unsigned char *)signer, strlen(signer), NULL, 0);
    if (sk_keyfile_generate(signer, seed, k) != 0)
        memset(k, 0, sizeof(*k));
}

int sk_fx_produce_signed(sk_fx_kafka_t *fx, const char *topic, const char *key, const void *val,
                         size_t len, const sk_signing_key_t *k, sk_ms_t issued_at_ms,
                         int32_t partition)
{
    unsigned char env[SK_ENVELOPE_MAX];
    size_t env_len = 0;
    rd_kafka_headers_t *h = NULL;
    if (k) {
        if (sk_envelope_sign(k, topic, key, key ? strlen(key) : 0, val, len, issued_at_ms, env,
                             sizeof(env), &env_len) != 0)
            return -1;
        h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, SK_ENVELOPE_HEADER, -1, env, env_len);
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        fx->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
        RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (err) {
        if (h)
            rd_kafka_headers_destroy(h);
        return -1;
    }
    return rd_kafka_flush(fx->producer, 10000) == 0 ? 0 : -1;
}

int sk_fx_produce_request_as(sk_fx_kafka_t *fx, const sk_request_event_t *ev,
                             const sk_signing_key_t *k)
{
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    void *buf;
    size_t len;
    int rc = -1;
    sk_arena_init(&a, 4096);
    if (codec && sk_codec_encode_request(codec, ev, &a, &buf, &len) == 0)
        rc = sk_fx_produce_signed(fx, "shiftkey.requests.v1", ev->subject, buf, len, k, sk_now_ms(),
                                  RD_KAFKA_PARTITION_UA);
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    return rc;
}
