/*
 * state.h — what a connector last told Kafka about each shift, kept in a
 * file so that a restart neither re-announces shifts as new nor forgets to
 * end the ones that ended while it was down.
 *
 * File format (text, one shift per line, tab-separated, written atomically:
 * temporary file, fsync, rename, fsync of the directory):
 *
 *   # shiftkey connector state v1 source=<source> rotation=<rotation>
 *   <shift id> <user> <start ms> <end ms|-> <level> <last type> <seq> <updated ms> [<flags>]
 *
 * <last type> is the last event sent for the shift (SCHEDULED, STARTED,
 * UPDATED, ENDED, CANCELLED); ENDED and CANCELLED lines are tombstones kept
 * 7 days after the shift's end so the shift is never announced again.
 * <seq> counts the events sent for the shift (part of the event id).
 * <flags> (optional, files of earlier versions have none; "-" when empty):
 * 's' the start is the edge of a query window (the real one is earlier), 'e'
 * the end is such an edge ("at least until"), 'h' the shift disappeared in a
 * poll that was held (diff.h: a mass disappearance waits for a second poll).
 */
#ifndef SK_CONN_STATE_H
#define SK_CONN_STATE_H

#include <stddef.h>

#include "codec/event.h"
#include "base/sk.h"

typedef struct sk_conn_seen {
    char *id;   /* shift id; owned */
    char *user; /* owned */
    sk_ms_t start_ms, end_ms; /* end SK_MS_NONE = open-ended */
    int level;
    sk_shift_event_type_t last; /* last event type sent */
    unsigned seq;               /* events sent for this shift */
    sk_ms_t updated_ms;         /* when the last one was sent */
    unsigned flags;             /* SK_CONN_SEEN_* */
} sk_conn_seen_t;

#define SK_CONN_SEEN_START_BOUND 1u /* start_ms is a window edge: the real start is earlier */
#define SK_CONN_SEEN_END_BOUND 2u   /* end_ms is a window edge: the real end is later */
#define SK_CONN_SEEN_HELD 4u        /* unlisted in a held poll: ended if still unlisted next poll */

typedef struct sk_conn_state {
    sk_conn_seen_t *v;
    size_t n, cap;
} sk_conn_state_t;

/* 1 when the shift is closed for good (ENDED or CANCELLED sent). */
int sk_conn_seen_closed(const sk_conn_seen_t *e);

/* The entry for (id, user), or NULL. */
sk_conn_seen_t *sk_conn_state_find(const sk_conn_state_t *st, const char *id, const char *user);

/* Appends a copy of e (strings duplicated). 0 or SK_ENOMEM. */
int sk_conn_state_add(sk_conn_state_t *st, const sk_conn_seen_t *e);

/* Deep copy of src into dst (dst is overwritten, not freed). 0 or SK_ENOMEM. */
int sk_conn_state_copy(sk_conn_state_t *dst, const sk_conn_state_t *src);

/* Frees everything; the state is empty and reusable. */
void sk_conn_state_fini(sk_conn_state_t *st);

/*
 * sk_conn_state_load — reads path into st (initially empty). A missing file
 * is an empty state (first run). Returns 0, or SK_EIO / SK_EPARSE with a
 * readable message in err ("state.tsv:3: bad start '12x'"), or SK_EINVAL if
 * the file belongs to another source or rotation. st is untouched on error.
 */
int sk_conn_state_load(const char *path, const char *source, const char *rotation,
                       sk_conn_state_t *st, char *err, size_t errlen);

/*
 * sk_conn_state_save — writes st to path atomically (temporary file in the
 * same directory, fsync, rename, fsync of the directory): after a crash the
 * file is either the old or the new state. 0 or SK_EIO with err filled.
 */
int sk_conn_state_save(const char *path, const char *source, const char *rotation,
                       const sk_conn_state_t *st, char *err, size_t errlen);

#endif
