/*
 * cli_tasklist.c — reading shiftkey.tasks.v1 from its beginning to its end,
 * and the commands built on it: `shiftkey task list` (open tasks, each
 * folded to its latest event) and `shiftkey task show ID` (every event of a
 * task or a request). See cli_task.h.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_sign.h"
#include "cli/cli_shift.h"
#include "cli/cli_task.h"
#include "codec/codec.h"
#include "base/strmap.h"

/* ---- reading the topic ---- */

static int tasks_push(sk_cli_tasks_t *t, const sk_task_t *task)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        sk_task_t *v = realloc(t->v, cap * sizeof(*v));
        if (!v)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = *task;
    return 0;
}

int sk_cli_assign_topics(rd_kafka_t *rk, const char *const *topics, size_t n, int from_end,
                         int timeout_ms)
{
    int assigned = 0;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    for (size_t t = 0; t < n && assigned >= 0; t++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        rd_kafka_topic_destroy(rkt);
        if (err) {
            fprintf(stderr, "shiftkey: cannot read the metadata of %s: %s (is the broker up?)\n",
                    topics[t], rd_kafka_err2str(err));
            assigned = -1;
            break;
        }
        for (int i = 0; i < md->topic_cnt && assigned >= 0; i++) {
            const struct rd_kafka_metadata_topic *mt = &md->topics[i];
            if (strcmp(mt->topic, topics[t]) != 0 || mt->err)
                continue; /* unknown topic: nothing published yet */
            for (int p = 0; p < mt->partition_cnt; p++) {
                int64_t lo = 0, hi = 0;
                int32_t id = mt->partitions[p].id;
                if (rd_kafka_query_watermark_offsets(rk, topics[t], id, &lo, &hi, timeout_ms)) {
                    fprintf(stderr, "shiftkey: cannot read the offsets of %s (is the broker "
                                    "up?)\n", topics[t]);
                    assigned = -1;
                    break;
                }
                if (from_end || hi > lo) {
                    rd_kafka_topic_partition_list_add(parts, topics[t], id)->offset =
                        from_end ? hi : lo;
                    assigned++;
                }
            }
        }
        rd_kafka_metadata_destroy(md);
    }
    if (assigned > 0 && rd_kafka_assign(rk, parts) != 0) {
        fprintf(stderr, "shiftkey: cannot assign the partitions to read\n");
        assigned = -1;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return assigned;
}

rd_kafka_t *sk_cli_consumer_new(const char *brokers, int partition_eof)
{
    char errstr[512], group[64];
    snprintf(group, sizeof(group), "shiftkey-cli-%d", (int)getpid());
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.partition.eof", partition_eof ? "true" : "false", errstr,
                      sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        sk_cli_kafka_credentials(conf) != 0) {
        fprintf(stderr, "shiftkey: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "shiftkey: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

int sk_cli_tasks_read(const char *brokers, int timeout_ms, sk_cli_tasks_t *out)
{
    memset(out, 0, sizeof(*out));
    sk_arena_init(&out->arena, 65536);
    rd_kafka_t *rk = sk_cli_consumer_new(brokers, 1);
    if (!rk)
        return -1;
    sk_codec_t *codec = sk_codec_new();
    const char *topic = sk_cli_topic(SK_TOPIC_TASKS);
    int left = codec ? sk_cli_assign_topics(rk, &topic, 1, 0, timeout_ms) : -1;
    int rc = left < 0 ? -1 : 0;
    sk_ms_t deadline = sk_now_ms() + timeout_ms;
    while (left > 0 && rc == 0) {
        if (sk_now_ms() >= deadline) {
            fprintf(stderr, "shiftkey task: %s not read to its end within %d s (is the broker "
                            "up?)\n", topic, timeout_ms / 1000);
            rc = -1;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        char reason[256];
        sk_task_t task;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            left--;
        else if (m->err)
            fprintf(stderr, "shiftkey task: %s\n", rd_kafka_message_errstr(m));
        else if (sk_codec_decode_task(codec, m->payload, m->len, &out->arena, &task, reason,
                                      sizeof(reason)) != 0)
            out->undecodable++;
        else if (tasks_push(out, &task) != 0)
            rc = -1;
        rd_kafka_message_destroy(m);
    }
    sk_codec_destroy(codec);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

void sk_cli_tasks_free(sk_cli_tasks_t *t)
{
    free(t->v);
    sk_arena_fini(&t->arena);
    memset(t, 0, sizeof(*t));
}

const sk_task_t *sk_cli_tasks_find(const sk_cli_tasks_t *t, const char *id)
{
    const sk_task_t *by_request = NULL;
    for (size_t i = t->n; i-- > 0;) {
        if (strcmp(t->v[i].task_id, id) == 0)
            return &t->v[i];
        if (!by_request && strcmp(t->v[i].request_id, id) == 0)
            by_request = &t->v[i];
    }
    return by_request;
}

/* ---- printing ---- */

void sk_cli_print_task_json(const sk_task_t *t)
{
    printf("{\"task_id\":");
    sk_cli_json_str(stdout, t->task_id);
    printf(",\"kind\":");
    sk_cli_json_str(stdout, sk_task_kind_name(t->kind));
    printf(",\"state\":");
    sk_cli_json_str(stdout, sk_task_state_name(t->state));
    printf(",\"outcome\":");
    if (t->state == SK_TASK_CLOSED)
        sk_cli_json_str(stdout, sk_task_outcome_name(t->outcome));
    else
        printf("null");
    printf(",\"request_id\":");
    sk_cli_json_str(stdout, t->request_id);
    printf(",\"subject\":");
    sk_cli_json_str(stdout, t->subject);
    printf(",\"target\":");
    sk_cli_json_str(stdout, t->target);
    printf(",\"step\":%" PRId32 ",\"assignees\":[", t->step);
    for (size_t i = 0; i < t->n_assignees; i++) {
        if (i)
            putchar(',');
        sk_cli_json_str(stdout, t->assignees[i]);
    }
    printf("],\"emergency\":%s,\"reason\":", t->emergency ? "true" : "false");
    sk_cli_json_str(stdout, t->reason);
    printf(",\"at\":%" PRId64 "}", t->at_ms);
}

static void print_json_array(const sk_task_t *const *v, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++) {
        printf(i ? ",\n " : "");
        sk_cli_print_task_json(v[i]);
    }
    printf("]\n");
}

/* "12s", "5m", "3h", "2d" ago. */
static const char *age(sk_ms_t at, sk_ms_t now, char *buf, size_t len)
{
    long long s = (long long)(now - at) / 1000;
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, len, "%llds", s);
    else if (s < 7200)
        snprintf(buf, len, "%lldm", s / 60);
    else if (s < 172800)
        snprintf(buf, len, "%lldh", s / 3600);
    else
        snprintf(buf, len, "%lldd", s / 86400);
    return buf;
}

static const char *status(const sk_task_t *t)
{
    return t->state == SK_TASK_CLOSED ? sk_task_outcome_name(t->outcome)
                                      : sk_task_state_name(t->state);
}

void sk_cli_print_task_header(void)
{
    printf("%-32s %-14s %-14s %-20s %-24s %4s %-24s %-3s %5s %-16s %s\n", "TASK", "KIND",
           "STATE", "SUBJECT", "TARGET", "STEP", "ASSIGNEES", "EMG", "AGE", "REQUEST", "REASON");
}

void sk_cli_print_task_row(const sk_task_t *t, sk_ms_t now)
{
    char a[16], who[256];
    size_t off = 0;
    who[0] = '\0';
    for (size_t i = 0; i < t->n_assignees && off < sizeof(who); i++)
        off += (size_t)snprintf(who + off, sizeof(who) - off, "%s%s", i ? "," : "",
                                t->assignees[i]);
    printf("%-32s %-14s %-14s %-20s %-24s %4" PRId32 " %-24s %-3s %5s %-16s %s\n", t->task_id,
           sk_task_kind_name(t->kind), status(t), t->subject, t->target, t->step,
           who[0] ? who : "-", t->emergency ? "yes" : "no", age(t->at_ms, now, a, sizeof(a)),
           t->request_id[0] ? t->request_id : "-", t->reason);
}

/* ---- list ---- */

static int cmp_at(const void *a, const void *b)
{
    const sk_task_t *x = *(const sk_task_t *const *)a, *y = *(const sk_task_t *const *)b;
    if (x->at_ms != y->at_ms)
        return x->at_ms < y->at_ms ? -1 : 1;
    return strcmp(x->task_id, y->task_id);
}

static int has_assignee(const sk_task_t *t, const char *who)
{
    for (size_t i = 0; i < t->n_assignees; i++)
        if (strcmp(t->assignees[i], who) == 0)
            return 1;
    return 0;
}

/* Pointers to the latest event of each task (the last one read), in the
 * order the tasks first appeared. Returns the count; *out is malloc'ed
 * (NULL with 0 when out of memory). */
static size_t fold_latest(const sk_cli_tasks_t *t, const sk_task_t ***out)
{
    const sk_task_t **v = calloc(t->n + 1, sizeof(*v));
    sk_strmap_t index; /* task id -> 1 + its slot in v */
    size_t n = 0;
    sk_strmap_init(&index);
    for (size_t i = 0; v && i < t->n; i++) {
        size_t slot = (size_t)(uintptr_t)sk_strmap_get(&index, t->v[i].task_id);
        if (slot == 0) {
            if (sk_strmap_put(&index, t->v[i].task_id, (void *)(uintptr_t)(n + 1)) != 0) {
                free(v);
                v = NULL;
                n = 0;
                break;
            }
            slot = ++n;
        }
        v[slot - 1] = &t->v[i];
    }
    sk_strmap_fini(&index);
    *out = v;
    return n;
}

static void list_usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey task list [--user USER] [--assignee USER] [--all] [-o table|json]\n"
            "                          [--kafka BROKERS] [--bootstrap-file F] [--timeout S]\n\n"
            "Lists tasks (reviews, manual (de)provisioning, revocations) from shiftkey.tasks.v1,\n"
            "read from its beginning: one line per task, its latest state. Open tasks only,\n"
            "unless --all.\n"
            "  --user USER       tasks whose subject (requester, holder) is USER\n"
            "  --assignee USER   tasks USER may act on now (e.g. --assignee $SHIFTKEY_USER)\n"
            "  --all             closed tasks too (STATE shows the outcome)\n"
            "  -o json           a JSON array of objects (task_id, kind, state, outcome,\n"
            "                    request_id, subject, target, step, assignees, emergency,\n"
            "                    reason, at in ms since the epoch)\n"
            "  --timeout S       give up reading after S seconds [10]\n"
            "Act on a task with its TASK or REQUEST id: shiftkey task approve ID.\n"
            "Exit status: 0 listed (also when none), 1 broker unreachable, 2 usage error.\n");
}

/* Shared option parsing of list and show. Returns -1 to go on, else the
 * exit code. */
typedef struct read_opts {
    const char *user, *assignee, *kafka, *bfile;
    int all, json, timeout_s;
} read_opts_t;

static int parse_read_opts(int argc, char **argv, read_opts_t *o, void (*usage)(FILE *))
{
    static const struct option longopts[] = {
        {"user", 1, 0, 'u'},   {"assignee", 1, 0, 'A'}, {"all", 0, 0, 'a'},
        {"output", 1, 0, 'o'}, {"kafka", 1, 0, 'k'},    {"bootstrap-file", 1, 0, 'b'},
        {"timeout", 1, 0, 'T'}, {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    int c;
    memset(o, 0, sizeof(*o));
    o->timeout_s = 10;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': o->user = optarg; break;
        case 'A': o->assignee = optarg; break;
        case 'a': o->all = 1; break;
        case 'k': o->kafka = optarg; break;
        case 'b': o->bfile = optarg; break;
        case 'T': o->timeout_s = atoi(optarg); break;
        case 'o':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
                fprintf(stderr, "shiftkey task: -o %s: use table or json\n", optarg);
                return 2;
            }
            o->json = strcmp(optarg, "json") == 0;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o->timeout_s <= 0) {
        fprintf(stderr, "shiftkey task: --timeout takes a number of seconds > 0\n");
        return 2;
    }
    return -1;
}

static const char *read_brokers(const read_opts_t *o, char *buf, size_t len)
{
    const char *b = sk_cli_bootstrap(o->kafka, o->bfile, buf, len);
    if (!b)
        fprintf(stderr, "shiftkey: no Kafka address: pass --kafka, set SHIFTKEY_KAFKA, or start "
                        "shiftkeyd --kafka embedded\n");
    return b;
}

int sk_cli_task_list(int argc, char **argv)
{
    read_opts_t o;
    char bs[1024];
    int rc = parse_read_opts(argc, argv, &o, list_usage);
    if (rc >= 0)
        return rc;
    if (optind < argc) {
        fprintf(stderr, "shiftkey task list: unexpected '%s' (filter with --user or "
                        "--assignee; see --help)\n", argv[optind]);
        return 2;
    }
    const char *brokers = read_brokers(&o, bs, sizeof(bs));
    if (!brokers)
        return 2;
    sk_cli_tasks_t t;
    const sk_task_t **v = NULL;
    rc = 1;
    if (sk_cli_tasks_read(brokers, o.timeout_s * 1000, &t) != 0)
        goto out;
    size_t n = fold_latest(&t, &v), kept = 0;
    if (!v) {
        fprintf(stderr, "shiftkey task list: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const sk_task_t *x = v[i];
        if ((o.all || x->state != SK_TASK_CLOSED) && (!o.user || strcmp(x->subject, o.user) == 0) &&
            (!o.assignee || has_assignee(x, o.assignee)))
            v[kept++] = x;
    }
    if (kept > 1)
        qsort(v, kept, sizeof(*v), cmp_at);
    if (o.json) {
        print_json_array(v, kept);
    } else {
        sk_ms_t now = sk_now_ms();
        sk_cli_print_task_header();
        for (size_t i = 0; i < kept; i++)
            sk_cli_print_task_row(v[i], now);
        if (kept == 0)
            printf("(no %stasks%s)\n", o.all ? "" : "open ", o.all ? "" : "; --all shows closed ones");
    }
    if (t.undecodable)
        fprintf(stderr, "shiftkey task list: %zu undecodable records skipped\n", t.undecodable);
    rc = 0;
out:
    free(v);
    sk_cli_tasks_free(&t);
    return rc;
}

/* ---- show ---- */

static void show_usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkey task show ID [-o table|json] [--kafka BROKERS] [--bootstrap-file F]\n\n"
            "Prints every event of a task, in order, from shiftkey.tasks.v1. ID is a task id\n"
            "(shiftkey task list) or a request id: then every task of that request.\n"
            "  -o json       a JSON array (fields as in shiftkey task list -o json)\n"
            "  --timeout S   give up reading after S seconds [10]\n"
            "Exit status: 0 shown, 1 nothing found (or broker unreachable), 2 usage error.\n");
}

int sk_cli_task_show(int argc, char **argv)
{
    read_opts_t o;
    char bs[1024];
    int rc = parse_read_opts(argc, argv, &o, show_usage);
    if (rc >= 0)
        return rc;
    if (optind + 1 != argc) {
        fprintf(stderr, "shiftkey task show: need exactly one ID, a task or a request id "
                        "(shiftkey task list shows them)\n");
        return 2;
    }
    const char *id = argv[optind];
    const char *brokers = read_brokers(&o, bs, sizeof(bs));
    if (!brokers)
        return 2;
    sk_cli_tasks_t t;
    const sk_task_t **v = NULL;
    size_t n = 0;
    rc = 1;
    if (sk_cli_tasks_read(brokers, o.timeout_s * 1000, &t) != 0)
        goto out;
    v = calloc(t.n + 1, sizeof(*v));
    if (!v)
        goto out;
    for (size_t i = 0; i < t.n; i++)
        if (strcmp(t.v[i].task_id, id) == 0 || strcmp(t.v[i].request_id, id) == 0)
            v[n++] = &t.v[i];
    if (n == 0) {
        fprintf(stderr, "shiftkey task show: no task or request '%s' on %s (shiftkey task list "
                        "--all shows every task)\n", id, sk_cli_topic(SK_TOPIC_TASKS));
        goto out;
    }
    if (o.json) {
        print_json_array(v, n);
    } else {
        char when[40];
        printf("%-24s ", "AT");
        sk_cli_print_task_header();
        for (size_t i = 0; i < n; i++) {
            printf("%-24s ", sk_ms_format(v[i]->at_ms, when, sizeof(when)));
            sk_cli_print_task_row(v[i], sk_now_ms());
        }
    }
    rc = 0;
out:
    free(v);
    sk_cli_tasks_free(&t);
    return rc;
}
