/*
 * fuzz_command_decode.c — sk_codec_decode_command() (shiftkey.commands.v1,
 * read back by the CLI, tests and replay) on raw bytes, strings copied into
 * an arena reset per input.
 *
 * Every input is refused with a reason, or decodes to a command with a
 * 32-hex id, an action and source kinds in range, valid ids, times >= 0;
 * such a command re-encodes, decodes to the same command, and re-encodes to
 * the same bytes.
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

static int id_ok(const char *s)
{
    return s && sk_id_valid(s, strlen(s));
}

static void check_command(const sk_command_t *c)
{
    FUZZ_CHECK(strlen(c->command_id) == 32 && strspn(c->command_id, "0123456789abcdef") == 32,
               "command_id '%.40s'", c->command_id);
    FUZZ_CHECK((unsigned)c->action < SK_CMD_ACTION_COUNT, "action %d", (int)c->action);
    FUZZ_CHECK(id_ok(c->user), "user");
    FUZZ_CHECK(id_ok(c->app), "app");
    FUZZ_CHECK(id_ok(c->entitlement), "entitlement");
    FUZZ_CHECK(c->resource && c->permission && c->reason, "NULL text");
    FUZZ_CHECK(c->expires_at_ms >= 0 && c->issued_at_ms >= 0, "negative time");
    FUZZ_CHECK(c->n_sources == 0 || c->sources, "sources NULL");
    for (size_t i = 0; i < c->n_sources; i++) {
        const sk_source_ref_t *s = &c->sources[i];
        FUZZ_CHECK((unsigned)s->kind < SK_SOURCE_KIND_COUNT, "sources[%zu].kind", i);
        FUZZ_CHECK(id_ok(s->id), "sources[%zu].id", i);
        FUZZ_CHECK(s->rotation && (s->rotation[0] == '\0' || id_ok(s->rotation)),
                   "sources[%zu].rotation", i);
        FUZZ_CHECK(s->expires_at_ms >= 0, "sources[%zu].expires_at", i);
    }
}

static void check_same(const sk_command_t *a, const sk_command_t *b)
{
    FUZZ_CHECK(memcmp(a->command_id, b->command_id, sizeof a->command_id) == 0, "id");
    FUZZ_CHECK(a->action == b->action, "action");
    FUZZ_CHECK(strcmp(a->user, b->user) == 0, "user");
    FUZZ_CHECK(strcmp(a->app, b->app) == 0, "app");
    FUZZ_CHECK(strcmp(a->entitlement, b->entitlement) == 0, "entitlement");
    FUZZ_CHECK(strcmp(a->resource, b->resource) == 0, "resource");
    FUZZ_CHECK(strcmp(a->permission, b->permission) == 0, "permission");
    FUZZ_CHECK(a->expires_at_ms == b->expires_at_ms, "expires_at");
    FUZZ_CHECK(a->issued_at_ms == b->issued_at_ms, "issued_at");
    FUZZ_CHECK(strcmp(a->reason, b->reason) == 0, "reason");
    FUZZ_CHECK(a->emergency == b->emergency, "emergency");
    FUZZ_CHECK(a->n_sources == b->n_sources, "n_sources %zu vs %zu", a->n_sources, b->n_sources);
    for (size_t i = 0; i < a->n_sources; i++) {
        FUZZ_CHECK(a->sources[i].kind == b->sources[i].kind, "sources[%zu].kind", i);
        FUZZ_CHECK(strcmp(a->sources[i].id, b->sources[i].id) == 0, "sources[%zu].id", i);
        FUZZ_CHECK(strcmp(a->sources[i].rotation, b->sources[i].rotation) == 0,
                   "sources[%zu].rotation", i);
        FUZZ_CHECK(a->sources[i].expires_at_ms == b->sources[i].expires_at_ms,
                   "sources[%zu].expires_at", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char reason[256] = "";
    sk_command_t cmd, cmd2;
    void *enc = NULL, *enc2 = NULL;
    size_t enc_len = 0, enc2_len = 0;
    int rc;

    codec_begin();
    rc = sk_codec_decode_command(g_codec, data, size, &g_arena, &cmd, reason, sizeof reason);
    if (rc != 0) {
        FUZZ_CHECK(rc == SK_EPARSE || rc == SK_EINVAL, "rc %d", rc);
        FUZZ_CHECK(reason[0] != '\0', "refused (rc %d) without a reason", rc);
        codec_end();
        return 0;
    }
    check_command(&cmd);
    rc = sk_codec_encode_command(g_codec, &cmd, &g_arena, &enc, &enc_len);
    FUZZ_CHECK(rc == 0 && enc && enc_len >= SK_WIRE_HEADER_LEN, "re-encode rc %d", rc);
    rc = sk_codec_decode_command(g_codec, enc, enc_len, &g_arena, &cmd2, reason, sizeof reason);
    FUZZ_CHECK(rc == 0, "decode of the re-encoded command: rc %d: %s", rc, reason);
    check_command(&cmd2);
    check_same(&cmd, &cmd2);
    rc = sk_codec_encode_command(g_codec, &cmd2, &g_arena, &enc2, &enc2_len);
    FUZZ_CHECK(rc == 0, "second encode rc %d", rc);
    FUZZ_CHECK(enc_len == enc2_len && memcmp(enc, enc2, enc_len) == 0,
               "encoding not stable (%zu vs %zu bytes)", enc_len, enc2_len);
    codec_end();
    return 0;
}
