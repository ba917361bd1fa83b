/*
 * gen_recording.c — writes a synthetic recording of the input topics for
 * `shiftkey replay` (the format of engine/cli/cli_replay.h): USERS people
 * rotating through the example rules' rotations in 8-hour shifts (each
 * shift SCHEDULED 15 minutes ahead, STARTED, ENDED at its times), and every tenth shift an access request
 * for kubernetes-prod/edit an hour into the shift, approved by frank five
 * minutes later, until N records (not in time order: replay sorts them).
 *
 * usage: gen-recording N USERS FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "codec/codec.h"

static void put_be(unsigned char *p, unsigned long long v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static int put(FILE *f, int topic, sk_ms_t ts, const char *key, const void *val, size_t len)
{
    unsigned char h[13], l[4];
    size_t kl = strlen(key);
    h[0] = (unsigned char)topic;
    put_be(h + 1, (unsigned long long)ts, 8);
    put_be(h + 9, kl, 4);
    put_be(l, len, 4);
    return fwrite(h, 1, 13, f) == 13 && fwrite(key, 1, kl, f) == kl && fwrite(l, 1, 4, f) == 4 &&
                   fwrite(val, 1, len, f) == len
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    static const char *const rots[] = {"payments-primary", "payments-secondary", "platform-sre",
                                       "data-eng",         "demo-primary",       "demo-secondary"};
    if (argc != 4) {
        fprintf(stderr, "usage: gen-recording N USERS FILE\n");
        return 2;
    }
    long n = atol(argv[1]), users = atol(argv[2]);
    FILE *f = fopen(argv[3], "wb");
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    if (!f || !codec || n <= 0 || users <= 0) {
        fprintf(stderr, "gen-recording: cannot start\n");
        return 1;
    }
    sk_arena_init(&a, 1 << 16);
    fputs("shiftkey-recording 1\n", f);
    /* a shift starts every 8 minutes: about 60 shifts (10 per rotation)
     * open at any time, as in a large organisation */
    const sk_ms_t t0 = 1772442000000LL, step = 8 * 60 * 1000;
    long written = 0;
    for (long i = 0; written < n; i++) {
        long u = i % users, k = i / users;
        char user[64], shift[64], id[96], req[64];
        snprintf(user, sizeof(user), "user%ld@example.com", u);
        snprintf(shift, sizeof(shift), "s%ld-%ld", u, k);
        (void)written;
        sk_ms_t now = t0 + i * step;
        sk_ms_t start = now + 15 * 60 * 1000, end = start + 8 * 3600 * 1000LL;
        sk_schedule_event_t ev = {.source = "bench",
                                  .rotation = rots[(u + k) % 6],
                                  .user = user,
                                  .shift_id = shift,
                                  .start_ms = start,
                                  .end_ms = end,
                                  .escalation_level = 1 + (int)(k % 2)};
        for (int t = 0; t < 3 && written < n; t++) {
            void *buf;
            size_t len;
            sk_arena_reset(&a);
            ev.type = t == 0 ? SK_SHIFT_SCHEDULED : t == 1 ? SK_SHIFT_STARTED : SK_SHIFT_ENDED;
            ev.occurred_at_ms = t == 0 ? now : t == 1 ? start : end;
            snprintf(id, sizeof(id), "%s-%d", shift, t);
            ev.event_id = id;
            if (sk_codec_encode_schedule(codec, &ev, &a, &buf, &len) ||
                put(f, 0, ev.occurred_at_ms, user, buf, len))
                return 1;
            written++;
        }
        if (k % 10 != 0)
            continue;
        snprintf(req, sizeof(req), "r%ld-%ld", u, k);
        sk_request_event_t rq = {.request_id = req,
                                 .subject = user,
                                 .actor = user,
                                 .target_kind = SK_TARGET_ENTITLEMENT,
                                 .target = "kubernetes-prod/edit",
                                 .duration_ms = 3600000,
                                 .justification = "bench",
                                 .comment = "",
                                 .source = "bench"};
        for (int t = 0; t < 2 && written < n; t++) {
            void *buf;
            size_t len;
            sk_arena_reset(&a);
            rq.type = t == 0 ? SK_REQ_CREATED : SK_REQ_APPROVED;
            rq.actor = t == 0 ? user : "frank@example.com";
            rq.occurred_at_ms = start + 3600000LL + t * 300000LL;
            snprintf(id, sizeof(id), "%s-%d", req, t);
            rq.event_id = id;
            if (sk_codec_encode_request(codec, &rq, &a, &buf, &len) ||
                put(f, 1, rq.occurred_at_ms, user, buf, len))
                return 1;
            written++;
        }
    }
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    return fclose(f) == 0 ? 0 : 1;
}
