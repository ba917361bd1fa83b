/*
 * consume.c — the consumer group on the input topics (schedule, requests,
 * provisioning results; co-partitioned). Neither auto-commit nor the offset
 * store is used: emit.c commits the offsets by hand (asynchronously) once
 * the records are applied in Redis, where their outbox is staged in the same
 * atomic step, without waiting for Kafka to acknowledge that outbox (Redis
 * keeps it until then, and a new owner re-sends it). Redis holds the
 * authoritative applied offset of each partition: on assignment the
 * consumer starts right after it, and the apply script skips anything at or
 * below it anyway; the committed offset only matters when Redis has none.
 */
#include <inttypes.h>
#include <string.h>

#include "base/log.h"
#include "pipeline/engine_internal.h"
#include "pipeline/kafka_conf.h"

/* How long a revocation waits for Kafka to confirm what is staged before it
 * lets the partitions go (the next owner re-sends the rest). */
#define REVOKE_FLUSH_MS 5000

/*
 * Checks that the applied offset in Redis fits topic[p]: the next record to
 * consume (applied + 1) must lie between the low and high watermarks. When
 * it does not (the topic was recreated, the broker lost its data while
 * Redis kept its state, or records were deleted before they were applied),
 * consuming would skip records silently: the partition is stopped instead,
 * with an ERROR line and an engine audit record saying what to do, and
 * false is returned. Watermarks that cannot be read are logged, and the
 * offset is taken as it is (true); *unreadable is then set, and the later
 * partitions of the same assignment are not asked (one slow broker must not
 * hold the assignment for seconds per partition).
 */
static bool offsets_fit(sk_engine_t *e, const char *topic, int32_t p, int64_t applied,
                        bool *unreadable)
{
    int64_t lo = -1, hi = -1;
    char why[900];
    const char *prefix = e->cfg.redis.prefix ? e->cfg.redis.prefix : "sk";
    rd_kafka_resp_err_t err =
        *unreadable ? RD_KAFKA_RESP_ERR__TIMED_OUT
                    : rd_kafka_query_watermark_offsets(e->consumer, topic, p, &lo, &hi, 2000);
    if (err) {
        *unreadable = true;
        SK_WARN("%s[%" PRId32 "]: its watermarks cannot be read (%s): applied offset %" PRId64
                " not checked against the topic",
                topic, p, rd_kafka_err2str(err), applied);
        return true;
    }
    if (applied + 1 <= hi && applied + 1 >= lo)
        return true;
    if (applied + 1 > hi)
        snprintf(why, sizeof(why),
                 "%s[%" PRId32 "]: the offset applied in Redis (%" PRId64 ") is beyond the end "
                 "of the topic (offsets %" PRId64 "..%" PRId64 "): the topic was recreated, or "
                 "the broker lost its data while Redis kept its state; consuming would skip "
                 "its records. Partition %" PRId32 " is stopped. If the topic was recreated on "
                 "purpose, delete the applied offset (redis-cli HDEL '%s:{p%" PRId32 "}:offsets' "
                 "%s) and restart the engine to consume the new topic from its start; otherwise "
                 "point the engine at the right cluster or Redis",
                 topic, p, applied, lo, hi, p, prefix, p, topic);
    else
        snprintf(why, sizeof(why),
                 "%s[%" PRId32 "]: records %" PRId64 "..%" PRId64 " were deleted before they "
                 "were applied (the topic starts at %" PRId64 "; retention, or the topic was "
                 "recreated). Partition %" PRId32 " is stopped. Recover those records or accept "
                 "their loss (redis-cli HSET '%s:{p%" PRId32 "}:offsets' %s %" PRId64 ") and "
                 "restart the engine",
                 topic, p, applied + 1, lo - 1, lo, p, prefix, p, topic, lo - 1);
    SK_ERROR("%s", why);
    (void)sk_engine_audit(e, "partition_stopped", p, topic, why);
    e->stats.partitions_stopped++;
    return false;
}

/* On assignment: claim each partition, re-send its outbox and start after
 * its applied offset. On revocation: flush what is staged, then let go. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    sk_engine_t *e = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* the input topics are co-partitioned (range assignor, same
         * partition count): partition N of each comes together and is
         * claimed once */
        bool claimed[SK_MAX_PARTITIONS] = {false};
        rd_kafka_topic_partition_list_t *paused = NULL;
        bool unreadable = false;               /* the watermarks: not asked again after a failure */
        e->n_partitions = 0;                   /* topics may have grown: read again when needed */
        e->stats.assigned_at_ms = sk_now_ms(); /* recovery time is counted from here */
        /* claim the partitions first, their changelogs read in one pass */
        int32_t to_take[SK_MAX_PARTITIONS];
        int take_rcs[SK_MAX_PARTITIONS];
        size_t n_take = 0;
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            if (p < 0 || p >= SK_MAX_PARTITIONS ||
                sk_in_topic_index(&e->cfg, parts->elems[i].topic) < 0 || claimed[p])
                continue;
            sk_emit_forget(e, p);
            e->parts[p] = (sk_owned_t){.owned = true};
            for (int k = 0; k < SK_IN_TOPIC_COUNT; k++)
                e->parts[p].in[k].applied_offset = -1;
            claimed[p] = true;
            to_take[n_take++] = p;
        }
        sk_partition_take_many(e, to_take, n_take, take_rcs);
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            int32_t p = tp->partition;
            int t = sk_in_topic_index(&e->cfg, tp->topic);
            int64_t applied = -1;
            if (p < 0 || p >= SK_MAX_PARTITIONS || t < 0) {
                SK_ERROR("%s[%" PRId32 "] cannot be consumed (partition beyond %d or unknown "
                         "topic)",
                         tp->topic, p, SK_MAX_PARTITIONS);
                continue;
            }
            if (e->parts[p].epoch > 0 &&
                sk_store_applied_offset(e->store, p, tp->topic, &applied) == 0 && applied >= 0) {
                tp->offset = applied + 1;
                e->parts[p].in[t].applied_offset = applied;
                if (!e->parts[p].stopped && !offsets_fit(e, tp->topic, p, applied, &unreadable))
                    e->parts[p].stopped = true;
            } else if (e->parts[p].epoch > 0 && e->parts[p].seq > 0) {
                /* the partition has a ledger but nothing of this topic is
                 * applied (restored from a changelog that has none of it):
                 * the committed offset may be past records whose effect
                 * Redis lost, so start from the beginning */
                tp->offset = RD_KAFKA_OFFSET_BEGINNING;
            }
            if (applied >= 0)
                SK_INFO("assigned %s[%" PRId32 "] epoch %" PRId64
                        ", resuming after applied offset %" PRId64,
                        tp->topic, p, e->parts[p].epoch, applied);
            else
                SK_INFO("assigned %s[%" PRId32 "] epoch %" PRId64 ", nothing applied yet",
                        tp->topic, p, e->parts[p].epoch);
        }
        rd_kafka_assign(rk, parts);
        /* a stopped partition stays assigned (its timers and outbox go on)
         * but nothing of it is consumed until the operator acted */
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            if (p < 0 || p >= SK_MAX_PARTITIONS || !e->parts[p].stopped)
                continue;
            if (!paused)
                paused = rd_kafka_topic_partition_list_new(parts->cnt);
            rd_kafka_topic_partition_list_add(paused, parts->elems[i].topic, p);
        }
        if (paused) {
            rd_kafka_pause_partitions(rk, paused);
            rd_kafka_topic_partition_list_destroy(paused);
        }
    } else {
        (void)sk_emit_flush_within(e, -1, REVOKE_FLUSH_MS);
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            if (p >= 0 && p < SK_MAX_PARTITIONS) {
                sk_emit_forget(e, p);
                e->parts[p].owned = false;
            }
            SK_INFO("revoked %s[%" PRId32 "]", parts->elems[i].topic, p);
        }
        rd_kafka_assign(rk, NULL);
    }
}

int sk_consume_open(sk_engine_t *e, char *err, size_t err_len)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", e->cfg.brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", e->cfg.group_id, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "client.id", e->cfg.client_id, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "partition.assignment.strategy", "range", errstr, sizeof(errstr)) ||
        sk_kafka_conf_apply(conf, "consumer", e->cfg.kafka_props, e->cfg.n_kafka_props, errstr,
                            sizeof(errstr))) {
        snprintf(err, err_len, "consumer configuration: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SK_EINVAL;
    }
    if (e->cfg.fetch_wait_max_ms > 0) {
        char v[16];
        snprintf(v, sizeof(v), "%d", e->cfg.fetch_wait_max_ms);
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", v, errstr, sizeof(errstr));
    }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, sk_engine_metrics_kafka_error);
    rd_kafka_conf_set_opaque(conf, e);
    e->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!e->consumer) {
        snprintf(err, err_len, "consumer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SK_EINVAL;
    }
    conf = NULL; /* now owned by the consumer */
    rd_kafka_poll_set_consumer(e->consumer);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(SK_IN_TOPIC_COUNT);
    for (int t = 0; t < SK_IN_TOPIC_COUNT; t++)
        rd_kafka_topic_partition_list_add(topics, sk_in_topic_name(&e->cfg, t),
                                          RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rerr = rd_kafka_subscribe(e->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (rerr) {
        snprintf(err, err_len, "subscribe to %s, %s and %s: %s", e->cfg.schedule_topic,
                 e->cfg.requests_topic, e->cfg.results_topic, rd_kafka_err2str(rerr));
        return SK_EINVAL;
    }
    return 0;
}

void sk_consume_close(sk_engine_t *e)
{
    if (!e->consumer)
        return;
    rd_kafka_consumer_close(e->consumer); /* revokes: flushes and commits */
    rd_kafka_destroy(e->consumer);
    e->consumer = NULL;
}
