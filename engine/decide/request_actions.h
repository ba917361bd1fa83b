/*
 * request_actions.h — the request actions after creation other than the
 * reviews (request_actions.c has the table of who may do what): called by
 * the dispatcher of sk_decide_request (request.c). Not a public header.
 * Each returns 0 (also when it refuses or rejects the event) or SK_ENOMEM.
 */
#ifndef SK_DECIDE_REQUEST_ACTIONS_H
#define SK_DECIDE_REQUEST_ACTIONS_H

#include "decide/request_ctx.h"

int sk_rq_on_commented(sk_rq_ctx_t *c);
int sk_rq_on_reminder(sk_rq_ctx_t *c);
int sk_rq_on_reassigned(sk_rq_ctx_t *c);
int sk_rq_on_process_now(sk_rq_ctx_t *c);
int sk_rq_on_restart(sk_rq_ctx_t *c); /* RESTARTED, HARD_RESET, POLICY_CHANGED */
int sk_rq_on_step_skipped(sk_rq_ctx_t *c);
int sk_rq_on_deleted(sk_rq_ctx_t *c);
int sk_rq_on_revocation_proposed(sk_rq_ctx_t *c);

#endif
