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

/* Frees every shift; the list is empty and reusable afterwards. */
void sk_conn_shifts_fini(sk_conn_shifts_t *s);

#endif
