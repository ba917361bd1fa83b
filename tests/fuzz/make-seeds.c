/*
 * make-seeds.c — writes the seed corpora of the codec fuzz targets: valid
 * framed records made by the engine's own encoders, covering every enum
 * value, open and closed shifts, commands with 0..3 sources, dead letters
 * with and without a key.
 *
 *   make fuzz-seeds   (build/test/bin/fuzz/make-seeds tests/fuzz/corpus)
 *
 * Writes DIR/schedule_decode/seed-*.bin, DIR/command_decode/seed-*.bin and
 * DIR/dead_letter_decode/seed-*.bin; the directories must exist.
 */
#include <stdio.h>
#include <string.h>

#include "codec/codec.h"

#define T0   1767225600000LL /* 2026-01-01T00:00:00Z */
#define HOUR 3600000LL

static int write_seed(const char *dir, const char *target, const char *name, const void *buf,
                      size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/seed-%s.bin", dir, target, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int schedules(sk_codec_t *c, sk_arena_t *a, const char *dir)
{
    int bad = 0;
    for (int t = 0; t < SK_SHIFT_EVENT_TYPE_COUNT; t++) {
        for (int open = 0; open < 2; open++) {
            sk_schedule_event_t ev = {
                .event_id = "ev-1",
                .type = (sk_shift_event_type_t)t,
                .source = "pagerduty",
                .rotation = "payments-primary",
                .user = "alice@example.com",
                .shift_id = "PD-SHIFT-42",
                .start_ms = T0,
                .end_ms = open ? SK_MS_NONE : T0 + 8 * HOUR,
                .escalation_level = 1 + t,
                .occurred_at_ms = T0 - 60000,
            };
            void *buf;
            size_t len;
            char name[32];
            snprintf(name, sizeof name, "%s-%s", sk_shift_event_type_name(ev.type),
                     open ? "open" : "closed");
            bad |= sk_codec_encode_schedule(c, &ev, a, &buf, &len) != 0 ||
                   write_seed(dir, "schedule_decode", name, buf, len);
        }
    }
    return bad;
}

static int commands(sk_codec_t *c, sk_arena_t *a, const char *dir)
{
    static const sk_source_ref_t src[] = {
        {SK_SOURCE_SHIFT, "PD-SHIFT-42", "payments-primary", T0 + 8 * HOUR},
        {SK_SOURCE_REQUEST, "req-7", "", T0 + 2 * HOUR},
        {SK_SOURCE_EMERGENCY, "em-1", "", T0 + HOUR},
    };
    int bad = 0;
    for (int act = 0; act < SK_CMD_ACTION_COUNT; act++) {
        sk_command_t cmd = {
            .action = (sk_command_action_t)act,
            .user = "alice@example.com",
            .app = "aws-prod",
            .entitlement = "admin",
            .resource = act ? "" : "arn:aws:iam::123456789012:role/admin",
            .permission = "assume",
            .expires_at_ms = T0 + 8 * HOUR,
            .issued_at_ms = T0,
            .reason = "on call in payments-primary",
            .emergency = act == 2,
            .n_sources = (size_t)act + 1,
            .sources = src,
        };
        memcpy(cmd.command_id, "0123456789abcdef0123456789abcdef", 33);
        void *buf;
        size_t len;
        bad |= sk_codec_encode_command(c, &cmd, a, &buf, &len) != 0 ||
               write_seed(dir, "command_decode", sk_command_action_name(cmd.action), buf, len);
        cmd.n_sources = 0;
        char name[32];
        snprintf(name, sizeof name, "%s-nosources", sk_command_action_name(cmd.action));
        bad |= sk_codec_encode_command(c, &cmd, a, &buf, &len) != 0 ||
               write_seed(dir, "command_decode", name, buf, len);
    }
    return bad;
}

static int dead_letters(sk_codec_t *c, sk_arena_t *a, const char *dir)
{
    static const unsigned char payload[] = {0, 0, 0, 3, 0xe9, 0x02, 'x'};
    int bad = 0;
    for (int k = 0; k < SK_DL_KIND_COUNT; k++) {
        sk_dead_letter_t dl = {
            .at_ms = T0,
            .kind = (sk_dead_letter_kind_t)k,
            .reason = "field 'type': bad",
            .origin = {"shiftkey.schedule.v1", 3, 42},
            .key = k == 1 ? NULL : "alice@example.com",
            .key_len = k == 1 ? 0 : 17,
            .payload = payload,
            .payload_len = k == 2 ? 0 : sizeof payload,
        };
        void *buf;
        size_t len;
        bad |= sk_codec_encode_dead_letter(c, &dl, a, &buf, &len) != 0 ||
               write_seed(dir, "dead_letter_decode", sk_dead_letter_kind_name(dl.kind), buf, len);
    }
    return bad;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
    sk_codec_t *c = sk_codec_new();
    sk_arena_t a;
    int bad;
    if (!c)
        return 1;
    sk_arena_init(&a, 4096);
    bad = schedules(c, &a, dir) | commands(c, &a, dir) | dead_letters(c, &a, dir);
    sk_arena_fini(&a);
    sk_codec_destroy(c);
    if (bad)
        fprintf(stderr, "make-seeds: failed\n");
    return bad;
}
