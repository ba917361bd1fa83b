/* http.c — GET with retries (see http.h). */
#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/sk.h"
#include "timefmt.h"

typedef struct buf {
    char *p;
    size_t len, cap;
    sk_http_limits_t lim; /* of the response being read */
} buf_t;

#define BODY_MAX (64u << 20) /* refuse bodies above 64 MiB */

static unsigned jitter_seed; /* set once by sk_http_global_init */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    size_t add = size * n;
    if (b->len + add + 1 > BODY_MAX)
        return 0;
    if (b->len + add + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 16384;
        while (ncap < b->len + add + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np)
            return 0;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, data, add);
    b->len += add;
    b->p[b->len] = '\0';
    return add;
}

void sk_http_limits_init(sk_http_limits_t *l)
{
    l->retry_after_ms = l->reset_ms = l->period_ms = l->remaining = -1;
}

/* A whole number of seconds (>= 0) in v, else -1. */
static long long seconds(const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    while (*end == ' ')
        end++;
    return end != v && *end == '\0' && n >= 0 ? n : -1;
}

void sk_http_limits_header(sk_http_limits_t *l, const char *line, size_t len, sk_ms_t now_ms)
{
    char name[64], v[128];
    const char *colon = memchr(line, ':', len);
    if (!colon || (size_t)(colon - line) >= sizeof(name))
        return;
    size_t nlen = (size_t)(colon - line), vlen = len - nlen - 1;
    memcpy(name, line, nlen);
    name[nlen] = '\0';
    const char *vp = colon + 1;
    while (vlen && (*vp == ' ' || *vp == '\t'))
        vp++, vlen--;
    while (vlen && (vp[vlen - 1] == '\r' || vp[vlen - 1] == '\n' || vp[vlen - 1] == ' '))
        vlen--;
    if (vlen >= sizeof(v))
        return;
    memcpy(v, vp, vlen);
    v[vlen] = '\0';
    long long n = seconds(v);
    sk_ms_t t;
    if (strcasecmp(name, "Retry-After") == 0) {
        if (n >= 0)
            l->retry_after_ms = n * 1000;
        else if (sk_conn_parse_http_date(v, &t) == 0)
            l->retry_after_ms = t > now_ms ? t - now_ms : 0;
    } else if (strcasecmp(name, "ratelimit-reset") == 0 ||
               strcasecmp(name, "X-RateLimit-Reset") == 0) {
        if (n >= 1000000000LL) /* epoch seconds */
            l->reset_ms = n * 1000 > now_ms ? n * 1000 - now_ms : 0;
        else if (n >= 0)
            l->reset_ms = n * 1000;
        else if (sk_conn_parse_iso(v, &t) == 0)
            l->reset_ms = t > now_ms ? t - now_ms : 0;
    } else if (strcasecmp(name, "X-RateLimit-Period-In-Sec") == 0) {
        if (n >= 0)
            l->period_ms = n * 1000;
    } else if (strcasecmp(name, "ratelimit-remaining") == 0 ||
               strcasecmp(name, "X-RateLimit-Remaining") == 0) {
        if (n >= 0)
            l->remaining = n;
    }
}

long long sk_http_wait_ms(const sk_http_limits_t *l, long status, int attempt, long long backoff_ms,
                          long long max_wait_ms, unsigned *seed, const char **why)
{
    long long hint = -1;
    if (status == 429 || status == 503) {
        if (l->retry_after_ms >= 0)
            hint = l->retry_after_ms, *why = "Retry-After";
        else if (l->reset_ms >= 0)
            hint = l->reset_ms, *why = "rate-limit reset";
        else if (l->period_ms >= 0)
            hint = l->period_ms, *why = "X-RateLimit-Period-In-Sec";
    }
    if (hint >= 0) {
        if (hint > max_wait_ms)
            return -1;
        long long span = hint / 10 + 250;
        long long w = hint + (long long)(rand_r(seed) % (span + 1));
        return w > max_wait_ms ? max_wait_ms : w;
    }
    *why = "backoff";
    long long b = backoff_ms;
    for (int i = 1; i < attempt && b < max_wait_ms; i++)
        b *= 2;
    if (b > max_wait_ms)
        b = max_wait_ms;
    return b / 2 + (long long)(rand_r(seed) % (b / 2 + 1));
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    sk_http_limits_header(&b->lim, data, size * n, sk_now_ms());
    return size * n;
}

void sk_http_resp_fini(sk_http_resp_t *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int sk_http_global_init(void)
{
    jitter_seed = (unsigned)sk_now_ms() ^ ((unsigned)getpid() << 16);
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : SK_EIO;
}

void sk_http_global_fini(void)
{
    curl_global_cleanup();
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int sk_http_url_append(char *buf, size_t len, const char *s, int encode)
{
    size_t k = strlen(buf);
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = !encode || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || strchr("-._~", ch);
        if (k + (plain ? 1 : 3) >= len)
            return -1;
        if (plain) {
            buf[k++] = (char)ch;
        } else {
            buf[k++] = '%';
            buf[k++] = hex[ch >> 4];
            buf[k++] = hex[ch & 15];
        }
    }
    buf[k] = '\0';
    return 0;
}

/* The URL without its query string, for logs and errors. */
static void url_for_log(const char *url, char *out, size_t len)
{
    snprintf(out, len, "%.*s", (int)strcspn(url, "?"), url);
}

int sk_http_get(const sk_http_opts_t *o, const char *url, const char *const *headers,
                sk_http_resp_t *out, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    buf_t b = {0};
    char shown[512], cerr[CURL_ERROR_SIZE];
    int rc = SK_EIO, is_file = strncmp(url, "file:", 5) == 0;
    memset(out, 0, sizeof(*out));
    url_for_log(url, shown, sizeof(shown));
    if (!c) {
        snprintf(err, errlen, "GET %s: cannot initialise libcurl", shown);
        return SK_EIO;
    }
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)o->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "shiftkey-connector/0.1");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    int attempt;
    for (attempt = 1;; attempt++) {
        long status = 0;
        b.len = 0;
        sk_http_limits_init(&b.lim);
        if (b.p)
            b.p[0] = '\0';
        cerr[0] = '\0';
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (cc == CURLE_OK && (is_file || (status >= 200 && status < 300))) {
            out->status = status;
            out->body = b.p ? b.p : strdup("");
            out->len = b.len;
            b.p = NULL;
            rc = out->body ? 0 : SK_ENOMEM;
            break;
        }
        if (cc != CURLE_OK)
            snprintf(err, errlen, "GET %s: %s", shown, cerr[0] ? cerr : curl_easy_strerror(cc));
        else
            snprintf(err, errlen, "GET %s: HTTP %ld: %.300s", shown, status, b.p ? b.p : "");
        char label[24];
        snprintf(label, sizeof(label), "%ld", status);
        sk_metric_add(o->errors, 1,
                      is_file          ? "file"
                      : cc != CURLE_OK ? "network"
                      : status > 0     ? label
                                       : "network");
        int retryable = !is_file && (cc != CURLE_OK || status == 429 || status >= 500);
        if (!retryable || attempt >= o->attempts)
            break;
        const char *why = "backoff";
        long long wait_ms =
            sk_http_wait_ms(&b.lim, cc == CURLE_OK ? status : 0, attempt, o->backoff_ms,
                            o->max_wait_s * 1000LL, &jitter_seed, &why);
        if (wait_ms < 0) {
            size_t k = strlen(err);
            snprintf(err + k, errlen - k,
                     " (the server asks to wait longer than --http-max-wait %d s)", o->max_wait_s);
            break;
        }
        if (status == 429) {
            snprintf(err, errlen, "GET %s: HTTP 429 (rate limited)", shown);
            sk_metric_add(o->rl_waits, 1);
            sk_metric_add(o->rl_seconds, (double)wait_ms / 1000.0);
        }
        fprintf(stderr, "%s: %s: retrying in %lld ms (%s; attempt %d of %d)\n", o->prog, err,
                wait_ms, why, attempt, o->attempts);
        sleep_ms(wait_ms);
    }
    out->attempts = attempt;
    free(b.p);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc;
}
