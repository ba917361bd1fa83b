/*
 * notify.h — shiftkey → Slack and e-mail: reads shiftkey.tasks.v1 (and the
 * commands topic for grants, the requests topic for what each request
 * said, the dead-letter topic for grants Kafka refused) and tells the
 * people concerned.
 *
 *   task CREATED / ASSIGNED   a DM with the buttons to each assignee (their
 *                             `slack:` id, or users.lookupByEmail when
 *                             enabled); e-mail for people without one
 *   task UPDATED              a thread reply under each of its messages; a
 *                             reminder (`task remind`) re-notifies the assignees
 *   task CLOSED               chat.update of every message of the task:
 *                             buttons gone, outcome and reason shown; the
 *                             requester hears of a denied/cancelled request
 *   GRANT of a request        a DM to the requester
 *   GRANT refused by Kafka    a DM to its user that the access was not given
 *                             (the engine's dead-letter notice, refused.h)
 *   EMERGENCY_GRANT record    ⚡ everywhere; every emergency grant (auto-
 *                             approved ones included: the engine publishes one
 *                             such record per grant) posted once to the
 *                             security channel and e-mailed to the security
 *                             address when set
 *   open for long             automatic reminders (after --remind-after, then
 *                             every --remind-every), counted in the journal
 *
 * Delivery is at least once and de-duplicated: the topics are read from
 * their beginning at every start (by assignment, no consumer group) and
 * each step of each event is marked in the journal once Slack (or the SMTP
 * server) accepted it. A step that fails for a transient reason (network,
 * 5xx, 429 beyond the waits) is retried, the partition's later records
 * wait behind it; a permanent refusal (user_not_found, ...) is logged and
 * skipped.
 */
#ifndef SK_SLACK_NOTIFY_H
#define SK_SLACK_NOTIFY_H

#include <signal.h>

#include "api.h"
#include "journal.h"
#include "mail.h"
#include "rules/rules.h"
#include "shared.h"

typedef struct sk_slack_notifier_cfg {
    const char *brokers;
    const char *tasks_topic, *commands_topic, *requests_topic, *deadletter_topic;
    const sk_rules_t *rules;
    const sk_slack_api_t *api;
    const sk_slack_smtp_t *smtp;  /* url "" or NULL: no e-mail */
    int email_always;             /* e-mail people with a Slack id too */
    int email_lookup;             /* users.lookupByEmail for people without a slack: id */
    const char *security_channel; /* "" or NULL: none */
    const char *security_email;   /* "" or NULL: none; needs smtp */
    sk_ms_t remind_after_ms;      /* 0: no automatic reminders */
    sk_ms_t remind_every_ms;      /* after the first; 0: only one */
    sk_slack_tasks_t *tasks;      /* updated from the tasks topic */
    sk_slack_journal_t *journal;
    volatile sig_atomic_t *stop;
} sk_slack_notifier_cfg_t;

/* Runs until *stop is set. 0, or SK_EIO when Kafka cannot be used at all. */
int sk_slack_notifier_run(const sk_slack_notifier_cfg_t *cfg);

#endif
