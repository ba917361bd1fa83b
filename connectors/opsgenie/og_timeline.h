/*
 * og_timeline.h — schedule timelines of Opsgenie (GET /v2/schedules/{id}/
 * timeline) and of its successor, Jira Service Management Operations (GET
 * /jsm/ops/api/{cloudId}/v1/schedules/{id}/timeline): the same final
 * timeline (rotations → periods), asked the same way (date, interval,
 * intervalUnit=days), read by the same code. They differ in a few names:
 *
 *                      Opsgenie                   JSM Operations
 *   body               {"data": {timeline}, ...}  {timeline}
 *   person of a period "recipient" {id,type,name} "responder" {id,type}
 *   nobody             type "none"                type "noone"
 *   auth               GenieKey <key>             Basic e-mail:API token
 *
 * One period of a user → one shift, id "<prefix>:<schedule>:<rotation>:
 * <user id>:<start UTC>", series without the start (shift.h). Periods cut
 * by the query window are marked clipped, so that a long period keeps its
 * first-known id and start from poll to poll (diff.h).
 */
#ifndef SK_OG_TIMELINE_H
#define SK_OG_TIMELINE_H

#include "runner.h"

typedef struct sk_og_flavor {
    const char *prefix;   /* shift id prefix: "og", "jsm" */
    const char *who;      /* the period's person: "recipient" or "responder" */
    int wrapped;          /* the timeline is under "data" */
    int identifier_type;  /* send identifierType=id (Opsgenie) */
} sk_og_flavor_t;

extern const sk_og_flavor_t SK_OG_OPSGENIE, SK_OG_JSM;

/* The query window of a poll: from 7 days before now at a whole UTC day,
 * `days` whole days, so that it covers the horizon and 7 days more. */
void sk_og_window(sk_ms_t now_ms, sk_ms_t horizon_ms, sk_ms_t *from_ms, long *days);

/*
 * sk_og_timeline_parse — one schedule's timeline body into p->out. The
 * window is the one the body names (startDate/endDate), else [from, to).
 * A period starting at the window's start is clipped at its start, one
 * ending at its end clipped at its end. Periods of teams, escalations and
 * nobody are skipped and counted (p->skipped, one log line); a user the user
 * map cannot resolve likewise. Returns 0, or SK_EPARSE with p->err filled
 * when the body is not a timeline, a period has no person (recipient /
 * responder) or times, or a person's type is unknown: a failed poll, never
 * an empty schedule. Pure but for the log line.
 */
int sk_og_timeline_parse(const sk_og_flavor_t *fl, sk_conn_poll_t *p, const char *sched,
                         const char *body, size_t len, sk_ms_t from_ms, sk_ms_t to_ms);

/*
 * sk_og_schedule — GETs the timeline of schedule `sched` under api (the API
 * root: "https://api.opsgenie.com/v2", "…/jsm/ops/api/<cloudId>/v1") with
 * the given headers, for the poll's window, and parses it as above.
 */
int sk_og_schedule(const sk_og_flavor_t *fl, sk_conn_poll_t *p, const char *api, const char *sched,
                   const char *const *headers);

#endif
