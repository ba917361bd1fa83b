/*
 * shiftkey-opsgenie — Opsgenie schedules (GET /v2/schedules/{id}/timeline,
 * the final timeline: rotations, overrides and forwarding applied) into
 * shiftkey schedule events. See connectors/README.md.
 *
 * One period of a user → one shift: id "og:<schedule>:<rotation>:<user id>:
 * <start>", user via the user map (default: the recipient's username, which
 * is the e-mail address in Opsgenie). Periods of teams or escalations
 * (not a person) are skipped. The timeline is asked from 7 days back (at a
 * whole UTC day) so that a running shift keeps its real start, not the
 * timeline's start, and with it its id.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#define BACK_MS (7LL * 86400000)

typedef struct og_opts {
    const char *base_url, *schedule_ids, *api_key_file;
    char key[512];
} og_opts_t;

#define O(f) offsetof(og_opts_t, f)
static const sk_cfg_row_t OG_ROWS[] = {
    {"schedule-ids", "ID,ID", O(schedule_ids), NULL, "Opsgenie schedule ids to follow; required"},
    {"api-key-file", "FILE", O(api_key_file), NULL,
     "file holding the API key (GenieKey) [else $SHIFTKEY_OPSGENIE_API_KEY]"},
    {"base-url", "URL", O(base_url), "https://api.opsgenie.com", "API base URL (EU: https://api.eu.opsgenie.com)"},
};
#undef O

static og_opts_t OG;

static int og_check(void *base, const char *prog)
{
    og_opts_t *o = base;
    if (!o->schedule_ids || !*o->schedule_ids) {
        fprintf(stderr, "%s: --schedule-ids is required (Opsgenie schedule ids, comma-separated)\n", prog);
        return -1;
    }
    return sk_conn_secret(prog, o->api_key_file, "SHIFTKEY_OPSGENIE_API_KEY", o->key, sizeof(o->key));
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One timeline period. 0 added, 1 skipped, -1 malformed (why filled). */
static int og_period(sk_conn_poll_t *p, const char *sched, const char *rot, json_t *per, char *why,
                     size_t whylen)
{
    json_t *rcp = json_object_get(per, "recipient");
    const char *type = jstr(rcp, "type"), *rid = jstr(rcp, "id"), *name = jstr(rcp, "name");
    const char *s = jstr(per, "startDate"), *e = jstr(per, "endDate");
    sk_ms_t start, end;
    char ubuf[SK_ID_MAX + 1], sbuf[32], id[SK_ID_MAX + 1];
    if (!s || !e || sk_conn_parse_iso(s, &start) || sk_conn_parse_iso(e, &end)) {
        snprintf(why, whylen, "a period without ISO 8601 startDate/endDate");
        return -1;
    }
    if (!type || strcmp(type, "user") != 0)
        return 1; /* a team, an escalation or nobody: not a person to grant */
    if (!rid) {
        snprintf(why, whylen, "a user period without recipient.id");
        return -1;
    }
    const char *who = sk_conn_usermap_resolve(p->users, rid, name, ubuf, sizeof(ubuf));
    snprintf(id, sizeof(id), "og:%s:%s:%s:%s", sched, rot, rid,
             sk_conn_format_iso(start, sbuf, sizeof(sbuf)));
    int rc = who ? sk_conn_shifts_add(p->out, id, who, start, end, 1, false) : SK_EINVAL;
    if (rc == SK_ENOMEM) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (rc) {
        fprintf(stderr, "%s: period %s skipped: no usable user or times\n", p->prog, id);
        p->skipped++;
        return 1;
    }
    return 0;
}

static int og_schedule(og_opts_t *o, sk_conn_poll_t *p, const char *sched)
{
    char auth[600], url[4096], date[32];
    snprintf(auth, sizeof(auth), "Authorization: GenieKey %s", o->key);
    const char *headers[] = {auth, "Accept: application/json", NULL};
    sk_ms_t from = (p->now_ms - BACK_MS) / 86400000 * 86400000;
    long days = (long)((p->horizon_ms - from + 86399999) / 86400000);
    snprintf(url, sizeof(url), "%s/v2/schedules/", o->base_url);
    sk_conn_format_iso(from, date, sizeof(date));
    char tail[128];
    snprintf(tail, sizeof(tail), "/timeline?identifierType=id&intervalUnit=days&interval=%ld&date=", days);
    if (sk_http_url_append(url, sizeof(url), sched, 1) || sk_http_url_append(url, sizeof(url), tail, 0) ||
        sk_http_url_append(url, sizeof(url), date, 1)) {
        snprintf(p->err, sizeof(p->err), "request URL too long");
        return SK_EINVAL;
    }
    sk_http_resp_t resp;
    int rc = sk_http_get(p->http, url, headers, &resp, p->err, sizeof(p->err));
    p->requests++;
    if (rc)
        return rc;
    p->retries += resp.retries;
    json_error_t jerr;
    json_t *root = json_loadb(resp.body, resp.len, 0, &jerr);
    sk_http_resp_fini(&resp);
    json_t *rots = json_object_get(json_object_get(json_object_get(root, "data"), "finalTimeline"),
                                   "rotations");
    if (!root || !json_is_array(rots)) {
        snprintf(p->err, sizeof(p->err), "schedule %s: not an Opsgenie timeline: %s", sched,
                 root ? "no data.finalTimeline.rotations array" : jerr.text);
        json_decref(root);
        return SK_EPARSE;
    }
    size_t i, j;
    json_t *rot, *per;
    rc = 0;
    json_array_foreach(rots, i, rot) {
        const char *rid = jstr(rot, "id");
        json_t *pers = json_object_get(rot, "periods");
        if (!pers)
            continue; /* a rotation with nobody in the interval */
        if (!rid || !json_is_array(pers)) {
            snprintf(p->err, sizeof(p->err), "schedule %s, rotation %zu: no id or periods", sched, i);
            rc = SK_EPARSE;
            break;
        }
        json_array_foreach(pers, j, per) {
            char why[256];
            if (og_period(p, sched, rid, per, why, sizeof(why)) < 0) {
                snprintf(p->err, sizeof(p->err), "schedule %s, rotation %s, period %zu: %s", sched,
                         rid, j, why);
                rc = SK_EPARSE;
                break;
            }
        }
        if (rc)
            break;
    }
    json_decref(root);
    return rc;
}

static int og_fetch(void *base, sk_conn_poll_t *p)
{
    og_opts_t *o = base;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", o->schedule_ids);
    for (char *save = NULL, *s = strtok_r(tmp, ", ", &save); s; s = strtok_r(NULL, ", ", &save)) {
        int rc = og_schedule(o, p, s);
        if (rc)
            return rc;
    }
    return 0;
}

static const sk_conn_source_t OPSGENIE = {
    .name = "opsgenie",
    .about =
        "usage: shiftkey-opsgenie --rotation ID --schedule-ids ID,... [options]\n\n"
        "Reads Opsgenie schedules' final timelines (GET /v2/schedules/{id}/timeline) over the\n"
        "look-ahead window and sends the differences since the last poll to shiftkey's schedule\n"
        "topic as shift events, keyed by user.\n"
        "The API key comes from $SHIFTKEY_OPSGENIE_API_KEY or --api-key-file, never the command line.\n",
    .tail = "\nexit status: 0 ok, 1 failed (platform, Kafka or state file), 2 usage error\n"
            "example: SHIFTKEY_OPSGENIE_API_KEY=... shiftkey-opsgenie --rotation payments-primary \\\n"
            "             --schedule-ids 4513b7ea-... --kafka broker:9092 --state /var/lib/shiftkey/og.state\n",
    .opts = {"Opsgenie (environment: SHIFTKEY_OPSGENIE_<NAME>)", "SHIFTKEY_OPSGENIE_", OG_ROWS,
             SK_ARRAY_LEN(OG_ROWS), &OG},
    .check = og_check,
    .fetch = og_fetch,
};

int main(int argc, char **argv)
{
    return sk_conn_main(&OPSGENIE, argc, argv);
}
