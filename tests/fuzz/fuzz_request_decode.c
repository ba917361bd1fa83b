/*
 * fuzz_request_decode.c — the decoder of the access-request input topic,
 * shiftkey.requests.v1: sk_codec_decode_request() on raw bytes.
 *
 * Every input either is refused (SK_EPARSE / SK_EINVAL with a non-empty
 * reason: it becomes a dead letter) or decodes to an event that holds the
 * invariants the request path relies on (valid ids, enums in range, an
 * entitlement target with one '/', duration absent or 1..SK_MS_MAX_INPUT,
 * the fields its type requires, time 0..SK_MS_MAX_INPUT, text at most 4096
 * bytes); such an event re-encodes, decodes to the same event, and
 * re-encodes to the same bytes.
 */
#include <string.h>

#include "codec/codec.h"
#include "fuzz_common.h"

static sk_codec_t *g_codec;
static sk_arena_t g_arena;

/* A codec per input, as in fuzz_schedule_decode.c: avro-c keeps grown
 * buffers in reused values, which LeakSanitizer cannot tell from leaks. */
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

static int text_ok(const char *s)
{
    return s && strlen(s) <= 4096;
}

static void check_event(const sk_request_event_t *ev)
{
    FUZZ_CHECK(id_ok(ev->event_id), "event_id");
    FUZZ_CHECK((unsigned)ev->type < SK_REQ_EVENT_TYPE_COUNT, "type %d", (int)ev->type);
    FUZZ_CHECK(id_ok(ev->request_id), "request_id");
    FUZZ_CHECK(id_ok(ev->actor), "actor");
    FUZZ_CHECK(id_ok(ev->subject), "subject");
    FUZZ_CHECK((unsigned)ev->target_kind < SK_TARGET_KIND_COUNT, "target_kind %d",
               (int)ev->target_kind);
    FUZZ_CHECK(id_ok(ev->target), "target");
    if (ev->target_kind == SK_TARGET_ENTITLEMENT) {
        const char *slash = strchr(ev->target, '/');
        FUZZ_CHECK(slash && slash != ev->target && slash[1] && !strchr(slash + 1, '/'),
                   "entitlement key '%s'", ev->target);
    }
    FUZZ_CHECK(ev->duration_ms == SK_MS_NONE ||
                   (ev->duration_ms > 0 && ev->duration_ms <= SK_MS_MAX_INPUT),
               "duration %lld", (long long)ev->duration_ms);
    FUZZ_CHECK(text_ok(ev->justification), "justification");
    FUZZ_CHECK(text_ok(ev->comment), "comment");
    FUZZ_CHECK(!ev->assignee || id_ok(ev->assignee), "assignee");
    FUZZ_CHECK(!ev->policy || id_ok(ev->policy), "policy");
    FUZZ_CHECK(ev->type != SK_REQ_REASSIGNED || ev->assignee, "REASSIGNED without assignee");
    FUZZ_CHECK(ev->type != SK_REQ_POLICY_CHANGED || ev->policy, "POLICY_CHANGED without policy");
    FUZZ_CHECK(ev->type != SK_REQ_DURATION_CHANGED || ev->duration_ms != SK_MS_NONE,
               "DURATION_CHANGED without duration");
    FUZZ_CHECK(id_ok(ev->source), "source");
    FUZZ_CHECK(ev->occurred_at_ms >= 0 && ev->occurred_at_ms <= SK_MS_MAX_INPUT, "occurred_at %lld",
               (long long)ev->occurred_at_ms);
}

static const char *dup_or_null(const char *s)
{
    const char *c = s ? sk_arena_strdup(&g_arena, s) : NULL;
    FUZZ_CHECK(!s || c, "arena");
    return c;
}

/* Copies the event's strings (owned by the codec until its next decode). */
static sk_request_event_t copy_event(const sk_request_event_t *ev)
{
    sk_request_event_t c = *ev;
    c.event_id = dup_or_null(ev->event_id);
    c.request_id = dup_or_null(ev->request_id);
    c.actor = dup_or_null(ev->actor);
    c.subject = dup_or_null(ev->subject);
    c.target = dup_or_null(ev->target);
    c.justification = dup_or_null(ev->justification);
    c.comment = dup_or_null(ev->comment);
    c.assignee = dup_or_null(ev->assignee);
    c.policy = dup_or_null(ev->policy);
    c.source = dup_or_null(ev->source);
    return c;
}

static int same_opt(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same(const sk_request_event_t *a, const sk_request_event_t *b)
{
    FUZZ_CHECK(strcmp(a->event_id, b->event_id) == 0, "event_id differs");
    FUZZ_CHECK(a->type == b->type, "type differs");
    FUZZ_CHECK(strcmp(a->request_id, b->request_id) == 0, "request_id differs");
    FUZZ_CHECK(strcmp(a->actor, b->actor) == 0, "actor differs");
    FUZZ_CHECK(strcmp(a->subject, b->subject) == 0, "subject differs");
    FUZZ_CHECK(a->target_kind == b->target_kind, "target_kind differs");
    FUZZ_CHECK(strcmp(a->target, b->target) == 0, "target differs");
    FUZZ_CHECK(a->duration_ms == b->duration_ms, "duration differs");
    FUZZ_CHECK(strcmp(a->justification, b->justification) == 0, "justification differs");
    FUZZ_CHECK(a->emergency == b->emergency, "emergency differs");
    FUZZ_CHECK(strcmp(a->comment, b->comment) == 0, "comment differs");
    FUZZ_CHECK(same_opt(a->assignee, b->assignee), "assignee differs");
    FUZZ_CHECK(same_opt(a->policy, b->policy), "policy differs");
    FUZZ_CHECK(strcmp(a->source, b->source) == 0, "source differs");
    FUZZ_CHECK(a->occurred_at_ms == b->occurred_at_ms, "occurred_at differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char reason[256] = "";
    sk_request_event_t ev, ev2;
    void *enc = NULL, *enc2 = NULL;
    size_t enc_len = 0, enc2_len = 0;
    int rc;

    codec_begin();
    rc = sk_codec_decode_request(g_codec, data, size, &ev, reason, sizeof reason);
    if (rc != 0) {
        FUZZ_CHECK(rc == SK_EPARSE || rc == SK_EINVAL, "rc %d", rc);
        FUZZ_CHECK(reason[0] != '\0', "refused (rc %d) without a reason", rc);
        FUZZ_CHECK(memchr(reason, '\0', sizeof reason) != NULL, "reason not terminated");
        codec_end();
        return 0;
    }
    check_event(&ev);
    ev = copy_event(&ev);

    rc = sk_codec_encode_request(g_codec, &ev, &g_arena, &enc, &enc_len);
    FUZZ_CHECK(rc == 0 && enc && enc_len >= SK_WIRE_HEADER_LEN, "re-encode rc %d", rc);
    rc = sk_codec_decode_request(g_codec, enc, enc_len, &ev2, reason, sizeof reason);
    FUZZ_CHECK(rc == 0, "decode of the re-encoded event: rc %d: %s", rc, reason);
    check_event(&ev2);
    check_same(&ev, &ev2);
    /* ev2's strings belong to the codec's value, which the encoder resets */
    ev2 = copy_event(&ev2);
    rc = sk_codec_encode_request(g_codec, &ev2, &g_arena, &enc2, &enc2_len);
    FUZZ_CHECK(rc == 0, "second encode rc %d", rc);
    FUZZ_CHECK(enc_len == enc2_len && memcmp(enc, enc2, enc_len) == 0,
               "encoding not stable (%zu vs %zu bytes)", enc_len, enc2_len);
    codec_end();
    return 0;
}
