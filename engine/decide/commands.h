/*
 * commands.h — the commands that change a user's grants: GRANT / EXTEND /
 * REVOKE between the sources before and after a decision, compared per
 * entitlement, with their deterministic ids. The lowest decider code: every
 * decider and the follow-ups (retries) compute commands here, and it calls
 * nothing above it. Not a public header. Pure; every command and string is
 * allocated from the arena given and borrows strings from the inputs.
 */
#ifndef SK_DECIDE_COMMANDS_H
#define SK_DECIDE_COMMANDS_H

#include "decide/common.h"
#include "decide/decide.h"

/* A grant source wanted in the new state, with the enrollment edge that
 * justifies it (NULL for a source carried over or made by a request). */
typedef struct sk_decide_wanted {
    sk_grant_source_t src;
    const sk_enrollment_edge_t *edge;
} sk_decide_wanted_t;

/* What the commands are computed from besides the sources. */
typedef struct sk_decide_cmd_args {
    const sk_rules_t *rules;
    const char *user;                 /* the commands' user */
    sk_ms_t now_ms;                   /* their issue time */
    const sk_schedule_event_t *event; /* the schedule event decided, or NULL:
                                         a REVOKE's reason says what it did */
    const sk_user_state_t *before;    /* the sources (and shifts) before */
    sk_arena_t *arena;
    sk_decide_trace_t *trace;         /* one line per command; NULL: none */
} sk_decide_cmd_args_t;

/*
 * sk_decide_commands_wanted — sets out->commands and out->n_commands to the
 * commands that turn a->before's sources into the n_w wanted ones, in
 * entitlement key order: GRANT when the first source of an entitlement
 * appears, REVOKE when the last one goes, EXTEND when the latest expiry
 * moves. A command held (or, for a REVOKE, last held) by an EMERGENCY
 * source is flagged emergency: the one place every decider's commands get
 * the flag. Each command's id is a 128-bit hash (32 hex chars) over action,
 * user, entitlement, expiry and the sorted sources. Returns 0 or SK_ENOMEM.
 */
int sk_decide_commands_wanted(const sk_decide_cmd_args_t *a, const sk_decide_wanted_t *w,
                              size_t n_w, sk_decision_t *out);

/*
 * sk_decide_commands — sk_decide_commands_wanted for a plain source table
 * `after` (n_after sources, no edges, no event, no trace): what the
 * request deciders and the retries use. Sets out->commands and
 * out->n_commands only. Returns 0 or SK_ENOMEM.
 */
int sk_decide_commands(const sk_rules_t *rules, const char *user, sk_ms_t now_ms,
                       const sk_user_state_t *before, const sk_grant_source_t *after,
                       size_t n_after, sk_arena_t *arena, sk_decision_t *out);

/*
 * sk_decide_hold_command — the command that gives `ent` as the sources of
 * st hold it now, as `action` (GRANT or EXTEND: the same sources and
 * expiry, so the same id as the one sk_decide_commands emitted for them).
 * *out is NULL when no source of st holds ent. Returns 0 or SK_ENOMEM.
 */
int sk_decide_hold_command(const sk_rules_t *rules, const sk_user_state_t *st, const char *ent,
                           sk_command_action_t action, sk_ms_t now, sk_arena_t *arena,
                           sk_command_t **out);

#endif
