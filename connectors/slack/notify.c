/* notify.c — the notifier: tasks → Slack DMs, updates and e-mail (notify.h). */
#include "notify.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/log.h"
#include "blocks.h"
#include "channel.h"
#include "codec/codec.h"

typedef struct ntf {
    const sk_slack_notifier_cfg_t *cfg;
    rd_kafka_t *main_rk; /* tasks + commands + dead letters */
    rd_kafka_t *req_rk;  /* requests: what each request said */
    sk_codec_t *codec;
    sk_arena_t arena;       /* per record */
    sk_strmap_t dm;         /* Slack user id -> DM channel id (heap strings) */
    int assigned[4];        /* tasks, commands, requests, dead letters */
    int n_task_parts;       /* partitions of the tasks topic */
    unsigned char eof[256]; /* tasks partitions read to their end once */
    int n_eof;              /* == n_task_parts: caught up (reminders may run) */
} ntf_t;

enum { DELIVERED = 0, RETRY = 1 };

/* ---- Kafka: assignment of every partition from the beginning ---- */

static rd_kafka_t *consumer_new(const char *brokers, char *err, size_t len)
{
    char group[64];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    snprintf(group, sizeof(group), "shiftkey-slack-%d-%ld", (int)getpid(), (long)time(NULL));
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, len) ||
        rd_kafka_conf_set(conf, "group.id", group, err, len) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, len) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", err, len) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, len) ||
        rd_kafka_conf_set(conf, "log_level", "3", err, len)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, len);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    else
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Assigns every partition of topic from the beginning once it exists.
 * 1 when assigned (now or before). */
static int assign_topic(rd_kafka_t *rk, const char *topic, int *done, int *n_parts)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t;
    if (*done)
        return 1;
    t = rd_kafka_topic_new(rk, topic, NULL);
    if (t && rd_kafka_metadata(rk, 0, t, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
            rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, l);
        if (!e) {
            *done = 1;
            if (n_parts)
                *n_parts = md->topics[0].partition_cnt;
            SK_INFO("shiftkey-slack: reading %s (%d partitions) from the beginning", topic,
                    md->topics[0].partition_cnt);
        } else
            rd_kafka_error_destroy(e);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    if (t)
        rd_kafka_topic_destroy(t);
    return *done;
}

/* ---- delivery to one person ---- */

static int transient(int rc)
{
    return rc == SK_EIO || rc == SK_EAGAIN || rc == SK_ENOMEM;
}

/* The DM channel of Slack user uid in *out (owned by n->dm). */
static int dm_channel(ntf_t *n, const char *uid, const char **out)
{
    char err[256];
    json_t *reply = NULL, *args;
    const char *ch;
    int rc;
    if ((*out = sk_strmap_get(&n->dm, uid)))
        return 0;
    args = json_pack("{s:s}", "users", uid);
    rc = sk_slack_api_call(n->cfg->api, "conversations.open", args, &reply, err, sizeof(err));
    json_decref(args);
    if (rc != 0) {
        SK_WARN("shiftkey-slack: %s", err);
        return rc;
    }
    ch = json_string_value(json_object_get(json_object_get(reply, "channel"), "id"));
    if (ch) {
        char *k = strdup(uid), *v = strdup(ch);
        if (k && v && sk_strmap_put(&n->dm, k, v) == 0)
            *out = v;
        else {
            free(k);
            free(v);
        }
    }
    json_decref(reply);
    return *out ? 0 : SK_EIO;
}

/* Posts msg (borrowed) to channel; *ts_out (may be NULL) gets the
 * message's ts (caller frees). thread_ts: a reply. */
static int post(ntf_t *n, const char *channel, json_t *msg, const char *thread_ts, char **ts_out)
{
    char err[256];
    json_t *reply = NULL;
    int rc;
    json_object_set_new(msg, "channel", json_string(channel));
    json_object_set_new(msg, "unfurl_links", json_false());
    if (thread_ts)
        json_object_set_new(msg, "thread_ts", json_string(thread_ts));
    rc = sk_slack_api_call(n->cfg->api, "chat.postMessage", msg, &reply, err, sizeof(err));
    if (rc != 0)
        SK_WARN("shiftkey-slack: %s (channel %s)", err, channel);
    else if (ts_out) {
        const char *ts = json_string_value(json_object_get(reply, "ts"));
        *ts_out = ts ? strdup(ts) : NULL;
    }
    json_decref(reply);
    return rc;
}

/* The Slack user id of person id: the directory, else (when enabled)
 * users.lookupByEmail. NULL when none; the result lives in rules or n->dm. */
static const char *slack_user(ntf_t *n, const sk_person_t *p)
{
    const char *uid = sk_slack_dir_slack_id(p);
    char key[320], err[256];
    json_t *reply = NULL, *args;
    if (uid || !p || !n->cfg->email_lookup || !p->email || !*p->email)
        return uid;
    snprintf(key, sizeof(key), "email:%s", p->email);
    if ((uid = sk_strmap_get(&n->dm, key)))
        return uid;
    args = json_pack("{s:s}", "email", p->email);
    if (sk_slack_api_call(n->cfg->api, "users.lookupByEmail", args, &reply, err, sizeof(err)) ==
        0) {
        const char *id = json_string_value(json_object_get(json_object_get(reply, "user"), "id"));
        char *k = strdup(key), *v = id ? strdup(id) : NULL;
        if (k && v && sk_strmap_put(&n->dm, k, v) == 0)
            uid = v;
        else {
            free(k);
            free(v);
        }
    }
    json_decref(args);
    json_decref(reply);
    return uid;
}

/* One task message to person `who`: a DM (recorded in the journal) and/or
 * an e-mail. DELIVERED (also when there is nowhere to send it) or RETRY. */
static int tell_person(ntf_t *n, const char *who, const sk_slack_task_view_t *v,
                       sk_slack_note_t note, const char *step_key)
{
    const sk_slack_notifier_cfg_t *c = n->cfg;
    const sk_person_t *p = sk_rules_person(c->rules, who);
    const char *uid = slack_user(n, p);
    const char *email = p && p->email && *p->email ? p->email : strchr(who, '@') ? who : NULL;
    char key[1600], err[512];
    int rc;
    snprintf(key, sizeof(key), "%s/slack", step_key);
    if (uid && !sk_slack_journal_done(c->journal, key)) {
        const char *ch = NULL;
        char *ts = NULL;
        json_t *msg = sk_slack_blocks_task(v, note, c->rules);
        rc = msg ? dm_channel(n, uid, &ch) : SK_ENOMEM;
        if (rc == 0)
            rc = post(n, ch, msg, NULL, &ts);
        json_decref(msg);
        if (transient(rc)) {
            free(ts);
            return RETRY;
        }
        if (rc == 0 && ts && sk_slack_journal_add_msg(c->journal, v->task.task_id, ch, ts) != 0) {
            free(ts);
            return RETRY;
        }
        free(ts);
        if (sk_slack_journal_mark(c->journal, key) != 0)
            return RETRY;
    }
    snprintf(key, sizeof(key), "%s/mail", step_key);
    if (c->smtp && c->smtp->url && *c->smtp->url && email && (!uid || c->email_always) &&
        !sk_slack_journal_done(c->journal, key)) {
        char *subject, *text, *html;
        if (sk_slack_mail_render(v, note, &subject, &text, &html) != 0)
            return RETRY;
        rc = sk_slack_mail_send(c->smtp, email, subject, text, html, err, sizeof(err));
        free(subject);
        free(text);
        free(html);
        if (rc != 0) {
            SK_WARN("shiftkey-slack: %s", err);
            return RETRY;
        }
        if (sk_slack_journal_mark(c->journal, key) != 0)
            return RETRY;
    }
    if (!uid && !email)
        SK_WARN("shiftkey-slack: %s has no slack: id and no e-mail: task %s not notified", who,
                v->task.task_id);
    return DELIVERED;
}

/* Posts a simple message (owned, freed) to a channel or a person, once per key. */
static int tell_once(ntf_t *n, const char *channel, const char *person, json_t *msg,
                     const char *key)
{
    int rc = 0;
    const char *ch = channel;
    if (!msg)
        return RETRY;
    if (sk_slack_journal_done(n->cfg->journal, key)) {
        json_decref(msg);
        return DELIVERED;
    }
    if (person) {
        const char *uid = slack_user(n, sk_rules_person(n->cfg->rules, person));
        ch = NULL;
        rc = uid ? dm_channel(n, uid, &ch) : 0;
    }
    if (rc == 0 && ch)
        rc = post(n, ch, msg, NULL, NULL);
    json_decref(msg);
    if (transient(rc))
        return RETRY;
    return sk_slack_journal_mark(n->cfg->journal, key) == 0 ? DELIVERED : RETRY;
}

/* ---- one task event ---- */

static void event_key(const sk_task_t *t, char *out, size_t len)
{
    uint64_t h = 0;
    for (size_t i = 0; i < t->n_assignees; i++)
        h = XXH3_64bits_withSeed(t->assignees[i], strlen(t->assignees[i]), h);
    snprintf(out, len, "T:%.300s:%d:%d:%" PRId64 ":%d:%016" PRIx64, t->task_id, (int)t->state,
             (int)t->outcome, t->at_ms, (int)t->step, h);
}

static int is_reminder(const sk_task_t *t)
{
    /* "reminder sent by ..." (task remind), "reminder: access review ..." (campaigns) */
    return t->state == SK_TASK_UPDATED && t->reason && strncmp(t->reason, "reminder", 8) == 0;
}

/* Updates (closed) or replies under (updated) every message of the task. */
static int touch_messages(ntf_t *n, const sk_slack_task_view_t *v, const char *key)
{
    const sk_slack_msg_t *msgs;
    size_t cnt = sk_slack_journal_msgs(n->cfg->journal, v->task.task_id, &msgs);
    char sub[1100], err[256];
    for (size_t i = 0; i < cnt; i++) {
        json_t *msg;
        int rc;
        snprintf(sub, sizeof(sub), "%s/m%zu", key, i);
        if (sk_slack_journal_done(n->cfg->journal, sub))
            continue;
        if (v->task.state == SK_TASK_CLOSED) {
            msg = sk_slack_blocks_task(v, SK_SLACK_NOTE_CLOSED, n->cfg->rules);
            if (!msg)
                return RETRY;
            json_object_set_new(msg, "channel", json_string(msgs[i].channel));
            json_object_set_new(msg, "ts", json_string(msgs[i].ts));
            rc = sk_slack_api_call(n->cfg->api, "chat.update", msg, NULL, err, sizeof(err));
            if (rc != 0)
                SK_WARN("shiftkey-slack: %s", err);
            json_decref(msg);
        } else {
            msg = sk_slack_blocks_update(&v->task);
            rc = msg ? post(n, msgs[i].channel, msg, msgs[i].ts, NULL) : SK_ENOMEM;
            json_decref(msg);
        }
        if (transient(rc))
            return RETRY;
        if (sk_slack_journal_mark(n->cfg->journal, sub) != 0)
            return RETRY;
    }
    return DELIVERED;
}

/* Tells every assignee (new task, reassignment, reminder). */
static int tell_assignees(ntf_t *n, const sk_slack_task_view_t *v, sk_slack_note_t note,
                          const char *key)
{
    char sub[1400];
    for (size_t i = 0; i < v->task.n_assignees; i++) {
        snprintf(sub, sizeof(sub), "%s/%s", key, v->task.assignees[i]);
        if (tell_person(n, v->task.assignees[i], v, note, sub) != DELIVERED)
            return RETRY;
    }
    return DELIVERED;
}

/* The security channel's post and the security address's e-mail of an
 * EMERGENCY_GRANT record: the one source of security notices (one record
 * per grant, whatever approved it; its event key and the journal make it
 * once across restarts and re-sent outboxes). */
static int tell_security(ntf_t *n, const sk_slack_task_view_t *v, const char *key)
{
    const sk_slack_notifier_cfg_t *c = n->cfg;
    char sub[700], err[512];
    if (c->security_channel && *c->security_channel) {
        snprintf(sub, sizeof(sub), "%s/security", key);
        if (tell_once(n, c->security_channel, NULL, sk_slack_blocks_security_grant(v, c->rules),
                      sub) != DELIVERED)
            return RETRY;
    }
    snprintf(sub, sizeof(sub), "%s/security-mail", key);
    if (c->security_email && *c->security_email && c->smtp && c->smtp->url && *c->smtp->url &&
        !sk_slack_journal_done(c->journal, sub)) {
        char *subject, *text, *html;
        int rc;
        if (sk_slack_mail_render(v, SK_SLACK_NOTE_CLOSED, &subject, &text, &html) != 0)
            return RETRY;
        rc = sk_slack_mail_send(c->smtp, c->security_email, subject, text, html, err, sizeof(err));
        free(subject);
        free(text);
        free(html);
        if (rc != 0) {
            SK_WARN("shiftkey-slack: %s", err);
            return RETRY;
        }
        if (sk_slack_journal_mark(c->journal, sub) != 0)
            return RETRY;
    }
    return DELIVERED;
}

static const char *uid_of(void *ctx, const char *person)
{
    ntf_t *n = ctx;
    return slack_user(n, sk_rules_person(n->cfg->rules, person));
}

static int on_task(ntf_t *n, const sk_task_t *t)
{
    const sk_slack_notifier_cfg_t *c = n->cfg;
    sk_slack_task_view_t v;
    char key[600], sub[700];
    int r = DELIVERED;

    event_key(t, key, sizeof(key));
    if (sk_slack_journal_done(c->journal, key))
        return DELIVERED;
    if (sk_slack_tasks_get(c->tasks, NULL, t->request_id, &n->arena, &v) != 0) {
        memset(&v, 0, sizeof(v));
        v.justification = "";
        v.duration_ms = SK_MS_NONE;
    }
    v.task = *t;
    if (t->justification && *t->justification)
        v.justification = t->justification;
    if (t->state == SK_TASK_CREATED || t->state == SK_TASK_ASSIGNED)
        r = tell_assignees(n, &v, SK_SLACK_NOTE_NEW, key);
    else if (is_reminder(t))
        r = tell_assignees(n, &v, SK_SLACK_NOTE_REMINDER, key);
    if (r == DELIVERED && (t->state == SK_TASK_UPDATED || t->state == SK_TASK_CLOSED))
        r = touch_messages(n, &v, key);
    if (r == DELIVERED && t->state == SK_TASK_CLOSED && t->kind == SK_TASK_REQUEST_REVIEW &&
        t->outcome != SK_TASK_APPROVED && t->request_id[0]) {
        snprintf(sub, sizeof(sub), "%s/requester", key);
        r = tell_once(n, NULL, t->subject, sk_slack_blocks_requester_task(t), sub);
    }
    if (r == DELIVERED && t->kind == SK_TASK_EMERGENCY_GRANT)
        r = tell_security(n, &v, key);
    if (r == DELIVERED && t->kind == SK_TASK_ACCESS_REVIEW && /* the campaign's channel */
        sk_slack_campaign_channel(c, t, uid_of, n, &n->arena) != 0)
        r = RETRY;
    if (r == DELIVERED && sk_slack_journal_mark(c->journal, key) != 0)
        r = RETRY;
    return r;
}

/* A GRANT held by a request: its requester hears of it. (Security hears
 * of emergency grants from the tasks topic's EMERGENCY_GRANT records, not
 * from here: a grant has one such record, but may have several commands.) */
static int on_command(ntf_t *n, const sk_command_t *cmd)
{
    char key[64];
    int from_request = 0;
    if (cmd->action == SK_CMD_REVOKE)
        return DELIVERED;
    for (size_t i = 0; i < cmd->n_sources; i++)
        from_request |= cmd->sources[i].kind != SK_SOURCE_SHIFT;
    if (from_request && cmd->action == SK_CMD_GRANT) {
        snprintf(key, sizeof(key), "G:%s/requester", cmd->command_id);
        return tell_once(n, NULL, cmd->user, sk_slack_blocks_requester_grant(cmd), key);
    }
    return DELIVERED;
}

/* A GRANT Kafka refused for good (its dead-letter notice, refused.h):
 * the user hears once that the access was not given. */
static int on_dead_letter(ntf_t *n, const sk_dead_letter_t *dl)
{
    sk_slack_refused_t r;
    char key[160];
    int rc = sk_slack_refused_grant(dl, n->cfg->commands_topic, &n->arena, &r);
    if (rc == SK_ENOMEM)
        return RETRY;
    if (rc != 1)
        return DELIVERED;
    snprintf(key, sizeof(key), "N:%.64s/requester", r.command_id);
    if (sk_slack_journal_done(n->cfg->journal, key))
        return DELIVERED;
    SK_INFO("shiftkey-slack: telling %s that the GRANT %s was refused by Kafka", r.user,
            r.command_id);
    return tell_once(n, NULL, r.user, sk_slack_blocks_requester_refused(&r), key);
}

/* Reads what the requests topic has now (CREATED, REVOCATION_PROPOSED:
 * justification, duration). */
static void drain_requests(ntf_t *n, int wait_ms)
{
    rd_kafka_message_t *m;
    char why[256];
    assign_topic(n->req_rk, n->cfg->requests_topic, &n->assigned[2], NULL);
    while ((m = rd_kafka_consumer_poll(n->req_rk, wait_ms))) {
        sk_request_event_t ev;
        wait_ms = 0;
        if (!m->err &&
            sk_codec_decode_request(n->codec, m->payload, m->len, &ev, why, sizeof(why)) == 0 &&
            (ev.type == SK_REQ_CREATED || ev.type == SK_REQ_REVOCATION_PROPOSED))
            sk_slack_tasks_note_request(n->cfg->tasks, ev.request_id, ev.justification,
                                        ev.duration_ms);
        rd_kafka_message_destroy(m);
    }
}

/* One record of the tasks, commands or dead-letter topic. */
static int on_record(ntf_t *n, const rd_kafka_message_t *m)
{
    int32_t id;
    char why[256], key[600];
    sk_arena_reset(&n->arena);
    if (sk_codec_schema_id(m->payload, m->len, &id) != 0)
        return DELIVERED;
    if (id == SK_SCHEMA_ID_TASK) {
        sk_task_t t;
        if (sk_codec_decode_task(n->codec, m->payload, m->len, &n->arena, &t, why, sizeof(why)) !=
            0) {
            SK_WARN("shiftkey-slack: skipped an undecodable task (%s)", why);
            return DELIVERED;
        }
        sk_slack_tasks_update(n->cfg->tasks, &t);
        event_key(&t, key, sizeof(key));
        if (sk_slack_journal_done(n->cfg->journal, key))
            return DELIVERED; /* notified before (a restart, a re-sent outbox) */
        /* the request's CREATED is on the requests topic before its first
         * task: wait a little for it (justification, duration); so too for
         * an emergency grant whose record carries no justification (one
         * granted by a review: the engine keeps no free text) */
        bool want = t.state != SK_TASK_CLOSED ||
                    (t.kind == SK_TASK_EMERGENCY_GRANT && !(t.justification && *t.justification));
        for (int i = 0; i < 30 && t.request_id[0] && want &&
                        sk_slack_tasks_get(n->cfg->tasks, NULL, t.request_id, &n->arena,
                                           &(sk_slack_task_view_t){0}) != 0;
             i++)
            drain_requests(n, 100);
        return on_task(n, &t);
    }
    if (id == SK_SCHEMA_ID_COMMAND) {
        sk_command_t c;
        if (sk_codec_decode_command(n->codec, m->payload, m->len, &n->arena, &c, why,
                                    sizeof(why)) != 0)
            return DELIVERED;
        return on_command(n, &c);
    }
    if (id == SK_SCHEMA_ID_DEAD_LETTER) {
        sk_dead_letter_t dl;
        if (sk_codec_decode_dead_letter(n->codec, m->payload, m->len, &n->arena, &dl, why,
                                        sizeof(why)) != 0)
            return DELIVERED;
        return on_dead_letter(n, &dl);
    }
    return DELIVERED;
}

/* ---- automatic reminders ---- */

static void remind_due(ntf_t *n, sk_ms_t now)
{
    const sk_slack_notifier_cfg_t *c = n->cfg;
    sk_slack_task_view_t *v;
    size_t cnt;
    if (c->remind_after_ms <= 0)
        return;
    sk_arena_reset(&n->arena);
    cnt = sk_slack_tasks_open(c->tasks, NULL, NULL, &n->arena, &v);
    for (size_t i = 0; i < cnt && !*c->stop; i++) {
        int sent = sk_slack_journal_reminders(c->journal, v[i].task.task_id);
        sk_ms_t age = now - v[i].created_ms, due;
        int target;
        char key[400];
        if (v[i].task.n_assignees == 0 || age < c->remind_after_ms)
            continue;
        target =
            c->remind_every_ms > 0 ? 1 + (int)((age - c->remind_after_ms) / c->remind_every_ms) : 1;
        due = sent < target;
        if (!due)
            continue;
        snprintf(key, sizeof(key), "A:%.300s:%d", v[i].task.task_id, sent + 1);
        if (tell_assignees(n, &v[i], SK_SLACK_NOTE_REMINDER, key) != DELIVERED)
            return; /* tried again at the next tick */
        /* one reminder even when several were due (a long downtime) */
        if (sk_slack_journal_set_reminders(c->journal, v[i].task.task_id, target) == 0)
            SK_INFO("shiftkey-slack: reminded the assignees of task %s (%d)", v[i].task.task_id,
                    target);
    }
}

/* ---- the loop ---- */

int sk_slack_notifier_run(const sk_slack_notifier_cfg_t *cfg)
{
    ntf_t n = {.cfg = cfg};
    char err[512];
    rd_kafka_message_t *held = NULL; /* a record whose delivery must be retried */
    sk_ms_t next_remind = 0, retry_at = 0;
    long backoff = 500;
    int rc = SK_EIO;

    sk_arena_init(&n.arena, 16384);
    sk_strmap_init(&n.dm);
    n.codec = sk_codec_new();
    n.main_rk = consumer_new(cfg->brokers, err, sizeof(err));
    n.req_rk = n.main_rk ? consumer_new(cfg->brokers, err, sizeof(err)) : NULL;
    if (!n.codec || !n.main_rk || !n.req_rk) {
        SK_ERROR("shiftkey-slack: cannot read Kafka: %s", err);
        goto out;
    }
    while (!*cfg->stop) {
        sk_ms_t now = sk_now_ms();
        if (!n.assigned[0] || !n.assigned[1] || !n.assigned[3]) {
            assign_topic(n.main_rk, cfg->tasks_topic, &n.assigned[0], &n.n_task_parts);
            assign_topic(n.main_rk, cfg->commands_topic, &n.assigned[1], NULL);
            assign_topic(n.main_rk, cfg->deadletter_topic, &n.assigned[3], NULL);
        }
        drain_requests(&n, 0);
        if (!held)
            held = rd_kafka_consumer_poll(n.main_rk, 200);
        else if (now < retry_at) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (held && held->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && held->rkt &&
            strcmp(rd_kafka_topic_name(held->rkt), cfg->tasks_topic) == 0 && held->partition >= 0 &&
            held->partition < (int32_t)sizeof(n.eof) && !n.eof[held->partition]) {
            n.eof[held->partition] = 1;
            if (++n.n_eof == n.n_task_parts)
                SK_INFO("shiftkey-slack: caught up with %s", cfg->tasks_topic);
        }
        if (held && held->err) {
            if (held->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                SK_WARN("shiftkey-slack: consume: %s", rd_kafka_message_errstr(held));
            rd_kafka_message_destroy(held);
            held = NULL;
        } else if (held) {
            if (on_record(&n, held) == DELIVERED) {
                rd_kafka_message_destroy(held);
                held = NULL;
                backoff = 500;
            } else {
                retry_at = sk_now_ms() + backoff;
                SK_WARN("shiftkey-slack: delivery failed, trying again in %ld ms", backoff);
                backoff = backoff < 30000 ? backoff * 2 : backoff;
            }
        }
        /* reminders only once the tasks topic was read to its end: before,
         * a task closed since the last run still looks open */
        if (now >= next_remind && !held && n.n_task_parts > 0 && n.n_eof >= n.n_task_parts) {
            remind_due(&n, now);
            next_remind = now + 1000;
        }
    }
    rc = 0;
out:
    if (held)
        rd_kafka_message_destroy(held);
    for (int i = 0; i < 2; i++) {
        rd_kafka_t *rk = i ? n.req_rk : n.main_rk;
        if (rk) {
            rd_kafka_consumer_close(rk);
            rd_kafka_destroy(rk);
        }
    }
    for (size_t i = 0; i < n.dm.cap; i++)
        if (n.dm.slots[i].key) {
            free((char *)n.dm.slots[i].key);
            free(n.dm.slots[i].value);
        }
    sk_strmap_fini(&n.dm);
    sk_codec_destroy(n.codec);
    sk_arena_fini(&n.arena);
    return rc;
}
