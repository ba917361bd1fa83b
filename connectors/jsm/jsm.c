/*
 * shiftkey-jsm — Jira Service Management Operations schedules (Opsgenie's
 * successor) into shiftkey schedule events. See connectors/README.md.
 *
 * Reads GET https://api.atlassian.com/jsm/ops/api/{cloudId}/v1/schedules/
 * {scheduleId}/timeline (Atlassian's JSM Operations REST API reference,
 * "Schedule timelines") with Basic auth (an Atlassian account's e-mail and an
 * API token). The body is Opsgenie's final timeline without the "data"
 * wrapper and with "responder" for "recipient": og_timeline.c reads both.
 * A responder has an Atlassian account id and no e-mail: map the ids to
 * directory ids with --user-map (unmapped users are skipped and logged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "og_timeline.h"

typedef struct jsm_opts {
    const char *base_url, *cloud_id, *schedule_ids, *email, *api_token_file;
    char token[512];
} jsm_opts_t;

#define O(f) offsetof(jsm_opts_t, f)
static const sk_cfg_row_t JSM_ROWS[] = {
    {"cloud-id", "ID", O(cloud_id), NULL, "the Atlassian site's cloud id "
     "(https://<site>.atlassian.net/_edge/tenant_info); required"},
    {"schedule-ids", "ID,ID", O(schedule_ids), NULL, "JSM Operations schedule ids to follow; required"},
    {"email", "ADDRESS", O(email), NULL, "e-mail of the Atlassian account the API token belongs to; required"},
    {"api-token-file", "FILE", O(api_token_file), NULL,
     "file holding the Atlassian API token [else $SHIFTKEY_JSM_API_TOKEN]"},
    {"base-url", "URL", O(base_url), "https://api.atlassian.com", "API gateway URL"},
};
#undef O

static jsm_opts_t JSM;

static int jsm_check(void *base, const char *prog)
{
    jsm_opts_t *o = base;
    const char *missing = !o->cloud_id || !*o->cloud_id           ? "--cloud-id"
                          : !o->schedule_ids || !*o->schedule_ids ? "--schedule-ids"
                          : !o->email || !*o->email               ? "--email"
                                                                  : NULL;
    if (missing) {
        fprintf(stderr, "%s: %s is required (see --help)\n", prog, missing);
        return -1;
    }
    if (strchr(o->email, ':')) {
        fprintf(stderr, "%s: --email '%s': not an e-mail address\n", prog, o->email);
        return -1;
    }
    return sk_conn_secret(prog, o->api_token_file, "SHIFTKEY_JSM_API_TOKEN", o->token,
                          sizeof(o->token));
}

/* RFC 4648 base64 of in (n bytes) into out (NUL-terminated). 0 or -1 if it does not fit. */
static int base64(const unsigned char *in, size_t n, char *out, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    if ((n + 2) / 3 * 4 + 1 > len)
        return -1;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[k++] = tab[v >> 18 & 63];
        out[k++] = tab[v >> 12 & 63];
        out[k++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[k] = '\0';
    return 0;
}

static int jsm_fetch(void *base, sk_conn_poll_t *p)
{
    jsm_opts_t *o = base;
    char cred[1100], b64[1500], auth[1600], api[1024], tmp[4096];
    int rc = 0;
    snprintf(cred, sizeof(cred), "%s:%s", o->email, o->token);
    if (base64((const unsigned char *)cred, strlen(cred), b64, sizeof(b64))) {
        snprintf(p->err, sizeof(p->err), "e-mail and API token too long");
        rc = SK_EINVAL;
        goto out;
    }
    snprintf(auth, sizeof(auth), "Authorization: Basic %s", b64);
    snprintf(api, sizeof(api), "%s/jsm/ops/api/", o->base_url);
    if (sk_http_url_append(api, sizeof(api), o->cloud_id, 1) ||
        sk_http_url_append(api, sizeof(api), "/v1", 0)) {
        snprintf(p->err, sizeof(p->err), "request URL too long");
        rc = SK_EINVAL;
        goto out;
    }
    const char *headers[] = {auth, "Accept: application/json", NULL};
    snprintf(tmp, sizeof(tmp), "%s", o->schedule_ids);
    for (char *save = NULL, *s = strtok_r(tmp, ", ", &save); s && !rc; s = strtok_r(NULL, ", ", &save))
        rc = sk_og_schedule(&SK_OG_JSM, p, api, s, headers);
out:
    memset(cred, 0, sizeof(cred)); /* the token in clear */
    memset(b64, 0, sizeof(b64));
    memset(auth, 0, sizeof(auth));
    return rc;
}

static const sk_conn_source_t JSM_SOURCE = {
    .name = "jsm",
    .about =
        "usage: shiftkey-jsm --rotation ID --cloud-id ID --schedule-ids ID,... --email ADDRESS [options]\n\n"
        "Reads Jira Service Management Operations schedules' final timelines (GET /v1/schedules/{id}/\n"
        "timeline of the JSM Operations REST API, Opsgenie's successor) over the look-ahead window and\n"
        "sends the differences since the last poll to shiftkey's schedule topic as shift events.\n"
        "Basic auth: --email and an API token from $SHIFTKEY_JSM_API_TOKEN or --api-token-file, never\n"
        "the command line. Responders are Atlassian account ids: map them with --user-map.\n",
    .tail = "\nexit status: 0 ok, 1 failed (platform, Kafka or state file), 2 usage error\n"
            "example: SHIFTKEY_JSM_API_TOKEN=... shiftkey-jsm --rotation payments-primary \\\n"
            "             --cloud-id 0a1b2c3d-... --schedule-ids f8f2a4ec-... --email ops-bot@example.com \\\n"
            "             --user-map /etc/shiftkey/users.map --kafka broker:9092 --state /var/lib/shiftkey/jsm.state\n",
    .opts = {"Jira Service Management Operations (environment: SHIFTKEY_JSM_<NAME>)", "SHIFTKEY_JSM_",
             JSM_ROWS, SK_ARRAY_LEN(JSM_ROWS), &JSM},
    .check = jsm_check,
    .fetch = jsm_fetch,
};

int main(int argc, char **argv)
{
    return sk_conn_main(&JSM_SOURCE, argc, argv);
}
