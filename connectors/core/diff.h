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

/*
 * sk_conn_diff — computes the events and the next state. `old` is not
 * modified; `next` receives a new state (caller frees with
 * sk_conn_state_fini), `out` the events (caller frees with
 * sk_conn_events_fini). Every event has occurred_at = now. Returns 0 or
 * SK_ENOMEM (nothing allocated is left behind).
 */
int sk_conn_diff(const char *source, const char *rotation, const sk_conn_state_t *old,
                 const sk_conn_shifts_t *now_shifts, sk_ms_t now_ms, sk_ms_t horizon_ms,
                 sk_conn_state_t *next, sk_conn_events_t *out);

#endif
