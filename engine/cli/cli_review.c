/* cli_review.c — open access reviews of a campaign (cli_review.h). */
#include "cli/cli_review.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The latest event of task id on t (t holds each task's events in order). */
static const sk_task_t *latest(const sk_cli_tasks_t *t, const char *id)
{
    for (size_t i = t->n; i-- > 0;)
        if (strcmp(t->v[i].task_id, id) == 0)
            return &t->v[i];
    return NULL;
}

char **sk_cli_review_open(const sk_cli_tasks_t *t, const char *campaign, const char *assignee,
                          char *const *ids, size_t n_ids, size_t *n_out)
{
    size_t n = 0, len = strlen(campaign);
    char **out = calloc(n_ids + t->n + 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n_ids; i++)
        out[n++] = ids[i];
    for (size_t i = 0; i < t->n; i++) {
        const sk_task_t *k = &t->v[i];
        bool mine = false, seen = false;
        if (k->kind != SK_TASK_ACCESS_REVIEW || k->state != SK_TASK_CREATED ||
            strncmp(k->request_id, campaign, len) != 0 || k->request_id[len] != '@')
            continue;
        const sk_task_t *last = latest(t, k->task_id);
        for (size_t a = 0; last && a < last->n_assignees; a++)
            mine |= strcmp(last->assignees[a], assignee) == 0;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(out[j], k->task_id) == 0;
        if (mine && last->state != SK_TASK_CLOSED && !seen)
            out[n++] = (char *)k->task_id;
    }
    *n_out = n;
    return out;
}
