/*
 * cli_campaign.h — `shiftkey campaign` (cli_campaign.c): access review
 * campaigns' list, show, start, close and report.
 */
#ifndef SK_CLI_CAMPAIGN_H
#define SK_CLI_CAMPAIGN_H

#include <stddef.h>

#include "cli/cli_task.h"

/* argv[0] is "campaign". Exit codes: 0, 1 (failed: rules refused, broker or
 * Redis unreachable, nothing to report), 2 usage. */
int sk_cli_campaign(int argc, char **argv);

/*
 * sk_cli_campaign_open_reviews — the bulk form of `task certify|revoke
 * --campaign C`: the n_ids ids given, then the task id of every
 * ACCESS_REVIEW task of campaign C (any run) whose latest event on t is
 * open and names `assignee` among its assignees, without repeats. A malloc'd
 * array (the caller frees it; the strings are borrowed from ids and t),
 * *n_out its length; NULL when out of memory.
 */
char **sk_cli_campaign_open_reviews(const sk_cli_tasks_t *t, const char *campaign,
                                    const char *assignee, char *const *ids, size_t n_ids,
                                    size_t *n_out);

#endif
