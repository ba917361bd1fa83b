/*
 * channel.h — an access review campaign's own Slack channel (issue 17):
 * the campaign's owners and the reviewers of its items are added to it
 * (conversations.invite), and its topic reads "Completed" once every item
 * of a run is decided or ended (conversations.setTopic). The channel is
 * the campaign's `slack_channel` in the rules: a channel id (C…) is passed
 * as written; a name (#x) is looked up once with conversations.list, since
 * those two methods take ids only (scopes channels:read, groups:read).
 */
#ifndef SK_SLACK_CHANNEL_H
#define SK_SLACK_CHANNEL_H

#include "base/arena.h"
#include "codec/event.h"
#include "notify.h"

/* The Slack user id of a person id, or NULL (borrowed). */
typedef const char *(*sk_slack_uid_fn)(void *ctx, const char *person_id);

/*
 * sk_slack_campaign_channel — for an ACCESS_REVIEW task event t (others:
 * nothing): on CREATED or ASSIGNED, invites its assignees and the campaign's
 * owners (each once, remembered in the journal); on CLOSED, when the task
 * table (cfg->tasks, already updated with t) has no open ACCESS_REVIEW task
 * of t's run left, sets the channel's topic to "Completed: ..." (once per
 * run). A person Slack does not know, a campaign without a channel or gone
 * from the rules, and Slack's permanent refusals (already_in_channel, ...)
 * are done. Returns 0, or SK_EAGAIN when Slack or the journal should be
 * tried again.
 */
int sk_slack_campaign_channel(const sk_slack_notifier_cfg_t *cfg, const sk_task_t *t,
                              sk_slack_uid_fn uid, void *ctx, sk_arena_t *arena);

#endif
