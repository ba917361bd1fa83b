/*
 * verify.h — Slack's request signatures (https://api.slack.com/authentication/verifying-requests-from-slack)
 * and a replay guard. Pure but for the replay guard's mutex: no I/O, the
 * clock is an argument.
 *
 *   X-Slack-Signature = "v0=" + hex(HMAC-SHA256(signing secret,
 *                                                "v0:" + X-Slack-Request-Timestamp + ":" + raw body))
 */
#ifndef SK_SLACK_VERIFY_H
#define SK_SLACK_VERIFY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Largest accepted distance between the request's timestamp and now. */
#define SK_SLACK_MAX_SKEW_S 300

/*
 * sk_slack_verify — 0 when sig_hdr is the signature of (ts_hdr, body) under
 * secret and ts_hdr is within SK_SLACK_MAX_SKEW_S of now_s; SK_EINVAL
 * otherwise with the reason in why ("no signature", "stale timestamp", "bad
 * signature"). The signature is compared in constant time (its length is
 * not secret: it is fixed). Headers may be NULL (missing). On success,
 * *ts_out (may be NULL) is the parsed timestamp.
 */
int sk_slack_verify(const char *secret, size_t secret_len, const char *ts_hdr, const char *sig_hdr,
                    const void *body, size_t body_len, int64_t now_s, int64_t *ts_out, char *why,
                    size_t why_len);

/* Replay guard: remembers the signatures accepted in the last
 * 2 * SK_SLACK_MAX_SKEW_S seconds, in a bounded table. */
#define SK_SLACK_REPLAY_SLOTS 4096

typedef struct sk_slack_replay {
    pthread_mutex_t lock;
    struct {
        unsigned char sig[32];
        int64_t ts; /* 0: empty */
    } slot[SK_SLACK_REPLAY_SLOTS];
} sk_slack_replay_t;

void sk_slack_replay_init(sk_slack_replay_t *r);
void sk_slack_replay_fini(sk_slack_replay_t *r);

/*
 * sk_slack_replay_seen — 1 when this signature (the header as sent) was
 * already accepted (a replay: refuse it); 2 when the table is full of live
 * entries (refuse: fail closed, try again later); else records it and
 * returns 0.
 * Call only after sk_slack_verify accepted the request. Thread-safe.
 */
int sk_slack_replay_seen(sk_slack_replay_t *r, const char *sig_hdr, int64_t ts, int64_t now_s);

#endif
