/*
 * fuzz_dead_letter_decode.c — sk_codec_decode_dead_letter()
 * (shiftkey.deadletter.v1, read back by the CLI and replay) on raw bytes,
 * copied into an arena reset per input.
 *
 * Every input is refused with a reason, or decodes to a dead letter with a
 * kind in range, time >= 0 and a payload; it re-encodes, decodes to the same
 * record (key present or absent alike, bytes equal) and re-encodes to the
 * same bytes.
 */
#include <string.h>

#include "codec/codec.h"
#include "fuzz_common.h"

static sk_codec_t *g_codec;
static sk_arena_t g_arena;

/* A codec per input: avro-c keeps grown buffers inside a reused value,
 * which LeakSanitizer (libFuzzer's per-input leak check) cannot tell from
 * leaks; a fresh codec also puts sk_codec_destroy() under test. */
static void codec_begin(void)
{
    g_codec = sk_codec_new();
    FUZZ_CHECK(g_codec != NULL, "sk_codec_new failed");
    sk_arena_init(&g_arena, 4096);
}

static void codec_end(void)
{
    sk_codec_destroy(g_codec);
    g_codec = NULL;
    sk_arena_fini(&g_arena);
}

static void check_dl(const sk_dead_letter_t *dl)
{
    FUZZ_CHECK(dl->at_ms >= 0, "at %lld", (long long)dl->at_ms);
    FUZZ_CHECK((unsigned)dl->kind < SK_DL_KIND_COUNT, "kind %d", (int)dl->kind);
    FUZZ_CHECK(dl->reason && dl->origin.topic, "NULL text");
    FUZZ_CHECK(dl->payload != NULL, "payload NULL");
    FUZZ_CHECK(dl->key != NULL || dl->key_len == 0, "key NULL with %zu bytes", dl->key_len);
}

static void check_same(const sk_dead_letter_t *a, const sk_dead_letter_t *b)
{
    FUZZ_CHECK(a->at_ms == b->at_ms, "at");
    FUZZ_CHECK(a->kind == b->kind, "kind");
    FUZZ_CHECK(strcmp(a->reason, b->reason) == 0, "reason");
    FUZZ_CHECK(strcmp(a->origin.topic, b->origin.topic) == 0, "origin.topic");
    FUZZ_CHECK(a->origin.partition == b->origin.partition, "origin.partition");
    FUZZ_CHECK(a->origin.offset == b->origin.offset, "origin.offset");
    FUZZ_CHECK((a->key == NULL) == (b->key == NULL), "key presence");
    FUZZ_CHECK(a->key_len == b->key_len &&
                   (a->key_len == 0 || memcmp(a->key, b->key, a->key_len) == 0),
               "key");
    FUZZ_CHECK(a->payload_len == b->payload_len &&
                   (a->payload_len == 0 || memcmp(a->payload, b->payload, a->payload_len) == 0),
               "payload");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char reason[256] = "";
    sk_dead_letter_t dl, dl2;
    void *enc = NULL, *enc2 = NULL;
    size_t enc_len = 0, enc2_len = 0;
    int rc;

    codec_begin();
    rc = sk_codec_decode_dead_letter(g_codec, data, size, &g_arena, &dl, reason, sizeof reason);
    if (rc != 0) {
        FUZZ_CHECK(rc == SK_EPARSE || rc == SK_EINVAL, "rc %d", rc);
        FUZZ_CHECK(reason[0] != '\0', "refused (rc %d) without a reason", rc);
        codec_end();
        return 0;
    }
    check_dl(&dl);
    rc = sk_codec_encode_dead_letter(g_codec, &dl, &g_arena, &enc, &enc_len);
    FUZZ_CHECK(rc == 0 && enc && enc_len >= SK_WIRE_HEADER_LEN, "re-encode rc %d", rc);
    rc = sk_codec_decode_dead_letter(g_codec, enc, enc_len, &g_arena, &dl2, reason, sizeof reason);
    FUZZ_CHECK(rc == 0, "decode of the re-encoded dead letter: rc %d: %s", rc, reason);
    check_dl(&dl2);
    check_same(&dl, &dl2);
    rc = sk_codec_encode_dead_letter(g_codec, &dl2, &g_arena, &enc2, &enc2_len);
    FUZZ_CHECK(rc == 0, "second encode rc %d", rc);
    FUZZ_CHECK(enc_len == enc2_len && memcmp(enc, enc2, enc_len) == 0,
               "encoding not stable (%zu vs %zu bytes)", enc_len, enc2_len);
    codec_end();
    return 0;
}
