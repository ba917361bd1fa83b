/*
 * followups.h — the steps every decision of a user ends with, whatever its
 * input (shift event, timer, request event, provisioning result): they read
 * the commands and the new state a decider made and add to them. The
 * common ending (ending.c) runs them in this order: deprovisioning tasks,
 * retries, pruning; a rejected input only reads their times
 * (sk_decide_pending_wake). Not a public header. Pure; they replace the
 * arrays they change with arena copies and never write the inputs'.
 */
#ifndef SK_DECIDE_FOLLOWUPS_H
#define SK_DECIDE_FOLLOWUPS_H

#include "decide/decide.h"

/*
 * sk_decide_deprovisioning — for each REVOKE command of d whose entitlement
 * is provisioned by hand (its request settings say `provisioning: manual`),
 * appends a DEPROVISIONING task (CREATED, assignees = the provisioners,
 * task_id = the command id) to d->tasks, and remembers it in d->state as
 * an open task ("t:" field, state.h) unless it is already there. Call it
 * after the commands and the new state are set and before the diff.
 * Replaces d->tasks and d->state.open_tasks with arena copies when it adds
 * anything. Returns 0 or SK_ENOMEM.
 */
int sk_decide_deprovisioning(const sk_rules_t *rules, sk_ms_t now_ms, sk_arena_t *arena,
                             sk_decision_t *d);

/*
 * sk_decide_retries — first remembers each REVOKE of d of an automatically
 * provisioned entitlement as a REVOKE memo in d->state (state.h, "r:"), and
 * drops the REVOKE records of entitlements d grants, extends or revokes
 * anew. Then the retries of d->state that are due at now_ms: a GRANT or
 * EXTEND is recomputed from the sources of its entitlement in d->state, and
 * when it still has the id retried it is emitted again (same id, issued
 * now; appended to d->commands); a REVOKE is emitted again under its id
 * while no source holds the entitlement; then the next retry is scheduled
 * (SK_RETRY_*, decide.h), or after SK_RETRY_MAX retries a PROVISIONING
 * task without assignees says it gave up; when a later change superseded
 * it the retry is dropped. Lowers *wake to the next retry due. Call after
 * the commands and the new state are set and before the diff; replaces
 * d->commands, d->tasks and d->state.retries with arena copies when
 * anything changes. Returns 0 or SK_ENOMEM.
 */
int sk_decide_retries(const sk_rules_t *rules, sk_ms_t now_ms, sk_arena_t *arena, sk_decision_t *d,
                      sk_ms_t *wake);

/*
 * sk_decide_prune — drops from *state the closed requests whose last update
 * is SK_SHIFT_MEMORY_MS or more before now_ms: DENIED and CANCELLED ones,
 * APPROVED requests no grant source holds any more, and closed revocation
 * proposals — a confirmed one only once no shift left in the state has a
 * grant window of its entitlement that had begun when it was confirmed
 * (sk_decide keeps those windows revoked while it is remembered). Lowers
 * *wake to the earliest time a closed request still kept becomes droppable.
 * Replaces state->requests with an arena copy when it drops anything.
 * Returns how many it dropped, or SK_ENOMEM.
 */
int sk_decide_prune(const sk_rules_t *rules, sk_ms_t now_ms, sk_user_state_t *state,
                    sk_arena_t *arena, sk_ms_t *wake);

/*
 * sk_decide_pending_wake — lowers *wake to when the next retry of *state is
 * due or its next closed request may be forgotten, changing nothing: for
 * decisions that leave the state as it was (rejected inputs), so that
 * their wake-up does not lose those times. Returns 0 or SK_ENOMEM.
 */
int sk_decide_pending_wake(const sk_rules_t *rules, sk_ms_t now_ms, const sk_user_state_t *state,
                           sk_arena_t *arena, sk_ms_t *wake);

/* How long before retry number `attempt` (0 = the first) of a failed
 * command: the rules' provisioning_retry (sk_rules_provisioning_retry,
 * default SK_RETRY_BASE_MS) doubled per attempt, at most SK_RETRY_CAP_MS. */
sk_ms_t sk_decide_retry_delay(const sk_rules_t *rules, int attempt);

/*
 * sk_decide_provisioners — the provisioners of `set` as person ids
 * (persons, then group members, no repeats), an arena array; *n_out their
 * number. NULL when out of memory.
 */
const char **sk_decide_provisioners(sk_arena_t *arena, const sk_request_settings_t *set,
                                    size_t *n_out);

#endif
