/* api.c — the Slack Web API client (api.h). */
#include "api.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"
#include "base/sk.h"

typedef struct buf {
    char *p;
    size_t n;
    long retry_after; /* seconds from the header; -1 when absent */
} buf_t;

static size_t on_body(char *d, size_t sz, size_t nm, void *u)
{
    buf_t *b = u;
    size_t n = sz * nm;
    if (b->n + n > (1u << 22))
        return 0; /* 4 MiB: no Slack answer is that large */
    char *p = realloc(b->p, b->n + n + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, d, n);
    b->p = p;
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

static size_t on_header(char *d, size_t sz, size_t nm, void *u)
{
    buf_t *b = u;
    size_t n = sz * nm;
    if (n > 12 && strncasecmp(d, "Retry-After:", 12) == 0)
        b->retry_after = strtol(d + 12, NULL, 10);
    return n;
}

/* Sleeps ms in slices, returning early when *stop is set. */
static void nap(const sk_slack_api_t *api, long ms)
{
    while (ms > 0 && !(api->stop && *api->stop)) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* One POST with retries; on 0, *out holds the 2xx body. */
static int post(const sk_slack_api_t *api, const char *url, const char *what, int auth,
                const char *json, buf_t *out, char *err, size_t err_len)
{
    char authz[1200];
    long backoff = 500;
    int rc = SK_EIO;
    for (int attempt = 1; attempt <= api->attempts; attempt++) {
        CURL *c = curl_easy_init();
        struct curl_slist *h = NULL;
        long status = 0;
        CURLcode cc;
        if (!c) {
            snprintf(err, err_len, "%s: curl_easy_init failed", what);
            return SK_EIO;
        }
        free(out->p);
        *out = (buf_t){.retry_after = -1};
        h = curl_slist_append(h, "Content-Type: application/json; charset=utf-8");
        if (auth) {
            snprintf(authz, sizeof(authz), "Authorization: Bearer %s", api->token);
            h = curl_slist_append(h, authz);
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)api->timeout_s);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        memset(authz, 0, sizeof(authz));
        if (cc == CURLE_OK && status >= 200 && status < 300)
            return 0;
        if (cc == CURLE_OK && status == 429) {
            long wait = out->retry_after >= 0 ? out->retry_after : 1;
            if (wait > api->max_wait_s)
                wait = api->max_wait_s;
            SK_WARN("%s: rate limited (429), waiting %ld s as Retry-After says", what, wait);
            snprintf(err, err_len, "%s: still rate limited (429) after %d attempts", what, attempt);
            rc = SK_EAGAIN;
            nap(api, wait * 1000);
            continue;
        }
        if (cc != CURLE_OK)
            snprintf(err, err_len, "%s: %s", what, curl_easy_strerror(cc));
        else
            snprintf(err, err_len, "%s: HTTP %ld", what, status);
        rc = SK_EIO;
        if ((cc == CURLE_OK && status < 500) || cc == CURLE_URL_MALFORMAT ||
            cc == CURLE_UNSUPPORTED_PROTOCOL)
            return SK_EIO; /* 4xx other than 429, a bad URL: trying again will not help */
        nap(api, backoff);
        backoff = backoff < 16000 ? backoff * 2 : backoff;
    }
    return rc;
}

int sk_slack_api_call(const sk_slack_api_t *api, const char *method, json_t *args, json_t **reply,
                      char *err, size_t err_len)
{
    char url[1024];
    buf_t b = {0};
    char *body = json_dumps(args, JSON_COMPACT);
    json_t *ans = NULL;
    int rc;
    if (reply)
        *reply = NULL;
    if (!body) {
        snprintf(err, err_len, "%s: cannot serialise the arguments", method);
        return SK_EINVAL;
    }
    snprintf(url, sizeof(url), "%s/%s", api->base_url, method);
    rc = post(api, url, method, 1, body, &b, err, err_len);
    if (rc != 0)
        goto out;
    ans = json_loadb(b.p ? b.p : "", b.n, 0, NULL);
    if (!json_is_object(ans)) {
        snprintf(err, err_len, "%s: answer is not JSON", method);
        rc = SK_EIO;
        goto out;
    }
    if (!json_is_true(json_object_get(ans, "ok"))) {
        const char *e = json_string_value(json_object_get(ans, "error"));
        snprintf(err, err_len, "%s: %s", method, e ? e : "ok is false");
        rc = SK_EINVAL;
        goto out;
    }
    if (reply) {
        *reply = ans;
        ans = NULL;
    }
out:
    json_decref(ans);
    free(b.p);
    free(body);
    return rc;
}

int sk_slack_post_url(const sk_slack_api_t *api, const char *url, json_t *body, char *err,
                      size_t err_len)
{
    buf_t b = {0};
    char *js = json_dumps(body, JSON_COMPACT);
    int rc;
    if (!js) {
        snprintf(err, err_len, "response_url: cannot serialise");
        return SK_EINVAL;
    }
    rc = post(api, url, "response_url", 0, js, &b, err, err_len);
    free(b.p);
    free(js);
    return rc;
}
