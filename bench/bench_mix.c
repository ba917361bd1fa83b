/*
 * bench_mix.c — the pipeline's real record mix per event, for the raw
 * limits (bench_raw_kafka.c, bench_raw_redis.c): the benchmark's own cycle
 * (SCHEDULED, STARTED, UPDATED, ENDED of one user) decided by sk_decide with
 * the benchmark's rule set, each event's outputs encoded as the engine
 * encodes them: its input record, its commands, its audit record, its tasks
 * and its changelog record (the user's whole state after it). The state
 * diff of each event (the user's hash fields it writes) is kept for the
 * raw Redis figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "codec/changelog.h"
#include "codec/codec.h"
#include "decide/decide.h"
#include "rules/rules.h"

#define HOUR_MS (3600LL * 1000)

/* Copies len bytes into a new heap record of the mix. 0 or -1. */
static int add_rec(bench_mix_t *m, bench_mix_kind_t kind, const char *key, const void *val,
                   size_t len)
{
    if (m->n_recs == BENCH_MIX_MAX)
        return -1;
    bench_mix_rec_t *r = &m->recs[m->n_recs];
    r->val = malloc(len ? len : 1);
    if (!r->val)
        return -1;
    memcpy(r->val, val, len);
    r->len = len;
    r->kind = kind;
    snprintf(r->key, sizeof(r->key), "%s", key);
    r->key_len = strlen(r->key);
    m->n_recs++;
    m->count[kind]++;
    m->bytes[kind] += (double)(len + r->key_len);
    return 0;
}

/* The changelog record of a step: the whole state after it, with three
 * applied offsets, as the ledger stages it (pipeline/ledger.c). */
static int add_changelog(bench_mix_t *m, sk_codec_t *codec, sk_arena_t *a,
                         const sk_user_state_t *st, const sk_decision_t *d, int64_t seq)
{
    sk_state_field_t *f = NULL;
    size_t n = 0;
    void *buf;
    size_t len;
    if (sk_state_fields(a, st, &f, &n) != 0)
        return -1;
    sk_changelog_field_t *cf = sk_arena_calloc(a, n + 1, sizeof(*cf));
    if (!cf)
        return -1;
    for (size_t i = 0; i < n; i++)
        cf[i] = (sk_changelog_field_t){f[i].name, f[i].name_len, f[i].value, f[i].value_len};
    sk_changelog_offset_t offs[3] = {{"shiftkey.schedule.v1", 123456 + seq},
                                     {"shiftkey.requests.v1", 4567},
                                     {"shiftkey.provisioning.results.v1", 8901}};
    sk_changelog_record_t rec = {.seq = 100000 + seq,
                                 .partition = 7,
                                 .user = st->user,
                                 .n_fields = n,
                                 .fields = cf,
                                 .keep_until_ms = d->keep_until_ms,
                                 .next_wake_ms = d->next_wake_ms,
                                 .n_offsets = 3,
                                 .offsets = offs};
    if (sk_codec_encode_changelog(codec, &rec, a, &buf, &len) != 0)
        return -1;
    return add_rec(m, BENCH_MIX_CHANGELOG, st->user, buf, len);
}

/* Keeps the diff's field writes of event i (names and values, as bytes). */
static int keep_diff(bench_mix_t *m, size_t i, sk_state_diff_t *diff)
{
    bench_mix_event_t *ev = &m->events[i];
    if (sk_state_diff_write(diff) != 0) /* decide leaves the writes unwritten */
        return -1;
    for (size_t k = 0; k < diff->n_set && ev->n_set < BENCH_MIX_FIELDS; k++) {
        char *name = strndup(diff->set[k].name, diff->set[k].name_len);
        char *value = strndup(diff->set[k].value, diff->set[k].value_len);
        if (!name || !value) {
            free(name);
            free(value);
            return -1;
        }
        ev->set_name[ev->n_set] = name;
        ev->set_value[ev->n_set++] = value;
        m->set_bytes += (double)(diff->set[k].name_len + diff->set[k].value_len);
    }
    m->n_set += diff->n_set;
    m->n_del += diff->n_del;
    return 0;
}

int bench_mix_build(const bench_env_t *env, bench_mix_t *m)
{
    static const sk_shift_event_type_t types[BENCH_MIX_EVENTS] = {
        SK_SHIFT_SCHEDULED, SK_SHIFT_STARTED, SK_SHIFT_UPDATED, SK_SHIFT_ENDED};
    sk_rules_errors_t errs;
    sk_arena_t a;
    sk_ms_t now = sk_now_ms();
    sk_codec_t *codec = sk_codec_new();
    sk_user_state_t st = {.user = "u012345"};
    int rc = -1;
    memset(m, 0, sizeof(*m));
    sk_rules_errors_init(&errs);
    sk_arena_init(&a, 64 * 1024);
    sk_rules_t *rules = sk_rules_load(env->rules_dir, &errs);
    if (!rules || !codec) {
        sk_rules_errors_print(&errs, stderr);
        goto out;
    }
    for (size_t i = 0; i < BENCH_MIX_EVENTS; i++) {
        sk_schedule_event_t ev = {.event_id = "e-00000001",
                                  .type = types[i],
                                  .source = "pagerduty",
                                  .rotation = "rot-0042",
                                  .user = st.user,
                                  .shift_id = "sh-12345-0",
                                  .escalation_level = 1,
                                  .occurred_at_ms = now};
        ev.start_ms = i == 0 ? now + 2 * HOUR_MS : now - 60000;
        ev.end_ms = i == 0   ? now + 10 * HOUR_MS
                    : i == 2 ? now + 9 * HOUR_MS
                    : i == 3 ? now
                             : now + 8 * HOUR_MS;
        sk_input_t in = {.kind = SK_INPUT_SCHEDULE,
                         .schedule = &ev,
                         .user = st.user,
                         .origin = {"shiftkey.schedule.v1", 7, 123456 + (int64_t)i},
                         .now_ms = now};
        sk_decision_t d;
        void *buf;
        size_t len;
        m->events[i].first = m->n_recs;
        if (sk_codec_encode_schedule(codec, &ev, &a, &buf, &len) != 0 ||
            add_rec(m, BENCH_MIX_INPUT, st.user, buf, len) != 0)
            goto out;
        if (sk_decide(rules, &in, &st, &a, &d) != 0 || d.rejected) {
            fprintf(stderr, "bench mix: the cycle's event %zu was not decided\n", i);
            goto out;
        }
        for (size_t k = 0; k < d.n_commands; k++)
            if (sk_codec_encode_command(codec, &d.commands[k], &a, &buf, &len) != 0 ||
                add_rec(m, BENCH_MIX_COMMAND, st.user, buf, len) != 0)
                goto out;
        if (sk_codec_encode_audit(codec, &d.audit, &a, &buf, &len) != 0 ||
            add_rec(m, BENCH_MIX_AUDIT, st.user, buf, len) != 0)
            goto out;
        for (size_t k = 0; k < d.n_tasks; k++)
            if (sk_codec_encode_task(codec, &d.tasks[k], &a, &buf, &len) != 0 ||
                add_rec(m, BENCH_MIX_TASK, st.user, buf, len) != 0)
                goto out;
        st = d.state;
        if (add_changelog(m, codec, &a, &st, &d, (int64_t)i) != 0 || keep_diff(m, i, &d.diff))
            goto out;
        m->events[i].n = m->n_recs - m->events[i].first;
    }
    m->n_events = BENCH_MIX_EVENTS;
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench mix: cannot build the record mix\n");
    sk_rules_destroy(rules);
    sk_codec_destroy(codec);
    sk_arena_fini(&a);
    sk_rules_errors_fini(&errs);
    return rc;
}

void bench_mix_free(bench_mix_t *m)
{
    for (size_t i = 0; i < m->n_recs; i++)
        free(m->recs[i].val);
    for (size_t i = 0; i < BENCH_MIX_EVENTS; i++)
        for (size_t k = 0; k < m->events[i].n_set; k++) {
            free(m->events[i].set_name[k]);
            free(m->events[i].set_value[k]);
        }
    memset(m, 0, sizeof(*m));
}

void bench_mix_describe(const bench_mix_t *m, char *buf, size_t len)
{
    double ev = m->n_events ? (double)m->n_events : 1;
    snprintf(buf, len,
             "per event: 1 input (%.0f B), %.2f commands (%.0f B), 1 audit (%.0f B), %.2f tasks,"
             " 1 changelog (%.0f B)",
             m->bytes[BENCH_MIX_INPUT] / ev, m->count[BENCH_MIX_COMMAND] / ev,
             m->count[BENCH_MIX_COMMAND] ? m->bytes[BENCH_MIX_COMMAND] / m->count[BENCH_MIX_COMMAND]
                                         : 0,
             m->bytes[BENCH_MIX_AUDIT] / ev, m->count[BENCH_MIX_TASK] / ev,
             m->bytes[BENCH_MIX_CHANGELOG] / ev);
}
