/*
 * fuzz_schedule_decode.c — the decoder of the one input topic,
 * shiftkey.schedule.v1: sk_codec_decode_schedule() on raw bytes.
 *
 * Every input either is refused (SK_EPARSE / SK_EINVAL with a non-empty
 * reason: it becomes a dead letter) or decodes to an event that holds the
 * invariants decide/shift.c relies on (valid ids, type in range, level >= 1, end
 * open or after start, times >= 0); such an event re-encodes, decodes to
 * the same event, and re-encodes to the same bytes.
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

static void check_event(const sk_schedule_event_t *ev)
{
    FUZZ_CHECK(id_ok(ev->event_id), "event_id");
    FUZZ_CHECK(id_ok(ev->source), "source");
    FUZZ_CHECK(id_ok(ev->rotation), "rotation");
    FUZZ_CHECK(id_ok(ev->user), "user");
    FUZZ_CHECK(id_ok(ev->shift_id), "shift_id");
    FUZZ_CHECK((unsigned)ev->type < SK_SHIFT_EVENT_TYPE_COUNT, "type %d", (int)ev->type);
    FUZZ_CHECK(ev->escalation_level >= 1, "level %d", ev->escalation_level);
    FUZZ_CHECK(ev->start_ms >= 0, "start %lld", (long long)ev->start_ms);
    FUZZ_CHECK(ev->occurred_at_ms >= 0, "occurred_at %lld", (long long)ev->occurred_at_ms);
    FUZZ_CHECK(ev->end_ms == SK_MS_NONE || ev->end_ms > ev->start_ms, "end %lld start %lld",
               (long long)ev->end_ms, (long long)ev->start_ms);
}

/* Copies the event's strings (owned by the codec until its next decode). */
static sk_schedule_event_t copy_event(const sk_schedule_event_t *ev)
{
    sk_schedule_event_t c = *ev;
    c.event_id = sk_arena_strdup(&g_arena, ev->event_id);
    c.source = sk_arena_strdup(&g_arena, ev->source);
    c.rotation = sk_arena_strdup(&g_arena, ev->rotation);
    c.user = sk_arena_strdup(&g_arena, ev->user);
    c.shift_id = sk_arena_strdup(&g_arena, ev->shift_id);
    FUZZ_CHECK(c.event_id && c.source && c.rotation && c.user && c.shift_id, "arena");
    return c;
}

static void check_same(const sk_schedule_event_t *a, const sk_schedule_event_t *b)
{
    FUZZ_CHECK(strcmp(a->event_id, b->event_id) == 0, "event_id differs");
    FUZZ_CHECK(a->type == b->type, "type differs");
    FUZZ_CHECK(strcmp(a->source, b->source) == 0, "source differs");
    FUZZ_CHECK(strcmp(a->rotation, b->rotation) == 0, "rotation differs");
    FUZZ_CHECK(strcmp(a->user, b->user) == 0, "user differs");
    FUZZ_CHECK(strcmp(a->shift_id, b->shift_id) == 0, "shift_id differs");
    FUZZ_CHECK(a->start_ms == b->start_ms, "start differs");
    FUZZ_CHECK(a->end_ms == b->end_ms, "end differs");
    FUZZ_CHECK(a->escalation_level == b->escalation_level, "level differs");
    FUZZ_CHECK(a->occurred_at_ms == b->occurred_at_ms, "occurred_at differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char reason[256] = "";
    sk_schedule_event_t ev, ev2;
    void *enc = NULL, *enc2 = NULL;
    size_t enc_len = 0, enc2_len = 0;
    int rc;

    codec_begin();
    rc = sk_codec_decode_schedule(g_codec, data, size, &ev, reason, sizeof reason);
    if (rc != 0) {
        FUZZ_CHECK(rc == SK_EPARSE || rc == SK_EINVAL, "rc %d", rc);
        FUZZ_CHECK(reason[0] != '\0', "refused (rc %d) without a reason", rc);
        FUZZ_CHECK(memchr(reason, '\0', sizeof reason) != NULL, "reason not terminated");
        codec_end();
        return 0;
    }
    check_event(&ev);
    ev = copy_event(&ev);

    rc = sk_codec_encode_schedule(g_codec, &ev, &g_arena, &enc, &enc_len);
    FUZZ_CHECK(rc == 0 && enc && enc_len >= SK_WIRE_HEADER_LEN, "re-encode rc %d", rc);
    rc = sk_codec_decode_schedule(g_codec, enc, enc_len, &ev2, reason, sizeof reason);
    FUZZ_CHECK(rc == 0, "decode of the re-encoded event: rc %d: %s", rc, reason);
    check_event(&ev2);
    check_same(&ev, &ev2);
    /* ev2's strings belong to the codec's ScheduleEvent value, which the
     * encoder resets: copy them first */
    ev2 = copy_event(&ev2);
    rc = sk_codec_encode_schedule(g_codec, &ev2, &g_arena, &enc2, &enc2_len);
    FUZZ_CHECK(rc == 0, "second encode rc %d", rc);
    FUZZ_CHECK(enc_len == enc2_len && memcmp(enc, enc2, enc_len) == 0,
               "encoding not stable (%zu vs %zu bytes)", enc_len, enc2_len);
    codec_end();
    return 0;
}
