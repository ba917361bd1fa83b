/* http.c — GET with retries (see http.h). */
#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/sk.h"

typedef struct buf {
    char *p;
    size_t len, cap;
    long reset_s; /* ratelimit-reset / Retry-After, -1 if absent */
} buf_t;

#define BODY_MAX (64u << 20) /* refuse bodies above 64 MiB */

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

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    buf_t *b = ud;
    size_t len = size * n;
    static const char *names[] = {"ratelimit-reset:", "retry-after:"};
    for (size_t i = 0; i < SK_ARRAY_LEN(names); i++) {
        size_t k = strlen(names[i]);
        if (len > k && strncasecmp(data, names[i], k) == 0) {
            char tmp[32];
            size_t m = len - k < sizeof(tmp) - 1 ? len - k : sizeof(tmp) - 1;
            memcpy(tmp, data + k, m);
            tmp[m] = '\0';
            char *end;
            long v = strtol(tmp, &end, 10);
            if (end != tmp && v >= 0 && (b->reset_s < 0 || i == 0))
                b->reset_s = v;
        }
    }
    return len;
}

void sk_http_resp_fini(sk_http_resp_t *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int sk_http_global_init(void)
{
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
    long backoff = o->backoff_ms;
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
    for (int attempt = 1;; attempt++) {
        long status = 0, wait_ms;
        b.len = 0;
        b.reset_s = -1;
        if (b.p)
            b.p[0] = '\0';
        cerr[0] = '\0';
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (cc == CURLE_OK && (is_file || (status >= 200 && status < 300))) {
            out->status = status;
            out->body = b.p ? b.p : strdup("");
            out->len = b.len;
            out->retries = attempt - 1;
            b.p = NULL;
            rc = out->body ? 0 : SK_ENOMEM;
            break;
        }
        if (cc != CURLE_OK)
            snprintf(err, errlen, "GET %s: %s", shown, cerr[0] ? cerr : curl_easy_strerror(cc));
        else
            snprintf(err, errlen, "GET %s: HTTP %ld: %.300s", shown, status, b.p ? b.p : "");
        int retryable = !is_file && (cc != CURLE_OK || status == 429 || status >= 500);
        if (!retryable || attempt >= o->attempts)
            break;
        if (status == 429) {
            long s = b.reset_s < 0 ? 1 : b.reset_s;
            wait_ms = (s > o->max_wait_s ? o->max_wait_s : s) * 1000;
            fprintf(stderr, "%s: GET %s: HTTP 429 (rate limited): waiting %ld s as ratelimit-reset "
                    "says (attempt %d of %d)\n", o->prog, shown, wait_ms / 1000, attempt, o->attempts);
        } else {
            wait_ms = backoff;
            backoff *= 2;
            fprintf(stderr, "%s: %s: retrying in %ld ms (attempt %d of %d)\n", o->prog, err,
                    wait_ms, attempt, o->attempts);
        }
        sleep_ms(wait_ms);
    }
    free(b.p);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc;
}
