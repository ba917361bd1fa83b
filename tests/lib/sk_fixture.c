/* sk_fixture.c — real Redis, mock Kafka and the engine for tests. */
#include "sk_fixture.h"
#include "base/keyhash.h"
#include "sk_sign_fx.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

int sk_fx_redis_start(sk_fx_redis_t *r)
{
    return sk_fx_redis_start_on(r, free_port());
}

int sk_fx_redis_start_on(sk_fx_redis_t *r, int port_number)
{
    char port[16];
    const char *aof = r->durable ? "yes" : "no";
    r->port = port_number;
    snprintf(r->dir, sizeof(r->dir), "/tmp/sk-test-redis-%d", r->port);
    mkdir(r->dir, 0700);
    snprintf(port, sizeof(port), "%d", r->port);
    r->pid = fork();
    if (r->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", aof, "--appendfsync", "always", "--dir", r->dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        if (sk_fx_redis_int(r, "PING") == 0)
            return 0;
        sleep_ms(50);
    }
    fprintf(stderr, "redis-server did not start on port %d\n", r->port);
    return -1;
}

void sk_fx_redis_stop(sk_fx_redis_t *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

long long sk_fx_redis_int(const sk_fx_redis_t *r, const char *fmt, ...)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    long long v = -1;
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (rep) {
        if (rep->type == REDIS_REPLY_INTEGER)
            v = rep->integer;
        else if (rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0)
            v = 0;
        else if (rep->type == REDIS_REPLY_STRING)
            v = strtoll(rep->str, NULL, 10);
        else if (rep->type == REDIS_REPLY_ARRAY)
            v = (long long)rep->elements;
        freeReplyObject(rep);
    }
    redisFree(c);
    return v;
}

int sk_fx_kafka_start(sk_fx_kafka_t *k, int partitions)
{
    char errstr[256];
    static const char *const topics[] = {"shiftkey.schedule.v1",
                                         "shiftkey.commands.v1",
                                         "shiftkey.audit.v1",
                                         "shiftkey.deadletter.v1",
                                         "shiftkey.requests.v1",
                                         "shiftkey.tasks.v1",
                                         "shiftkey.provisioning.results.v1",
                                         "shiftkey.changelog.v1"};
    memset(k, 0, sizeof(*k));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!k->rk)
        return -1;
    k->mcluster = rd_kafka_mock_cluster_new(k->rk, 1);
    if (!k->mcluster)
        return -1;
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
        rd_kafka_mock_topic_create(k->mcluster, topics[i], partitions, 1);
    k->bootstraps = rd_kafka_mock_cluster_bootstraps(k->mcluster);
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", k->bootstraps, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "linger.ms", "0", errstr, sizeof(errstr));
    /* the one partitioner of shiftkey (base/keyhash.h): the engine refuses
     * a record on another partition than its key's */
    rd_kafka_conf_set(conf, "partitioner", SK_PARTITIONER, errstr, sizeof(errstr));
    k->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    return k->producer ? 0 : -1;
}

void sk_fx_kafka_stop(sk_fx_kafka_t *k)
{
    if (k->producer)
        rd_kafka_destroy(k->producer);
    if (k->mcluster)
        rd_kafka_mock_cluster_destroy(k->mcluster);
    if (k->rk)
        rd_kafka_destroy(k->rk);
    memset(k, 0, sizeof(*k));
}

int sk_fx_produce(sk_fx_kafka_t *k, const char *topic, const char *key, const void *val, size_t len)
{
    /* signed input topics: signed by the test front (sk_sign_fx.h) */
    if (strcmp(topic, "shiftkey.requests.v1") == 0 ||
        strcmp(topic, "shiftkey.provisioning.results.v1") == 0) {
        sk_signing_key_t front;
        sk_fx_test_key(SK_FX_FRONT, &front);
        return sk_fx_produce_signed(k, topic, key, val, len, &front, sk_now_ms(),
                                    RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
        RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (err)
        return -1;
    return rd_kafka_flush(k->producer, 10000) == 0 ? 0 : -1;
}

int sk_fx_produce_event(sk_fx_kafka_t *k, const sk_schedule_event_t *ev)
{
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    void *buf;
    size_t len;
    int rc = -1;
    sk_arena_init(&a, 4096);
    if (codec && sk_codec_encode_schedule(codec, ev, &a, &buf, &len) == 0)
        rc = sk_fx_produce(k, "shiftkey.schedule.v1", ev->user, buf, len);
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    return rc;
}

int sk_fx_produce_request(sk_fx_kafka_t *k, const sk_request_event_t *ev)
{
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    void *buf;
    size_t len;
    int rc = -1;
    sk_arena_init(&a, 4096);
    if (codec && sk_codec_encode_request(codec, ev, &a, &buf, &len) == 0)
        rc = sk_fx_produce(k, "shiftkey.requests.v1", ev->subject, buf, len);
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    return rc;
}

int sk_fx_produce_result(sk_fx_kafka_t *k, const sk_provisioning_result_t *res)
{
    sk_codec_t *codec = sk_codec_new();
    sk_arena_t a;
    void *buf;
    size_t len;
    int rc = -1;
    sk_arena_init(&a, 4096);
    if (codec && sk_codec_encode_provisioning_result(codec, res, &a, &buf, &len) == 0)
        rc = sk_fx_produce(k, "shiftkey.provisioning.results.v1", res->user, buf, len);
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
    return rc;
}

static void *engine_main(void *arg)
{
    sk_fx_engine_t *fe = arg;
    sk_engine_run(fe->engine, &fe->stop, &fe->reload);
    return NULL;
}

int sk_fx_engine_start(sk_fx_engine_t *fe, const char *brokers, int redis_port, const char *rules,
                       const char *group)
{
    return sk_fx_engine_start_with(fe, brokers, redis_port, rules, group, NULL, 0);
}

int sk_fx_engine_start_with(sk_fx_engine_t *fe, const char *brokers, int redis_port,
                            const char *rules, const char *group, const char *const *extra,
                            size_t n_extra)
{
    char err[1024];
    const char *props[16] = {"consumer:session.timeout.ms=6000",
                             "consumer:heartbeat.interval.ms=500"};
    size_t n = 2;
    for (size_t i = 0; i < n_extra && n < 16; i++)
        props[n++] = extra[i];
    sk_engine_config_t cfg = {.brokers = brokers,
                              .rules_path = rules,
                              .group_id = group,
                              .redis = {.host = "127.0.0.1", .port = redis_port},
                              .timer_interval_ms = 100,
                              .kafka_props = props,
                              .n_kafka_props = n};
    memset(fe, 0, sizeof(*fe));
    fe->engine = sk_engine_new(&cfg, err, sizeof(err));
    if (!fe->engine) {
        fprintf(stderr, "engine: %s\n", err);
        return -1;
    }
    return pthread_create(&fe->thread, NULL, engine_main, fe) == 0 ? 0 : -1;
}

void sk_fx_engine_stop(sk_fx_engine_t *fe)
{
    if (!fe->engine)
        return;
    fe->stop = 1;
    pthread_join(fe->thread, NULL);
    sk_engine_destroy(fe->engine);
    fe->engine = NULL;
}

/* ---- reader ---- */

struct sk_fx_reader {
    rd_kafka_t *rk;
    pthread_t thread;
    volatile int stop;
    int is_commands; /* 1 commands, 2 tasks, 3 audit (raw only), 0 dead letters */
    pthread_mutex_t lock;
    sk_fx_record_t *recs;
    char **keys;
    size_t n, cap;
    sk_arena_t arena; /* decoded strings; guarded by lock */
    sk_codec_t *codec;
};

static void *reader_main(void *arg)
{
    sk_fx_reader_t *r = arg;
    while (!r->stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 50);
        if (!m)
            continue;
        if (!m->err) {
            char reason[256];
            pthread_mutex_lock(&r->lock);
            if (r->n == r->cap) { /* full: records handed out must not move */
                pthread_mutex_unlock(&r->lock);
                rd_kafka_message_destroy(m);
                continue;
            }
            sk_fx_record_t *rec = &r->recs[r->n];
            memset(rec, 0, sizeof(*rec));
            rec->seen_ms = sk_now_ms();
            void *raw = sk_arena_alloc(&r->arena, m->len ? m->len : 1);
            memcpy(raw, m->payload, m->len);
            rec->raw = raw;
            rec->raw_len = m->len;
            int rc = r->is_commands == 3 ? 0
                     : r->is_commands == 1
                         ? sk_codec_decode_command(r->codec, m->payload, m->len, &r->arena,
                                                   &rec->cmd, reason, sizeof(reason))
                     : r->is_commands == 2
                         ? sk_codec_decode_task(r->codec, m->payload, m->len, &r->arena, &rec->task,
                                                reason, sizeof(reason))
                         : sk_codec_decode_dead_letter(r->codec, m->payload, m->len, &r->arena,
                                                       &rec->dl, reason, sizeof(reason));
            if (rc != 0)
                fprintf(stderr, "reader: undecodable output record: %s\n", reason);
            r->keys[r->n] = m->key ? sk_arena_strndup(&r->arena, m->key, m->key_len) : "";
            r->n++;
            pthread_mutex_unlock(&r->lock);
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

sk_fx_reader_t *sk_fx_reader_new(const char *brokers, const char *topic, int partitions)
{
    char errstr[256];
    sk_fx_reader_t *r = calloc(1, sizeof(*r));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", "sk-test-reader", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    r->is_commands = strstr(topic, "commands") ? 1
                     : strstr(topic, "tasks")  ? 2
                     : strstr(topic, "audit")  ? 3
                                               : 0;
    r->cap = 50000;
    r->recs = calloc(r->cap, sizeof(*r->recs));
    r->keys = calloc(r->cap, sizeof(*r->keys));
    r->codec = sk_codec_new();
    sk_arena_init(&r->arena, 65536);
    pthread_mutex_init(&r->lock, NULL);
    rd_kafka_poll_set_consumer(r->rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    pthread_create(&r->thread, NULL, reader_main, r);
    return r;
}

void sk_fx_reader_destroy(sk_fx_reader_t *r)
{
    if (!r)
        return;
    r->stop = 1;
    pthread_join(r->thread, NULL);
    rd_kafka_consumer_close(r->rk);
    rd_kafka_destroy(r->rk);
    sk_codec_destroy(r->codec);
    sk_arena_fini(&r->arena);
    free(r->recs);
    free(r->keys);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static size_t count_for(sk_fx_reader_t *r, const char *user)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!user || strcmp(r->keys[i], user) == 0)
            n++;
    return n;
}

size_t sk_fx_reader_wait(sk_fx_reader_t *r, const char *user, size_t n, int timeout_ms)
{
    sk_ms_t deadline = sk_now_ms() + timeout_ms;
    size_t have;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        have = count_for(r, user);
        pthread_mutex_unlock(&r->lock);
        if (have >= n || sk_now_ms() >= deadline)
            return have;
        sleep_ms(20);
    }
}

const sk_fx_record_t *sk_fx_reader_wait_command(sk_fx_reader_t *r, const char *user,
                                                sk_command_action_t action, const char *ent,
                                                int timeout_ms)
{
    sk_ms_t deadline = sk_now_ms() + timeout_ms;
    do {
        const sk_fx_record_t *got[32];
        size_t n = sk_fx_reader_get(r, user, got, 32);
        for (size_t i = 0; i < n; i++)
            if (got[i]->cmd.action == action && strcmp(got[i]->cmd.entitlement, ent) == 0)
                return got[i];
        sleep_ms(50);
    } while (sk_now_ms() < deadline);
    return NULL;
}

size_t sk_fx_reader_get(sk_fx_reader_t *r, const char *user, const sk_fx_record_t **out, size_t max)
{
    size_t k = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n && k < max; i++)
        if (!user || strcmp(r->keys[i], user) == 0)
            out[k++] = &r->recs[i];
    pthread_mutex_unlock(&r->lock);
    return k;
}

bool sk_fx_record_contains(const sk_fx_record_t *rec, const char *text)
{
    return rec->raw && memmem(rec->raw, rec->raw_len, text, strlen(text)) != NULL;
}
