/*
 * request_ctx.h — the working memory of one request decision and the
 * helpers every request file shares, at the bottom of them: request.c (the
 * dispatcher and the core events) -> request_actions.c (the other actions)
 * -> request_policy.c (the policy run) -> request_ctx.c; result.c
 * (provisioning results) uses the last two. Not a public header. Pure;
 * every string a helper makes is allocated from c->arena.
 */
#ifndef SK_DECIDE_REQUEST_CTX_H
#define SK_DECIDE_REQUEST_CTX_H

#include <stdbool.h>

#include "decide/common.h"
#include "decide/decide_request.h"
#include "decide/ending.h"

#define SK_RQ_MAX_TASKS 16

/* Working memory of one decision (a request event or a provisioning result,
 * the latter seen through a synthesized event: actor = the provisioner). */
typedef struct sk_rq_ctx {
    const sk_rules_t *rules;
    const sk_request_input_t *in;
    const sk_request_event_t *ev;
    const sk_user_state_t *old;
    sk_arena_t *arena;
    sk_request_decision_t *out;
    const sk_person_t *requester; /* the subject; NULL when not in the directory */
    sk_request_state_t *requests; /* the new request table */
    size_t n_requests;
    sk_request_state_t *rq;     /* the request acted on, in requests; NULL if none */
    sk_grant_source_t *sources; /* the new sources */
    size_t n_sources, cap_sources;
    sk_open_task_t *open_tasks; /* the new open tasks ("t:") */
    size_t n_open_tasks;
    sk_retry_t *retries; /* the new command retries ("r:") */
    size_t n_retries;
    sk_decide_end_t end; /* the trace and the common ending */
    sk_task_t tasks[SK_RQ_MAX_TASKS];
    size_t n_tasks;
    bool changed;                /* requests, sources or open tasks changed */
    bool enomem;                 /* an allocation failed: the decision fails */
    const char *word;            /* audit decision when no command */
    const char *reason;          /* audit reason when no command */
    int rerun_step;              /* PROCESS_NOW: the step re-run, else -1 */
    const char **kept_approvers; /* its approvals, kept */
    size_t n_kept;
    struct sk_state_field *campaign; /* the new access review fields, when set
                                        (campaign_actions.c); else the old */
    size_t n_campaign;
} sk_rq_ctx_t;

/* ---- lifecycle ---- */

/* Copies the state's tables into fresh arrays of c; 0 or SK_ENOMEM. */
int sk_rq_begin(sk_rq_ctx_t *c, const sk_rules_t *rules, const sk_request_input_t *in,
                const sk_user_state_t *state, sk_arena_t *arena, sk_request_decision_t *out);

/* Builds out from c: the new state (unless rejected, refused or
 * unchanged) and its commands, then the common ending (ending.h) and the
 * audit record. SK_ENOMEM when an allocation failed on the way (c->enomem)
 * or here, else 0. */
int sk_rq_finish(sk_rq_ctx_t *c);

/* ---- outcomes ---- */

void sk_rq_trace(sk_rq_ctx_t *c, const char *line);

/* Rejects the event (dead letter); a NULL reason (its allocation failed)
 * sets c->enomem. Returns 0. */
int sk_rq_reject(sk_rq_ctx_t *c, sk_dead_letter_kind_t kind, const char *reason);

/* Refuses the event (audited "refused"); a NULL reason (its allocation
 * failed) sets c->enomem: an allocation failure is never a decision.
 * Returns 0, or SK_ENOMEM for a NULL reason. */
int sk_rq_refuse(sk_rq_ctx_t *c, const char *reason);

/* ---- ids and people ---- */

/* A copy of ids with `id` appended (when absent); NULL on ENOMEM. */
const char **sk_rq_ids_with(sk_rq_ctx_t *c, const char *const *ids, size_t n, const char *id,
                            size_t *n_out);

/* Member of the `shiftkey-admins` group of the rules (decide_request.h). */
bool sk_rq_is_admin(const sk_rq_ctx_t *c, const char *actor);

/* 1 when the subject has an open shift in rotation_id covering now. */
int sk_rq_on_call(const sk_rq_ctx_t *c, const char *rotation_id);

/* The request settings that govern rq (its entitlement's, or its
 * profile's own block); NULL when the rules have none any more. */
const sk_request_settings_t *sk_rq_settings(const sk_rq_ctx_t *c, const sk_request_state_t *rq);

/* ---- requests and tasks ---- */

/* The id of a task of rq: deterministic over subject, request, policy,
 * step, emergency, round and tag ("review", "provision"). NULL on ENOMEM. */
const char *sk_rq_task_id(sk_rq_ctx_t *c, const sk_request_state_t *rq, int step, const char *tag);

/* The id of rq's PROVISIONING task (recomputed from the stored state). */
const char *sk_rq_provision_task_id(sk_rq_ctx_t *c, const sk_request_state_t *rq);

/* The kind of the task rq has open now (or had, just before it closed). */
sk_task_kind_t sk_rq_task_kind(const sk_request_state_t *rq);

/* Appends a task record about c->rq (its current step and assignees). */
int sk_rq_task(sk_rq_ctx_t *c, sk_task_kind_t kind, sk_task_state_t state,
               sk_task_outcome_t outcome, const char *reason);

/* Appends a free-standing task record (t->at_ms and t->subject are set); a
 * CLOSED one loses its assignees (empty once closed, as the schema says).
 * SK_ENOMEM when an id or reason is NULL or SK_RQ_MAX_TASKS are reached. */
int sk_rq_task_raw(sk_rq_ctx_t *c, const sk_task_t *t);

/* Ends c->rq with status st; closes its open task with outcome. */
int sk_rq_close_request(sk_rq_ctx_t *c, sk_request_status_t st, sk_task_outcome_t outcome,
                        const char *word, const char *reason);

/* Closes c->rq's open task (if it waits at a step) as CANCELLED because
 * `why` abandons it; the request itself is untouched. */
int sk_rq_abandon_task(sk_rq_ctx_t *c, const char *why);

/* Checks that c->rq exists (else rejects) and has status OPEN (or
 * PROVISIONING too when `provisioning_ok`), else refuses. 1 when it may act. */
int sk_rq_need_open(sk_rq_ctx_t *c, bool provisioning_ok);

/* The reviewers step c->rq waits at, or NULL. */
const sk_policy_step_t *sk_rq_current_step(sk_rq_ctx_t *c);

#endif
