/* runner.c — a connector's life cycle (see runner.h). */
#include "runner.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn_metrics.h"
#include "diff.h"
#include "emit.h"
#include "pipeline/diag.h"
#include "state.h"

#define DELIVERY_TIMEOUT_MS 35000 /* message.timeout.ms is 30 s (emit.c) */

typedef struct core_opts {
    const char *rotation, *state, *kafka, *bootstrap_file, *topic, *user_map;
    const char *interval, *lookahead, *once, *verbose, *check, *max_end_share, *clock_offset;
    const char *http_attempts, *http_backoff, *http_max_wait, *http_timeout, *diag_addr;
    sk_cfg_multi_t kafka_config;
} core_opts_t;

#define O(f) offsetof(core_opts_t, f)
static const sk_cfg_row_t CORE_ROWS[] = {
    {"rotation", "ID", O(rotation), NULL,
     "shiftkey rotation id (as in the rules) this schedule feeds; required"},
    {"state", "FILE", O(state), NULL,
     "state file of the shifts last sent [shiftkey-<source>-<rotation>.state]"},
    {"kafka", "BROKERS", O(kafka), NULL,
     "Kafka bootstrap servers host:port,... [else the bootstrap file]"},
    {"bootstrap-file", "FILE", O(bootstrap_file), "shiftkey.bootstrap",
     "broker address written by shiftkeyd --kafka embedded"},
    {"topic", "TOPIC", O(topic), "shiftkey.schedule.v1", "schedule topic"},
    {"kafka-config", "NAME=VALUE", O(kafka_config), NULL,
     "extra librdkafka setting, e.g. security.protocol=SSL", 1},
    {"user-map", "FILE", O(user_map), NULL,
     "platform user (e-mail or id) → directory id, lines KEY=ID or KEY: ID [the e-mail]"},
    {"interval", "DURATION", O(interval), "5m", "time between polls"},
    {"lookahead", "DURATION", O(lookahead), "24h", "how far ahead shifts are read and announced"},
    {"once", NULL, O(once), NULL, "poll once, send, save, exit (tests, cron)"},
    {"verbose", NULL, O(verbose), NULL, "log every event sent"},
    {"check", NULL, O(check), NULL,
     "call the platform once and print the events a poll would send "
     "(stdout), then exit: sends nothing, writes no state, needs no Kafka (setting up credentials)"},
    {"max-end-share", "FRACTION", O(max_end_share), "0.5",
     "a poll that would end or cancel more "
     "than this share of the open shifts is held until the next poll confirms it (1: never hold)"},
    {"clock-offset", "DURATION", O(clock_offset), NULL,
     "testing only: act as if the time were "
     "now + DURATION (simulated days against a fake platform)"},
    {"http-attempts", "N", O(http_attempts), "5",
     "tries per request (429, 5xx and network errors are retried)"},
    {"http-backoff", "DURATION", O(http_backoff), "1s",
     "first backoff (5xx, network error, 429 "
     "without a hint); doubles, with jitter"},
    {"http-max-wait", "DURATION", O(http_max_wait), "60s",
     "longest wait: a 429 asking for more fails "
     "the poll; backoffs are capped to it"},
    {"http-timeout", "DURATION", O(http_timeout), "30s", "per request"},
    {"diag-addr", "HOST:PORT", O(diag_addr), NULL,
     "serve /metrics, /healthz and /readyz (ready: the last poll succeeded and Kafka answers) "
     "there, e.g. 127.0.0.1:9464 [off]"},
};
#undef O

static volatile sig_atomic_t stop_flag;
static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

int sk_conn_secret(const char *prog, const char *path, const char *env, char *buf, size_t len)
{
    if (path && *path) {
        FILE *f = fopen(path, "r");
        if (!f || !fgets(buf, (int)len, f)) {
            fprintf(stderr, "%s: cannot read the token from %s\n", prog, path);
            if (f)
                fclose(f);
            return -1;
        }
        fclose(f);
        buf[strcspn(buf, "\r\n")] = '\0';
        return 0;
    }
    const char *v = getenv(env);
    if (!v || !*v) {
        fprintf(stderr,
                "%s: no API token: set $%s or pass --token-file FILE (never on the "
                "command line)\n",
                prog, env);
        return -1;
    }
    snprintf(buf, len, "%s", v);
    return 0;
}

int sk_conn_poll_get(sk_conn_poll_t *p, const char *url, const char *const *headers,
                     sk_http_resp_t *out)
{
    int rc = sk_http_get(p->http, url, headers, out, p->err, sizeof(p->err));
    p->requests += out->attempts;
    p->retries += out->attempts > 1 ? out->attempts - 1 : 0;
    return rc;
}

static const char *bootstrap(const core_opts_t *o, char *buf, size_t len)
{
    if (o->kafka && *o->kafka) {
        snprintf(buf, len, "%s", o->kafka);
        return buf;
    }
    FILE *f = fopen(o->bootstrap_file, "r");
    if (!f)
        return NULL;
    char *ok = fgets(buf, (int)len, f);
    fclose(f);
    if (!ok)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return *buf ? buf : NULL;
}

/* Everything one run needs, set up by start(). */
typedef struct runner {
    const sk_conn_source_t *src;
    char prog[64];
    core_opts_t o;
    long long interval_ms, lookahead_ms, clock_offset_ms;
    sk_conn_diff_opts_t diff_opts;
    sk_http_opts_t http;
    sk_conn_usermap_t *users;
    sk_conn_state_t state;
    sk_conn_emitter_t *em;
    char state_path[1024];
    sk_conn_metrics_t m; /* registry NULL without --diag-addr */
    sk_diag_t *diag;
} runner_t;

/* Parses and checks the options. 0, 1 (help: exit 0), or -1 (usage: exit 2). */
static int configure(runner_t *r, int argc, char **argv)
{
    const sk_conn_source_t *src = r->src;
    sk_cfg_group_t groups[2] = {
        {"options of every connector (environment: SHIFTKEY_<NAME>)", "SHIFTKEY_", CORE_ROWS,
         SK_ARRAY_LEN(CORE_ROWS), &r->o},
        src->opts,
    };
    int rc = sk_cfg_parse(r->prog, src->about, src->tail, groups, 2, argc, argv);
    if (rc)
        return rc;
    long attempts;
    long long backoff, max_wait, timeout;
    if (!r->o.rotation || !sk_id_valid(r->o.rotation, strlen(r->o.rotation))) {
        fprintf(stderr,
                "%s: --rotation is required: the rotation id as named in the rules "
                "(printable, no spaces)\n",
                r->prog);
        return -1;
    }
    if (sk_cfg_duration(r->prog, "interval", r->o.interval, 1000, &r->interval_ms) ||
        sk_cfg_duration(r->prog, "lookahead", r->o.lookahead, 0, &r->lookahead_ms) ||
        sk_cfg_int(r->prog, "http-attempts", r->o.http_attempts, 1, 100, &attempts) ||
        sk_cfg_duration(r->prog, "http-backoff", r->o.http_backoff, 0, &backoff) ||
        sk_cfg_duration(r->prog, "http-max-wait", r->o.http_max_wait, 0, &max_wait) ||
        sk_cfg_duration(r->prog, "http-timeout", r->o.http_timeout, 1000, &timeout))
        return -1;
    r->clock_offset_ms = 0;
    if (r->o.clock_offset &&
        sk_cfg_duration(r->prog, "clock-offset", r->o.clock_offset, 0, &r->clock_offset_ms))
        return -1;
    char *end;
    double share = strtod(r->o.max_end_share, &end);
    if (end == r->o.max_end_share || *end || !(share >= 0.0 && share <= 1.0)) {
        fprintf(stderr, "%s: --max-end-share '%s': expected a fraction from 0 to 1, e.g. 0.5\n",
                r->prog, r->o.max_end_share);
        return -1;
    }
    r->diff_opts.max_end_share = share;
    if (src->check(src->opts.base, r->prog))
        return -1;
    r->http = (sk_http_opts_t){r->prog, (int)attempts, (int)backoff, (int)(max_wait / 1000),
                               (int)(timeout / 1000)};
    if (r->o.state)
        snprintf(r->state_path, sizeof(r->state_path), "%s", r->o.state);
    else
        snprintf(r->state_path, sizeof(r->state_path), "shiftkey-%s-%s.state", src->name,
                 r->o.rotation);
    return 0;
}

/* One line per event: on stderr with --verbose, on stdout with --check. */
static void log_events(const runner_t *r, const sk_conn_events_t *evs, const char *what, FILE *to)
{
    for (size_t i = 0; i < evs->n; i++) {
        char a[32], b[32];
        const sk_schedule_event_t *e = &evs->v[i].ev;
        fprintf(to, "%s: %s %s shift '%s' of %s (level %d) %s .. %s (event %s)\n", r->prog, what,
                sk_shift_event_type_name(e->type), e->shift_id, e->user, e->escalation_level,
                sk_ms_format(e->start_ms, a, sizeof(a)),
                e->end_ms == SK_MS_NONE ? "open-ended" : sk_ms_format(e->end_ms, b, sizeof(b)),
                e->event_id);
    }
}

/* Kafka reachable? (the diag endpoint's readiness; only with --diag-addr) */
static void probe_kafka(runner_t *r)
{
    if (r->m.reg && r->em)
        sk_metric_set(r->m.kafka_up, sk_conn_emitter_ping(r->em, 2000) == 0 ? 1 : 0);
}

/* The metrics of one poll (not --check): its outcome, the events Kafka
 * acknowledged (sent: the send returned 0; err: why the poll failed after
 * the fetch), Kafka's reachability. */
static void note_poll(runner_t *r, int fetched, bool sent, bool held, const char *err,
                      const size_t count[SK_SHIFT_EVENT_TYPE_COUNT])
{
    const char *outcome = !fetched ? "platform_failed"
                          : !sent  ? "send_failed"
                          : err[0] ? "state_failed"
                          : held   ? "held"
                                   : "ok";
    if (!r->m.reg)
        return;
    if (sent)
        for (int t = 0; t < SK_SHIFT_EVENT_TYPE_COUNT; t++)
            if (count[t])
                sk_metric_add(r->m.published, (double)count[t],
                              sk_shift_event_type_name((sk_shift_event_type_t)t));
    sk_conn_metrics_poll(&r->m, outcome, fetched && !err[0], sk_now_ms());
    probe_kafka(r);
}

/* One poll: fetch, diff, send, save (with --check: fetch, diff, print).
 * 0 ok, 1 failed. */
static int poll_once(runner_t *r)
{
    sk_conn_shifts_t shifts = {0};
    sk_conn_state_t next = {0};
    sk_conn_events_t evs = {0};
    sk_conn_diff_stats_t ds = {0};
    sk_ms_t t0 = sk_now_ms(), now = t0 + r->clock_offset_ms;
    sk_conn_poll_t p = {.prog = r->prog,
                        .now_ms = now,
                        .horizon_ms = now + r->lookahead_ms,
                        .users = r->users,
                        .http = &r->http,
                        .out = &shifts};
    char err[1024] = "";
    int fetched = r->src->fetch(r->src->opts.base, &p) == 0, rc = 1, check = r->o.check != NULL;
    bool sent = false;
    if (!fetched)
        fprintf(stderr,
                "%s: cannot read the platform: %s; nothing is ended for it, only ends due "
                "by time are sent\n",
                r->prog, p.err);
    if (sk_conn_diff(r->src->name, r->o.rotation, &r->state, fetched ? &shifts : NULL, p.now_ms,
                     p.horizon_ms, &r->diff_opts, &next, &evs, &ds)) {
        snprintf(err, sizeof(err), "out of memory");
        goto out;
    }
    if (ds.held)
        fprintf(stderr,
                "%s: HELD: this poll would end or cancel %zu of %zu open shifts (more than "
                "--max-end-share %s): %zu not ended until the next poll confirms they are gone; "
                "check the platform and the connector's access if this is not expected\n",
                r->prog, ds.vanished, ds.open, r->o.max_end_share, ds.held);
    if (check) {
        log_events(r, &evs, "would send", stdout);
        printf("%s: check: %s; %zu events would be sent; nothing sent, state %s not written\n",
               r->prog, fetched ? "platform read" : "platform NOT readable", evs.n, r->state_path);
        rc = fetched ? 0 : 1;
        goto out;
    }
    if (sk_conn_emitter_send(r->em, &evs, DELIVERY_TIMEOUT_MS, err, sizeof(err)))
        goto out;
    sent = true;
    if (sk_conn_state_save(r->state_path, r->src->name, r->o.rotation, &next, err, sizeof(err)))
        goto out;
    sk_conn_state_fini(&r->state);
    r->state = next;
    memset(&next, 0, sizeof(next));
    rc = fetched ? 0 : 1;
out:;
    size_t count[SK_SHIFT_EVENT_TYPE_COUNT] = {0}, open = 0;
    for (size_t i = 0; i < evs.n; i++)
        count[evs.v[i].ev.type]++;
    if (!check)
        note_poll(r, fetched, sent, ds.held != 0, err, count);
    if (r->o.verbose && !check)
        log_events(r, &evs, err[0] ? "NOT sent:" : "sent", stderr);
    for (size_t i = 0; i < r->state.n; i++)
        open += !sk_conn_seen_closed(&r->state.v[i]);
    fprintf(stderr,
            "%s: poll %s: %zu shifts listed (%d skipped), %d requests (%d retried); %s %zu "
            "SCHEDULED, %zu STARTED, %zu UPDATED, %zu ENDED, %zu CANCELLED; %zu held; state %zu "
            "shifts (%zu open) in %s; %lld ms%s%s\n",
            r->prog,
            !fetched  ? "FAILED"
            : ds.held ? "HELD"
                      : "ok",
            shifts.n, p.skipped, p.requests, p.retries,
            check    ? "would send"
            : err[0] ? "NOT sent"
                     : "sent",
            count[SK_SHIFT_SCHEDULED], count[SK_SHIFT_STARTED], count[SK_SHIFT_UPDATED],
            count[SK_SHIFT_ENDED], count[SK_SHIFT_CANCELLED], ds.held, r->state.n, open,
            r->state_path, (long long)(sk_now_ms() - t0), err[0] ? ": " : "", err);
    sk_conn_events_fini(&evs);
    sk_conn_state_fini(&next);
    sk_conn_shifts_fini(&shifts);
    return rc;
}

/* Loads the user map and the state, connects the producer (not with
 * --check). 0 or -1 (exit 1). */
static int start(runner_t *r)
{
    char err[1024] = "", bs[1024];
    r->users = sk_conn_usermap_new(r->o.user_map, err, sizeof(err));
    if (!r->users) {
        fprintf(stderr, "%s: %s\n", r->prog, err[0] ? err : "out of memory");
        return -1;
    }
    if (sk_conn_state_load(r->state_path, r->src->name, r->o.rotation, &r->state, err,
                           sizeof(err))) {
        fprintf(stderr, "%s: %s\n", r->prog, err);
        return -1;
    }
    const char *brokers = r->o.check ? "none (--check)" : bootstrap(&r->o, bs, sizeof(bs));
    if (!brokers) {
        fprintf(stderr,
                "%s: no Kafka address: pass --kafka, set SHIFTKEY_KAFKA, or point "
                "--bootstrap-file at the file shiftkeyd --kafka embedded writes (%s not found)\n",
                r->prog, r->o.bootstrap_file);
        return -1;
    }
    if (!r->o.check) {
        r->em = sk_conn_emitter_new(brokers, r->o.topic, r->o.kafka_config.v, r->o.kafka_config.n,
                                    err, sizeof(err));
        if (!r->em) {
            fprintf(stderr, "%s: %s\n", r->prog, err);
            return -1;
        }
    }
    fprintf(stderr,
            "%s: rotation %s, state %s (%zu shifts), user map %s (%zu entries), Kafka %s "
            "topic %s, look-ahead %s, %s\n",
            r->prog, r->o.rotation, r->state_path, r->state.n,
            r->o.user_map ? r->o.user_map : "none: e-mail addresses",
            sk_conn_usermap_size(r->users), brokers, r->o.topic, r->o.lookahead,
            r->o.check  ? "check"
            : r->o.once ? "once"
                        : "polling");
    return 0;
}

int sk_conn_main(const sk_conn_source_t *src, int argc, char **argv)
{
    runner_t r = {.src = src};
    int rc = 1;
    snprintf(r.prog, sizeof(r.prog), "shiftkey-%s", src->name);
    int c = configure(&r, argc, argv);
    if (c)
        return c > 0 ? 0 : 2;
    if (sk_http_global_init()) {
        fprintf(stderr, "%s: cannot initialise libcurl\n", r.prog);
        return 1;
    }
    if (start(&r))
        goto out;
    if (r.o.diag_addr && *r.o.diag_addr && !r.o.check) {
        char err[512];
        sk_conn_metrics_init(&r.m, src->name, r.o.rotation);
        r.http.errors = r.m.api_errors;
        r.http.rl_waits = r.m.rl_waits;
        r.http.rl_seconds = r.m.rl_seconds;
        if (!r.m.reg || !(r.diag = sk_diag_start(r.o.diag_addr, r.m.reg, sk_conn_metrics_ready,
                                                 r.m.reg, err, sizeof(err)))) {
            fprintf(stderr, "%s: %s\n", r.prog, r.m.reg ? err : "out of memory");
            goto out;
        }
        fprintf(stderr, "%s: /metrics, /healthz and /readyz on %s\n", r.prog, r.o.diag_addr);
    }
    if (r.o.once || r.o.check) {
        rc = poll_once(&r);
        goto out;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    while (!stop_flag) {
        poll_once(&r);
        sk_ms_t probe = sk_now_ms() + 10000; /* /readyz follows Kafka between polls too */
        for (sk_ms_t until = sk_now_ms() + r.interval_ms; !stop_flag && sk_now_ms() < until;) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
            if (sk_now_ms() >= probe) {
                probe_kafka(&r);
                probe = sk_now_ms() + 10000;
            }
        }
    }
    fprintf(stderr, "%s: stopped by a signal\n", r.prog);
    rc = 0;
out:
    sk_diag_stop(r.diag);
    sk_conn_metrics_fini(&r.m);
    sk_conn_emitter_destroy(r.em);
    sk_conn_state_fini(&r.state);
    sk_conn_usermap_destroy(r.users);
    sk_http_global_fini();
    return rc;
}
