/*
 * partition.c — owning a partition of the input topics: the claim in Redis
 * (a new owner epoch, which fences the previous owner) followed by the
 * re-send of whatever the partition's outbox holds, and the partition count
 * of the input topics from the cluster's metadata.
 */
#include <inttypes.h>

#include "base/log.h"
#include "pipeline/engine_internal.h"

int sk_partition_take(sk_engine_t *e, int32_t p)
{
    int rc = sk_store_claim(e->store, p, &e->parts[p].epoch);
    if (rc) {
        e->parts[p].epoch = 0; /* claim again before first use */
        return rc;
    }
    /* whatever a previous owner staged is produced by the next pumps, before
     * anything staged after it (the outbox is read from its head); the claim
     * does not wait for Kafka, so a partition whose outputs Kafka does not
     * confirm never holds up the others */
    e->parts[p].dirty = true;
    return 0;
}

int sk_partition_ensure(sk_engine_t *e, int32_t p)
{
    if (e->parts[p].epoch > 0)
        return 0;
    return sk_partition_take(e, p);
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
    if (err || !md || md->topic_cnt != 1 || md->topics[0].err ||
        md->topics[0].partition_cnt <= 0) {
        SK_WARN("partition count of %s: %s", e->cfg.schedule_topic,
                err ? rd_kafka_err2str(err)
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
