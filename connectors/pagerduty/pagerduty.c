/*
 * shiftkey-pagerduty — PagerDuty on-calls (REST API v2, GET /oncalls) into
 * shiftkey schedule events. See connectors/README.md.
 *
 * One on-call entry → one shift: id "pd:<schedule>:<user>:<start>" (for a
 * user put directly on an escalation policy, "pd:ep.<policy>.<level>:<user>:
 * <start>"), user via the user map (default: the e-mail from include[]=users),
 * escalation_level carried; a null start/end is a permanent on-call
 * (open-ended; its start is when the connector first saw it).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

typedef struct pd_opts {
    const char *base_url, *schedule_ids, *escalation_policy_ids, *token_file, *page_limit;
    long limit;
    char token[512];
} pd_opts_t;

#define O(f) offsetof(pd_opts_t, f)
static const sk_cfg_row_t PD_ROWS[] = {
    {"schedule-ids", "ID,ID", O(schedule_ids), NULL, "PagerDuty schedule ids to follow"},
    {"escalation-policy-ids", "ID,ID", O(escalation_policy_ids), NULL,
     "PagerDuty escalation policy ids to follow (every level; with --schedule-ids: both filters apply)"},
    {"token-file", "FILE", O(token_file), NULL,
     "file holding the REST API token [else $SHIFTKEY_PAGERDUTY_TOKEN]"},
    {"base-url", "URL", O(base_url), "https://api.pagerduty.com", "API base URL (EU: https://api.eu.pagerduty.com)"},
    {"page-limit", "N", O(page_limit), "100", "on-calls per page (offset/limit/more pagination)"},
};
#undef O

static pd_opts_t PD;

static int pd_check(void *base, const char *prog)
{
    pd_opts_t *o = base;
    if (!o->schedule_ids && !o->escalation_policy_ids) {
        fprintf(stderr, "%s: give --schedule-ids and/or --escalation-policy-ids (without a "
                "filter every on-call of the account would be granted)\n", prog);
        return -1;
    }
    if (sk_cfg_int(prog, "page-limit", o->page_limit, 1, 100, &o->limit))
        return -1;
    if (sk_conn_secret(prog, o->token_file, "SHIFTKEY_PAGERDUTY_TOKEN", o->token, sizeof(o->token)))
        return -1;
    return 0;
}

/* Appends "&name[]=v" for each comma-separated value of list. */
static int add_list(char *url, size_t len, const char *name, const char *list)
{
    if (!list)
        return 0;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", list);
    for (char *save = NULL, *v = strtok_r(tmp, ", ", &save); v; v = strtok_r(NULL, ", ", &save))
        if (sk_http_url_append(url, len, "&", 0) || sk_http_url_append(url, len, name, 0) ||
            sk_http_url_append(url, len, "%5B%5D=", 0) || sk_http_url_append(url, len, v, 1))
            return -1;
    return 0;
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One on-call entry → a shift. 0 added, 1 skipped (logged), -1 malformed. */
static int pd_oncall(sk_conn_poll_t *p, json_t *oc, char *why, size_t whylen)
{
    json_t *user = json_object_get(oc, "user"), *sched = json_object_get(oc, "schedule");
    json_t *ep = json_object_get(oc, "escalation_policy"), *lvl = json_object_get(oc, "escalation_level");
    json_t *js = json_object_get(oc, "start"), *je = json_object_get(oc, "end");
    const char *uid = jstr(user, "id"), *email = jstr(user, "email");
    const char *sid = json_is_object(sched) ? jstr(sched, "id") : NULL;
    const char *epid = jstr(ep, "id");
    sk_ms_t start = SK_CONN_START_UNKNOWN, end = SK_MS_NONE;
    char ubuf[SK_ID_MAX + 1], sbuf[32], id[SK_ID_MAX + 1], src[160];
    int level = json_is_integer(lvl) ? (int)json_integer_value(lvl) : 1;
    if (!json_is_object(oc) || !uid || (!sid && !epid)) {
        snprintf(why, whylen, "an on-call without user.id or schedule/escalation_policy id");
        return -1;
    }
    if ((!json_is_null(js) && js && (!json_is_string(js) || sk_conn_parse_iso(json_string_value(js), &start))) ||
        (!json_is_null(je) && je && (!json_is_string(je) || sk_conn_parse_iso(json_string_value(je), &end)))) {
        snprintf(why, whylen, "on-call of user %s: start/end is not an ISO 8601 time", uid);
        return -1;
    }
    const char *who = sk_conn_usermap_resolve(p->users, uid, email, ubuf, sizeof(ubuf));
    if (!who) {
        fprintf(stderr, "%s: on-call of PagerDuty user %s skipped: no e-mail (include[]=users) "
                "and not in the user map\n", p->prog, uid);
        p->skipped++;
        return 1;
    }
    if (sid)
        snprintf(src, sizeof(src), "%s", sid);
    else
        snprintf(src, sizeof(src), "ep.%s.%d", epid, level);
    char series[SK_ID_MAX + 1];
    int n1 = snprintf(series, sizeof(series), "pd:%s:%s", src, uid);
    int n2 = snprintf(id, sizeof(id), "%s:%s", series,
                      start == SK_CONN_START_UNKNOWN ? "permanent"
                                                     : sk_conn_format_iso(start, sbuf, sizeof(sbuf)));
    if (n1 < 0 || (size_t)n1 >= sizeof(series) || n2 < 0 || (size_t)n2 >= sizeof(id))
        id[0] = '\0'; /* too long to be an id: refused below, skipped and logged */
    /* PagerDuty returns a shift's own start and end, not clipped to since /
     * until (its API reference: on-calls "overlapping" the range; seen so in
     * every check against its documented bodies). Should an account ever
     * return them clipped, the start would equal `since` to the second:
     * then it is marked clipped and keeps the id known from earlier polls. */
    sk_conn_shift_t sh = {.id = id, .user = (char *)who, .start_ms = start, .end_ms = end,
                          .level = level, .series = series};
    sh.start_clipped = start != SK_CONN_START_UNKNOWN && start == p->now_ms / 1000 * 1000;
    sh.end_clipped = end != SK_MS_NONE && end == p->horizon_ms / 1000 * 1000;
    int rc = sk_conn_shifts_add_ex(p->out, &sh);
    if (rc == SK_ENOMEM) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (rc) {
        fprintf(stderr, "%s: on-call %s of %s skipped: not a valid shift (ids printable without "
                "spaces, end after start)\n", p->prog, id, who);
        p->skipped++;
        return 1;
    }
    return 0;
}

static int pd_fetch(void *base, sk_conn_poll_t *p)
{
    pd_opts_t *o = base;
    char auth[600], since[32], until[32];
    snprintf(auth, sizeof(auth), "Authorization: Token token=%s", o->token);
    const char *headers[] = {auth, "Accept: application/vnd.pagerduty+json;version=2", NULL};
    sk_conn_format_iso(p->now_ms, since, sizeof(since));
    sk_conn_format_iso(p->horizon_ms, until, sizeof(until));
    for (long offset = 0, pages = 0;; pages++) {
        char url[8192];
        sk_http_resp_t resp;
        snprintf(url, sizeof(url), "%s/oncalls?include%%5B%%5D=users&limit=%ld&offset=%ld&since=",
                 o->base_url, o->limit, offset);
        if (sk_http_url_append(url, sizeof(url), since, 1) ||
            sk_http_url_append(url, sizeof(url), "&until=", 0) ||
            sk_http_url_append(url, sizeof(url), until, 1) ||
            add_list(url, sizeof(url), "schedule_ids", o->schedule_ids) ||
            add_list(url, sizeof(url), "escalation_policy_ids", o->escalation_policy_ids) ||
            /* with both filters, a user put directly on the policy (no schedule) is returned
             * only if null is among the schedule ids (PagerDuty API reference, GET /oncalls:
             * "schedule_ids[]... null includes permanent on-calls due to direct user
             * escalation targets"). Not with --schedule-ids alone: it would bring every
             * direct-user on-call of the account. */
            (o->schedule_ids && o->escalation_policy_ids &&
             add_list(url, sizeof(url), "schedule_ids", "null"))) {
            snprintf(p->err, sizeof(p->err), "request URL too long");
            return SK_EINVAL;
        }
        int rc = sk_conn_poll_get(p, url, headers, &resp);
        if (rc)
            return rc;
        json_error_t jerr;
        json_t *root = json_loadb(resp.body, resp.len, 0, &jerr);
        sk_http_resp_fini(&resp);
        json_t *list = json_object_get(root, "oncalls"), *more = json_object_get(root, "more");
        if (!root || !json_is_array(list)) {
            snprintf(p->err, sizeof(p->err), "GET %s/oncalls (offset %ld): not a PagerDuty on-call "
                     "list: %s", o->base_url, offset, root ? "no 'oncalls' array" : jerr.text);
            json_decref(root);
            return SK_EPARSE;
        }
        size_t i;
        json_t *oc;
        json_array_foreach(list, i, oc) {
            char why[256];
            if (pd_oncall(p, oc, why, sizeof(why)) < 0) {
                snprintf(p->err, sizeof(p->err), "GET %s/oncalls (offset %ld), entry %zu: %s",
                         o->base_url, offset, i, why);
                json_decref(root);
                return SK_EPARSE;
            }
        }
        int again = json_is_true(more) && json_array_size(list) > 0;
        offset += (long)json_array_size(list);
        json_decref(root);
        if (!again)
            return 0;
        if (pages >= 1000) {
            snprintf(p->err, sizeof(p->err), "more than 1000 pages of on-calls: narrow the filters");
            return SK_EINVAL;
        }
    }
}

static const sk_conn_source_t PAGERDUTY = {
    .name = "pagerduty",
    .about =
        "usage: shiftkey-pagerduty --rotation ID --schedule-ids ID,... [options]\n\n"
        "Reads who is on call in PagerDuty (GET /oncalls, look-ahead window, all pages) and sends\n"
        "the differences since the last poll to shiftkey's schedule topic as shift events\n"
        "(SCHEDULED, STARTED, UPDATED, ENDED, CANCELLED), keyed by user.\n"
        "The API token comes from $SHIFTKEY_PAGERDUTY_TOKEN or --token-file, never the command line.\n",
    .tail = "\nexit status: 0 ok, 1 failed (platform, Kafka or state file), 2 usage error\n"
            "example: SHIFTKEY_PAGERDUTY_TOKEN=... shiftkey-pagerduty --rotation payments-primary \\\n"
            "             --schedule-ids P1A2B3C --kafka broker:9092 --state /var/lib/shiftkey/pd.state\n",
    .opts = {"PagerDuty (environment: SHIFTKEY_PAGERDUTY_<NAME>)", "SHIFTKEY_PAGERDUTY_", PD_ROWS,
             SK_ARRAY_LEN(PD_ROWS), &PD},
    .check = pd_check,
    .fetch = pd_fetch,
};

int main(int argc, char **argv)
{
    return sk_conn_main(&PAGERDUTY, argc, argv);
}
