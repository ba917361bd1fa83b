/*
 * oncall_index.h — who is on call in a rotation, across users: the index a
 * reviewers step `on_call: <rotation>` is resolved with (docs/reliability.md,
 * "The on-call index").
 *
 * Storage (store.c): per partition one Redis hash
 *   <prefix>:{p<N>}:oncall
 *     field "<rotation> <user> <shift_id>" -> value "<start_ms> <end_ms|->"
 * (the value stored short, codec/state_pack.h sk_window_pack) with one
 * field per OPEN shift of a user of partition N in a rotation.
 * It is written by the same atomic apply script as the user's state, from
 * the difference between the user's state before and after a decision
 * (sk_oncall_ops): a field appears when a shift becomes open (or its window
 * moves) and goes when the shift ends, is cancelled or forgotten. A shift
 * whose window has passed without an END event keeps its field until then;
 * readers filter by window (sk_oncall_view_lists).
 *
 * Everything here is pure: no I/O, memory from the arena given.
 */
#ifndef SK_ONCALL_INDEX_H
#define SK_ONCALL_INDEX_H

#include "base/arena.h"
#include "decide/decide_request.h"
#include "rules/rules.h"
#include "decide/state.h"

/* One write to the index (or, read back, one field of it). */
typedef struct sk_oncall_op {
    const char *rotation; /* the rotation id: which hash */
    const char *field;    /* "<user> <shift_id>" */
    const char *value;    /* "<start_ms> <end_ms|->"; NULL deletes the field */
} sk_oncall_op_t;

/*
 * sk_oncall_ops — the index writes that follow a user's state going from
 * `before` to `after` (both of the same user; before may have no shifts):
 * a delete for every shift open before that is not open after (ended,
 * cancelled, forgotten, or moved to another rotation), a set for every shift
 * open after whose rotation or window is new. Deletes come first. *out is
 * allocated from arena (NULL when *n is 0); strings are arena copies.
 * Returns 0 or SK_ENOMEM.
 */
int sk_oncall_ops(const sk_user_state_t *before, const sk_user_state_t *after, sk_arena_t *arena,
                  sk_oncall_op_t **out, size_t *n);

/*
 * sk_oncall_parse — reads one index field and value: the user (copied into
 * arena), the window start and end (SK_MS_NONE for an open end). Returns 0,
 * SK_EINVAL when malformed, or SK_ENOMEM.
 */
int sk_oncall_parse(const char *field, const char *value, sk_arena_t *arena, const char **user,
                    sk_ms_t *start_ms, sk_ms_t *end_ms);

/*
 * sk_oncall_rotations — appends to rots (capacity cap, *n used) the ids of
 * the rotations named by `on_call` reviewers steps that deciding `ev` on
 * `state` may reach: the policy, emergency policy and revocation policy of
 * the request's target (from the event, else from the request frozen in
 * state), the policy the event names, and the policy frozen on the request.
 * No repeats. Strings are borrowed from rules. Returns 0, or SK_ENOMEM when
 * cap is too small.
 */
int sk_oncall_rotations(const sk_rules_t *rules, const sk_request_event_t *ev,
                        const sk_user_state_t *state, const char **rots, size_t cap, size_t *n);

/* The most rotations one request can name through its policies
 * (sk_oncall_rotations caps at this per call and per batch). */
#define SK_ONCALL_MAX_ROTATIONS 64

/*
 * An in-memory copy of the index of some rotations, read once per batch
 * and kept current while the batch is decided in order (sk_oncall_view_apply
 * of each schedule decision's writes), so a request sees the shifts that
 * came before it in the same batch.
 */
typedef struct sk_oncall_view {
    sk_arena_t *arena;
    size_t n_rotations;
    const char **rotations; /* the rotations tracked; writes to others are ignored */
    size_t n, cap;
    sk_oncall_op_t *entries; /* value never NULL */
} sk_oncall_view_t;

/* Starts an empty view of the given rotations (ids copied). 0 or SK_ENOMEM. */
int sk_oncall_view_init(sk_oncall_view_t *v, sk_arena_t *arena, const char *const *rotations,
                        size_t n_rotations);

/* Applies writes (sets replace, NULL values delete) of tracked rotations.
 * Strings are copied. 0 or SK_ENOMEM. */
int sk_oncall_view_apply(sk_oncall_view_t *v, const sk_oncall_op_t *ops, size_t n);

/*
 * An open-ended shift (no end) counts as on call for at most this long after
 * its start. Its index field can outlive the user's state (the key expires,
 * the index field does not), so without a bound a stale field would make
 * someone a reviewer for ever; the bound fails closed (fewer reviewers).
 */
#define SK_ONCALL_OPEN_END_MAX_MS (7LL * 24 * 3600 * 1000)

/*
 * sk_oncall_view_lists — for each tracked rotation, the users with a shift
 * in it whose window covers now (start <= now < end; with no end, start <=
 * now < start + SK_ONCALL_OPEN_END_MAX_MS), sorted by id, without repeats;
 * fields that do not parse are skipped. *lists has one entry per tracked
 * rotation, allocated from arena. 0 or SK_ENOMEM.
 */
int sk_oncall_view_lists(const sk_oncall_view_t *v, sk_ms_t now, sk_arena_t *arena,
                         sk_oncall_list_t **lists, size_t *n_lists);

#endif
