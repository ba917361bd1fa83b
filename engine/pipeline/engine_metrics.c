/*
 * engine_metrics.c — the engine's metrics (see engine_metrics.h): the
 * families, the per-decision counts, and the periodic sample of the
 * engine's state.
 */
#include "pipeline/engine_metrics.h"

#include <stdio.h>
#include <string.h>

#include "pipeline/engine_internal.h"

#define SAMPLE_EVERY_MS      1000
#define KAFKA_PROBE_EVERY_MS 5000

void sk_engine_metrics_init(sk_engine_metrics_t *m, sk_metrics_t *r)
{
    /* seconds: timers fire within a scan interval; commands follow records within ms */
    static const double late[] = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300};
    static const double lat[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10};
    memset(m, 0, sizeof(*m));
    if (!r)
        return;
    m->reg = r;
    m->records = sk_metrics_counter(r, "shiftkey_input_records_total",
                                    "Input records by topic and outcome (applied, duplicate: "
                                    "applied before, dead_letter)",
                                    "topic,outcome");
    m->decisions = sk_metrics_counter(r, "shiftkey_decisions_total",
                                      "Decisions by input kind and audit decision", "kind,outcome");
    m->commands =
        sk_metrics_counter(r, "shiftkey_commands_total", "Commands staged by action", "action");
    m->tasks = sk_metrics_counter(r, "shiftkey_tasks_total", "Task events staged by kind and state",
                                  "kind,state");
    m->dead_letters =
        sk_metrics_counter(r, "shiftkey_dead_letters_total", "Dead letters by reason", "reason");
    m->refused =
        sk_metrics_counter(r, "shiftkey_refused_actions_total",
                           "Requests and actions refused, by action and reason", "action,reason");
    m->timers = sk_metrics_counter(r, "shiftkey_timers_fired_total", "User timers fired", NULL);
    m->fenced =
        sk_metrics_counter(r, "shiftkey_fenced_total", "Partitions left to a newer owner", NULL);
    m->restores = sk_metrics_counter(r, "shiftkey_restores_total",
                                     "Partition states rebuilt from the changelog", NULL);
    m->timer_lateness = sk_metrics_histogram(
        r, "shiftkey_timer_lateness_seconds",
        "How long after its expiry a timer's REVOKE was decided", NULL, late, SK_ARRAY_LEN(late));
    m->latency = sk_metrics_histogram(r, "shiftkey_record_to_command_seconds",
                                      "From an input record's timestamp to its commands staged",
                                      NULL, lat, SK_ARRAY_LEN(lat));
    m->lag =
        sk_metrics_gauge(r, "shiftkey_consumer_lag",
                         "Records not yet consumed, per owned input partition", "topic,partition");
    m->outbox = sk_metrics_gauge(r, "shiftkey_outbox_inflight",
                                 "Outbox entries produced and not yet acknowledged", NULL);
    m->partitions =
        sk_metrics_gauge(r, "shiftkey_partitions_owned", "Input partitions owned", NULL);
    m->redis_up = sk_metrics_gauge(r, "shiftkey_redis_up", "1 when Redis is connected", NULL);
    m->held =
        sk_metrics_gauge(r, "shiftkey_commands_held",
                         "Commands taking access away that Kafka refused, held and retried", NULL);
    m->kafka_up = sk_metrics_gauge(r, "shiftkey_kafka_up",
                                   "1 when the last probe of the brokers answered", NULL);
    m->redis_errors = sk_metrics_counter(r, "shiftkey_redis_errors_total",
                                         "Failed Redis connections and batches", NULL);
    m->kafka_errors = sk_metrics_counter(r, "shiftkey_kafka_errors_total",
                                         "Errors librdkafka reported", "client");
    m->rules_info =
        sk_metrics_gauge(r, "shiftkey_rules_info", "The rules in force (value 1)", "version");
    m->reloads = sk_metrics_counter(r, "shiftkey_rules_reloads_total",
                                    "Rules loads by result (ok, refused)", "result");
    /* series that should read 0 rather than be absent until the first event */
    sk_metric_add(m->redis_errors, 0);
    sk_metric_add(m->kafka_errors, 0, "consumer");
    sk_metric_add(m->kafka_errors, 0, "producer");
    sk_metric_add(m->restores, 0);
    sk_metric_add(m->reloads, 0, "refused");
    sk_metric_set(m->kafka_up, 0);
    sk_metric_set(m->redis_up, 0);
    sk_metric_set(m->partitions, 0);
}

void sk_engine_metrics_rules(sk_engine_metrics_t *m, const sk_rules_t *rules, bool ok)
{
    sk_metric_add(m->reloads, 1, ok ? "ok" : "refused");
    if (!ok)
        return;
    sk_metric_clear(m->rules_info);
    sk_metric_set(m->rules_info, 1, sk_rules_version(rules));
}

const char *sk_engine_metrics_refusal_class(const char *r)
{
    static const struct {
        const char *needle, *cls;
    } classes[] = {
        {"may not request", "not_requestable"},
        {"their own request", "self_review"},
        {"not an assignee", "not_allowed"},
        {"not an allowed reviewer", "not_allowed"},
        {"not a provisioner", "not_allowed"},
        {"only an administrator", "not_allowed"},
        {"only the requester", "not_allowed"},
        {"neither the requester", "not_allowed"},
        {"refused: only", "not_allowed"},
        {"is already", "closed"},
        {"waits at no reviewers step", "no_review_step"},
        {"is not in the rules", "unknown_policy"},
        {"no emergency_policy", "no_emergency_policy"},
        {"(self-review)", "self_review"}, /* access reviews (decide/campaign_actions.c) */
        {"nor an owner of campaign", "not_allowed"},
        {"is not an owner of campaign", "not_allowed"},
        {"is closed (", "closed"},
    };
    for (size_t i = 0; r && i < SK_ARRAY_LEN(classes); i++)
        if (strstr(r, classes[i].needle))
            return classes[i].cls;
    return "other";
}

void sk_engine_metrics_decision(sk_engine_metrics_t *m, const char *kind, const char *topic,
                                bool applied, const sk_decision_t *d, bool refused,
                                const char *refuse_reason, const char *action, sk_ms_t record_ms,
                                sk_ms_t now_ms)
{
    if (!m->reg)
        return;
    if (topic)
        sk_metric_add(m->records, 1, topic,
                      !applied      ? "duplicate"
                      : d->rejected ? "dead_letter"
                                    : "applied");
    if (!applied)
        return;
    sk_metric_add(m->decisions, 1, kind, d->audit.decision ? d->audit.decision : "");
    if (d->rejected)
        sk_metric_add(m->dead_letters, 1, sk_dead_letter_kind_name(d->reject_kind));
    if (refused)
        sk_metric_add(m->refused, 1, action ? action : kind,
                      sk_engine_metrics_refusal_class(refuse_reason));
    for (size_t i = 0; i < d->n_commands; i++) {
        const sk_command_t *c = &d->commands[i];
        sk_metric_add(m->commands, 1, sk_command_action_name(c->action));
        if (record_ms == SK_MS_NONE && c->action == SK_CMD_REVOKE && c->expires_at_ms <= now_ms)
            sk_metric_observe(m->timer_lateness, (double)(now_ms - c->expires_at_ms) / 1000.0);
    }
    if (d->n_commands && record_ms != SK_MS_NONE && record_ms <= now_ms)
        sk_metric_observe(m->latency, (double)(now_ms - record_ms) / 1000.0);
    for (size_t i = 0; i < d->n_tasks; i++)
        sk_metric_add(m->tasks, 1, sk_task_kind_name(d->tasks[i].kind),
                      sk_task_state_name(d->tasks[i].state));
}

void sk_engine_metrics_identity(sk_engine_metrics_t *m, const char *kind, const char *verdict)
{
    char reason[64];
    if (!verdict || !m->refused)
        return;
    snprintf(reason, sizeof(reason), "identity_%s", verdict);
    sk_metric_add(m->refused, 1, kind, reason);
}

void sk_engine_metrics_kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    sk_engine_t *e = opaque;
    (void)reason;
    sk_metric_add(e->m.kafka_errors, 1,
                  rd_kafka_type(rk) == RD_KAFKA_PRODUCER ? "producer" : "consumer");
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        sk_metric_set(e->m.kafka_up, 0);
}

void sk_engine_metrics_redis_error(sk_engine_metrics_t *m)
{
    /* the loop does not sample while Redis is away: say it here */
    sk_metric_add(m->redis_errors, 1);
    sk_metric_set(m->redis_up, 0);
}

void sk_engine_metrics_sample(sk_engine_t *e, sk_ms_t now)
{
    sk_engine_metrics_t *m = &e->m;
    int owned = 0;
    size_t inflight = 0;
    char part[16];
    if (!m->reg || now < m->next_sample)
        return;
    m->next_sample = now + SAMPLE_EVERY_MS;
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        if (!e->parts[p].owned)
            continue;
        owned++;
        inflight += e->parts[p].inflight;
        snprintf(part, sizeof(part), "%d", (int)p);
        for (int t = 0; t < SK_IN_TOPIC_COUNT; t++) {
            int64_t lo = 0, hi = 0, next = e->parts[p].in[t].next_offset;
            const char *name = sk_in_topic_name(&e->cfg, t);
            if (rd_kafka_get_watermark_offsets(e->consumer, name, p, &lo, &hi) || hi < 0)
                continue;
            sk_metric_set(m->lag, (double)(hi - (next > lo ? next : lo)), name, part);
        }
    }
    sk_metric_set(m->partitions, owned);
    sk_metric_set(m->outbox, (double)inflight);
    sk_metric_set(m->held, (double)e->stats.commands_held);
    sk_metric_set(m->redis_up, sk_store_connected(e->store) ? 1 : 0);
    sk_metric_add(m->timers, (double)(e->stats.timers_fired - m->last_timers));
    sk_metric_add(m->fenced, (double)(e->stats.fenced - m->last_fenced));
    sk_metric_add(m->restores, (double)(e->stats.restores - m->last_restores));
    m->last_timers = e->stats.timers_fired;
    m->last_fenced = e->stats.fenced;
    m->last_restores = e->stats.restores;
    if (now >= m->next_kafka_probe) {
        /* a metadata round trip (at most 200 ms, every 5 s): the brokers answer */
        const struct rd_kafka_metadata *md = NULL;
        m->next_kafka_probe = now + KAFKA_PROBE_EVERY_MS;
        rd_kafka_resp_err_t err = rd_kafka_metadata(e->producer, 0, NULL, &md, 200);
        sk_metric_set(m->kafka_up, err ? 0 : 1);
        if (md)
            rd_kafka_metadata_destroy(md);
    }
}
