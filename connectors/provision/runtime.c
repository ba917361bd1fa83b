/*
 * runtime.c — the provisioner's life cycle (see prov.h): configuration,
 * target check, state file, Kafka consumer and producer, then the loop:
 * local expiry, reconciliation when due, one command at a time (so one
 * user's commands are applied in order), its result acknowledged by the
 * broker, and only then its offset committed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/duration.h"
#include "base/log.h"
#include "base/keyhash.h"
#include "codec/envelope.h"
#include "runtime.h"

#define PUBLISH_TIMEOUT_MS 35000 /* message.timeout.ms is 30 s */

static volatile sig_atomic_t stop_flag;
static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

int sk_prov_stopping(void)
{
    return stop_flag != 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    sk_prov_rt_t *rt = opaque;
    if (m->err) {
        if (!rt->failed++)
            rt->delivery_err = m->err;
    } else {
        rt->delivered++;
    }
}

/* Sets base settings then "name=value" extras; 0 or -1 with err filled. */
static int conf_set_all(rd_kafka_conf_t *conf, const char *const (*base)[2], size_t n,
                        const sk_prov_opts_t *o, const char *only, char *err, size_t errlen)
{
    char e[512];
    for (size_t i = 0; i < n; i++)
        if (rd_kafka_conf_set(conf, base[i][0], base[i][1], e, sizeof(e)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka: %s", e);
            return -1;
        }
    for (size_t i = 0; i < o->n_kafka_props; i++) {
        char name[256];
        const char *p = o->kafka_props[i], *eq = strchr(p, '=');
        if (strncmp(p, "consumer:", 9) == 0 || strncmp(p, "producer:", 9) == 0) {
            if (strncmp(p, only, 9) != 0)
                continue;
            p += 9;
        }
        eq = strchr(p, '=');
        if (!eq || eq == p || (size_t)(eq - p) >= sizeof(name)) {
            snprintf(err, errlen, "--kafka-config '%s': expected NAME=VALUE", p);
            return -1;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(eq - p), p);
        if (rd_kafka_conf_set(conf, name, eq + 1, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "--kafka-config %s: %s", name, e);
            return -1;
        }
    }
    return 0;
}

static int kafka_open(sk_prov_rt_t *rt, char *err, size_t errlen)
{
    const sk_prov_opts_t *o = rt->o;
    char e[512];
    rd_kafka_conf_t *pc = rd_kafka_conf_new(), *cc = rd_kafka_conf_new();
    const char *const pbase[][2] = {
        {"bootstrap.servers", o->brokers},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "1"},
        {"message.timeout.ms", "30000"},
        {"partitioner", SK_PARTITIONER} /* the one partitioner: murmur2 */,
        {"log_level", "3"}};
    const char *const cbase[][2] = {{"bootstrap.servers", o->brokers},
                                    {"group.id", o->group},
                                    {"enable.auto.commit", "false"},
                                    {"enable.auto.offset.store", "false"},
                                    {"auto.offset.reset", "earliest"},
                                    {"topic.metadata.refresh.interval.ms", "5000"},
                                    {"log_level", "3"}};
    if (!pc || !cc)
        goto fail;
    rd_kafka_conf_set_opaque(pc, rt);
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    if (conf_set_all(pc, pbase, SK_ARRAY_LEN(pbase), o, "producer:", err, errlen) ||
        conf_set_all(cc, cbase, SK_ARRAY_LEN(cbase), o, "consumer:", err, errlen))
        goto fail;
    rt->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, e, sizeof(e));
    if (!rt->producer) {
        snprintf(err, errlen, "kafka producer: %s", e);
        goto fail;
    }
    pc = NULL; /* now owned by the producer */
    rt->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, e, sizeof(e));
    if (!rt->consumer) {
        snprintf(err, errlen, "kafka consumer: %s", e);
        goto fail;
    }
    cc = NULL; /* now owned by the consumer */
    rd_kafka_poll_set_consumer(rt->consumer);
    rt->results = rd_kafka_topic_new(rt->producer, o->results_topic, NULL);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o->commands_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rc = rd_kafka_subscribe(rt->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (!rt->results || rc) {
        snprintf(err, errlen, "kafka: cannot subscribe to %s: %s", o->commands_topic,
                 rd_kafka_err2str(rc));
        return -1;
    }
    return 0;
fail:
    if (pc)
        rd_kafka_conf_destroy(pc);
    if (cc)
        rd_kafka_conf_destroy(cc);
    return -1;
}

int sk_prov_result_publish(sk_prov_rt_t *rt, const sk_provisioning_result_t *r)
{
    sk_arena_t arena;
    void *buf;
    size_t len;
    int rc = 0, backoff_ms = 100;
    sk_arena_init(&arena, 4096);
    if (sk_codec_encode_provisioning_result(rt->codec, r, &arena, &buf, &len) != 0) {
        SK_ERROR("cannot encode the result of command %s for '%s'", r->command_id, r->user);
        rc = SK_EINVAL;
        goto out;
    }
    for (;;) {
        unsigned char env[SK_ENVELOPE_MAX];
        size_t env_len = 0;
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
        if (rt->signing &&
            (sk_envelope_sign(&rt->key, rt->o->results_topic, r->user, strlen(r->user), buf, len,
                              sk_now_ms(), env, sizeof(env), &env_len) != 0 ||
             rd_kafka_header_add(hdrs, SK_ENVELOPE_HEADER, -1, env, (ssize_t)env_len))) {
            SK_ERROR("cannot sign the result of command %s for '%s'", r->command_id, r->user);
            rd_kafka_headers_destroy(hdrs);
            rc = SK_EINVAL;
            goto out;
        }
        rt->delivered = rt->failed = 0;
        rd_kafka_resp_err_t perr = rd_kafka_producev(
            rt->producer, RD_KAFKA_V_RKT(rt->results), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(buf, len),
            RD_KAFKA_V_KEY(r->user, strlen(r->user)), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (perr)
            rd_kafka_headers_destroy(hdrs); /* else now owned by the message */
        if (perr == RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* wait in steps, so that SIGTERM is not held up by a broker away */
            sk_ms_t until = sk_now_ms() + PUBLISH_TIMEOUT_MS;
            while (!rt->delivered && !rt->failed && !stop_flag && sk_now_ms() < until)
                rd_kafka_flush(rt->producer, 100);
            if (rt->delivered == 1)
                break;
            if (stop_flag) {
                rd_kafka_purge(rt->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                rc = SK_EAGAIN;
                goto out;
            }
            SK_WARN("result of command %s not acknowledged: %s; retrying", r->command_id,
                    rt->failed ? rd_kafka_err2str(rt->delivery_err) : "timed out");
        } else {
            rd_kafka_poll(rt->producer, 100);
        }
        rt->m.publish_retries++;
        if (stop_flag) {
            rc = SK_EAGAIN;
            goto out;
        }
        usleep((useconds_t)backoff_ms * 1000);
        backoff_ms = backoff_ms < 2500 ? backoff_ms * 2 : 5000;
    }
out:
    sk_arena_fini(&arena);
    return rc;
}

/* ---- /metrics, /healthz and /readyz ---- */

/* The seven plain counters of sk_prov_metrics_t, in the order of fam[1..7]. */
static const struct {
    const char *name, *help;
} COUNTERS[] = {
    {"shiftkey_prov_duplicates_total", "command ids answered again without applying"},
    {"shiftkey_prov_skipped_total", "commands of apps not served, undecodable ones"},
    {"shiftkey_prov_expired_total", "grants removed by local expiry"},
    {"shiftkey_prov_strays_total", "memberships nobody granted, seen by reconciliation"},
    {"shiftkey_prov_strays_removed_total", "strays removed (reconcile: remove)"},
    {"shiftkey_prov_publish_retries_total", "results produced again while Kafka was away"},
    {"shiftkey_prov_reconcile_runs_total", "reconciliation runs"},
};

static unsigned long *counter_of(sk_prov_metrics_t *m, size_t i)
{
    unsigned long *v[] = {&m->duplicates,     &m->skipped,         &m->expired,       &m->strays,
                          &m->strays_removed, &m->publish_retries, &m->reconcile_runs};
    return v[i];
}

/* The families (shiftkey_prov_*) in a new rt->reg: 0 or SK_ENOMEM. */
static int metrics_open(sk_prov_rt_t *rt)
{
    if (!(rt->reg = sk_metrics_new()) ||
        !(rt->fam[0] = sk_metrics_counter(rt->reg, "shiftkey_prov_results_total",
                                          "results published, by result", "result")))
        return SK_ENOMEM;
    for (size_t i = 0; i < SK_ARRAY_LEN(COUNTERS); i++)
        if (!(rt->fam[1 + i] =
                  sk_metrics_counter(rt->reg, COUNTERS[i].name, COUNTERS[i].help, NULL)))
            return SK_ENOMEM;
    rt->fam[8] =
        sk_metrics_gauge(rt->reg, "shiftkey_prov_grants", "grants held (the state file)", NULL);
    rt->fam[9] = sk_metrics_gauge(rt->reg, "shiftkey_prov_kafka_up",
                                  "1 when the last probe of the brokers answered", NULL);
    return rt->fam[8] && rt->fam[9] ? 0 : SK_ENOMEM;
}

/* Probes the brokers (a metadata request, 500 ms at most) into
 * shiftkey_prov_kafka_up, which /readyz reads. */
static void probe_kafka(sk_prov_rt_t *rt)
{
    const struct rd_kafka_metadata *md = NULL;
    if (!rt->reg)
        return;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rt->producer, 0, NULL, &md, 500);
    sk_metric_set(rt->fam[9], err ? 0 : 1);
    if (md)
        rd_kafka_metadata_destroy(md);
}

/* /readyz: ready while the brokers answer (the targets are checked at
 * start, and each command's outcome is a result, not a readiness). */
static int prov_ready(void *ctx, char *why, size_t why_len)
{
    if (sk_metrics_value(ctx, "shiftkey_prov_kafka_up") >= 1)
        return 1;
    snprintf(why, why_len, "Kafka brokers not answering");
    return 0;
}

/* Adds to the registry what the counters of rt->m gained since the last
 * call: the loop's thread counts, the server's thread (diag.c) only reads
 * the registry, which has its own lock. */
static void metrics_sync(sk_prov_rt_t *rt)
{
    static const char *const results[SK_PROV_STATUS_COUNT] = {"provisioned", "wont_provision",
                                                              "failed", "deprovisioned", "found"};
    if (!rt->reg)
        return;
    for (int i = 0; i < SK_PROV_STATUS_COUNT; i++) {
        sk_metric_add(rt->fam[0], (double)(rt->m.commands[i] - rt->shown.commands[i]), results[i]);
        rt->shown.commands[i] = rt->m.commands[i];
    }
    for (size_t i = 0; i < SK_ARRAY_LEN(COUNTERS); i++) {
        unsigned long *now = counter_of(&rt->m, i), *was = counter_of(&rt->shown, i);
        sk_metric_add(rt->fam[1 + i], (double)(*now - *was));
        *was = *now;
    }
    sk_metric_set(rt->fam[8], (double)rt->state.n_grants);
}

/* ---- start-up ---- */

static const sk_prov_target_t *const TARGETS[] = {&sk_prov_target_pg, &sk_prov_target_ldap,
                                                  &sk_prov_target_webhook, &sk_prov_target_exec};

/* Reads the top section; 0 or -1 after printing every error. */
static int read_top(sk_prov_rt_t *rt)
{
    sk_prov_conf_t *c = &rt->conf;
    int bad = 0;
    const char *type = sk_prov_conf_get(c, SK_PROV_SEC_TOP, "type", NULL);
    const char *rec = sk_prov_conf_get(c, SK_PROV_SEC_TOP, "reconcile", "report");
    const char *iv = sk_prov_conf_get(c, SK_PROV_SEC_TOP, "reconcile_interval", "5m");
    const char *ign = sk_prov_conf_get(c, SK_PROV_SEC_TOP, "reconcile_ignore", "");
    const char *grace = sk_prov_conf_get(c, SK_PROV_SEC_TOP, "expiry_grace", "0");
    const char *key_file = sk_prov_conf_get(c, SK_PROV_SEC_TOP, "signing_key_file", NULL);
    rt->provisioner = sk_prov_conf_get(c, SK_PROV_SEC_TOP, "provisioner", NULL);
    if (key_file) {
        char err[512];
        if (sk_keyfile_read(key_file, &rt->key, err, sizeof(err)) != 0) {
            sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TOP, "signing_key_file"),
                               "signing_key_file: %s", err);
            bad++;
        } else {
            rt->signing = true;
        }
    }
    rt->user_default = sk_prov_conf_get(c, SK_PROV_SEC_TOP, "user_default", "id");
    if (!rt->provisioner || !sk_id_valid(rt->provisioner, strlen(rt->provisioner))) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TOP, "provisioner"),
                           "provisioner: required, an identifier (the name results carry)");
        bad++;
    }
    if (!sk_prov_conf_get(c, SK_PROV_SEC_TOP, "state", NULL)) {
        sk_prov_conf_error(c, 0, "state: required (the file of what this provisioner granted)");
        bad++;
    }
    for (size_t i = 0; type && i < SK_ARRAY_LEN(TARGETS); i++)
        if (strcmp(type, TARGETS[i]->type) == 0)
            rt->target = TARGETS[i];
    if (!rt->target) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TOP, "type"),
                           "type '%s': expected postgres, ldap, webhook or exec", type ? type : "");
        bad++;
    }
    if (strcmp(rec, "off") == 0)
        rt->reconcile = SK_PROV_RECONCILE_OFF;
    else if (strcmp(rec, "report") == 0)
        rt->reconcile = SK_PROV_RECONCILE_REPORT;
    else if (strcmp(rec, "remove") == 0)
        rt->reconcile = SK_PROV_RECONCILE_REMOVE;
    else {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TOP, "reconcile"),
                           "reconcile '%s': expected off, report or remove", rec);
        bad++;
    }
    if (sk_duration_parse(iv, &rt->reconcile_interval_ms) != 0) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TOP, "reconcile_interval"),
                           "reconcile_interval '%s': expected a duration such as 5m", iv);
        bad++;
    }
    if (sk_duration_parse(grace, &rt->expiry_grace_ms) != 0 || rt->expiry_grace_ms > 3600000) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TOP, "expiry_grace"),
                           "expiry_grace '%s': expected a duration up to 1h, such as 5s", grace);
        bad++;
    }
    if (strcmp(rt->user_default, "id") && strcmp(rt->user_default, "localpart") &&
        strcmp(rt->user_default, "none")) {
        sk_prov_conf_error(c, sk_prov_conf_line(c, SK_PROV_SEC_TOP, "user_default"),
                           "user_default '%s': expected id, localpart or none", rt->user_default);
        bad++;
    }
    /* ';' separates: DNs hold commas (and may hold spaces) */
    char *copy = strdup(ign), *save = NULL;
    for (char *t = copy ? strtok_r(copy, ";", &save) : NULL; t; t = strtok_r(NULL, ";", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        size_t n = strlen(t);
        while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            t[--n] = '\0';
        if (n > 0)
            sk_prov_names_add(&rt->ignore, t);
    }
    free(copy);
    return bad ? -1 : 0;
}

/* Checks [entitlements] and [users] keys; 0 or -1. */
static int read_maps(sk_prov_rt_t *rt, const char ***objects, int **lines, size_t *n)
{
    sk_prov_conf_t *c = &rt->conf;
    int bad = 0;
    *n = 0;
    *objects = calloc(c->n_kv + 1, sizeof(**objects));
    *lines = calloc(c->n_kv + 1, sizeof(**lines));
    if (!*objects || !*lines)
        return -1;
    for (size_t i = 0; i < c->n_kv; i++) {
        sk_prov_kv_t *kv = &c->kv[i];
        if (kv->section == SK_PROV_SEC_USERS) {
            kv->used = true;
            if (!sk_id_valid(kv->key, strlen(kv->key)) || !*kv->value) {
                sk_prov_conf_error(c, kv->line, "[users]: expected USER-ID = PRINCIPAL");
                bad++;
            }
            continue;
        }
        if (kv->section != SK_PROV_SEC_ENTITLEMENTS)
            continue;
        kv->used = true;
        const char *slash = strchr(kv->key, '/');
        if (!slash || slash == kv->key || !slash[1] || !sk_id_valid(kv->key, strlen(kv->key)) ||
            !*kv->value) {
            sk_prov_conf_error(c, kv->line,
                               "[entitlements]: expected app/entitlement = OBJECT, "
                               "got '%s'",
                               kv->key);
            bad++;
            continue;
        }
        (*objects)[*n] = kv->value;
        (*lines)[(*n)++] = kv->line;
    }
    if (*n == 0 && !bad) {
        sk_prov_conf_error(c, 0,
                           "[entitlements]: none configured: this provisioner would serve "
                           "nothing");
        bad++;
    }
    return bad ? -1 : 0;
}

const char *sk_prov_object(const sk_prov_rt_t *rt, const char *ent)
{
    return sk_prov_conf_get(&rt->conf, SK_PROV_SEC_ENTITLEMENTS, ent, NULL);
}

int sk_prov_serves(const sk_prov_rt_t *rt, const char *app)
{
    size_t n = strlen(app);
    for (size_t i = 0; i < rt->conf.n_kv; i++) {
        const sk_prov_kv_t *kv = &rt->conf.kv[i];
        if (kv->section == SK_PROV_SEC_ENTITLEMENTS && strncmp(kv->key, app, n) == 0 &&
            kv->key[n] == '/')
            return 1;
    }
    return 0;
}

static int start(sk_prov_rt_t *rt, const char *conf_path)
{
    const char **objects = NULL;
    int *lines = NULL, rc = -1;
    size_t n = 0;
    char err[1024];
    if (sk_prov_conf_load(conf_path, &rt->conf) != 0)
        return -1;
    if (read_top(rt) != 0 || read_maps(rt, &objects, &lines, &n) != 0)
        goto out;
    if (rt->target->init(&rt->conf, &rt->tctx) != 0)
        goto out;
    if (sk_prov_conf_unused(&rt->conf, SK_PROV_SEC_TOP) +
            sk_prov_conf_unused(&rt->conf, SK_PROV_SEC_TARGET) >
        0)
        goto out;
    if (rt->target->check(rt->tctx, &rt->conf, objects, lines, n) != 0)
        goto out;
    if (sk_prov_state_load(&rt->state, sk_prov_conf_get(&rt->conf, SK_PROV_SEC_TOP, "state", ""),
                           rt->provisioner) != 0)
        goto out;
    if (rt->o->check_only) {
        rc = 0;
        goto out;
    }
    if (!(rt->codec = sk_codec_new()))
        goto out;
    if (kafka_open(rt, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", rt->o->prog, err);
        goto out;
    }
    if (rt->o->metrics_addr) {
        if (metrics_open(rt) != 0) {
            fprintf(stderr, "%s: out of memory\n", rt->o->prog);
            goto out;
        }
        metrics_sync(rt);
        probe_kafka(rt);
        if (!(rt->diag = sk_diag_start(rt->o->metrics_addr, rt->reg, prov_ready, rt->reg, err,
                                       sizeof(err)))) {
            fprintf(stderr, "%s: --metrics: %s\n", rt->o->prog, err);
            goto out;
        }
    }
    rc = 0;
out:
    free(objects);
    free(lines);
    return rc;
}

static void stop(sk_prov_rt_t *rt)
{
    if (rt->consumer) {
        rd_kafka_consumer_close(rt->consumer);
        rd_kafka_destroy(rt->consumer);
    }
    if (rt->results)
        rd_kafka_topic_destroy(rt->results);
    if (rt->producer) {
        rd_kafka_flush(rt->producer, 5000);
        rd_kafka_destroy(rt->producer);
    }
    if (rt->target && rt->tctx)
        rt->target->destroy(rt->tctx);
    sk_diag_stop(rt->diag);
    sk_metrics_destroy(rt->reg);
    sk_codec_destroy(rt->codec);
    sk_keyfile_wipe(&rt->key);
    sk_prov_state_fini(&rt->state);
    sk_prov_names_fini(&rt->ignore);
    sk_prov_conf_fini(&rt->conf);
    sk_arena_fini(&rt->arena);
}

/* One consumed record: 0 when its offset may be committed. */
static int on_message(sk_prov_rt_t *rt, rd_kafka_message_t *m)
{
    sk_command_t cmd;
    char reason[512];
    sk_arena_reset(&rt->arena);
    if (sk_codec_decode_command(rt->codec, m->payload, m->len, &rt->arena, &cmd, reason,
                                sizeof(reason)) != 0) {
        SK_WARN("%s [%d] offset %lld: not a command (%s); skipped", rd_kafka_topic_name(m->rkt),
                (int)m->partition, (long long)m->offset, reason);
        rt->m.skipped++;
        return 0;
    }
    return sk_prov_apply_command(rt, &cmd);
}

static void loop(sk_prov_rt_t *rt)
{
    sk_ms_t next_reconcile = 0, next_log = sk_now_ms() + 60000, next_probe = 0;
    while (!stop_flag) {
        sk_ms_t now = sk_now_ms();
        if (now >= next_probe) { /* /readyz follows Kafka */
            probe_kafka(rt);
            next_probe = now + 5000;
        }
        if (sk_prov_expire(rt, now) != 0)
            break;
        if (rt->reconcile != SK_PROV_RECONCILE_OFF && now >= next_reconcile) {
            sk_prov_reconcile_run(rt);
            next_reconcile =
                rt->reconcile_interval_ms > 0 ? now + rt->reconcile_interval_ms : SK_MS_NONE;
        }
        metrics_sync(rt);
        if (now >= next_log) {
            SK_INFO("%s: %zu grants held; results: %lu provisioned, %lu deprovisioned, %lu "
                    "failed, %lu won't provision; %lu expired locally, %lu strays",
                    rt->provisioner, rt->state.n_grants, rt->m.commands[SK_PROV_PROVISIONED],
                    rt->m.commands[SK_PROV_DEPROVISIONED], rt->m.commands[SK_PROV_FAILED],
                    rt->m.commands[SK_PROV_WONT_PROVISION], rt->m.expired, rt->m.strays);
            next_log = now + 60000;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rt->consumer, 200);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                SK_WARN("kafka: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (on_message(rt, m) != 0) {
            /* stopping before the result was acknowledged: not committed */
            rd_kafka_message_destroy(m);
            break;
        }
        rd_kafka_resp_err_t err = rd_kafka_commit_message(rt->consumer, m, 0);
        if (err)
            SK_WARN("kafka: commit of %s [%d] offset %lld failed: %s (the command will be "
                    "answered again after a restart)",
                    rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset,
                    rd_kafka_err2str(err));
        rd_kafka_message_destroy(m);
    }
}

int sk_prov_run(const sk_prov_opts_t *o, const char *conf_path)
{
    sk_prov_rt_t rt = {.o = o};
    struct sigaction sa = {.sa_handler = on_stop};
    int status = 1;
    sk_arena_init(&rt.arena, 16384);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (start(&rt, conf_path) != 0)
        goto out;
    if (o->check_only) {
        fprintf(stderr, "%s: %s: configuration ok: %s target, state %zu grants\n", o->prog,
                conf_path, rt.target->type, rt.state.n_grants);
        status = 0;
        goto out;
    }
    SK_INFO("%s: provisioner '%s' (%s) started: %zu grants in its state, commands from %s, "
            "results to %s, %s%s",
            o->prog, rt.provisioner, rt.target->type, rt.state.n_grants, o->commands_topic,
            o->results_topic,
            rt.signing ? "signed by "
                       : "UNSIGNED (no signing_key_file: an engine "
                         "with identity: signed refuses them)",
            rt.signing ? rt.key.signer : "");
    loop(&rt);
    SK_INFO("%s: stopped", o->prog);
    status = 0;
out:
    stop(&rt);
    return status;
}
