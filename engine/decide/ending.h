/*
 * ending.h — the common ending of every decision (sk_decide, sk_decide_reject,
 * sk_decide_request, sk_decide_result): the audit trace, the closing steps
 * (followups.h), the wake-up and keep-until, the state diff, the bound on
 * free text and the audit record with its id. One copy, so that the
 * deciders cannot drift apart. Not a public header. Pure.
 *
 * Use: sk_decide_end_init once the decision's output is cleared; trace
 * with sk_decide_trace_add(&e->trace, ...) or sk_decide_trace_lazy; set d->state (and commands,
 * tasks) to the decider's result; sk_decide_end_close; set the audit
 * record's actor, user, event_id, decision and reason; sk_decide_end_audit.
 */
#ifndef SK_DECIDE_ENDING_H
#define SK_DECIDE_ENDING_H

#include <stdbool.h>

#include "decide/common.h"
#include "decide/decide.h"

typedef struct sk_decide_end {
    const sk_rules_t *rules;
    sk_ms_t now_ms;             /* the decision time */
    sk_arena_t *arena;          /* everything made here comes from it */
    const sk_user_state_t *old; /* the state before the decision (borrowed) */
    sk_decision_t *d;           /* the decision being finished (borrowed) */
    sk_decide_trace_t trace;    /* the audit trace, in order */
    sk_ms_t wake;               /* the next wake-up so far; deciders may lower it */
} sk_decide_end_t;

/* Prepares e for a decision d of the user whose state was `old` (NULL for
 * sk_decide_reject, which has no state); wake starts at SK_MS_NONE. */
void sk_decide_end_init(sk_decide_end_t *e, const sk_rules_t *rules, sk_ms_t now_ms,
                        sk_arena_t *arena, const sk_user_state_t *old, sk_decision_t *d);

/*
 * sk_decide_end_close — the closing steps, once d->state, d->commands and
 * d->tasks hold the decider's result. A rejected decision only reads the
 * times of the retries and closed requests of its state
 * (sk_decide_pending_wake). Otherwise: DEPROVISIONING tasks, the retries
 * that are due (when `retries_due`; a refusal changes nothing, so it only
 * reads their times and they wait for the timer), the new tasks and
 * commands traced, closed requests forgotten (traced), the details of
 * held entitlements kept (state.h "e:"). Then
 * d->next_wake_ms = the earliest of e->wake, those times, the next grant
 * window start of d->state's shifts and its sources' expiries;
 * d->keep_until_ms (SK_MS_NONE while the state awaits people, else
 * SK_SHIFT_MEMORY_MS after the wake-up, or after now without one); d->diff
 * from e->old to d->state, its writes not written (sk_state_diff_lazy). Returns 0 or SK_ENOMEM.
 */
int sk_decide_end_close(sk_decide_end_t *e, bool retries_due);

/*
 * sk_decide_end_audit — bounds every free text of d (task and command
 * reasons, the reject reason and the audit reason) with
 * sk_decide_text_bound (trace lines are bounded when written,
 * sk_text_render), then completes d->audit, whose actor, user,
 * event_id, decision and reason the decider set: audit_id (a 128-bit hash
 * of user, event_id, origin and, unless `id_tail` is SK_MS_NONE, id_tail),
 * at_ms, rules_version, origin, command ids and the trace. SK_ENOMEM when
 * an allocation fails or the decision or reason is NULL (a string the
 * decider could not allocate), else 0.
 */
int sk_decide_end_audit(sk_decide_end_t *e, const sk_origin_t *origin, sk_ms_t id_tail);

/* The audit decision for a decision with commands: "granted", "revoked",
 * "extended" when all are of one action, else "changed". */
const char *sk_decide_commands_word(const sk_decision_t *d);

#endif
