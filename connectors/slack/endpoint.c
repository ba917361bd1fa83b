/* endpoint.c — the HTTP endpoint and its worker (endpoint.h). */
#include "endpoint.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "action.h"
#include "base/duration.h"
#include "base/log.h"
#include "blocks.h"
#include "payload.h"
#include "pipeline/diag.h"
#include "ready.h"
#include "verify.h"

#define BODY_MAX  65536
#define QUEUE_MAX 1000

typedef struct job {
    struct job *next;
    sk_slack_input_t in;
} job_t;

struct sk_slack_endpoint {
    const sk_slack_endpoint_cfg_t *cfg;
    struct MHD_Daemon *mhd;
    sk_slack_replay_t replay;
    pthread_t worker;
    int worker_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job_t *head, *tail;
    size_t queued;
    int stopping;
    sk_slack_publisher_t *pub;       /* the worker's */
    sk_metrics_t *reg;               /* /metrics (engine/pipeline/diag.c answers) */
    sk_metric_t *requests, *actions; /* {outcome}: accepted|refused, sent|failed */
    sk_metric_t *kafka_up;           /* set by each check of ready */
    sk_slack_ready_t *ready;         /* the brokers' state, checked in the background */
};

typedef struct conn {
    char *body;
    size_t len;
    int too_big;
} conn_t;

/* ---- answers ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Answers with JSON (consumed). */
static enum MHD_Result reply_json(struct MHD_Connection *c, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    enum MHD_Result ret = reply(c, s ? 200 : 500, "application/json", s ? s : "{}");
    free(s);
    json_decref(j);
    return ret;
}

static const char *unknown_text =
    "shiftkey does not know you: your Slack account is not in its directory. Ask an "
    "administrator to add `platform_ids: [\"slack:<your Slack member id>\"]` to your entry "
    "in people.yaml.";

/* ---- the worker ---- */

static void enqueue(sk_slack_endpoint_t *ep, const sk_slack_input_t *in, int *ok)
{
    job_t *j = malloc(sizeof(*j));
    *ok = 0;
    if (!j)
        return;
    j->in = *in;
    j->next = NULL;
    pthread_mutex_lock(&ep->lock);
    if (ep->queued < QUEUE_MAX && !ep->stopping) {
        if (ep->tail)
            ep->tail->next = j;
        else
            ep->head = j;
        ep->tail = j;
        ep->queued++;
        *ok = 1;
        pthread_cond_signal(&ep->cond);
    }
    pthread_mutex_unlock(&ep->lock);
    if (!*ok)
        free(j);
}

/* The person behind a Slack user: the directory, else (with email_lookup)
 * users.info's e-mail. */
static const sk_person_t *identify(sk_slack_endpoint_t *ep, const char *uid)
{
    const sk_slack_endpoint_cfg_t *c = ep->cfg;
    const sk_person_t *p = sk_slack_dir_by_slack_id(c->rules, uid);
    json_t *args, *reply = NULL;
    char err[256];
    if (p || !c->email_lookup)
        return p;
    args = json_pack("{s:s}", "user", uid);
    if (sk_slack_api_call(c->api, "users.info", args, &reply, err, sizeof(err)) == 0) {
        json_t *u = json_object_get(reply, "user");
        const char *email =
            json_string_value(json_object_get(json_object_get(u, "profile"), "email"));
        p = sk_slack_dir_by_email(c->rules, email);
    } else
        SK_WARN("shiftkey-slack: %s", err);
    json_decref(args);
    json_decref(reply);
    return p;
}

/* Tells the user (ephemeral via response_url when there is one, else a DM). */
static void tell(sk_slack_endpoint_t *ep, const sk_slack_input_t *in, const char *text)
{
    char err[256];
    json_t *m;
    int rc;
    if (in->response_url[0]) {
        m = sk_slack_blocks_ephemeral(text);
        rc = m ? sk_slack_post_url(ep->cfg->api, in->response_url, m, err, sizeof(err)) : SK_ENOMEM;
    } else {
        m = json_pack("{s:s, s:s}", "channel", in->user_id, "text", text);
        rc = m ? sk_slack_api_call(ep->cfg->api, "chat.postMessage", m, NULL, err, sizeof(err))
               : SK_ENOMEM;
    }
    if (rc != 0)
        SK_WARN("shiftkey-slack: cannot answer %s: %s", in->user_id, err);
    json_decref(m);
}

static void open_view(sk_slack_endpoint_t *ep, const sk_slack_input_t *in, json_t *view)
{
    char err[256];
    json_t *args =
        view ? json_pack("{s:s, s:o}", "trigger_id", in->trigger_id, "view", view) : NULL;
    if (!args || sk_slack_api_call(ep->cfg->api, "views.open", args, NULL, err, sizeof(err))) {
        SK_WARN("shiftkey-slack: views.open: %s", args ? err : "out of memory");
        tell(ep, in, "Sorry, the form could not be opened; try again.");
    }
    json_decref(args);
}

static void list_tasks(sk_slack_endpoint_t *ep, const sk_slack_input_t *in, const sk_person_t *p,
                       int mine_to_do)
{
    sk_arena_t a;
    sk_slack_task_view_t *v;
    size_t n;
    char title[160], err[256];
    json_t *m;
    if (!in->response_url[0])
        return; /* nowhere to answer (Slack always sends one) */
    sk_arena_init(&a, 16384);
    n = sk_slack_tasks_open(ep->cfg->tasks, mine_to_do ? p->id : NULL, mine_to_do ? NULL : p->id,
                            &a, &v);
    snprintf(title, sizeof(title), "%s: %zu",
             mine_to_do ? "*Tasks assigned to you*" : "*Your open requests*", n);
    m = sk_slack_blocks_task_list(title, v, n, mine_to_do, ep->cfg->rules);
    if (!m || sk_slack_post_url(ep->cfg->api, in->response_url, m, err, sizeof(err)) != 0)
        SK_WARN("shiftkey-slack: cannot answer /shiftkey: %s", m ? err : "out of memory");
    json_decref(m);
    sk_arena_fini(&a);
}

/* A button (or the modal completing one) by person p. */
static void do_action(sk_slack_endpoint_t *ep, const sk_slack_input_t *in, const sk_person_t *p,
                      const char *action, const char *value, const char *comment, sk_ms_t duration,
                      int from_modal)
{
    sk_slack_task_ref_t ref;
    int needs_modal = 0, may;
    char err[512], text[4096];
    if (!sk_slack_action_known(action, NULL, &needs_modal) ||
        sk_slack_task_ref_parse(value, &ref) != 0) {
        tell(ep, in, "This button is not one shiftkey knows.");
        return;
    }
    may = sk_slack_tasks_may_act(ep->cfg->tasks, ref.task_id, p->id);
    if (may == 0 && !(strcmp(action, "escalate") == 0 && strcmp(ref.subject, p->id) == 0)) {
        snprintf(text, sizeof(text),
                 "You are not an assignee of this task (or it is already closed): nothing was "
                 "sent for `%s`.",
                 ref.task_id);
        tell(ep, in, text);
        sk_metric_add(ep->requests, 1, "refused");
        return;
    }
    if (needs_modal && !from_modal) {
        open_view(ep, in, sk_slack_blocks_action_modal(action, value));
        return;
    }
    sk_slack_action_t a = {.action = action,
                           .ref = &ref,
                           .actor = p->id,
                           .comment = comment ? comment : "",
                           .duration_ms = duration};
    int again = 0;
    if (sk_slack_action_send(ep->pub, &a, &again, err, sizeof(err)) != 0) {
        sk_metric_add(ep->actions, 1, "failed");
        SK_WARN("shiftkey-slack: %s by %s on %s: %s", action, p->id, ref.task_id, err);
        snprintf(text, sizeof(text), "Not sent (%s); try again.", err);
        tell(ep, in, text);
        return;
    }
    if (again) {
        snprintf(text, sizeof(text), "Already sent: *%s* on `%s`; nothing more to do.", action,
                 ref.request_id[0] ? ref.request_id : ref.task_id);
        tell(ep, in, text);
        return;
    }
    sk_metric_add(ep->actions, 1, "sent");
    SK_INFO("shiftkey-slack: %s by %s on task %s (request %s) sent", action, p->id, ref.task_id,
            ref.request_id);
    snprintf(text, sizeof(text),
             "Sent: *%s* on `%s` as %s. The message updates once shiftkey "
             "has decided.",
             action, ref.request_id[0] ? ref.request_id : ref.task_id, p->id);
    tell(ep, in, text);
}

static void do_submission(sk_slack_endpoint_t *ep, const sk_slack_input_t *in, const sk_person_t *p)
{
    char err[512], text[4096], rid[64];
    sk_ms_t d = SK_MS_NONE;
    if (in->duration[0])
        sk_duration_parse(in->duration, &d); /* validated before the answer */
    if (strcmp(in->callback_id, "request") == 0) {
        const char *target = in->target[0] ? in->target : in->private_metadata;
        if (sk_slack_request_send(ep->pub, p->id, target, d, in->justification, in->emergency,
                                  in->view_id, rid, err, sizeof(err)) != 0) {
            sk_metric_add(ep->actions, 1, "failed");
            snprintf(text, sizeof(text), "Your request for `%s` was not sent (%s); try again.",
                     target, err);
        } else {
            sk_metric_add(ep->actions, 1, "sent");
            SK_INFO("shiftkey-slack: request %s by %s for %s sent", rid, p->id, target);
            snprintf(text, sizeof(text),
                     "%sYour request `%s` for `%s` is sent. `/shiftkey "
                     "status` shows where it stands.",
                     in->emergency ? "⚡ " : "", rid, target);
        }
        tell(ep, in, text);
        return;
    }
    do_action(ep, in, p, in->callback_id, in->private_metadata, in->comment, d, 1);
}

static void run_job(sk_slack_endpoint_t *ep, const sk_slack_input_t *in)
{
    const sk_person_t *p = identify(ep, in->user_id);
    if (!p) {
        tell(ep, in, unknown_text);
        return;
    }
    switch (in->kind) {
    case SK_SLACK_IN_COMMAND:
        if (strncmp(in->text, "request", 7) == 0) {
            const char *t = in->text + 7;
            while (*t == ' ')
                t++;
            open_view(ep, in, sk_slack_blocks_request_modal(ep->cfg->rules, t));
        } else
            list_tasks(ep, in, p, strncmp(in->text, "tasks", 5) == 0);
        break;
    case SK_SLACK_IN_BLOCK_ACTION:
        do_action(ep, in, p, in->action_id, in->value, "", SK_MS_NONE, 0);
        break;
    case SK_SLACK_IN_VIEW_SUBMISSION: do_submission(ep, in, p); break;
    }
}

static void *worker_main(void *arg)
{
    sk_slack_endpoint_t *ep = arg;
    for (;;) {
        job_t *j;
        pthread_mutex_lock(&ep->lock);
        while (!ep->head && !ep->stopping)
            pthread_cond_wait(&ep->cond, &ep->lock);
        j = ep->head;
        if (j) {
            ep->head = j->next;
            if (!ep->head)
                ep->tail = NULL;
            ep->queued--;
        }
        pthread_mutex_unlock(&ep->lock);
        if (!j)
            break; /* stopping and drained */
        run_job(ep, &j->in);
        free(j);
    }
    return NULL;
}

/* ---- the answer within 3 s ---- */

static const char *help_text = "*shiftkey* — just-in-time access\n"
                               "`/shiftkey request [app/entitlement]` ask for access (a form)\n"
                               "`/shiftkey status` your open requests\n"
                               "`/shiftkey tasks` what waits for you (with the buttons)";

/* Checks a submitted modal; NULL when fine, else a {"response_action":"errors"} answer. */
static json_t *check_submission(sk_slack_endpoint_t *ep, const sk_slack_input_t *in)
{
    const sk_rules_t *rules = ep->cfg->rules;
    sk_ms_t d;
    if (in->duration[0] && (sk_duration_parse(in->duration, &d) != 0 || d <= 0))
        return json_pack("{s:s, s:{s:s}}", "response_action", "errors", "errors", "duration",
                         "Use 90s, 15m, 2h, 1d or 1h30m");
    if (strcmp(in->callback_id, "duration") == 0 && !in->duration[0])
        return json_pack("{s:s, s:{s:s}}", "response_action", "errors", "errors", "duration",
                         "Give the new duration");
    if ((strcmp(in->callback_id, "wont_provision") == 0 ||
         strcmp(in->callback_id, "certify") == 0 ||
         strcmp(in->callback_id, "revoke_access") == 0) &&
        !in->comment[0])
        return json_pack("{s:s, s:{s:s}}", "response_action", "errors", "errors", "comment",
                         "Say why");
    if (strcmp(in->callback_id, "request") == 0) {
        const char *target = in->target[0] ? in->target : in->private_metadata;
        const sk_request_settings_t *rs = strchr(target, '/')
                                              ? sk_rules_request_settings(rules, target)
                                              : sk_rules_profile_request_settings(rules, target);
        if (!rs || !rs->self_service)
            return json_pack("{s:s, s:{s:s}}", "response_action", "errors", "errors", "target",
                             "This access cannot be requested");
        if (in->emergency && !rs->emergency_policy)
            return json_pack("{s:s, s:{s:s}}", "response_action", "errors", "errors", "emergency",
                             "This access has no break-glass policy");
        if (!in->justification[0])
            return json_pack("{s:s, s:{s:s}}", "response_action", "errors", "errors",
                             "justification", "Say why you need it");
    }
    return NULL;
}

/* Decides the immediate answer to a verified, parsed request, queueing the rest. */
static enum MHD_Result answer(sk_slack_endpoint_t *ep, struct MHD_Connection *c,
                              const sk_slack_input_t *in)
{
    const sk_person_t *p = sk_slack_dir_by_slack_id(ep->cfg->rules, in->user_id);
    int queued = 0;
    json_t *errs;
    if (!p && !ep->cfg->email_lookup) {
        sk_metric_add(ep->requests, 1, "refused");
        if (in->kind == SK_SLACK_IN_VIEW_SUBMISSION)
            return reply_json(c, json_pack("{s:s, s:{s:s}}", "response_action", "errors", "errors",
                                           "justification", unknown_text));
        if (in->kind == SK_SLACK_IN_COMMAND)
            return reply_json(c, sk_slack_blocks_ephemeral(unknown_text));
        enqueue(ep, in, &queued); /* the worker answers on response_url */
        return reply(c, 200, "text/plain", "");
    }
    if (in->kind == SK_SLACK_IN_COMMAND) {
        if (strncmp(in->text, "request", 7) != 0 && strncmp(in->text, "status", 6) != 0 &&
            strncmp(in->text, "tasks", 5) != 0)
            return reply_json(c, sk_slack_blocks_ephemeral(help_text));
    }
    if (in->kind == SK_SLACK_IN_VIEW_SUBMISSION && (errs = check_submission(ep, in)))
        return reply_json(c, errs);
    enqueue(ep, in, &queued);
    if (!queued)
        return reply(c, 503, "text/plain", "busy");
    if (in->kind == SK_SLACK_IN_COMMAND && strncmp(in->text, "request", 7) != 0)
        return reply_json(c, sk_slack_blocks_ephemeral("One moment…"));
    return reply(c, 200, "text/plain", "");
}

static enum MHD_Result on_post(sk_slack_endpoint_t *ep, struct MHD_Connection *c, conn_t *cc)
{
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Slack-Signature");
    const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Slack-Request-Timestamp");
    sk_slack_input_t *in;
    char why[256];
    int64_t ts_v = 0, now = (int64_t)time(NULL);
    int seen;
    enum MHD_Result ret;
    if (cc->too_big)
        return reply(c, 413, "text/plain", "too large");
    if (sk_slack_verify(ep->cfg->signing_secret, strlen(ep->cfg->signing_secret), ts, sig,
                        cc->body ? cc->body : "", cc->len, now, &ts_v, why, sizeof(why)) != 0) {
        sk_metric_add(ep->requests, 1, "refused");
        SK_WARN("shiftkey-slack: refused a request: %s", why);
        return reply(c, 401, "text/plain", "invalid request signature");
    }
    seen = sk_slack_replay_seen(&ep->replay, sig, ts_v, now);
    if (seen) {
        sk_metric_add(ep->requests, 1, "refused");
        SK_WARN("shiftkey-slack: refused a request: %s",
                seen == 1 ? "replayed" : "replay table full");
        return reply(c, 401, "text/plain", "replayed request");
    }
    in = malloc(sizeof(*in));
    if (!in)
        return reply(c, 503, "text/plain", "busy");
    if (sk_slack_input_parse(cc->body ? cc->body : "", cc->len, in, why, sizeof(why)) != 0) {
        SK_WARN("shiftkey-slack: bad request: %s", why);
        ret = reply(c, 400, "text/plain", why);
    } else {
        sk_metric_add(ep->requests, 1, "accepted");
        ret = answer(ep, c, in);
    }
    free(in);
    return ret;
}

/* /readyz: ready while the brokers answer (as the background check last
 * found, ready.h: never waiting on Kafka here) and the worker's queue has
 * room; a Slack click that cannot reach Kafka must not be routed here.
 * Runs on the HTTP server's threads. */
static int endpoint_ready(void *ctx, char *why, size_t why_len)
{
    sk_slack_endpoint_t *ep = ctx;
    if (!sk_slack_ready_kafka(ep->ready, why, why_len))
        return 0;
    pthread_mutex_lock(&ep->lock);
    size_t queued = ep->queued;
    pthread_mutex_unlock(&ep->lock);
    if (queued < QUEUE_MAX)
        return 1;
    snprintf(why, why_len, "the worker's queue is full (%zu)", queued);
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    sk_slack_endpoint_t *ep = cls;
    conn_t *cc = *con_cls;
    (void)version;
    if (strcmp(method, "GET") == 0) {
        int rc = sk_diag_answer(c, url, ep->reg, endpoint_ready, ep);
        return rc >= 0 ? (enum MHD_Result)rc : reply(c, 404, "text/plain", "not found\n");
    }
    if (strcmp(method, "POST") != 0)
        return reply(c, 405, "text/plain", "method not allowed\n");
    if (!cc) {
        cc = calloc(1, sizeof(*cc));
        *con_cls = cc;
        return cc ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        if (cc->len + *upload_size > BODY_MAX)
            cc->too_big = 1;
        else {
            char *b = realloc(cc->body, cc->len + *upload_size + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + cc->len, upload, *upload_size);
            cc->body = b;
            cc->len += *upload_size;
            b[cc->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return on_post(ep, c, cc);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode code)
{
    conn_t *cc = *con_cls;
    (void)cls;
    (void)c;
    (void)code;
    if (cc) {
        free(cc->body);
        free(cc);
    }
    *con_cls = NULL;
}

/* ---- life cycle ---- */

sk_slack_endpoint_t *sk_slack_endpoint_start(const sk_slack_endpoint_cfg_t *cfg, char *err,
                                             size_t err_len)
{
    sk_slack_endpoint_t *ep = calloc(1, sizeof(*ep));
    struct sockaddr_in addr = {.sin_family = AF_INET};
    const char *colon = strrchr(cfg->listen, ':');
    char host[64] = "0.0.0.0";
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (!ep) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    ep->cfg = cfg;
    sk_slack_replay_init(&ep->replay);
    pthread_mutex_init(&ep->lock, NULL);
    pthread_cond_init(&ep->cond, NULL);
    ep->reg = sk_metrics_new();
    ep->requests =
        sk_metrics_counter(ep->reg, "shiftkey_slack_requests_total",
                           "requests from Slack, by outcome (accepted, refused)", "outcome");
    ep->actions =
        sk_metrics_counter(ep->reg, "shiftkey_slack_actions_total",
                           "actions produced to Kafka, by outcome (sent, failed)", "outcome");
    ep->kafka_up =
        sk_metrics_gauge(ep->reg, "shiftkey_slack_kafka_up",
                         "1 when the brokers answered the last check (each second)", NULL);
    if (!ep->reg || !ep->requests || !ep->actions || !ep->kafka_up) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (colon && colon != cfg->listen)
        snprintf(host, sizeof(host), "%.*s", (int)(colon - cfg->listen), cfg->listen);
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(err, err_len, "--listen %s: use ADDRESS:PORT (IPv4), e.g. 127.0.0.1:3000",
                 cfg->listen);
        goto fail;
    }
    addr.sin_port = htons((uint16_t)port);
    ep->pub = sk_slack_publisher_new(cfg->brokers, cfg->requests_topic, cfg->results_topic,
                                     cfg->front_key, cfg->rules, err, err_len);
    if (!ep->pub)
        goto fail;
    ep->ready = sk_slack_ready_start(ep->pub, 1000, ep->kafka_up);
    if (!ep->ready) {
        snprintf(err, err_len, "cannot start the Kafka check's thread");
        goto fail;
    }
    if (pthread_create(&ep->worker, NULL, worker_main, ep) != 0) {
        snprintf(err, err_len, "cannot start the worker thread");
        goto fail;
    }
    ep->worker_started = 1;
    ep->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
                               on_request, ep, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                               MHD_OPTION_NOTIFY_COMPLETED, on_done, ep,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!ep->mhd) {
        snprintf(err, err_len, "cannot listen on %s", cfg->listen);
        goto fail;
    }
    SK_INFO("shiftkey-slack: listening on %s", cfg->listen);
    return ep;
fail:
    sk_slack_endpoint_stop(ep);
    return NULL;
}

void sk_slack_endpoint_stop(sk_slack_endpoint_t *ep)
{
    if (!ep)
        return;
    if (ep->mhd)
        MHD_stop_daemon(ep->mhd);
    pthread_mutex_lock(&ep->lock);
    ep->stopping = 1;
    pthread_cond_broadcast(&ep->cond);
    pthread_mutex_unlock(&ep->lock);
    if (ep->worker_started)
        pthread_join(ep->worker, NULL);
    sk_slack_ready_stop(ep->ready); /* before the publisher it asks */
    for (job_t *j = ep->head, *nx; j; j = nx) {
        nx = j->next;
        free(j);
    }
    sk_slack_publisher_destroy(ep->pub);
    pthread_cond_destroy(&ep->cond);
    pthread_mutex_destroy(&ep->lock);
    sk_slack_replay_fini(&ep->replay);
    sk_metrics_destroy(ep->reg);
    free(ep);
}
