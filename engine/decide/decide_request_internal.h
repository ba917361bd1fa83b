/*
 * decide_request_internal.h — the working memory and helpers shared by the
 * request deciders: decide_request.c (the context, tasks, the audit record,
 * creation and reviews), decide_policy.c (reviewers, the policy run, grants,
 * provisioning by hand, revoking), decide_actions.c (the other request
 * actions and revocation proposals) and decide_result.c (provisioning
 * results). Not a public header: only those files include it. Everything
 * here is pure; every string a helper makes is allocated from c->arena.
 */
#ifndef SK_DECIDE_REQUEST_INTERNAL_H
#define SK_DECIDE_REQUEST_INTERNAL_H

#include <stdbool.h>

#include "decide/decide_request.h"

#define DR_MAX_TASKS 16

/* Working memory of one decision (a request event or a provisioning result,
 * the latter seen through a synthesized event: actor = the provisioner). */
typedef struct dr_ctx {
    const sk_rules_t *rules;
    const sk_request_input_t *in;
    const sk_request_event_t *ev;
    const sk_user_state_t *old;
    sk_arena_t *arena;
    sk_request_decision_t *out;
    const sk_person_t *requester;      /* the subject; NULL when not in the directory */
    sk_request_state_t *requests;      /* the new request table */
    size_t n_requests;
    sk_request_state_t *rq;            /* the request acted on, in requests; NULL if none */
    sk_grant_source_t *sources;        /* the new sources */
    size_t n_sources, cap_sources;
    sk_open_task_t *open_tasks;        /* the new open tasks ("t:") */
    size_t n_open_tasks;
    sk_retry_t *retries;               /* the new command retries ("r:") */
    size_t n_retries;
    const char *trace[64];
    size_t n_trace;
    sk_task_t tasks[DR_MAX_TASKS];
    size_t n_tasks;
    bool changed;                      /* requests, sources or open tasks changed */
    const char *word;                  /* audit decision when no command */
    const char *reason;                /* audit reason when no command */
    int rerun_step;                    /* PROCESS_NOW: the step re-run, else -1 */
    const char **kept_approvers;       /* its approvals, kept */
    size_t n_kept;
} dr_ctx_t;

/* ---- lifecycle (decide_request.c) ---- */

/* Copies the state's tables into fresh arrays of c; 0 or SK_ENOMEM. */
int dr_begin(dr_ctx_t *c, const sk_rules_t *rules, const sk_request_input_t *in,
             const sk_user_state_t *state, sk_arena_t *arena, sk_request_decision_t *out);

/* Builds out from c: new state (unless rejected, refused or unchanged),
 * commands, deprovisioning tasks, pruning, wake-up, diff, tasks, audit. */
int dr_finish(dr_ctx_t *c);

/* ---- small helpers ---- */

static inline sk_ms_t dr_ms_min(sk_ms_t a, sk_ms_t b) { return a < b ? a : b; }

/* a + b for b >= 0, saturating at SK_MS_NONE. */
static inline sk_ms_t dr_ms_add(sk_ms_t a, sk_ms_t b)
{
    return a > SK_MS_NONE - b ? SK_MS_NONE : a + b;
}

void dr_trace(dr_ctx_t *c, const char *line);
const char *dr_fmt_dur(dr_ctx_t *c, sk_ms_t ms);
int dr_reject(dr_ctx_t *c, sk_dead_letter_kind_t kind, const char *reason);
int dr_refuse(dr_ctx_t *c, const char *reason);
bool dr_has_id(const char *const *ids, size_t n, const char *id);
/* A copy of ids with `id` appended (when absent); NULL on ENOMEM. */
const char **dr_ids_with(dr_ctx_t *c, const char *const *ids, size_t n, const char *id,
                         size_t *n_out);
/* Member of the `shiftkey-admins` group of the rules (decide_request.h). */
bool dr_is_admin(const dr_ctx_t *c, const char *actor);

/* ---- requests and tasks ---- */

/* 1 when the subject has an open shift in rotation_id covering now
 * (decide_policy.c). */
int dr_on_call(const dr_ctx_t *c, const char *rotation_id);

/* The request settings that govern rq (its entitlement's, or its
 * profile's own block); NULL when the rules have none any more. */
const sk_request_settings_t *dr_settings(const dr_ctx_t *c, const sk_request_state_t *rq);

/* The provisioners of set as person ids (persons, then group members, no
 * repeats); NULL on ENOMEM. */
const char **dr_provisioners(sk_arena_t *arena, const sk_request_settings_t *set, size_t *n);

/* The id of a task of rq: deterministic over subject, request, policy,
 * step, emergency, round and tag ("review", "provision"). */
const char *dr_task_id(dr_ctx_t *c, const sk_request_state_t *rq, int step, const char *tag);

/* The id of rq's PROVISIONING task (recomputed from the stored state). */
const char *dr_provision_task_id(dr_ctx_t *c, const sk_request_state_t *rq);

/* The kind of the task rq has open now (or had, just before it closed). */
sk_task_kind_t dr_task_kind(const sk_request_state_t *rq);

/* Appends a task record about c->rq (its current step and assignees). */
int dr_task(dr_ctx_t *c, sk_task_kind_t kind, sk_task_state_t state, sk_task_outcome_t outcome,
            const char *reason);

/* Appends a free-standing task record (t->at_ms and t->subject are set); a
 * CLOSED one loses its assignees (empty once closed, as the schema says).
 * SK_ENOMEM when an id or reason is NULL or DR_MAX_TASKS are reached. */
int dr_task_raw(dr_ctx_t *c, const sk_task_t *t);

/* Ends c->rq with status st; closes its open task with outcome. */
int dr_close_request(dr_ctx_t *c, sk_request_status_t st, sk_task_outcome_t outcome,
                     const char *word, const char *reason);

/* Closes c->rq's open task (if it waits at a step) as CANCELLED because
 * `why` abandons it; the request itself is untouched. */
int dr_abandon_task(dr_ctx_t *c, const char *why);

/* Adds c->rq's grant sources now and marks it APPROVED. */
int dr_grant_now(dr_ctx_t *c);

/* Resolves the reviewers of a step for c->rq into *ids (arena). */
int dr_reviewers(dr_ctx_t *c, const sk_reviewers_t *rv, const char ***ids, size_t *n);

/* Runs c->rq's frozen policy from its current step. */
int dr_run_steps(dr_ctx_t *c);

/* Checks that c->rq exists (else rejects) and has status OPEN (or
 * PROVISIONING too when `provisioning_ok`), else refuses. 1 when it may act. */
int dr_need_open(dr_ctx_t *c, bool provisioning_ok);

/* The reviewers step c->rq waits at, or NULL. */
const sk_policy_step_t *dr_current_step(dr_ctx_t *c);

/* ---- the other actions (decide_actions.c) ---- */

int dr_on_commented(dr_ctx_t *c);
int dr_on_reminder(dr_ctx_t *c);
int dr_on_reassigned(dr_ctx_t *c);
int dr_on_process_now(dr_ctx_t *c);
int dr_on_restart(dr_ctx_t *c); /* RESTARTED, HARD_RESET, POLICY_CHANGED */
int dr_on_step_skipped(dr_ctx_t *c);
int dr_on_deleted(dr_ctx_t *c);
int dr_on_revocation_proposed(dr_ctx_t *c);

#endif
