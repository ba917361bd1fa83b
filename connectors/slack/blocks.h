/*
 * blocks.h — every message and modal the app shows, as Block Kit JSON
 * (jansson), and the same notifications as e-mail text and HTML. Pure: no
 * I/O, no clock; each function returns a new object the caller owns
 * (json_decref / free), or NULL when out of memory.
 *
 * Buttons carry their task in their value (payload.h, sk_slack_task_ref)
 * and name the action in their action_id (action.h).
 */
#ifndef SK_SLACK_BLOCKS_H
#define SK_SLACK_BLOCKS_H

#include <jansson.h>

#include "codec/event.h"
#include "refused.h"
#include "rules/rules.h"
#include "shared.h"

/* How a task message is drawn. */
typedef enum sk_slack_note {
    SK_SLACK_NOTE_NEW = 0,  /* created or (re)assigned: with buttons */
    SK_SLACK_NOTE_REMINDER, /* a reminder: with buttons, marked as such */
    SK_SLACK_NOTE_CLOSED    /* chat.update of a closed task: outcome, no buttons */
} sk_slack_note_t;

/* {"text": fallback, "blocks": [...]} for a task. rules (may be NULL)
 * turns people into @mentions. ⚡ on every emergency task. */
json_t *sk_slack_blocks_task(const sk_slack_task_view_t *v, sk_slack_note_t note,
                             const sk_rules_t *rules);

/* A thread reply about a task's update (comment, step, reminder reason). */
json_t *sk_slack_blocks_update(const sk_task_t *t);

/* What the requester hears: decided (a closed review: APPROVED/DENIED/...)
 * or granted (a GRANT command held by a request). */
json_t *sk_slack_blocks_requester_task(const sk_task_t *t);
json_t *sk_slack_blocks_requester_grant(const sk_command_t *c);

/* What the user hears of a GRANT Kafka refused for good (refused.h): the
 * access was decided but not given; the operators were alerted. */
json_t *sk_slack_blocks_requester_refused(const sk_slack_refused_t *r);

/* The security channel's notice of an emergency grant: v->task is an
 * EMERGENCY_GRANT record (who, what, until, justification: the record's,
 * else v->justification; the reason). */
json_t *sk_slack_blocks_security_grant(const sk_slack_task_view_t *v, const sk_rules_t *rules);

/* /shiftkey request: the modal (callback_id "request"). target fixed when
 * given (then the emergency toggle appears only if the entitlement has an
 * emergency policy), else a picker of every requestable entitlement (the
 * toggle then says it applies where a break-glass policy exists). */
json_t *sk_slack_blocks_request_modal(const sk_rules_t *rules, const char *target);

/* The modal that completes a button needing text: deny (comment),
 * wont_provision (reason, required), reject (comment), duration (new
 * duration). value is the button's value, kept as private_metadata. */
json_t *sk_slack_blocks_action_modal(const char *action, const char *value);

/* An ephemeral answer: plain text, or a list of tasks with their buttons. */
json_t *sk_slack_blocks_ephemeral(const char *text);
json_t *sk_slack_blocks_task_list(const char *title, const sk_slack_task_view_t *v, size_t n,
                                  int with_buttons, const sk_rules_t *rules);

/* The e-mail of a task notification: subject, plain text and HTML
 * (malloc'd; free each). 0 or SK_ENOMEM. */
int sk_slack_mail_render(const sk_slack_task_view_t *v, sk_slack_note_t note, char **subject,
                         char **text, char **html);

#endif
