/*
 * shift.h — what a connector reads from its platform: the shifts it sees
 * now. A source fills an sk_conn_shifts_t; the core diffs it against the
 * state file (diff.h) into schedule events.
 */
#ifndef SK_CONN_SHIFT_H
#define SK_CONN_SHIFT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/sk.h"

/* A start the platform does not give (PagerDuty's permanent on-call, whose
 * start is null): the diff keeps the start it saw first, or takes now. */
#define SK_CONN_START_UNKNOWN INT64_MIN

typedef struct sk_conn_shift {
    char *id;       /* stable id at the source (identifier syntax); owned */
    char *user;     /* directory id, after the user map; owned */
    sk_ms_t start_ms; /* or SK_CONN_START_UNKNOWN */
    sk_ms_t end_ms;   /* SK_MS_NONE when open-ended */
    int level;        /* escalation level, >= 1 */
    bool cancelled;   /* the platform says it will not happen (iCal STATUS:CANCELLED) */
    /*
     * Window clipping. A platform that answers for a query window (Opsgenie's
     * and JSM's timeline, PagerDuty's since/until) cuts periods at the
     * window's edges. start_clipped: start_ms is the window's start, the real
     * start is at or before it; end_clipped: end_ms is the window's end, the
     * real end is at or after it ("at least until"). series: the id without
     * its start ("og:<schedule>:<rotation>:<user id>"); ids are series + ":" +
     * start. A clipped period is matched to the open shift of the same series
     * and user known from an earlier poll, so it keeps that shift's id and
     * start (diff.h). series is owned, NULL when the source does not clip.
     */
    char *series;
    bool start_clipped, end_clipped;
} sk_conn_shift_t;

typedef struct sk_conn_shifts {
    sk_conn_shift_t *v;
    size_t n, cap;
} sk_conn_shifts_t;

/*
 * sk_conn_shifts_add — copies one shift in. A shift with the same (id, user)
 * as one already there is merged: the lower escalation level wins (the same
 * PagerDuty schedule under two levels or policies is one shift). Returns 0,
 * SK_EINVAL if id or user is not an identifier (1..256 printable ASCII, no
 * spaces) or end <= start, SK_ENOMEM.
 */
int sk_conn_shifts_add(sk_conn_shifts_t *s, const char *id, const char *user, sk_ms_t start_ms,
                       sk_ms_t end_ms, int level, bool cancelled);

/*
 * sk_conn_shifts_add_ex — as sk_conn_shifts_add, from a filled struct whose
 * strings are copied (series may be NULL; a non-NULL series must be a prefix
 * of id followed by ':'). The clipping flags of a merged duplicate are ORed.
 */
int sk_conn_shifts_add_ex(sk_conn_shifts_t *s, const sk_conn_shift_t *in);

/* Frees every shift; the list is empty and reusable afterwards. */
void sk_conn_shifts_fini(sk_conn_shifts_t *s);

#endif
