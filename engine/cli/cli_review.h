/*
 * cli_review.h — picking access reviews off the tasks topic for the bulk
 * form of `shiftkey task certify|revoke --campaign C` (cli_review.c, below
 * cli_task.c; it calls nothing else of the CLI).
 */
#ifndef SK_CLI_REVIEW_H
#define SK_CLI_REVIEW_H

#include <stddef.h>

#include "cli/cli_task.h"

/*
 * sk_cli_review_open — the n_ids ids given, then the task id of every
 * ACCESS_REVIEW task of campaign C (any run) whose latest event on t is
 * open and names `assignee` among its assignees, without repeats, in the
 * order of the topic. A malloc'd array (the caller frees it; the strings
 * are borrowed from ids and t), *n_out its length; NULL when out of memory.
 */
char **sk_cli_review_open(const sk_cli_tasks_t *t, const char *campaign, const char *assignee,
                          char *const *ids, size_t n_ids, size_t *n_out);

#endif
