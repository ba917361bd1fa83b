/*
 * state.h — one user's live state as the decision function sees it: the
 * shifts known for the user and the sources that hold each grant. Also its
 * storage form: the fields of the user's Redis hash (apply.c stores them).
 *
 * Field layout (values are space-separated; identifiers never hold spaces,
 * see sk_id_valid):
 *   "s:<shift_id>"                -> "<rotation> <start> <end|-> <level> <closed> <updated>"
 *   "g:<ent_key> <kind> <src_id>" -> "<expires> <rotation|->"
 * where kind is S (shift), R (request) or E (emergency) and times are ms.
 *
 * All memory of a parsed or computed state belongs to the arena it was made
 * in; nothing here does I/O.
 */
#ifndef SK_STATE_H
#define SK_STATE_H

#include "arena.h"
#include "event.h"

typedef enum sk_shift_status {
    SK_SHIFT_STATUS_OPEN = 0,      /* scheduled or running: grants in its window */
    SK_SHIFT_STATUS_ENDED = 1,     /* ended: grants until end + grace, never again */
    SK_SHIFT_STATUS_CANCELLED = 2 /* withdrawn: grants nothing, never again */
} sk_shift_status_t;

typedef struct sk_shift {
    const char *id;
    const char *rotation;
    sk_ms_t start_ms;
    sk_ms_t end_ms;       /* SK_MS_NONE when open-ended */
    int level;            /* escalation level, >= 1 */
    sk_shift_status_t status;
    sk_ms_t updated_ms;   /* occurred_at of the last event applied to it */
} sk_shift_t;

/* One justification holding one grant, with its own expiry. */
typedef struct sk_grant_source {
    const char *ent_key;  /* "app/entitlement" */
    sk_source_kind_t kind;
    const char *id;       /* shift id (or request id) */
    const char *rotation; /* for shifts; "" otherwise */
    sk_ms_t expires_ms;
} sk_grant_source_t;

typedef struct sk_user_state {
    const char *user;
    size_t n_shifts;
    sk_shift_t *shifts;
    size_t n_sources;
    sk_grant_source_t *sources;
} sk_user_state_t;

/* A field of the user's hash, name and value as bytes (not NUL-terminated
 * when read from Redis; the lengths rule). */
typedef struct sk_state_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sk_state_field_t;

/* The change that turns one stored state into another. */
typedef struct sk_state_diff {
    size_t n_set;
    sk_state_field_t *set; /* fields to write (NUL-terminated copies) */
    size_t n_del;
    const char **del;      /* field names to delete */
} sk_state_diff_t;

/*
 * sk_state_parse — builds the state of `user` from its hash fields. Strings
 * are copied into `arena`. A field that cannot be parsed is skipped and
 * counted in *n_bad (may be NULL), so one damaged field cannot block a user.
 * Returns 0 or SK_ENOMEM.
 */
int sk_state_parse(sk_arena_t *arena, const char *user,
                   const sk_state_field_t *fields, size_t n_fields,
                   sk_user_state_t *out, size_t *n_bad);

/*
 * sk_state_diff — the field writes and deletes that turn `before` into
 * `after`. Allocates from `arena`. Returns 0 or SK_ENOMEM.
 */
int sk_state_diff(sk_arena_t *arena, const sk_user_state_t *before,
                  const sk_user_state_t *after, sk_state_diff_t *out);

/* Finders; NULL when absent. */
const sk_shift_t *sk_state_shift(const sk_user_state_t *st, const char *id);

#endif
