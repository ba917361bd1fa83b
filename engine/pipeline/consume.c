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
        e->n_partitions = 0; /* topics may have grown: read again when needed */
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
            if (!claimed[p]) {
                sk_emit_forget(e, p);
                e->parts[p] = (sk_owned_t){.owned = true};
                for (int k = 0; k < SK_IN_TOPIC_COUNT; k++)
                    e->parts[p].in[k].applied_offset = -1;
                (void)sk_partition_take(e, p);
                claimed[p] = true;
            }
            if (e->parts[p].epoch > 0 &&
                sk_store_applied_offset(e->store, p, tp->topic, &applied) == 0 && applied >= 0) {
                tp->offset = applied + 1;
                e->parts[p].in[t].applied_offset = applied;
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
    } else {
        (void)sk_emit_flush_all(e);
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
        rd_kafka_conf_set(conf, "partition.assignment.strategy", "range", errstr,
                          sizeof(errstr)) ||
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
