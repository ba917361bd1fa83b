/* channel.c — an access review campaign's Slack channel (channel.h). */
#include "channel.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "journal.h"

/* One API call, once per journal key. 0 or SK_EAGAIN. */
static int call_once(const sk_slack_notifier_cfg_t *cfg, const char *key, const char *method,
                     json_t *args)
{
    char err[256];
    int rc;
    if (!args)
        return SK_EAGAIN;
    if (sk_slack_journal_done(cfg->journal, key)) {
        json_decref(args);
        return 0;
    }
    rc = sk_slack_api_call(cfg->api, method, args, NULL, err, sizeof(err));
    json_decref(args);
    if (rc == SK_EIO || rc == SK_EAGAIN || rc == SK_ENOMEM)
        return SK_EAGAIN;
    if (rc != 0) /* already_in_channel, channel_not_found, ...: not worth a retry */
        SK_WARN("shiftkey-slack: %s", err);
    return sk_slack_journal_mark(cfg->journal, key) == 0 ? 0 : SK_EAGAIN;
}

static int invite(const sk_slack_notifier_cfg_t *cfg, const char *channel, const char *person,
                  sk_slack_uid_fn uid, void *ctx)
{
    const char *u = uid(ctx, person);
    char key[600];
    if (!u)
        return 0; /* nobody to add in Slack */
    snprintf(key, sizeof(key), "CI:%.256s:%.256s", channel, u);
    return call_once(cfg, key, "conversations.invite",
                     json_pack("{s:s, s:s}", "channel", channel, "users", u));
}

/* 1 when the table still has an open ACCESS_REVIEW task of run run_id. */
static int run_open(const sk_slack_notifier_cfg_t *cfg, const char *run_id, sk_arena_t *arena)
{
    sk_slack_task_view_t *v = NULL;
    size_t n = sk_slack_tasks_open(cfg->tasks, NULL, NULL, arena, &v);
    for (size_t i = 0; i < n; i++)
        if (v[i].task.kind == SK_TASK_ACCESS_REVIEW && strcmp(v[i].task.request_id, run_id) == 0)
            return 1;
    return 0;
}

int sk_slack_campaign_channel(const sk_slack_notifier_cfg_t *cfg, const sk_task_t *t,
                              sk_slack_uid_fn uid, void *ctx, sk_arena_t *arena)
{
    char id[300], key[700], topic[600];
    const char *at = strchr(t->request_id, '@');
    if (t->kind != SK_TASK_ACCESS_REVIEW || !at || (size_t)(at - t->request_id) >= sizeof(id))
        return 0;
    snprintf(id, sizeof(id), "%.*s", (int)(at - t->request_id), t->request_id);
    const sk_campaign_t *c = sk_rules_campaign(cfg->rules, id);
    if (!c || !c->slack_channel[0])
        return 0;
    if (t->state == SK_TASK_CREATED || t->state == SK_TASK_ASSIGNED) {
        for (size_t i = 0; i < c->n_owners; i++)
            if (invite(cfg, c->slack_channel, c->owners[i]->id, uid, ctx) != 0)
                return SK_EAGAIN;
        for (size_t i = 0; i < t->n_assignees; i++)
            if (invite(cfg, c->slack_channel, t->assignees[i], uid, ctx) != 0)
                return SK_EAGAIN;
        return 0;
    }
    if (t->state != SK_TASK_CLOSED || run_open(cfg, t->request_id, arena))
        return 0;
    char when[40];
    sk_ms_format(strtoll(at + 1, NULL, 10), when, sizeof(when));
    snprintf(key, sizeof(key), "CT:%.600s", t->request_id);
    snprintf(topic, sizeof(topic), "Completed: access review %s (run of %s)", c->id, when);
    return call_once(cfg, key, "conversations.setTopic",
                     json_pack("{s:s, s:s}", "channel", c->slack_channel, "topic", topic));
}
