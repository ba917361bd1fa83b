/* action.c — Slack actions as input records (action.h). */
#include "action.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/arena.h"
#include "base/strmap.h"
#include "codec/codec.h"
#include "codec/envelope.h"
#include "codec/event.h"
#include "rules/signers.h"

#define SENT_MAX 4096 /* event ids remembered for repeated clicks */

struct sk_slack_publisher {
    rd_kafka_t *rk;
    sk_codec_t *codec;
    char *requests_topic, *results_topic;
    int signs;                 /* key is set */
    sk_signing_key_t key;      /* the front key; wiped on destroy */
    const sk_signer_t *signer; /* its declaration in the rules */
    const sk_rules_t *rules;
    sk_strmap_t sent;     /* event id -> 1, the last SENT_MAX sent */
    char *ring[SENT_MAX]; /* their keys, oldest replaced first */
    size_t ring_at;
};

typedef struct row {
    const char *action;
    int on_results; /* a ProvisioningResult, else an AccessRequestEvent */
    int type;       /* sk_provisioning_status_t / sk_request_event_type_t */
    int needs_modal;
    int kind; /* the task kind it answers; -1: any request task */
} row_t;

static const row_t rows[] = {
    {"approve", 0, SK_REQ_APPROVED, 0, SK_TASK_REQUEST_REVIEW},
    {"deny", 0, SK_REQ_DENIED, 1, SK_TASK_REQUEST_REVIEW},
    {"duration", 0, SK_REQ_DURATION_CHANGED, 1, SK_TASK_REQUEST_REVIEW},
    {"escalate", 0, SK_REQ_ESCALATED, 0, SK_TASK_REQUEST_REVIEW},
    {"confirm", 0, SK_REQ_REVOCATION_CONFIRMED, 0, SK_TASK_REVOCATION},
    {"reject", 0, SK_REQ_REVOCATION_DENIED, 1, SK_TASK_REVOCATION},
    {"provisioned", 1, SK_PROV_PROVISIONED, 0, SK_TASK_PROVISIONING},
    {"wont_provision", 1, SK_PROV_WONT_PROVISION, 1, SK_TASK_PROVISIONING},
    {"deprovisioned", 1, SK_PROV_DEPROVISIONED, 0, SK_TASK_DEPROVISIONING},
    {"certify", 0, SK_REQ_REVIEW_CERTIFIED, 1, SK_TASK_ACCESS_REVIEW},
    {"revoke_access", 0, SK_REQ_REVIEW_REVOKED, 1, SK_TASK_ACCESS_REVIEW},
};

static const row_t *find(const char *action)
{
    for (size_t i = 0; action && i < SK_ARRAY_LEN(rows); i++)
        if (strcmp(rows[i].action, action) == 0)
            return &rows[i];
    return NULL;
}

int sk_slack_action_known(const char *action, int *on_results, int *needs_modal)
{
    const row_t *r = find(action);
    if (r && on_results)
        *on_results = r->on_results;
    if (r && needs_modal)
        *needs_modal = r->needs_modal;
    return r != NULL;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    int *status = m->_private;
    if (status)
        *status = m->err ? 2 : 1;
}

sk_slack_publisher_t *sk_slack_publisher_new(const char *brokers, const char *requests_topic,
                                             const char *results_topic, const sk_signing_key_t *key,
                                             const sk_rules_t *rules, char *err, size_t err_len)
{
    sk_slack_publisher_t *p = calloc(1, sizeof(*p));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!p || !conf)
        goto fail;
    sk_strmap_init(&p->sent);
    p->rules = rules;
    if (key) {
        p->key = *key;
        p->signs = 1;
        p->signer = sk_signers_find(sk_rules_signers(rules), key->signer);
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, err_len) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, err_len) ||
        rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err, err_len) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", "10000", err, err_len) ||
        rd_kafka_conf_set(conf, "log_level", "3", err, err_len))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, err_len);
    if (!p->rk)
        goto fail;
    conf = NULL; /* now owned by rk */
    p->codec = sk_codec_new();
    p->requests_topic = strdup(requests_topic);
    p->results_topic = strdup(results_topic);
    if (!p->codec || !p->requests_topic || !p->results_topic) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    return p;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    sk_slack_publisher_destroy(p);
    return NULL;
}

int sk_slack_publisher_ping(sk_slack_publisher_t *p, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms);
    if (md)
        rd_kafka_metadata_destroy(md);
    return err ? -1 : 0;
}

void sk_slack_publisher_destroy(sk_slack_publisher_t *p)
{
    if (!p)
        return;
    if (p->rk) {
        rd_kafka_flush(p->rk, 5000);
        rd_kafka_destroy(p->rk);
    }
    sk_codec_destroy(p->codec);
    sk_keyfile_wipe(&p->key);
    for (size_t i = 0; i < SENT_MAX; i++)
        free(p->ring[i]);
    sk_strmap_fini(&p->sent);
    free(p->requests_topic);
    free(p->results_topic);
    free(p);
}

int sk_slack_action_publish(sk_slack_publisher_t *p, const char *topic, const char *key,
                            const void *value, size_t len, char *err, size_t err_len)
{
    volatile int status = 0; /* 1 acknowledged, 2 failed; set by on_delivery */
    unsigned char env[SK_ENVELOPE_MAX];
    size_t env_len = 0;
    rd_kafka_headers_t *h = NULL;
    rd_kafka_resp_err_t e;
    if (p->signs) {
        h = rd_kafka_headers_new(1);
        if (!h ||
            sk_envelope_sign(&p->key, topic, key, strlen(key), value, len, sk_now_ms(), env,
                             sizeof(env), &env_len) != 0 ||
            rd_kafka_header_add(h, SK_ENVELOPE_HEADER, -1, env, env_len) != 0) {
            if (h)
                rd_kafka_headers_destroy(h);
            snprintf(err, err_len, "cannot sign the record for %s", topic);
            return SK_EINVAL;
        }
    }
    e = rd_kafka_producev(
        p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE((void *)&status), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (e) {
        if (h)
            rd_kafka_headers_destroy(h); /* not taken over on failure */
        snprintf(err, err_len, "cannot produce to %s: %s", topic, rd_kafka_err2str(e));
        return SK_EIO;
    }
    h = NULL; /* now owned by the message */
    for (int i = 0; i < 120 && !status; i++)
        rd_kafka_poll(p->rk, 100);
    if (status != 1) {
        snprintf(err, err_len, "%s did not acknowledge the record", topic);
        if (!status)
            rd_kafka_flush(p->rk, 2000); /* the opaque points at our stack: wait it out */
        return SK_EIO;
    }
    return 0;
}

/* "slack-" + 32 hex of XXH3-128 over the parts (NUL-separated). */
static void make_id(char out[40], const char *const *parts, size_t n)
{
    XXH3_state_t *st = XXH3_createState();
    XXH128_hash_t h = {0, 0};
    if (st && XXH3_128bits_reset(st) == XXH_OK) {
        for (size_t i = 0; i < n; i++)
            XXH3_128bits_update(st, parts[i], strlen(parts[i]) + 1);
        h = XXH3_128bits_digest(st);
    }
    XXH3_freeState(st);
    snprintf(out, 40, "slack-%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64, (uint64_t)h.low64);
}

/* 0 when the front may act for actor (or records are unsigned), else
 * SK_EINVAL with the reason. */
static int may_vouch(const sk_slack_publisher_t *p, const char *actor, char *err, size_t err_len)
{
    if (!p->signs || sk_signers_may_vouch(p->rules, p->signer, actor))
        return 0;
    snprintf(err, err_len, "the rules do not let the Slack app (signer '%s') act for %s",
             p->key.signer, actor);
    return SK_EINVAL;
}

/* Remembers a sent event id (the oldest of SENT_MAX forgotten). */
static void remember(sk_slack_publisher_t *p, const char *id)
{
    char *k = strdup(id);
    if (!k)
        return;
    if (p->ring[p->ring_at]) {
        /* forget the oldest: a map entry cannot be removed, so rebuild */
        free(p->ring[p->ring_at]);
        p->ring[p->ring_at] = k;
        sk_strmap_fini(&p->sent);
        sk_strmap_init(&p->sent);
        for (size_t i = 0; i < SENT_MAX; i++)
            if (p->ring[i])
                sk_strmap_put(&p->sent, p->ring[i], (void *)1);
    } else {
        p->ring[p->ring_at] = k;
        sk_strmap_put(&p->sent, k, (void *)1);
    }
    p->ring_at = (p->ring_at + 1) % SENT_MAX;
}

int sk_slack_action_send(sk_slack_publisher_t *p, const sk_slack_action_t *a, int *again, char *err,
                         size_t err_len)
{
    const row_t *r = find(a->action);
    sk_arena_t arena;
    void *buf = NULL;
    size_t len = 0;
    char id[40], dur[32];
    int rc = SK_EINVAL;
    sk_arena_init(&arena, 4096);
    if (!r) {
        snprintf(err, err_len, "unknown action '%s'", a->action);
        goto out;
    }
    if (a->ref->kind != r->kind) {
        snprintf(err, err_len, "a %s task does not take '%s'", sk_task_kind_name(a->ref->kind),
                 a->action);
        goto out;
    }
    snprintf(dur, sizeof(dur), "%" PRId64, a->duration_ms);
    {
        const char *parts[] = {a->action, a->ref->task_id, a->actor, dur};
        make_id(id, parts, SK_ARRAY_LEN(parts));
    }
    *again = sk_strmap_find(&p->sent, id, NULL);
    if (*again) {
        rc = 0; /* sent and acknowledged before: the same event again would be a replay */
        goto out;
    }
    if ((rc = may_vouch(p, a->actor, err, err_len)) != 0)
        goto out;
    if (r->on_results) {
        sk_provisioning_result_t res = {.result = (sk_provisioning_status_t)r->type,
                                        .provisioner = a->actor,
                                        .user = a->ref->subject,
                                        .message = a->comment,
                                        .at_ms = sk_now_ms()};
        if (strlen(a->ref->task_id) != 32) {
            snprintf(err, err_len, "task %s is not a (de)provisioning task id", a->ref->task_id);
            goto out;
        }
        memcpy(res.command_id, a->ref->task_id, 33);
        rc = sk_codec_encode_provisioning_result(p->codec, &res, &arena, &buf, &len);
    } else {
        sk_request_event_t ev = {
            .event_id = id,
            .type = (sk_request_event_type_t)r->type,
            /* an access review is named by its task id */
            .request_id = r->kind == SK_TASK_ACCESS_REVIEW ? a->ref->task_id : a->ref->request_id,
            .actor = a->actor,
            .subject = a->ref->subject,
            .target_kind = SK_TARGET_ENTITLEMENT,
            .target = a->ref->target,
            .duration_ms = r->type == SK_REQ_DURATION_CHANGED ? a->duration_ms : SK_MS_NONE,
            .justification = "",
            .emergency = r->type == SK_REQ_ESCALATED,
            .comment = a->comment,
            .source = "slack",
            .occurred_at_ms = sk_now_ms()};
        if (!a->ref->request_id[0]) {
            snprintf(err, err_len, "the task belongs to no request");
            goto out;
        }
        rc = sk_codec_encode_request(p->codec, &ev, &arena, &buf, &len);
    }
    if (rc != 0) {
        snprintf(err, err_len, "cannot encode the %s record (%s)", a->action, sk_strerror(rc));
        goto out;
    }
    rc = sk_slack_action_publish(p, r->on_results ? p->results_topic : p->requests_topic,
                                 a->ref->subject, buf, len, err, err_len);
    if (rc == 0)
        remember(p, id);
out:
    sk_arena_fini(&arena);
    return rc;
}

int sk_slack_request_send(sk_slack_publisher_t *p, const char *actor, const char *target,
                          sk_ms_t duration_ms, const char *justification, int emergency,
                          const char *view_id, char *request_id_out, char *err, size_t err_len)
{
    sk_arena_t arena;
    void *buf = NULL;
    size_t len = 0;
    char event_id[48];
    int rc;
    const char *parts[] = {"request", view_id, actor};
    make_id(request_id_out, parts, SK_ARRAY_LEN(parts));
    snprintf(event_id, sizeof(event_id), "%s-created", request_id_out);
    if (sk_strmap_find(&p->sent, event_id, NULL))
        return 0; /* the same view submitted again: sent already */
    if ((rc = may_vouch(p, actor, err, err_len)) != 0)
        return rc;
    sk_request_event_t ev = {.event_id = event_id,
                             .type = SK_REQ_CREATED,
                             .request_id = request_id_out,
                             .actor = actor,
                             .subject = actor,
                             .target_kind =
                                 strchr(target, '/') ? SK_TARGET_ENTITLEMENT : SK_TARGET_PROFILE,
                             .target = target,
                             .duration_ms = duration_ms,
                             .justification = justification,
                             .emergency = emergency != 0,
                             .comment = "",
                             .source = "slack",
                             .occurred_at_ms = sk_now_ms()};
    sk_arena_init(&arena, 4096);
    rc = sk_codec_encode_request(p->codec, &ev, &arena, &buf, &len);
    if (rc != 0) {
        snprintf(err, err_len, "cannot encode the request (%s)", sk_strerror(rc));
        goto out;
    }
    rc = sk_slack_action_publish(p, p->requests_topic, actor, buf, len, err, err_len);
    if (rc == 0)
        remember(p, event_id);
out:
    sk_arena_fini(&arena);
    return rc;
}
