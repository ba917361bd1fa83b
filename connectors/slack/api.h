/*
 * api.h — the Slack Web API over libcurl: POST {base}/{method} with a JSON
 * body and the bot token as a Bearer header; JSON answers. Rate limits:
 * a 429 waits for its Retry-After (capped) and tries again; 5xx and
 * network errors back off exponentially. Thread-safe (one curl handle per
 * call); sk_http_global_init-style setup is curl_global_init in main.
 */
#ifndef SK_SLACK_API_H
#define SK_SLACK_API_H

#include <jansson.h>
#include <signal.h>

typedef struct sk_slack_api {
    const char *base_url;        /* "https://slack.com/api", no trailing '/' */
    const char *token;           /* bot token (xoxb-…); borrowed, never logged */
    int attempts;                /* tries per call, >= 1 (429s included) */
    int max_wait_s;              /* longest Retry-After honoured per wait */
    int timeout_s;               /* per HTTP request */
    volatile sig_atomic_t *stop; /* when set, waits end early (may be NULL) */
} sk_slack_api_t;

/*
 * sk_slack_api_call — calls `method` (e.g. "chat.postMessage") with args
 * (borrowed; serialised as the JSON body). Returns 0 when Slack answered
 * ok:true, with the answer in *reply (owned by the caller: json_decref;
 * reply may be NULL); SK_EINVAL when Slack answered ok:false (a permanent
 * error such as channel_not_found: err holds Slack's error code);
 * SK_EAGAIN when still rate-limited after every attempt; SK_EIO on network
 * or 5xx failures after every attempt. err says why ("chat.update: HTTP
 * 500"); the token never appears in it.
 */
int sk_slack_api_call(const sk_slack_api_t *api, const char *method, json_t *args, json_t **reply,
                      char *err, size_t err_len);

/*
 * sk_slack_post_url — POSTs body (borrowed JSON) to a response_url (no
 * token: the URL is the credential). Same retries. 0, SK_EAGAIN or SK_EIO.
 */
int sk_slack_post_url(const sk_slack_api_t *api, const char *url, json_t *body, char *err,
                      size_t err_len);

#endif
