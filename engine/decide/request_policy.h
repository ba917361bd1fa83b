/*
 * request_policy.h — running a request's frozen policy (request_policy.c):
 * used by the request events (request.c), the other actions
 * (request_actions.c) and provisioning results (result.c). Not a public
 * header. Pure.
 */
#ifndef SK_DECIDE_REQUEST_POLICY_H
#define SK_DECIDE_REQUEST_POLICY_H

#include "decide/request_ctx.h"

/* Resolves the reviewers of a step for c->rq into *ids (arena): users,
 * group members, the manager, the app owner, the on-call of a rotation (from
 * the pre-resolved lists), without repeats, without the requester unless the
 * step allows self-approval. 0 or SK_ENOMEM. */
int sk_rq_reviewers(sk_rq_ctx_t *c, const sk_reviewers_t *rv, const char ***ids, size_t *n);

/* Adds c->rq's grant sources now (each capped by its entitlement's
 * max_duration) and marks it APPROVED; an emergency request also gets its
 * EMERGENCY_GRANT task record (one per grant: the security channel's
 * source). Denies it when its target left the rules. 0 or SK_ENOMEM. */
int sk_rq_grant_now(sk_rq_ctx_t *c);

/* Adds s to c's new source table, or replaces the one of the same kind,
 * entitlement and id. s's strings must outlive the decision (arena or
 * rules). 0, or SK_ENOMEM. */
int sk_rq_push_source(sk_rq_ctx_t *c, const sk_grant_source_t *s);

/* Runs c->rq's frozen policy from its current step: waits at a reviewers
 * step, denies on a false condition, and when every step passed grants,
 * starts provisioning by hand, or (a revocation proposal) revokes.
 * 0 or SK_ENOMEM. */
int sk_rq_run_steps(sk_rq_ctx_t *c);

#endif
