/*
 * stuck.c — commands that take access away are never dropped. A REVOKE or
 * an EXTEND (which may shorten a grant) that Kafka refuses for good (too
 * large, invalid record: sk_poison_permanent) is *held*: kept in the
 * partition's held list in Redis (sk:{pN}:held, written fenced before the
 * outbox entry is trimmed, so a crash loses nothing) and in memory, and
 * produced again with backoff (1 s doubling to 60 s) until Kafka takes it,
 * each refusal an ERROR line, the first an engine audit record
 * `output_held`; shiftkey_commands_held counts them and /readyz answers
 * not ready while any is held. The partition's other outputs flow
 * meanwhile: the held copy left the outbox. A new owner of the partition
 * loads its held list at the claim and goes on retrying.
 *
 * The fail-closed REVOKEs of a partition whose state was lost and could
 * not be restored (ledger.c) go through the same list, in memory only
 * (Redis refuses writes then): retried until Kafka takes them.
 *
 * A GRANT refused for good is not held: no access is given (fail closed);
 * its dead-letter notice (emit.c) is keyed by the user and names the
 * command, with the engine audit record `output_refused` and an ERROR line.
 *
 * Entries are heap objects owned by e->held; a produce in flight keeps its
 * entry (the report finds it by id). Single-threaded: reports are served
 * by rd_kafka_poll on the engine's thread.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "pipeline/engine_internal.h"

#define HELD_BACKOFF_MIN_MS 1000
#define HELD_BACKOFF_MAX_MS 60000

struct sk_held {
    sk_held_t *next;
    uint64_t id;
    int32_t partition;
    bool persisted; /* in the partition's held list in Redis */
    bool inflight, delivered;
    unsigned refusals; /* Kafka refused it this many times */
    int backoff_ms;
    sk_ms_t next_try;
    char why[256];
    size_t key_len, value_len;
    unsigned char *blob; /* topic (1 byte), key length (4, big-endian), key, value */
    size_t blob_len;
};

bool sk_held_wanted(sk_engine_t *e, int topic, const void *value, size_t value_len)
{
    if (topic != SK_OUT_COMMANDS)
        return false;
    sk_command_action_t action;
    char reason[128];
    /* only the action is read (a GRANT with a resource over the decoder's
     * input limits is still a GRANT); a command whose action cannot be read
     * is held: when in doubt, keep it */
    return sk_codec_command_action(e->codec, value, value_len, &action, reason, sizeof(reason)) !=
               0 ||
           action != SK_CMD_GRANT;
}

bool sk_held_refuse_by_failpoint(sk_engine_t *e, int topic, const void *value, size_t len)
{
    if (e->failpoints.refuse_takeaway <= 0 || !sk_held_wanted(e, topic, value, len))
        return false;
    e->failpoints.refuse_takeaway--;
    return true;
}

/* The opaque of a held record produced again: its entry's id (the entry
 * may be gone when the report comes). Heap; freed by sk_held_report. */
typedef struct held_ticket {
    sk_delivery_kind_t kind; /* SK_DELIVERY_HELD: first, see engine_internal.h */
    uint64_t id;
} held_ticket_t;

/* Produces entry h's record again (changelog records to partition p,
 * others by key): 0 when queued, else the Kafka error. */
static int produce(sk_engine_t *e, const sk_held_t *h)
{
    uint32_t kl = (uint32_t)h->blob[1] << 24 | (uint32_t)h->blob[2] << 16 |
                  (uint32_t)h->blob[3] << 8 | h->blob[4];
    int topic = h->blob[0];
    if (5 + (size_t)kl > h->blob_len || topic >= SK_OUT_TOPIC_COUNT || !e->producer)
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    const unsigned char *key = h->blob + 5, *value = key + kl;
    size_t value_len = h->blob_len - 5 - kl;
    if (sk_held_refuse_by_failpoint(e, topic, value, value_len))
        return RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
    held_ticket_t *t = malloc(sizeof(*t));
    if (!t)
        return RD_KAFKA_RESP_ERR__FAIL;
    t->kind = SK_DELIVERY_HELD;
    t->id = h->id;
    if (rd_kafka_produce(e->out_topics[topic],
                         topic == SK_OUT_CHANGELOG ? h->partition : RD_KAFKA_PARTITION_UA,
                         RD_KAFKA_MSG_F_COPY, (void *)value, value_len, (void *)key, kl, t) != 0) {
        free(t);
        return rd_kafka_last_error();
    }
    return 0;
}

/* A report for entry id: 0 taken, else a Kafka error. */
static void report(sk_engine_t *e, uint64_t id, int err);

void sk_held_report(sk_engine_t *e, void *ticket, int err)
{
    held_ticket_t *t = ticket;
    uint64_t id = t->id;
    free(t);
    report(e, id, err);
}

static sk_held_t *find_blob(sk_engine_t *e, int32_t p, const void *blob, size_t len)
{
    for (sk_held_t *h = e->held; h; h = h->next)
        if (h->partition == p && h->blob_len == len && memcmp(h->blob, blob, len) == 0)
            return h;
    return NULL;
}

/* Adds a held entry for the packed record (copied); NULL when out of memory. */
static sk_held_t *add(sk_engine_t *e, int32_t p, const void *blob, size_t len, bool persisted,
                      const char *why)
{
    sk_held_t *h = calloc(1, sizeof(*h));
    if (!h || !(h->blob = malloc(len))) {
        free(h);
        return NULL;
    }
    memcpy(h->blob, blob, len);
    h->blob_len = len;
    h->id = ++e->held_ids;
    h->partition = p;
    h->persisted = persisted;
    h->backoff_ms = HELD_BACKOFF_MIN_MS;
    h->next_try = 0; /* at the next pump */
    snprintf(h->why, sizeof(h->why), "%s", why);
    h->next = e->held;
    e->held = h;
    return h;
}

int sk_held_keep(sk_engine_t *e, int32_t p, int topic, const void *key, size_t key_len,
                 const void *value, size_t value_len, const char *why, bool persist)
{
    size_t len = 5 + key_len + value_len;
    unsigned char *blob = malloc(len);
    int rc = 0;
    if (!blob)
        return SK_ENOMEM;
    blob[0] = (unsigned char)topic;
    blob[1] = (unsigned char)(key_len >> 24);
    blob[2] = (unsigned char)(key_len >> 16);
    blob[3] = (unsigned char)(key_len >> 8);
    blob[4] = (unsigned char)key_len;
    memcpy(blob + 5, key, key_len);
    memcpy(blob + 5 + key_len, value, value_len);
    sk_held_t *h = find_blob(e, p, blob, len);
    if (persist && (rc = sk_store_held_add(e->store, p, e->parts[p].epoch, blob, len)) != 0)
        goto out;
    if (h) {
        h->persisted |= persist;
        goto out;
    }
    if (!(h = add(e, p, blob, len, persist, why))) {
        rc = SK_ENOMEM;
        goto out;
    }
    if (persist) { /* a refusal: the alert */
        h->refusals = 1;
        h->next_try = sk_now_ms() + h->backoff_ms;
        SK_ERROR("partition %" PRId32 ": a command that takes access away was refused by Kafka "
                 "(%s); held and produced again with backoff, never dropped",
                 p, why);
        (void)sk_engine_audit(e, "output_held", p, e->cfg.commands_topic, h->why);
    }
out:
    free(blob);
    return rc;
}

int sk_held_load(sk_engine_t *e, int32_t p)
{
    sk_arena_t a;
    void **blobs = NULL;
    size_t *lens = NULL, n = 0;
    int rc;
    sk_arena_init(&a, 16 * 1024);
    if ((rc = sk_store_held_read(e->store, p, &a, &blobs, &lens, &n)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] < 5) {
            SK_ERROR("partition %" PRId32 ": a held entry of %zu bytes cannot be read; left "
                     "in Redis",
                     p, lens[i]);
            continue;
        }
        sk_held_t *h = find_blob(e, p, blobs[i], lens[i]);
        if (h) {
            h->persisted = true;
        } else if (!add(e, p, blobs[i], lens[i], true, "held by a previous owner")) {
            rc = SK_ENOMEM;
            goto out;
        } else {
            e->held->refusals = 1;
        }
    }
    if (n)
        SK_ERROR("partition %" PRId32 ": %zu held command(s) taken over; producing them again", p,
                 n);
out:
    sk_arena_fini(&a);
    return rc;
}

static void report(sk_engine_t *e, uint64_t id, int err)
{
    for (sk_held_t *h = e->held; h; h = h->next) {
        if (h->id != id)
            continue;
        h->inflight = false;
        if (!err) {
            h->delivered = true;
            SK_WARN("partition %" PRId32 ": a held command was taken by Kafka after %u "
                    "refusal(s)",
                    h->partition, h->refusals);
            return;
        }
        h->refusals++;
        h->next_try = sk_now_ms() + h->backoff_ms;
        SK_ERROR("partition %" PRId32 ": held command refused again (%s, %u time(s)); next "
                 "try in %d ms",
                 h->partition, rd_kafka_err2str(err), h->refusals, h->backoff_ms);
        h->backoff_ms =
            h->backoff_ms * 2 > HELD_BACKOFF_MAX_MS ? HELD_BACKOFF_MAX_MS : h->backoff_ms * 2;
        return;
    }
}

size_t sk_held_count(const sk_engine_t *e)
{
    size_t n = 0;
    for (const sk_held_t *h = e->held; h; h = h->next)
        n += !h->delivered && h->refusals > 0;
    return n;
}

int sk_held_pump(sk_engine_t *e, sk_ms_t now)
{
    int rc = 0;
    for (sk_held_t **pp = &e->held, *h; (h = *pp) != NULL;) {
        if (h->delivered) {
            if (h->persisted) {
                int drc = sk_store_held_del(e->store, h->partition, e->parts[h->partition].epoch,
                                            h->blob, h->blob_len);
                if (drc && drc != SK_EFENCED) { /* Redis away: removed at a later pump */
                    rc = drc;
                    pp = &h->next;
                    continue;
                }
                /* fenced: the new owner holds its own copy (same bytes) */
            }
            *pp = h->next;
            free(h->blob);
            free(h);
            continue;
        }
        if (!h->inflight && now >= h->next_try) {
            int prc = produce(e, h);
            if (prc == 0)
                h->inflight = true;
            else
                report(e, h->id, prc);
        }
        pp = &h->next;
    }
    e->stats.commands_held = sk_held_count(e);
    return rc;
}

void sk_held_destroy(sk_engine_t *e)
{
    for (sk_held_t *h = e->held, *next; h; h = next) {
        next = h->next;
        free(h->blob);
        free(h);
    }
    e->held = NULL;
}
