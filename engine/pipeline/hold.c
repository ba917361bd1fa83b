/*
 * hold.c — a topic-partition held back because one of its records cannot
 * be decided yet, though it may well be good: the schema registry that
 * knows its writer schema did not answer (connect error, timeout, 5xx).
 * Such a record is not a dead letter (issue 15: an outage must not turn
 * good records into dead letters). The consumer is paused on that
 * topic-partition and moved back to the record; after a backoff (0.5 s,
 * doubling up to 30 s) it is resumed and the record decoded again. The
 * other partitions, the timers and the outboxes go on meanwhile. A
 * definite answer (404, a schema that cannot be resolved) stays a dead
 * letter saying why (codec_resolve.c).
 */
#include <inttypes.h>

#include "base/log.h"
#include "pipeline/engine_internal.h"

#define HOLD_MIN_MS 500
#define HOLD_MAX_MS 30000

/* Pauses or resumes topic t of partition p, moving it to `offset` first
 * when offset >= 0. */
static void set_paused(sk_engine_t *e, int32_t p, int t, bool pause, int64_t offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_add(l, sk_in_topic_name(&e->cfg, t), p);
    rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(e->consumer, l)
                                    : rd_kafka_resume_partitions(e->consumer, l);
    if (err || tp->err)
        SK_ERROR("%s[%" PRId32 "]: %s: %s", tp->topic, p, pause ? "pause" : "resume",
                 rd_kafka_err2str(err ? err : tp->err));
    if (pause && offset >= 0) {
        tp->offset = offset;
        tp->err = RD_KAFKA_RESP_ERR_NO_ERROR;
        rd_kafka_error_t *se = rd_kafka_seek_partitions(e->consumer, l, 5000);
        if (se || tp->err)
            SK_ERROR("%s[%" PRId32 "]: moving back to offset %" PRId64 " failed: %s", tp->topic, p,
                     offset, se ? rd_kafka_error_string(se) : rd_kafka_err2str(tp->err));
        if (se)
            rd_kafka_error_destroy(se);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

int sk_hold_start(sk_engine_t *e, int32_t p, int t, int64_t offset, const char *why)
{
    sk_hold_t *h = &e->parts[p].hold[t];
    const char *topic = sk_in_topic_name(&e->cfg, t);
    h->backoff_ms = h->backoff_ms ? h->backoff_ms * 2 : HOLD_MIN_MS;
    if (h->backoff_ms > HOLD_MAX_MS)
        h->backoff_ms = HOLD_MAX_MS;
    if (!h->logged)
        SK_WARN("%s[%" PRId32 "]@%" PRId64 " held, not dead-lettered: %s; this partition waits "
                "(retried with backoff up to %d ms), the others go on",
                topic, p, offset, why ? why : "not yet decodable", HOLD_MAX_MS);
    h->logged = true;
    h->on = true;
    h->offset = offset;
    h->until = sk_now_ms() + h->backoff_ms;
    if (e->m.records)
        sk_metric_add(e->m.records, 1, topic, "held");
    if (e->consumer)
        set_paused(e, p, t, true, offset);
    return 0;
}

bool sk_hold_active(const sk_engine_t *e, int32_t p, int t)
{
    return e->parts[p].hold[t].on;
}

void sk_hold_ok(sk_engine_t *e, int32_t p, int t)
{
    sk_hold_t *h = &e->parts[p].hold[t];
    if (h->logged)
        SK_INFO("%s[%" PRId32 "]@%" PRId64 " decoded after being held; the partition goes on",
                sk_in_topic_name(&e->cfg, t), p, h->offset);
    h->logged = false;
    h->backoff_ms = 0;
}

void sk_hold_release_due(sk_engine_t *e, sk_ms_t now)
{
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        if (!e->parts[p].owned)
            continue;
        for (int t = 0; t < SK_IN_TOPIC_COUNT; t++) {
            sk_hold_t *h = &e->parts[p].hold[t];
            if (!h->on || now < h->until)
                continue;
            h->on = false;
            if (e->consumer && !e->parts[p].stopped)
                set_paused(e, p, t, false, -1);
        }
    }
}
