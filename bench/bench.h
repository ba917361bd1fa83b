/*
 * bench.h — `make bench`: shiftkey's throughput, latency and timer precision
 * against the raw Kafka and Redis limits, in one run (see bench/README.md).
 *
 * Each section is one file and fills its part of bench_results_t; the main
 * program (bench_main.c) sets up the shared parts (a mock Kafka cluster in a
 * child process, a private redis-server), runs the sections in order and
 * reports (bench_report.c).
 */
#ifndef SK_BENCH_H
#define SK_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define BENCH_PARTITIONS 16
#define BENCH_RAW_TOPIC  "bench.raw"
/* The raw Kafka pipe's topics, one per bench_mix_kind_t. */
#define BENCH_RAW_TOPICS                                                                           \
    {                                                                                              \
        "bench.raw.in", "bench.raw.commands", "bench.raw.audit", "bench.raw.tasks",                \
            "bench.raw.changelog"                                                                  \
    }

/* Latency samples of one run: when (seconds since the run started) and how
 * long (ms). Heap arrays owned by the struct. */
typedef struct bench_lat {
    double *at_s;
    double *ms;
    size_t n, cap;
} bench_lat_t;

typedef struct bench_pct {
    size_t n;
    double p50, p99, p999, max, mean;
} bench_pct_t;

void bench_lat_init(bench_lat_t *l, size_t cap);
void bench_lat_fini(bench_lat_t *l);
/* Thread-compatible, not thread-safe: one writer. Drops samples past cap. */
void bench_lat_add(bench_lat_t *l, double at_s, double ms);
void bench_lat_summary(const bench_lat_t *l, bench_pct_t *out);
/* Writes "at_s<TAB>ms" lines; 0 or -1. */
int bench_lat_write_tsv(const bench_lat_t *l, const char *path);

/* Monotonic clock. */
uint64_t bench_now_us(void);
double bench_now_s(void);
void bench_sleep_us(uint64_t us);

/* Resident set size of this process (VmRSS / VmHWM), in MB. */
double bench_rss_mb(void);
double bench_hwm_mb(void);

/* redis INFO memory used_memory in bytes, or -1. */
long long bench_redis_used_memory(int port);
/* redis INFO stats total_commands_processed, or -1. */
long long bench_redis_commands(int port);
/* Requests the engine sends itself: calls of EVALSHA, LRANGE, ZRANGEBYSCORE,
 * ZRANGE and HMGET (the states of a partition's users) from INFO
 * commandstats, less one HMGET per EVALSHA (each fenced script runs one of
 * its own), or 0. */
long long bench_redis_requests(int port);

/* ---- CPU time per part (bench_cpu.c) ---- */

#define BENCH_CORES 2 /* of the machine the figures are for */

typedef enum bench_cpu_part {
    BENCH_CPU_BROKER,       /* the mock broker (child process) */
    BENCH_CPU_REDIS,        /* redis-server */
    BENCH_CPU_ENGINE,       /* the thread named "sk-engine" */
    BENCH_CPU_ENGINE_KAFKA, /* the engine's librdkafka threads (consumer, producer, ledger) */
    BENCH_CPU_PRODUCER,     /* the bench's producer: main thread + its client's threads */
    BENCH_CPU_READER,       /* the bench's reader thread + its client's threads */
    BENCH_CPU_PARTS
} bench_cpu_part_t;

/* Which thread is whose (opaque; bench_cpu_new / bench_cpu_destroy). */
typedef struct bench_cpu bench_cpu_t;

/* CPU per decided (or piped) event over one run. */
typedef struct bench_cpu_use {
    double us[BENCH_CPU_PARTS]; /* CPU µs per event, per part */
    double total_us;            /* their sum */
    double bound_per_s;         /* BENCH_CORES cores / total_us: events/s the machine allows */
} bench_cpu_use_t;

/* Accounts the two child processes as wholes and this process per thread.
 * NULL when out of memory (then samples are all 0). */
bench_cpu_t *bench_cpu_new(pid_t broker, pid_t redis);
void bench_cpu_destroy(bench_cpu_t *c);
/* Every thread of this process not given to a part yet becomes part's
 * (call right after creating a client or a thread). */
void bench_cpu_claim(bench_cpu_t *c, bench_cpu_part_t part);
/* CPU seconds used so far by each part; threads nobody claimed are the
 * engine's ("sk-engine", or its librdkafka clients'). */
void bench_cpu_sample(const bench_cpu_t *c, double s[BENCH_CPU_PARTS]);
/* (s1 - s0) per event into *out. */
void bench_cpu_per_event(const double s0[BENCH_CPU_PARTS], const double s1[BENCH_CPU_PARTS],
                         size_t events, bench_cpu_use_t *out);
const char *bench_cpu_part_name(bench_cpu_part_t p);

/* The shared setup every section may use. */
typedef struct bench_env {
    bool quick;
    const char *brokers; /* mock cluster bootstraps */
    int redis_port;
    bench_cpu_t *cpu;    /* CPU accounting (bench_cpu.c); sections claim their threads */
    char out_dir[256];   /* build/bench */
    char tmp_dir[256];   /* generated rules etc. */
    char rules_dir[300]; /* the benchmark's rule set (200 rotations, 500 profiles) */
} bench_env_t;

/* Shape of the benchmark's rule set and population. */
#define BENCH_ROTATIONS    200
#define BENCH_PROFILES     500
#define BENCH_APPS         50
#define BENCH_ENTS_PER_APP 8

/* ---- the pipeline's real record mix per event (bench_mix.c) ---- */

#define BENCH_MIX_EVENTS 4  /* SCHEDULED, STARTED, UPDATED, ENDED of one user */
#define BENCH_MIX_MAX    64 /* records of the cycle, all kinds */
#define BENCH_MIX_FIELDS 16 /* state fields kept per event */

typedef enum bench_mix_kind {
    BENCH_MIX_INPUT,
    BENCH_MIX_COMMAND,
    BENCH_MIX_AUDIT,
    BENCH_MIX_TASK,
    BENCH_MIX_CHANGELOG,
    BENCH_MIX_KINDS
} bench_mix_kind_t;

typedef struct bench_mix_rec {
    bench_mix_kind_t kind;
    char key[32];
    size_t key_len;
    unsigned char *val; /* heap, owned by the mix */
    size_t len;
} bench_mix_rec_t;

/* One event of the cycle: its records recs[first .. first+n) (the input
 * first), and the user's hash fields it writes (heap strings). */
typedef struct bench_mix_event {
    size_t first, n;
    size_t n_set;
    char *set_name[BENCH_MIX_FIELDS], *set_value[BENCH_MIX_FIELDS];
} bench_mix_event_t;

typedef struct bench_mix {
    size_t n_events, n_recs;
    bench_mix_event_t events[BENCH_MIX_EVENTS];
    bench_mix_rec_t recs[BENCH_MIX_MAX];
    double count[BENCH_MIX_KINDS], bytes[BENCH_MIX_KINDS]; /* over the cycle, key included */
    double n_set, n_del, set_bytes;                        /* state writes over the cycle */
} bench_mix_t;

/* Decides the benchmark's cycle with its rules and encodes every record as
 * the engine does. 0 or -1 (message on stderr); bench_mix_free after. */
int bench_mix_build(const bench_env_t *env, bench_mix_t *m);
void bench_mix_free(bench_mix_t *m);
/* One line: records and bytes per event, by kind. */
void bench_mix_describe(const bench_mix_t *m, char *buf, size_t len);

/* ---- results ---- */

typedef struct bench_rate_run {
    double target_rate; /* events/s asked; 0 = closed loop (saturation) */
    size_t events;      /* produced */
    size_t completed;   /* decisions seen on the audit topic */
    double seconds;
    double events_per_s; /* completed / seconds */
    double commands_per_s;
    bench_pct_t lat; /* record produced (the produce call) -> first command readable, ms */
    bench_lat_t samples;
    bench_pct_t lat_kafka; /* record in Kafka (acknowledged to the producer) -> the same */
    bench_lat_t samples_kafka;
    /* the engine's loop over the run (sk_engine_stats deltas, engine.c) */
    double batches, batch_mean; /* batches polled, records per batch */
    double batch_pct[5];        /* % of batches of 1, 2-9, 10-99, 100 to max-1, max records */
    double turn_us[4];          /* the loop's wall µs per decided event: waiting for input,
                                   decode/decide/apply, timers, produce/trim/commit */
    double commits_per_event;   /* offset commits sent per decided event */
    double work_hist[5];        /* the loop's turns whose work took < 1, 1-5, 5-20, 20-100,
                                   >= 100 ms (counts) */
    double slow[3];             /* turns whose apply, timers or emit part took >= 20 ms */
    double poll_over;           /* polls returned >= 5 ms after their timeout */
    bench_cpu_use_t cpu;        /* CPU per decided event, per part */
} bench_rate_run_t;

typedef struct bench_results {
    bool quick;
    double load_before, load_after; /* 1-minute load average: other work on the machine */
    int fetch_wait_ms;              /* the engine consumer's fetch.wait.max.ms */
    /* raw Kafka pipe */
    size_t kafka_records, kafka_events; /* records through the pipe, events they make */
    double kafka_record_bytes;          /* mean, key included */
    double kafka_records_per_event;
    double kafka_produce_per_s; /* events/s, produce only */
    double kafka_pipe_per_s;    /* events/s, every record of the mix produced and read back */
    char mix[256];              /* bench_mix_describe */
    bench_cpu_use_t kafka_cpu;  /* CPU per event through the pipe, per part */
    /* raw Redis: the least the design needs, one durable write per event */
    size_t redis_events;
    double redis_pipelined_per_s; /* events/s, one atomic write each, pipelined */
    double redis_bytes_per_event; /* sent in those writes */
    bench_cpu_use_t redis_cpu;    /* CPU per event of those writes (redis-server, client) */
    double raw_limit_per_s;       /* the lower of the two raw figures */
    const char *raw_limit_name;   /* "Kafka" or "Redis" */
    /* engine */
    bench_rate_run_t sat;   /* closed loop, 4,000 events in flight */
    bench_rate_run_t burst; /* above capacity, no window: as the raw pipe (the saturation
                               figure held against the raw limit) */
    bench_rate_run_t r1k, r10k;
    double engine_rss_mb;            /* this process' RSS growth with the engine in it */
    double engine_cpu_pct;           /* engine thread CPU time / wall time, saturation run */
    double redis_cmds_per_event;     /* commands Redis ran per event (scripts' own included) */
    double redis_requests_per_event; /* requests the engine sent per event (engine stats) */
    double recovery_ms;              /* partitions assigned -> first command readable */
    char recovery_what[128];         /* how it was measured */
    /* timers */
    size_t timers_pending, timers_fired, timers_expected;
    bench_pct_t timer_lat;
    bench_rate_run_t timers_run; /* the engine's loop and CPU during the timer run */
    bench_lat_t timer_samples;
    double redis_bytes_per_timer;
    /* the engine's side of the timer run: timers by how late their apply
     * ended (sk_engine_stats_t.timer_late_hist), and those the scan fired */
    double timer_late[6], timer_wake[6], timers_by_scan;
    /* due -> the engine's produce call (the record's CreateTime), and from
     * that call -> read by the bench's reader (producer, broker, fetch) */
    bench_pct_t timer_produced_lat, timer_read_lat;
    /* state size */
    size_t active_grants, users_with_state;
    double redis_bytes_per_grant;
    /* rules */
    size_t rules_profiles, rules_rotations;
    double rules_compile_s;
    /* decide */
    double decide_per_s;
    double decide_encode_per_s;
    /* ratios: of saturation_per_s, the unpaced run's figure (the closed
     * loop's when the unpaced run has none) */
    double saturation_per_s;
    double ratio_kafka, ratio_redis;
    /* raw pipe's CPU per event / the unpaced run's: the share of the raw
     * pipe's rate the engine's pipeline can reach on the same cores,
     * whatever else loads them (0: not measured) */
    double ratio_cpu;
} bench_results_t;

/* ---- sections; each returns 0 or -1 (message on stderr) ---- */

/* Writes a rule set of the given shape as YAML files into dir. */
int bench_rules_write(const char *dir, int apps, int ents_per_app, int rotations, int profiles);
int bench_rules_compile(const bench_env_t *env, bench_results_t *res);
int bench_decide(const bench_env_t *env, bench_results_t *res);
int bench_raw_kafka(const bench_env_t *env, bench_results_t *res);
int bench_raw_redis(const bench_env_t *env, bench_results_t *res);
/* The engine: saturation, fixed rates, timers, state size. */
int bench_engine(const bench_env_t *env, bench_results_t *res);

/* ---- report (bench_report.c) ---- */
void bench_report_table(const bench_results_t *res, FILE *out);
/* Writes the figures and the targets as JSON; 0 or -1. */
int bench_report_json(const bench_results_t *res, const char *path);

#endif
