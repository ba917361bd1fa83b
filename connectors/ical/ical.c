/*
 * shiftkey-ical — an iCalendar feed (URL or file; PagerDuty, Opsgenie and
 * Grafana OnCall export them) into shiftkey schedule events, with libical.
 * See connectors/README.md.
 *
 * One VEVENT (or one occurrence of a recurring one) and one person → one
 * shift:
 *   - id: "ical:<UID>" plus ":<RECURRENCE-ID in UTC>" for an occurrence of a
 *     recurring event (RRULE expanded, EXDATEs skipped, instances overridden
 *     by a VEVENT with RECURRENCE-ID taken from that VEVENT); a UID that is
 *     not an identifier (spaces, over 200 bytes) is replaced by its hash;
 *   - person: each ATTENDEE with a mailto: address, else the SUMMARY (its
 *     e-mail address if it holds one, else the text, looked up in the user map);
 *   - times: DTSTART/DTEND with TZID are converted with the feed's VTIMEZONE
 *     or, failing that, libical's built-in zone info (Olson names: the
 *     system's tzdata); UTC times as they are; floating times and all-day
 *     events (VALUE=DATE) in --default-zone: an all-day event runs from 00:00
 *     of its first day to 00:00 after its last day (DTEND exclusive, one day
 *     when absent);
 *   - STATUS:CANCELLED → CANCELLED; escalation level 1.
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "runner.h"

#define MAX_OCCURRENCES 5000 /* per recurring event and poll */

typedef struct ical_opts {
    const char *url, *url_file, *default_zone;
    char url_buf[4096];
    const char *src; /* the feed: url_buf or url */
} ical_opts_t;

#define O(f) offsetof(ical_opts_t, f)
static const sk_cfg_row_t ICAL_ROWS[] = {
    {"url", "URL|FILE", O(url), NULL,
     "the feed: https://..., file://... or a file path (a URL with a secret: use the environment or --url-file)"},
    {"url-file", "FILE", O(url_file), NULL, "file whose first line is the feed URL"},
    {"default-zone", "ZONE", O(default_zone), "UTC",
     "Olson zone of all-day (DATE) events and floating times, e.g. Europe/Berlin"},
};
#undef O

static ical_opts_t IC;

static int ical_check(void *base, const char *prog)
{
    ical_opts_t *o = base;
    if (o->url_file) {
        if (sk_conn_secret(prog, o->url_file, "SHIFTKEY_ICAL_URL", o->url_buf, sizeof(o->url_buf)))
            return -1;
        o->src = o->url_buf;
    } else {
        o->src = o->url;
    }
    if (!o->src || !*o->src) {
        fprintf(stderr, "%s: --url (or $SHIFTKEY_ICAL_URL, or --url-file) is required: the feed's "
                "URL or a file\n", prog);
        return -1;
    }
    if (strcasecmp(o->default_zone, "UTC") != 0 &&
        !icaltimezone_get_builtin_timezone(o->default_zone)) {
        fprintf(stderr, "%s: --default-zone '%s': not a known time zone (e.g. UTC, Europe/Berlin)\n",
                prog, o->default_zone);
        return -1;
    }
    return 0;
}

/* The feed's text: libcurl for URLs, stdio for paths. NULL with p->err. */
static char *ical_read(const ical_opts_t *o, sk_conn_poll_t *p)
{
    if (strstr(o->src, "://")) {
        sk_http_resp_t r;
        if (sk_conn_poll_get(p, o->src, NULL, &r))
            return NULL;
        return r.body;
    }
    FILE *f = fopen(o->src, "rb");
    char *buf = NULL;
    size_t len = 0;
    if (f) {
        FILE *m = open_memstream(&buf, &len);
        char chunk[65536];
        size_t n;
        while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            fwrite(chunk, 1, n, m);
        if (m)
            fclose(m);
        fclose(f);
    }
    if (!buf)
        snprintf(p->err, sizeof(p->err), "cannot read %s: %m", o->src);
    return buf;
}

typedef struct ical_ctx {
    const ical_opts_t *o;
    sk_conn_poll_t *p;
    icalcomponent *cal;
    icaltimezone *default_zone;
} ical_ctx_t;

/* The zone of a DTSTART/DTEND property, or NULL when its TZID is unknown. */
static icaltimezone *prop_zone(ical_ctx_t *c, icalproperty *prop, struct icaltimetype t)
{
    if (icaltime_is_utc(t))
        return icaltimezone_get_utc_timezone();
    icalparameter *tzp = icalproperty_get_first_parameter(prop, ICAL_TZID_PARAMETER);
    if (!tzp || t.is_date)
        return c->default_zone;
    const char *tzid = icalparameter_get_tzid(tzp);
    icaltimezone *z = icalcomponent_get_timezone(c->cal, tzid);
    if (!z)
        z = icaltimezone_get_builtin_timezone(tzid);
    if (!z)
        z = icaltimezone_get_builtin_timezone_from_tzid(tzid);
    return z;
}

static sk_ms_t to_ms(struct icaltimetype t, icaltimezone *z)
{
    if (t.is_date) { /* midnight of that day in the zone */
        t.is_date = 0;
        t.hour = t.minute = t.second = 0;
    }
    return (sk_ms_t)icaltime_as_timet_with_zone(t, z) * 1000;
}

/* The shift id of a VEVENT (occurrence at rid_ms, or SK_MS_NONE). */
static void shift_id(const char *uid, sk_ms_t rid_ms, char *out, size_t len)
{
    char h[40], t[32];
    size_t ul = strlen(uid);
    if (!sk_id_valid(uid, ul) || ul > 200) {
        snprintf(h, sizeof(h), "h%016llx", (unsigned long long)XXH3_64bits(uid, ul));
        uid = h;
    }
    if (rid_ms == SK_MS_NONE)
        snprintf(out, len, "ical:%s", uid);
    else
        snprintf(out, len, "ical:%s:%s", uid, sk_conn_format_iso(rid_ms, t, sizeof(t)));
}

/* Adds one shift per person of ev. */
static int add_people(ical_ctx_t *c, icalcomponent *ev, const char *id, sk_ms_t start, sk_ms_t end)
{
    sk_conn_poll_t *p = c->p;
    int cancelled = icalcomponent_get_status(ev) == ICAL_STATUS_CANCELLED, n = 0;
    char ubuf[SK_ID_MAX + 1];
    for (icalproperty *a = icalcomponent_get_first_property(ev, ICAL_ATTENDEE_PROPERTY); a;
         a = icalcomponent_get_next_property(ev, ICAL_ATTENDEE_PROPERTY)) {
        const char *v = icalproperty_get_attendee(a);
        if (!v || strncasecmp(v, "mailto:", 7) != 0)
            continue;
        const char *who = sk_conn_usermap_resolve(p->users, v + 7, v + 7, ubuf, sizeof(ubuf));
        if (who && sk_conn_shifts_add(p->out, id, who, start, end, 1, cancelled) == SK_ENOMEM)
            return SK_ENOMEM;
        n++;
    }
    if (n)
        return 0;
    const char *sum = icalcomponent_get_summary(ev);
    char email[SK_ID_MAX + 1] = "", text[SK_ID_MAX + 1] = "";
    if (sum) {
        snprintf(text, sizeof(text), "%s", sum);
        for (char *save = NULL, *tok = strtok_r(text, " \t<>()[],;\"'", &save); tok;
             tok = strtok_r(NULL, " \t<>()[],;\"'", &save))
            if (strchr(tok, '@') && !email[0])
                snprintf(email, sizeof(email), "%s", strncasecmp(tok, "mailto:", 7) ? tok : tok + 7);
        snprintf(text, sizeof(text), "%s", sum);
    }
    const char *who = sum ? sk_conn_usermap_resolve(p->users, text, email, ubuf, sizeof(ubuf)) : NULL;
    int rc = who ? sk_conn_shifts_add(p->out, id, who, start, end, 1, cancelled) : SK_EINVAL;
    if (rc == SK_ENOMEM)
        return rc;
    if (rc) {
        fprintf(stderr, "%s: event %s skipped: no ATTENDEE mailto:, and its SUMMARY '%s' is neither "
                "an e-mail address nor in the user map\n", p->prog, id, sum ? sum : "");
        p->skipped++;
    }
    return 0;
}

/* Start, end and zone of a VEVENT. 0, or -1 (skipped, logged). */
static int event_times(ical_ctx_t *c, icalcomponent *ev, const char *uid, struct icaltimetype *ts,
                       icaltimezone **zs, sk_ms_t *start, sk_ms_t *end)
{
    icalproperty *ps = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
    icalproperty *pe = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY);
    icalproperty *pd = icalcomponent_get_first_property(ev, ICAL_DURATION_PROPERTY);
    if (!ps) {
        fprintf(stderr, "%s: event %s skipped: no DTSTART\n", c->p->prog, uid);
        return -1;
    }
    *ts = icalproperty_get_dtstart(ps);
    *zs = prop_zone(c, ps, *ts);
    if (!*zs) {
        fprintf(stderr, "%s: event %s skipped: unknown time zone '%s'\n", c->p->prog, uid,
                icalproperty_get_parameter_as_string(ps, "TZID"));
        return -1;
    }
    *start = to_ms(*ts, *zs);
    if (pe) {
        struct icaltimetype te = icalproperty_get_dtend(pe);
        icaltimezone *ze = prop_zone(c, pe, te);
        if (!ze) {
            fprintf(stderr, "%s: event %s skipped: unknown time zone of DTEND\n", c->p->prog, uid);
            return -1;
        }
        *end = to_ms(te, ze);
    } else if (pd) {
        struct icaltimetype te = icaltime_add(*ts, icalproperty_get_duration(pd));
        *end = to_ms(te, *zs);
    } else if (ts->is_date) {
        struct icaltimetype te = *ts;
        icaltime_adjust(&te, 1, 0, 0, 0);
        *end = to_ms(te, *zs);
    } else {
        *end = *start; /* no length: refused below */
    }
    if (*end <= *start) {
        fprintf(stderr, "%s: event %s skipped: it ends before it starts (or has no length)\n",
                c->p->prog, uid);
        return -1;
    }
    return 0;
}

static int overridden(icalcomponent *cal, const char *uid, struct icaltimetype occ)
{
    /* an external iterator: the caller is walking cal's internal one */
    icalcompiter it = icalcomponent_begin_component(cal, ICAL_VEVENT_COMPONENT);
    for (icalcomponent *e = icalcompiter_deref(&it); e; e = icalcompiter_next(&it)) {
        struct icaltimetype rid = icalcomponent_get_recurrenceid(e);
        const char *u = icalcomponent_get_uid(e);
        if (!icaltime_is_null_time(rid) && u && strcmp(u, uid) == 0 &&
            icaltime_compare(rid, occ) == 0)
            return 1;
    }
    return 0;
}

static int excluded(icalcomponent *ev, struct icaltimetype occ)
{
    for (icalproperty *x = icalcomponent_get_first_property(ev, ICAL_EXDATE_PROPERTY); x;
         x = icalcomponent_get_next_property(ev, ICAL_EXDATE_PROPERTY))
        if (icaltime_compare(icalproperty_get_exdate(x), occ) == 0)
            return 1;
    return 0;
}

/* Expands a recurring VEVENT within the window. */
static int expand(ical_ctx_t *c, icalcomponent *ev, const char *uid, struct icaltimetype ts,
                  icaltimezone *zs, sk_ms_t start, sk_ms_t end)
{
    icalproperty *rr = icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY);
    struct icalrecurrencetype rule = icalproperty_get_rrule(rr);
    icalrecur_iterator *it = icalrecur_iterator_new(rule, ts);
    sk_ms_t len = end - start;
    char id[SK_ID_MAX + 1];
    int rc = 0;
    if (!it) {
        fprintf(stderr, "%s: event %s: RRULE not understood; only its first occurrence is used\n",
                c->p->prog, uid);
        shift_id(uid, start, id, sizeof(id));
        return add_people(c, ev, id, start, end);
    }
    for (int n = 0; n < MAX_OCCURRENCES; n++) {
        struct icaltimetype occ = icalrecur_iterator_next(it);
        if (icaltime_is_null_time(occ))
            break;
        sk_ms_t os = to_ms(occ, zs);
        if (os >= c->p->horizon_ms)
            break;
        /* keep the wall-clock length across a DST change: end = occurrence + (DTEND - DTSTART) */
        struct icaltimetype oe = occ;
        icaltime_adjust(&oe, 0, 0, 0, (int)(len / 1000));
        sk_ms_t oend = to_ms(oe, zs);
        if (ts.is_date || icaltime_is_utc(ts))
            oend = os + len;
        if (oend <= c->p->now_ms || excluded(ev, occ) || overridden(c->cal, uid, occ))
            continue;
        shift_id(uid, os, id, sizeof(id));
        if ((rc = add_people(c, ev, id, os, oend)) != 0)
            break;
    }
    icalrecur_iterator_free(it);
    return rc;
}

static int ical_event(ical_ctx_t *c, icalcomponent *ev)
{
    const char *uid = icalcomponent_get_uid(ev);
    struct icaltimetype ts;
    icaltimezone *zs;
    sk_ms_t start, end;
    char id[SK_ID_MAX + 1];
    if (!uid || !*uid) {
        fprintf(stderr, "%s: a VEVENT without UID skipped\n", c->p->prog);
        c->p->skipped++;
        return 0;
    }
    if (event_times(c, ev, uid, &ts, &zs, &start, &end)) {
        c->p->skipped++;
        return 0;
    }
    struct icaltimetype rid = icalcomponent_get_recurrenceid(ev);
    if (!icaltime_is_null_time(rid)) {
        icalproperty *pr = icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY);
        icaltimezone *zr = prop_zone(c, pr, rid);
        shift_id(uid, to_ms(rid, zr ? zr : zs), id, sizeof(id));
        return add_people(c, ev, id, start, end);
    }
    if (icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY))
        return expand(c, ev, uid, ts, zs, start, end);
    shift_id(uid, SK_MS_NONE, id, sizeof(id));
    return add_people(c, ev, id, start, end);
}

static int ical_fetch(void *base, sk_conn_poll_t *p)
{
    ical_opts_t *o = base;
    ical_ctx_t c = {o, p, NULL, NULL};
    int rc = 0;
    char *text = ical_read(o, p);
    if (!text)
        return SK_EIO;
    c.cal = icalparser_parse_string(text);
    free(text);
    if (!c.cal || (icalcomponent_isa(c.cal) != ICAL_VCALENDAR_COMPONENT &&
                   icalcomponent_isa(c.cal) != ICAL_XROOT_COMPONENT)) {
        snprintf(p->err, sizeof(p->err), "%s: not an iCalendar feed (no BEGIN:VCALENDAR)", o->src);
        rc = SK_EPARSE;
        goto out;
    }
    if (icalcomponent_isa(c.cal) == ICAL_XROOT_COMPONENT) { /* several calendars: use the first */
        icalcomponent *inner = icalcomponent_get_first_component(c.cal, ICAL_VCALENDAR_COMPONENT);
        if (!inner) {
            snprintf(p->err, sizeof(p->err), "%s: no VCALENDAR", o->src);
            rc = SK_EPARSE;
            goto out;
        }
        icalcomponent_remove_component(c.cal, inner);
        icalcomponent_free(c.cal);
        c.cal = inner;
    }
    c.default_zone = strcasecmp(o->default_zone, "UTC") == 0
                         ? icaltimezone_get_utc_timezone()
                         : icaltimezone_get_builtin_timezone(o->default_zone);
    for (icalcomponent *ev = icalcomponent_get_first_component(c.cal, ICAL_VEVENT_COMPONENT); ev;
         ev = icalcomponent_get_next_component(c.cal, ICAL_VEVENT_COMPONENT))
        if ((rc = ical_event(&c, ev)) != 0) {
            snprintf(p->err, sizeof(p->err), "out of memory");
            break;
        }
out:
    if (c.cal)
        icalcomponent_free(c.cal);
    icalmemory_free_ring();
    return rc;
}

static const sk_conn_source_t ICAL = {
    .name = "ical",
    .about =
        "usage: shiftkey-ical --rotation ID --url URL|FILE [options]\n\n"
        "Reads an iCalendar on-call feed (PagerDuty, Opsgenie, Grafana OnCall exports, or a file)\n"
        "and sends the differences since the last poll to shiftkey's schedule topic as shift\n"
        "events, keyed by user: one shift per VEVENT (occurrence) and ATTENDEE (else SUMMARY).\n",
    .tail = "\nexit status: 0 ok, 1 failed (feed, Kafka or state file), 2 usage error\n"
            "example: SHIFTKEY_ICAL_URL='https://example.pagerduty.com/private/.../feed' \\\n"
            "             shiftkey-ical --rotation payments-primary --kafka broker:9092 --state ical.state\n",
    .opts = {"iCalendar (environment: SHIFTKEY_ICAL_<NAME>)", "SHIFTKEY_ICAL_", ICAL_ROWS,
             SK_ARRAY_LEN(ICAL_ROWS), &IC},
    .check = ical_check,
    .fetch = ical_fetch,
};

int main(int argc, char **argv)
{
    int rc = sk_conn_main(&ICAL, argc, argv);
    icaltimezone_free_builtin_timezones();
    return rc;
}
