/*
 * cli_campaign.c — `shiftkey campaign list|show|start|close|report`
 * (access review campaigns, issue 17).
 *
 * list and show read the rules (--rules, $SHIFTKEY_RULES, /etc/shiftkey/
 * rules) and, for show and report, the tasks topic (the record of every
 * item: its ACCESS_REVIEW task events). start and close publish one signed
 * CAMPAIGN_STARTED / CAMPAIGN_CLOSED event per user with state in the
 * engine's Redis (--redis), all with the same time, so every user's part
 * of the run has the same start; the engine decides which of them hold
 * anything in scope. report writes the items of one run as CSV and prints
 * the file's SHA-256 (libsodium), so the file handed to an auditor can be
 * checked.
 */
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_campaign.h"
#include "cli/cli_shift.h"
#include "cli/cli_sign.h"
#include "cli/cli_task.h"
#include "codec/codec.h"
#include "pipeline/store.h"
#include "rules/rules.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey campaign list [--rules DIR]\n"
            "       shiftkey campaign show ID [--rules DIR] [--kafka BROKERS]\n"
            "       shiftkey campaign start ID [--as OWNER] [--redis HOST:PORT] [--kafka BROKERS]\n"
            "       shiftkey campaign close ID [--as OWNER] [--redis HOST:PORT] [--kafka BROKERS]\n"
            "       shiftkey campaign report ID [--run MS] [--out FILE] [--kafka BROKERS]\n\n"
            "Access review campaigns (rules: campaigns). list: every campaign of the rules with\n"
            "its schedule; show: one campaign and the items of its latest run (from %s);\n"
            "start / close: an owner starts a run now, or ends the open run now (its end action\n"
            "runs), one signed event per user with state in Redis; report: every item of a run\n"
            "(the latest, or --run MS: its start as `show` prints it) as CSV with holder,\n"
            "entitlement, decision, reviewer, time and reason, written to FILE (default\n"
            "campaign-ID-RUN.csv), printed, and followed by the file's SHA-256.\n\n"
            "options: --rules DIR ($SHIFTKEY_RULES, /etc/shiftkey/rules); --kafka BROKERS\n"
            "($SHIFTKEY_KAFKA, or --bootstrap-file); --redis as for shiftkey grants; --as and\n"
            "--key as for shiftkey task.\n",
            sk_cli_topic(SK_TOPIC_TASKS));
}

typedef struct opts {
    const char *rules, *kafka, *bfile, *redis, *prefix, *as, *key, *out, *run;
} opts_t;

static int parse(int argc, char **argv, opts_t *o)
{
    static const struct option longopts[] = {
        {"rules", 1, 0, 'R'}, {"kafka", 1, 0, 'k'}, {"bootstrap-file", 1, 0, 'b'},
        {"redis", 1, 0, 'r'}, {"as", 1, 0, 'a'},    {"key", 1, 0, 'K'},
        {"out", 1, 0, 'O'},   {"run", 1, 0, 'n'},   {"redis-prefix", 1, 0, 'p'},
        {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    int c;
    memset(o, 0, sizeof(*o));
    o->rules = getenv("SHIFTKEY_RULES");
    o->redis = getenv("SHIFTKEY_REDIS");
    o->prefix = "sk";
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'R': o->rules = optarg; break;
        case 'k': o->kafka = optarg; break;
        case 'b': o->bfile = optarg; break;
        case 'r': o->redis = optarg; break;
        case 'a': o->as = optarg; break;
        case 'K': o->key = optarg; break;
        case 'O': o->out = optarg; break;
        case 'n': o->run = optarg; break;
        case 'p': o->prefix = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!o->rules || !*o->rules)
        o->rules = "/etc/shiftkey/rules";
    return -1;
}

static sk_rules_t *load_rules(const char *path)
{
    sk_rules_errors_t errs;
    sk_rules_errors_init(&errs);
    sk_rules_t *r = sk_rules_load(path, &errs);
    if (!r) {
        fprintf(stderr, "shiftkey campaign: the rules at %s are refused:\n", path);
        sk_rules_errors_print(&errs, stderr);
    }
    sk_rules_errors_fini(&errs);
    return r;
}

static const char *fmt_time(sk_ms_t t, char *buf, size_t len)
{
    return t == SK_MS_NONE ? "-" : sk_ms_format(t, buf, len);
}

static const char *fmt_dur(sk_ms_t ms, char *buf, size_t len)
{
    if (ms == 0)
        snprintf(buf, len, "0");
    else if (ms % (24 * 3600000LL) == 0)
        snprintf(buf, len, "%" PRId64 "d", (int64_t)(ms / (24 * 3600000LL)));
    else if (ms % 3600000LL == 0)
        snprintf(buf, len, "%" PRId64 "h", (int64_t)(ms / 3600000LL));
    else if (ms % 60000 == 0)
        snprintf(buf, len, "%" PRId64 "m", ms / 60000);
    else
        snprintf(buf, len, "%" PRId64 "s", ms / 1000);
    return buf;
}

static void print_campaign(const sk_campaign_t *c, sk_ms_t now)
{
    char a[40], b[24], d[24], e[24];
    sk_ms_t run = sk_campaign_run_at(c, now), next = sk_campaign_next_run(c, now);
    bool open = run != SK_MS_NONE && now - run < c->due_after_ms + c->grace_ms;
    printf("%-24s start %s, due after %s, grace %s, %s%s, end action %s, %zu entitlement(s), "
           "%s",
           c->id, fmt_time(c->start_ms, a, sizeof(a)), fmt_dur(c->due_after_ms, b, sizeof(b)),
           fmt_dur(c->grace_ms, d, sizeof(d)), c->every_ms ? "every " : "one run",
           c->every_ms ? fmt_dur(c->every_ms, e, sizeof(e)) : "",
           c->end_action == SK_CAMPAIGN_END_REVOKE ? "revoke" : "leave", c->n_ents,
           open ? "running" : "not running");
    if (next != SK_MS_NONE)
        printf(", next run %s", fmt_time(next, a, sizeof(a)));
    printf("\n");
}

static int cmd_list(const opts_t *o)
{
    sk_rules_t *r = load_rules(o->rules);
    if (!r)
        return 1;
    sk_ms_t now = sk_now_ms();
    if (!sk_rules_campaign_count(r))
        printf("no campaigns in %s\n", o->rules);
    for (size_t i = 0; i < sk_rules_campaign_count(r); i++)
        print_campaign(sk_rules_campaign_at(r, i), now);
    sk_rules_destroy(r);
    return 0;
}

/* ---- the items of a run, from the tasks topic ---- */

typedef struct item {
    const sk_task_t *first, *last;
} item_t;

static int cmp_item(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    int c = strcmp(x->first->subject, y->first->subject);
    return c ? c : strcmp(x->first->target, y->first->target);
}

/* The items of campaign id's run (its "ID@MS" request id; the latest run
 * when *run is NULL, then set to it), sorted by holder and entitlement. */
static size_t run_items(const sk_cli_tasks_t *t, const char *id, const char **run, item_t **out)
{
    size_t n = 0, len = strlen(id);
    const char *latest = NULL;
    sk_ms_t latest_ms = SK_MS_NONE;
    for (size_t i = 0; i < t->n && !*run; i++) {
        const sk_task_t *k = &t->v[i];
        if (k->kind != SK_TASK_ACCESS_REVIEW || strncmp(k->request_id, id, len) != 0 ||
            k->request_id[len] != '@')
            continue;
        sk_ms_t ms = strtoll(k->request_id + len + 1, NULL, 10);
        if (latest_ms == SK_MS_NONE || ms > latest_ms)
            latest_ms = ms, latest = k->request_id;
    }
    if (!*run)
        *run = latest;
    *out = calloc(t->n + 1, sizeof(**out));
    if (!*run || !*out)
        return 0;
    for (size_t i = 0; i < t->n; i++) {
        const sk_task_t *k = &t->v[i];
        if (k->kind != SK_TASK_ACCESS_REVIEW || strcmp(k->request_id, *run) != 0)
            continue;
        size_t j = 0;
        while (j < n && strcmp((*out)[j].first->task_id, k->task_id) != 0)
            j++;
        if (j == n)
            (*out)[n++].first = k;
        (*out)[j].last = k;
    }
    qsort(*out, n, sizeof(**out), cmp_item);
    return n;
}

static const char *decision(const sk_task_t *last)
{
    if (last->state != SK_TASK_CLOSED)
        return "open";
    switch (last->outcome) {
    case SK_TASK_CERTIFIED: return "certified";
    case SK_TASK_REVOKED: return last->actor && last->actor[0] ? "revoked" : "revoked_at_end";
    case SK_TASK_LEFT: return "left";
    default: return "cancelled";
    }
}

/* The reviewer's reason: the task's reason after "certified by X: " /
 * "revoked by X: "; the engine's sentence otherwise. */
static const char *reason_of(const sk_task_t *last)
{
    const char *p = last->actor && last->actor[0] ? strstr(last->reason, ": ") : NULL;
    return p ? p + 2 : last->reason;
}

static void csv_field(FILE *f, const char *s, int last)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static int read_tasks(const opts_t *o, sk_cli_tasks_t *t)
{
    char bs[1024];
    const char *brokers = sk_cli_bootstrap(o->kafka, o->bfile, bs, sizeof(bs));
    if (!brokers) {
        fprintf(stderr, "shiftkey campaign: no Kafka address: pass --kafka, set SHIFTKEY_KAFKA, "
                        "or start shiftkeyd --kafka embedded\n");
        memset(t, 0, sizeof(*t));
        return 2;
    }
    return sk_cli_tasks_read(brokers, 10000, t) == 0 ? 0 : 1;
}

static int cmd_show(const opts_t *o, const char *id)
{
    sk_rules_t *r = load_rules(o->rules);
    const sk_campaign_t *c = r ? sk_rules_campaign(r, id) : NULL;
    sk_cli_tasks_t t;
    item_t *items = NULL;
    const char *run = NULL;
    char a[40];
    int rc = 1;
    if (r && !c)
        fprintf(stderr, "shiftkey campaign show: no campaign '%s' in %s\n", id, o->rules);
    if (!c)
        goto out_rules;
    print_campaign(c, sk_now_ms());
    printf("owners:");
    for (size_t i = 0; i < c->n_owners; i++)
        printf(" %s", c->owners[i]->id);
    printf("\nscope:");
    for (size_t i = 0; i < c->n_ents; i++)
        printf(" %s", c->ents[i]);
    printf("\nslack channel: %s\n", c->slack_channel[0] ? c->slack_channel : "-");
    if ((rc = read_tasks(o, &t)) != 0)
        goto out;
    size_t n = run_items(&t, id, &run, &items);
    printf("run: %s (%zu item(s))\n", run ? run : "none yet", n);
    for (size_t i = 0; i < n; i++)
        printf("  %-28s %-28s %-14s %-24s %s\n", items[i].first->subject, items[i].first->target,
               decision(items[i].last),
               items[i].last->actor && items[i].last->actor[0] ? items[i].last->actor : "-",
               fmt_time(items[i].last->at_ms, a, sizeof(a)));
out:
    free(items);
    sk_cli_tasks_free(&t);
out_rules:
    sk_rules_destroy(r);
    return rc;
}

static int cmd_report(const opts_t *o, const char *id)
{
    sk_cli_tasks_t t;
    item_t *items = NULL;
    char path[512], a[40], b[40], *run_id = NULL;
    const char *run = NULL;
    int rc;
    if (o->run && !(run = run_id = malloc(strlen(id) + strlen(o->run) + 2)))
        return 1;
    if (o->run)
        sprintf(run_id, "%s@%s", id, o->run);
    if ((rc = read_tasks(o, &t)) != 0)
        goto out;
    size_t n = run_items(&t, id, &run, &items);
    rc = 1;
    if (!run) {
        fprintf(stderr, "shiftkey campaign report: no run of campaign '%s' on %s\n", id,
                sk_cli_topic(SK_TOPIC_TASKS));
        goto out;
    }
    const char *at = strchr(run, '@');
    snprintf(path, sizeof(path), "%s", o->out ? o->out : "");
    if (!o->out)
        snprintf(path, sizeof(path), "campaign-%s-%s.csv", id, at + 1);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "shiftkey campaign report: cannot write %s\n", path);
        goto out;
    }
    sk_ms_t run_ms = strtoll(at + 1, NULL, 10);
    const char *head[] = {"campaign", "run_start", "holder",     "entitlement",
                          "decision", "reviewer",  "decided_at", "reason"};
    for (size_t k = 0; k < 8; k++)
        csv_field(f, head[k], k == 7);
    printf("%-28s %-28s %-14s %-24s %-26s %s\n", "HOLDER", "ENTITLEMENT", "DECISION", "REVIEWER",
           "DECIDED", "REASON");
    for (size_t i = 0; i < n; i++) {
        const sk_task_t *l = items[i].last;
        bool decided = l->state == SK_TASK_CLOSED;
        const char *who = l->actor && l->actor[0] ? l->actor : decided ? "(end action)" : "";
        const char *when = decided ? fmt_time(l->at_ms, a, sizeof(a)) : "";
        const char *why = decided ? reason_of(l) : "";
        const char *row[] = {id,
                             fmt_time(run_ms, b, sizeof(b)),
                             items[i].first->subject,
                             items[i].first->target,
                             decision(l),
                             who,
                             when,
                             why};
        for (size_t k = 0; k < 8; k++)
            csv_field(f, row[k], k == 7);
        printf("%-28s %-28s %-14s %-24s %-26s %s\n", row[2], row[3], row[4], who[0] ? who : "-",
               when[0] ? when : "-", why);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "shiftkey campaign report: cannot write %s\n", path);
        goto out;
    }
    /* the hash of the file as written */
    unsigned char h[crypto_hash_sha256_BYTES], buf[65536];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    if (!(f = fopen(path, "rb")))
        goto out;
    for (size_t got; (got = fread(buf, 1, sizeof(buf), f)) > 0;)
        crypto_hash_sha256_update(&st, buf, got);
    fclose(f);
    crypto_hash_sha256_final(&st, h);
    printf("%zu item(s) of run %s written to %s\nsha256 ", n, run, path);
    for (size_t k = 0; k < sizeof(h); k++)
        printf("%02x", h[k]);
    printf("  %s\n", path);
    rc = 0;
out:
    free(items);
    free(run_id);
    sk_cli_tasks_free(&t);
    return rc;
}

/* start / close: one signed event per user with state in Redis. */
static int cmd_publish(const opts_t *o, const char *id, sk_request_event_type_t type)
{
    const char *cmd = type == SK_REQ_CAMPAIGN_STARTED ? "start" : "close";
    char bs[1024], host[256];
    sk_signing_key_t signer;
    const char *brokers = sk_cli_bootstrap(o->kafka, o->bfile, bs, sizeof(bs));
    if (!brokers) {
        fprintf(stderr, "shiftkey campaign %s: no Kafka address (--kafka)\n", cmd);
        return 2;
    }
    int rc = sk_cli_signer("shiftkey campaign", o->as, o->key, &signer);
    if (rc != 0)
        return rc;
    sk_store_config_t cfg = {.prefix = o->prefix, .timeout_ms = 5000};
    const char *redis = o->redis && *o->redis ? o->redis : "127.0.0.1:6379";
    if (sk_store_config_address(&cfg, redis, host, sizeof(host)) != 0) {
        fprintf(stderr, "shiftkey campaign %s: --redis '%s': use HOST:PORT or unix:PATH\n", cmd,
                redis);
        return 2;
    }
    cfg.password = getenv("SHIFTKEY_REDIS_PASSWORD");
    sk_store_t *store = sk_store_new(&cfg);
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    int32_t *parts = NULL;
    const char **users = NULL;
    size_t n = 0, failed = 0;
    sk_cli_record_t *recs = NULL;
    sk_arena_init(&a, 65536);
    rc = 1;
    if (!store || !codec || sk_store_connect(store) != 0 ||
        sk_store_scan_users(store, NULL, &a, &parts, &users, &n) != 0) {
        fprintf(stderr, "shiftkey campaign %s: %s (is the engine's Redis at %s?)\n", cmd,
                store ? sk_store_last_error(store) : "out of memory", redis);
        goto out;
    }
    if (!(recs = sk_arena_calloc(&a, n + 1, sizeof(*recs))))
        goto out;
    sk_ms_t now = sk_now_ms();
    for (size_t i = 0; i < n; i++) {
        void *buf = NULL;
        size_t len = 0;
        sk_request_event_t ev = {.event_id =
                                     sk_arena_sprintf(&a, "%.64s-%s-%" PRId64, id, cmd, now),
                                 .type = type,
                                 .request_id = id,
                                 .actor = signer.signer,
                                 .subject = users[i],
                                 .target_kind = SK_TARGET_ENTITLEMENT,
                                 .target = "",
                                 .duration_ms = SK_MS_NONE,
                                 .justification = "",
                                 .comment = "",
                                 .source = "cli",
                                 .occurred_at_ms = now};
        if (!ev.event_id || sk_codec_encode_request(codec, &ev, &a, &buf, &len) != 0)
            goto out;
        recs[i] = (sk_cli_record_t){.key = users[i], .val = buf, .len = len, .sign = &signer};
    }
    failed = n ? sk_cli_produce_many(brokers, sk_cli_topic(SK_TOPIC_REQUESTS), recs, n) : 0;
    printf("campaign %s %s as %s at %" PRId64 ": %zu user(s), %zu failed\n", id, cmd, signer.signer,
           now, n, failed);
    rc = failed ? 1 : 0;
out:
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    sk_store_destroy(store);
    return rc;
}

int sk_cli_campaign(int argc, char **argv)
{
    opts_t o;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    int rc = parse(argc - 1, argv + 1, &o);
    if (rc >= 0)
        return rc;
    const char *id = optind < argc - 1 ? argv[1 + optind] : NULL;
    if (strcmp(sub, "list") == 0)
        return cmd_list(&o);
    if (!id) {
        fprintf(stderr, "shiftkey campaign %s: need the campaign ID (see --help)\n", sub);
        return 2;
    }
    if (strcmp(sub, "show") == 0)
        return cmd_show(&o, id);
    if (strcmp(sub, "report") == 0)
        return cmd_report(&o, id);
    if (strcmp(sub, "start") == 0)
        return cmd_publish(&o, id, SK_REQ_CAMPAIGN_STARTED);
    if (strcmp(sub, "close") == 0)
        return cmd_publish(&o, id, SK_REQ_CAMPAIGN_CLOSED);
    fprintf(stderr, "shiftkey campaign: unknown command '%s' (see --help)\n", sub);
    return 2;
}
