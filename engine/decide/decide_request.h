/*
 * decide_request.h — the decision for access requests (issue 3,
 * docs/requests-design.md "The decision"): (request event, compiled rules,
 * the subject's state, now, who is on call) -> (new state, commands, tasks,
 * audit record, next wake-up).
 *
 * Pure like sk_decide: no I/O, no clock, no globals. The one input that is
 * not in the subject's state — who is on call in a rotation named by a
 * reviewers step — is resolved by the caller beforehand and passed in.
 *
 * Events (each audited with its actor; comments and justifications go to
 * the audit trace, never to state): CREATED (an entitlement, or a whole
 * profile: one source per entitlement, each capped), APPROVED / DENIED,
 * CANCELLED, DURATION_CHANGED, ESCALATED (request.c), and, in
 * request_actions.c,
 * COMMENTED, REMINDER_SENT, REASSIGNED, PROCESS_NOW, RESTARTED, HARD_RESET,
 * POLICY_CHANGED, STEP_SKIPPED, DELETED and the revocation proposals
 * (REVOCATION_PROPOSED, then REVOCATION_CONFIRMED / _DENIED by assignees of
 * the revocation_policy's steps, tasks of kind REVOCATION; confirmed, every
 * source of the entitlement goes). An approved request of an entitlement
 * provisioned by hand waits (PROVISIONING) for sk_decide_result.
 *
 * A granted request is one more source of a grant (kind REQUEST, or
 * EMERGENCY), id = request id, expiry = approval time + the approved
 * duration capped by the entitlement's max_duration; commands are computed
 * from the sources before and after by sk_decide_commands, so a shift's end
 * does not revoke what a request holds, and the request's expiry revokes it
 * through the ordinary timer path of sk_decide.
 */
#ifndef SK_DECIDE_REQUEST_H
#define SK_DECIDE_REQUEST_H

#include "decide/decide.h"

/*
 * Administrators: the members of the directory group with this reserved id
 * in the rules. They may reassign any review, restart, hard-reset, change
 * the policy of, skip a step of, delete or cancel any request or revocation
 * proposal. A rule set without this group has no administrators (the
 * secure default): those actions are then open only to whom the action
 * names besides administrators (see each action in request_actions.c).
 */
#define SK_ADMIN_GROUP "shiftkey-admins"

/* Who is on call now in one rotation (read by the caller before deciding). */
typedef struct sk_oncall_list {
    const char *rotation;
    size_t n_users;
    const char *const *users;
} sk_oncall_list_t;

typedef struct sk_request_input {
    const sk_request_event_t *event; /* decoded; event->subject is the user */
    sk_origin_t origin;
    sk_ms_t now_ms;                 /* the decision time */
    size_t n_oncall;                /* pre-resolved on-call lists */
    const sk_oncall_list_t *oncall; /* a rotation not listed: nobody */
} sk_request_input_t;

typedef struct sk_request_decision {
    /* rejected (dead letter), state, diff, commands, tasks, audit, next
     * wake-up and keep-until, with the meaning they have in sk_decide. A
     * refusal that is a decision (not requestable now, actor not assigned,
     * ...) is NOT rejected: it is audited with decision "refused". */
    sk_decision_t base;
    bool refused;
    const char *refuse_reason;
} sk_request_decision_t;

/*
 * sk_decide_request — decides one request event for the subject whose
 * state is `state` (not modified; state->user must be the event's subject).
 * Everything in *out is allocated from `arena` and borrows strings from
 * `in`, `state` and `rules`; free text is bounded as in sk_decide. Returns
 * 0 (also for rejected or refused events), or SK_ENOMEM: an allocation
 * failure is never a refusal.
 */
int sk_decide_request(const sk_rules_t *rules, const sk_request_input_t *in,
                      const sk_user_state_t *state, sk_arena_t *arena, sk_request_decision_t *out);

/* One record of shiftkey.provisioning.results.v1 to decide. */
typedef struct sk_result_input {
    const sk_provisioning_result_t *result; /* decoded; result->user is the user */
    sk_origin_t origin;
    sk_ms_t now_ms;
} sk_result_input_t;

/*
 * sk_decide_result — decides one provisioning result for the user whose
 * state is `state` (not modified; state->user must be result->user), by
 * what its command_id answers:
 *
 *   - the PROVISIONING task of one of the user's requests (status
 *     PROVISIONING; the task id is recomputed from the request's stored
 *     state). Only one of the request's provisioners (its assignees) may
 *     answer, else refused. PROVISIONED: the grant source is added now
 *     (expiry now + duration, capped by max_duration), GRANT (or EXTEND),
 *     task CLOSED PROVISIONED. WONT_PROVISION: request DENIED, task CLOSED
 *     WONT_PROVISION with the message. FAILED: task UPDATED with the
 *     message; it stays open. An answer to such a task already closed is
 *     audited "ignored".
 *   - an open DEPROVISIONING task (a "t:" field, state.h): only its
 *     provisioners; DEPROVISIONED or PROVISIONED close it (CLOSED
 *     PROVISIONED, audited "deprovisioned"), WONT_PROVISION closes it
 *     (CLOSED WONT_PROVISION, audited "wont_deprovision" with a reason that
 *     says the access may remain), FAILED updates it; closing deletes the
 *     field.
 *   - anything else: a command of an automatic provisioner. PROVISIONED /
 *     DEPROVISIONED are audited "confirmed" (and end the command's
 *     retries). FAILED with retryable set, for a GRANT / EXTEND that the
 *     user's sources still call for, schedules a retry ("r:" field,
 *     audited "retry_scheduled"; the retries themselves are made by
 *     the closing steps of the user's next decisions, followups.h).
 *     Otherwise FAILED /
 *     WONT_PROVISION are audited "provisioning_failed" and open a
 *     PROVISIONING task without assignees (request_id "", target
 *     "command:<command_id>") whose reason names the command and the
 *     message, so that notifiers surface it.
 *   - FOUND answers no command: reconciliation found the user holding
 *     result->entitlement outside shiftkey. It adds a FOUND source (id the
 *     provisioner, no expiry, no command: the access exists), audited
 *     "found"; the same finding again is audited "ignored" and changes
 *     nothing; an entitlement the rules lack is refused. Any revoke of the
 *     entitlement (a campaign's, a confirmed revocation) removes the source
 *     and sends REVOKE when nothing else holds it. DEPROVISIONED naming an
 *     entitlement (a stray reconciliation removed) drops this
 *     provisioner's FOUND source of it (the usual REVOKE follows when
 *     nothing else holds it; "ignored" when there is none).
 *
 * Rejected (dead letter, SK_DL_INVALID): user not state->user, provisioner
 * not a valid id, unknown status, empty command_id, FOUND without an
 * entitlement. The audit record's
 * actor is the provisioner and its event_id the command_id. Same ownership
 * and return values as sk_decide_request (strings also borrow from
 * in->result).
 */
int sk_decide_result(const sk_rules_t *rules, const sk_result_input_t *in,
                     const sk_user_state_t *state, sk_arena_t *arena, sk_request_decision_t *out);

#endif
