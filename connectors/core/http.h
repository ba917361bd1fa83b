/*
 * http.h — GET with libcurl, with the retry policy every connector needs,
 * following the vendors' rate-limit documentation:
 *
 *   429 and 503 wait as the server says, first of: Retry-After (seconds or
 *   an HTTP date, RFC 9110), ratelimit-reset (PagerDuty: seconds),
 *   X-RateLimit-Reset (Atlassian / JSM: an ISO 8601 time; also epoch
 *   seconds or seconds), X-RateLimit-Period-In-Sec (Opsgenie: the period
 *   of the limit that was hit, 1 or 60) — plus a jitter of up to a tenth
 *   (and 250 ms) so that several connectors do not come back together. A
 *   server asking for longer than max_wait fails the request at once.
 *   Without a hint (and for 5xx and network errors): exponential backoff
 *   with jitter, backoff_ms · 2^(attempt-1), half fixed and half random,
 *   capped at max_wait.
 *
 * TLS is verified (libcurl's defaults). file:// URLs work too (iCal feeds).
 */
#ifndef SK_CONN_HTTP_H
#define SK_CONN_HTTP_H

#include <stddef.h>

#include "base/metrics.h"
#include "base/sk.h"

typedef struct sk_http_opts {
    const char *prog; /* prefix of log lines */
    int attempts;     /* tries in all, >= 1 */
    int backoff_ms;   /* first backoff (no hint from the server); doubles */
    int max_wait_s;   /* longest wait honoured (a 429's hint or the backoff) */
    int timeout_s;    /* per request */
    /* what it counts (conn_metrics.h; NULL: nothing): each failed attempt
     * by status ("429", "network", "file"), 429s waited out and the time */
    sk_metric_t *errors, *rl_waits, *rl_seconds;
} sk_http_opts_t;

typedef struct sk_http_resp {
    long status; /* HTTP status; 0 for file:// */
    char *body;  /* NUL-terminated; owned, free with sk_http_resp_fini */
    size_t len;
    int attempts; /* requests made, retries included; set on failure too */
} sk_http_resp_t;

/* What a response said about rate limits; -1 for each header absent. */
typedef struct sk_http_limits {
    long long retry_after_ms; /* Retry-After, relative to when it was read */
    long long reset_ms;       /* ratelimit-reset / X-RateLimit-Reset, relative */
    long long period_ms;      /* X-RateLimit-Period-In-Sec */
    long long remaining;      /* ratelimit-remaining / X-RateLimit-Remaining */
} sk_http_limits_t;

void sk_http_limits_init(sk_http_limits_t *l);

/*
 * sk_http_limits_header — reads one response header line ("Name: value\r\n",
 * len bytes, not NUL-terminated) into l if it is one of the headers above;
 * others and unparsable values are ignored. now_ms turns dates into waits.
 * Pure.
 */
void sk_http_limits_header(sk_http_limits_t *l, const char *line, size_t len, sk_ms_t now_ms);

/*
 * sk_http_wait_ms — how long to wait before attempt `attempt` + 1 after a
 * failed attempt (>= 1) with HTTP status (0: network error), as described
 * above. *seed drives the jitter (rand_r). *why receives the rule used
 * ("Retry-After", "backoff", ...). Returns the wait in ms, or -1 when the
 * server asks for more than max_wait_ms (do not retry). Pure.
 */
long long sk_http_wait_ms(const sk_http_limits_t *l, long status, int attempt, long long backoff_ms,
                          long long max_wait_ms, unsigned *seed, const char **why);

void sk_http_resp_fini(sk_http_resp_t *r);

/* Once per process, before any thread: curl_global_init. 0 or SK_EIO. */
int sk_http_global_init(void);
void sk_http_global_fini(void);

/*
 * sk_http_get — GETs url with the given extra headers (NULL-terminated
 * array of "Name: value", may be NULL). Retries as described above, logging
 * each wait with its reason. Returns 0 with a 2xx (or file://) response in
 * *out; SK_EIO with a readable reason in err ("GET https://…/oncalls: HTTP
 * 401: {…}") otherwise; *out then holds no body but its attempts count. The
 * URL is logged without its query string (no secrets in logs).
 */
int sk_http_get(const sk_http_opts_t *o, const char *url, const char *const *headers,
                sk_http_resp_t *out, char *err, size_t errlen);

/* Appends s URL-encoded to buf (of size len, NUL-terminated). 0 or -1 if it does not fit. */
int sk_http_url_append(char *buf, size_t len, const char *s, int encode);

#endif
