/*
 * test_codec_direct.c — the direct encoders of Command, AuditRecord and
 * TaskEvent (codec/encode_direct.c) write exactly the bytes of avro-c's
 * generic encoders (sk_codec_encode_*_generic, the code they replaced),
 * over records chosen for the edges of the binary encoding: strings of
 * 0, 63, 64, 127, 128 and 20,000 bytes (one- to three-byte length
 * prefixes), multi-byte UTF-8, NULL strings, longs and ints at every
 * varint width and sign, empty and filled arrays, both union branches,
 * every enum value; both refuse an enum out of range; and a schema whose
 * fields moved refuses to make the direct encoders' shape check pass.
 */
#define SK_CODEC_INTERNAL
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "sk_test.h"

static char long_text[20001];

/* The strings the records are made of, edges of the length prefix first. */
static const char *text(int i)
{
    static char s63[64], s64[65], s127[128], s128[129];
    if (!long_text[0]) {
        memset(s63, 'a', 63);
        memset(s64, 'b', 64);
        memset(s127, 'c', 127);
        memset(s128, 'd', 128);
        memset(long_text, 'e', 20000);
    }
    static const char *const fixed[] = {"", "x", "user@example.com", "grüße, 日本 ✓", NULL};
    switch (i % 10) {
    case 5: return s63;
    case 6: return s64;
    case 7: return s127;
    case 8: return s128;
    case 9: return i % 20 == 9 ? long_text : "shift-42";
    default: return fixed[i % 5];
    }
}

/* Longs at each varint width, both signs, and the ends of the range. */
static const int64_t LONGS[] = {0,
                                1,
                                -1,
                                63,
                                64,
                                -64,
                                -65,
                                8191,
                                8192,
                                -8193,
                                1767225600000LL,
                                -1767225600000LL,
                                INT32_MAX,
                                INT32_MIN,
                                INT64_MAX,
                                INT64_MIN,
                                SK_MS_NONE};
#define N_LONGS (sizeof(LONGS) / sizeof(LONGS[0]))

/* The two encodings of one record are the same bytes. */
#define SAME_BYTES(direct_call, generic_call)                                                      \
    do {                                                                                           \
        void *out_d = NULL, *out_g = NULL;                                                         \
        size_t len_d = 0, len_g = 0;                                                               \
        int rc_d = (direct_call), rc_g = (generic_call);                                           \
        CHECK_INT(rc_d, rc_g);                                                                     \
        CHECK_INT(len_d, len_g);                                                                   \
        if (rc_d == 0 && rc_g == 0 && len_d == len_g)                                              \
            CHECK(memcmp(out_d, out_g, len_d) == 0);                                               \
    } while (0)

TEST(commands_match_the_generic_encoder)
{
    sk_codec_t *c = sk_codec_new();
    sk_arena_t a;
    sk_arena_init(&a, 1 << 16);
    CHECK(c != NULL);
    for (int i = 0; c && i < 120; i++) {
        sk_source_ref_t refs[3];
        for (int k = 0; k < 3; k++)
            refs[k] =
                (sk_source_ref_t){(sk_source_kind_t)((i + k) % SK_SOURCE_WIRE_COUNT), text(i + k),
                                  text(i + 2 * k + 1), LONGS[(size_t)(i + k) % N_LONGS]};
        sk_command_t cmd = {.action = (sk_command_action_t)(i % SK_CMD_ACTION_COUNT),
                            .user = text(i),
                            .app = text(i + 1),
                            .entitlement = text(i + 2),
                            .resource = text(i + 3),
                            .permission = text(i + 4),
                            .expires_at_ms = LONGS[(size_t)i % N_LONGS],
                            .issued_at_ms = LONGS[(size_t)(i + 7) % N_LONGS],
                            .reason = text(i + 5),
                            .emergency = i % 3 == 0,
                            .n_sources = (size_t)(i % 4),
                            .sources = i % 4 ? refs : NULL};
        /* ids: 32 hex chars, shorter, or empty */
        const char *ids[] = {"0123456789abcdef0123456789abcdef", "abc", ""};
        memcpy(cmd.command_id, ids[i % 3], strlen(ids[i % 3]) + 1);
        sk_arena_reset(&a);
        SAME_BYTES(sk_codec_encode_command(c, &cmd, &a, &out_d, &len_d),
                   sk_codec_encode_command_generic(c, &cmd, &a, &out_g, &len_g));
    }
    /* a command with sources that the direct writer decodes back */
    sk_source_ref_t ref = {SK_SOURCE_SHIFT, "sh-1", "primary", 1767229200000LL};
    sk_command_t cmd = {.command_id = "00112233445566778899aabbccddeeff",
                        .action = SK_CMD_EXTEND,
                        .user = "bob",
                        .app = "aws",
                        .entitlement = "admin",
                        .resource = "arn:aws:iam::1:role/admin",
                        .permission = "assume",
                        .expires_at_ms = 1767229200000LL,
                        .issued_at_ms = 1767225600000LL,
                        .reason = "expiry moved",
                        .n_sources = 1,
                        .sources = &ref};
    void *buf;
    size_t len;
    sk_command_t got;
    char why[256];
    CHECK_INT(sk_codec_encode_command(c, &cmd, &a, &buf, &len), 0);
    CHECK_INT(sk_codec_decode_command(c, buf, len, &a, &got, why, sizeof why), 0);
    CHECK_STR(got.command_id, cmd.command_id);
    CHECK_STR(got.reason, "expiry moved");
    CHECK_INT(got.n_sources, 1);
    CHECK_INT(got.sources[0].expires_at_ms, ref.expires_at_ms);
    sk_arena_fini(&a);
    sk_codec_destroy(c);
}

/* A lazy trace line: "line <n>" written when encoded. */
static void write_line(sk_strbuf_t *b, const void *args)
{
    sk_strbuf_str(b, "line ");
    sk_strbuf_i64(b, *(const int64_t *)args);
}

TEST(audits_match_the_generic_encoder)
{
    sk_codec_t *c = sk_codec_new();
    sk_arena_t a;
    sk_arena_init(&a, 1 << 16);
    CHECK(c != NULL);
    for (int i = 0; c && i < 120; i++) {
        sk_text_t trace[3] = {sk_text_plain(text(i)),
                              {NULL, write_line, &LONGS[i % N_LONGS]},
                              sk_text_plain(text(i + 8))};
        const char *ids[3] = {text(i + 1), "0123456789abcdef0123456789abcdef", text(i + 2)};
        sk_audit_t au = {.at_ms = LONGS[(size_t)i % N_LONGS],
                         .actor = text(i),
                         .user = text(i + 1),
                         .event_id = text(i + 2),
                         .decision = text(i + 3),
                         .reason = text(i + 4),
                         .rules_version = text(i + 6),
                         .origin = {text(i + 7), (int32_t)LONGS[(size_t)(i + 3) % N_LONGS],
                                    LONGS[(size_t)(i + 5) % N_LONGS]},
                         .n_trace = (size_t)(i % 4),
                         .trace = i % 4 ? trace : NULL,
                         .n_commands = (size_t)((i / 4) % 4),
                         .command_ids = (i / 4) % 4 ? ids : NULL};
        memcpy(au.audit_id, "ffeeddccbbaa99887766554433221100", 33);
        sk_arena_reset(&a);
        SAME_BYTES(sk_codec_encode_audit(c, &au, &a, &out_d, &len_d),
                   sk_codec_encode_audit_generic(c, &au, &a, &out_g, &len_g));
    }
    sk_arena_fini(&a);
    sk_codec_destroy(c);
}

TEST(tasks_match_the_generic_encoder)
{
    sk_codec_t *c = sk_codec_new();
    sk_arena_t a;
    sk_arena_init(&a, 1 << 16);
    CHECK(c != NULL);
    for (int i = 0; c && i < 160; i++) {
        const char *as[3] = {text(i), text(i + 3), "carol"};
        sk_task_t t = {.task_id = text(i + 2),
                       .kind = (sk_task_kind_t)(i % SK_TASK_KIND_COUNT),
                       .state = (sk_task_state_t)(i % SK_TASK_STATE_COUNT),
                       .outcome = i % 3 ? (sk_task_outcome_t)(i % SK_TASK_OUTCOME_COUNT)
                                        : SK_TASK_OUTCOME_NONE,
                       .request_id = text(i + 1),
                       .subject = text(i + 3),
                       .target = text(i + 4),
                       .step = (int32_t)LONGS[(size_t)i % 10],
                       .n_assignees = (size_t)(i % 4),
                       .assignees = i % 4 ? as : NULL,
                       .emergency = i % 2 == 1,
                       .reason = text(i + 5),
                       .at_ms = LONGS[(size_t)i % N_LONGS],
                       .justification = text(i + 6),
                       .expires_ms = i % 5 == 0 ? 0 : LONGS[(size_t)(i + 1) % N_LONGS],
                       .actor = text(i + 7)};
        sk_arena_reset(&a);
        SAME_BYTES(sk_codec_encode_task(c, &t, &a, &out_d, &len_d),
                   sk_codec_encode_task_generic(c, &t, &a, &out_g, &len_g));
    }
    sk_arena_fini(&a);
    sk_codec_destroy(c);
}

TEST(both_refuse_an_enum_out_of_range)
{
    sk_codec_t *c = sk_codec_new();
    sk_arena_t a;
    void *buf;
    size_t len;
    sk_arena_init(&a, 4096);
    sk_source_ref_t bad_ref = {(sk_source_kind_t)SK_SOURCE_WIRE_COUNT, "x", "", 1};
    sk_command_t cmd = {.action = (sk_command_action_t)SK_CMD_ACTION_COUNT, .user = "u"};
    CHECK_INT(sk_codec_encode_command(c, &cmd, &a, &buf, &len), SK_EINVAL);
    CHECK_INT(sk_codec_encode_command_generic(c, &cmd, &a, &buf, &len), SK_EINVAL);
    cmd.action = SK_CMD_GRANT;
    cmd.sources = &bad_ref;
    cmd.n_sources = 1;
    CHECK_INT(sk_codec_encode_command(c, &cmd, &a, &buf, &len), SK_EINVAL);
    CHECK_INT(sk_codec_encode_command_generic(c, &cmd, &a, &buf, &len), SK_EINVAL);
    sk_task_t t = {.task_id = "t", .kind = (sk_task_kind_t)-1};
    CHECK_INT(sk_codec_encode_task(c, &t, &a, &buf, &len), SK_EINVAL);
    CHECK_INT(sk_codec_encode_task_generic(c, &t, &a, &buf, &len), SK_EINVAL);
    t.kind = SK_TASK_KIND_COUNT - 1;
    t.outcome = (sk_task_outcome_t)SK_TASK_OUTCOME_COUNT;
    CHECK_INT(sk_codec_encode_task(c, &t, &a, &buf, &len), SK_EINVAL);
    CHECK_INT(sk_codec_encode_task_generic(c, &t, &a, &buf, &len), SK_EINVAL);
    /* the codec still encodes after a refusal */
    t.outcome = SK_TASK_OUTCOME_NONE;
    CHECK_INT(sk_codec_encode_task(c, &t, &a, &buf, &len), 0);
    sk_arena_fini(&a);
    sk_codec_destroy(c);
}

TEST(a_schema_the_direct_encoder_does_not_follow_is_refused)
{
    /* the Command schema with two fields swapped (app before user) */
    static const char *moved =
        "{\"type\":\"record\",\"name\":\"Command\",\"fields\":["
        "{\"name\":\"command_id\",\"type\":\"string\"},"
        "{\"name\":\"action\",\"type\":{\"type\":\"enum\",\"name\":\"A\","
        "\"symbols\":[\"GRANT\",\"REVOKE\",\"EXTEND\"]}},"
        "{\"name\":\"app\",\"type\":\"string\"},{\"name\":\"user\",\"type\":\"string\"}]}";
    sk_codec_t *c = sk_codec_new();
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_INT(sk_codec_direct_check(c), 0);
    avro_schema_t good = c->slots[SK_CODEC_COMMAND].schema, bad = NULL;
    CHECK_INT(avro_schema_from_json_length(moved, strlen(moved), &bad), 0);
    c->slots[SK_CODEC_COMMAND].schema = bad;
    CHECK_INT(sk_codec_direct_check(c), SK_EINVAL);
    c->slots[SK_CODEC_COMMAND].schema = good;
    avro_schema_decref(bad);
    sk_codec_destroy(c);
}

SK_TEST_MAIN(SK_TEST_CASE(commands_match_the_generic_encoder),
             SK_TEST_CASE(audits_match_the_generic_encoder),
             SK_TEST_CASE(tasks_match_the_generic_encoder),
             SK_TEST_CASE(both_refuse_an_enum_out_of_range),
             SK_TEST_CASE(a_schema_the_direct_encoder_does_not_follow_is_refused))
