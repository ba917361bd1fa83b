/*
 * partition.c — owning a partition of the input topics: the claim in Redis
 * (a new owner epoch, which fences the previous owner) followed by the
 * re-send of whatever the partition's outbox holds, and the partition count
 * of the input topics from the cluster's metadata.
 */
#include <inttypes.h>
#include <string.h>

#include "base/log.h"
#include "pipeline/engine_internal.h"

/* Reads the applied offsets of partition p from Redis into what the engine
 * knows (the claim at runtime, when the assignment could not). */
static int read_offsets(sk_engine_t *e, int32_t p)
{
    for (int t = 0; t < SK_IN_TOPIC_COUNT; t++) {
        int64_t a = -1;
        int rc = sk_store_applied_offset(e->store, p, sk_in_topic_name(&e->cfg, t), &a);
        if (rc)
            return rc;
        if (a > e->parts[p].in[t].applied_offset)
            e->parts[p].in[t].applied_offset = a;
        e->parts[p].ledger_off[t] = e->parts[p].in[t].applied_offset;
    }
    return 0;
}

/* Claims p; restores it first when Redis is behind the ledger (the
 * changelog's last step, or the last one we know applied). */
static int take(sk_engine_t *e, int32_t p, bool seek, const int64_t *known_tail)
{
    sk_owned_t *o = &e->parts[p];
    int64_t ledger = 0, redis = 0, epoch = 0;
    int rc;
    /* a claim (and a restore) starts from what Redis holds: the users'
     * cached states and the staged entries in memory are dropped */
    sk_state_cache_clear(e->cache, p);
    sk_emit_reread(e, p);
    if (known_tail)
        ledger = *known_tail;
    else if ((rc = sk_ledger_tail(e, p, &ledger)) != 0) {
        o->epoch = 0; /* claim again before first use */
        return rc;
    }
    if ((rc = sk_store_claim_above(e->store, p, o->epoch + 1, &epoch, &redis)) != 0) {
        /* a lost partition in a Redis that answers but refuses writes
         * (read-only, out of memory) cannot be restored: the restore fails
         * closed */
        if (o->lost && sk_store_connected(e->store))
            (void)sk_ledger_restore(e, p, o->epoch + 1, seek);
        o->epoch = 0;
        return rc;
    }
    if (o->seq > ledger)
        ledger = o->seq;
    if (redis < ledger) {
        if ((rc = sk_ledger_restore(e, p, epoch, seek)) != 0)
            return rc;
    } else {
        o->epoch = epoch;
        o->lost = false; /* an epoch alone was lost: the state is not behind */
        o->seq = o->seq_next = redis;
        if ((rc = read_offsets(e, p)) != 0) {
            o->epoch = 0;
            return rc;
        }
    }
    /* whatever a previous owner staged is produced by the next pumps, before
     * anything staged after it (the outbox is read from its head); the claim
     * does not wait for Kafka, so a partition whose outputs Kafka does not
     * confirm never holds up the others */
    o->dirty = true;
    o->due_known = false; /* its earliest timer is read again (timers.c) */
    /* state decided with other rules (or rules unknown: a restore, an
     * unreadable mark) is decided again before it is relied on (sweep.c) */
    char mark[64];
    if (sk_store_rules_mark_get(e->store, p, mark, sizeof(mark)) != 0 ||
        strcmp(mark, sk_rules_version(e->rules)) != 0)
        o->rules_unknown = true;
    /* commands a previous owner held (Kafka refused them) go on being tried */
    if ((rc = sk_held_load(e, p)) != 0) {
        o->epoch = 0; /* claim again before first use */
        return rc;
    }
    return 0;
}

int sk_partition_take(sk_engine_t *e, int32_t p)
{
    return take(e, p, false, NULL);
}

void sk_partition_take_many(sk_engine_t *e, const int32_t *ps, size_t n, int *rcs)
{
    int64_t seqs[SK_MAX_PARTITIONS];
    int rc = n ? sk_ledger_tail_many(e, ps, n, seqs) : 0;
    for (size_t i = 0; i < n; i++) {
        rcs[i] = rc ? rc : take(e, ps[i], false, &seqs[i]);
        if (rc)
            e->parts[ps[i]].epoch = 0; /* claim again before first use */
    }
}

int sk_partition_ensure(sk_engine_t *e, int32_t p)
{
    if (e->parts[p].epoch > 0 && !e->parts[p].lost)
        return 0;
    return take(e, p, true, NULL);
}

int sk_partition_count(sk_engine_t *e, int32_t *n)
{
    const struct rd_kafka_metadata *md = NULL;
    if (e->n_partitions > 0) {
        *n = e->n_partitions;
        return 0;
    }
    rd_kafka_topic_t *t = rd_kafka_topic_new(e->consumer, e->cfg.schedule_topic, NULL);
    rd_kafka_resp_err_t err =
        t ? rd_kafka_metadata(e->consumer, 0, t, &md, 5000) : RD_KAFKA_RESP_ERR__FAIL;
    if (t)
        rd_kafka_topic_destroy(t);
    if (err || !md || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        SK_WARN("partition count of %s: %s", e->cfg.schedule_topic,
                err                        ? rd_kafka_err2str(err)
                : md && md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err)
                                           : "no metadata");
        if (md)
            rd_kafka_metadata_destroy(md);
        return SK_EIO;
    }
    e->n_partitions = md->topics[0].partition_cnt;
    if (e->n_partitions > SK_MAX_PARTITIONS)
        e->n_partitions = SK_MAX_PARTITIONS;
    rd_kafka_metadata_destroy(md);
    *n = e->n_partitions;
    return 0;
}
