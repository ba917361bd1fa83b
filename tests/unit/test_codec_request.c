/*
 * test_codec_request.c — the wire format of issue 3's records:
 * AccessRequestEvent (shiftkey.requests.v1, 1010), TaskEvent
 * (shiftkey.tasks.v1, 1011) and ProvisioningResult
 * (shiftkey.provisioning.results.v1, 1012). Every malformed case is refused
 * with the reason that names the field (framing, truncation at every
 * length, enum and union ranges, trailing bytes, huge lengths, identifiers,
 * text sizes, times, durations, the fields some types require), and
 * encoding is deterministic. The round trips that write the interop samples
 * are in test_codec.c.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "sk_test.h"

#define T0    1767225600000LL /* 2026-01-01T00:00:00Z */
#define HOUR  3600000LL
#define HEX32 "0123456789abcdef0123456789abcdef"

typedef struct fixture {
    sk_codec_t *codec;
    sk_arena_t arena;
    char reason[256];
    void *buf; /* last encoding, in the arena */
    size_t len;
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

static sk_request_event_t sample_request(void)
{
    return (sk_request_event_t){
        .event_id = "rq-ev-1",
        .type = SK_REQ_CREATED,
        .request_id = "req-7",
        .actor = "alice@example.com",
        .subject = "alice@example.com",
        .target_kind = SK_TARGET_ENTITLEMENT,
        .target = "aws-prod/admin",
        .duration_ms = 2 * HOUR,
        .justification = "INC-4711: payments are failing",
        .emergency = false,
        .comment = "",
        .assignee = NULL,
        .policy = NULL,
        .source = "cli",
        .occurred_at_ms = T0,
    };
}

static const char *const sample_assignees[] = {"bob@example.com", "carol@example.com"};

static sk_task_t sample_task(void)
{
    return (sk_task_t){
        .task_id = "task-1",
        .kind = SK_TASK_REQUEST_REVIEW,
        .state = SK_TASK_ASSIGNED,
        .outcome = SK_TASK_OUTCOME_NONE,
        .request_id = "req-7",
        .subject = "alice@example.com",
        .target = "aws-prod/admin",
        .step = 1,
        .n_assignees = 2,
        .assignees = sample_assignees,
        .emergency = false,
        .reason = "step 1 of policy two-step: one approval of the payments leads",
        .at_ms = T0,
    };
}

static sk_provisioning_result_t sample_result(void)
{
    sk_provisioning_result_t r = {
        .result = SK_PROV_PROVISIONED,
        .retryable = false,
        .provisioner = "aws-iam",
        .user = "alice@example.com",
        .message = "role attached",
        .at_ms = T0 + 1000,
    };
    memcpy(r.command_id, HEX32, 33);
    return r;
}

/* Encoders into f->buf / f->len; return the encoder's code. */
static int enc_request(fixture_t *f, const sk_request_event_t *ev)
{
    return sk_codec_encode_request(f->codec, ev, &f->arena, &f->buf, &f->len);
}

static int enc_task(fixture_t *f, const sk_task_t *t)
{
    return sk_codec_encode_task(f->codec, t, &f->arena, &f->buf, &f->len);
}

static int enc_result(fixture_t *f, const sk_provisioning_result_t *r)
{
    return sk_codec_encode_provisioning_result(f->codec, r, &f->arena, &f->buf, &f->len);
}

/* Decoders of f->buf / f->len with the reason in f->reason. */
static int dec_request(fixture_t *f, sk_request_event_t *out)
{
    f->reason[0] = '\0';
    return sk_codec_decode_request(f->codec, f->buf, f->len, out, f->reason, sizeof f->reason);
}

static int dec_task(fixture_t *f, sk_task_t *out)
{
    f->reason[0] = '\0';
    return sk_codec_decode_task(f->codec, f->buf, f->len, &f->arena, out, f->reason,
                                sizeof f->reason);
}

static int dec_result(fixture_t *f, sk_provisioning_result_t *out)
{
    f->reason[0] = '\0';
    return sk_codec_decode_provisioning_result(f->codec, f->buf, f->len, out, f->reason,
                                               sizeof f->reason);
}

/* Encodes ev and expects the decoder to refuse it with exactly `want`. */
static void request_refused(fixture_t *f, const sk_request_event_t *ev, int rc, const char *want)
{
    sk_request_event_t got;
    CHECK_INT(enc_request(f, ev), 0);
    CHECK_INT(dec_request(f, &got), rc);
    CHECK_STR(f->reason, want);
}

static void task_refused(fixture_t *f, const sk_task_t *t, int rc, const char *want)
{
    sk_task_t got;
    CHECK_INT(enc_task(f, t), 0);
    CHECK_INT(dec_task(f, &got), rc);
    CHECK_STR(f->reason, want);
}

static void result_refused(fixture_t *f, const sk_provisioning_result_t *r, int rc,
                           const char *want)
{
    sk_provisioning_result_t got;
    CHECK_INT(enc_result(f, r), 0);
    CHECK_INT(dec_result(f, &got), rc);
    CHECK_STR(f->reason, want);
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

static size_t str_len(const char *s)
{
    return varint_len((int64_t)strlen(s)) + strlen(s);
}

/* Byte offsets in an encoded sample-like request. */
static size_t request_type_at(const sk_request_event_t *ev)
{
    return SK_WIRE_HEADER_LEN + str_len(ev->event_id);
}

static size_t request_target_kind_at(const sk_request_event_t *ev)
{
    return request_type_at(ev) + 1 + str_len(ev->request_id) + str_len(ev->actor) +
           str_len(ev->subject);
}

static size_t request_duration_at(const sk_request_event_t *ev)
{
    return request_target_kind_at(ev) + 1 + str_len(ev->target);
}

static size_t request_emergency_at(const sk_request_event_t *ev)
{
    return request_duration_at(ev) + 1 + varint_len(ev->duration_ms) + str_len(ev->justification);
}

TEST(request_all_types_and_optionals)
{
    fixture_t f;
    setup(&f);
    sk_request_event_t ev = sample_request(), got;
    for (int t = 0; t < SK_REQ_EVENT_TYPE_COUNT; t++) {
        ev.type = (sk_request_event_type_t)t;
        ev.assignee = t == SK_REQ_REASSIGNED ? "dave@example.com" : NULL;
        ev.policy = t == SK_REQ_POLICY_CHANGED ? "two-step" : NULL;
        CHECK_INT(enc_request(&f, &ev), 0);
        CHECK_INT(dec_request(&f, &got), 0);
        CHECK_STR(f.reason, "");
        CHECK_INT(got.type, t);
        CHECK_STR(sk_request_event_type_name(got.type), sk_request_event_type_name(ev.type));
        if (t == SK_REQ_REASSIGNED)
            CHECK_STR(got.assignee, "dave@example.com");
        else
            CHECK(got.assignee == NULL);
        if (t == SK_REQ_POLICY_CHANGED)
            CHECK_STR(got.policy, "two-step");
        else
            CHECK(got.policy == NULL);
    }
    /* A profile target (no slash needed), no duration, an emergency. */
    ev = sample_request();
    ev.target_kind = SK_TARGET_PROFILE;
    ev.target = "oncall-payments";
    ev.duration_ms = SK_MS_NONE;
    ev.emergency = true;
    ev.justification = "";
    ev.comment = "break glass";
    CHECK_INT(enc_request(&f, &ev), 0);
    CHECK_INT(((unsigned char *)f.buf)[request_duration_at(&ev)], 0); /* null branch */
    CHECK_INT(dec_request(&f, &got), 0);
    CHECK_INT(got.target_kind, SK_TARGET_PROFILE);
    CHECK_STR(got.target, "oncall-payments");
    CHECK_INT(got.duration_ms, SK_MS_NONE);
    CHECK(got.emergency);
    CHECK_STR(got.justification, "");
    CHECK_STR(got.comment, "break glass");
    /* Extremes that are fine: a duration of 1 ms and of SK_MS_MAX_INPUT,
     * times 0 and SK_MS_MAX_INPUT, free text of exactly 4096 bytes. */
    static char text[4097];
    memset(text, 'j', 4096);
    ev = sample_request();
    ev.duration_ms = 1;
    ev.occurred_at_ms = 0;
    ev.justification = text;
    CHECK_INT(enc_request(&f, &ev), 0);
    CHECK_INT(dec_request(&f, &got), 0);
    CHECK_INT(got.duration_ms, 1);
    CHECK_INT(strlen(got.justification), 4096);
    ev.duration_ms = SK_MS_MAX_INPUT;
    ev.occurred_at_ms = SK_MS_MAX_INPUT;
    CHECK_INT(enc_request(&f, &ev), 0);
    CHECK_INT(dec_request(&f, &got), 0);
    CHECK_INT(got.occurred_at_ms, SK_MS_MAX_INPUT);
    teardown(&f);
}

TEST(request_framing_and_ranges_refused)
{
    fixture_t f;
    setup(&f);
    sk_request_event_t ev = sample_request(), got;
    sk_task_t t = sample_task();
    /* Another record type handed to the request decoder. */
    CHECK_INT(enc_task(&f, &t), 0);
    CHECK_INT(dec_request(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "schema id 1011 is not a AccessRequestEvent (1010)");
    f.buf = "{\"type\":\"CREATED\"}";
    f.len = strlen(f.buf);
    CHECK_INT(dec_request(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "not shiftkey framing: first byte 0x7b, expected 0x00");
    f.len = 0;
    CHECK_INT(dec_request(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "empty record (0 bytes)");

    CHECK_INT(enc_request(&f, &ev), 0);
    unsigned char *b = f.buf;
    size_t at = request_type_at(&ev);
    CHECK_INT(b[at], 2 * SK_REQ_CREATED);
    b[at] = 2 * 22;
    CHECK_INT(dec_request(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'type': enum index 22 out of range (0..21)");
    b[at] = 2 * SK_REQ_CAMPAIGN_CLOSED; /* the last symbol is fine */
    CHECK_INT(dec_request(&f, &got), 0);
    CHECK_INT(got.type, SK_REQ_CAMPAIGN_CLOSED);
    b[at] = 2 * SK_REQ_CREATED;

    at = request_target_kind_at(&ev);
    CHECK_INT(b[at], 2 * SK_TARGET_ENTITLEMENT);
    b[at] = 2 * 2;
    CHECK_INT(dec_request(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'target_kind': enum index 2 out of range (0..1)");
    b[at] = 1;
    CHECK_INT(dec_request(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'target_kind': enum index -1 out of range (0..1)");
    b[at] = 0;

    at = request_duration_at(&ev);
    CHECK_INT(b[at], 2); /* branch 1: long */
    b[at] = 2 * 2;
    CHECK_INT(dec_request(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'duration_ms': union branch 2 out of range (0..1)");
    b[at] = 2;

    at = request_emergency_at(&ev);
    CHECK_INT(b[at], 0);
    b[at] = 2;
    CHECK_INT(dec_request(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'emergency': boolean byte 0x02 is neither 0 nor 1");
    b[at] = 0;

    /* The assignee union is the byte after the comment (""): branch 3. */
    at += 1 + 1;
    CHECK_INT(b[at], 0);
    b[at] = 2 * 3;
    CHECK_INT(dec_request(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'assignee': union branch 3 out of range (0..1)");
    b[at] = 0;
    CHECK_INT(dec_request(&f, &got), 0);

    /* Trailing bytes. */
    unsigned char *longer = malloc(f.len + 3);
    memcpy(longer, f.buf, f.len);
    memcpy(longer + f.len, "\x00\x01\x02", 3);
    CHECK_INT(sk_codec_decode_request(f.codec, longer, f.len + 3, &got, f.reason, sizeof f.reason),
              SK_EPARSE);
    char want[160];
    snprintf(want, sizeof want,
             "3 trailing bytes after the AccessRequestEvent record (it ends at byte %zu of "
             "the %zu given)",
             f.len, f.len + 3);
    CHECK_STR(f.reason, want);
    free(longer);

    /* A request_id declaring 2^50 bytes: refused before avro-c allocates. */
    unsigned char rec[64] = {0, 0, 0, 0x03, 0xed};
    size_t n = SK_WIRE_HEADER_LEN;
    n += put_varint(rec + n, 4);
    memcpy(rec + n, "ev-1", 4);
    n += 4;
    rec[n++] = 0; /* CREATED */
    n += put_varint(rec + n, (int64_t)1 << 50);
    memcpy(rec + n, "req", 3);
    n += 3;
    CHECK_INT(sk_codec_decode_request(f.codec, rec, n, &got, f.reason, sizeof f.reason), SK_EPARSE);
    snprintf(want, sizeof want,
             "field 'request_id': length 1125899906842624 exceeds the 3 bytes left: truncated "
             "record (needs more bytes than the %zu given)",
             n);
    CHECK_STR(f.reason, want);
    teardown(&f);
}

TEST(truncated_at_every_length)
{
    fixture_t f;
    setup(&f);
    sk_request_event_t ev = sample_request(), rgot;
    sk_task_t t = sample_task(), tgot;
    sk_provisioning_result_t r = sample_result(), pgot;
    ev.type = SK_REQ_REASSIGNED;
    ev.assignee = "dave@example.com";
    t.state = SK_TASK_CLOSED;
    t.outcome = SK_TASK_APPROVED;
    for (int which = 0; which < 3; which++) {
        int rc = which == 0   ? enc_request(&f, &ev)
                 : which == 1 ? enc_task(&f, &t)
                              : enc_result(&f, &r);
        CHECK_INT(rc, 0);
        size_t len = f.len;
        unsigned char *whole = malloc(len);
        memcpy(whole, f.buf, len);
        for (size_t n = 0; n < len; n++) {
            /* A heap copy of exactly n bytes, so ASan sees any over-read. */
            unsigned char *cut = malloc(n ? n : 1);
            memcpy(cut, whole, n);
            f.buf = cut;
            f.len = n;
            rc = which == 0   ? dec_request(&f, &rgot)
                 : which == 1 ? dec_task(&f, &tgot)
                              : dec_result(&f, &pgot);
            CHECK_INT(rc, SK_EPARSE);
            if (n >= SK_WIRE_HEADER_LEN)
                CHECK_CONTAINS(f.reason, "truncated record");
            else
                CHECK(f.reason[0] != '\0');
            free(cut);
        }
        f.buf = whole;
        f.len = len;
        rc = which == 0   ? dec_request(&f, &rgot)
             : which == 1 ? dec_task(&f, &tgot)
                          : dec_result(&f, &pgot);
        CHECK_INT(rc, 0);
        free(whole);
    }
    teardown(&f);
}

TEST(request_content_refused)
{
    fixture_t f;
    setup(&f);
    sk_request_event_t ev;
    char longid[SK_ID_MAX + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    static char text[4098];
    memset(text, 't', 4097);

    ev = sample_request();
    ev.event_id = "";
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'event_id': invalid identifier '' (1..256 "
                    "printable ASCII characters, no spaces)");
    ev = sample_request();
    ev.request_id = longid;
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'request_id': 257 bytes, longer than the 256 "
                    "allowed");
    ev = sample_request();
    ev.actor = "bob smith";
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'actor': invalid identifier 'bob smith' (1..256 "
                    "printable ASCII characters, no spaces)");
    ev = sample_request();
    ev.subject = "";
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'subject': invalid identifier '' (1..256 "
                    "printable ASCII characters, no spaces)");
    ev = sample_request();
    ev.source = "sl\tack";
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'source': invalid identifier 'sl\tack' (1..256 "
                    "printable ASCII characters, no spaces)");
    ev = sample_request();
    ev.target = "aws prod/admin";
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'target': invalid identifier 'aws prod/admin' "
                    "(1..256 printable ASCII characters, no spaces)");
    static const char *const not_keys[] = {"aws-prod", "aws-prod/", "/admin", "a/b/c"};
    for (size_t i = 0; i < SK_ARRAY_LEN(not_keys); i++) {
        char want[128];
        snprintf(want, sizeof want,
                 "field 'target': '%s' is not an entitlement key app/entitlement", not_keys[i]);
        ev = sample_request();
        ev.target = not_keys[i];
        request_refused(&f, &ev, SK_EINVAL, want);
    }
    ev = sample_request();
    ev.justification = text;
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'justification': 4097 bytes, longer than the "
                    "4096 allowed");
    ev = sample_request();
    ev.comment = text;
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'comment': 4097 bytes, longer than the 4096 "
                    "allowed");
    ev = sample_request();
    ev.type = SK_REQ_REASSIGNED;
    ev.assignee = "dave example";
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'assignee': invalid identifier 'dave example' "
                    "(1..256 printable ASCII characters, no spaces)");
    ev = sample_request();
    ev.type = SK_REQ_POLICY_CHANGED;
    ev.policy = "";
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'policy': invalid identifier '' (1..256 "
                    "printable ASCII characters, no spaces)");

    /* A NUL inside the comment, patched in. */
    ev = sample_request();
    ev.comment = "see ticket-99";
    CHECK_INT(enc_request(&f, &ev), 0);
    unsigned char *p = memmem(f.buf, f.len, "ticket-99", 9);
    CHECK(p != NULL);
    if (p) {
        sk_request_event_t got;
        p[3] = '\0';
        CHECK_INT(dec_request(&f, &got), SK_EINVAL);
        CHECK_STR(f.reason, "field 'comment': contains a NUL byte");
    }
    teardown(&f);
}

TEST(request_times_and_required_fields_refused)
{
    fixture_t f;
    setup(&f);
    sk_request_event_t ev;
    char want[160];

    ev = sample_request();
    ev.duration_ms = 0;
    request_refused(&f, &ev, SK_EINVAL, "field 'duration_ms': 0 is not positive");
    ev.duration_ms = -HOUR;
    request_refused(&f, &ev, SK_EINVAL, "field 'duration_ms': -3600000 is not positive");
    ev.duration_ms = SK_MS_MAX_INPUT + 1;
    snprintf(want, sizeof want, "field 'duration_ms': %lld is above the maximum %lld",
             (long long)SK_MS_MAX_INPUT + 1, (long long)SK_MS_MAX_INPUT);
    request_refused(&f, &ev, SK_EINVAL, want);
    ev = sample_request();
    ev.occurred_at_ms = -1;
    request_refused(&f, &ev, SK_EINVAL, "field 'occurred_at': -1 is negative");
    ev.occurred_at_ms = SK_MS_MAX_INPUT + 1;
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'occurred_at': is after year 9999; times are "
                    "milliseconds since the Unix epoch");

    ev = sample_request();
    ev.type = SK_REQ_DURATION_CHANGED;
    ev.duration_ms = SK_MS_NONE;
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'duration_ms': null, but DURATION_CHANGED "
                    "requires a duration");
    ev = sample_request();
    ev.type = SK_REQ_REASSIGNED;
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'assignee': null, but REASSIGNED requires an "
                    "assignee");
    ev = sample_request();
    ev.type = SK_REQ_POLICY_CHANGED;
    request_refused(&f, &ev, SK_EINVAL,
                    "field 'policy': null, but POLICY_CHANGED requires a "
                    "policy");
    teardown(&f);
}

TEST(task_content_refused)
{
    fixture_t f;
    setup(&f);
    sk_task_t t, got;
    char longid[SK_ID_MAX + 2];
    memset(longid, 'y', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';

    t = sample_task();
    t.state = SK_TASK_CLOSED;
    task_refused(&f, &t, SK_EINVAL, "field 'outcome': null, but the task is CLOSED");
    t = sample_task();
    t.outcome = SK_TASK_APPROVED;
    task_refused(&f, &t, SK_EINVAL,
                 "field 'outcome': APPROVED, but the task is ASSIGNED (only "
                 "CLOSED tasks have one)");
    t = sample_task();
    t.step = -1;
    task_refused(&f, &t, SK_EINVAL, "field 'step': -1 is below 0");
    t.step = SK_TASK_STEP_MAX + 1;
    task_refused(&f, &t, SK_EINVAL, "field 'step': 1001 is above the maximum 1000");
    t = sample_task();
    t.task_id = longid;
    task_refused(&f, &t, SK_EINVAL, "field 'task_id': 257 bytes, longer than the 256 allowed");
    t = sample_task();
    t.request_id = "req 7";
    task_refused(&f, &t, SK_EINVAL,
                 "field 'request_id': invalid identifier 'req 7' (1..256 "
                 "printable ASCII characters, no spaces)");
    t = sample_task();
    t.subject = "";
    task_refused(&f, &t, SK_EINVAL,
                 "field 'subject': invalid identifier '' (1..256 printable "
                 "ASCII characters, no spaces)");
    t = sample_task();
    t.target = "";
    task_refused(&f, &t, SK_EINVAL,
                 "field 'target': invalid identifier '' (1..256 printable "
                 "ASCII characters, no spaces)");
    static const char *const bad_assignees[] = {"bob@example.com", "carol example"};
    t = sample_task();
    t.assignees = bad_assignees;
    task_refused(&f, &t, SK_EINVAL,
                 "field 'assignees[1]': invalid identifier 'carol example' "
                 "(1..256 printable ASCII characters, no spaces)");
    static char text[4098];
    memset(text, 'r', 4097);
    t = sample_task();
    t.reason = text;
    task_refused(&f, &t, SK_EINVAL, "field 'reason': 4097 bytes, longer than the 4096 allowed");
    t = sample_task();
    t.at_ms = -7;
    task_refused(&f, &t, SK_EINVAL, "field 'at': -7 is negative");
    t.at_ms = SK_MS_MAX_INPUT + 1;
    task_refused(&f, &t, SK_EINVAL,
                 "field 'at': is after year 9999; times are milliseconds "
                 "since the Unix epoch");

    /* Walk errors: kind, state and the outcome's branch and index. */
    t = sample_task();
    t.state = SK_TASK_CLOSED;
    t.outcome = SK_TASK_EXPIRED;
    CHECK_INT(enc_task(&f, &t), 0);
    unsigned char *b = f.buf;
    size_t at = SK_WIRE_HEADER_LEN + 1 + strlen(t.task_id); /* kind */
    b[at] = 2 * 6;
    CHECK_INT(dec_task(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'kind': enum index 6 out of range (0..5)");
    b[at] = 0;
    b[at + 1] = 2 * 4;
    CHECK_INT(dec_task(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'state': enum index 4 out of range (0..3)");
    b[at + 1] = 2 * SK_TASK_CLOSED;
    CHECK_INT(b[at + 2], 2); /* outcome branch 1 */
    CHECK_INT(b[at + 3], 2 * SK_TASK_EXPIRED);
    b[at + 3] = 2 * 10;
    CHECK_INT(dec_task(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'outcome': enum index 10 out of range (0..9)");
    b[at + 3] = 2 * SK_TASK_EXPIRED;
    b[at + 2] = 2 * 2;
    CHECK_INT(dec_task(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'outcome': union branch 2 out of range (0..1)");
    b[at + 2] = 2;
    CHECK_INT(dec_task(&f, &got), 0);
    CHECK_INT(got.outcome, SK_TASK_EXPIRED);

    /* An assignees array declaring 2^40 items: the array count follows
     * the step varint (1 byte); patch it in place of the first count. */
    t = sample_task();
    t.n_assignees = 0;
    t.reason = "";
    CHECK_INT(enc_task(&f, &t), 0);
    unsigned char *big = malloc(f.len + 16);
    size_t tail = 1 /* array end */ + 1 /* emergency */ + 1 /* "" */ + varint_len(t.at_ms) +
                  1 /* justification "" */ + 1 /* expires_at null */ + 1 /* actor "" */;
    size_t cnt = f.len - tail;
    memcpy(big, f.buf, cnt);
    size_t bn = cnt + put_varint(big + cnt, (int64_t)1 << 40);
    CHECK_INT(sk_codec_decode_task(f.codec, big, bn, &f.arena, &got, f.reason, sizeof f.reason),
              SK_EPARSE);
    CHECK_CONTAINS(f.reason, "field 'assignees': item count 1099511627776 exceeds the 0 bytes "
                             "left");
    free(big);
    teardown(&f);
}

TEST(provisioning_result_content_refused)
{
    fixture_t f;
    setup(&f);
    sk_provisioning_result_t r, got;

    r = sample_result();
    memcpy(r.command_id, "0123456789ABCDEF0123456789abcdef", 33);
    result_refused(&f, &r, SK_EINVAL,
                   "field 'command_id': '0123456789ABCDEF0123456789abcdef' "
                   "is not 32 lowercase hex characters");
    r = sample_result();
    r.command_id[10] = '\0';
    result_refused(&f, &r, SK_EINVAL,
                   "field 'command_id': '0123456789' is not 32 lowercase hex "
                   "characters");
    r = sample_result();
    r.retryable = true;
    result_refused(&f, &r, SK_EINVAL,
                   "field 'retryable': true, but the result is PROVISIONED "
                   "(only FAILED is retried)");
    r.result = SK_PROV_FAILED;
    CHECK_INT(enc_result(&f, &r), 0);
    CHECK_INT(dec_result(&f, &got), 0);
    CHECK(got.retryable);
    r = sample_result();
    r.provisioner = "aws iam";
    result_refused(&f, &r, SK_EINVAL,
                   "field 'provisioner': invalid identifier 'aws iam' "
                   "(1..256 printable ASCII characters, no spaces)");
    r = sample_result();
    r.user = "";
    result_refused(&f, &r, SK_EINVAL,
                   "field 'user': invalid identifier '' (1..256 printable "
                   "ASCII characters, no spaces)");
    static char text[4098];
    memset(text, 'm', 4097);
    r = sample_result();
    r.message = text;
    result_refused(&f, &r, SK_EINVAL,
                   "field 'message': 4097 bytes, longer than the 4096 "
                   "allowed");
    r = sample_result();
    r.at_ms = -1;
    result_refused(&f, &r, SK_EINVAL, "field 'at': -1 is negative");
    r.at_ms = SK_MS_MAX_INPUT + 1;
    result_refused(&f, &r, SK_EINVAL,
                   "field 'at': is after year 9999; times are milliseconds "
                   "since the Unix epoch");

    r = sample_result();
    CHECK_INT(enc_result(&f, &r), 0);
    unsigned char *b = f.buf;
    size_t at = SK_WIRE_HEADER_LEN + 1 + 32; /* result */
    b[at] = 2 * 5;
    CHECK_INT(dec_result(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'result': enum index 5 out of range (0..4)");
    b[at] = 2 * SK_PROV_FOUND; /* FOUND must name its entitlement */
    CHECK_INT(dec_result(&f, &got), SK_EINVAL);
    CHECK_STR(
        f.reason,
        "field 'entitlement': empty with the result FOUND (FOUND names one, DEPROVISIONED may)");
    b[at] = 2 * SK_PROV_PROVISIONED;
    b[at + 1] = 0xff;
    CHECK_INT(dec_result(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "field 'retryable': boolean byte 0xff is neither 0 nor 1");
    b[at + 1] = 0;
    CHECK_INT(dec_result(&f, &got), 0);

    sk_request_event_t ev = sample_request();
    CHECK_INT(enc_request(&f, &ev), 0);
    CHECK_INT(dec_result(&f, &got), SK_EPARSE);
    CHECK_STR(f.reason, "schema id 1010 is not a ProvisioningResult (1012)");
    teardown(&f);
}

TEST(encoders_refuse_bad_enums)
{
    fixture_t f;
    setup(&f);
    sk_request_event_t ev = sample_request();
    ev.type = SK_REQ_EVENT_TYPE_COUNT;
    CHECK_INT(enc_request(&f, &ev), SK_EINVAL);
    ev = sample_request();
    ev.target_kind = (sk_target_kind_t)2;
    CHECK_INT(enc_request(&f, &ev), SK_EINVAL);
    sk_task_t t = sample_task();
    t.kind = SK_TASK_KIND_COUNT;
    CHECK_INT(enc_task(&f, &t), SK_EINVAL);
    t = sample_task();
    t.state = (sk_task_state_t)-2;
    CHECK_INT(enc_task(&f, &t), SK_EINVAL);
    t = sample_task();
    t.outcome = SK_TASK_OUTCOME_COUNT;
    CHECK_INT(enc_task(&f, &t), SK_EINVAL);
    t.outcome = (sk_task_outcome_t)-3;
    CHECK_INT(enc_task(&f, &t), SK_EINVAL);
    sk_provisioning_result_t r = sample_result();
    r.result = SK_PROV_STATUS_COUNT;
    CHECK_INT(enc_result(&f, &r), SK_EINVAL);
    /* The codec is still usable after a refused encode. */
    t = sample_task();
    CHECK_INT(enc_task(&f, &t), 0);

    CHECK_STR(sk_request_event_type_name(SK_REQ_REVOCATION_CONFIRMED), "REVOCATION_CONFIRMED");
    CHECK_STR(sk_request_event_type_name(SK_REQ_EVENT_TYPE_COUNT), "UNKNOWN");
    CHECK_STR(sk_target_kind_name(SK_TARGET_PROFILE), "PROFILE");
    CHECK_STR(sk_task_kind_name(SK_TASK_DEPROVISIONING), "DEPROVISIONING");
    CHECK_STR(sk_task_state_name(SK_TASK_CLOSED), "CLOSED");
    CHECK_STR(sk_task_outcome_name(SK_TASK_WONT_PROVISION), "WONT_PROVISION");
    CHECK_STR(sk_task_outcome_name(SK_TASK_OUTCOME_NONE), "NONE");
    CHECK_STR(sk_task_outcome_name(SK_TASK_OUTCOME_COUNT), "UNKNOWN");
    CHECK_STR(sk_provisioning_status_name(SK_PROV_DEPROVISIONED), "DEPROVISIONED");
    teardown(&f);
}

/* Copies f->buf (arena memory) into a malloc'd buffer. */
static unsigned char *take(fixture_t *f, size_t *len)
{
    unsigned char *c = malloc(f->len);
    memcpy(c, f->buf, f->len);
    *len = f->len;
    return c;
}

TEST(encoding_is_deterministic)
{
    fixture_t f, g;
    setup(&f);
    setup(&g);
    sk_request_event_t ev = sample_request(), other = sample_request(), got;
    other.type = SK_REQ_REASSIGNED;
    other.assignee = "dave@example.com";
    other.comment = "over to dave";
    other.duration_ms = SK_MS_NONE;
    sk_task_t t = sample_task(), t2 = sample_task();
    t2.state = SK_TASK_CLOSED;
    t2.outcome = SK_TASK_DENIED;
    t2.n_assignees = 0;
    sk_provisioning_result_t r = sample_result(), r2 = sample_result();
    r2.result = SK_PROV_FAILED;
    r2.retryable = true;
    r2.message = "throttled";
    size_t na, nb, nc;
    unsigned char *a, *b, *c;

    /* Same codec with another record of the type in between (reused avro
     * values must keep no strings, array items or union branches), and a
     * fresh codec: the same bytes. */
    CHECK_INT(enc_request(&f, &ev), 0);
    a = take(&f, &na);
    CHECK_INT(enc_request(&f, &other), 0);
    CHECK_INT(enc_request(&f, &ev), 0);
    b = take(&f, &nb);
    CHECK_INT(enc_request(&g, &ev), 0);
    c = take(&g, &nc);
    CHECK(na == nb && memcmp(a, b, na) == 0);
    CHECK(na == nc && memcmp(a, c, na) == 0);
    /* decode → encode gives the same bytes again */
    f.buf = a;
    f.len = na;
    CHECK_INT(dec_request(&f, &got), 0);
    sk_request_event_t copy = got;
    copy.event_id = sk_arena_strdup(&f.arena, got.event_id);
    copy.request_id = sk_arena_strdup(&f.arena, got.request_id);
    copy.actor = sk_arena_strdup(&f.arena, got.actor);
    copy.subject = sk_arena_strdup(&f.arena, got.subject);
    copy.target = sk_arena_strdup(&f.arena, got.target);
    copy.justification = sk_arena_strdup(&f.arena, got.justification);
    copy.comment = sk_arena_strdup(&f.arena, got.comment);
    copy.source = sk_arena_strdup(&f.arena, got.source);
    CHECK_INT(enc_request(&f, &copy), 0);
    CHECK(f.len == na && memcmp(f.buf, a, na) == 0);
    free(a);
    free(b);
    free(c);

    CHECK_INT(enc_task(&f, &t), 0);
    a = take(&f, &na);
    CHECK_INT(enc_task(&f, &t2), 0);
    CHECK_INT(enc_task(&f, &t), 0);
    b = take(&f, &nb);
    CHECK_INT(enc_task(&g, &t), 0);
    c = take(&g, &nc);
    CHECK(na == nb && memcmp(a, b, na) == 0);
    CHECK(na == nc && memcmp(a, c, na) == 0);
    free(a);
    free(b);
    free(c);

    CHECK_INT(enc_result(&f, &r), 0);
    a = take(&f, &na);
    CHECK_INT(enc_result(&f, &r2), 0);
    CHECK_INT(enc_result(&f, &r), 0);
    b = take(&f, &nb);
    CHECK_INT(enc_result(&g, &r), 0);
    c = take(&g, &nc);
    CHECK(na == nb && memcmp(a, b, na) == 0);
    CHECK(na == nc && memcmp(a, c, na) == 0);
    free(a);
    free(b);
    free(c);
    teardown(&f);
    teardown(&g);
}

TEST(random_bytes_never_crash)
{
    fixture_t f;
    setup(&f);
    sk_request_event_t ev = sample_request(), got;
    ev.type = SK_REQ_REASSIGNED;
    ev.assignee = "dave@example.com";
    CHECK_INT(enc_request(&f, &ev), 0);
    size_t len;
    unsigned char *good = take(&f, &len);
    unsigned int seed = 4242;
    int refused = 0;
    for (int i = 0; i < 5000; i++) {
        unsigned char *buf = malloc(len);
        memcpy(buf, good, len);
        int flips = 1 + (int)(rand_r(&seed) % 4);
        for (int k = 0; k < flips; k++)
            buf[SK_WIRE_HEADER_LEN + rand_r(&seed) % (len - SK_WIRE_HEADER_LEN)] =
                (unsigned char)rand_r(&seed);
        f.buf = buf;
        f.len = len;
        int rc = dec_request(&f, &got);
        CHECK(rc == 0 || rc == SK_EPARSE || rc == SK_EINVAL);
        if (rc) {
            refused++;
            CHECK(f.reason[0] != '\0');
        } else {
            CHECK(sk_id_valid(got.subject, strlen(got.subject)));
            CHECK(got.duration_ms == SK_MS_NONE ||
                  (got.duration_ms > 0 && got.duration_ms <= SK_MS_MAX_INPUT));
            CHECK(got.type != SK_REQ_REASSIGNED || got.assignee != NULL);
        }
        free(buf);
    }
    CHECK(refused > 0);
    free(good);
    teardown(&f);
}

SK_TEST_MAIN(SK_TEST_CASE(request_all_types_and_optionals),
             SK_TEST_CASE(request_framing_and_ranges_refused),
             SK_TEST_CASE(truncated_at_every_length), SK_TEST_CASE(request_content_refused),
             SK_TEST_CASE(request_times_and_required_fields_refused),
             SK_TEST_CASE(task_content_refused), SK_TEST_CASE(provisioning_result_content_refused),
             SK_TEST_CASE(encoders_refuse_bad_enums), SK_TEST_CASE(encoding_is_deterministic),
             SK_TEST_CASE(random_bytes_never_crash))
