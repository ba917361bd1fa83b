/* og_timeline.c — Opsgenie / JSM Operations schedule timelines (see og_timeline.h). */
#include "og_timeline.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACK_MS (7LL * 86400000)
/* asked beyond the horizon too: an "at least until" end (a period cut at the
 * window's end) then moves once a week, not at every poll (diff.h) */
#define AHEAD_MS (7LL * 86400000)
#define DAY_MS 86400000LL

const sk_og_flavor_t SK_OG_OPSGENIE = {"og", "recipient", 1, 1};
const sk_og_flavor_t SK_OG_JSM = {"jsm", "responder", 0, 0};

/* Person types that are not a person to grant: counted and skipped. */
static const char *const NOT_A_PERSON[] = {"team", "escalation", "none", "noone"};

void sk_og_window(sk_ms_t now_ms, sk_ms_t horizon_ms, sk_ms_t *from_ms, long *days)
{
    *from_ms = (now_ms - BACK_MS) / DAY_MS * DAY_MS;
    *days = (long)((horizon_ms + AHEAD_MS - *from_ms + DAY_MS - 1) / DAY_MS);
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

typedef struct parse_ctx {
    const sk_og_flavor_t *fl;
    sk_conn_poll_t *p;
    const char *sched;
    sk_ms_t from, to;
    int not_person;
} parse_ctx_t;

/* One period. 0 added or skipped, -1 malformed (why filled). */
static int period(parse_ctx_t *c, const char *rot, json_t *per, char *why, size_t whylen)
{
    sk_conn_poll_t *p = c->p;
    json_t *who = json_object_get(per, c->fl->who);
    const char *type = jstr(who, "type"), *uid = jstr(who, "id"), *name = jstr(who, "name");
    const char *s = jstr(per, "startDate"), *e = jstr(per, "endDate");
    char ubuf[SK_ID_MAX + 1], sbuf[32], id[SK_ID_MAX + 1], series[SK_ID_MAX + 1];
    sk_conn_shift_t sh = {0};
    if (!s || !e || sk_conn_parse_iso(s, &sh.start_ms) || sk_conn_parse_iso(e, &sh.end_ms)) {
        snprintf(why, whylen, "a period without ISO 8601 startDate/endDate");
        return -1;
    }
    if (!json_is_object(who) || !type) {
        snprintf(why, whylen, "a period without %s.type (not the timeline shape this connector "
                 "reads: is it an Opsgenie or a JSM Operations API?)", c->fl->who);
        return -1;
    }
    for (size_t i = 0; i < SK_ARRAY_LEN(NOT_A_PERSON); i++)
        if (strcmp(type, NOT_A_PERSON[i]) == 0) {
            c->not_person++;
            p->skipped++;
            return 0;
        }
    if (strcmp(type, "user") != 0) {
        snprintf(why, whylen, "unknown %s type '%.40s' (known: user, team, escalation, none, "
                 "noone)", c->fl->who, type);
        return -1;
    }
    if (!uid) {
        snprintf(why, whylen, "a user period without %s.id", c->fl->who);
        return -1;
    }
    const char *user = sk_conn_usermap_resolve(p->users, uid, name, ubuf, sizeof(ubuf));
    int n1 = snprintf(series, sizeof(series), "%s:%s:%s:%s", c->fl->prefix, c->sched, rot, uid);
    int n2 = snprintf(id, sizeof(id), "%s:%s", series,
                      sk_conn_format_iso(sh.start_ms, sbuf, sizeof(sbuf)));
    if (n1 < 0 || (size_t)n1 >= sizeof(series) || n2 < 0 || (size_t)n2 >= sizeof(id))
        user = NULL, id[0] = '\0'; /* too long to be an id: skipped below */
    sh.id = id;
    sh.user = (char *)user;
    sh.level = 1;
    sh.series = series;
    sh.start_clipped = sh.start_ms <= c->from;
    sh.end_clipped = sh.end_ms >= c->to;
    int rc = user ? sk_conn_shifts_add_ex(p->out, &sh) : SK_EINVAL;
    if (rc == SK_ENOMEM) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (rc) {
        fprintf(stderr, "%s: period %s skipped: %s\n", p->prog, id,
                user ? "not a valid shift (ids printable without spaces, end after start)"
                     : "no e-mail in the answer and the user id is not in the user map");
        p->skipped++;
    }
    return 0;
}

int sk_og_timeline_parse(const sk_og_flavor_t *fl, sk_conn_poll_t *p, const char *sched,
                         const char *body, size_t len, sk_ms_t from_ms, sk_ms_t to_ms)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    json_t *tl = fl->wrapped ? json_object_get(root, "data") : root;
    json_t *rots = json_object_get(json_object_get(tl, "finalTimeline"), "rotations");
    parse_ctx_t c = {fl, p, sched, from_ms, to_ms, 0};
    int rc = SK_EPARSE;
    if (!root || !json_is_array(rots)) {
        snprintf(p->err, sizeof(p->err), "schedule %s: not a%s timeline: %s", sched,
                 fl->wrapped ? "n Opsgenie" : " JSM Operations",
                 !root ? jerr.text
                 : fl->wrapped ? "no data.finalTimeline.rotations array"
                               : "no finalTimeline.rotations array");
        goto out;
    }
    sk_ms_t t;
    const char *ws = jstr(tl, "startDate"), *we = jstr(tl, "endDate");
    if (ws && sk_conn_parse_iso(ws, &t) == 0)
        c.from = t;
    if (we && sk_conn_parse_iso(we, &t) == 0)
        c.to = t;
    size_t i, j;
    json_t *rot, *per;
    json_array_foreach(rots, i, rot) {
        const char *rid = jstr(rot, "id");
        json_t *pers = json_object_get(rot, "periods");
        if (!pers)
            continue; /* a rotation with nobody in the interval */
        if (!rid || !json_is_array(pers)) {
            snprintf(p->err, sizeof(p->err), "schedule %s, rotation %zu: no id or periods", sched, i);
            goto out;
        }
        json_array_foreach(pers, j, per) {
            char why[256];
            if (period(&c, rid, per, why, sizeof(why)) < 0) {
                snprintf(p->err, sizeof(p->err), "schedule %s, rotation %s, period %zu: %s", sched,
                         rid, j, why);
                goto out;
            }
        }
    }
    if (c.not_person)
        fprintf(stderr, "%s: schedule %s: %d periods of teams, escalations or nobody skipped (not "
                "a person to grant)\n", p->prog, sched, c.not_person);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int sk_og_schedule(const sk_og_flavor_t *fl, sk_conn_poll_t *p, const char *api, const char *sched,
                   const char *const *headers)
{
    char url[4096], date[32], tail[160];
    sk_ms_t from;
    long days;
    sk_og_window(p->now_ms, p->horizon_ms, &from, &days);
    snprintf(url, sizeof(url), "%s/schedules/", api);
    sk_conn_format_iso(from, date, sizeof(date));
    snprintf(tail, sizeof(tail), "/timeline?%sintervalUnit=days&interval=%ld&date=",
             fl->identifier_type ? "identifierType=id&" : "", days);
    if (sk_http_url_append(url, sizeof(url), sched, 1) ||
        sk_http_url_append(url, sizeof(url), tail, 0) ||
        sk_http_url_append(url, sizeof(url), date, 1)) {
        snprintf(p->err, sizeof(p->err), "request URL too long");
        return SK_EINVAL;
    }
    sk_http_resp_t resp;
    int rc = sk_conn_poll_get(p, url, headers, &resp);
    if (rc)
        return rc;
    rc = sk_og_timeline_parse(fl, p, sched, resp.body, resp.len, from, from + days * DAY_MS);
    sk_http_resp_fini(&resp);
    return rc;
}
