/*
 * golden.c — the golden check of the deciders and the encoder: a recording
 * (bench/gen_recording.c, or `shiftkey replay --export`) decided in memory
 * by the simulator that `shiftkey replay` uses (engine/cli/cli_sim.h),
 * every output hashed: each command, task and audit record as the engine
 * encodes it (Avro, framed; the audit record with its trace written), each
 * state diff (the fields written and deleted), each wake-up and key
 * expiry, each rejection. Prints the number of decisions and one XXH3-128
 * hash over all of them: a change that keeps every byte the engine
 * produces and stores keeps the hash (bench/README.md, "The decision
 * function without formatting").
 *
 * usage: golden RULES_DIR RECORDING
 */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "cli/cli_replay.h"
#include "cli/cli_sim.h"
#include "codec/codec.h"

typedef struct golden {
    XXH3_state_t *hash;
    sk_codec_t *codec;
    sk_arena_t scratch;
    size_t decisions, commands, tasks, bytes;
    int failed;
} golden_t;

static void put(golden_t *g, const void *p, size_t n)
{
    XXH3_128bits_update(g->hash, p, n);
    g->bytes += n;
}

static void put_str(golden_t *g, const char *s)
{
    put(g, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void put_i64(golden_t *g, int64_t v)
{
    put(g, &v, sizeof v);
}

static void put_encoded(golden_t *g, int rc, const void *buf, size_t len)
{
    if (rc != 0) {
        g->failed = 1;
        return;
    }
    put_i64(g, (int64_t)len);
    put(g, buf, len);
}

static void sink(void *ctx, const sk_sim_out_t *o)
{
    golden_t *g = ctx;
    const sk_decision_t *d = o->d;
    void *buf = NULL;
    size_t len = 0;
    sk_arena_reset(&g->scratch);
    g->decisions++;
    put_i64(g, o->input);
    put_str(g, o->user);
    put_i64(g, o->at_ms);
    put_i64(g, o->refused);
    put_str(g, o->refuse_reason);
    put_i64(g, d->rejected);
    if (d->rejected) {
        put_i64(g, d->reject_kind);
        put_str(g, d->reject_reason);
    }
    for (size_t i = 0; i < d->n_commands; i++, g->commands++)
        put_encoded(g, sk_codec_encode_command(g->codec, &d->commands[i], &g->scratch, &buf, &len),
                    buf, len);
    for (size_t i = 0; i < d->n_tasks; i++, g->tasks++)
        put_encoded(g, sk_codec_encode_task(g->codec, &d->tasks[i], &g->scratch, &buf, &len), buf,
                    len);
    put_encoded(g, sk_codec_encode_audit(g->codec, &d->audit, &g->scratch, &buf, &len), buf, len);
    sk_state_diff_t diff = d->diff; /* its writes written, as the apply step does */
    if (sk_state_diff_write(&diff) != 0)
        g->failed = 1;
    put_i64(g, (int64_t)diff.n_set);
    for (size_t i = 0; diff.set && i < diff.n_set; i++) {
        put(g, diff.set[i].name, diff.set[i].name_len);
        put_str(g, "=");
        put(g, diff.set[i].value, diff.set[i].value_len);
        put_str(g, ";");
    }
    put_i64(g, (int64_t)diff.n_del);
    for (size_t i = 0; i < diff.n_del; i++)
        put_str(g, diff.del[i]);
    put_i64(g, d->next_wake_ms);
    put_i64(g, d->keep_until_ms);
}

static int decide(golden_t *g, sk_sim_t *sim, const sk_rec_t *r)
{
    char reason[512];
    int drc;
    sk_schedule_event_t ev;
    sk_request_event_t rq;
    sk_provisioning_result_t res;
    if (r->topic == SK_REC_SCHEDULE)
        drc = sk_codec_decode_schedule(g->codec, r->value, r->len, &ev, reason, sizeof(reason));
    else if (r->topic == SK_REC_REQUESTS)
        drc = sk_codec_decode_request(g->codec, r->value, r->len, &rq, reason, sizeof(reason));
    else
        drc = sk_codec_decode_provisioning_result(g->codec, r->value, r->len, &res, reason,
                                                  sizeof(reason));
    if (drc != 0)
        return sk_sim_reject(sim, drc == SK_EPARSE ? SK_DL_UNDECODABLE : SK_DL_INVALID, reason,
                             r->ts_ms);
    if (r->topic == SK_REC_SCHEDULE)
        return sk_sim_schedule(sim, &ev, r->ts_ms);
    if (r->topic == SK_REC_REQUESTS)
        return sk_sim_request(sim, &rq, r->ts_ms);
    return sk_sim_result(sim, &res, r->ts_ms);
}

int main(int argc, char **argv)
{
    int rc = 2;
    sk_recs_t recs = {0};
    sk_rules_errors_t errs;
    sk_rules_t *rules = NULL;
    sk_sim_t *sim = NULL;
    golden_t g = {.hash = XXH3_createState(), .codec = sk_codec_new()};
    sk_rules_errors_init(&errs);
    sk_arena_init(&g.scratch, 64 * 1024);
    if (argc != 3) {
        fprintf(stderr, "usage: golden RULES_DIR RECORDING\n");
        goto out;
    }
    if (!g.hash || !g.codec || !(rules = sk_rules_load(argv[1], &errs))) {
        sk_rules_errors_print(&errs, stderr);
        goto out;
    }
    if (sk_recs_read_file(argv[2], &recs) != 0)
        goto out;
    sk_recs_sort(&recs);
    if (!(sim = sk_sim_new(rules, sink, &g)))
        goto out;
    XXH3_128bits_reset(g.hash);
    for (size_t i = 0; i < recs.n; i++)
        if (decide(&g, sim, &recs.v[i]) != 0)
            goto out;
    if (recs.n && sk_sim_advance(sim, recs.v[recs.n - 1].ts_ms) != 0)
        goto out;
    XXH128_hash_t h = XXH3_128bits_digest(g.hash);
    printf("%zu records, %zu decisions, %zu commands, %zu tasks, %zu bytes hashed: "
           "%016llx%016llx%s\n",
           recs.n, g.decisions, g.commands, g.tasks, g.bytes, (unsigned long long)h.high64,
           (unsigned long long)h.low64, g.failed ? " (an encoding FAILED)" : "");
    rc = g.failed ? 1 : 0;
out:
    sk_sim_destroy(sim);
    sk_rules_destroy(rules);
    sk_recs_free(&recs);
    sk_codec_destroy(g.codec);
    sk_arena_fini(&g.scratch);
    sk_rules_errors_fini(&errs);
    if (g.hash)
        XXH3_freeState(g.hash);
    return rc;
}
