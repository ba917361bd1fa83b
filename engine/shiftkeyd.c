/*
 * shiftkeyd — the shiftkey engine daemon. Every option is one row of the
 * OPTIONS table, which drives parsing, environment variables and --help.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/diag.h"
#include "pipeline/embedded.h"
#include "pipeline/engine.h"
#include "base/log.h"
#include "base/keyfile.h"
#include "base/topics.h"
#include "base/version.h"

#define MAX_KAFKA_PROPS 64

typedef struct opts {
    const char *rules, *kafka, *bootstrap_file, *redis, *redis_user, *redis_password_file;
    const char *redis_prefix, *group, *kafka_config_file;
    const char *topic[SK_TOPIC_COUNT]; /* base/topics.h */
    const char *log_level, *partitions, *timer_interval_ms, *batch_max;
    const char *log_format, *diag_addr, *schema_dir, *schema_registry;
    const char *kafka_props[MAX_KAFKA_PROPS];
    size_t n_kafka_props;
} opts_t;

typedef struct option_row {
    const char *name; /* --name; environment variable SHIFTKEY_<NAME> */
    const char *arg;  /* placeholder in --help */
    size_t offset;    /* into opts_t */
    const char *def;  /* default, or NULL */
    const char *doc;
} option_row_t;

#define O(f) offsetof(opts_t, f)
static const option_row_t OPTIONS[] = {
    {"rules", "PATH", O(rules), "/etc/shiftkey/rules", "rules directory (or file) of YAML rules"},
    {"kafka", "BROKERS", O(kafka), NULL,
     "Kafka bootstrap servers (host:port,...), or 'embedded' to run an in-process "
     "Kafka-protocol broker on loopback (demos and tests only)"},
    {"bootstrap-file", "PATH", O(bootstrap_file), "shiftkey.bootstrap",
     "with --kafka embedded: where the broker's address is written for other clients"},
    {"partitions", "N", O(partitions), "4", "with --kafka embedded: partitions per topic"},
    {"redis", "HOST:PORT|unix:PATH|redis-cluster://HOST:PORT,...", O(redis), "127.0.0.1:6379",
     "Redis holding grant state (one server, or a Redis Cluster by its seed nodes)"},
    {"redis-user", "NAME", O(redis_user), NULL, "Redis ACL user (AUTH)"},
    {"redis-password-file", "PATH", O(redis_password_file), NULL,
     "file holding the Redis password (or set SHIFTKEY_REDIS_PASSWORD)"},
    {"redis-prefix", "PREFIX", O(redis_prefix), "sk", "prefix of every Redis key"},
    {"kafka-config-file", "PATH", O(kafka_config_file), NULL,
     "file of librdkafka settings, NAME=VALUE a line (SASL/TLS credentials), mode 0600: "
     "refused when others may read it; secrets never on the command line"},
    {"group", "ID", O(group), "shiftkey", "Kafka consumer group of the engine instances"},
#define TOPIC_ROW(id, opt, name, doc) {opt, "TOPIC", O(topic[SK_TOPIC_##id]), name, doc},
    SK_TOPICS(TOPIC_ROW)
#undef TOPIC_ROW
        {"timer-interval-ms", "MS", O(timer_interval_ms), "200",
         "how often partitions are checked and all due timers looked for (timers fire when due)"},
    {"batch-max", "N", O(batch_max), "500",
     "most records decided and applied as one pipelined batch"},
    {"log-level", "LEVEL", O(log_level), "info", "debug, info, warn or error"},
    {"log-format", "FORMAT", O(log_format), "text", "text, or json (one object per line)"},
    {"schema-dir", "DIR", O(schema_dir), NULL,
     "more writer schemas of the input topics: DIR/[NAME/]ID.avsc (schema evolution)"},
    {"schema-registry", "URL", O(schema_registry), NULL,
     "schema registry (Confluent API) asked for schema ids nothing else knows, cached"},
    {"diag-addr", "HOST:PORT", O(diag_addr), NULL,
     "serve /metrics (Prometheus), /healthz and /readyz over HTTP here (off by default)"},
};
#undef O

static const char **field(opts_t *o, const option_row_t *r)
{
    return (const char **)((char *)o + r->offset);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: shiftkeyd --kafka BROKERS|embedded [options]\n\n"
            "shiftkey's engine: consumes on-call shift events, access requests with reviewers'\n"
            "actions, and provisioners' results; decides with the rules; keeps grants in\n"
            "Redis with durable timers; emits GRANT/REVOKE/EXTEND commands and tasks.\n\n"
            "options (each also read from the environment as SHIFTKEY_<NAME>):\n");
    for (size_t i = 0; i < SK_ARRAY_LEN(OPTIONS); i++) {
        const option_row_t *r = &OPTIONS[i];
        char head[64];
        snprintf(head, sizeof(head), "--%s %s", r->name, r->arg);
        fprintf(out, "  %-34s %s", head, r->doc);
        if (r->def)
            fprintf(out, " [%s]", r->def);
        fprintf(out, "\n");
    }
    fprintf(out, "  %-34s %s\n", "--kafka-config NAME=VALUE",
            "extra librdkafka setting (repeatable), e.g. security.protocol=SSL;");
    fprintf(out, "  %-34s %s\n", "", "prefix consumer: or producer: to set it on one client only");
    fprintf(out, "  %-34s %s\n", "--help, --version", "this text; the version");
    fprintf(out,
            "\nsignals: SIGHUP reloads the rules (refused whole if any error; the rules in\n"
            "force stay), SIGTERM/SIGINT drain, commit and exit 0.\n"
            "example: shiftkeyd --kafka embedded --rules rules/examples --redis 127.0.0.1:6379\n");
}

static void env_name(const char *opt, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "SHIFTKEY_");
    for (; *opt && k + 1 < len; opt++)
        buf[k++] = *opt == '-' ? '_' : (char)(*opt >= 'a' && *opt <= 'z' ? *opt - 32 : *opt);
    buf[k] = '\0';
}

/* Fills o from defaults, then the environment, then argv. 0, 1 (exit 0), or -1 (usage error). */
static int parse(int argc, char **argv, opts_t *o)
{
    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < SK_ARRAY_LEN(OPTIONS); i++) {
        char env[64];
        env_name(OPTIONS[i].name, env, sizeof(env));
        const char *v = getenv(env);
        *field(o, &OPTIONS[i]) = v && *v ? v : OPTIONS[i].def;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            printf("shiftkeyd %s\n", SK_VERSION);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "shiftkeyd: unexpected argument '%s' (see --help)\n", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        if (!val) {
            fprintf(stderr, "shiftkeyd: --%s needs a value (see --help)\n", a);
            return -1;
        }
        if (nlen == 12 && strncmp(a, "kafka-config", 12) == 0) {
            if (o->n_kafka_props == MAX_KAFKA_PROPS) {
                fprintf(stderr, "shiftkeyd: too many --kafka-config settings\n");
                return -1;
            }
            o->kafka_props[o->n_kafka_props++] = val;
            continue;
        }
        size_t k = 0;
        while (k < SK_ARRAY_LEN(OPTIONS) &&
               !(strlen(OPTIONS[k].name) == nlen && strncmp(OPTIONS[k].name, a, nlen) == 0))
            k++;
        if (k == SK_ARRAY_LEN(OPTIONS)) {
            fprintf(stderr, "shiftkeyd: unknown option '--%.*s' (see --help)\n", (int)nlen, a);
            return -1;
        }
        *field(o, &OPTIONS[k]) = val;
    }
    if (!o->kafka) {
        fprintf(stderr, "shiftkeyd: --kafka is required: a bootstrap list (host:port,...), or "
                        "'embedded' for an in-process demo broker\n");
        return -1;
    }
    return 0;
}

static int parse_int(const char *name, const char *v, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *v == '\0' || *end != '\0' || n < min || n > max) {
        fprintf(stderr, "shiftkeyd: --%s '%s': expected a whole number from %d to %d\n", name, v,
                min, max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static volatile sig_atomic_t stop_flag, reload_flag;
static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}
static void on_hup(int sig)
{
    (void)sig;
    reload_flag = 1;
}

int main(int argc, char **argv)
{
    opts_t o;
    sk_engine_config_t cfg = {0};
    sk_embedded_t *emb = NULL;
    sk_engine_t *engine = NULL;
    sk_metrics_t *metrics = NULL;
    sk_diag_t *diag = NULL;
    char err[1024], host[256];
    char *password = NULL;
    char *file_props[MAX_KAFKA_PROPS];
    size_t n_file_props = 0;
    int partitions = 4, rc = 2, level;

    int p = parse(argc, argv, &o);
    if (p != 0)
        return p > 0 ? 0 : 2;
    if ((level = sk_log_level_parse(o.log_level)) < 0) {
        fprintf(stderr, "shiftkeyd: --log-level '%s': use debug, info, warn or error\n",
                o.log_level);
        return 2;
    }
    sk_log_set_level((sk_log_level_t)level);
    int json = 0;
    if (sk_log_format_parse(o.log_format, &json) != 0) {
        fprintf(stderr, "shiftkeyd: --log-format '%s': use text or json\n", o.log_format);
        return 2;
    }
    sk_log_set_json(json);
    if (parse_int("partitions", o.partitions, 1, 1024, &partitions) ||
        parse_int("timer-interval-ms", o.timer_interval_ms, 10, 60000, &cfg.timer_interval_ms) ||
        parse_int("batch-max", o.batch_max, 1, 100000, &cfg.batch_max))
        return 2;
    if (sk_store_config_address(&cfg.redis, o.redis, host, sizeof(host)) != 0) {
        fprintf(stderr,
                "shiftkeyd: --redis '%s': use HOST:PORT (port 1-65535), unix:PATH or "
                "redis-cluster://HOST:PORT[,HOST:PORT...]\n",
                o.redis);
        return 2;
    }
    if (o.redis_password_file &&
        sk_keyfile_check_private(o.redis_password_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "shiftkeyd: --redis-password-file: %s\n", err);
        return 2;
    }
    password = sk_store_password(o.redis_password_file);
    if (o.redis_password_file && !password) {
        fprintf(stderr, "shiftkeyd: cannot read the Redis password from %s\n",
                o.redis_password_file);
        return 2;
    }
    if (o.redis_user && !password) {
        fprintf(stderr,
                "shiftkeyd: --redis-user %s without a password: set "
                "--redis-password-file or SHIFTKEY_REDIS_PASSWORD\n",
                o.redis_user);
        return 2;
    }
    if (o.kafka_config_file) {
        size_t before = o.n_kafka_props;
        if (sk_keyfile_read_settings(o.kafka_config_file, file_props, MAX_KAFKA_PROPS,
                                     &n_file_props, err, sizeof(err)) != 0) {
            fprintf(stderr, "shiftkeyd: --kafka-config-file: %s\n", err);
            goto out_free;
        }
        for (size_t i = 0; i < n_file_props && o.n_kafka_props < MAX_KAFKA_PROPS; i++)
            o.kafka_props[o.n_kafka_props++] = file_props[i];
        if (o.n_kafka_props - before != n_file_props) {
            fprintf(stderr, "shiftkeyd: too many Kafka settings\n");
            goto out_free;
        }
    }
    cfg.redis.user = o.redis_user;
    cfg.redis.password = password;
    cfg.redis.prefix = o.redis_prefix;
    cfg.rules_path = o.rules;
    cfg.group_id = o.group;
    cfg.schedule_topic = o.topic[SK_TOPIC_SCHEDULE];
    cfg.requests_topic = o.topic[SK_TOPIC_REQUESTS];
    cfg.results_topic = o.topic[SK_TOPIC_RESULTS];
    cfg.tasks_topic = o.topic[SK_TOPIC_TASKS];
    cfg.commands_topic = o.topic[SK_TOPIC_COMMANDS];
    cfg.audit_topic = o.topic[SK_TOPIC_AUDIT];
    cfg.deadletter_topic = o.topic[SK_TOPIC_DEADLETTER];
    cfg.changelog_topic = o.topic[SK_TOPIC_CHANGELOG];
    cfg.kafka_props = o.kafka_props;
    cfg.n_kafka_props = o.n_kafka_props;
    cfg.brokers = o.kafka;
    cfg.schema_dir = o.schema_dir;
    cfg.schema_registry = o.schema_registry;

    signal(SIGPIPE, SIG_IGN);
    if (strcmp(o.kafka, "embedded") == 0) {
        emb = sk_embedded_start(partitions, o.topic, SK_TOPIC_COUNT, o.bootstrap_file, err,
                                sizeof(err));
        if (!emb) {
            SK_ERROR("%s", err);
            goto out;
        }
        cfg.brokers = sk_embedded_bootstraps(emb);
        /* the mock broker answers an empty fetch only after the full wait,
         * even when records arrive meanwhile: keep the wait short */
        cfg.fetch_wait_max_ms = 10;
        SK_INFO("embedded Kafka-protocol broker on %s (%d partitions per topic; address in %s)",
                cfg.brokers, partitions, o.bootstrap_file);
    }
    if (o.diag_addr && *o.diag_addr) {
        if (!(metrics = sk_metrics_new()) ||
            !(diag = sk_diag_start(o.diag_addr, metrics, sk_diag_engine_ready, metrics, err,
                                   sizeof(err)))) {
            SK_ERROR("%s", metrics ? err : "out of memory");
            goto out;
        }
        cfg.metrics = metrics;
        SK_INFO("diagnostics on http://%s (/metrics, /healthz, /readyz)", o.diag_addr);
    }
    engine = sk_engine_new(&cfg, err, sizeof(err));
    if (!engine) {
        SK_ERROR("%s", err);
        rc = 1;
        goto out;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    SK_INFO("shiftkeyd %s running: %s -> %s (group %s)", SK_VERSION, o.topic[SK_TOPIC_SCHEDULE],
            o.topic[SK_TOPIC_COMMANDS], o.group);
    rc = sk_engine_run(engine, &stop_flag, &reload_flag);
    sk_engine_stats_t st;
    sk_engine_stats(engine, &st);
    SK_INFO("stopping: %llu records, %llu commands, %llu dead letters, %llu timers fired",
            (unsigned long long)st.records, (unsigned long long)st.commands,
            (unsigned long long)st.dead_letters, (unsigned long long)st.timers_fired);
out:
    sk_engine_destroy(engine);
    sk_diag_stop(diag); /* after the engine: it reads the registry the engine writes */
    sk_metrics_destroy(metrics);
    sk_embedded_stop(emb);
out_free:
    for (size_t i = 0; i < n_file_props; i++) {
        sodium_memzero(file_props[i], strlen(file_props[i]));
        free(file_props[i]);
    }
    free(password);
    return rc;
}
