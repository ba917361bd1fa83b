/*
 * target_webhook.c — a signed HTTP POST per change (libcurl, jansson,
 * OpenSSL's HMAC), as Slack and Indent sign theirs.
 *
 * Body: a JSON object {"command_id", "action" (GRANT, EXTEND or REVOKE),
 * "cause" (command, expiry or reconcile), "user", "principal", "app",
 * "entitlement", "object", "resource", "permission", "expires_at" (ms),
 * "issued_at" (ms), "reason", "emergency", "sources": [...]}.
 *
 * Headers: X-Shiftkey-Timestamp: <unix seconds>; X-Shiftkey-Signature:
 * v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + body)>. A receiver
 * recomputes it over the raw body, compares in constant time and refuses a
 * timestamp more than 5 minutes off (replays).
 *
 * Answer: 2xx done, unless its JSON body says {"result": "WONT_PROVISION"}
 * or {"result": "FAILED", "retryable": bool} (with "message"); 408, 429, 5xx
 * and network errors are tried again with doubling waits (attempts,
 * backoff), then FAILED retryable; any other status FAILED.
 *
 * [target] keys: url (required), secret_file / secret_env (required),
 * timeout [10s], attempts [3], backoff [1s].
 */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/duration.h"
#include "prov.h"

typedef struct wh_ctx {
    const char *url;
    char secret[1024];
    sk_ms_t timeout_ms, backoff_ms;
    long attempts;
} wh_ctx_t;

typedef struct wh_buf {
    char data[4096];
    size_t len;
} wh_buf_t;

static void wh_destroy(void *ctx)
{
    wh_ctx_t *w = ctx;
    if (!w)
        return;
    memset(w->secret, 0, sizeof(w->secret));
    free(w);
    curl_global_cleanup();
}

static int wh_init(const sk_prov_conf_t *c, void **out)
{
    wh_ctx_t *w;
    const char *t, *b, *a;
    char *end;
    /* before any thread (Kafka's are started later): libcurl's global state */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    if (!(w = calloc(1, sizeof(*w)))) {
        curl_global_cleanup();
        return -1;
    }
    w->url = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "url", NULL);
    t = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "timeout", "10s");
    b = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "backoff", "1s");
    a = sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "attempts", "3");
    if (!w->url || (strncmp(w->url, "https://", 8) != 0 && strncmp(w->url, "http://", 7) != 0)) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "url"),
                           "[target]: url: an http:// or https:// URL is required");
        goto fail;
    }
    if (sk_duration_parse(t, &w->timeout_ms) != 0 || w->timeout_ms < 100 ||
        sk_duration_parse(b, &w->backoff_ms) != 0) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "timeout"),
                           "timeout '%s' / backoff '%s': expected durations such as 10s", t, b);
        goto fail;
    }
    w->attempts = strtol(a, &end, 10);
    if (*end || w->attempts < 1 || w->attempts > 20) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TARGET, "attempts"),
                           "attempts '%s': expected 1 to 20", a);
        goto fail;
    }
    if (sk_prov_secret(c, SK_PROV_SEC_TARGET, "secret", w->secret, sizeof(w->secret)) != 0) {
        if (!sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "secret_file", NULL) &&
            !sk_prov_conf_get(c, SK_PROV_SEC_TARGET, "secret_env", NULL))
            sk_prov_conf_error(c, 0,
                               "[target]: secret_file or secret_env is required (the "
                               "HMAC key the receiver checks)");
        goto fail;
    }
    *out = w;
    return 0;
fail:
    wh_destroy(w);
    return -1;
}

static int wh_check(void *ctx, const sk_prov_conf_t *c, const char *const *objects,
                    const int *lines, size_t n)
{
    (void)ctx, (void)c, (void)objects, (void)lines, (void)n;
    return 0; /* a receiver need not answer anything but POSTs: checked at the first one */
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *opaque)
{
    wh_buf_t *b = opaque;
    size_t n = size * nmemb, room = sizeof(b->data) - 1 - b->len;
    memcpy(b->data + b->len, p, n < room ? n : room);
    b->len += n < room ? n : room;
    b->data[b->len] = '\0';
    return n;
}

/* The JSON body of op as action; NULL when out of memory. Caller frees. */
static char *body_of(const sk_prov_op_t *op, const char *action)
{
    const char *slash = strchr(op->ent, '/');
    const sk_command_t *c = op->cmd;
    const char *cause = strcmp(op->action, "EXPIRE") == 0      ? "expiry"
                        : strcmp(op->action, "RECONCILE") == 0 ? "reconcile"
                                                               : "command";
    json_t *sources = json_array();
    for (size_t i = 0; c && i < c->n_sources; i++)
        json_array_append_new(sources,
                              json_pack("{s:s, s:s, s:s, s:I}", "kind",
                                        sk_source_kind_name(c->sources[i].kind), "id",
                                        c->sources[i].id, "rotation", c->sources[i].rotation,
                                        "expires_at", (json_int_t)c->sources[i].expires_at_ms));
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s%, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:o}",
                  "command_id", op->command_id, "action", action, "cause", cause, "user", op->user,
                  "principal", op->principal ? op->principal : "", "app", op->ent,
                  (size_t)(slash ? slash - op->ent : 0), "entitlement", slash ? slash + 1 : op->ent,
                  "object", op->object ? op->object : "", "resource", c ? c->resource : "",
                  "permission", c ? c->permission : "", "expires_at", (json_int_t)op->expires_at_ms,
                  "issued_at", (json_int_t)(c ? c->issued_at_ms : sk_now_ms()), "reason",
                  c ? c->reason : cause, "emergency", c ? c->emergency : 0, "sources", sources);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

/* v1=<hex HMAC-SHA256(secret, "v1:" ts ":" body)> into out (>= 68 bytes). */
static int sign(const char *secret, const char *ts, const char *body, char *out, size_t len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    size_t n = strlen(ts) + strlen(body) + 5;
    char *msg = malloc(n);
    if (!msg)
        return -1;
    snprintf(msg, n, "v1:%s:%s", ts, body);
    unsigned char *ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg,
                             strlen(msg), mac, &mlen);
    free(msg);
    if (!ok || len < 4 + 2 * (size_t)mlen)
        return -1;
    size_t k = (size_t)snprintf(out, len, "v1=");
    for (unsigned int i = 0; i < mlen; i++)
        k += (size_t)snprintf(out + k, len - k, "%02x", mac[i]);
    return 0;
}

/* The receiver's own verdict in a 2xx body, if any. */
static int verdict(const wh_buf_t *b, char *msg, size_t len)
{
    json_t *o = json_loads(b->data, 0, NULL);
    const char *res = o ? json_string_value(json_object_get(o, "result")) : NULL;
    const char *m = o ? json_string_value(json_object_get(o, "message")) : NULL;
    int rc = 0;
    if (m)
        snprintf(msg, len, "%s", m);
    if (res && strcmp(res, "WONT_PROVISION") == 0)
        rc = SK_PROV_WONT;
    else if (res && strcmp(res, "FAILED") == 0)
        rc = json_is_true(json_object_get(o, "retryable")) ? SK_EAGAIN : SK_EINVAL;
    json_decref(o);
    return rc;
}

/* POSTs op as action, with retries. 0, SK_EAGAIN, SK_EINVAL or SK_PROV_WONT. */
static int post(void *ctx, const sk_prov_op_t *op, const char *action, char *msg, size_t len)
{
    wh_ctx_t *w = ctx;
    char *body = body_of(op, action);
    int rc = SK_EAGAIN;
    sk_ms_t wait = w->backoff_ms;
    if (!body) {
        snprintf(msg, len, "out of memory");
        return SK_EAGAIN;
    }
    for (long attempt = 0; attempt < w->attempts; attempt++) {
        char ts[32], sig[128], h1[64], h2[160], h3[80];
        wh_buf_t resp = {.len = 0};
        long status = 0;
        CURL *c = curl_easy_init();
        struct curl_slist *hs = NULL;
        if (attempt > 0) {
            usleep((useconds_t)(wait * 1000));
            wait *= 2;
        }
        snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
        if (!c || sign(w->secret, ts, body, sig, sizeof(sig)) != 0) {
            snprintf(msg, len, "cannot prepare the request");
            curl_easy_cleanup(c);
            continue;
        }
        snprintf(h1, sizeof(h1), "X-Shiftkey-Timestamp: %s", ts);
        snprintf(h2, sizeof(h2), "X-Shiftkey-Signature: %s", sig);
        snprintf(h3, sizeof(h3), "X-Shiftkey-Command-Id: %s", op->command_id);
        hs = curl_slist_append(hs, "Content-Type: application/json");
        hs = curl_slist_append(hs, h1);
        hs = curl_slist_append(hs, h2);
        hs = curl_slist_append(hs, h3);
        curl_easy_setopt(c, CURLOPT_URL, w->url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hs);
        curl_easy_cleanup(c);
        if (cc != CURLE_OK) {
            snprintf(msg, len, "POST %s: %s", w->url, curl_easy_strerror(cc));
            rc = SK_EAGAIN;
            continue;
        }
        if (status >= 200 && status < 300) {
            msg[0] = '\0';
            rc = verdict(&resp, msg, len);
            break;
        }
        resp.data[strcspn(resp.data, "\r\n")] = '\0'; /* one line of it in messages */
        snprintf(msg, len, "POST %s: HTTP %ld: %.200s", w->url, status, resp.data);
        if (status != 408 && status != 429 && status < 500) {
            rc = SK_EINVAL;
            break;
        }
        rc = SK_EAGAIN;
    }
    free(body);
    return rc;
}

static int wh_grant(void *ctx, const sk_prov_op_t *op, char *member, size_t member_len, char *msg,
                    size_t msg_len)
{
    return sk_prov_send_grant(post, ctx, op, member, member_len, msg, msg_len);
}

static int wh_revoke(void *ctx, const sk_prov_op_t *op, char *msg, size_t msg_len)
{
    return sk_prov_send_revoke(post, ctx, op, msg, msg_len);
}

const sk_prov_target_t sk_prov_target_webhook = {.type = "webhook",
                                                 .init = wh_init,
                                                 .check = wh_check,
                                                 .grant = wh_grant,
                                                 .revoke = wh_revoke,
                                                 .list = NULL,
                                                 .destroy = wh_destroy};
