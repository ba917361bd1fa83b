/*
 * test_codec.c — the Avro wire format: round trips of the four records,
 * determinism, and every kind of bad input refused with a reason that names
 * what is wrong (framing, truncation at every length, enum and union
 * ranges, trailing bytes, huge length prefixes, identifiers, times).
 *
 * Writes {schedule,schedule_open,command,audit,dead_letter,request,task,
 * provisioning_result}.bin into the samples folder ($SK_SAMPLES_DIR, else
 * build/test/samples), and decodes py_schedule.bin and py_request.bin from
 * it. tests/blackbox/test_skwire_interop.py runs this binary itself with
 * its own SK_SAMPLES_DIR, so neither test depends on the other having run;
 * a missing Python sample is skipped here with a note the interop test
 * fails on.
 * The malformed cases of the request, task and provisioning-result records
 * are in test_codec_request.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/codec.h"
#include "sk_test.h"

#define SAMPLES "build/test/samples" /* unless SK_SAMPLES_DIR says another */
#define T0      1767225600000LL      /* 2026-01-01T00:00:00Z */
#define HOUR    3600000LL

typedef struct fixture {
    sk_codec_t *codec;
    sk_arena_t arena;
    char reason[256];
} fixture_t;

static void setup(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    f->codec = sk_codec_new();
    sk_arena_init(&f->arena, 4096);
    CHECK(f->codec != NULL);
}

static void teardown(fixture_t *f)
{
    sk_codec_destroy(f->codec);
    sk_arena_fini(&f->arena);
}

static sk_schedule_event_t sample_event(void)
{
    return (sk_schedule_event_t){
        .event_id = "ev-1",
        .type = SK_SHIFT_STARTED,
        .source = "pagerduty",
        .rotation = "payments-primary",
        .user = "alice@example.com",
        .shift_id = "PD-SHIFT-42",
        .start_ms = T0,
        .end_ms = T0 + 8 * HOUR,
        .escalation_level = 2,
        .occurred_at_ms = T0 - 60000,
    };
}

static const sk_source_ref_t sample_sources[] = {
    {SK_SOURCE_SHIFT, "PD-SHIFT-42", "payments-primary", T0 + 8 * HOUR},
    {SK_SOURCE_REQUEST, "req-7", "", T0 + 2 * HOUR},
};

static sk_command_t sample_command(void)
{
    sk_command_t c = {
        .action = SK_CMD_GRANT,
        .user = "alice@example.com",
        .app = "aws-prod",
        .entitlement = "admin",
        .resource = "arn:aws:iam::123456789012:role/admin",
        .permission = "assume",
        .expires_at_ms = T0 + 8 * HOUR,
        .issued_at_ms = T0,
        .reason = "alice@example.com is on call in payments-primary until 08:00.",
        .emergency = true,
        .n_sources = 2,
        .sources = sample_sources,
    };
    memcpy(c.command_id, "0123456789abcdef0123456789abcdef", 33);
    return c;
}

/* The samples folder: $SK_SAMPLES_DIR when set (the interop test's own), else SAMPLES. */
static const char *samples_dir(void)
{
    const char *dir = getenv("SK_SAMPLES_DIR");
    return dir && *dir ? dir : SAMPLES;
}

/* Opens samples_dir()/name for reading; NULL when absent, saying so (the
 * interop test, which writes the file, fails on that note). */
static FILE *open_python_sample(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", samples_dir(), name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        printf("  (no %s yet: tests/blackbox/test_skwire_interop.py writes it)\n", path);
    return fp;
}

static void write_sample(const char *name, const void *buf, size_t len)
{
    char path[512];
    mkdir("build", 0777);
    mkdir("build/test", 0777);
    mkdir(samples_dir(), 0777);
    snprintf(path, sizeof path, "%s/%s", samples_dir(), name);
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (fp) {
        CHECK(fwrite(buf, 1, len, fp) == len);
        CHECK(fclose(fp) == 0);
    }
}

/* Encodes the sample event changed by the caller into a malloc'd copy. */
static unsigned char *encode_event(fixture_t *f, const sk_schedule_event_t *ev, size_t *len)
{
    void *buf = NULL;
    CHECK_INT(sk_codec_encode_schedule(f->codec, ev, &f->arena, &buf, len), 0);
    unsigned char *copy = malloc(*len + 16);
    if (copy && buf)
        memcpy(copy, buf, *len);
    return copy;
}

static int decode_event(fixture_t *f, const void *buf, size_t len, sk_schedule_event_t *out)
{
    f->reason[0] = '\0';
    return sk_codec_decode_schedule(f->codec, buf, len, out, f->reason, sizeof f->reason);
}

static size_t varint_len(int64_t v)
{
    uint64_t n = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t len = 1;
    while (n >= 0x80) {
        n >>= 7;
        len++;
    }
    return len;
}

static size_t put_varint(unsigned char *p, int64_t v)
{
    uint64_t n = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t len = 0;
    while (n >= 0x80) {
        p[len++] = (unsigned char)(n | 0x80);
        n >>= 7;
    }
    p[len++] = (unsigned char)n;
    return len;
}

/* Offset of the 'end' union discriminant in an encoded sample-like event. */
static size_t end_offset(const sk_schedule_event_t *ev)
{
    const char *s[] = {ev->source, ev->rotation, ev->user, ev->shift_id};
    size_t off = SK_WIRE_HEADER_LEN + varint_len((int64_t)strlen(ev->event_id)) +
                 strlen(ev->event_id) + 1 /* type */;
    for (size_t i = 0; i < SK_ARRAY_LEN(s); i++)
        off += varint_len((int64_t)strlen(s[i])) + strlen(s[i]);
    return off + varint_len(ev->start_ms);
}

TEST(schedule_round_trip)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event(), got;
    size_t len = 0;
    unsigned char *buf = encode_event(&f, &ev, &len);
    int32_t id = 0;
    CHECK_INT(sk_codec_schema_id(buf, len, &id), 0);
    CHECK_INT(id, SK_SCHEMA_ID_SCHEDULE_EVENT);
    CHECK_INT(buf[0], 0);
    CHECK_INT(decode_event(&f, buf, len, &got), 0);
    CHECK_STR(f.reason, "");
    CHECK_STR(got.event_id, "ev-1");
    CHECK_INT(got.type, SK_SHIFT_STARTED);
    CHECK_STR(got.source, "pagerduty");
    CHECK_STR(got.rotation, "payments-primary");
    CHECK_STR(got.user, "alice@example.com");
    CHECK_STR(got.shift_id, "PD-SHIFT-42");
    CHECK_INT(got.start_ms, T0);
    CHECK_INT(got.end_ms, T0 + 8 * HOUR);
    CHECK_INT(got.escalation_level, 2);
    CHECK_INT(got.occurred_at_ms, T0 - 60000);
    write_sample("schedule.bin", buf, len);
    /* Every type survives the trip. */
    for (int t = 0; t < SK_SHIFT_EVENT_TYPE_COUNT; t++) {
        void *b = NULL;
        size_t n = 0;
        ev.type = (sk_shift_event_type_t)t;
        CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &b, &n), 0);
        CHECK_INT(decode_event(&f, b, n, &got), 0);
        CHECK_INT(got.type, t);
    }
    free(buf);
    teardown(&f);
}

TEST(schedule_open_ended)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event(), got;
    ev.end_ms = SK_MS_NONE;
    ev.escalation_level = 1;
    size_t len = 0;
    unsigned char *buf = encode_event(&f, &ev, &len);
    CHECK_INT(buf[end_offset(&ev)], 0); /* union branch 0: null */
    CHECK_INT(decode_event(&f, buf, len, &got), 0);
    CHECK_INT(got.end_ms, SK_MS_NONE);
    CHECK_INT(got.start_ms, T0);
    CHECK_INT(got.escalation_level, 1);
    write_sample("schedule_open.bin", buf, len);
    free(buf);
    teardown(&f);
}

TEST(command_round_trip)
{
    fixture_t f;
    setup(&f);
    sk_command_t cmd = sample_command(), got;
    void *buf = NULL;
    size_t len = 0;
    int32_t id = 0;
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &buf, &len), 0);
    CHECK_INT(sk_codec_schema_id(buf, len, &id), 0);
    CHECK_INT(id, SK_SCHEMA_ID_COMMAND);
    CHECK_INT(sk_codec_decode_command(f.codec, buf, len, &f.arena, &got, f.reason, sizeof f.reason),
              0);
    CHECK_STR(got.command_id, cmd.command_id);
    CHECK_INT(got.action, SK_CMD_GRANT);
    CHECK_STR(got.user, cmd.user);
    CHECK_STR(got.app, "aws-prod");
    CHECK_STR(got.entitlement, "admin");
    CHECK_STR(got.resource, cmd.resource);
    CHECK_STR(got.permission, "assume");
    CHECK_INT(got.expires_at_ms, T0 + 8 * HOUR);
    CHECK_INT(got.issued_at_ms, T0);
    CHECK_STR(got.reason, cmd.reason);
    CHECK(got.emergency);
    CHECK_INT(got.n_sources, 2);
    if (got.n_sources == 2) {
        CHECK_INT(got.sources[0].kind, SK_SOURCE_SHIFT);
        CHECK_STR(got.sources[0].id, "PD-SHIFT-42");
        CHECK_STR(got.sources[0].rotation, "payments-primary");
        CHECK_INT(got.sources[0].expires_at_ms, T0 + 8 * HOUR);
        CHECK_INT(got.sources[1].kind, SK_SOURCE_REQUEST);
        CHECK_STR(got.sources[1].id, "req-7");
        CHECK_STR(got.sources[1].rotation, "");
        CHECK_INT(got.sources[1].expires_at_ms, T0 + 2 * HOUR);
    }
    write_sample("command.bin", buf, len);

    /* A REVOKE with no sources left; the decoded copy lives in the arena. */
    cmd.action = SK_CMD_REVOKE;
    cmd.emergency = false;
    cmd.n_sources = 0;
    cmd.sources = NULL;
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &buf, &len), 0);
    CHECK_INT(sk_codec_decode_command(f.codec, buf, len, &f.arena, &got, f.reason, sizeof f.reason),
              0);
    CHECK_INT(got.action, SK_CMD_REVOKE);
    CHECK(!got.emergency);
    CHECK_INT(got.n_sources, 0);
    teardown(&f);
}

/* A command read back for its action alone (the engine's held commands):
 * a GRANT whose resource is over the decoder's input limit is still read as
 * a GRANT; a record that is no Command is refused. */
TEST(command_action_without_limits)
{
    fixture_t f;
    setup(&f);
    sk_command_t cmd = sample_command(), got;
    char *big = sk_arena_alloc(&f.arena, 9001);
    memset(big, 'r', 9000);
    big[9000] = '\0';
    cmd.resource = big;
    void *buf = NULL;
    size_t len = 0;
    sk_command_action_t action = SK_CMD_REVOKE;
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &buf, &len), 0);
    CHECK(sk_codec_decode_command(f.codec, buf, len, &f.arena, &got, f.reason, sizeof f.reason) !=
          0); /* over SK_TEXT_MAX as an input */
    CHECK_INT(sk_codec_command_action(f.codec, buf, len, &action, f.reason, sizeof f.reason), 0);
    CHECK_INT(action, SK_CMD_GRANT);
    cmd.action = SK_CMD_EXTEND;
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &buf, &len), 0);
    CHECK_INT(sk_codec_command_action(f.codec, buf, len, &action, f.reason, sizeof f.reason), 0);
    CHECK_INT(action, SK_CMD_EXTEND);
    CHECK(sk_codec_command_action(f.codec, buf, len - 1, &action, f.reason, sizeof f.reason) != 0);
    static const unsigned char junk[] = {0, 0, 0, 0, 1, 2, 3};
    CHECK(sk_codec_command_action(f.codec, junk, sizeof junk, &action, f.reason, sizeof f.reason) !=
          0);
    teardown(&f);
}

TEST(audit_encode)
{
    fixture_t f;
    setup(&f);
    static const sk_text_t trace[] = {
        {"profile oncall-payments: auto-enrol rotation payments-primary", NULL, NULL},
        {"entitlement aws-prod/admin: max 12h", NULL, NULL}};
    static const char *const ids[] = {"0123456789abcdef0123456789abcdef"};
    sk_audit_t a = {
        .at_ms = T0,
        .actor = "connector:pagerduty",
        .user = "alice@example.com",
        .event_id = "ev-1",
        .decision = "granted",
        .reason = "on call",
        .rules_version = "r1",
        .origin = {"shiftkey.schedule.v1", 3, 12345},
        .n_trace = 2,
        .trace = trace,
        .n_commands = 1,
        .command_ids = ids,
    };
    memcpy(a.audit_id, "fedcba9876543210fedcba9876543210", 33);
    void *buf = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    int32_t id = 0;
    CHECK_INT(sk_codec_encode_audit(f.codec, &a, &f.arena, &buf, &len), 0);
    CHECK_INT(sk_codec_schema_id(buf, len, &id), 0);
    CHECK_INT(id, SK_SCHEMA_ID_AUDIT);
    CHECK_INT(sk_codec_encode_audit(f.codec, &a, &f.arena, &again, &len2), 0);
    CHECK(len == len2 && memcmp(buf, again, len) == 0);
    CHECK(memmem(buf, len, "shiftkey.schedule.v1", 20) != NULL);
    write_sample("audit.bin", buf, len);
    teardown(&f);
}

TEST(dead_letter_round_trip)
{
    fixture_t f;
    setup(&f);
    static const unsigned char payload[] = {0x7b, 0x00, 0xff, 0x22, 0x00};
    sk_dead_letter_t dl =
                         {
                             .at_ms = T0,
                             .kind = SK_DL_INVALID,
                             .reason = "field 'type': enum index 9 out of range (0..4)",
                             .origin = {"shiftkey.schedule.v1", 1, 77},
                             .key = "alice",
                             .key_len = 5,
                             .payload = payload,
                             .payload_len = sizeof payload,
                         },
                     got;
    void *buf = NULL;
    size_t len = 0;
    CHECK_INT(sk_codec_encode_dead_letter(f.codec, &dl, &f.arena, &buf, &len), 0);
    CHECK_INT(
        sk_codec_decode_dead_letter(f.codec, buf, len, &f.arena, &got, f.reason, sizeof f.reason),
        0);
    CHECK_INT(got.at_ms, T0);
    CHECK_INT(got.kind, SK_DL_INVALID);
    CHECK_STR(got.reason, dl.reason);
    CHECK_STR(got.origin.topic, "shiftkey.schedule.v1");
    CHECK_INT(got.origin.partition, 1);
    CHECK_INT(got.origin.offset, 77);
    CHECK_INT(got.key_len, 5);
    CHECK(got.key && memcmp(got.key, "alice", 5) == 0);
    CHECK_INT(got.payload_len, sizeof payload);
    CHECK(got.payload && memcmp(got.payload, payload, sizeof payload) == 0);
    write_sample("dead_letter.bin", buf, len);

    /* No key, empty payload, a timer origin. */
    dl.key = NULL;
    dl.key_len = 0;
    dl.payload = NULL;
    dl.payload_len = 0;
    dl.kind = SK_DL_UNDECODABLE;
    dl.origin = (sk_origin_t){"", -1, -1};
    CHECK_INT(sk_codec_encode_dead_letter(f.codec, &dl, &f.arena, &buf, &len), 0);
    CHECK_INT(
        sk_codec_decode_dead_letter(f.codec, buf, len, &f.arena, &got, f.reason, sizeof f.reason),
        0);
    CHECK(got.key == NULL);
    CHECK_INT(got.key_len, 0);
    CHECK_INT(got.payload_len, 0);
    CHECK_INT(got.kind, SK_DL_UNDECODABLE);
    CHECK_INT(got.origin.offset, -1);
    CHECK_STR(got.origin.topic, "");
    teardown(&f);
}

TEST(encoding_is_deterministic)
{
    fixture_t f, g;
    setup(&f);
    setup(&g);
    sk_command_t cmd = sample_command(), other = sample_command();
    other.n_sources = 0;
    other.sources = NULL;
    other.reason = "something else entirely";
    void *a = NULL, *b = NULL, *c = NULL;
    size_t na = 0, nb = 0, nc = 0;
    /* Same codec with another record in between (reused values must not
     * keep array items or strings), and a fresh codec: same bytes. */
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &a, &na), 0);
    CHECK_INT(sk_codec_encode_command(f.codec, &other, &f.arena, &b, &nb), 0);
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &b, &nb), 0);
    CHECK_INT(sk_codec_encode_command(g.codec, &cmd, &g.arena, &c, &nc), 0);
    CHECK(na == nb && memcmp(a, b, na) == 0);
    CHECK(na == nc && memcmp(a, c, na) == 0);
    sk_schedule_event_t ev = sample_event();
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &a, &na), 0);
    CHECK_INT(sk_codec_encode_schedule(g.codec, &ev, &g.arena, &c, &nc), 0);
    CHECK(na == nc && memcmp(a, c, na) == 0);
    teardown(&f);
    teardown(&g);
}

TEST(framing_refused)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t got;
    static const unsigned char zero[1] = {0};
    static const char json[] = "{\"type\":\"STARTED\"}";
    CHECK_INT(decode_event(&f, "", 0, &got), SK_EPARSE);
    CHECK_CONTAINS(f.reason, "empty record");
    CHECK_INT(decode_event(&f, zero, 1, &got), SK_EPARSE);
    CHECK_STR(f.reason, "truncated record (needs more bytes than the 1 given): the header "
                        "alone is 5 bytes");
    CHECK_INT(decode_event(&f, json, sizeof json - 1, &got), SK_EPARSE);
    CHECK_STR(f.reason, "not shiftkey framing: first byte 0x7b, expected 0x00");
    CHECK_INT(decode_event(&f, "\x01\x00\x00\x03\xe9\x02", 6, &got), SK_EPARSE);
    CHECK_STR(f.reason, "not shiftkey framing: first byte 0x01, expected 0x00");

    /* A Command handed to the schedule decoder. */
    sk_command_t cmd = sample_command();
    void *buf = NULL;
    size_t len = 0;
    int32_t id = 0;
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EPARSE);
    CHECK_STR(f.reason, "schema id 1002 is not a ScheduleEvent (1001)");
    CHECK_INT(sk_codec_schema_id(json, sizeof json - 1, &id), SK_EPARSE);
    CHECK_INT(sk_codec_schema_id(zero, 1, &id), SK_EPARSE);

    /* Garbage after a valid header. */
    static const unsigned char garbage[] = {0,    0,    0,    0x03, 0xe9, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_INT(decode_event(&f, garbage, sizeof garbage, &got), SK_EPARSE);
    CHECK_CONTAINS(f.reason, "field 'event_id': malformed varint");
    teardown(&f);
}

TEST(truncated_at_every_length)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event(), got;
    sk_command_t cmd = sample_command(), cgot;
    size_t len = 0, clen = 0;
    unsigned char *buf = encode_event(&f, &ev, &len);
    void *cbuf = NULL;
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &cbuf, &clen), 0);
    unsigned char *ccopy = malloc(clen);
    memcpy(ccopy, cbuf, clen);
    for (size_t n = 0; n < len; n++) {
        /* A heap copy of exactly n bytes, so ASan sees any over-read. */
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        CHECK_INT(decode_event(&f, cut, n, &got), SK_EPARSE);
        if (n >= SK_WIRE_HEADER_LEN)
            CHECK_CONTAINS(f.reason, "truncated record");
        free(cut);
    }
    for (size_t n = 0; n < clen; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, ccopy, n);
        f.reason[0] = '\0';
        CHECK(sk_codec_decode_command(f.codec, cut, n, &f.arena, &cgot, f.reason,
                                      sizeof f.reason) == SK_EPARSE);
        CHECK(f.reason[0] != '\0');
        free(cut);
    }
    snprintf(f.reason, sizeof f.reason, "x");
    CHECK_INT(decode_event(&f, buf, 12, &got), SK_EPARSE);
    CHECK_CONTAINS(f.reason, "truncated record (needs more bytes than the 12 given)");
    CHECK_INT(decode_event(&f, buf, len, &got), 0); /* the whole one still decodes */
    free(ccopy);
    free(buf);
    teardown(&f);
}

TEST(enum_index_out_of_range)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event(), got;
    size_t len = 0;
    unsigned char *buf = encode_event(&f, &ev, &len);
    size_t at = SK_WIRE_HEADER_LEN + 1 + strlen(ev.event_id); /* the 'type' varint */
    CHECK_INT(buf[at], 2 * SK_SHIFT_STARTED);
    buf[at] = 2 * 9; /* zig-zag 9 */
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'type': enum index 9 out of range (0..4)");
    buf[at] = 1; /* zig-zag -1 */
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'type': enum index -1 out of range (0..4)");
    buf[at] = 2 * 4; /* CANCELLED, the last one, is fine */
    CHECK_INT(decode_event(&f, buf, len, &got), 0);
    CHECK_INT(got.type, SK_SHIFT_CANCELLED);

    /* A nested enum: sources[0].kind is the byte after the array count. */
    sk_command_t cmd = sample_command(), cgot;
    cmd.n_sources = 1;
    void *cb = NULL;
    size_t cn = 0;
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &cb, &cn), 0);
    unsigned char *c = cb;
    size_t tail = 1 + strlen(sample_sources[0].id) + 1 + strlen(sample_sources[0].rotation) +
                  varint_len(sample_sources[0].expires_at_ms) + 1 /* array end */;
    CHECK_INT(c[cn - tail - 1], 2 * SK_SOURCE_SHIFT);
    c[cn - tail - 1] = 2 * 3;
    CHECK_INT(sk_codec_decode_command(f.codec, cb, cn, &f.arena, &cgot, f.reason, sizeof f.reason),
              SK_EPARSE);
    CHECK_STR(f.reason, "field 'sources[0].kind': enum index 3 out of range (0..2)");
    free(buf);
    teardown(&f);
}

TEST(union_branch_out_of_range)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event(), got;
    size_t len = 0;
    unsigned char *buf = encode_event(&f, &ev, &len);
    size_t at = end_offset(&ev);
    CHECK_INT(buf[at], 2); /* branch 1: long */
    buf[at] = 2 * 2;
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'end': union branch 2 out of range (0..1)");
    buf[at] = 1; /* -1 */
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'end': union branch -1 out of range (0..1)");
    free(buf);
    teardown(&f);
}

TEST(trailing_bytes_refused)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event(), got;
    size_t len = 0;
    unsigned char *buf = encode_event(&f, &ev, &len);
    buf[len] = 0;
    buf[len + 1] = 0x42;
    CHECK_INT(decode_event(&f, buf, len + 2, &got), SK_EPARSE);
    char want[128];
    snprintf(want, sizeof want,
             "2 trailing bytes after the ScheduleEvent record (it ends at byte %zu of the "
             "%zu given)",
             len, len + 2);
    CHECK_STR(f.reason, want);
    free(buf);
    teardown(&f);
}

TEST(huge_length_prefix_allocates_nothing)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t got;
    /* Header, then event_id declaring 2^50 bytes (and 2^30, 2^62): if the
     * length reached avro-c it would malloc it first (ASan aborts on such a
     * size; without ASan avro-c would report "Cannot allocate"). The reason
     * below comes from the walk that runs before avro_value_read(). */
    static const int64_t sizes[] = {(int64_t)1 << 30, (int64_t)1 << 50, (int64_t)1 << 62};
    for (size_t i = 0; i < SK_ARRAY_LEN(sizes); i++) {
        unsigned char rec[32] = {0, 0, 0, 0x03, 0xe9};
        size_t n = SK_WIRE_HEADER_LEN + put_varint(rec + SK_WIRE_HEADER_LEN, sizes[i]);
        memcpy(rec + n, "ev-1", 4);
        n += 4;
        char want[160];
        snprintf(want, sizeof want,
                 "field 'event_id': length %lld exceeds the 4 bytes left: truncated record "
                 "(needs more bytes than the %zu given)",
                 (long long)sizes[i], n);
        CHECK_INT(decode_event(&f, rec, n, &got), SK_EPARSE);
        CHECK_STR(f.reason, want);
    }
    /* A negative length. */
    static const unsigned char neg[] = {0, 0, 0, 0x03, 0xe9, 0x03, 'a', 'b'};
    CHECK_INT(decode_event(&f, neg, sizeof neg, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'event_id': negative length -2");

    /* An array declaring 2^40 items: the last byte of a Command without
     * sources is the array's end marker. */
    sk_command_t cmd = sample_command(), cgot;
    cmd.n_sources = 0;
    void *cb = NULL;
    size_t cn = 0;
    CHECK_INT(sk_codec_encode_command(f.codec, &cmd, &f.arena, &cb, &cn), 0);
    unsigned char *big = malloc(cn + 16);
    memcpy(big, cb, cn);
    size_t bn = cn - 1 + put_varint(big + cn - 1, (int64_t)1 << 40);
    CHECK_INT(sk_codec_decode_command(f.codec, big, bn, &f.arena, &cgot, f.reason, sizeof f.reason),
              SK_EPARSE);
    CHECK_CONTAINS(f.reason, "field 'sources': item count 1099511627776 exceeds the 0 bytes left");
    free(big);
    teardown(&f);
}

TEST(invalid_identifiers_refused)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event(), got;
    void *buf = NULL;
    size_t len = 0;
    ev.user = "alice smith";
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
    CHECK_STR(f.reason, "field 'user': invalid identifier 'alice smith' (1..256 printable "
                        "ASCII characters, no spaces)");
    ev = sample_event();
    ev.rotation = "";
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
    CHECK_CONTAINS(f.reason, "field 'rotation': invalid identifier ''");
    char longid[SK_ID_MAX + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    ev = sample_event();
    ev.shift_id = longid;
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
    CHECK_STR(f.reason, "field 'shift_id': 257 bytes, longer than the 256 allowed");
    ev = sample_event();
    ev.source = "pager\tduty";
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
    CHECK_CONTAINS(f.reason, "field 'source': invalid identifier");
    /* A NUL inside a string, patched in. */
    ev = sample_event();
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    unsigned char *p = memmem(buf, len, "alice@", 6);
    CHECK(p != NULL);
    if (p) {
        p[2] = '\0';
        CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
        CHECK_STR(f.reason, "field 'user': contains a NUL byte");
    }
    teardown(&f);
}

TEST(invalid_times_refused)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event(), got;
    void *buf = NULL;
    size_t len = 0;
    ev.start_ms = T0 + HOUR;
    ev.end_ms = T0;
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
    CHECK_STR(f.reason, "field 'end' (2026-01-01T00:00:00.000Z) is before 'start' "
                        "(2026-01-01T01:00:00.000Z)");
    ev.end_ms = ev.start_ms;
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
    CHECK_CONTAINS(f.reason, "is not after 'start'");
    ev = sample_event();
    ev.start_ms = -5;
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
    CHECK_STR(f.reason, "field 'start': -5 is negative");
    ev = sample_event();
    ev.occurred_at_ms = -1;
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
    CHECK_STR(f.reason, "field 'occurred_at': -1 is negative");
    ev = sample_event();
    ev.escalation_level = 0;
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(decode_event(&f, buf, len, &got), SK_EINVAL);
    CHECK_STR(f.reason, "field 'escalation_level': 0 is below 1");
    teardown(&f);
}

TEST(encoder_refuses_bad_enum)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event();
    void *buf = NULL;
    size_t len = 0;
    ev.type = (sk_shift_event_type_t)7;
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), SK_EINVAL);
    ev = sample_event();
    CHECK_INT(sk_codec_encode_schedule(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_STR(sk_shift_event_type_name(SK_SHIFT_CANCELLED), "CANCELLED");
    CHECK_STR(sk_command_action_name(SK_CMD_EXTEND), "EXTEND");
    CHECK_STR(sk_source_kind_name(SK_SOURCE_EMERGENCY), "EMERGENCY");
    CHECK_STR(sk_dead_letter_kind_name(SK_DL_UNKNOWN_REFERENCE), "UNKNOWN_REFERENCE");
    CHECK_STR(sk_shift_event_type_name((sk_shift_event_type_t)99), "UNKNOWN");
    teardown(&f);
}

TEST(random_bytes_never_crash)
{
    fixture_t f;
    setup(&f);
    sk_schedule_event_t ev = sample_event(), got;
    size_t len = 0;
    unsigned char *good = encode_event(&f, &ev, &len);
    unsigned int seed = 12345;
    int refused = 0;
    for (int i = 0; i < 5000; i++) {
        unsigned char *buf = malloc(len);
        memcpy(buf, good, len);
        /* Flip 1..4 bytes of the body; the header stays valid. */
        int flips = 1 + (int)(rand_r(&seed) % 4);
        for (int k = 0; k < flips; k++)
            buf[SK_WIRE_HEADER_LEN + rand_r(&seed) % (len - SK_WIRE_HEADER_LEN)] =
                (unsigned char)rand_r(&seed);
        int rc = decode_event(&f, buf, len, &got);
        CHECK(rc == 0 || rc == SK_EPARSE || rc == SK_EINVAL);
        if (rc) {
            refused++;
            CHECK(f.reason[0] != '\0');
        } else {
            CHECK(sk_id_valid(got.user, strlen(got.user)));
            CHECK(got.end_ms == SK_MS_NONE || got.end_ms > got.start_ms);
        }
        free(buf);
    }
    CHECK(refused > 0);
    free(good);
    teardown(&f);
}

TEST(decodes_python_sample)
{
    fixture_t f;
    setup(&f);
    FILE *fp = open_python_sample("py_schedule.bin");
    if (!fp) {
        teardown(&f);
        return;
    }
    unsigned char buf[1024];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    sk_schedule_event_t got;
    CHECK_INT(decode_event(&f, buf, len, &got), 0);
    CHECK_STR(f.reason, "");
    if (f.reason[0] == '\0') {
        CHECK_STR(got.event_id, "py-ev-1");
        CHECK_INT(got.type, SK_SHIFT_UPDATED);
        CHECK_STR(got.source, "python");
        CHECK_STR(got.rotation, "db-oncall");
        CHECK_STR(got.user, "bob@example.com");
        CHECK_STR(got.shift_id, "py-shift-9");
        CHECK_INT(got.start_ms, T0);
        CHECK_INT(got.end_ms, T0 + 12 * HOUR);
        CHECK_INT(got.escalation_level, 3);
        CHECK_INT(got.occurred_at_ms, T0 - 1);
    }
    teardown(&f);
}

/* ---- issue 3: AccessRequestEvent, TaskEvent, ProvisioningResult ---- */

TEST(request_round_trip)
{
    fixture_t f;
    setup(&f);
    sk_request_event_t ev =
                           {
                               .event_id = "rq-ev-1",
                               .type = SK_REQ_REASSIGNED,
                               .request_id = "req-7",
                               .actor = "bob@example.com",
                               .subject = "alice@example.com",
                               .target_kind = SK_TARGET_ENTITLEMENT,
                               .target = "aws-prod/admin",
                               .duration_ms = 2 * HOUR,
                               .justification = "INC-4711: payments are failing",
                               .emergency = true,
                               .comment = "carol knows this system",
                               .assignee = "carol@example.com",
                               .policy = NULL,
                               .source = "slack",
                               .occurred_at_ms = T0 + 5000,
                           },
                       got;
    void *buf = NULL;
    size_t len = 0;
    int32_t id = 0;
    CHECK_INT(sk_codec_encode_request(f.codec, &ev, &f.arena, &buf, &len), 0);
    CHECK_INT(sk_codec_schema_id(buf, len, &id), 0);
    CHECK_INT(id, SK_SCHEMA_ID_REQUEST);
    CHECK_INT(sk_codec_decode_request(f.codec, buf, len, &got, f.reason, sizeof f.reason), 0);
    CHECK_STR(f.reason, "");
    CHECK_STR(got.event_id, "rq-ev-1");
    CHECK_INT(got.type, SK_REQ_REASSIGNED);
    CHECK_STR(got.request_id, "req-7");
    CHECK_STR(got.actor, "bob@example.com");
    CHECK_STR(got.subject, "alice@example.com");
    CHECK_INT(got.target_kind, SK_TARGET_ENTITLEMENT);
    CHECK_STR(got.target, "aws-prod/admin");
    CHECK_INT(got.duration_ms, 2 * HOUR);
    CHECK_STR(got.justification, ev.justification);
    CHECK(got.emergency);
    CHECK_STR(got.comment, ev.comment);
    CHECK_STR(got.assignee, "carol@example.com");
    CHECK(got.policy == NULL);
    CHECK_STR(got.source, "slack");
    CHECK_INT(got.occurred_at_ms, T0 + 5000);
    write_sample("request.bin", buf, len);
    teardown(&f);
}

TEST(task_round_trip)
{
    fixture_t f;
    setup(&f);
    static const char *const who[] = {"bob@example.com", "carol@example.com"};
    sk_task_t t =
                  {
                      .task_id = "task-1",
                      .kind = SK_TASK_PROVISIONING,
                      .state = SK_TASK_CLOSED,
                      .outcome = SK_TASK_WONT_PROVISION,
                      .request_id = "req-7",
                      .subject = "alice@example.com",
                      .target = "aws-prod/admin",
                      .step = 2,
                      .n_assignees = 2,
                      .assignees = who,
                      .emergency = true,
                      .reason = "the account is frozen",
                      .at_ms = T0 + HOUR,
                      .justification = "db down",
                      .expires_ms = T0 + 2 * HOUR,
                  },
              got;
    void *buf = NULL;
    size_t len = 0;
    int32_t id = 0;
    CHECK_INT(sk_codec_encode_task(f.codec, &t, &f.arena, &buf, &len), 0);
    CHECK_INT(sk_codec_schema_id(buf, len, &id), 0);
    CHECK_INT(id, SK_SCHEMA_ID_TASK);
    CHECK_INT(sk_codec_decode_task(f.codec, buf, len, &f.arena, &got, f.reason, sizeof f.reason),
              0);
    CHECK_STR(got.task_id, "task-1");
    CHECK_INT(got.kind, SK_TASK_PROVISIONING);
    CHECK_INT(got.state, SK_TASK_CLOSED);
    CHECK_INT(got.outcome, SK_TASK_WONT_PROVISION);
    CHECK_STR(got.request_id, "req-7");
    CHECK_STR(got.subject, "alice@example.com");
    CHECK_STR(got.target, "aws-prod/admin");
    CHECK_INT(got.step, 2);
    CHECK_INT(got.n_assignees, 2);
    if (got.n_assignees == 2) {
        CHECK_STR(got.assignees[0], "bob@example.com");
        CHECK_STR(got.assignees[1], "carol@example.com");
    }
    CHECK(got.emergency);
    CHECK_STR(got.reason, "the account is frozen");
    CHECK_INT(got.at_ms, T0 + HOUR);
    CHECK_STR(got.justification, "db down");
    CHECK_INT(got.expires_ms, T0 + 2 * HOUR);
    write_sample("task.bin", buf, len);

    /* An open task of an on-call grant: no outcome, no request, no step. */
    t.state = SK_TASK_CREATED;
    t.outcome = SK_TASK_OUTCOME_NONE;
    t.request_id = "";
    t.step = 0;
    t.n_assignees = 0;
    t.assignees = NULL;
    t.emergency = false;
    CHECK_INT(sk_codec_encode_task(f.codec, &t, &f.arena, &buf, &len), 0);
    CHECK_INT(sk_codec_decode_task(f.codec, buf, len, &f.arena, &got, f.reason, sizeof f.reason),
              0);
    CHECK_INT(got.state, SK_TASK_CREATED);
    CHECK_INT(got.outcome, SK_TASK_OUTCOME_NONE);
    CHECK_STR(got.request_id, "");
    CHECK_INT(got.step, 0);
    CHECK_INT(got.n_assignees, 0);
    CHECK(!got.emergency);
    teardown(&f);
}

/* The tasks topic's earlier versions (1006, 1009) are still read: the same
 * bytes without the fields added since, resolved to their defaults; and an
 * EMERGENCY_GRANT record round-trips. */
TEST(task_first_version_and_emergency_grant)
{
    fixture_t f;
    setup(&f);
    sk_task_t t = {.task_id = "g-1",
                   .kind = SK_TASK_REQUEST_REVIEW,
                   .state = SK_TASK_CLOSED,
                   .outcome = SK_TASK_APPROVED,
                   .request_id = "req-9",
                   .subject = "alice@example.com",
                   .target = "aws-prod/admin",
                   .emergency = true,
                   .reason = "approved",
                   .at_ms = T0},
              got;
    void *buf = NULL;
    size_t len = 0;
    CHECK_INT(sk_codec_encode_task(f.codec, &t, &f.arena, &buf, &len), 0);
    /* justification "", expires_at null and actor "" (1011) are one byte
     * each at the end: without the last one it is 1009, without the three
     * it is 1006 */
    unsigned char *old = buf;
    CHECK(len > 8 && old[len - 1] == 0 && old[len - 2] == 0 && old[len - 3] == 0);
    old[4] = (unsigned char)(1009 & 0xff);
    old[3] = (unsigned char)(1009 >> 8);
    CHECK_INT(
        sk_codec_decode_task(f.codec, old, len - 1, &f.arena, &got, f.reason, sizeof f.reason), 0);
    CHECK_STR(got.task_id, "g-1");
    CHECK_STR(got.actor, "");
    old[4] = (unsigned char)(1006 & 0xff);
    old[3] = (unsigned char)(1006 >> 8);
    CHECK_INT(
        sk_codec_decode_task(f.codec, old, len - 3, &f.arena, &got, f.reason, sizeof f.reason), 0);
    CHECK_STR(got.task_id, "g-1");
    CHECK_INT(got.outcome, SK_TASK_APPROVED);
    CHECK_STR(got.justification, "");
    CHECK(got.expires_ms == SK_MS_NONE);
    CHECK_STR(got.actor, "");

    t.kind = SK_TASK_EMERGENCY_GRANT;
    t.justification = "prod down";
    t.expires_ms = T0 + HOUR;
    CHECK_INT(sk_codec_encode_task(f.codec, &t, &f.arena, &buf, &len), 0);
    CHECK_INT(sk_codec_decode_task(f.codec, buf, len, &f.arena, &got, f.reason, sizeof f.reason),
              0);
    CHECK_INT(got.kind, SK_TASK_EMERGENCY_GRANT);
    CHECK_STR(sk_task_kind_name(got.kind), "EMERGENCY_GRANT");
    CHECK_STR(got.justification, "prod down");
    CHECK_INT(got.expires_ms, T0 + HOUR);
    teardown(&f);
}

TEST(provisioning_result_round_trip)
{
    fixture_t f;
    setup(&f);
    sk_provisioning_result_t r =
                                 {
                                     .result = SK_PROV_FAILED,
                                     .retryable = true,
                                     .provisioner = "aws-iam",
                                     .user = "alice@example.com",
                                     .message = "throttled by IAM; will retry",
                                     .at_ms = T0 + 1500,
                                 },
                             got;
    memcpy(r.command_id, "0123456789abcdef0123456789abcdef", 33);
    void *buf = NULL;
    size_t len = 0;
    int32_t id = 0;
    CHECK_INT(sk_codec_encode_provisioning_result(f.codec, &r, &f.arena, &buf, &len), 0);
    CHECK_INT(sk_codec_schema_id(buf, len, &id), 0);
    CHECK_INT(id, SK_SCHEMA_ID_PROVISIONING_RESULT);
    CHECK_INT(
        sk_codec_decode_provisioning_result(f.codec, buf, len, &got, f.reason, sizeof f.reason), 0);
    CHECK_STR(got.command_id, r.command_id);
    CHECK_INT(got.result, SK_PROV_FAILED);
    CHECK(got.retryable);
    CHECK_STR(got.provisioner, "aws-iam");
    CHECK_STR(got.user, "alice@example.com");
    CHECK_STR(got.message, r.message);
    CHECK_INT(got.at_ms, T0 + 1500);
    write_sample("provisioning_result.bin", buf, len);
    CHECK_STR(got.entitlement, "");
    {
        /* the first version (1007) is still read: the same bytes without
         * the entitlement "" (one byte before the varint of "at") */
        unsigned char *old = malloc(len);
        size_t at_len = 1;
        for (uint64_t z = (uint64_t)(T0 + 1500) << 1; z >= 0x80; z >>= 7)
            at_len++;
        memcpy(old, buf, len - at_len - 1);
        memcpy(old + len - at_len - 1, (unsigned char *)buf + len - at_len, at_len);
        CHECK_INT(((unsigned char *)buf)[len - at_len - 1], 0);
        old[4] = (unsigned char)(1007 & 0xff);
        old[3] = (unsigned char)(1007 >> 8);
        CHECK_INT(sk_codec_decode_provisioning_result(f.codec, old, len - 1, &got, f.reason,
                                                      sizeof f.reason),
                  0);
        CHECK_INT(got.at_ms, T0 + 1500);
        CHECK_STR(got.entitlement, "");
        CHECK_STR(got.message, r.message);
        free(old);
    }
    for (int s = 0; s < SK_PROV_STATUS_COUNT; s++) {
        r.result = (sk_provisioning_status_t)s;
        r.retryable = s == SK_PROV_FAILED;
        r.entitlement = s == SK_PROV_FOUND ? "pg/read" : ""; /* FOUND names one (1012) */
        CHECK_INT(sk_codec_encode_provisioning_result(f.codec, &r, &f.arena, &buf, &len), 0);
        CHECK_INT(
            sk_codec_decode_provisioning_result(f.codec, buf, len, &got, f.reason, sizeof f.reason),
            0);
        CHECK_INT(got.result, s);
        CHECK_STR(got.entitlement, r.entitlement);
    }
    teardown(&f);
}

TEST(decodes_python_request)
{
    fixture_t f;
    setup(&f);
    FILE *fp = open_python_sample("py_request.bin");
    if (!fp) {
        teardown(&f);
        return;
    }
    unsigned char buf[2048];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    sk_request_event_t got;
    CHECK_INT(sk_codec_decode_request(f.codec, buf, len, &got, f.reason, sizeof f.reason), 0);
    CHECK_STR(f.reason, "");
    if (f.reason[0] == '\0') {
        CHECK_STR(got.event_id, "py-rq-1");
        CHECK_INT(got.type, SK_REQ_CREATED);
        CHECK_STR(got.request_id, "py-req-1");
        CHECK_STR(got.actor, "bob@example.com");
        CHECK_STR(got.subject, "bob@example.com");
        CHECK_INT(got.target_kind, SK_TARGET_PROFILE);
        CHECK_STR(got.target, "oncall-db");
        CHECK_INT(got.duration_ms, 4 * HOUR);
        CHECK_STR(got.justification, "db failover drill");
        CHECK(got.emergency);
        CHECK_STR(got.comment, "");
        CHECK(got.assignee == NULL);
        CHECK(got.policy == NULL);
        CHECK_STR(got.source, "python");
        CHECK_INT(got.occurred_at_ms, T0 + 42);
    }
    teardown(&f);
}

SK_TEST_MAIN(SK_TEST_CASE(schedule_round_trip), SK_TEST_CASE(schedule_open_ended),
             SK_TEST_CASE(command_round_trip), SK_TEST_CASE(command_action_without_limits),
             SK_TEST_CASE(audit_encode), SK_TEST_CASE(dead_letter_round_trip),
             SK_TEST_CASE(encoding_is_deterministic), SK_TEST_CASE(framing_refused),
             SK_TEST_CASE(truncated_at_every_length), SK_TEST_CASE(enum_index_out_of_range),
             SK_TEST_CASE(union_branch_out_of_range), SK_TEST_CASE(trailing_bytes_refused),
             SK_TEST_CASE(huge_length_prefix_allocates_nothing),
             SK_TEST_CASE(invalid_identifiers_refused), SK_TEST_CASE(invalid_times_refused),
             SK_TEST_CASE(encoder_refuses_bad_enum), SK_TEST_CASE(random_bytes_never_crash),
             SK_TEST_CASE(decodes_python_sample), SK_TEST_CASE(request_round_trip),
             SK_TEST_CASE(task_round_trip), SK_TEST_CASE(task_first_version_and_emergency_grant),
             SK_TEST_CASE(provisioning_result_round_trip), SK_TEST_CASE(decodes_python_request))
