/*
 * http.h — GET with libcurl, with the retry policy every connector needs:
 * 429 waits for the `ratelimit-reset` header (seconds; `Retry-After` too),
 * 5xx and network errors are retried with exponential backoff. TLS is
 * verified (libcurl's defaults). file:// URLs work too (iCal feeds).
 */
#ifndef SK_CONN_HTTP_H
#define SK_CONN_HTTP_H

#include <stddef.h>

typedef struct sk_http_opts {
    const char *prog;   /* prefix of log lines */
    int attempts;       /* tries in all, >= 1 */
    int backoff_ms;     /* first wait after a 5xx / network error; doubles */
    int max_wait_s;     /* longest wait honoured for a 429 */
    int timeout_s;      /* per request */
} sk_http_opts_t;

typedef struct sk_http_resp {
    long status;  /* HTTP status; 0 for file:// */
    char *body;   /* NUL-terminated; owned, free with sk_http_resp_fini */
    size_t len;
    int retries;  /* how many retries it took (for the poll log line) */
} sk_http_resp_t;

void sk_http_resp_fini(sk_http_resp_t *r);

/* Once per process, before any thread: curl_global_init. 0 or SK_EIO. */
int sk_http_global_init(void);
void sk_http_global_fini(void);

/*
 * sk_http_get — GETs url with the given extra headers (NULL-terminated
 * array of "Name: value", may be NULL). Retries as described above. Returns
 * 0 with a 2xx (or file://) response in *out; SK_EIO with a readable reason
 * in err ("GET https://…/oncalls: HTTP 401: {…}") otherwise; *out is then
 * empty. The URL is logged without its query string (no secrets in logs).
 */
int sk_http_get(const sk_http_opts_t *o, const char *url, const char *const *headers,
                sk_http_resp_t *out, char *err, size_t errlen);

/* Appends s URL-encoded to buf (of size len, NUL-terminated). 0 or -1 if it does not fit. */
int sk_http_url_append(char *buf, size_t len, const char *s, int encode);

#endif
