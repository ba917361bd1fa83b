/*
 * bench_main.c — `make bench`: sets up a mock Kafka cluster (in a child
 * process, so this process' RSS is the engine's and the bench's only) and a
 * private redis-server, runs every section, prints the table and writes
 * results.json and the latency samples (plotted by bench/plot.sh).
 *
 * Environment: BENCH_QUICK=1 (the quick form, seconds: proves the bench
 * works), BENCH_OUT (default build/bench), BENCH_SECTIONS (comma list of
 * rules,decide,kafka,redis,engine; default all), BENCH_LOG_LEVEL (the
 * engine's, default info like shiftkeyd; its log goes to BENCH_OUT/engine.log).
 */
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "base/sk.h"
#include "sk_fixture.h"

typedef struct broker {
    pid_t pid;
    int ctl; /* write end: closing it stops the child */
    char bootstraps[256];
} broker_t;

/* The child: a mock cluster with the shiftkey topics and the raw topic, all
 * of BENCH_PARTITIONS partitions, until its control pipe closes. */
static void broker_child(int out_fd, int ctl_fd)
{
    static const char *const topics[] = {"shiftkey.schedule.v1",
                                         "shiftkey.commands.v1",
                                         "shiftkey.audit.v1",
                                         "shiftkey.deadletter.v1",
                                         "shiftkey.requests.v1",
                                         "shiftkey.tasks.v1",
                                         "shiftkey.provisioning.results.v1",
                                         "shiftkey.changelog.v1",
                                         BENCH_RAW_TOPIC};
    static const char *const raw[] = BENCH_RAW_TOPICS;
    char err[256], c;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, 1) : NULL;
    if (!mc)
        _exit(1);
    for (size_t i = 0; i < SK_ARRAY_LEN(topics); i++)
        rd_kafka_mock_topic_create(mc, topics[i], BENCH_PARTITIONS, 1);
    for (size_t i = 0; i < SK_ARRAY_LEN(raw); i++)
        rd_kafka_mock_topic_create(mc, raw[i], BENCH_PARTITIONS, 1);
    const char *b = rd_kafka_mock_cluster_bootstraps(mc);
    if (write(out_fd, b, strlen(b) + 1) < 0)
        _exit(1);
    close(out_fd);
    while (read(ctl_fd, &c, 1) > 0)
        ;
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    _exit(0);
}

static int broker_start(broker_t *b)
{
    int out[2], ctl[2];
    /* close-on-exec: redis-server, forked later, must not hold them open */
    if (pipe2(out, O_CLOEXEC) || pipe2(ctl, O_CLOEXEC))
        return -1;
    b->pid = fork();
    if (b->pid < 0)
        return -1;
    if (b->pid == 0) {
        close(out[0]);
        close(ctl[1]);
        broker_child(out[1], ctl[0]);
    }
    close(out[1]);
    close(ctl[0]);
    b->ctl = ctl[1];
    ssize_t n = read(out[0], b->bootstraps, sizeof(b->bootstraps) - 1);
    close(out[0]);
    if (n <= 1)
        return -1;
    b->bootstraps[n] = '\0';
    return 0;
}

static void broker_stop(broker_t *b)
{
    if (b->pid <= 0)
        return;
    close(b->ctl);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

/* Killed (e.g. by a test timeout): stop the children first. */
static volatile pid_t child_pids[2];
static void on_signal(int sig)
{
    for (int i = 0; i < 2; i++)
        if (child_pids[i] > 0)
            kill(child_pids[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static double loadavg1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

static bool wanted(const char *sections, const char *name)
{
    if (!sections || !*sections)
        return true;
    size_t n = strlen(name);
    for (const char *p = sections; (p = strstr(p, name)); p += n)
        if ((p == sections || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* Runs one section, reporting its time; returns its result. */
static int section(const char *name, int (*fn)(const bench_env_t *, bench_results_t *),
                   const bench_env_t *env, bench_results_t *res, bool quiet_stderr)
{
    int saved = -1, rc;
    double t0 = bench_now_s();
    fprintf(stdout, "bench: %-8s ...", name);
    fflush(stdout);
    if (quiet_stderr) { /* the engine logs a line per command: keep it in a file */
        char path[512];
        snprintf(path, sizeof(path), "%s/engine.log", env->out_dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        fflush(stderr);
        saved = dup(2);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
    }
    rc = fn(env, res);
    if (saved >= 0) {
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
    }
    fprintf(stdout, " %s (%.1f s)%s\n", rc == 0 ? "done" : "FAILED", bench_now_s() - t0,
            rc != 0 && quiet_stderr ? " — see engine.log" : "");
    return rc;
}

int main(void)
{
    static bench_results_t res;
    bench_env_t env = {0};
    broker_t broker = {0};
    sk_fx_redis_t redis = {0};
    const char *q = getenv("BENCH_QUICK"), *out = getenv("BENCH_OUT");
    const char *sections = getenv("BENCH_SECTIONS");
    int failed = 0;
    char cmd[600];

    env.quick = q && *q && strcmp(q, "0") != 0;
    res.quick = env.quick;
    snprintf(env.out_dir, sizeof(env.out_dir), "%s", out && *out ? out : "build/bench");
    snprintf(env.tmp_dir, sizeof(env.tmp_dir), "/tmp/sk-bench-XXXXXX");
    mkdir(env.out_dir, 0755);
    if (!mkdtemp(env.tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(env.rules_dir, sizeof(env.rules_dir), "%s/rules", env.tmp_dir);
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* fork the broker before any thread exists */
    if (broker_start(&broker) != 0 || sk_fx_redis_start(&redis) != 0) {
        fprintf(stderr, "bench: cannot start the mock broker or redis-server\n");
        failed = 1;
        goto out;
    }
    child_pids[0] = broker.pid;
    child_pids[1] = redis.pid;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    res.load_before = loadavg1();
    env.brokers = broker.bootstraps;
    env.redis_port = redis.port;
    env.cpu = bench_cpu_new(broker.pid, redis.pid);
    bench_cpu_claim(env.cpu, BENCH_CPU_PRODUCER); /* this thread produces */
    if (bench_rules_write(env.rules_dir, BENCH_APPS, BENCH_ENTS_PER_APP, BENCH_ROTATIONS,
                          BENCH_PROFILES) != 0) {
        failed = 1;
        goto out;
    }
    if (wanted(sections, "rules"))
        failed |= section("rules", bench_rules_compile, &env, &res, false) != 0;
    if (wanted(sections, "decide"))
        failed |= section("decide", bench_decide, &env, &res, false) != 0;
    if (wanted(sections, "kafka"))
        failed |= section("kafka", bench_raw_kafka, &env, &res, false) != 0;
    if (wanted(sections, "redis"))
        failed |= section("redis", bench_raw_redis, &env, &res, false) != 0;
    if (wanted(sections, "engine"))
        failed |= section("engine", bench_engine, &env, &res, true) != 0;
    res.load_after = loadavg1();
    res.saturation_per_s =
        res.burst.events_per_s > 0 ? res.burst.events_per_s : res.sat.events_per_s;
    if (res.kafka_pipe_per_s > 0)
        res.ratio_kafka = res.saturation_per_s / res.kafka_pipe_per_s;
    if (res.redis_pipelined_per_s > 0)
        res.ratio_redis = res.saturation_per_s / res.redis_pipelined_per_s;
    if (res.kafka_cpu.total_us > 0 && res.burst.cpu.total_us > 0)
        res.ratio_cpu = res.kafka_cpu.total_us / res.burst.cpu.total_us;
    /* the engine is held against the lower of the two raw limits */
    res.raw_limit_name =
        res.kafka_pipe_per_s > 0 &&
                (res.redis_pipelined_per_s <= 0 || res.kafka_pipe_per_s < res.redis_pipelined_per_s)
            ? "Kafka"
            : "Redis";
    res.raw_limit_per_s =
        *res.raw_limit_name == 'K' ? res.kafka_pipe_per_s : res.redis_pipelined_per_s;
    bench_report_table(&res, stdout);
    snprintf(cmd, sizeof(cmd), "%s/results.json", env.out_dir);
    if (bench_report_json(&res, cmd) != 0) {
        perror(cmd);
        failed = 1;
    } else {
        printf("bench: wrote %s\n", cmd);
    }
out:
    bench_cpu_destroy(env.cpu);
    sk_fx_redis_stop(&redis);
    broker_stop(&broker);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env.tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", env.tmp_dir);
    return failed ? 1 : 0;
}
