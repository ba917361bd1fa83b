/*
 * bench_decide.c — the pure decision function on one core: decisions/s over
 * a realistic mix (SCHEDULED and STARTED on an empty state, UPDATED and ENDED
 * on the state a STARTED left), with the benchmark's rule set. A second
 * figure adds what apply.c does next on the same thread: encoding the
 * commands and the audit record as Avro (which writes the reasons and the
 * audit trace, lazy in the decision) and writing the state diff's fields
 * (sk_state_diff_write, also lazy). Time is this thread's CPU time, not
 * the wall clock: the machine may be shared, and one thread cannot use more
 * than one core; each figure is the best of several windows.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "codec/codec.h"
#include "decide/decide.h"
#include "rules/rules.h"

#define N_USERS 64
#define HOUR_MS (3600LL * 1000)

typedef struct fixture {
    char user[N_USERS][16], rot[N_USERS][16], shift[N_USERS][24];
    sk_schedule_event_t ev[N_USERS][4]; /* SCHEDULED, STARTED, UPDATED, ENDED */
    sk_user_state_t started[N_USERS];   /* the state after STARTED */
} fixture_t;

static int build(fixture_t *fx, const sk_rules_t *rules, sk_arena_t *keep, sk_ms_t now)
{
    static const sk_shift_event_type_t types[4] = {SK_SHIFT_SCHEDULED, SK_SHIFT_STARTED,
                                                   SK_SHIFT_UPDATED, SK_SHIFT_ENDED};
    for (int u = 0; u < N_USERS; u++) {
        snprintf(fx->user[u], sizeof(fx->user[u]), "u%06d", u);
        snprintf(fx->rot[u], sizeof(fx->rot[u]), "rot-%04d", (u * 3) % BENCH_ROTATIONS);
        snprintf(fx->shift[u], sizeof(fx->shift[u]), "sh-%d-0", u);
        for (int t = 0; t < 4; t++) {
            sk_schedule_event_t *e = &fx->ev[u][t];
            *e = (sk_schedule_event_t){.event_id = "e-bench",
                                       .type = types[t],
                                       .source = "pagerduty",
                                       .rotation = fx->rot[u],
                                       .user = fx->user[u],
                                       .shift_id = fx->shift[u],
                                       .escalation_level = 1,
                                       .occurred_at_ms = now + t};
            e->start_ms = t == 0 ? now + 2 * HOUR_MS : now - 60000;
            e->end_ms = t == 0   ? now + 10 * HOUR_MS
                        : t == 2 ? now + 9 * HOUR_MS
                        : t == 3 ? now + t
                                 : now + 8 * HOUR_MS;
        }
        /* the state a STARTED leaves, kept for UPDATED and ENDED */
        sk_user_state_t empty = {.user = fx->user[u]};
        sk_input_t in = {.kind = SK_INPUT_SCHEDULE,
                         .schedule = &fx->ev[u][1],
                         .user = fx->user[u],
                         .origin = {"shiftkey.schedule.v1", 0, u},
                         .now_ms = now};
        sk_decision_t d;
        if (sk_decide(rules, &in, &empty, keep, &d) != 0 || d.n_commands == 0) {
            fprintf(stderr, "decide: STARTED gave no command (rules?)\n");
            return -1;
        }
        fx->started[u] = d.state;
    }
    return 0;
}

/* This thread's CPU time in seconds. */
static double cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the mix for `seconds` of CPU; returns decisions per CPU second, or -1. */
static double run(const fixture_t *fx, const sk_rules_t *rules, sk_codec_t *codec, sk_ms_t now,
                  double seconds)
{
    sk_arena_t a;
    sk_user_state_t empty = {0};
    size_t n = 0;
    double t0 = cpu_now_s(), t = t0;
    sk_arena_init(&a, 64 * 1024);
    while (t - t0 < seconds) {
        for (int k = 0; k < 1024; k++, n++) {
            int u = (int)(n % N_USERS), ty = (int)((n / N_USERS) % 4);
            const sk_user_state_t *st = ty >= 2 ? &fx->started[u] : &empty;
            sk_input_t in = {.kind = SK_INPUT_SCHEDULE,
                             .schedule = &fx->ev[u][ty],
                             .user = fx->user[u],
                             .origin = {"shiftkey.schedule.v1", 0, (int64_t)n},
                             .now_ms = now + 10};
            sk_decision_t d;
            empty.user = fx->user[u];
            sk_arena_reset(&a);
            if (sk_decide(rules, &in, st, &a, &d) != 0)
                goto fail;
            if (codec) {
                void *buf;
                size_t len;
                for (size_t i = 0; i < d.n_commands; i++)
                    if (sk_codec_encode_command(codec, &d.commands[i], &a, &buf, &len))
                        goto fail;
                if (sk_codec_encode_audit(codec, &d.audit, &a, &buf, &len) ||
                    sk_state_diff_write(&d.diff))
                    goto fail;
            }
        }
        t = cpu_now_s();
    }
    sk_arena_fini(&a);
    return (double)n / (t - t0);
fail:
    sk_arena_fini(&a);
    fprintf(stderr, "decide: a decision failed\n");
    return -1;
}

int bench_decide(const bench_env_t *env, bench_results_t *res)
{
    sk_rules_errors_t errs;
    sk_arena_t keep;
    static fixture_t fx;
    int rc = -1;
    sk_ms_t now = sk_now_ms();
    sk_codec_t *codec = sk_codec_new();
    sk_rules_errors_init(&errs);
    sk_arena_init(&keep, 64 * 1024);
    sk_rules_t *rules = sk_rules_load(env->rules_dir, &errs);
    if (!rules || !codec) {
        sk_rules_errors_print(&errs, stderr);
        goto out;
    }
    if (build(&fx, rules, &keep, now) != 0)
        goto out;
    /* The best of several windows of the thread's CPU time (as the rules
     * compile takes the best of 3): on a shared virtual machine one window
     * moves by +-30 % with the neighbours' work (cache, frequency), while
     * the instruction count per decision (bench/prof_decide.c) does not. */
    int windows = env->quick ? 2 : 5;
    double secs = env->quick ? 0.15 : 0.6;
    res->decide_per_s = res->decide_encode_per_s = 0;
    for (int w = 0; w < windows; w++) {
        double d = run(&fx, rules, NULL, now, secs), de = run(&fx, rules, codec, now, secs);
        if (d < 0 || de < 0) {
            res->decide_per_s = res->decide_encode_per_s = -1;
            break;
        }
        res->decide_per_s = d > res->decide_per_s ? d : res->decide_per_s;
        res->decide_encode_per_s = de > res->decide_encode_per_s ? de : res->decide_encode_per_s;
    }
    rc = res->decide_per_s > 0 && res->decide_encode_per_s > 0 ? 0 : -1;
out:
    sk_rules_destroy(rules);
    sk_codec_destroy(codec);
    sk_arena_fini(&keep);
    sk_rules_errors_fini(&errs);
    return rc;
}
