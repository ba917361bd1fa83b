/* bench_util.c — clocks, latency samples and percentiles, RSS, Redis memory. */
#include <hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

double bench_now_s(void)
{
    return (double)bench_now_us() / 1e6;
}

void bench_sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    nanosleep(&ts, NULL);
}

void bench_lat_init(bench_lat_t *l, size_t cap)
{
    memset(l, 0, sizeof(*l));
    l->at_s = calloc(cap ? cap : 1, sizeof(double));
    l->ms = calloc(cap ? cap : 1, sizeof(double));
    l->cap = (l->at_s && l->ms) ? cap : 0;
}

void bench_lat_fini(bench_lat_t *l)
{
    free(l->at_s);
    free(l->ms);
    memset(l, 0, sizeof(*l));
}

void bench_lat_add(bench_lat_t *l, double at_s, double ms)
{
    if (l->n >= l->cap)
        return;
    l->at_s[l->n] = at_s;
    l->ms[l->n] = ms;
    l->n++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double rank(const double *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n);
    if (i >= n)
        i = n - 1;
    return v[i];
}

void bench_lat_summary(const bench_lat_t *l, bench_pct_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!l->n)
        return;
    double *v = malloc(l->n * sizeof(*v)), sum = 0;
    if (!v)
        return;
    memcpy(v, l->ms, l->n * sizeof(*v));
    qsort(v, l->n, sizeof(*v), cmp_double);
    for (size_t i = 0; i < l->n; i++)
        sum += v[i];
    out->n = l->n;
    out->p50 = rank(v, l->n, 0.50);
    out->p99 = rank(v, l->n, 0.99);
    out->p999 = rank(v, l->n, 0.999);
    out->max = v[l->n - 1];
    out->mean = sum / (double)l->n;
    free(v);
}

int bench_lat_write_tsv(const bench_lat_t *l, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        fprintf(f, "%.4f\t%.3f\n", l->at_s[i], l->ms[i]);
    return fclose(f) == 0 ? 0 : -1;
}

static double status_mb(const char *field)
{
    char line[256];
    double kb = -1;
    size_t flen = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, flen) == 0) {
            kb = strtod(line + flen, NULL);
            break;
        }
    fclose(f);
    return kb < 0 ? -1 : kb / 1024.0;
}

double bench_rss_mb(void)
{
    return status_mb("VmRSS:");
}
double bench_hwm_mb(void)
{
    return status_mb("VmHWM:");
}

/* A number field of INFO's text, or -1. */
static long long info_field(int port, const char *section, const char *field)
{
    struct timeval tv = {2, 0};
    long long v = -1;
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err)
        goto out;
    redisReply *r = redisCommand(c, "INFO %s", section);
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, field);
        if (p)
            v = strtoll(p + strlen(field), NULL, 10);
    }
    if (r)
        freeReplyObject(r);
out:
    if (c)
        redisFree(c);
    return v;
}

long long bench_redis_commands(int port)
{
    return info_field(port, "stats", "total_commands_processed:");
}

long long bench_redis_requests(int port)
{
    static const char *const top[] = {"cmdstat_evalsha:calls=", "cmdstat_lrange:calls=",
                                      "cmdstat_zrangebyscore:calls=", "cmdstat_zrange:calls="};
    long long sum = 0;
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        long long v = info_field(port, "commandstats", top[i]);
        sum += v > 0 ? v : 0;
    }
    /* the engine's HMGETs of users' states: each fenced script runs one
     * HMGET of its own (all but a claim's), which are not requests */
    long long hmget = info_field(port, "commandstats", "cmdstat_hmget:calls="),
              evalsha = info_field(port, "commandstats", "cmdstat_evalsha:calls=");
    if (hmget > evalsha && evalsha >= 0)
        sum += hmget - evalsha;
    return sum;
}

long long bench_redis_used_memory(int port)
{
    return info_field(port, "memory", "used_memory:");
}
