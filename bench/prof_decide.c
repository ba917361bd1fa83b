/*
 * prof_decide.c — the decision function and the encoding under a profiler:
 * `bench_decide.c`'s fixture (the bench mix of the benchmark's rules), N
 * decisions in loop_decide, then the same N with what the engine's thread
 * does next (the commands and the audit record encoded, the state diff's
 * fields written) in loop_encode, so that instructions per decision read
 * off callgrind's inclusive counts:
 *
 *   make build/bench/prof-decide
 *   valgrind --tool=callgrind --toggle-collect='loop_decide*' build/bench/prof-decide 20000
 *   valgrind --tool=callgrind --toggle-collect='loop_encode*' build/bench/prof-decide 20000
 *
 * (instructions / 20,000; bench/README.md). The fixture is bench_decide.c's
 * own, included so that both measure the same decisions.
 */
#include "bench_decide.c"

#include <stdlib.h>

/* n decisions of the mix; with a codec also encoded and their diffs
 * written. Returns the bytes encoded. Aborts on a failure. */
static size_t loop(const fixture_t *fx, const sk_rules_t *rules, sk_codec_t *codec, sk_ms_t now,
                   size_t total, sk_arena_t *a)
{
    sk_user_state_t empty = {0};
    size_t bytes = 0;
    for (size_t n = 0; n < total; n++) {
        int u = (int)(n % N_USERS), ty = (int)((n / N_USERS) % 4);
        sk_input_t in = {.kind = SK_INPUT_SCHEDULE,
                         .schedule = &fx->ev[u][ty],
                         .user = fx->user[u],
                         .origin = {"shiftkey.schedule.v1", 0, (int64_t)n},
                         .now_ms = now + 10};
        sk_decision_t d;
        void *buf;
        size_t len;
        empty.user = fx->user[u];
        sk_arena_reset(a);
        if (sk_decide(rules, &in, ty >= 2 ? &fx->started[u] : &empty, a, &d) != 0)
            abort();
        for (size_t i = 0; codec && i < d.n_commands; i++, bytes += len)
            if (sk_codec_encode_command(codec, &d.commands[i], a, &buf, &len))
                abort();
        if (codec &&
            (sk_codec_encode_audit(codec, &d.audit, a, &buf, &len) || sk_state_diff_write(&d.diff)))
            abort();
        bytes += codec ? len : 0;
    }
    return bytes;
}

__attribute__((noinline)) static size_t loop_decide(const fixture_t *fx, const sk_rules_t *r,
                                                    sk_ms_t now, size_t n, sk_arena_t *a)
{
    return loop(fx, r, NULL, now, n, a);
}

__attribute__((noinline)) static size_t loop_encode(const fixture_t *fx, const sk_rules_t *r,
                                                    sk_codec_t *c, sk_ms_t now, size_t n,
                                                    sk_arena_t *a)
{
    return loop(fx, r, c, now, n, a);
}

int main(int argc, char **argv)
{
    static fixture_t fx;
    char dir[] = "/tmp/sk-prof-decide-XXXXXX", cmd[64];
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    sk_ms_t now = 1780000000000LL; /* fixed: the same decisions every run */
    sk_rules_errors_t errs;
    sk_arena_t keep, a;
    int rc = 1;
    sk_rules_errors_init(&errs);
    sk_arena_init(&keep, 64 * 1024);
    sk_arena_init(&a, 64 * 1024);
    sk_codec_t *codec = sk_codec_new();
    sk_rules_t *rules = NULL;
    if (!mkdtemp(dir))
        goto out;
    if (bench_rules_write(dir, BENCH_APPS, BENCH_ENTS_PER_APP, BENCH_ROTATIONS, BENCH_PROFILES) ||
        !(rules = sk_rules_load(dir, &errs)) || !codec || build(&fx, rules, &keep, now) != 0) {
        sk_rules_errors_print(&errs, stderr);
        goto out;
    }
    size_t none = loop_decide(&fx, rules, now, n, &a);
    size_t bytes = loop_encode(&fx, rules, codec, now, n, &a);
    printf("%zu decisions decided, then decided and encoded: %zu bytes (%.1f a decision)\n", n,
           none + bytes, n ? (double)bytes / (double)n : 0.0);
    rc = 0;
out:
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "prof-decide: could not remove %s\n", dir);
    (void)run;
    (void)bench_decide;
    sk_rules_destroy(rules);
    sk_codec_destroy(codec);
    sk_arena_fini(&a);
    sk_arena_fini(&keep);
    sk_rules_errors_fini(&errs);
    return rc;
}
