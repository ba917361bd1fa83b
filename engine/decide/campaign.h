/*
 * campaign.h — access review campaigns in a user's decisions (issue 17):
 * the snapshot of a run, the reminders, the end action, and the revocation
 * of a reviewed grant. Below ending.c (the common ending calls
 * sk_campaign_followups among its closing steps) and used by the campaign
 * actions (campaign_actions.c). Not a public header. Pure; everything made
 * belongs to the arena given.
 */
#ifndef SK_DECIDE_CAMPAIGN_H
#define SK_DECIDE_CAMPAIGN_H

#include "decide/campaign_state.h"
#include "decide/common.h"
#include "decide/decide.h"

#define SK_CAMPAIGN_REMINDERS_MAX 64

/*
 * sk_campaign_reminders — the reminder times of an item of a run started at
 * run_ms, due at due_ms and ending at end_ms, ascending, after run_ms and
 * before end_ms: weekly before the due date, 3 days and 1 day before it, on
 * it (when a grace follows), then daily while overdue. At most
 * SK_CAMPAIGN_REMINDERS_MAX (the latest kept). Returns their number.
 */
size_t sk_campaign_reminders(sk_ms_t run_ms, sk_ms_t due_ms, sk_ms_t end_ms, sk_ms_t *out);

/*
 * sk_campaign_snapshot — adds to r one OPEN item per grant of `held` in the
 * scope of campaign c for run run_ms (due and end from the campaign, counted
 * from run_ms), with reviewers resolved for user (never user; the owners when
 * nobody else), one CREATED ACCESS_REVIEW task each appended to *tasks, and
 * records run_ms as the user's latest run of c. Grants in scope: held by a
 * request source (REQUEST or EMERGENCY) or found outside shiftkey (FOUND)
 * of the kinds c->grants names, old
 * enough by c->older_than_ms (the request's creation in `held`). r needs room
 * for the items (sk_reviews_parse's extra). Returns the number of items made,
 * or SK_ENOMEM.
 */
int sk_campaign_snapshot(const sk_rules_t *rules, const sk_campaign_t *c, sk_ms_t run_ms,
                         sk_ms_t now, const sk_user_state_t *held, sk_arena_t *arena,
                         sk_reviews_t *r, sk_task_t **tasks, size_t *n_tasks);

/*
 * sk_campaign_revoke — takes every request or found source (REQUEST, EMERGENCY, FOUND) of
 * ent_key out of st->sources (an arena copy) and appends the commands that
 * follow (a REVOKE when nothing else holds it) to d->commands. Returns 0 or
 * SK_ENOMEM.
 */
int sk_campaign_revoke(const sk_rules_t *rules, sk_ms_t now, sk_arena_t *arena, sk_user_state_t *st,
                       const char *ent_key, sk_decision_t *d);

/* Appends task t to *tasks (arena copy of the array). 0 or SK_ENOMEM. */
int sk_campaign_task_add(sk_arena_t *arena, sk_task_t **tasks, size_t *n, const sk_task_t *t);

/* The ACCESS_REVIEW task of item it of user, in state `state` (assignees
 * unless CLOSED), with reason and actor ("" for the engine). */
sk_task_t sk_campaign_task(sk_arena_t *arena, const char *user, const sk_review_item_t *it,
                           sk_task_state_t state, sk_task_outcome_t outcome, const char *reason,
                           const char *actor, sk_ms_t now);

/*
 * sk_campaign_followups — the campaign part of every decision's closing
 * steps, on d->state (the decider's result) with `old` the state before:
 * the snapshot of each campaign's current scheduled run the user has not
 * taken yet (grants held both before and after the decision); for each
 * open item the latest reminder due and not sent (one task UPDATED, even
 * after several were missed), or at its end the end action (leave: task
 * CLOSED LEFT; revoke: the grant's request sources go, task CLOSED
 * REVOKED); items 7 days past their end dropped, runs of campaigns the
 * rules no longer have forgotten. Appends tasks and commands to d, traces
 * what it did, lowers *wake to the next reminder or end. Run it before the
 * deprovisioning step (a REVOKE of a hand-provisioned entitlement opens
 * its task there). Returns 0 or SK_ENOMEM.
 */
int sk_campaign_followups(const sk_rules_t *rules, sk_ms_t now, sk_arena_t *arena,
                          const sk_user_state_t *old, sk_decision_t *d, sk_decide_trace_t *trace,
                          sk_ms_t *wake);

/* Lowers *wake to the next reminder or end of st's open items, changing
 * nothing (decisions that leave the state as it was). 0 or SK_ENOMEM. */
int sk_campaign_pending_wake(sk_ms_t now, const sk_user_state_t *st, sk_arena_t *arena,
                             sk_ms_t *wake);

#endif
