/*
 * decide.h — the decision function: (input, compiled rules, the user's
 * current state, now) -> (new state, commands, audit record, next wake-up).
 *
 * It is pure: no I/O, no clock, no globals. The same inputs give the same
 * outputs byte for byte, which is what makes replay safe and command ids
 * deterministic. It is idempotent: deciding an input again on the state it
 * produced yields no command.
 *
 * The grant model (DESIGN.md, "Grants, sources and expiry"): a grant
 * (user, entitlement) is held by sources, each with its own expiry. The
 * grant exists while any source does; GRANT is emitted when the first source
 * appears, REVOKE when the last one goes, EXTEND when the latest expiry moves.
 */
#ifndef SK_DECIDE_H
#define SK_DECIDE_H

#include "base/arena.h"
#include "codec/event.h"
#include "rules/rules.h"
#include "decide/state.h"

/* How long an ended shift is remembered (so a late duplicate of its STARTED
 * event cannot grant again) after its window closed. */
#define SK_SHIFT_MEMORY_MS (7LL * 24 * 3600 * 1000)

typedef enum sk_input_kind {
    SK_INPUT_SCHEDULE = 0, /* a record of shiftkey.schedule.v1 */
    SK_INPUT_TIMER = 1     /* the user's durable timer fired */
} sk_input_kind_t;

typedef struct sk_input {
    sk_input_kind_t kind;
    const sk_schedule_event_t *schedule; /* SK_INPUT_SCHEDULE only */
    const char *user;                    /* the subject user */
    sk_origin_t origin;                  /* where the input came from */
    sk_ms_t now_ms;                      /* the decision time */
} sk_input_t;

typedef struct sk_decision {
    /* rejected: the input is invalid for these rules (e.g. an unknown
     * rotation); it belongs on the dead-letter topic. Nothing else changes. */
    bool rejected;
    sk_dead_letter_kind_t reject_kind;
    const char *reject_reason;

    sk_user_state_t state;   /* the user's state after the decision */
    sk_state_diff_t diff;    /* fields to write / delete to get there */
    size_t n_commands;
    sk_command_t *commands;  /* in a stable order (entitlement key) */
    size_t n_tasks;
    sk_task_t *tasks;        /* task records to publish, in order */
    sk_audit_t audit;        /* exactly one per decision */
    sk_ms_t next_wake_ms;    /* when the user's timer must fire; SK_MS_NONE */
    sk_ms_t keep_until_ms;   /* state may be dropped after this (key TTL);
                                SK_MS_NONE while a request or task of the
                                user waits for people (sk_state_awaits_people) */
} sk_decision_t;

/*
 * sk_decide — decides one input. `state` is the user's current state (not
 * modified). Everything in *out is allocated from `arena` and borrows
 * strings from `in`, `state` and `rules`, so all of them must outlive the
 * use of *out. Returns 0 (also for a rejected input), or SK_ENOMEM.
 */
int sk_decide(const sk_rules_t *rules, const sk_input_t *in,
              const sk_user_state_t *state, sk_arena_t *arena,
              sk_decision_t *out);

/*
 * sk_decide_reject — the decision for an input that never reached the rules
 * (undecodable, or invalid before decoding finished): rejected with `kind`
 * and `reason`, no state change, one audit record. in->user may be "".
 * Allocates from arena; returns 0 or SK_ENOMEM.
 */
int sk_decide_reject(const sk_rules_t *rules, const sk_input_t *in,
                     sk_dead_letter_kind_t kind, const char *reason,
                     sk_arena_t *arena, sk_decision_t *out);

/*
 * sk_decide_commands — the GRANT / EXTEND / REVOKE commands that turn the
 * sources of `before` into `after` (n_after sources), compared per
 * entitlement exactly as sk_decide does; for other deciders (requests).
 * Sets out->commands and out->n_commands only; a command held (or, for a
 * REVOKE, last held) by an EMERGENCY source is flagged emergency, as every
 * command sk_decide makes is. Allocates from arena and
 * borrows strings from the inputs. Returns 0 or SK_ENOMEM.
 */
int sk_decide_commands(const sk_rules_t *rules, const char *user, sk_ms_t now_ms,
                       const sk_user_state_t *before, const sk_grant_source_t *after,
                       size_t n_after, sk_arena_t *arena, sk_decision_t *out);

/*
 * sk_decide_deprovisioning — for each REVOKE command of d whose entitlement
 * is provisioned by hand (its request settings say `provisioning: manual`),
 * appends a DEPROVISIONING task (CREATED, assignees = the provisioners,
 * task_id = the command id) to d->tasks, and remembers it in d->state as
 * an open task ("t:" field, state.h) unless it is already there. Call it
 * after the commands and the new state are set and before the diff.
 * Replaces d->tasks and d->state.open_tasks with arena copies when it adds
 * anything. Pure; used by every decider. Returns 0 or SK_ENOMEM.
 * (Implemented in decide_result.c.)
 */
int sk_decide_deprovisioning(const sk_rules_t *rules, sk_ms_t now_ms, sk_arena_t *arena,
                             sk_decision_t *d);

/* Retries of a command an automatic provisioner answered FAILED
 * (retryable): at most SK_RETRY_MAX, the k-th (k from 0) due
 * SK_RETRY_BASE_MS << k after the previous answer or retry, at most
 * SK_RETRY_CAP_MS. */
#define SK_RETRY_MAX 5
#define SK_RETRY_BASE_MS (60LL * 1000)
#define SK_RETRY_CAP_MS (3600LL * 1000)

/*
 * sk_decide_retries — first remembers each REVOKE of d of an automatically
 * provisioned entitlement as a REVOKE memo in d->state (state.h, "r:"), and
 * drops the REVOKE records of entitlements d grants, extends or revokes
 * anew. Then the retries of d->state that are due at now_ms: a GRANT or
 * EXTEND is recomputed from the sources of its entitlement in d->state, and
 * when it still has the id retried it is emitted again (same id, issued
 * now; appended to d->commands); a REVOKE is emitted again under its id
 * while no source holds the entitlement; then the next retry is scheduled,
 * or after SK_RETRY_MAX retries a PROVISIONING task without assignees says
 * it gave up; when a later change superseded it the retry is dropped.
 * Lowers *wake to the next retry due. Call after the commands and the new
 * state are set and before the diff; replaces d->commands, d->tasks and
 * d->state.retries with arena copies when anything changes.
 * Returns 0 or SK_ENOMEM. (Implemented in decide_result.c.)
 */
int sk_decide_retries(const sk_rules_t *rules, sk_ms_t now_ms, sk_arena_t *arena,
                      sk_decision_t *d, sk_ms_t *wake);

/*
 * sk_decide_prune — drops from *state the closed requests whose last update
 * is SK_SHIFT_MEMORY_MS or more before now_ms: DENIED and CANCELLED ones,
 * APPROVED requests no grant source holds any more, and closed revocation
 * proposals — a confirmed one only once no shift left in the state has a
 * grant window of its entitlement that had begun when it was confirmed
 * (sk_decide keeps those windows revoked while it is remembered). Lowers
 * *wake to the earliest time a closed request still kept becomes droppable.
 * Replaces state->requests with an arena copy when it drops anything.
 * Returns how many it dropped, or SK_ENOMEM. (Implemented in
 * decide_result.c.)
 */
int sk_decide_prune(const sk_rules_t *rules, sk_ms_t now_ms, sk_user_state_t *state,
                    sk_arena_t *arena, sk_ms_t *wake);

/*
 * sk_decide_pending_wake — lowers *wake to when the next retry of *state is
 * due or its next closed request may be forgotten, changing nothing: for
 * decisions that leave the state as it was (rejected inputs), so that
 * their wake-up does not lose those times. Returns 0 or SK_ENOMEM.
 * (Implemented in decide_result.c.)
 */
int sk_decide_pending_wake(const sk_rules_t *rules, sk_ms_t now_ms, const sk_user_state_t *state,
                           sk_arena_t *arena, sk_ms_t *wake);

/*
 * sk_decide_next_window_start — the earliest start of a grant window (shift
 * start minus the edge's grant_before) after now_ms among `shifts` that are
 * not cancelled, through the enrollment edges of their rotations that cover
 * their escalation level; SK_MS_NONE when none. The wake-up every decider
 * needs for grants still to come. Pure.
 */
sk_ms_t sk_decide_next_window_start(const sk_rules_t *rules, const sk_shift_t *shifts,
                                    size_t n_shifts, sk_ms_t now_ms);

/*
 * sk_decide_command_id — the deterministic id of a command: a 128-bit hash
 * (32 hex chars) over action, user, entitlement, expiry and the sorted
 * sources. Writes into out (33 bytes).
 */
void sk_decide_command_id(const sk_command_t *cmd, const char *ent_key,
                          char out[33]);

#endif
