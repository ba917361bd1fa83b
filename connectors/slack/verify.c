/* verify.c — Slack request signatures and the replay guard (verify.h). */
#include "verify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sk.h"

#define SIG_HEX_LEN (3 + 64) /* "v0=" + 64 hex */

static int parse_ts(const char *s, int64_t *out)
{
    char *end;
    long long v;
    if (!s || !*s || strlen(s) > 12)
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    v = strtoll(s, &end, 10);
    if (*end)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int sk_slack_verify(const char *secret, size_t secret_len, const char *ts_hdr, const char *sig_hdr,
                    const void *body, size_t body_len, int64_t now_s, int64_t *ts_out, char *why,
                    size_t why_len)
{
    static const char hexd[] = "0123456789abcdef";
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char want[SIG_HEX_LEN + 1];
    int64_t ts;
    int rc = SK_EINVAL;

    if (!sig_hdr || !ts_hdr) {
        snprintf(why, why_len, "no %s header",
                 !sig_hdr ? "X-Slack-Signature" : "X-Slack-Request-Timestamp");
        goto out;
    }
    if (parse_ts(ts_hdr, &ts) != 0) {
        snprintf(why, why_len, "bad timestamp");
        goto out;
    }
    if (ts > now_s + SK_SLACK_MAX_SKEW_S || ts < now_s - SK_SLACK_MAX_SKEW_S) {
        snprintf(why, why_len, "stale timestamp (%lld s off)", (long long)(now_s - ts));
        goto out;
    }
    if (strlen(sig_hdr) != SIG_HEX_LEN) {
        snprintf(why, why_len, "bad signature");
        goto out;
    }
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"v0:", 3);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts_hdr, strlen(ts_hdr));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
    crypto_auth_hmacsha256_update(&st, body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(want, "v0=", 3);
    for (size_t i = 0; i < sizeof(mac); i++) {
        want[3 + 2 * i] = hexd[mac[i] >> 4];
        want[4 + 2 * i] = hexd[mac[i] & 15];
    }
    want[SIG_HEX_LEN] = '\0';
    /* constant time over the fixed length: no early exit on the first byte */
    if (sodium_memcmp(want, sig_hdr, SIG_HEX_LEN) != 0) {
        snprintf(why, why_len, "bad signature");
        goto out;
    }
    if (ts_out)
        *ts_out = ts;
    rc = 0;
out:
    sodium_memzero(&st, sizeof(st));
    return rc;
}

void sk_slack_replay_init(sk_slack_replay_t *r)
{
    memset(r->slot, 0, sizeof(r->slot));
    pthread_mutex_init(&r->lock, NULL);
}

void sk_slack_replay_fini(sk_slack_replay_t *r)
{
    pthread_mutex_destroy(&r->lock);
}

int sk_slack_replay_seen(sk_slack_replay_t *r, const char *sig_hdr, int64_t ts, int64_t now_s)
{
    unsigned char h[32];
    size_t free_i = SK_SLACK_REPLAY_SLOTS;
    int seen = 0;

    crypto_hash_sha256(h, (const unsigned char *)sig_hdr, strlen(sig_hdr));
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < SK_SLACK_REPLAY_SLOTS; i++) {
        if (r->slot[i].ts && r->slot[i].ts < now_s - 2 * SK_SLACK_MAX_SKEW_S)
            r->slot[i].ts = 0; /* expired: its timestamp is refused anyway */
        if (!r->slot[i].ts) {
            if (free_i == SK_SLACK_REPLAY_SLOTS)
                free_i = i;
            continue;
        }
        if (memcmp(r->slot[i].sig, h, sizeof(h)) == 0)
            seen = 1;
    }
    if (!seen && free_i == SK_SLACK_REPLAY_SLOTS)
        seen = 2; /* full of live entries: dropping one could let its replay in */
    if (!seen) {
        memcpy(r->slot[free_i].sig, h, sizeof(h));
        r->slot[free_i].ts = ts ? ts : 1;
    }
    pthread_mutex_unlock(&r->lock);
    return seen;
}
