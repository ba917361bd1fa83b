/*
 * campaign_state.h — a user's part of access review campaigns (issue 17):
 * the review items of the user's grants and the runs the user was
 * snapshotted for, read from and written to the user's state fields that
 * state.c carries as they are (sk_user_state_t.campaign).
 *
 * Field layout (values space-separated; ids never hold spaces):
 *   "c:<campaign> <run> <ent_key>" -> "<status> <due> <end> <sent> <decided|-> <decider|->
 *                                      <n> <assignee>..."
 *   "C:<campaign>"                 -> "<run>[ pending| closed]"
 * where run is the run's start (ms; it names the run), due and end (due +
 * grace: when the end action runs) are ms, sent the number of reminders
 * of the item's schedule already sent (sk_campaign_reminders), decided
 * and decider the time and person of the last decision. "C:" holds the
 * latest run whose snapshot the user's state already took: a run is
 * snapshotted once per user, so access given later is not added to it;
 * "pending" marks a run an owner started (CAMPAIGN_STARTED) whose snapshot
 * the closing steps of the same decision take, "closed" one an owner ended
 * (CAMPAIGN_CLOSED) before its time, so that another may start.
 *
 * Pure; everything parsed or made belongs to the arena given.
 */
#ifndef SK_DECIDE_CAMPAIGN_STATE_H
#define SK_DECIDE_CAMPAIGN_STATE_H

#include "base/arena.h"
#include "decide/state.h"

typedef enum sk_review_status {
    SK_REVIEW_OPEN = 0,      /* nobody decided yet */
    SK_REVIEW_CERTIFIED = 1, /* kept (a later revoke still wins until the end) */
    SK_REVIEW_REVOKED = 2,   /* revoked by a reviewer: final */
    SK_REVIEW_LEFT = 3,      /* open at the end, end action leave: final */
    SK_REVIEW_ENDED = 4,     /* open at the end, end action revoke: revoked, final */
    SK_REVIEW_STATUS_COUNT
} sk_review_status_t;

/* "OPEN", "CERTIFIED", ... ("UNKNOWN" past the range). */
const char *sk_review_status_name(sk_review_status_t s);

typedef struct sk_review_item {
    const char *campaign;
    sk_ms_t run_ms; /* the run's start: names the run */
    const char *ent_key;
    sk_review_status_t status;
    sk_ms_t due_ms;
    sk_ms_t end_ms;      /* due + grace: the end action runs then */
    int sent;            /* reminders of the schedule sent so far */
    sk_ms_t decided_ms;  /* SK_MS_NONE when nobody decided */
    const char *decider; /* "" when nobody decided */
    size_t n_assignees;
    const char **assignees;
} sk_review_item_t;

typedef struct sk_review_run {
    const char *campaign;
    sk_ms_t run_ms; /* the latest run snapshotted */
    bool pending;   /* started by an owner, snapshot not taken yet */
    bool closed;    /* ended by an owner before its end time */
} sk_review_run_t;

/* A user's reviews; arrays have room for `cap_*` entries. */
typedef struct sk_reviews {
    size_t n_items, cap_items;
    sk_review_item_t *items;
    size_t n_runs, cap_runs;
    sk_review_run_t *runs;
} sk_reviews_t;

/*
 * sk_reviews_parse — the reviews held in st->campaign, with room for
 * `extra` more items and runs. A field that cannot be parsed is dropped
 * (counted in *n_bad when not NULL). Returns 0 or SK_ENOMEM.
 */
int sk_reviews_parse(sk_arena_t *arena, const sk_user_state_t *st, size_t extra, sk_reviews_t *out,
                     size_t *n_bad);

/* sk_reviews_store — sets st->campaign / n_campaign to the fields of r
 * (arena copies). Returns 0 or SK_ENOMEM. */
int sk_reviews_store(sk_arena_t *arena, const sk_reviews_t *r, sk_user_state_t *st);

/* The run of `campaign` the user was last snapshotted for; SK_MS_NONE when
 * none. */
sk_ms_t sk_reviews_run(const sk_reviews_t *r, const char *campaign);

/* The ACCESS_REVIEW task id of item it of user: "rv-" and 32 hex digits of
 * a hash of campaign, run, user and entitlement. NULL on ENOMEM. */
const char *sk_review_task_id(sk_arena_t *arena, const char *user, const sk_review_item_t *it);

/* The task's request_id: "<campaign>@<run>". NULL on ENOMEM. */
const char *sk_review_run_id(sk_arena_t *arena, const char *campaign, sk_ms_t run_ms);

/* true when the item takes no decision any more at now (revoked, ended, or
 * past its end). */
bool sk_review_final(const sk_review_item_t *it, sk_ms_t now);

#endif
