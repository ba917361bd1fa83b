/*
 * diff.h — the pure heart of every connector: (what the platform shows now,
 * what was last sent, now) → schedule events + the next state. No I/O.
 *
 * For each shift (identity: shift id + user):
 *   new, overlapping [now, horizon), not cancelled → SCHEDULED (start > now)
 *                                                   or STARTED (start <= now)
 *   known, start/end/level moved                   → UPDATED (STARTED if it
 *                                                     was SCHEDULED and has begun)
 *   known, SCHEDULED, start reached                → STARTED
 *   known, marked cancelled by the platform        → CANCELLED
 *   known, end reached (listed or not)             → ENDED (end = its end)
 *   known, no longer listed, not yet started       → CANCELLED
 *   known, no longer listed, running               → ENDED (end = now)
 *   known, no longer listed, starts at/after the horizon → nothing (out of view)
 * ENDED and CANCELLED close a shift for good, as the engine does: a closed
 * shift listed again is ignored.
 *
 * When the platform could not be read (`now_shifts` NULL), only what time
 * alone decides is sent: ENDED for shifts whose end has passed.
 *
 * Window clipping (shift.h): a listed shift clipped at its start that is not
 * known by its id continues the open shift of the same series and user known
 * from an earlier poll (its id and its earlier start are kept), so a long
 * period asked for through a sliding window is one shift, not a daily
 * ENDED + STARTED pair. An end clipped at the window's end means "at least
 * until": a later known end is kept; a known end that is itself a bound is
 * moved (UPDATED) only once it comes inside the look-ahead.
 *
 * Mass disappearance: when the shifts that vanish from a readable listing
 * (would be ENDED now or CANCELLED) are more than opts->max_end_share of the
 * shifts open before the poll, the poll is held: each such shift is marked
 * (SK_CONN_SEEN_HELD) and nothing is sent for it; if it is still missing at
 * the next poll it is closed then, if it is listed again the mark goes. A
 * parse gap or an empty answer thus never revokes everyone in one poll.
 */
#ifndef SK_CONN_DIFF_H
#define SK_CONN_DIFF_H

#include "codec/event.h"
#include "shift.h"
#include "state.h"

/* Closed shifts are forgotten this long after their end (or last event). */
#define SK_CONN_TOMBSTONE_MS (7LL * 24 * 3600 * 1000)

typedef struct sk_conn_event {
    sk_schedule_event_t ev; /* strings point into the owning sk_conn_events_t */
    char event_id[80];
} sk_conn_event_t;

typedef struct sk_conn_events {
    sk_conn_event_t *v;
    size_t n, cap;
    char **strs; /* owned copies the events point at */
    size_t n_strs, cap_strs;
} sk_conn_events_t;

void sk_conn_events_fini(sk_conn_events_t *evs);

/*
 * sk_conn_event_id — deterministic event id: "<source>-" + 32 hex digits of
 * XXH3-128 over shift id, user, type, start, end and the shift's event
 * sequence number. The same change re-sent (after a crash before the state
 * was saved) has the same id; a later change back to earlier times does not.
 */
void sk_conn_event_id(const char *source, const char *shift_id, const char *user,
                      sk_shift_event_type_t type, sk_ms_t start_ms, sk_ms_t end_ms, unsigned seq,
                      char out[80]);

typedef struct sk_conn_diff_opts {
    double max_end_share; /* 0..1; >= 1 never holds; 0 holds every disappearance once */
} sk_conn_diff_opts_t;

typedef struct sk_conn_diff_stats {
    size_t open;     /* shifts open before the poll */
    size_t vanished; /* of those, no longer listed and would be closed for it */
    size_t held;     /* of those, held until the next poll (0 when the poll was not held) */
} sk_conn_diff_stats_t;

/*
 * sk_conn_diff — computes the events and the next state. `old` is not
 * modified; `next` receives a new state (caller frees with
 * sk_conn_state_fini), `out` the events (caller frees with
 * sk_conn_events_fini). Every event has occurred_at = now. opts may be
 * NULL (never hold); stats, if not NULL, receives the counts of the poll.
 * Returns 0 or SK_ENOMEM (nothing allocated is left behind).
 */
int sk_conn_diff(const char *source, const char *rotation, const sk_conn_state_t *old,
                 const sk_conn_shifts_t *now_shifts, sk_ms_t now_ms, sk_ms_t horizon_ms,
                 const sk_conn_diff_opts_t *opts, sk_conn_state_t *next, sk_conn_events_t *out,
                 sk_conn_diff_stats_t *stats);

#endif
