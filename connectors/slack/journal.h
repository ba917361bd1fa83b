/*
 * journal.h — the notifier's durable memory, one append-only text file:
 * which task events were fully notified (so a replay of the tasks topic,
 * after a restart or a re-sent outbox, notifies nothing twice), where each
 * task's messages are (channel, ts: chat.update finds them after a
 * restart), and how many automatic reminders each task got. Every append
 * is fsync'ed before the call returns. Lines:
 *
 *   D <key>                      a notification step done
 *   M <task> <channel> <ts>      a message about task
 *   R <task> <n>                 n automatic reminders sent for task
 *
 * (fields separated by one tab). A torn last line (crash mid-write) is
 * ignored on load. Not thread-safe: the notifier thread owns it.
 */
#ifndef SK_SLACK_JOURNAL_H
#define SK_SLACK_JOURNAL_H

#include <stddef.h>

typedef struct sk_slack_journal sk_slack_journal_t;

typedef struct sk_slack_msg {
    const char *channel;
    const char *ts;
} sk_slack_msg_t;

/* Opens (creating, 0600) and loads path. NULL with the reason in err. */
sk_slack_journal_t *sk_slack_journal_open(const char *path, char *err, size_t err_len);
void sk_slack_journal_close(sk_slack_journal_t *j);

/* 1 when key was marked done, else 0. */
int sk_slack_journal_done(const sk_slack_journal_t *j, const char *key);

/* Marks key done (durably). 0, SK_EINVAL (a tab or newline in key), SK_EIO, SK_ENOMEM. */
int sk_slack_journal_mark(sk_slack_journal_t *j, const char *key);

/* Records a message about task. 0 or SK_E*. */
int sk_slack_journal_add_msg(sk_slack_journal_t *j, const char *task, const char *channel,
                             const char *ts);

/* The messages of task, oldest first, in *out (owned by the journal, valid
 * until its next change); returns their number. */
size_t sk_slack_journal_msgs(const sk_slack_journal_t *j, const char *task,
                             const sk_slack_msg_t **out);

/* Automatic reminders sent for task (0 when none). */
int sk_slack_journal_reminders(const sk_slack_journal_t *j, const char *task);
int sk_slack_journal_set_reminders(sk_slack_journal_t *j, const char *task, int n);

#endif
