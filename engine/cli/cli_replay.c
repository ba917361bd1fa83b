/*
 * cli_replay.c — `shiftkey replay --rules NEW_DIR`: recorded input (the
 * input topics over a time range, or an exported file) decided with the
 * rules in force and with NEW_DIR side by side, each in its own in-memory
 * engine (cli_sim.h), then the differences: who gains or loses which access
 * (and for how long), commands and tasks only one side made, requests whose
 * outcome changes. Each record is decoded once and decided by both sides at
 * its Kafka timestamp; timers fire in between as they would have.
 *
 * The two sides move in step: after each record (with the timers due
 * before it) their commands and tasks are compared, and only what differs
 * is kept, as a net count per signature (one side's +1, the other's -1), so
 * a million records keep maps of the differences, not of every command.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/strmap.h"
#include "cli/cli_replay.h"
#include "cli/cli_shift.h"
#include "cli/cli_sim.h"
#include "codec/codec.h"

/* What one side decided, folded for comparison. */
typedef struct held {
    sk_ms_t total_ms; /* how long the access was held over the replay */
    sk_ms_t since;    /* SK_MS_NONE when not held now */
    int grants;
} held_t;

typedef struct side {
    const char *label;
    sk_rules_t *rules;
    sk_sim_t *sim;
    sk_arena_t arena;
    sk_strmap_t access;   /* "user ent" -> held_t */
    sk_strmap_t requests; /* "request of user" -> outcome */
    size_t n_cmds, n_tasks, n_dead;
    /* this step's outputs: signatures in `step` memory, compared and dropped */
    sk_arena_t step;
    const char **cmds, **tasks;
    size_t n_step_cmds, n_step_tasks, cap_cmds, cap_tasks;
} side_t;

/* What differs over the whole replay: signature -> net count (in force
 * minus new), keys in `arena`. */
typedef struct net {
    sk_arena_t arena;
    sk_strmap_t cmds, tasks;
} net_t;

/* Appends a copy of sig to a step list. */
static void step_push(side_t *s, const char ***v, size_t *n, size_t *cap, const char *sig)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        const char **nv = realloc(*v, c * sizeof(*nv));
        if (!nv)
            return;
        *v = nv;
        *cap = c;
    }
    const char *k = sk_arena_strdup(&s->step, sig);
    if (k)
        (*v)[(*n)++] = k;
}

static held_t *held_of(side_t *s, const char *user, const char *app, const char *ent)
{
    char key[3 * SK_ID_MAX + 4];
    sk_strbuf_t b; /* "<user> <app>/<ent>", cut to the key's size */
    sk_strbuf_init(&b, &s->step);
    sk_strbuf_str(&b, user);
    sk_strbuf_chr(&b, ' ');
    sk_strbuf_str(&b, app);
    sk_strbuf_chr(&b, '/');
    sk_strbuf_str(&b, ent);
    const char *full = sk_strbuf_peek(&b);
    if (!full)
        return NULL;
    snprintf(key, sizeof(key), "%s", full);
    held_t *h = sk_strmap_get(&s->access, key);
    if (h)
        return h;
    char *k = sk_arena_strdup(&s->arena, key);
    if (!k || !(h = sk_arena_calloc(&s->arena, 1, sizeof(*h))))
        return NULL;
    h->since = SK_MS_NONE;
    return sk_strmap_put(&s->access, k, h) == 0 ? h : NULL;
}

/* Signatures are cut where a 2,048-byte buffer once cut them. */
#define SIG_MAX 2048

/* A command's signature: "<ACTION padded to 6> <app>/<ent> to <user>
 * until|at @<ms>" (the time made readable only when printed). */
static void cmd_sig(sk_strbuf_t *b, const sk_command_t *c)
{
    const char *action = sk_command_action_name(c->action);
    size_t n = strlen(action);
    sk_strbuf_mem(b, action, n);
    for (; n < 6; n++)
        sk_strbuf_chr(b, ' ');
    sk_strbuf_chr(b, ' ');
    sk_strbuf_str(b, c->app);
    sk_strbuf_chr(b, '/');
    sk_strbuf_str(b, c->entitlement);
    sk_strbuf_str(b, " to ");
    sk_strbuf_str(b, c->user);
    sk_strbuf_str(b, c->action == SK_CMD_REVOKE ? " at @" : " until @");
    sk_strbuf_i64(b, c->action == SK_CMD_REVOKE ? c->issued_at_ms : c->expires_at_ms);
}

/* A task's signature: "<KIND> <STATE>[ <OUTCOME>] of <subject> for
 * <target>[ request <id>] step <n> assignees [<a> <b>...]". */
static void task_sig(sk_strbuf_t *b, const sk_task_t *k)
{
    sk_strbuf_str(b, sk_task_kind_name(k->kind));
    sk_strbuf_chr(b, ' ');
    sk_strbuf_str(b, sk_task_state_name(k->state));
    if (k->outcome != SK_TASK_OUTCOME_NONE) {
        sk_strbuf_chr(b, ' ');
        sk_strbuf_str(b, sk_task_outcome_name(k->outcome));
    }
    sk_strbuf_str(b, " of ");
    sk_strbuf_str(b, k->subject);
    sk_strbuf_str(b, " for ");
    sk_strbuf_str(b, k->target);
    if (*k->request_id) {
        sk_strbuf_str(b, " request ");
        sk_strbuf_str(b, k->request_id);
    }
    sk_strbuf_str(b, " step ");
    sk_strbuf_i64(b, k->step);
    sk_strbuf_str(b, " assignees [");
    for (size_t a = 0; a < k->n_assignees && b->len < SIG_MAX; a++) {
        if (a)
            sk_strbuf_chr(b, ' ');
        sk_strbuf_str(b, k->assignees[a]);
    }
    if (b->len < SIG_MAX - 1)
        sk_strbuf_chr(b, ']');
}

/* The signature in b, cut to SIG_MAX - 1 bytes, pushed on a step list. */
static void sig_push(side_t *s, sk_strbuf_t *b, const char ***v, size_t *n, size_t *cap)
{
    const char *sig = sk_strbuf_peek(b);
    if (!sig)
        return;
    if (b->len > SIG_MAX - 1)
        b->p[SIG_MAX - 1] = '\0';
    step_push(s, v, n, cap, sig);
}

static void side_sink(void *ctx, const sk_sim_out_t *o)
{
    side_t *s = ctx;
    const sk_decision_t *d = o->d;
    sk_strbuf_t b;
    for (size_t i = 0; i < d->n_commands; i++) {
        const sk_command_t *c = &d->commands[i];
        held_t *h = held_of(s, c->user, c->app, c->entitlement);
        if (h && c->action == SK_CMD_REVOKE && h->since != SK_MS_NONE) {
            h->total_ms += c->issued_at_ms - h->since;
            h->since = SK_MS_NONE;
        } else if (h && c->action != SK_CMD_REVOKE && h->since == SK_MS_NONE) {
            h->since = c->issued_at_ms;
            h->grants++;
        }
        sk_strbuf_init(&b, &s->step);
        cmd_sig(&b, c);
        sig_push(s, &b, &s->cmds, &s->n_step_cmds, &s->cap_cmds);
        s->n_cmds++;
    }
    for (size_t i = 0; i < d->n_tasks; i++) {
        sk_strbuf_init(&b, &s->step);
        task_sig(&b, &d->tasks[i]);
        sig_push(s, &b, &s->tasks, &s->n_step_tasks, &s->cap_tasks);
        s->n_tasks++;
    }
    if (d->rejected)
        s->n_dead++;
    if (o->request) {
        char key[2 * SK_ID_MAX + 8];
        snprintf(key, sizeof(key), "%s of %s", o->request->request_id, o->request->subject);
        const char *out = sk_arena_sprintf(&s->arena, "%s: %s", d->audit.decision,
                                           o->refused ? o->refuse_reason : d->audit.reason);
        void *old;
        if (sk_strmap_find(&s->requests, key, &old))
            sk_strmap_put(&s->requests, key, (void *)out);
        else
            sk_strmap_put(&s->requests, sk_arena_strdup(&s->arena, key), (void *)out);
    }
}

static int side_init(side_t *s, const char *label, const char *dir)
{
    sk_rules_errors_t errs;
    memset(s, 0, sizeof(*s));
    s->label = label;
    sk_arena_init(&s->arena, 1 << 20);
    sk_strmap_init(&s->access);
    sk_arena_init(&s->step, 64 * 1024);
    sk_strmap_init(&s->requests);
    sk_rules_errors_init(&errs);
    s->rules = sk_rules_load(dir, &errs);
    if (!s->rules) {
        fprintf(stderr, "shiftkey replay: the %s rules (%s) do not load:\n", label, dir);
        sk_rules_errors_print(&errs, stderr);
    }
    sk_rules_errors_fini(&errs);
    if (!s->rules)
        return -1;
    return (s->sim = sk_sim_new(s->rules, side_sink, s)) ? 0 : -1;
}

static void side_fini(side_t *s)
{
    sk_sim_destroy(s->sim);
    sk_rules_destroy(s->rules);
    sk_strmap_fini(&s->access);
    sk_arena_fini(&s->step);
    free(s->cmds);
    free(s->tasks);
    sk_strmap_fini(&s->requests);
    sk_arena_fini(&s->arena);
}

/* ---- comparing step by step ---- */

static int cmp_sig(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds delta to the net count of sig. */
static void net_add(net_t *n, sk_strmap_t *m, const char *sig, intptr_t delta)
{
    void *v;
    if (sk_strmap_find(m, sig, &v)) {
        sk_strmap_put(m, sig, (void *)((intptr_t)v + delta));
        return;
    }
    char *k = sk_arena_strdup(&n->arena, sig);
    if (k)
        sk_strmap_put(m, k, (void *)delta);
}

/* The signatures only one of two step lists has (as multisets) into m. */
static void step_merge(net_t *n, sk_strmap_t *m, const char **a, size_t na, const char **b,
                       size_t nb)
{
    size_t i = 0, k = 0;
    if (na > 1)
        qsort(a, na, sizeof(*a), cmp_sig);
    if (nb > 1)
        qsort(b, nb, sizeof(*b), cmp_sig);
    while (i < na || k < nb) {
        int c = i == na ? 1 : k == nb ? -1 : strcmp(a[i], b[k]);
        if (c == 0)
            i++, k++;
        else if (c < 0)
            net_add(n, m, a[i++], 1);
        else
            net_add(n, m, b[k++], -1);
    }
}

/* Compares the two sides' outputs of one step and starts the next. */
static void step_end(net_t *n, side_t *sides)
{
    step_merge(n, &n->cmds, sides[0].cmds, sides[0].n_step_cmds, sides[1].cmds,
               sides[1].n_step_cmds);
    step_merge(n, &n->tasks, sides[0].tasks, sides[0].n_step_tasks, sides[1].tasks,
               sides[1].n_step_tasks);
    for (int i = 0; i < 2; i++) {
        sides[i].n_step_cmds = sides[i].n_step_tasks = 0;
        sk_arena_reset(&sides[i].step);
    }
}

/* ---- deciding the recording ---- */

/* Decides record r on both sides. 0 or SK_ENOMEM. */
static int replay_one(sk_codec_t *codec, const sk_rec_t *r, side_t *sides)
{
    char reason[512];
    int rc = 0, drc;
    const char *user = NULL;
    sk_schedule_event_t ev;
    sk_request_event_t rq;
    sk_provisioning_result_t res;
    if (r->topic == SK_REC_SCHEDULE)
        drc = sk_codec_decode_schedule(codec, r->value, r->len, &ev, reason, sizeof(reason));
    else if (r->topic == SK_REC_REQUESTS)
        drc = sk_codec_decode_request(codec, r->value, r->len, &rq, reason, sizeof(reason));
    else
        drc = sk_codec_decode_provisioning_result(codec, r->value, r->len, &res, reason,
                                                  sizeof(reason));
    if (drc == 0) {
        user = r->topic == SK_REC_SCHEDULE   ? ev.user
               : r->topic == SK_REC_REQUESTS ? rq.subject
                                             : res.user;
        if (strcmp(user, r->key) != 0) {
            snprintf(reason, sizeof(reason), "record key '%.64s' is not the subject '%.64s'",
                     r->key, user);
            drc = SK_EINVAL;
        }
    }
    for (int i = 0; i < 2 && rc == 0; i++) {
        sk_sim_t *sim = sides[i].sim;
        if (drc != 0)
            rc = sk_sim_reject(sim, drc == SK_EPARSE ? SK_DL_UNDECODABLE : SK_DL_INVALID, reason,
                               r->ts_ms);
        else if (r->topic == SK_REC_SCHEDULE)
            rc = sk_sim_schedule(sim, &ev, r->ts_ms);
        else if (r->topic == SK_REC_REQUESTS)
            rc = sk_sim_request(sim, &rq, r->ts_ms);
        else
            rc = sk_sim_result(sim, &res, r->ts_ms);
    }
    return rc;
}

/* ---- the differences ---- */

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the sorted lines (at most limit), frees them; returns how many. */
static size_t print_lines(char **lines, size_t n, size_t limit)
{
    qsort(lines, n, sizeof(*lines), cmp_line);
    for (size_t i = 0; i < n; i++) {
        if (i < limit)
            printf("  %s\n", lines[i]);
        free(lines[i]);
    }
    if (n > limit)
        printf("  ... and %zu more\n", n - limit);
    free(lines);
    return n;
}

static const char *dur(sk_ms_t ms, char *buf, size_t len)
{
    long long s = ms / 1000;
    if (s >= 3600)
        snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(buf, len, "%llds", s);
    return buf;
}

/* A signature as printed: the ms after '@' as an ISO time. */
static char *pretty(const char *sig, char sign, intptr_t count)
{
    char t[40], *out = NULL;
    const char *at = strrchr(sig, '@');
    int len = at ? (int)(at - sig) : (int)strlen(sig);
    const char *when = at ? sk_ms_format(strtoll(at + 1, NULL, 10), t, sizeof(t)) : "";
    if (asprintf(&out, count > 1 ? "%c %.*s%s (x%ld)" : "%c %.*s%s", sign, len, sig, when,
                 (long)count) < 0)
        return NULL;
    return out;
}

/* Lines: a signature one side made more often ("-" in force, "+" new). */
static size_t diff_counts(const char *title, const sk_strmap_t *m, size_t limit)
{
    size_t n = 0;
    char **lines = malloc((m->count + 1) * sizeof(*lines));
    if (!lines)
        return 0;
    for (size_t i = 0; i < m->cap; i++) {
        const char *k = m->slots[i].key;
        intptr_t v = (intptr_t)m->slots[i].value;
        if (k && v && (lines[n] = pretty(k, v > 0 ? '-' : '+', v > 0 ? v : -v)) != NULL)
            n++;
    }
    if (n)
        printf("%s (- only with the rules in force, + only with the new rules):\n", title);
    return print_lines(lines, n, limit);
}

static size_t diff_access(side_t *a, side_t *b, sk_ms_t end, size_t limit)
{
    side_t *s[2] = {a, b};
    size_t n = 0, cap = a->access.count + b->access.count + 1;
    char **lines = malloc(cap * sizeof(*lines));
    char d1[32], d2[32];
    if (!lines)
        return 0;
    for (int k = 0; k < 2; k++) /* close what is still held at the end */
        for (size_t i = 0; i < s[k]->access.cap; i++) {
            held_t *h = s[k]->access.slots[i].value;
            if (s[k]->access.slots[i].key && h->since != SK_MS_NONE && end > h->since)
                h->total_ms += end - h->since, h->since = end;
        }
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < s[k]->access.cap; i++) {
            const char *key = s[k]->access.slots[i].key;
            if (!key)
                continue;
            const held_t *mine = s[k]->access.slots[i].value;
            const held_t *other = sk_strmap_get(&s[1 - k]->access, key);
            if (k == 1 && other)
                continue; /* compared from side 0 */
            held_t zero = {0};
            const held_t *old = k == 0 ? mine : &zero,
                         *nw = k == 0 ? (other ? other : &zero) : mine;
            if (old->total_ms == nw->total_ms && old->grants == nw->grants)
                continue;
            if (asprintf(&lines[n], "%c %s: held %s -> %s, %d -> %d grants",
                         nw->total_ms > old->total_ms ||
                                 (nw->total_ms == old->total_ms && nw->grants > old->grants)
                             ? '+'
                             : '-',
                         key, dur(old->total_ms, d1, sizeof(d1)), dur(nw->total_ms, d2, sizeof(d2)),
                         old->grants, nw->grants) > 0)
                n++;
        }
    if (n)
        printf("access (+ gains, - loses; user entitlement: time held over the replay):\n");
    return print_lines(lines, n, limit);
}

static size_t diff_requests(side_t *a, side_t *b, size_t limit)
{
    size_t n = 0, cap = a->requests.count + b->requests.count + 1;
    char **lines = malloc(cap * sizeof(*lines));
    if (!lines)
        return 0;
    for (size_t i = 0; i < a->requests.cap; i++) {
        const char *k = a->requests.slots[i].key;
        if (!k)
            continue;
        const char *va = a->requests.slots[i].value, *vb = sk_strmap_get(&b->requests, k);
        if ((!vb || strcmp(va, vb) != 0) &&
            asprintf(&lines[n], "%s\n      in force: %s\n      new:      %s", k, va,
                     vb ? vb : "(no decision)") > 0)
            n++;
    }
    if (n)
        printf("requests whose last outcome changes:\n");
    return print_lines(lines, n, limit);
}

/* ---- the command ---- */

static void replay_usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey replay --rules NEW_DIR [--current DIR] [--input FILE | --kafka B]\n"
            "                       [--since T] [--until T] [--export FILE] [--limit N]\n"
            "\n"
            "Decides recorded input with the rules in force (--current, default\n"
            "$SHIFTKEY_RULES or /etc/shiftkey/rules) and with NEW_DIR side by side, in\n"
            "memory, and prints the differences: access gained or lost, commands and\n"
            "tasks only one side makes, requests whose outcome changes.\n"
            "\n"
            "  --input FILE    a recording made with --export (else the input topics of\n"
            "                  the cluster found as for every command: --kafka,\n"
            "                  $SHIFTKEY_KAFKA or --bootstrap-file)\n"
            "  --since, --until T   records published in this range (now, -7d,\n"
            "                  2026-03-02T09:00:00Z, epoch ms); timers fire until --until\n"
            "                  (default: the last record)\n"
            "  --export FILE   also write what was read to FILE (without --rules: only that)\n"
            "  --limit N       lines printed per section [50]\n"
            "\n"
            "exit status: 0 no difference, 1 the new rules decide differently,\n"
            "2 usage error or unreadable input or rules\n");
}

int sk_cli_replay(int argc, char **argv)
{
    static const struct option opts[] = {{"rules", required_argument, NULL, 'r'},
                                         {"current", required_argument, NULL, 'c'},
                                         {"input", required_argument, NULL, 'i'},
                                         {"kafka", required_argument, NULL, 'k'},
                                         {"bootstrap-file", required_argument, NULL, 'b'},
                                         {"since", required_argument, NULL, 's'},
                                         {"until", required_argument, NULL, 'u'},
                                         {"export", required_argument, NULL, 'e'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rules = NULL, *current = getenv("SHIFTKEY_RULES"), *input = NULL, *kafka = NULL,
               *bfile = NULL, *since = NULL, *until = NULL, *export = NULL;
    long long now = sk_now_ms(), since_ms = 0, until_ms = SK_MS_MAX_INPUT;
    size_t limit = 50;
    sk_recs_t recs = {0};
    side_t sides[2];
    net_t net;
    sk_codec_t *codec = NULL;
    int rc = 2, c, inited = 0;
    char bs[1024];

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': rules = optarg; break;
        case 'c': current = optarg; break;
        case 'i': input = optarg; break;
        case 'k': kafka = optarg; break;
        case 'b': bfile = optarg; break;
        case 's': since = optarg; break;
        case 'u': until = optarg; break;
        case 'e': export = optarg; break;
        case 'l': limit = (size_t)strtoul(optarg, NULL, 10); break;
        case 'h': replay_usage(stdout); return 0;
        default: replay_usage(stderr); return 2;
        }
    }
    if (optind != argc || (!rules && !export) ||
        (since && sk_cli_parse_time(since, now, &since_ms)) ||
        (until && sk_cli_parse_time(until, now, &until_ms))) {
        replay_usage(stderr);
        return 2;
    }
    if (!current || !*current)
        current = "/etc/shiftkey/rules";
    if (input) {
        if (sk_recs_read_file(input, &recs) != 0)
            goto out;
    } else {
        const char *brokers = sk_cli_bootstrap(kafka, bfile, bs, sizeof(bs));
        if (!brokers) {
            fprintf(stderr, "shiftkey replay: no --input and no Kafka (--kafka, $SHIFTKEY_KAFKA "
                            "or a bootstrap file)\n");
            goto out;
        }
        if (sk_recs_read_kafka(brokers, since_ms, until_ms, &recs) != 0)
            goto out;
    }
    sk_recs_sort(&recs);
    if (export && sk_recs_write_file(export, &recs) != 0)
        goto out;
    if (!rules) {
        printf("exported %zu records to %s\n", recs.n, export);
        rc = 0;
        goto out;
    }
    memset(sides, 0, sizeof(sides));
    sk_arena_init(&net.arena, 64 * 1024);
    sk_strmap_init(&net.cmds);
    sk_strmap_init(&net.tasks);
    inited = 1;
    if (side_init(&sides[0], "in force", current) || side_init(&sides[1], "new", rules) ||
        !(codec = sk_codec_new()))
        goto out;
    sk_ms_t t0 = sk_now_ms(), first = recs.n ? recs.v[0].ts_ms : 0, last = first;
    for (size_t i = 0; i < recs.n; i++) {
        if (recs.v[i].ts_ms < since_ms || recs.v[i].ts_ms > until_ms)
            continue;
        if (replay_one(codec, &recs.v[i], sides) != 0) {
            fprintf(stderr, "shiftkey replay: out of memory\n");
            goto out;
        }
        step_end(&net, sides);
        last = recs.v[i].ts_ms;
    }
    sk_ms_t end = until ? until_ms : last;
    if (sk_sim_advance(sides[0].sim, end) || sk_sim_advance(sides[1].sim, end))
        goto out;
    step_end(&net, sides);
    double secs = (double)(sk_now_ms() - t0) / 1000.0;
    char a[40], b[40];
    printf("replay: %zu records from %s to %s, decided in %.2f s (%.0f records/s)\n", recs.n,
           sk_ms_format(first, a, sizeof(a)), sk_ms_format(end, b, sizeof(b)), secs,
           secs > 0 ? (double)recs.n / secs : 0.0);
    for (int i = 0; i < 2; i++)
        printf("  %-8s %s (%s): %zu decisions, %zu commands, %zu tasks, %zu dead letters\n",
               sides[i].label, i ? rules : current, sk_rules_version(sides[i].rules),
               sk_sim_decisions(sides[i].sim), sides[i].n_cmds, sides[i].n_tasks, sides[i].n_dead);
    size_t n = diff_access(&sides[0], &sides[1], end, limit);
    n += diff_counts("commands", &net.cmds, limit);
    n += diff_counts("tasks", &net.tasks, limit);
    n += diff_requests(&sides[0], &sides[1], limit);
    if (n)
        printf("%zu difference%s\n", n, n == 1 ? "" : "s");
    else
        printf("no difference\n");
    rc = n ? 1 : 0;
out:
    if (inited) {
        side_fini(&sides[0]);
        side_fini(&sides[1]);
        sk_strmap_fini(&net.cmds);
        sk_strmap_fini(&net.tasks);
        sk_arena_fini(&net.arena);
    }
    sk_codec_destroy(codec);
    sk_recs_free(&recs);
    return rc;
}
