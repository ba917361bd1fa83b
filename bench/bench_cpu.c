/*
 * bench_cpu.c — CPU time per part of the benchmark, read from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds on CPU, per thread): the
 * mock broker (a child process) and redis-server (another) as wholes; in
 * this process each thread is given to the part that created it
 * (bench_cpu_claim after creating a client), and the threads nobody
 * claimed are the engine's: the one named "sk-engine" and its librdkafka
 * clients' threads. A thread that exits takes its CPU time with it (the
 * engine restarted for the recovery run): samples are only compared within
 * one run.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "bench.h"

#define CPU_TIDS_MAX 512

struct bench_cpu {
    pid_t broker, redis, self;
    size_t n;
    pid_t tid[CPU_TIDS_MAX];
    bench_cpu_part_t part[CPU_TIDS_MAX];
};

static const char *const part_names[BENCH_CPU_PARTS] = {"mock broker",    "redis-server",
                                                        "engine thread",  "engine's librdkafka",
                                                        "bench producer", "bench reader"};

const char *bench_cpu_part_name(bench_cpu_part_t p)
{
    return p < BENCH_CPU_PARTS ? part_names[p] : "?";
}

bench_cpu_t *bench_cpu_new(pid_t broker, pid_t redis)
{
    bench_cpu_t *c = calloc(1, sizeof(*c));
    if (c) {
        c->broker = broker;
        c->redis = redis;
        c->self = getpid();
    }
    return c;
}

void bench_cpu_destroy(bench_cpu_t *c)
{
    free(c);
}

/* Seconds on CPU of thread tid of pid (schedstat's first field), or -1. */
static double thread_cpu_s(pid_t pid, const char *tid)
{
    char path[96];
    unsigned long long ns;
    snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%llu", &ns) == 1;
    fclose(f);
    return ok ? (double)ns / 1e9 : -1;
}

/* The thread's name (comm), or "". */
static void thread_name(pid_t pid, const char *tid, char *out, size_t len)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, tid);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(out, (int)len, f))
        out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

/* Calls fn for each thread of pid; returns the number seen. */
static size_t each_thread(pid_t pid, void (*fn)(void *, pid_t, const char *), void *arg)
{
    char path[64];
    size_t n = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        fn(arg, pid, de->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static int find(const bench_cpu_t *c, pid_t tid)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->tid[i] == tid)
            return (int)i;
    return -1;
}

typedef struct claim_arg {
    bench_cpu_t *c;
    bench_cpu_part_t part;
} claim_arg_t;

static void claim_one(void *arg, pid_t pid, const char *tid)
{
    claim_arg_t *a = arg;
    pid_t t = (pid_t)atoi(tid);
    (void)pid;
    if (find(a->c, t) < 0 && a->c->n < CPU_TIDS_MAX) {
        a->c->tid[a->c->n] = t;
        a->c->part[a->c->n++] = a->part;
    }
}

void bench_cpu_claim(bench_cpu_t *c, bench_cpu_part_t part)
{
    claim_arg_t a = {c, part};
    if (c)
        (void)each_thread(c->self, claim_one, &a);
}

typedef struct sample_arg {
    const bench_cpu_t *c;
    int whole; /* >= 0: every thread counts for this part */
    double *s;
} sample_arg_t;

static void sample_one(void *arg, pid_t pid, const char *tid)
{
    sample_arg_t *a = arg;
    double v = thread_cpu_s(pid, tid);
    int part = a->whole;
    if (v < 0)
        return;
    if (part < 0) {
        int i = find(a->c, (pid_t)atoi(tid));
        char name[32];
        if (i >= 0) {
            part = (int)a->c->part[i];
        } else {
            thread_name(pid, tid, name, sizeof(name));
            part = strcmp(name, "sk-engine") == 0 ? BENCH_CPU_ENGINE : BENCH_CPU_ENGINE_KAFKA;
        }
    }
    a->s[part] += v;
}

void bench_cpu_sample(const bench_cpu_t *c, double s[BENCH_CPU_PARTS])
{
    memset(s, 0, BENCH_CPU_PARTS * sizeof(*s));
    if (!c)
        return;
    sample_arg_t a = {c, BENCH_CPU_BROKER, s};
    if (c->broker > 0)
        (void)each_thread(c->broker, sample_one, &a);
    a.whole = BENCH_CPU_REDIS;
    if (c->redis > 0)
        (void)each_thread(c->redis, sample_one, &a);
    a.whole = -1;
    (void)each_thread(c->self, sample_one, &a);
}

void bench_cpu_per_event(const double s0[BENCH_CPU_PARTS], const double s1[BENCH_CPU_PARTS],
                         size_t events, bench_cpu_use_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!events)
        return;
    for (int p = 0; p < BENCH_CPU_PARTS; p++) {
        double d = s1[p] - s0[p];
        out->us[p] = d > 0 ? d * 1e6 / (double)events : 0;
        out->total_us += out->us[p];
    }
    out->bound_per_s = out->total_us > 0 ? BENCH_CORES * 1e6 / out->total_us : 0;
}
