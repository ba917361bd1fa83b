/*
 * ledger.c — Kafka is the ledger, Redis the working set (issue 12).
 *
 * Every apply step of a partition stages, in the same atomic script as its
 * outputs, one record for the compacted changelog topic: the user's whole
 * state after the step, its timer and expiry, and the partition's applied
 * offsets (codec/changelog.h), with the partition's step sequence. The
 * emitter produces it to the changelog partition of the same number, like
 * any other output. Redis keeps the last sequence applied ("#seq" in the
 * offsets hash); the engine keeps the last one it knows applied.
 *
 * Redis is behind the ledger when its epoch is gone (FLUSHALL, a restart
 * without data, an empty replacement), below ours, or its sequence is below
 * the one the engine knows or the changelog holds (a failover to a replica
 * that lagged). The scripts refuse then (NOEPOCH, LOST) and every timer
 * scan checks every owned partition (sk_ledger_check), so it is seen at
 * once. The partition is then restored before anything else touches it:
 * the changelog partition is read from its beginning to its end, the last
 * record of each user is written back with its timer, the on-call index is
 * derived from the users' shifts, the offsets and the sequence are set, and
 * the epoch last. The consumer moves back to the restored offsets, so what
 * Redis lost beyond the ledger is applied again (same decisions, same
 * command ids). Grants whose expiry passed meanwhile are revoked at once by
 * their timers, which are due.
 *
 * Where the ledger can be read but Redis refuses the restore (read-only,
 * out of memory, a denied command), the partition fails closed: a REVOKE
 * of every grant the ledger says is held goes to the commands topic
 * through the held list (stuck.c: produced again until Kafka takes it;
 * sk_decide_revoke_all: the ids a decision removing the sources would
 * give), loudly, once per loss;
 * the partition stays stopped and the restore is tried again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strmap.h"
#include "codec/changelog.h"
#include "decide/decide.h"
#include "decide/oncall_index.h"
#include "pipeline/engine_internal.h"
#include "pipeline/kafka_conf.h"

#define LEDGER_TIMEOUT_MS 10000

int sk_ledger_open(sk_engine_t *e, char *err, size_t err_len)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", e->cfg.brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "client.id", e->cfg.client_id, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "20", errstr, sizeof(errstr)) ||
        sk_kafka_conf_apply(conf, "consumer", e->cfg.kafka_props, e->cfg.n_kafka_props, errstr,
                            sizeof(errstr))) {
        snprintf(err, err_len, "changelog reader configuration: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SK_EINVAL;
    }
    /* a group of its own that it never joins: it assigns partitions itself
     * and commits nothing */
    char group[256];
    snprintf(group, sizeof(group), "%s.changelog-reader", e->cfg.group_id);
    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr));
    e->ledger = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!e->ledger) {
        snprintf(err, err_len, "changelog reader: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SK_EINVAL;
    }
    conf = NULL; /* now owned by e->ledger */
    return 0;
}

void sk_ledger_close(sk_engine_t *e)
{
    if (!e->ledger)
        return;
    rd_kafka_destroy(e->ledger);
    e->ledger = NULL;
}

int sk_ledger_stage(sk_engine_t *e, int32_t p, const char *user, const sk_user_state_t *st,
                    sk_ms_t next_wake_ms, sk_ms_t keep_until_ms, sk_outbox_entry_t *out,
                    int64_t *seq)
{
    sk_owned_t *o = &e->parts[p];
    sk_changelog_offset_t offs[SK_IN_TOPIC_COUNT];
    sk_state_field_t *fields = NULL;
    size_t n_fields = 0, n_offs = 0;
    void *buf;
    size_t len;
    int rc;
    if (st && (rc = sk_state_fields(&e->arena, st, &fields, &n_fields)) != 0)
        return rc;
    for (int t = 0; t < SK_IN_TOPIC_COUNT; t++)
        if (o->ledger_off[t] >= 0)
            offs[n_offs++] =
                (sk_changelog_offset_t){sk_in_topic_name(&e->cfg, t), o->ledger_off[t]};
    /* sk_state_field_t and sk_changelog_field_t are the same four members */
    sk_changelog_field_t *cf = sk_arena_calloc(&e->arena, n_fields + 1, sizeof(*cf));
    if (!cf)
        return SK_ENOMEM;
    for (size_t i = 0; i < n_fields; i++)
        cf[i] = (sk_changelog_field_t){fields[i].name, fields[i].name_len, fields[i].value,
                                       fields[i].value_len};
    sk_changelog_record_t rec = {.seq = o->seq_next + 1,
                                 .partition = p,
                                 .user = user ? user : "",
                                 .n_fields = n_fields,
                                 .fields = cf,
                                 .keep_until_ms = keep_until_ms,
                                 .next_wake_ms = next_wake_ms,
                                 .n_offsets = n_offs,
                                 .offsets = offs};
    if ((rc = sk_codec_encode_changelog(e->codec, &rec, &e->arena, &buf, &len)) != 0)
        return rc;
    *out = (sk_outbox_entry_t){SK_OUT_CHANGELOG, rec.user, strlen(rec.user), buf, len};
    *seq = ++o->seq_next;
    return 0;
}

/* What a read of a changelog partition gathers. */
typedef struct replay {
    sk_arena_t arena;
    sk_strmap_t users;            /* user -> index into last[] */
    sk_changelog_record_t **last; /* the last record of each user, in order of first sight */
    size_t n, cap;
    int64_t seq;                    /* the highest step sequence */
    int64_t off[SK_IN_TOPIC_COUNT]; /* the highest applied offset of each input topic */
    size_t records, bad;
} replay_t;

/* Takes one changelog record into the replay. */
static int replay_add(sk_engine_t *e, replay_t *r, const rd_kafka_message_t *m, bool keep)
{
    char reason[256];
    sk_changelog_record_t *rec = sk_arena_calloc(&r->arena, 1, sizeof(*rec));
    if (!rec)
        return SK_ENOMEM;
    r->records++;
    if (sk_codec_decode_changelog(e->codec, m->payload, m->len, &r->arena, rec, reason,
                                  sizeof(reason)) != 0) {
        if (r->bad++ == 0)
            SK_ERROR("changelog %s[%" PRId32 "]@%" PRId64 " cannot be read (%s); skipped",
                     e->cfg.changelog_topic, m->partition, m->offset, reason);
        return 0;
    }
    if (rec->seq > r->seq)
        r->seq = rec->seq;
    for (size_t i = 0; i < rec->n_offsets; i++) {
        int t = sk_in_topic_index(&e->cfg, rec->offsets[i].topic);
        if (t >= 0 && rec->offsets[i].offset > r->off[t])
            r->off[t] = rec->offsets[i].offset;
    }
    if (!keep || !rec->user[0])
        return 0;
    void *idx;
    if (sk_strmap_find(&r->users, rec->user, &idx)) {
        r->last[(size_t)(uintptr_t)idx] = rec;
        return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        sk_changelog_record_t **grown = realloc(r->last, cap * sizeof(*grown));
        if (!grown)
            return SK_ENOMEM;
        r->last = grown;
        r->cap = cap;
    }
    r->last[r->n] = rec;
    if (sk_strmap_put(&r->users, rec->user, (void *)(uintptr_t)r->n) != 0)
        return SK_ENOMEM;
    r->n++;
    return 0;
}

/* Reads changelog partition p from `from` to just before `end` into r
 * (keep: every user's last record too, else only the sequence). */
static int read_range(sk_engine_t *e, int32_t p, int64_t from, int64_t end, bool keep, replay_t *r)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, e->cfg.changelog_topic, p)->offset = from;
    rd_kafka_resp_err_t err = rd_kafka_assign(e->ledger, l);
    rd_kafka_topic_partition_list_destroy(l);
    int rc = 0;
    int64_t next = from;
    sk_ms_t deadline = sk_now_ms() + LEDGER_TIMEOUT_MS;
    if (err) {
        SK_ERROR("changelog %s[%" PRId32 "]: %s", e->cfg.changelog_topic, p, rd_kafka_err2str(err));
        return SK_EIO;
    }
    while (rc == 0 && next < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(e->ledger, 100);
        if (!m) {
            if (sk_now_ms() > deadline) {
                SK_ERROR("changelog %s[%" PRId32 "]: read stopped at offset %" PRId64 " of %" PRId64
                         " (no answer within %d ms)",
                         e->cfg.changelog_topic, p, next, end, LEDGER_TIMEOUT_MS);
                rc = SK_EIO;
            }
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            next = end; /* compaction or retention may leave the end short */
        } else if (m->err) {
            SK_WARN("changelog %s[%" PRId32 "]: %s", e->cfg.changelog_topic, p,
                    rd_kafka_message_errstr(m));
        } else if (m->partition == p) {
            rc = replay_add(e, r, m, keep);
            next = m->offset + 1;
            deadline = sk_now_ms() + LEDGER_TIMEOUT_MS;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(e->ledger, NULL);
    return rc;
}

static void replay_init(replay_t *r)
{
    memset(r, 0, sizeof(*r));
    sk_arena_init(&r->arena, 64 * 1024);
    sk_strmap_init(&r->users);
    for (int t = 0; t < SK_IN_TOPIC_COUNT; t++)
        r->off[t] = -1;
}

static void replay_fini(replay_t *r)
{
    sk_strmap_fini(&r->users);
    free(r->last);
    sk_arena_fini(&r->arena);
}

/* The changelog partition's offsets [*lo, *hi). */
static int watermarks(sk_engine_t *e, int32_t p, int64_t *lo, int64_t *hi)
{
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(e->ledger, e->cfg.changelog_topic, p,
                                                               lo, hi, LEDGER_TIMEOUT_MS);
    if (err) {
        SK_ERROR("changelog %s[%" PRId32 "]: %s — the ledger must exist with as many "
                 "partitions as %s (cleanup.policy=compact); partition %" PRId32 " waits for it",
                 e->cfg.changelog_topic, p, rd_kafka_err2str(err), e->cfg.schedule_topic, p);
        return SK_EIO;
    }
    return 0;
}

int sk_ledger_tail(sk_engine_t *e, int32_t p, int64_t *seq)
{
    int64_t lo = 0, hi = 0;
    replay_t r;
    int rc;
    *seq = 0;
    if ((rc = watermarks(e, p, &lo, &hi)) != 0 || hi <= lo)
        return rc;
    replay_init(&r);
    rc = read_range(e, p, hi - 1, hi, false, &r);
    if (rc == 0 && r.seq == 0) /* the last record unreadable: look at them all */
        rc = read_range(e, p, lo, hi, false, &r);
    *seq = r.seq;
    replay_fini(&r);
    return rc;
}

int sk_ledger_tail_many(sk_engine_t *e, const int32_t *ps, size_t n, int64_t *seqs)
{
    int64_t lo[SK_MAX_PARTITIONS], hi[SK_MAX_PARTITIONS];
    bool want[SK_MAX_PARTITIONS] = {false};
    replay_t r;
    size_t waiting = 0;
    int rc = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n + 1);
    for (size_t i = 0; i < n; i++) {
        seqs[i] = 0;
        if ((rc = watermarks(e, ps[i], &lo[i], &hi[i])) != 0) {
            rd_kafka_topic_partition_list_destroy(l);
            return rc;
        }
        if (hi[i] > lo[i]) { /* its last record, read with all the others' */
            rd_kafka_topic_partition_list_add(l, e->cfg.changelog_topic, ps[i])->offset = hi[i] - 1;
            want[i] = true;
            waiting++;
        }
    }
    rd_kafka_resp_err_t err = waiting ? rd_kafka_assign(e->ledger, l) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        SK_ERROR("changelog %s: %s", e->cfg.changelog_topic, rd_kafka_err2str(err));
        return SK_EIO;
    }
    sk_ms_t deadline = sk_now_ms() + LEDGER_TIMEOUT_MS;
    while (rc == 0 && waiting > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(e->ledger, 100);
        if (!m) {
            if (sk_now_ms() > deadline) {
                SK_ERROR("changelog %s: %zu partitions' last records not read within %d ms",
                         e->cfg.changelog_topic, waiting, LEDGER_TIMEOUT_MS);
                rc = SK_EIO;
            }
            continue;
        }
        size_t i = 0;
        while (i < n && ps[i] != m->partition)
            i++;
        if (i < n && want[i] && (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || !m->err)) {
            if (!m->err) {
                replay_init(&r);
                rc = replay_add(e, &r, m, false);
                seqs[i] = r.seq;
                replay_fini(&r);
            }
            want[i] = false;
            waiting--;
        } else if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            SK_WARN("changelog %s: %s", e->cfg.changelog_topic, rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(e->ledger, NULL);
    /* a last record that could not be read (or a partition left short):
     * the whole partition is read, as sk_ledger_tail does */
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (hi[i] > lo[i] && seqs[i] == 0)
            rc = sk_ledger_tail(e, ps[i], &seqs[i]);
    return rc;
}

/* The restore writes of the users of r (those whose state is not past its
 * keep-until) and their on-call index fields, in arena memory. */
static int restore_writes(replay_t *r, sk_ms_t now, sk_store_restore_t *rs)
{
    sk_arena_t *a = &r->arena;
    sk_store_restore_user_t *users = sk_arena_calloc(a, r->n + 1, sizeof(*users));
    sk_store_oncall_field_t *idx = NULL;
    size_t n_idx = 0, cap_idx = 0;
    if (!users)
        return SK_ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        const sk_changelog_record_t *rec = r->last[i];
        sk_user_state_t st, none = {0};
        sk_oncall_op_t *ops = NULL;
        size_t n_ops = 0;
        if ((rec->keep_until_ms != SK_MS_NONE && rec->keep_until_ms <= now) ||
            (rec->n_fields == 0 && rec->next_wake_ms == SK_MS_NONE))
            continue; /* forgotten, as its key would have expired */
        sk_store_field_t *f = sk_arena_calloc(a, rec->n_fields + 1, sizeof(*f));
        sk_state_field_t *sf = sk_arena_calloc(a, rec->n_fields + 1, sizeof(*sf));
        sk_store_restore_user_t *u = &users[rs->n_users++];
        void *packed = NULL;
        size_t packed_len = 0;
        if (!f || !sf)
            return SK_ENOMEM;
        for (size_t k = 0; k < rec->n_fields; k++) {
            f[k] = (sk_store_field_t){rec->fields[k].name, rec->fields[k].name_len,
                                      rec->fields[k].value, rec->fields[k].value_len};
            sf[k] = (sk_state_field_t){rec->fields[k].name, rec->fields[k].name_len,
                                       rec->fields[k].value, rec->fields[k].value_len};
        }
        if (rec->n_fields &&
            sk_state_pack(a, f, rec->n_fields, rec->keep_until_ms, &packed, &packed_len) != 0)
            return SK_ENOMEM;
        *u = (sk_store_restore_user_t){rec->user, packed, packed_len, rec->next_wake_ms};
        none.user = rec->user;
        if (sk_state_parse(a, rec->user, sf, rec->n_fields, &st, NULL) != 0 ||
            sk_oncall_ops(&none, &st, a, &ops, &n_ops) != 0)
            return SK_ENOMEM;
        for (size_t k = 0; k < n_ops; k++) {
            if (!ops[k].value)
                continue;
            if (n_idx == cap_idx) {
                size_t ncap = cap_idx ? cap_idx * 2 : 64;
                sk_store_oncall_field_t *g = sk_arena_calloc(a, ncap, sizeof(*g));
                if (!g)
                    return SK_ENOMEM;
                if (n_idx)
                    memcpy(g, idx, n_idx * sizeof(*g));
                idx = g;
                cap_idx = ncap;
            }
            idx[n_idx++] = (sk_store_oncall_field_t){ops[k].rotation, ops[k].field, ops[k].value};
        }
    }
    rs->users = users;
    rs->oncall = idx;
    rs->n_oncall = n_idx;
    return 0;
}

/* Holds the REVOKEs of every entitlement `st` holds for the commands topic
 * (outside the outbox: Redis refuses writes; stuck.c produces them until
 * Kafka takes them). Returns how many, or a negative error. */
static int fail_closed_user(sk_engine_t *e, int32_t p, sk_arena_t *a, const sk_user_state_t *st)
{
    sk_decision_t d = {0};
    void *buf;
    size_t len;
    int rc;
    if ((rc = sk_decide_revoke_all(e->rules, st, sk_now_ms(), a, &d)) != 0)
        return rc;
    for (size_t i = 0; i < d.n_commands; i++) {
        sk_command_t *cmd = &d.commands[i];
        cmd->reason = "fail closed: the engine's state of this user was lost in Redis and "
                      "could not be restored from the changelog";
        if ((rc = sk_codec_encode_command(e->codec, cmd, a, &buf, &len)) != 0)
            return rc;
        /* held (stuck.c): produced at the next pump and again with backoff until
         * Kafka takes it, never fire-and-forget; in memory only, as Redis
         * refuses writes (a new owner finds the loss and fails closed again) */
        if ((rc = sk_held_keep(e, p, SK_OUT_COMMANDS, cmd->user, strlen(cmd->user), buf, len,
                               "fail closed", false)) != 0)
            return rc;
        SK_ERROR("REVOKE %s %s/%s held until %" PRId64 ": %s [%s]", cmd->user, cmd->app,
                 cmd->entitlement, cmd->expires_at_ms, cmd->reason, cmd->command_id);
    }
    return (int)d.n_commands;
}

/*
 * Fails partition p closed: a REVOKE of every grant the ledger (r) says is
 * held, straight to the commands topic. Returns how many were sent, or a
 * negative error.
 */
static int fail_closed(sk_engine_t *e, int32_t p, replay_t *r)
{
    int sent = 0, rc = 0;
    for (size_t i = 0; i < r->n && rc == 0; i++) {
        const sk_changelog_record_t *rec = r->last[i];
        sk_state_field_t *sf = sk_arena_calloc(&r->arena, rec->n_fields + 1, sizeof(*sf));
        sk_user_state_t st;
        if (!sf)
            return SK_ENOMEM;
        for (size_t k = 0; k < rec->n_fields; k++)
            sf[k] = (sk_state_field_t){rec->fields[k].name, rec->fields[k].name_len,
                                       rec->fields[k].value, rec->fields[k].value_len};
        if (sk_state_parse(&r->arena, rec->user, sf, rec->n_fields, &st, NULL) != 0)
            return SK_ENOMEM;
        if (st.n_sources == 0)
            continue;
        if ((rc = fail_closed_user(e, p, &r->arena, &st)) >= 0) {
            sent += rc;
            rc = 0;
        }
    }
    (void)sk_held_pump(e, sk_now_ms()); /* produced now; again until taken */
    rd_kafka_flush(e->producer, 5000);
    SK_ERROR("partition %" PRId32 ": FAILED CLOSED: %d REVOKEs sent for what %s says is held; "
             "the partition stays stopped until Redis accepts the restore",
             p, sent, e->cfg.changelog_topic);
    {
        char why[240];
        snprintf(why, sizeof(why),
                 "partition %" PRId32 " failed closed: its state was lost and Redis refused the "
                 "restore; %d REVOKEs sent for what %s says is held",
                 p, sent, e->cfg.changelog_topic);
        (void)sk_engine_audit(e, "failed_closed", p, e->cfg.changelog_topic, why);
    }
    return rc ? rc : sent;
}

/* Moves the consumer of partition p back to right after the restored
 * offsets (the beginning for a topic with none). */
static void seek_back(sk_engine_t *e, int32_t p)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(SK_IN_TOPIC_COUNT);
    for (int t = 0; t < SK_IN_TOPIC_COUNT; t++) {
        int64_t a = e->parts[p].in[t].applied_offset;
        rd_kafka_topic_partition_list_add(l, sk_in_topic_name(&e->cfg, t), p)->offset =
            a >= 0 ? a + 1 : RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_error_t *err = rd_kafka_seek_partitions(e->consumer, l, LEDGER_TIMEOUT_MS);
    if (err) {
        SK_ERROR("partition %" PRId32 ": moving the consumer back after the restore failed: %s", p,
                 rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
    }
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].err)
            SK_ERROR("partition %" PRId32 ": seek of %s: %s", p, l->elems[i].topic,
                     rd_kafka_err2str(l->elems[i].err));
    rd_kafka_topic_partition_list_destroy(l);
    e->parts[p].stale_polled = true;
}

int sk_ledger_restore(sk_engine_t *e, int32_t p, int64_t epoch, bool seek)
{
    sk_ms_t t0 = sk_now_ms();
    sk_owned_t *o = &e->parts[p];
    int64_t lo = 0, hi = 0;
    replay_t r;
    sk_store_restore_t rs = {.partition = p, .epoch = epoch};
    const char *topics[SK_IN_TOPIC_COUNT];
    int64_t offs[SK_IN_TOPIC_COUNT];
    int rc;

    if (!o->failed_closed) /* said once per loss */
        SK_ERROR("partition %" PRId32 ": Redis is behind the ledger (state lost: flushed, "
                 "replaced or failed over); the partition stops and is restored from %s",
                 p, e->cfg.changelog_topic);
    if (!o->failed_closed) {
        char why[200];
        snprintf(why, sizeof(why),
                 "Redis is behind the ledger (state lost: flushed, replaced or failed over); "
                 "partition %" PRId32 " stops and is restored from %s",
                 p, e->cfg.changelog_topic);
        (void)sk_engine_audit(e, "state_lost", p, e->cfg.changelog_topic, why);
    }
    sk_emit_forget(e, p);
    o->epoch = 0;
    if (e->producer)
        rd_kafka_flush(e->producer, 2000); /* what is in flight lands before we read */
    replay_init(&r);
    if ((rc = watermarks(e, p, &lo, &hi)) != 0 ||
        (hi > lo && (rc = read_range(e, p, lo, hi, true, &r)) != 0))
        goto out;
    if ((rc = restore_writes(&r, sk_now_ms(), &rs)) != 0)
        goto out;
    for (int t = 0; t < SK_IN_TOPIC_COUNT; t++) {
        if (r.off[t] < 0)
            continue;
        topics[rs.n_offsets] = sk_in_topic_name(&e->cfg, t);
        offs[rs.n_offsets++] = r.off[t];
    }
    rs.topics = topics;
    rs.offsets = offs;
    rs.seq = r.seq > o->seq ? r.seq : o->seq;
    if ((rc = sk_store_restore(e->store, &rs)) != 0) {
        if (!o->failed_closed)
            SK_ERROR("partition %" PRId32 ": restore from %s refused by Redis: %s; it stays "
                     "stopped and is tried again",
                     p, e->cfg.changelog_topic, sk_store_last_error(e->store));
        /* Redis answers but refuses: fail closed (once per loss); a Redis
         * that does not answer is an outage, waited for like any other */
        if (sk_store_connected(e->store) && !o->failed_closed && e->producer) {
            o->failed_closed = true;
            (void)fail_closed(e, p, &r);
        }
        goto out;
    }
    o->epoch = epoch;
    o->seq = o->seq_next = rs.seq;
    o->lost = false;
    o->failed_closed = false;
    o->dirty = true; /* whatever the outbox still holds is re-sent */
    for (int t = 0; t < SK_IN_TOPIC_COUNT; t++) {
        o->in[t].applied_offset = o->ledger_off[t] = r.off[t];
        o->in[t].next_offset = r.off[t] + 1;
        o->in[t].commit_pending = false;
    }
    if (seek && e->consumer)
        seek_back(e, p);
    uint64_t ms = (uint64_t)(sk_now_ms() - t0);
    e->stats.restores++;
    e->stats.restored_users += rs.n_users;
    e->stats.restore_ms_last = ms;
    if (ms > e->stats.restore_ms_max)
        e->stats.restore_ms_max = ms;
    SK_ERROR("partition %" PRId32 ": restored from %s in %" PRIu64 " ms: %zu records read "
             "(%zu unreadable), %zu users, %zu on-call fields, step %" PRId64 ", epoch %" PRId64
             "; resuming (%s %" PRId64 ", %s %" PRId64 ", %s %" PRId64 ")",
             p, e->cfg.changelog_topic, ms, r.records, r.bad, rs.n_users, rs.n_oncall, rs.seq,
             epoch, sk_in_topic_name(&e->cfg, 0), r.off[0], sk_in_topic_name(&e->cfg, 1), r.off[1],
             sk_in_topic_name(&e->cfg, 2), r.off[2]);
    {
        char why[240];
        snprintf(why, sizeof(why),
                 "partition %" PRId32 " restored from %s in %" PRIu64 " ms: %zu users, step "
                 "%" PRId64 ", epoch %" PRId64,
                 p, e->cfg.changelog_topic, ms, rs.n_users, rs.seq, epoch);
        (void)sk_engine_audit(e, "restored", p, e->cfg.changelog_topic, why);
    }
out:
    replay_fini(&r);
    return rc;
}

int sk_ledger_check(sk_engine_t *e)
{
    int32_t parts[SK_MAX_PARTITIONS];
    int64_t epochs[SK_MAX_PARTITIONS], floors[SK_MAX_PARTITIONS];
    int rcs[SK_MAX_PARTITIONS];
    size_t n = 0;
    int rc;
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        const sk_owned_t *o = &e->parts[p];
        if (!o->owned || o->epoch <= 0 || o->lost)
            continue;
        parts[n] = p;
        epochs[n] = o->epoch;
        floors[n++] = o->seq;
    }
    if (n == 0)
        return 0;
    if ((rc = sk_store_check_many(e->store, n, parts, epochs, floors, rcs)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        sk_owned_t *o = &e->parts[parts[i]];
        if (rcs[i] == SK_ENOTFOUND) {
            SK_ERROR("partition %" PRId32 ": state lost in Redis (no epoch, an epoch below our "
                     "%" PRId64 " or a step below the ledger's %" PRId64
                     "); the partition stops until it is restored",
                     parts[i], o->epoch, o->seq);
            sk_emit_forget(e, parts[i]);
            o->lost = true;
        } else if (rcs[i] == SK_EFENCED) {
            char why[96];
            snprintf(why, sizeof(why), "fenced (our epoch %" PRId64 ")", o->epoch);
            sk_emit_let_go(e, parts[i], why);
        }
    }
    return 0;
}
