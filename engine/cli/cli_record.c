/*
 * cli_record.c — recorded input for `shiftkey replay`: read from the input
 * topics or from an exported file, written to a file (see cli_replay.h).
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_common.h"
#include "cli/cli_replay.h"
#include "cli/cli_task.h"

#define REC_MAGIC "shiftkey-recording 1\n"

int sk_recs_push(sk_recs_t *r, sk_rec_topic_t topic, sk_ms_t ts, const void *key, size_t key_len,
                 const void *value, size_t len)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        sk_rec_t *v = realloc(r->v, cap * sizeof(*v));
        if (!v)
            return SK_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    sk_rec_t *x = &r->v[r->n];
    x->topic = topic;
    x->ts_ms = ts;
    x->key = malloc(key_len + 1);
    x->value = malloc(len ? len : 1);
    if (!x->key || !x->value) {
        free(x->key);
        free(x->value);
        return SK_ENOMEM;
    }
    if (key_len)
        memcpy(x->key, key, key_len);
    x->key[key_len] = '\0';
    if (len)
        memcpy(x->value, value, len);
    x->len = len;
    r->n++;
    return 0;
}

static int rec_cmp(const void *a, const void *b)
{
    const sk_rec_t *x = a, *y = b;
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms ? -1 : 1;
    return x < y ? -1 : x > y; /* never equal: merge sort below keeps it stable */
}

/* A stable sort (merge sort): records of one millisecond keep their order. */
static void rec_msort(sk_rec_t *v, sk_rec_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    rec_msort(v, tmp, h);
    rec_msort(v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = v[j].ts_ms < v[i].ts_ms ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(*v));
}

void sk_recs_sort(sk_recs_t *r)
{
    sk_rec_t *tmp = malloc((r->n + 1) * sizeof(*tmp));
    if (tmp)
        rec_msort(r->v, tmp, r->n);
    else
        qsort(r->v, r->n, sizeof(*r->v), rec_cmp);
    free(tmp);
}

void sk_recs_free(sk_recs_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].key);
        free(r->v[i].value);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int sk_recs_write_file(const char *path, const sk_recs_t *r)
{
    FILE *f = fopen(path, "wb");
    int rc = SK_EIO;
    if (!f) {
        fprintf(stderr, "shiftkey replay: %s: %s\n", path, strerror(errno));
        return SK_EIO;
    }
    if (fputs(REC_MAGIC, f) == EOF)
        goto out;
    for (size_t i = 0; i < r->n; i++) {
        const sk_rec_t *x = &r->v[i];
        unsigned char h[13], l[4];
        size_t kl = strlen(x->key);
        h[0] = (unsigned char)x->topic;
        put_be(h + 1, (uint64_t)x->ts_ms, 8);
        put_be(h + 9, kl, 4);
        put_be(l, x->len, 4);
        if (fwrite(h, 1, 13, f) != 13 || fwrite(x->key, 1, kl, f) != kl ||
            fwrite(l, 1, 4, f) != 4 || fwrite(x->value, 1, x->len, f) != x->len)
            goto out;
    }
    rc = 0;
out:
    if (fclose(f) != 0)
        rc = SK_EIO;
    if (rc)
        fprintf(stderr, "shiftkey replay: cannot write %s: %s\n", path, strerror(errno));
    return rc;
}

int sk_recs_read_file(const char *path, sk_recs_t *out)
{
    FILE *f = fopen(path, "rb");
    char magic[sizeof(REC_MAGIC)];
    unsigned char *buf = NULL;
    size_t cap = 0;
    int rc = SK_EPARSE;
    if (!f) {
        fprintf(stderr, "shiftkey replay: %s: %s\n", path, strerror(errno));
        return SK_EIO;
    }
    if (fread(magic, 1, strlen(REC_MAGIC), f) != strlen(REC_MAGIC) ||
        memcmp(magic, REC_MAGIC, strlen(REC_MAGIC)) != 0) {
        fprintf(stderr, "shiftkey replay: %s: not a recording (shiftkey replay --export)\n", path);
        goto out;
    }
    for (size_t n = 0;; n++) {
        unsigned char h[13], l[4];
        size_t got = fread(h, 1, 13, f);
        if (got == 0 && feof(f))
            break;
        size_t kl = got == 13 ? (size_t)get_be(h + 9, 4) : 0;
        if (got != 13 || h[0] >= SK_REC_TOPIC_COUNT || kl > SK_ID_MAX)
            goto bad;
        unsigned char key[SK_ID_MAX + 1];
        if (fread(key, 1, kl, f) != kl || fread(l, 1, 4, f) != 4)
            goto bad;
        size_t len = (size_t)get_be(l, 4);
        if (len > 16 * 1024 * 1024)
            goto bad;
        if (len > cap) {
            unsigned char *b = realloc(buf, len);
            if (!b) {
                rc = SK_ENOMEM;
                goto out;
            }
            buf = b;
            cap = len;
        }
        if (fread(buf, 1, len, f) != len)
            goto bad;
        if ((rc = sk_recs_push(out, (sk_rec_topic_t)h[0], (sk_ms_t)get_be(h + 1, 8), key, kl, buf,
                               len)) != 0)
            goto out;
        rc = SK_EPARSE;
        continue;
    bad:
        fprintf(stderr, "shiftkey replay: %s: record %zu is truncated or damaged\n", path, n + 1);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

int sk_recs_read_kafka(const char *brokers, sk_ms_t since_ms, sk_ms_t until_ms, sk_recs_t *out)
{
    const char *topics[SK_REC_TOPIC_COUNT] = {sk_cli_topic(SK_TOPIC_SCHEDULE),
                                              sk_cli_topic(SK_TOPIC_REQUESTS),
                                              sk_cli_topic(SK_TOPIC_RESULTS)};
    rd_kafka_t *rk = sk_cli_consumer_new(brokers, 1);
    int rc = SK_EIO;
    if (!rk)
        return SK_EIO;
    int left = sk_cli_assign_topics(rk, topics, SK_REC_TOPIC_COUNT, 0, 10000);
    if (left < 0)
        goto out;
    rc = 0;
    sk_ms_t deadline = sk_now_ms() + 10000;
    while (left > 0 && rc == 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            if (sk_now_ms() > deadline) {
                fprintf(stderr, "shiftkey replay: the input topics were not read to their end "
                                "within 10 s of silence (is the broker up?)\n");
                rc = SK_EIO;
            }
            continue;
        }
        deadline = sk_now_ms() + 10000;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            left--;
        } else if (m->err) {
            fprintf(stderr, "shiftkey replay: %s\n", rd_kafka_message_errstr(m));
        } else {
            const char *t = rd_kafka_topic_name(m->rkt);
            sk_rec_topic_t k = SK_REC_TOPIC_COUNT;
            for (int i = 0; i < SK_REC_TOPIC_COUNT; i++)
                if (strcmp(t, topics[i]) == 0)
                    k = (sk_rec_topic_t)i;
            sk_ms_t ts = rd_kafka_message_timestamp(m, NULL);
            if (k != SK_REC_TOPIC_COUNT && ts >= since_ms && ts <= until_ms)
                rc = sk_recs_push(out, k, ts, m->key, m->key ? m->key_len : 0, m->payload, m->len);
        }
        rd_kafka_message_destroy(m);
    }
out:
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
