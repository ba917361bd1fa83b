/* engine.c — the engine's life cycle and main loop (see engine.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/campaign_scan.h"
#include "pipeline/engine_internal.h"
#include "pipeline/verify.h"
#include "base/log.h"
#include "base/topics.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

void sk_engine_config_defaults(sk_engine_config_t *c)
{
#define DEF(f, v)                                                                                  \
    if (!c->f)                                                                                     \
    c->f = v
    DEF(group_id, "shiftkey");
    DEF(client_id, "shiftkeyd");
    DEF(schedule_topic, sk_topic_def(SK_TOPIC_SCHEDULE)->default_name);
    DEF(requests_topic, sk_topic_def(SK_TOPIC_REQUESTS)->default_name);
    DEF(results_topic, sk_topic_def(SK_TOPIC_RESULTS)->default_name);
    DEF(tasks_topic, sk_topic_def(SK_TOPIC_TASKS)->default_name);
    DEF(commands_topic, sk_topic_def(SK_TOPIC_COMMANDS)->default_name);
    DEF(audit_topic, sk_topic_def(SK_TOPIC_AUDIT)->default_name);
    DEF(deadletter_topic, sk_topic_def(SK_TOPIC_DEADLETTER)->default_name);
    DEF(changelog_topic, sk_topic_def(SK_TOPIC_CHANGELOG)->default_name);
    DEF(timer_interval_ms, 200);
    DEF(batch_max, 500);
#undef DEF
}

static const char *keep(sk_engine_t *e, size_t *k, const char *s)
{
    if (!s || *k >= SK_ARRAY_LEN(e->strings))
        return s;
    return e->strings[(*k)++] = strdup(s);
}

static void log_rules(const sk_rules_t *r, const char *path)
{
    sk_rules_stats_t st;
    sk_rules_stats(r, &st);
    SK_INFO("rules %s: %zu files, %zu apps, %zu entitlements, %zu rotations, %zu profiles, "
            "%zu enrollments (version %s)",
            path, st.files, st.apps, st.entitlements, st.rotations, st.profiles, st.enrollments,
            sk_rules_version(r));
    sk_verify_announce(r);
}

sk_engine_t *sk_engine_new(const sk_engine_config_t *cfg, char *err, size_t err_len)
{
    sk_engine_t *e = calloc(1, sizeof(*e));
    sk_rules_errors_t errs;
    size_t k = 0;
    if (!e) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    sk_rules_errors_init(&errs);
    e->cfg = *cfg;
    sk_engine_config_defaults(&e->cfg);
    e->cfg.brokers = keep(e, &k, e->cfg.brokers);
    e->cfg.group_id = keep(e, &k, e->cfg.group_id);
    e->cfg.client_id = keep(e, &k, e->cfg.client_id);
    e->cfg.schedule_topic = keep(e, &k, e->cfg.schedule_topic);
    e->cfg.requests_topic = keep(e, &k, e->cfg.requests_topic);
    e->cfg.results_topic = keep(e, &k, e->cfg.results_topic);
    e->cfg.tasks_topic = keep(e, &k, e->cfg.tasks_topic);
    e->cfg.commands_topic = keep(e, &k, e->cfg.commands_topic);
    e->cfg.audit_topic = keep(e, &k, e->cfg.audit_topic);
    e->cfg.deadletter_topic = keep(e, &k, e->cfg.deadletter_topic);
    e->cfg.changelog_topic = keep(e, &k, e->cfg.changelog_topic);
    e->cfg.rules_path = keep(e, &k, e->cfg.rules_path);
    e->cfg.kafka_props = NULL; /* applied at open below, not kept */
    sk_arena_init(&e->arena, 64 * 1024);
    sk_failpoint_init(&e->failpoints);
    if (!(e->cache = sk_state_cache_new())) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (!e->cfg.brokers || !e->cfg.rules_path) {
        snprintf(err, err_len, "both the Kafka brokers and the rules path are required");
        goto fail;
    }
    e->rules = sk_rules_load(e->cfg.rules_path, &errs);
    if (!e->rules) {
        size_t n = errs.count;
        const sk_rules_error_t *x = n ? &errs.items[0] : NULL;
        if (x)
            snprintf(err, err_len, "rules refused (%zu error%s); first: %s:%d:%d: %s", n,
                     n == 1 ? "" : "s", x->file, x->line, x->column, x->message);
        else /* the loader gave up without saying why (out of memory) */
            snprintf(err, err_len, "rules refused with no error recorded (out of memory?): %s",
                     e->cfg.rules_path);
        sk_rules_errors_print(&errs, stderr);
        goto fail;
    }
    log_rules(e->rules, e->cfg.rules_path);
    sk_engine_metrics_init(&e->m, cfg->metrics);
    sk_engine_metrics_rules(&e->m, e->rules, true);
    if (!(e->codec = sk_codec_new())) {
        snprintf(err, err_len, "cannot parse the embedded Avro schemas");
        goto fail;
    }
    if (sk_engine_schemas_open(e, cfg, err, err_len) != 0)
        goto fail;
    if (!(e->store = sk_store_new(&cfg->redis))) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (sk_store_connect(e->store) != 0) {
        SK_WARN("%s; will retry", sk_store_last_error(e->store));
        e->redis_down_logged = true;
    }
    e->cfg.kafka_props = cfg->kafka_props;
    if (sk_emit_open(e, err, err_len) || sk_ledger_open(e, err, err_len) ||
        sk_consume_open(e, err, err_len))
        goto fail;
    e->cfg.kafka_props = NULL;
    sk_rules_errors_fini(&errs);
    return e;
fail:
    sk_rules_errors_fini(&errs);
    sk_engine_destroy(e);
    return NULL;
}

void sk_engine_destroy(sk_engine_t *e)
{
    if (!e)
        return;
    if (!e->stop_deadline)
        e->stop_deadline = sk_now_ms() + SK_STOP_BUDGET_MS;
    sk_consume_close(e);
    sk_ledger_close(e);
    sk_emit_close(e);
    sk_held_destroy(e);
    sk_store_destroy(e->store);
    sk_codec_destroy(e->codec);
    sk_schema_registry_destroy(e->registry);
    sk_rules_destroy(e->rules);
    sk_rules_destroy(e->sweep_from);
    sk_arena_fini(&e->arena);
    sk_state_cache_destroy(e->cache);
    for (size_t i = 0; i < SK_ARRAY_LEN(e->strings); i++)
        free(e->strings[i]);
    free(e);
}

void sk_engine_stats(const sk_engine_t *e, sk_engine_stats_t *out)
{
    *out = e->stats;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reconnects to Redis with backoff, logging once per outage. */
static int redis_recover(sk_engine_t *e, int *backoff_ms)
{
    if (sk_store_connect(e->store) == 0) {
        /* what happened while away is not known here: states are read again */
        sk_state_cache_clear(e->cache, -1);
        if (e->redis_down_logged)
            SK_INFO("Redis is reachable again; resuming");
        e->redis_down_logged = false;
        *backoff_ms = BACKOFF_MIN_MS;
        return 0;
    }
    sk_engine_metrics_redis_error(&e->m);
    if (!e->redis_down_logged)
        SK_WARN("%s; pausing, retrying with backoff up to %d ms", sk_store_last_error(e->store),
                BACKOFF_MAX_MS);
    e->redis_down_logged = true;
    sleep_ms(*backoff_ms);
    *backoff_ms = *backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff_ms * 2;
    return SK_EIO;
}

static void reload_rules(sk_engine_t *e)
{
    sk_rules_errors_t errs;
    sk_rules_errors_init(&errs);
    sk_rules_t *r = sk_rules_load(e->cfg.rules_path, &errs);
    char why[900];
    if (!r) {
        SK_ERROR("rules reload refused (%zu errors); the rules in force stay (version %s):",
                 errs.count, sk_rules_version(e->rules));
        sk_engine_metrics_rules(&e->m, e->rules, false);
        for (size_t i = 0; i < errs.count; i++)
            SK_ERROR("%s:%d:%d: %s", errs.items[i].file, errs.items[i].line, errs.items[i].column,
                     errs.items[i].message);
        if (errs.count)
            snprintf(why, sizeof(why),
                     "rules reload from %s refused (%zu errors; first: %s:%d:%d: %s); the "
                     "rules in force stay",
                     e->cfg.rules_path, errs.count, errs.items[0].file, errs.items[0].line,
                     errs.items[0].column, errs.items[0].message);
        else
            snprintf(why, sizeof(why),
                     "rules reload from %s refused (out of memory?); the "
                     "rules in force stay",
                     e->cfg.rules_path);
        (void)sk_engine_audit(e, "rules_refused", -1, NULL, why);
    } else {
        const char *old = sk_rules_version(e->rules);
        snprintf(why, sizeof(why), "rules reloaded from %s: version %s replaces %s",
                 e->cfg.rules_path, sk_rules_version(r), old);
        /* the rules a pending sweep started from stay its baseline */
        if (e->sweep_from)
            sk_rules_destroy(e->rules);
        else
            e->sweep_from = e->rules;
        e->rules = r;
        log_rules(r, e->cfg.rules_path);
        sk_engine_metrics_rules(&e->m, r, true);
        (void)sk_engine_audit(e, "rules_reloaded", -1, NULL, why);
    }
    sk_rules_errors_fini(&errs);
}

/* Decides again the users of partitions claimed under other rules, and
 * those a rules change touched (sweep.c); on failure the old rules are kept
 * and the sweep is tried again at the next turn. */
static void sweep_if_pending(sk_engine_t *e)
{
    if (!sk_store_connected(e->store))
        return;
    /* partitions claimed whose state other rules decided, first */
    int rc = sk_sweep_claimed(e, sk_now_ms());
    if (rc)
        SK_WARN("partitions claimed under other rules not yet swept (%s); trying again",
                sk_strerror(rc));
    if (!e->sweep_from)
        return;
    rc = sk_sweep_rules(e, e->sweep_from, sk_now_ms());
    if (rc) {
        SK_WARN("rules change not yet applied to every user (%s); trying again", sk_strerror(rc));
        return;
    }
    sk_rules_destroy(e->sweep_from);
    e->sweep_from = NULL;
}

/* Applies a batch of records, retrying through Redis outages until it is
 * applied or the engine is asked to stop. Never skips a record. */
static int apply_with_retry(sk_engine_t *e, rd_kafka_message_t *const *msgs, size_t n,
                            volatile sig_atomic_t *stop)
{
    int backoff = BACKOFF_MIN_MS;
    bool logged = false;
    for (;;) {
        int rc = sk_store_connected(e->store) ? sk_apply_batch(e, msgs, n) : SK_EIO;
        if (rc == 0)
            sk_failpoint_after_apply(&e->failpoints, e->stats.records);
        if (rc == 0 || *stop)
            return rc;
        if (rc == SK_EAGAIN)
            continue; /* a partition was claimed again: redo at once */
        if (rc == SK_EIO && !sk_store_connected(e->store)) {
            while (!*stop && redis_recover(e, &backoff) != 0)
                ;
            continue;
        }
        /* Anything else (Redis refusing a command, resource exhaustion, a
         * bug) must not skip the records, which may carry a revoke: retry,
         * visibly. */
        if (!logged)
            SK_ERROR("%zu records from %s[%" PRId32 "]@%" PRId64 ": %s (%s); retrying, "
                     "consumption waits",
                     n, rd_kafka_topic_name(msgs[0]->rkt), msgs[0]->partition, msgs[0]->offset,
                     sk_strerror(rc), sk_store_last_error(e->store));
        logged = true;
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
}

/* Polls up to max records: waits up to timeout_ms for the first, then takes
 * what is already there. Consumer errors are logged and dropped. */
static size_t poll_batch(sk_engine_t *e, rd_kafka_message_t **msgs, size_t max, int timeout_ms)
{
    size_t n = 0;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(e->consumer, timeout_ms);
    while (m) {
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                SK_WARN("consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        } else {
            msgs[n++] = m;
        }
        if (n == max)
            break;
        m = rd_kafka_consumer_poll(e->consumer, 0);
    }
    return n;
}

/* How long the poll may wait for input: 10 ms, or less when a timer of an
 * owned partition falls due sooner. */
static int poll_wait_ms(const sk_engine_t *e)
{
    sk_ms_t due = sk_timers_next_due(e), now = sk_now_ms();
    if (due <= now)
        return 0;
    return due - now < 10 ? (int)(due - now) : 10;
}

/* Monotonic microseconds, for the loop's own accounting (stats.loop_us_*). */
static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#define SUMMARY_INTERVAL_MS 60000

/* Once a minute, when anything was decided: one INFO line with what the
 * minute did (the per-command lines are DEBUG, apply.c). */
static void log_summary(sk_engine_t *e, sk_ms_t now)
{
    sk_engine_stats_t *s = &e->stats, *l = &e->summary_last;
    if (!e->summary_at) {
        e->summary_at = now;
        *l = *s;
        return;
    }
    if (now - e->summary_at < SUMMARY_INTERVAL_MS)
        return;
    if (s->records != l->records || s->timers_fired != l->timers_fired)
        SK_INFO("last %.0f s: %" PRIu64 " records, %" PRIu64 " decisions (%" PRIu64
                " dead letters, %" PRIu64 " duplicates skipped), %" PRIu64 " timers fired, %" PRIu64
                " commands, %" PRIu64 " output records produced",
                (double)(now - e->summary_at) / 1000.0, s->records - l->records,
                s->decisions - l->decisions, s->dead_letters - l->dead_letters,
                s->duplicates_skipped - l->duplicates_skipped, s->timers_fired - l->timers_fired,
                s->commands - l->commands, s->outbox_produced - l->outbox_produced);
    e->summary_at = now;
    *l = *s;
}

/* Counts a polled batch of n records in the histogram of stats.loop_batch_hist. */
static void count_batch(sk_engine_stats_t *st, size_t n, size_t max)
{
    int b = n == 1 ? 0 : n < 10 ? 1 : n < 100 ? 2 : n < max ? 3 : 4;
    st->loop_batches++;
    st->loop_batch_records += n;
    st->loop_batch_hist[b]++;
}

int sk_engine_run(sk_engine_t *e, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    int backoff = BACKOFF_MIN_MS;
    size_t max = (size_t)e->cfg.batch_max;
    rd_kafka_message_t **msgs = calloc(max, sizeof(*msgs));
    if (!msgs)
        return SK_ENOMEM;
    while (!*stop) {
        if (reload && *reload) {
            *reload = 0;
            reload_rules(e);
        }
        if (!sk_store_connected(e->store) && redis_recover(e, &backoff) != 0)
            continue; /* nothing is consumed while Redis is away */
        sweep_if_pending(e);
        /* records polled before a restore moved a partition back were
         * dropped; from here on, the consumer delivers from the new place */
        for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++)
            e->parts[p].stale_polled = false;
        uint64_t t0 = mono_us();
        size_t n = poll_batch(e, msgs, max, poll_wait_ms(e));
        uint64_t t1 = mono_us();
        if (n) {
            count_batch(&e->stats, n, max);
            (void)apply_with_retry(e, msgs, n, stop);
            for (size_t i = 0; i < n; i++)
                rd_kafka_message_destroy(msgs[i]);
        }
        uint64_t t2 = mono_us();
        sk_ms_t now = sk_now_ms();
        sk_hold_release_due(e, now);
        sk_keep_sweep(e, now); /* states past their keep-until leave Redis */
        if (now >= e->next_timer_scan) {
            (void)sk_timers_fire(e, now);
            (void)sk_campaign_scan(e, now); /* a campaign's run starting */
            e->next_timer_scan = now + e->cfg.timer_interval_ms;
        } else {
            (void)sk_timers_fire_due(e, now); /* to the millisecond between scans */
        }
        uint64_t t3 = mono_us();
        /* what was staged leaves at once; acknowledgements are not awaited */
        (void)sk_emit_pump(e);
        sk_engine_metrics_sample(e, now);
        log_summary(e, now);
        uint64_t t4 = mono_us();
        e->stats.loop_turns++;
        e->stats.loop_us_poll += t1 - t0;
        e->stats.loop_us_apply += t2 - t1;
        e->stats.loop_us_timers += t3 - t2;
        e->stats.loop_us_pump += t4 - t3;
        uint64_t work = t4 - t1;
        e->stats.loop_work_hist[work < 1000     ? 0
                                : work < 5000   ? 1
                                : work < 20000  ? 2
                                : work < 100000 ? 3
                                                : 4]++;
    }
    free(msgs);
    /* stopping: everything, Kafka's answers or not, within SK_STOP_BUDGET_MS
     * (what is not confirmed stays staged for the next owner) */
    e->stop_deadline = sk_now_ms() + SK_STOP_BUDGET_MS;
    if (sk_store_connected(e->store))
        (void)sk_emit_flush_within(e, -1, SK_STOP_BUDGET_MS - 2000);
    return 0;
}
