/*
 * emit.c — the outbox to Kafka, without waiting on the broker: each pass
 * produces the newly staged entries of every dirty partition as a chunk
 * (idempotent producer), and trims a partition's outbox by a chunk only once
 * every record of it, and of the chunks before it, was acknowledged. A
 * failed chunk makes the partition produce its outbox again from the head
 * (same bytes, same command ids). A record Kafka refuses for good (too
 * large, invalid) is not produced again: a small dead-letter notice takes
 * its place in the chunk (poison.c), with an ERROR line and an engine audit
 * record, and the records behind it go on — but a command that takes access
 * away is held and produced again until Kafka takes it (stuck.c). Within a
 * chunk, commands are
 * produced first. A crash anywhere re-sends what is staged
 * on restart: commands are delivered at least once and never lost.
 *
 * Chunks are heap objects referenced by the delivery reports of their
 * records (the report's opaque); a chunk leaves its partition's queue when
 * trimmed, or is orphaned when the partition is forgotten, and is freed when
 * its last report has arrived. Reports are served by rd_kafka_poll on the
 * engine's thread, so no locking is needed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/keyhash.h"
#include "pipeline/engine_internal.h"
#include "pipeline/kafka_conf.h"

#define FLUSH_CHUNK         1000
#define SK_OUTQ_MAX_BYTES   (4u * 1024 * 1024) /* per partition; past it, read back */
#define SK_OUTQ_KEEP_BYTES  (256u * 1024)      /* an empty queue keeps no more than this */
#define MAX_INFLIGHT        5000 /* entries of one partition produced, not yet trimmed */
#define DELIVERY_TIMEOUT_MS 30000
#define COMMIT_INTERVAL_MS  1000 /* input offsets, all partitions in one request */

/* A refused record that takes access away, copied until it is held (stuck.c). */
typedef struct held_copy {
    struct held_copy *next;
    int topic;
    size_t key_len, value_len;
    char why[160];
    unsigned char data[]; /* key, value */
} held_copy_t;

struct sk_chunk {
    sk_delivery_kind_t kind; /* SK_DELIVERY_CHUNK: first, see engine_internal.h */
    sk_chunk_t *next;
    int32_t partition;            /* whose outbox */
    size_t count;                 /* outbox entries it covers, after the chunks before it */
    size_t remaining;             /* delivery reports still to come */
    bool failed;                  /* a record may be cured by producing again: start over */
    bool orphan;                  /* no longer in a queue: free at the last report */
    bool noticed;                 /* its notices are produced: the reports to come are theirs */
    sk_poison_refusal_t *refused; /* records refused for good, awaiting their notice */
    held_copy_t *held;            /* refused commands that take access away, to hold */
};

/* Staged entries in outbox order, packed: topic (1 byte), key length and
 * value length (4 bytes each, host order), key, value. Consumed from head. */
struct sk_outq {
    unsigned char *buf;
    size_t head, len, cap;
    size_t count; /* entries between head and len */
};

static void outq_drop(sk_owned_t *o)
{
    if (o->outq)
        free(o->outq->buf);
    free(o->outq);
    o->outq = NULL;
    o->outq_valid = false;
}

void sk_emit_reread(sk_engine_t *e, int32_t p)
{
    outq_drop(&e->parts[p]);
}

/* Appends one entry; false when out of memory or past SK_OUTQ_MAX_BYTES. */
static bool outq_push(sk_outq_t *q, const sk_outbox_entry_t *x)
{
    size_t need = 9 + x->key_len + x->value_len;
    if (q->head == q->len)
        q->head = q->len = 0;
    if (q->len + need > q->cap) {
        if (q->head > 0) { /* move what is left to the front first */
            memmove(q->buf, q->buf + q->head, q->len - q->head);
            q->len -= q->head;
            q->head = 0;
        }
        size_t cap = q->cap ? q->cap : 64 * 1024;
        while (cap < q->len + need)
            cap *= 2;
        if (cap > SK_OUTQ_MAX_BYTES)
            return false;
        if (cap > q->cap) {
            unsigned char *b = realloc(q->buf, cap);
            if (!b)
                return false;
            q->buf = b;
            q->cap = cap;
        }
    }
    unsigned char *w = q->buf + q->len;
    uint32_t kl = (uint32_t)x->key_len, vl = (uint32_t)x->value_len;
    w[0] = (unsigned char)x->topic;
    memcpy(w + 1, &kl, 4);
    memcpy(w + 5, &vl, 4);
    if (kl)
        memcpy(w + 9, x->key, kl);
    if (vl)
        memcpy(w + 9 + kl, x->value, vl);
    q->len += need;
    q->count++;
    return true;
}

/* Up to max entries from the head, pointing into q's buffer (valid until
 * the next push), into arena memory; the head moves past them. */
static int outq_take(sk_outq_t *q, size_t max, sk_arena_t *a, sk_outbox_entry_t **out, size_t *n)
{
    size_t k = q->count < max ? q->count : max;
    *n = 0;
    if (!(*out = sk_arena_calloc(a, k + 1, sizeof(**out))))
        return SK_ENOMEM;
    for (size_t i = 0; i < k; i++) {
        const unsigned char *r = q->buf + q->head;
        uint32_t kl, vl;
        memcpy(&kl, r + 1, 4);
        memcpy(&vl, r + 5, 4);
        (*out)[i] = (sk_outbox_entry_t){(sk_out_topic_t)r[0], r + 9, kl, r + 9 + kl, vl};
        q->head += 9 + (size_t)kl + vl;
    }
    q->count -= k;
    *n = k;
    return 0;
}

/* After its entries were produced: an empty queue gives back a large buffer. */
static void outq_shrink(sk_outq_t *q)
{
    if (q->count || q->cap <= SK_OUTQ_KEEP_BYTES)
        return;
    free(q->buf);
    q->buf = NULL;
    q->head = q->len = q->cap = 0;
}

void sk_emit_staged(sk_engine_t *e, int32_t p, const sk_outbox_entry_t *out, size_t n)
{
    sk_owned_t *o = &e->parts[p];
    if (!o->outq_valid)
        return; /* read back from the outbox */
    for (size_t i = 0; i < n; i++)
        if (!outq_push(o->outq, &out[i])) {
            outq_drop(o); /* Redis has it all: read back from there */
            return;
        }
}

static void chunk_free(sk_chunk_t *c)
{
    for (sk_poison_refusal_t *r = c->refused, *next; r; r = next) {
        next = r->next;
        free(r);
    }
    for (held_copy_t *h = c->held, *next; h; h = next) {
        next = h->next;
        free(h);
    }
    free(c);
}

/* Remembers that Kafka refused a record of chunk c for good: its notice is
 * produced before the chunk is trimmed (retire); a command that takes access
 * away (sk_held_wanted) is held instead, never dropped. Out of memory, the
 * chunk is produced again instead. */
static void refused(sk_engine_t *e, sk_chunk_t *c, rd_kafka_resp_err_t err, const char *topic,
                    const void *key, size_t key_len, const void *value, size_t value_len)
{
    int ti = strcmp(topic, e->cfg.commands_topic) == 0 ? SK_OUT_COMMANDS : -1;
    if (ti == SK_OUT_COMMANDS && sk_held_wanted(e, ti, value, value_len)) {
        held_copy_t *h = malloc(sizeof(*h) + key_len + value_len);
        if (!h) {
            c->failed = true;
            return;
        }
        h->topic = ti;
        h->key_len = key_len;
        h->value_len = value_len;
        snprintf(h->why, sizeof(h->why), "%s: %s", topic, rd_kafka_err2str(err));
        memcpy(h->data, key, key_len);
        memcpy(h->data + key_len, value, value_len);
        h->next = c->held;
        c->held = h;
        return;
    }
    sk_poison_refusal_t *r = sk_poison_refusal_new(topic, c->partition, key, key_len, value,
                                                   value_len, rd_kafka_err2str(err));
    if (!r) {
        c->failed = true;
        return;
    }
    r->next = c->refused;
    c->refused = r;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sk_chunk_t *c = m->_private;
    bool purged =
        m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
    sk_engine_t *e = opaque;
    (void)rk;
    if (c && c->kind == SK_DELIVERY_HELD) { /* a held record produced again (stuck.c) */
        sk_held_report(e, m->_private, purged ? RD_KAFKA_RESP_ERR__PURGE_QUEUE : m->err);
        return;
    }
    if (!c) { /* produced outside the outbox, at most once: an engine audit
                 * record (engine_audit.c) */
        if (m->err && !purged)
            SK_ERROR("record to %s outside the outbox failed: %s", rd_kafka_topic_name(m->rkt),
                     rd_kafka_err2str(m->err));
        return;
    }
    if (m->err && sk_poison_permanent(m->err) && !c->noticed) {
        refused(e, c, m->err, rd_kafka_topic_name(m->rkt), m->key, m->key_len, m->payload, m->len);
    } else if (m->err && sk_poison_permanent(m->err)) {
        SK_ERROR("partition %" PRId32 ": the notice for a refused output was refused too "
                 "(%s); dropped, see the ERROR before",
                 c->partition, rd_kafka_err2str(m->err));
    } else if (m->err) {
        c->failed = true;
        if (!purged)
            SK_WARN("delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
                    rd_kafka_err2str(m->err));
    }
    if (--c->remaining == 0 && c->orphan)
        chunk_free(c);
}

/* Drops partition p's chunks from its queue: those still awaiting reports
 * are freed by the last one, the others now. */
void sk_emit_forget(sk_engine_t *e, int32_t p)
{
    sk_owned_t *o = &e->parts[p];
    for (sk_chunk_t *c = o->chunks, *next; c; c = next) {
        next = c->next;
        if (c->remaining)
            c->orphan = true;
        else
            chunk_free(c);
    }
    o->chunks = o->chunks_tail = NULL;
    o->inflight = 0;
    outq_drop(o);
    sk_state_cache_clear(e->cache, p);
}

int sk_emit_open(sk_engine_t *e, char *err, size_t err_len)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *names[SK_OUT_TOPIC_COUNT] = {e->cfg.commands_topic, e->cfg.audit_topic,
                                             e->cfg.deadletter_topic, e->cfg.tasks_topic,
                                             e->cfg.changelog_topic};
    if (rd_kafka_conf_set(conf, "bootstrap.servers", e->cfg.brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "client.id", e->cfg.client_id, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "partitioner", SK_PARTITIONER, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", "1", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "message.timeout.ms", "0", errstr, sizeof(errstr)) ||
        sk_kafka_conf_apply(conf, "producer", e->cfg.kafka_props, e->cfg.n_kafka_props, errstr,
                            sizeof(errstr))) {
        snprintf(err, err_len, "producer configuration: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SK_EINVAL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, sk_engine_metrics_kafka_error);
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
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++)
        sk_emit_forget(e, p);
    /* what is in flight gets until the stop deadline (10 s when not
     * stopping); the rest is purged: it stays staged in Redis and the next
     * owner produces it (a purge serves the last reports, which free the
     * orphans) */
    sk_ms_t left = e->stop_deadline ? e->stop_deadline - sk_now_ms() : 10000;
    rd_kafka_flush(e->producer, left > 0 ? (int)(left < 10000 ? left : 10000) : 0);
    if (rd_kafka_outq_len(e->producer) > 0) {
        SK_WARN("%d output records not confirmed by Kafka at exit: purged, they stay staged "
                "and are produced by the next owner",
                rd_kafka_outq_len(e->producer));
        rd_kafka_purge(e->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        for (int i = 0; i < 20 && rd_kafka_outq_len(e->producer) > 0; i++)
            rd_kafka_poll(e->producer, 50);
    }
    for (int i = 0; i < SK_OUT_TOPIC_COUNT; i++)
        if (e->out_topics[i])
            rd_kafka_topic_destroy(e->out_topics[i]);
    rd_kafka_destroy(e->producer);
    e->producer = NULL;
}

/* Produces one entry of partition p's outbox as a record of chunk c:
 * changelog records go to the changelog partition of the same number (the
 * ledger of p), the others by key. 0 when queued; 1 when Kafka refused it
 * at once for good (remembered in c: no report comes); SK_EIO for any other
 * error. */
static int produce_one(sk_engine_t *e, int32_t p, const sk_outbox_entry_t *o, sk_chunk_t *c)
{
    int32_t part = o->topic == SK_OUT_CHANGELOG ? p : RD_KAFKA_PARTITION_UA;
    for (;;) {
        if (sk_held_refuse_by_failpoint(e, o->topic, o->value, o->value_len)) {
            refused(e, c, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
                    rd_kafka_topic_name(e->out_topics[o->topic]), o->key, o->key_len, o->value,
                    o->value_len);
            return 1;
        }
        if (rd_kafka_produce(e->out_topics[o->topic], part, RD_KAFKA_MSG_F_COPY, (void *)o->value,
                             o->value_len, o->key, o->key_len, c) == 0)
            return 0;
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (sk_poison_permanent(err)) {
            refused(e, c, err, rd_kafka_topic_name(e->out_topics[o->topic]), o->key, o->key_len,
                    o->value, o->value_len);
            return 1;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            SK_WARN("produce failed: %s", rd_kafka_err2str(err));
            return SK_EIO;
        }
        rd_kafka_poll(e->producer, 10);
    }
}

/*
 * Produces the notices of chunk c's refused records (one small dead letter
 * each, naming what was dropped) as records of the same chunk, so the chunk
 * is trimmed only once they are acknowledged; each refusal is an ERROR line
 * (the alert) and an engine audit record. 0, or SK_ENOMEM (the chunk is then
 * produced again from the head).
 */
static int produce_notices(sk_engine_t *e, int32_t p, sk_chunk_t *c)
{
    sk_arena_t a;
    int rc = 0;
    sk_arena_init(&a, 8192);
    c->noticed = true;
    while (c->refused) {
        sk_poison_refusal_t *r = c->refused;
        sk_dead_letter_t dl;
        void *buf;
        size_t len;
        sk_arena_reset(&a);
        if ((rc = sk_poison_notice(&a, r, &dl)) != 0 ||
            (rc = sk_codec_encode_dead_letter(e->codec, &dl, &a, &buf, &len)) != 0) {
            c->failed = true;
            goto out;
        }
        SK_ERROR("partition %" PRId32 ": %s", p, dl.reason);
        (void)sk_engine_audit(e, "output_refused", p, r->topic_name, dl.reason);
        e->stats.outputs_refused++;
        sk_outbox_entry_t notice = {SK_OUT_DEADLETTER, dl.key, dl.key_len, buf, len};
        c->remaining++;
        int prc = produce_one(e, p, &notice, c);
        if (prc != 0) {
            c->remaining--;
            if (prc < 0)
                c->failed = true; /* produced again from the head, refused again, noticed */
            else
                SK_ERROR("partition %" PRId32 ": the notice was refused too; dropped", p);
        }
        c->refused = r->next;
        free(r);
    }
out:
    sk_arena_fini(&a);
    return rc;
}

/*
 * Commits the input offsets applied since the last commit, of every owned
 * partition, in one asynchronous request, at most every COMMIT_INTERVAL_MS
 * (force: now; the drains of a revocation or a stop). The committed offset
 * is only a hint: Redis holds the applied offset the consumer resumes
 * after, and the apply script skips what is at or below it, so a commit
 * later than the apply loses nothing; one request per interval instead of
 * one per partition per turn spares the broker (at 1,000 events/s that
 * was about one OffsetCommit per event).
 */
static void commit_offsets(sk_engine_t *e, bool force)
{
    sk_ms_t now = sk_now_ms();
    rd_kafka_topic_partition_list_t *l = NULL;
    if (!e->consumer || (!force && now < e->next_commit_ms))
        return;
    e->next_commit_ms = now + COMMIT_INTERVAL_MS;
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        sk_owned_t *o = &e->parts[p];
        if (!o->owned || o->lost)
            continue;
        for (int t = 0; t < SK_IN_TOPIC_COUNT; t++) {
            if (!o->in[t].commit_pending)
                continue;
            if (!l)
                l = rd_kafka_topic_partition_list_new(16);
            rd_kafka_topic_partition_list_add(l, sk_in_topic_name(&e->cfg, t), p)->offset =
                o->in[t].next_offset;
            o->in[t].commit_pending = false;
        }
    }
    if (!l)
        return;
    rd_kafka_resp_err_t err = rd_kafka_commit(e->consumer, l, 1 /* async */);
    e->stats.offset_commits++;
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        SK_DEBUG("offset commit of %d partitions: %s", l->cnt, rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Trims partition p's outbox by each chunk at the head of its queue whose
 * records were all acknowledged, or refused for good and replaced by their
 * acknowledged notices. After a failed chunk the partition starts over from
 * the head of its outbox. 0, SK_EIO or SK_EFENCED. */
static int retire(sk_engine_t *e, int32_t p)
{
    sk_owned_t *o = &e->parts[p];
    while (o->chunks && o->chunks->remaining == 0) {
        sk_chunk_t *c = o->chunks;
        if (c->failed) {
            SK_WARN("partition %" PRId32 ": %zu staged records were not all accepted by Kafka; "
                    "producing the outbox again from its head",
                    p, o->inflight);
            sk_emit_forget(e, p);
            o->dirty = true;
            return 0;
        }
        /* refused commands that take access away are held (in Redis, fenced)
         * before the chunk that staged them is trimmed */
        while (c->held) {
            held_copy_t *h = c->held;
            int hrc = sk_held_keep(e, p, h->topic, h->data, h->key_len, h->data + h->key_len,
                                   h->value_len, h->why, true);
            if (hrc)
                return hrc; /* kept in the chunk: tried again at the next pump */
            c->held = h->next;
            free(h);
        }
        if (c->refused) {
            (void)produce_notices(e, p, c);
            if (c->remaining || c->failed)
                return 0; /* trimmed once the notices are acknowledged */
        }
        sk_failpoint_before_trim(&e->failpoints);
        int rc = sk_store_outbox_trim(e->store, p, o->epoch, o->seq, c->count);
        if (rc)
            return rc;
        e->stats.outbox_produced += c->count;
        o->inflight -= c->count;
        o->chunks = c->next;
        if (!o->chunks)
            o->chunks_tail = NULL;
        chunk_free(c);
    }
    return 0;
}

/* Produces up to FLUSH_CHUNK newly staged entries of partition p as one
 * chunk: its commands first, then the other records (audit, dead letters,
 * tasks), each kind in outbox order, so a command never waits behind them.
 * The chunk is trimmed as a whole, so the order of production changes
 * nothing of what is staged. 0, SK_EIO or SK_ENOMEM. */
static int produce_staged(sk_engine_t *e, int32_t p, sk_arena_t *a)
{
    sk_owned_t *o = &e->parts[p];
    sk_outbox_entry_t *entries = NULL;
    size_t n = 0;
    int rc;
    if (o->inflight >= MAX_INFLIGHT)
        return 0;        /* let the acknowledgements catch up */
    if (o->outq_valid) { /* the steps' outputs, from memory */
        if ((rc = outq_take(o->outq, FLUSH_CHUNK, a, &entries, &n)) != 0)
            return rc;
        if (o->outq->count == 0)
            o->dirty = false;
    } else { /* after a claim or a failure: read back from the outbox */
        if ((rc =
                 sk_store_outbox_read_from(e->store, p, o->inflight, FLUSH_CHUNK, a, &entries, &n)))
            return rc;
        if (n < FLUSH_CHUNK) {
            o->dirty = false; /* everything staged is produced or in this chunk */
            /* the outbox's end is reached: what the next steps stage is
             * kept in memory from here on */
            outq_drop(o);
            if ((o->outq = calloc(1, sizeof(*o->outq))) != NULL)
                o->outq_valid = true;
        }
    }
    if (n == 0)
        return 0;
    sk_chunk_t *c = calloc(1, sizeof(*c));
    if (!c)
        return SK_ENOMEM;
    c->kind = SK_DELIVERY_CHUNK;
    c->partition = p;
    c->count = n;
    for (int pass = 0; pass < 2 && !c->failed; pass++) {
        for (size_t i = 0; i < n; i++) {
            if ((entries[i].topic == SK_OUT_COMMANDS) != (pass == 0))
                continue;
            c->remaining++;
            if ((rc = produce_one(e, p, &entries[i], c)) != 0) {
                c->remaining--;
                if (rc == 1)
                    continue;     /* refused for good: its notice comes at retire */
                c->failed = true; /* retire() starts the partition over */
                break;
            }
        }
    }
    if (o->outq_valid)
        outq_shrink(o->outq); /* its entries were copied by rd_kafka_produce */
    if (o->chunks_tail)
        o->chunks_tail->next = c;
    else
        o->chunks = c;
    o->chunks_tail = c;
    o->inflight += n;
    if (c->remaining == 0)
        return retire(e, p);
    return 0;
}

/* One pass of sk_emit_pump; force_commit: the offsets are committed now. */
/* What a partition's produce or retire returned: a newer owner is left the
 * partition, a lost state stops it until its restore (both then 0). */
static int settle(sk_engine_t *e, int32_t p, int rc)
{
    if (rc == SK_EFENCED) {
        sk_emit_let_go(e, p, sk_store_last_error(e->store));
        return 0;
    }
    if (rc == SK_ENOTFOUND) {
        /* the trim found the state lost (flushed, replaced, failed over):
         * the partition is restored before anything else uses it */
        SK_ERROR("%s", sk_store_last_error(e->store));
        sk_emit_forget(e, p);
        e->parts[p].lost = true;
        return 0;
    }
    return rc;
}

static int pump(sk_engine_t *e, bool force_commit)
{
    sk_arena_t a;
    int rc = 0;
    rd_kafka_poll(e->producer, 0); /* serve delivery reports */
    sk_arena_init(&a, 64 * 1024);
    /* what was staged leaves first; the trims of what Kafka acknowledged
     * (a Redis round trip each) come after it, not in front of it. A
     * partition whose oldest chunk failed waits for retire() below, which
     * makes it produce its outbox again from the head. */
    for (int32_t p = 0; p < SK_MAX_PARTITIONS && rc != SK_EIO; p++) {
        sk_owned_t *o = &e->parts[p];
        if (!o->owned || o->lost || !o->dirty ||
            (o->chunks && o->chunks->remaining == 0 && o->chunks->failed))
            continue; /* a lost partition waits for its restore */
        sk_arena_reset(&a);
        rc = settle(e, p, produce_staged(e, p, &a));
    }
    for (int32_t p = 0; p < SK_MAX_PARTITIONS && rc != SK_EIO; p++) {
        sk_owned_t *o = &e->parts[p];
        if (o->owned && !o->lost)
            rc = settle(e, p, retire(e, p));
    }
    sk_arena_fini(&a);
    commit_offsets(e, force_commit);
    /* held commands due for another try; a Redis error here is retried at
     * the next pump (the delivered entry stays until it is removed) */
    (void)sk_held_pump(e, sk_now_ms());
    return rc;
}

int sk_emit_pump(sk_engine_t *e)
{
    return pump(e, false);
}

/* True when partition p (or every owned one, p < 0) has nothing staged
 * that is not yet trimmed. */
static bool drained(const sk_engine_t *e, int32_t p)
{
    for (int32_t q = p < 0 ? 0 : p; q < (p < 0 ? SK_MAX_PARTITIONS : p + 1); q++) {
        const sk_owned_t *o = &e->parts[q];
        if (o->owned && !o->lost && (o->dirty || o->chunks))
            return false;
    }
    return true;
}

/* Pumps until drained, or timeout_ms passed, or the stop deadline. */
static int drain(sk_engine_t *e, int32_t p, int timeout_ms)
{
    sk_ms_t deadline = sk_now_ms() + timeout_ms;
    if (e->stop_deadline && deadline > e->stop_deadline)
        deadline = e->stop_deadline;
    for (;;) {
        int rc = pump(e, true); /* a revocation or a stop: what is applied is committed */
        if (rc)
            return rc;
        if (drained(e, p))
            return 0;
        if (sk_now_ms() >= deadline) {
            SK_WARN("outputs not confirmed by Kafka in time; they stay staged");
            return SK_EIO;
        }
        rd_kafka_poll(e->producer, 5);
    }
}

int sk_emit_flush_partition(sk_engine_t *e, int32_t p)
{
    e->parts[p].dirty = true;
    return drain(e, p, DELIVERY_TIMEOUT_MS);
}

int sk_emit_flush_all(sk_engine_t *e)
{
    return drain(e, -1, DELIVERY_TIMEOUT_MS);
}

int sk_emit_flush_within(sk_engine_t *e, int32_t p, int timeout_ms)
{
    if (p >= 0)
        e->parts[p].dirty = true;
    return drain(e, p, timeout_ms);
}

void sk_emit_let_go(sk_engine_t *e, int32_t p, const char *why)
{
    SK_WARN("partition %" PRId32 ": %s; leaving it to its new owner", p, why);
    sk_emit_forget(e, p);
    e->parts[p].owned = false;
    e->stats.fenced++;
}
