/*
 * emit.c — the outbox to Kafka: produce every staged record of a partition
 * with an idempotent producer, wait until the broker has them all, then trim
 * the outbox and commit the input offset. A crash anywhere in between
 * re-sends the same bytes (same command ids) on restart: commands are
 * delivered at least once and never lost.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"

#define FLUSH_CHUNK 1000
#define DELIVERY_TIMEOUT_MS 30000

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sk_engine_t *e = opaque;
    (void)rk;
    if (m->err) {
        e->delivery_errors++;
        SK_WARN("delivery to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    }
}

int sk_emit_open(sk_engine_t *e, char *err, size_t err_len)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *names[SK_OUT_TOPIC_COUNT] = {e->cfg.commands_topic, e->cfg.audit_topic,
                                             e->cfg.deadletter_topic};
    if (rd_kafka_conf_set(conf, "bootstrap.servers", e->cfg.brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "client.id", e->cfg.client_id, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", "1", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", "0", errstr, sizeof(errstr)) ||
        sk_kafka_conf_apply(conf, "producer", e->cfg.kafka_props, e->cfg.n_kafka_props, errstr,
                            sizeof(errstr))) {
        snprintf(err, err_len, "producer configuration: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SK_EINVAL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, e);
    e->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!e->producer) {
        snprintf(err, err_len, "producer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SK_EINVAL;
    }
    conf = NULL; /* now owned by the producer */
    for (int i = 0; i < SK_OUT_TOPIC_COUNT; i++)
        e->out_topics[i] = rd_kafka_topic_new(e->producer, names[i], NULL);
    return 0;
}

void sk_emit_close(sk_engine_t *e)
{
    if (!e->producer)
        return;
    rd_kafka_flush(e->producer, 10000);
    for (int i = 0; i < SK_OUT_TOPIC_COUNT; i++)
        if (e->out_topics[i])
            rd_kafka_topic_destroy(e->out_topics[i]);
    rd_kafka_destroy(e->producer);
    e->producer = NULL;
}

static int produce_one(sk_engine_t *e, const sk_outbox_entry_t *o)
{
    for (;;) {
        if (rd_kafka_produce(e->out_topics[o->topic], RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                             (void *)o->value, o->value_len, o->key, o->key_len, NULL) == 0)
            return 0;
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            SK_WARN("produce failed: %s", rd_kafka_err2str(rd_kafka_last_error()));
            return SK_EIO;
        }
        rd_kafka_poll(e->producer, 10);
    }
}

static void commit_offset(sk_engine_t *e, int32_t p)
{
    sk_owned_t *o = &e->parts[p];
    if (!o->commit_pending || !e->consumer)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, e->cfg.schedule_topic, p)->offset = o->next_offset;
    rd_kafka_resp_err_t err = rd_kafka_commit(e->consumer, l, 1 /* async */);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        SK_DEBUG("offset commit of partition %" PRId32 ": %s", p, rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
    o->commit_pending = false;
}

/* Produces the staged outbox of each listed partition (up to FLUSH_CHUNK
 * entries each), waits once for the broker to acknowledge all of them, then
 * trims each outbox by what was produced and commits its input offset.
 * Partitions with more staged stay dirty. 0, SK_EIO or SK_EFENCED. */
static int flush_set(sk_engine_t *e, const int32_t *ps, size_t n_ps)
{
    sk_arena_t a;
    size_t *counts = calloc(n_ps + 1, sizeof(*counts)), total = 0;
    int rc = 0;
    if (!counts)
        return SK_ENOMEM;
    sk_arena_init(&a, 64 * 1024);
    e->delivery_errors = 0;
    for (size_t i = 0; i < n_ps; i++) {
        sk_outbox_entry_t *entries = NULL;
        if ((rc = sk_store_outbox_read(e->store, ps[i], FLUSH_CHUNK, &a, &entries, &counts[i])))
            goto out;
        for (size_t k = 0; k < counts[i]; k++)
            if ((rc = produce_one(e, &entries[k])) != 0)
                goto out;
        total += counts[i];
    }
    if (total) {
        rd_kafka_flush(e->producer, DELIVERY_TIMEOUT_MS);
        if (e->delivery_errors || rd_kafka_outq_len(e->producer) > 0) {
            SK_WARN("%zu staged records not confirmed by Kafka; they stay staged and will be "
                    "sent again",
                    total);
            rc = SK_EIO;
            goto out;
        }
        sk_engine_failpoint_before_trim(e);
    }
    for (size_t i = 0; i < n_ps; i++) {
        int32_t p = ps[i];
        if (counts[i] && (rc = sk_store_outbox_trim(e->store, p, e->parts[p].epoch, counts[i])))
            goto out;
        e->stats.outbox_produced += counts[i];
        e->parts[p].dirty = counts[i] == FLUSH_CHUNK; /* more may be staged */
        commit_offset(e, p);
    }
out:
    sk_arena_fini(&a);
    free(counts);
    return rc;
}

int sk_emit_flush_partition(sk_engine_t *e, int32_t p)
{
    int rc = 0;
    e->parts[p].dirty = true;
    while (rc == 0 && e->parts[p].dirty)
        rc = flush_set(e, &p, 1);
    return rc;
}

int sk_emit_flush_all(sk_engine_t *e)
{
    int32_t ps[SK_MAX_PARTITIONS];
    int rc = 0;
    for (;;) {
        size_t n = 0;
        for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
            sk_owned_t *o = &e->parts[p];
            if (!o->owned)
                continue;
            if (o->dirty)
                ps[n++] = p;
            else if (o->commit_pending)
                commit_offset(e, p);
        }
        if (n == 0)
            return 0;
        rc = flush_set(e, ps, n);
        if (rc == SK_EFENCED) {
            /* the trim found a newer owner: find out which, let it go */
            for (size_t i = 0; i < n; i++)
                if (sk_store_outbox_trim(e->store, ps[i], e->parts[ps[i]].epoch, 0) == SK_EFENCED)
                    e->parts[ps[i]].owned = false;
            continue;
        }
        if (rc)
            return rc;
    }
}
