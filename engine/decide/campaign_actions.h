/*
 * campaign_actions.h — the access review campaign events of the requests
 * topic (campaign_actions.c), dispatched by request.c. Not a public header.
 * Pure.
 */
#ifndef SK_DECIDE_CAMPAIGN_ACTIONS_H
#define SK_DECIDE_CAMPAIGN_ACTIONS_H

#include "decide/request_ctx.h"

/*
 * sk_campaign_on_event — decides c->ev, one of REVIEW_CERTIFIED,
 * REVIEW_REVOKED (request_id = the ACCESS_REVIEW task id, comment = the
 * reason), CAMPAIGN_STARTED, CAMPAIGN_CLOSED (request_id = the campaign
 * id; occurred_at names a started run), for the subject c->old->user:
 * sets c's new sources, tasks and campaign fields, or rejects (unknown
 * task or campaign) or refuses (self-review, not a reviewer or owner, no
 * reason, closed, a run still open). Returns 0 or SK_ENOMEM.
 */
int sk_campaign_on_event(sk_rq_ctx_t *c);

#endif
