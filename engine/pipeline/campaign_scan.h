/*
 * campaign_scan.h — the start of an access review campaign's run in the
 * partitions this instance owns (campaign_scan.c, issue 17).
 */
#ifndef SK_PIPELINE_CAMPAIGN_SCAN_H
#define SK_PIPELINE_CAMPAIGN_SCAN_H

#include "pipeline/engine_internal.h"

/* How often the engine looks for a run that started (ms). */
#define SK_CAMPAIGN_SCAN_MS 1000

/*
 * sk_campaign_scan — for each campaign of the rules in force whose current
 * run has started and is not over, and each owned partition that has not
 * been swept for that run yet (`<prefix>:{p<N>}:campaigns`, field = the
 * campaign id, value = the run's start), decides every user of the
 * partition with state now (as a timer, through the normal decide -> apply
 * -> emit path), so that each user's snapshot is the state at the run's
 * start (decide/campaign.h); then records the run as swept. Rate-limited to
 * one look every SK_CAMPAIGN_SCAN_MS. Losing the hash only costs a second
 * sweep (a user's snapshot is taken once, decide/campaign_state.h).
 * Returns 0, or the first error (SK_EIO: Redis away; the next scan
 * retries).
 */
int sk_campaign_scan(sk_engine_t *e, sk_ms_t now);

#endif
