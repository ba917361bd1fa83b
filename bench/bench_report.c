/* bench_report.c — the table on stdout and results.json, with the targets
 * of the issue and whether this run meets each. */
#include <stdio.h>
#include <time.h>

#include "bench.h"

typedef struct target {
    const char *name, *goal;
    double value, limit;
    int at_least; /* 1: value >= limit; 0: value <= limit */
    const char *unit;
} target_t;

static size_t targets(const bench_results_t *r, target_t *t)
{
    size_t n = 0;
    double sustained = r->r10k.target_rate > 0 ? r->r10k.events_per_s / r->r10k.target_rate : 0;
    t[n++] = (target_t){"engine_vs_raw_limit",
                        ">= 70 % of the lower raw limit (same run)",
                        r->raw_limit_per_s > 0 ? 100 * r->saturation_per_s / r->raw_limit_per_s : 0,
                        70,
                        1,
                        "%"};
    t[n++] = (target_t){"engine_vs_raw_cpu",
                        ">= 70 % of the raw pipe by CPU per event (load-independent)",
                        100 * r->ratio_cpu,
                        70,
                        1,
                        "%"};
    t[n++] = (target_t){"redis_commands_per_event",
                        "Redis commands per event <= 1",
                        r->redis_cmds_per_event,
                        1,
                        0,
                        "cmd/event"};
    t[n++] = (target_t){
        "p99_at_1000", "p99 <= 10 ms at 1,000/s (record in Kafka)", r->r1k.lat_kafka.p99, 10, 0,
        "ms"};
    t[n++] = (target_t){"p99_at_1000_from_produce",
                        "p99 <= 10 ms at 1,000/s (from the produce call)",
                        r->r1k.lat.p99,
                        10,
                        0,
                        "ms"};
    t[n++] = (target_t){"sustained_10000",
                        "10,000/s sustained (>= 95 % of the rate decided)",
                        100 * sustained,
                        95,
                        1,
                        "%"};
    t[n++] = (target_t){"p99_at_10000",
                        "p99 <= 20 ms at 10,000/s (record in Kafka)",
                        r->r10k.lat_kafka.p99,
                        20,
                        0,
                        "ms"};
    t[n++] = (target_t){"p99_at_10000_from_produce",
                        "p99 <= 20 ms at 10,000/s (from the produce call)",
                        r->r10k.lat.p99,
                        20,
                        0,
                        "ms"};
    t[n++] = (target_t){
        "timer_p99", "timer due -> REVOKE p99 <= 20 ms, 1,000,000 pending", r->timer_lat.p99, 20, 0,
        "ms"};
    t[n++] = (target_t){"redis_bytes_per_grant",
                        "Redis <= 300 bytes per active grant",
                        r->redis_bytes_per_grant,
                        300,
                        0,
                        "bytes"};
    t[n++] = (target_t){"decide",
                        "decision function >= 1,000,000 decisions/s (one core)",
                        r->decide_per_s,
                        1e6,
                        1,
                        "decisions/s"};
    t[n++] = (target_t){
        "recovery", "partitions assigned -> first command <= 1 s", r->recovery_ms, 1000, 0, "ms"};
    t[n++] = (target_t){
        "engine_rss", "engine RSS <= 100 MB (1,000,000 active grants)", r->engine_rss_mb, 100, 0,
        "MB"};
    t[n++] = (target_t){"rules_compile",
                        "10,000-profile rule set compiles in <= 1 s",
                        r->rules_compile_s,
                        1,
                        0,
                        "s"};
    return n;
}

static int met(const target_t *t)
{
    return t->at_least ? t->value >= t->limit : (t->value <= t->limit && t->value > 0);
}

static void row_lat(FILE *o, const char *name, const bench_rate_run_t *r)
{
    fprintf(o,
            "  %-26s %10.0f ev/s %9.0f cmd/s  p50 %7.2f  p99 %8.2f  p99.9 %8.2f  max %8.2f ms"
            "  (n=%zu)\n",
            name, r->events_per_s, r->commands_per_s, r->lat.p50, r->lat.p99, r->lat.p999,
            r->lat.max, r->lat.n);
    if (r->lat_kafka.n)
        fprintf(o,
                "  %-26s from the record in Kafka (its delivery report):       p50 %7.2f  p99 %8.2f"
                "  p99.9 %8.2f  max %8.2f ms  (n=%zu)\n",
                "", r->lat_kafka.p50, r->lat_kafka.p99, r->lat_kafka.p999, r->lat_kafka.max,
                r->lat_kafka.n);
}

/* CPU µs per event by part, their sum and the bound BENCH_CORES cores allow. */
static void row_cpu(FILE *o, const char *what, const bench_cpu_use_t *c)
{
    fprintf(o, "  %-26s CPU µs/event:", what);
    for (int p = 0; p < BENCH_CPU_PARTS; p++)
        if (c->us[p] >= 0.05)
            fprintf(o, " %s %.1f,", bench_cpu_part_name((bench_cpu_part_t)p), c->us[p]);
    fprintf(o, " total %.1f -> %d cores allow %.0f ev/s\n", c->total_us, BENCH_CORES,
            c->bound_per_s);
}

/* Where the engine loop's time went in a run, and the batches it saw. */
static void row_loop(FILE *o, const bench_rate_run_t *r)
{
    fprintf(o,
            "  %-26s loop: %.0f batches of %.1f records (1: %.0f %%, 2-9: %.0f %%, 10-99: %.0f %%,"
            " 100+: %.0f %%, full: %.0f %%); wall µs/event: input wait %.1f, apply %.1f,"
            " timers %.1f, emit %.1f; %.3f commits/event\n",
            "", r->batches, r->batch_mean, r->batch_pct[0], r->batch_pct[1], r->batch_pct[2],
            r->batch_pct[3], r->batch_pct[4], r->turn_us[0], r->turn_us[1], r->turn_us[2],
            r->turn_us[3], r->commits_per_event);
    fprintf(o,
            "  %-26s turns by their work (input wait excluded): < 1 ms %.0f, 1-5 ms %.0f, 5-20 ms"
            " %.0f, 20-100 ms %.0f, >= 100 ms %.0f; >= 20 ms in apply %.0f, timers %.0f, emit %.0f;"
            " polls >= 5 ms past their timeout %.0f\n",
            "", r->work_hist[0], r->work_hist[1], r->work_hist[2], r->work_hist[3], r->work_hist[4],
            r->slow[0], r->slow[1], r->slow[2], r->poll_over);
    row_cpu(o, "", &r->cpu);
}

void bench_report_table(const bench_results_t *r, FILE *o)
{
    target_t t[16];
    size_t n = targets(r, t);
    fprintf(o, "\nshiftkey bench%s (2 cores; mock Kafka, %d partitions; private redis-server)\n\n",
            r->quick ? " (quick form: figures prove the benchmark runs, not the engine)" : "",
            BENCH_PARTITIONS);
    fprintf(o,
            "load average: %.2f before, %.2f after (2 cores: anything above ~0.3 before the"
            " run is other work competing with it)\n\n",
            r->load_before, r->load_after);
    fprintf(o, "raw limits (no shiftkey logic; %s)\n", r->mix[0] ? r->mix : "record mix not built");
    fprintf(o,
            "  %-26s %10.0f ev/s   (produce only %.0f ev/s; %zu records of %.0f B mean, %.2f per"
            " event, produced and read back)\n",
            "Kafka pipe, record mix", r->kafka_pipe_per_s, r->kafka_produce_per_s, r->kafka_records,
            r->kafka_record_bytes, r->kafka_records_per_event);
    row_cpu(o, "", &r->kafka_cpu);
    fprintf(o,
            "  %-26s %10.0f ev/s   (%zu events: one atomic write each, state + outbox, %.0f B,"
            " pipelined)\n",
            "Redis, least needed", r->redis_pipelined_per_s, r->redis_events,
            r->redis_bytes_per_event);
    row_cpu(o, "", &r->redis_cpu);
    fprintf(o, "  %-26s %10.0f ev/s   (%s)\n", "lower raw limit", r->raw_limit_per_s,
            r->raw_limit_name ? r->raw_limit_name : "none");
    fprintf(o, "\nengine end to end (record produced -> first command readable)\n");
    row_lat(o, "saturation, unpaced", &r->burst);
    fprintf(o,
            "  %-26s (%zu events produced at once, as the raw pipe: the figure held against the"
            " raw limit)\n",
            "", r->burst.events);
    row_loop(o, &r->burst);
    row_lat(o, "closed loop, 4000 in flight", &r->sat);
    fprintf(o,
            "  %-26s engine thread on CPU %.0f %% of the time; %.2f Redis commands per event"
            " (scripts' own included), %.3f requests from the engine per event\n",
            "", r->engine_cpu_pct, r->redis_cmds_per_event, r->redis_requests_per_event);
    row_loop(o, &r->sat);
    row_lat(o, "fixed rate 1,000/s", &r->r1k);
    row_loop(o, &r->r1k);
    row_lat(o, "fixed rate 10,000/s", &r->r10k);
    row_loop(o, &r->r10k);
    fprintf(o, "  %-26s %zu pending, %zu/%zu fired: p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f ms\n",
            "timers (due -> REVOKE)", r->timers_pending, r->timers_fired, r->timers_expected,
            r->timer_lat.p50, r->timer_lat.p99, r->timer_lat.p999, r->timer_lat.max);
    fprintf(o,
            "  %-26s engine: applied after due < 1 ms %.0f, 1-5 %.0f, 5-10 %.0f, 10-20 %.0f,"
            " 20-50 %.0f, >= 50 ms %.0f; %.0f fired by the scan\n",
            "", r->timer_late[0], r->timer_late[1], r->timer_late[2], r->timer_late[3],
            r->timer_late[4], r->timer_late[5], r->timers_by_scan);
    fprintf(o,
            "  %-26s engine: began firing after due < 1 ms %.0f, 1-5 %.0f, 5-10 %.0f,"
            " 10-20 %.0f, 20-50 %.0f, >= 50 ms %.0f\n",
            "", r->timer_wake[0], r->timer_wake[1], r->timer_wake[2], r->timer_wake[3],
            r->timer_wake[4], r->timer_wake[5]);
    fprintf(o,
            "  %-26s due -> the engine's produce call p50 %.0f  p99 %.0f  max %.0f ms; that call ->"
            " read p50 %.0f  p99 %.0f  max %.0f ms\n",
            "", r->timer_produced_lat.p50, r->timer_produced_lat.p99, r->timer_produced_lat.max,
            r->timer_read_lat.p50, r->timer_read_lat.p99, r->timer_read_lat.max);
    row_loop(o, &r->timers_run);
    fprintf(o,
            "  %-26s %zu active grants over %zu users: %.0f B/grant in Redis, %.0f B/timer;"
            " process RSS +%.0f MB\n",
            "state size", r->active_grants, r->users_with_state, r->redis_bytes_per_grant,
            r->redis_bytes_per_timer, r->engine_rss_mb);
    fprintf(o, "\nengine parts (one core)\n");
    fprintf(o, "  %-26s %10.0f decisions/s (%.0f/s with Avro encoding of the outputs)\n",
            "decision function", r->decide_per_s, r->decide_encode_per_s);
    fprintf(o, "  %-26s %10.3f s   (%zu profiles, %zu rotations)\n", "rules load + compile",
            r->rules_compile_s, r->rules_profiles, r->rules_rotations);
    fprintf(o, "  %-26s %.0f ms (partitions assigned -> first command readable, %s)\n", "recovery",
            r->recovery_ms, r->recovery_what[0] ? r->recovery_what : "not measured");
    fprintf(o,
            "\nratios\n  engine / raw Kafka pipe     %6.1f %%\n"
            "  engine / raw Redis          %6.1f %%\n"
            "  engine / lower raw limit    %6.1f %%  (%s)\n"
            "  by CPU per event            %6.1f %%  (raw pipe %.1f µs / unpaced engine run %.1f"
            " µs: the share of the pipe's rate the engine can reach on the same cores, whatever"
            " else runs)\n",
            100 * r->ratio_kafka, 100 * r->ratio_redis,
            r->raw_limit_per_s > 0 ? 100 * r->saturation_per_s / r->raw_limit_per_s : 0,
            r->raw_limit_name ? r->raw_limit_name : "none", 100 * r->ratio_cpu,
            r->kafka_cpu.total_us, r->burst.cpu.total_us);
    fprintf(o, "\ntargets (issue)\n");
    for (size_t i = 0; i < n; i++)
        fprintf(o, "  %-4s %-52s %14.2f %s\n", met(&t[i]) ? "met" : "NOT", t[i].goal, t[i].value,
                t[i].unit);
    fprintf(o, "\n");
}

static void json_pct(FILE *f, const char *name, const bench_pct_t *p, const char *end)
{
    fprintf(f,
            "\"%s\": {\"n\": %zu, \"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f, "
            "\"mean\": %.3f}%s",
            name, p->n, p->p50, p->p99, p->p999, p->max, p->mean, end);
}

/* "cpu_us_per_event": {part: µs, ..., "total": µs, "bound_per_s": n} */
static void json_cpu(FILE *f, const bench_cpu_use_t *c)
{
    static const char *const keys[BENCH_CPU_PARTS] = {"broker",       "redis",    "engine",
                                                      "engine_kafka", "producer", "reader"};
    fprintf(f, "\"cpu_us_per_event\": {");
    for (int p = 0; p < BENCH_CPU_PARTS; p++)
        fprintf(f, "\"%s\": %.2f, ", keys[p], c->us[p]);
    fprintf(f, "\"total\": %.2f, \"bound_per_s\": %.1f}", c->total_us, c->bound_per_s);
}

static void json_run(FILE *f, const char *name, const bench_rate_run_t *r, const char *end)
{
    fprintf(f,
            "    \"%s\": {\"target_rate\": %.0f, \"events\": %zu, \"completed\": %zu, "
            "\"seconds\": %.3f, \"events_per_s\": %.1f, \"commands_per_s\": %.1f, ",
            name, r->target_rate, r->events, r->completed, r->seconds, r->events_per_s,
            r->commands_per_s);
    json_pct(f, "latency_ms", &r->lat, ", ");
    json_pct(f, "latency_in_kafka_ms", &r->lat_kafka, ", ");
    fprintf(f,
            "\"loop\": {\"batches\": %.0f, \"batch_mean\": %.2f, \"batch_pct\": [%.1f, %.1f, %.1f, "
            "%.1f, %.1f], \"wall_us_per_event\": {\"input_wait\": %.2f, \"apply\": %.2f, "
            "\"timers\": %.2f, \"emit\": %.2f}, \"commits_per_event\": %.4f}, ",
            r->batches, r->batch_mean, r->batch_pct[0], r->batch_pct[1], r->batch_pct[2],
            r->batch_pct[3], r->batch_pct[4], r->turn_us[0], r->turn_us[1], r->turn_us[2],
            r->turn_us[3], r->commits_per_event);
    json_cpu(f, &r->cpu);
    fprintf(f, "}%s\n", end);
}

int bench_report_json(const bench_results_t *r, const char *path)
{
    target_t t[16];
    size_t n = targets(r, t);
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\n  \"quick\": %s,\n  \"date\": \"%s\",\n  \"cores\": 2,\n  \"partitions\": %d,\n",
            r->quick ? "true" : "false", when, BENCH_PARTITIONS);
    fprintf(f,
            "  \"load_average_before\": %.2f,\n  \"load_average_after\": %.2f,\n"
            "  \"engine_fetch_wait_max_ms\": %d,\n",
            r->load_before, r->load_after, r->fetch_wait_ms);
    fprintf(f,
            "  \"raw_kafka\": {\"records\": %zu, \"events\": %zu, \"record_bytes\": %.0f, "
            "\"records_per_event\": %.2f, \"produce_events_per_s\": %.1f, "
            "\"pipe_events_per_s\": %.1f, ",
            r->kafka_records, r->kafka_events, r->kafka_record_bytes, r->kafka_records_per_event,
            r->kafka_produce_per_s, r->kafka_pipe_per_s);
    json_cpu(f, &r->kafka_cpu);
    fprintf(f, "},\n");
    fprintf(f,
            "  \"raw_redis\": {\"events\": %zu, \"pipelined_events_per_s\": %.1f, "
            "\"bytes_per_event\": %.1f, ",
            r->redis_events, r->redis_pipelined_per_s, r->redis_bytes_per_event);
    json_cpu(f, &r->redis_cpu);
    fprintf(f,
            "},\n  \"raw_limit\": {\"events_per_s\": %.1f, \"of\": \"%s\"},\n"
            "  \"recovery_ms\": %.1f,\n",
            r->raw_limit_per_s, r->raw_limit_name ? r->raw_limit_name : "none", r->recovery_ms);
    fprintf(f, "  \"engine\": {\n");
    json_run(f, "saturation", &r->sat, ",");
    json_run(f, "burst", &r->burst, ",");
    json_run(f, "rate_1000", &r->r1k, ",");
    json_run(f, "rate_10000", &r->r10k, ",");
    fprintf(f,
            "    \"engine_thread_cpu_pct\": %.1f,\n    \"redis_commands_per_event\": %.2f,\n"
            "    \"redis_requests_per_event\": %.3f,\n",
            r->engine_cpu_pct, r->redis_cmds_per_event, r->redis_requests_per_event);
    fprintf(f, "    \"process_rss_growth_mb\": %.1f\n  },\n", r->engine_rss_mb);
    fprintf(f,
            "  \"timers\": {\"pending\": %zu, \"expected\": %zu, \"fired\": %zu, "
            "\"redis_bytes_per_timer\": %.1f, ",
            r->timers_pending, r->timers_expected, r->timers_fired, r->redis_bytes_per_timer);
    fprintf(f,
            "\"applied_after_due_ms\": {\"lt1\": %.0f, \"1_5\": %.0f, \"5_10\": %.0f, "
            "\"10_20\": %.0f, \"20_50\": %.0f, \"ge50\": %.0f}, \"fired_by_scan\": %.0f, ",
            r->timer_late[0], r->timer_late[1], r->timer_late[2], r->timer_late[3],
            r->timer_late[4], r->timer_late[5], r->timers_by_scan);
    json_pct(f, "due_to_produced_ms", &r->timer_produced_lat, ", ");
    json_pct(f, "produced_to_read_ms", &r->timer_read_lat, ", ");
    json_pct(f, "due_to_revoke_ms", &r->timer_lat, "},\n");
    fprintf(f,
            "  \"state\": {\"active_grants\": %zu, \"users\": %zu, "
            "\"redis_bytes_per_grant\": %.1f},\n",
            r->active_grants, r->users_with_state, r->redis_bytes_per_grant);
    fprintf(f, "  \"rules_compile\": {\"profiles\": %zu, \"rotations\": %zu, \"seconds\": %.4f},\n",
            r->rules_profiles, r->rules_rotations, r->rules_compile_s);
    fprintf(f, "  \"decide\": {\"decisions_per_s\": %.1f, \"with_encode_per_s\": %.1f},\n",
            r->decide_per_s, r->decide_encode_per_s);
    fprintf(f,
            "  \"ratios\": {\"engine_vs_raw_kafka\": %.4f, \"engine_vs_raw_redis\": %.4f, "
            "\"engine_vs_raw_kafka_cpu\": %.4f},\n",
            r->ratio_kafka, r->ratio_redis, r->ratio_cpu);
    fprintf(f, "  \"targets\": [\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "    {\"name\": \"%s\", \"goal\": \"%s\", \"value\": %.4f, \"unit\": \"%s\", "
                "\"met\": %s}%s\n",
                t[i].name, t[i].goal, t[i].value, t[i].unit, met(&t[i]) ? "true" : "false",
                i + 1 < n ? "," : "");
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}
