/* channel.c — an access review campaign's Slack channel (channel.h). */
#include "channel.h"

#include <pthread.h>
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

/* Channel names already looked up (conversations.list), for the process. */
#define NAMES_MAX 32
static struct {
    char name[128], id[32];
} names[NAMES_MAX];
static size_t n_names;
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

/* Looks `name` (no '#') up in one page of a conversations.list answer. */
static const char *page_find(json_t *reply, const char *name)
{
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(reply, "channels"), i, ch)
    {
        const char *n = json_string_value(json_object_get(ch, "name"));
        const char *id = json_string_value(json_object_get(ch, "id"));
        if (n && id && strcmp(n, name) == 0)
            return id;
    }
    return NULL;
}

/*
 * The channel id to give Slack for a campaign's `slack_channel`: an id
 * (C…, G…) as written; a name ("#x") looked up with conversations.list
 * (the public and private channels the app can see, page by page; needs
 * the channels:read and groups:read scopes), remembered for the process.
 * Slack's conversations.invite and conversations.setTopic take ids only.
 * 0 with the id in out; SK_ENOTFOUND when no channel has that name (said
 * in the log); SK_EAGAIN when Slack should be asked again.
 */
static int channel_id(const sk_slack_notifier_cfg_t *cfg, const char *channel, char *out,
                      size_t len)
{
    if (channel[0] != '#') {
        snprintf(out, len, "%s", channel);
        return 0;
    }
    const char *name = channel + 1;
    int rc = SK_ENOTFOUND;
    pthread_mutex_lock(&names_lock);
    for (size_t i = 0; i < n_names; i++)
        if (strcmp(names[i].name, name) == 0) {
            snprintf(out, len, "%s", names[i].id);
            pthread_mutex_unlock(&names_lock);
            return 0;
        }
    pthread_mutex_unlock(&names_lock);
    char cursor[256] = "", err[256];
    for (int page = 0; page < 200; page++) { /* 200 pages of 200 channels */
        json_t *reply = NULL,
               *args = json_pack("{s:s, s:b, s:i}", "types", "public_channel,private_channel",
                                 "exclude_archived", 1, "limit", 200);
        if (!args)
            return SK_EAGAIN;
        if (cursor[0])
            json_object_set_new(args, "cursor", json_string(cursor));
        int arc = sk_slack_api_call(cfg->api, "conversations.list", args, &reply, err, sizeof(err));
        json_decref(args);
        if (arc != 0) {
            if (arc == SK_EINVAL) /* missing_scope, ...: asking again will not help */
                SK_WARN("shiftkey-slack: cannot look channel %s up: %s", channel, err);
            return arc == SK_EINVAL ? SK_ENOTFOUND : SK_EAGAIN;
        }
        const char *id = page_find(reply, name);
        if (id) {
            snprintf(out, len, "%s", id);
            pthread_mutex_lock(&names_lock);
            if (n_names < NAMES_MAX) {
                snprintf(names[n_names].name, sizeof(names[n_names].name), "%s", name);
                snprintf(names[n_names].id, sizeof(names[n_names].id), "%s", id);
                n_names++;
            }
            pthread_mutex_unlock(&names_lock);
            rc = 0;
        }
        const char *next = json_string_value(
            json_object_get(json_object_get(reply, "response_metadata"), "next_cursor"));
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        json_decref(reply);
        if (rc == 0 || !cursor[0])
            break;
    }
    if (rc == SK_ENOTFOUND)
        SK_WARN("shiftkey-slack: no channel named %s that the app can see (invite the app to it, "
                "or give the channel id C… as slack_channel)",
                channel);
    return rc;
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
    char chan[64];
    int crc = channel_id(cfg, c->slack_channel, chan, sizeof(chan));
    if (crc != 0)
        return crc == SK_EAGAIN ? SK_EAGAIN : 0; /* no such channel: said in the log */
    if (t->state == SK_TASK_CREATED || t->state == SK_TASK_ASSIGNED) {
        for (size_t i = 0; i < c->n_owners; i++)
            if (invite(cfg, chan, c->owners[i]->id, uid, ctx) != 0)
                return SK_EAGAIN;
        for (size_t i = 0; i < t->n_assignees; i++)
            if (invite(cfg, chan, t->assignees[i], uid, ctx) != 0)
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
                     json_pack("{s:s, s:s}", "channel", chan, "topic", topic));
}
