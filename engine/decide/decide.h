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
 *
 * This header is the shift decider's (shift.c) and the types every decider
 * returns; the request and result deciders are in decide_request.h. Inside
 * decide/, lowest first: state.c, common.c, windows.c, commands.c,
 * followups.c, ending.c (the common ending of every decider), then the
 * deciders: shift.c; request_ctx.c, request_policy.c, request_actions.c,
 * request.c; result.c. Each file calls only files before it.
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
    SK_INPUT_TIMER = 1,    /* the user's durable timer fired */
    SK_INPUT_RULES = 2     /* the rules in force changed: decide again (like a
                              timer; audited with actor "rules") */
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

    sk_user_state_t state; /* the user's state after the decision */
    sk_state_diff_t diff;  /* fields to write / delete to get there; the writes
                              are written by sk_state_diff_write (state.h) */
    size_t n_commands;
    sk_command_t *commands; /* in a stable order (entitlement key) */
    size_t n_tasks;
    sk_task_t *tasks;      /* task records to publish, in order */
    sk_audit_t audit;      /* exactly one per decision */
    sk_ms_t next_wake_ms;  /* when the user's timer must fire; SK_MS_NONE */
    sk_ms_t keep_until_ms; /* state may be dropped after this (key TTL);
                                SK_MS_NONE while a request or task of the
                                user waits for people (sk_state_awaits_people) */
} sk_decision_t;

/*
 * sk_decide — decides one input. `state` is the user's current state (not
 * modified). Everything in *out is allocated from `arena` and borrows
 * strings from `in`, `state` and `rules`, so all of them must outlive the
 * use of *out. Every free text in *out (reasons; trace lines when written)
 * is at most SK_TEXT_MAX bytes (codec/text.h), cut with a marker when
 * longer, so that every record made from it decodes again. Text is kept
 * out of the hot path: the audit trace's lines, the reasons of the
 * commands computed from sources (reason_lazy; and the audit reason that
 * repeats the first one) and the state diff's field writes are written
 * only when read — when the records are encoded (or sk_command_reason,
 * sk_audit_reason, sk_text_render read them) and when the apply step
 * stores the diff (sk_state_diff_write), into `arena`, which must still
 * be alive then. Returns 0 (also for a rejected input), or SK_ENOMEM
 * (never a decision made of a failed allocation).
 */
int sk_decide(const sk_rules_t *rules, const sk_input_t *in, const sk_user_state_t *state,
              sk_arena_t *arena, sk_decision_t *out);

/*
 * sk_decide_reject — the decision for an input that never reached the rules
 * (undecodable, or invalid before decoding finished): rejected with `kind`
 * and `reason`, no state change, one audit record. in->user may be "".
 * Allocates from arena; returns 0 or SK_ENOMEM.
 */
int sk_decide_reject(const sk_rules_t *rules, const sk_input_t *in, sk_dead_letter_kind_t kind,
                     const char *reason, sk_arena_t *arena, sk_decision_t *out);

/*
 * sk_decide_revoke_all — the REVOKE of every entitlement `state` holds, as
 * if all its sources ended at now_ms (failing closed when the state is
 * lost and cannot be restored, pipeline/ledger.c): the same commands, ids
 * and emergency flags a decision that removed the sources would make.
 * Sets out->commands and out->n_commands only (arena memory). Returns 0 or
 * SK_ENOMEM.
 */
int sk_decide_revoke_all(const sk_rules_t *rules, const sk_user_state_t *state, sk_ms_t now_ms,
                         sk_arena_t *arena, sk_decision_t *out);

/* Retries of a command an automatic provisioner answered FAILED
 * (retryable; sk_decide_result schedules the first, decide_request.h): at
 * most SK_RETRY_MAX, the k-th (k from 0) due SK_RETRY_BASE_MS << k after
 * the previous answer or retry, at most SK_RETRY_CAP_MS. The base is the
 * rules' `provisioning_retry` (tests set it low), by default 1 min. Every
 * decision of the user makes the retries that are due (the closing steps,
 * followups.h). */
#define SK_RETRY_MAX     5
#define SK_RETRY_BASE_MS SK_PROVISIONING_RETRY_DEFAULT_MS
#define SK_RETRY_CAP_MS  (3600LL * 1000)

#endif
