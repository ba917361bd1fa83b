/*
 * shared.h — what both sides of shiftkey-slack use: the directory (Slack
 * user ↔ person of the rules), secrets from files or the environment, and
 * the table of tasks the notifier keeps from shiftkey.tasks.v1 (read by
 * the endpoint for /shiftkey tasks, /shiftkey status and the assignee
 * check before an action is sent).
 */
#ifndef SK_SLACK_SHARED_H
#define SK_SLACK_SHARED_H

#include <pthread.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/strmap.h"
#include "codec/event.h"
#include "rules/rules.h"

/* ---- the directory ---- */

/* The person's Slack user id: the id of a `slack:` entry of platform_ids
 * ("slack:U0123ABC" → "U0123ABC"), or NULL. Owned by the rules. */
const char *sk_slack_dir_slack_id(const sk_person_t *p);

/* The person whose platform_ids has slack:<user_id>; NULL when none. */
const sk_person_t *sk_slack_dir_by_slack_id(const sk_rules_t *rules, const char *user_id);

/* The person whose `email` is email (case-insensitive); NULL when none. */
const sk_person_t *sk_slack_dir_by_email(const sk_rules_t *rules, const char *email);

/* ---- secrets ---- */

/*
 * sk_slack_secret — reads a secret: from the file `path` when set (first
 * line, newline removed; refused when it is not a regular file, a
 * symlink, or grants others any permission or the group more than read —
 * Kubernetes' 0440 for fsGroup passes: "chmod 600 PATH"), else from the
 * environment variable env. Never from argv. 0, or -1 with the reason in
 * err (which never contains the secret). required=0: an absent secret is
 * 0 with buf "".
 */
int sk_slack_secret(const char *path, const char *env, int required, char *buf, size_t len,
                    char *err, size_t err_len);

/* ---- the task table ---- */

/* One task as last seen, with what the request's CREATED event told. */
typedef struct sk_slack_task_view {
    sk_task_t task;            /* strings owned by the table or the snapshot's arena */
    sk_ms_t created_ms;        /* at of the task's first event */
    const char *justification; /* "" when unknown */
    sk_ms_t duration_ms;       /* SK_MS_NONE when unknown */
} sk_slack_task_view_t;

typedef struct sk_slack_tasks {
    pthread_mutex_t lock;
    sk_strmap_t by_id;    /* task id -> entry (heap) */
    sk_strmap_t requests; /* request id -> request info (heap) */
} sk_slack_tasks_t;

void sk_slack_tasks_init(sk_slack_tasks_t *tt);
void sk_slack_tasks_fini(sk_slack_tasks_t *tt);

/* Records the latest event of a task (copied). 0 or SK_ENOMEM. Thread-safe. */
int sk_slack_tasks_update(sk_slack_tasks_t *tt, const sk_task_t *t);

/* Records what a request's CREATED event says (copied). 0 or SK_ENOMEM. */
int sk_slack_tasks_note_request(sk_slack_tasks_t *tt, const char *request_id,
                                const char *justification, sk_ms_t duration_ms);

/* 1 when user is an assignee of the open task task_id; 0 when not (or the
 * task is closed); -1 when the task is unknown. Thread-safe. */
int sk_slack_tasks_may_act(sk_slack_tasks_t *tt, const char *task_id, const char *user);

/*
 * sk_slack_tasks_get — a copy (strings in arena) of the task task_id, or
 * of the request's info only (task_id NULL: request_id names it). 0 or
 * SK_ENOTFOUND / SK_ENOMEM.
 */
int sk_slack_tasks_get(sk_slack_tasks_t *tt, const char *task_id, const char *request_id,
                       sk_arena_t *a, sk_slack_task_view_t *out);

/*
 * sk_slack_tasks_open — copies (into arena) every open task whose
 * assignees include `assignee` (when not NULL) and whose subject is
 * `subject` (when not NULL); *out is an arena array. Returns the count.
 */
size_t sk_slack_tasks_open(sk_slack_tasks_t *tt, const char *assignee, const char *subject,
                           sk_arena_t *a, sk_slack_task_view_t **out);

#endif
