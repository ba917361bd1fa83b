/* emit.c — schedule events to Kafka, waiting for acknowledgement (see emit.h). */
#include "emit.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/keyfile.h"
#include "codec/codec.h"

struct sk_conn_emitter {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    sk_codec_t *codec;
    /* delivery reports of the send in progress */
    size_t delivered, failed;
    rd_kafka_resp_err_t first_err;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    sk_conn_emitter_t *em = opaque;
    if (m->err) {
        if (!em->failed++)
            em->first_err = m->err;
    } else {
        em->delivered++;
    }
}

sk_conn_emitter_t *sk_conn_emitter_new(const char *brokers, const char *topic,
                                       const char *const *props, size_t n_props, char *err,
                                       size_t errlen)
{
    sk_conn_emitter_t *em = calloc(1, sizeof(*em));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char e[512];
    if (!em || !conf)
        goto fail_conf;
    rd_kafka_conf_set_opaque(conf, em);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    const char *base[][2] = {{"bootstrap.servers", brokers},
                             {"enable.idempotence", "true"},
                             {"acks", "all"},
                             /* the one partitioner of shiftkey: the engine refuses a
                              * record off its key's murmur2 partition */
                             {"partitioner", "murmur2_random"},
                             {"linger.ms", "5"},
                             {"message.timeout.ms", "30000"},
                             {"log_level", "3"}};
    for (size_t i = 0; i < SK_ARRAY_LEN(base); i++)
        if (rd_kafka_conf_set(conf, base[i][0], base[i][1], e, sizeof(e)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka: %s", e);
            goto fail_conf;
        }
    for (size_t i = 0; i < n_props; i++) {
        char name[256];
        const char *eq = strchr(props[i], '=');
        if (!eq || eq == props[i] || (size_t)(eq - props[i]) >= sizeof(name)) {
            snprintf(err, errlen, "--kafka-config '%s': expected NAME=VALUE", props[i]);
            goto fail_conf;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(eq - props[i]), props[i]);
        if (rd_kafka_conf_set(conf, name, eq + 1, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "--kafka-config %s: %s", name, e);
            goto fail_conf;
        }
    }
    /* credentials (SASL, TLS) from a file, never the command line */
    const char *cred = getenv("SHIFTKEY_KAFKA_CONFIG_FILE");
    if (cred && *cred) {
        char *set[64];
        size_t n_set = 0;
        int bad = sk_keyfile_read_settings(cred, set, SK_ARRAY_LEN(set), &n_set, e, sizeof(e));
        if (bad)
            snprintf(err, errlen, "$SHIFTKEY_KAFKA_CONFIG_FILE: %s", e);
        for (size_t i = 0; i < n_set; i++) {
            char *eq = strchr(set[i], '=');
            *eq = '\0';
            if (!bad && rd_kafka_conf_set(conf, set[i], eq + 1, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
                snprintf(err, errlen, "$SHIFTKEY_KAFKA_CONFIG_FILE: %s: %s", set[i], e);
                bad = 1;
            }
            free(set[i]);
        }
        if (bad)
            goto fail_conf;
    }
    em->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!em->rk) {
        snprintf(err, errlen, "kafka: %s", e);
        goto fail_conf;
    }
    conf = NULL; /* now owned by rk */
    em->rkt = rd_kafka_topic_new(em->rk, topic, NULL);
    em->codec = sk_codec_new();
    if (!em->rkt || !em->codec) {
        snprintf(err, errlen, "cannot create the producer for %s", topic);
        sk_conn_emitter_destroy(em);
        return NULL;
    }
    return em;
fail_conf:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(em);
    return NULL;
}

void sk_conn_emitter_destroy(sk_conn_emitter_t *em)
{
    if (!em)
        return;
    if (em->rk)
        rd_kafka_flush(em->rk, 5000);
    if (em->rkt)
        rd_kafka_topic_destroy(em->rkt);
    if (em->rk)
        rd_kafka_destroy(em->rk);
    sk_codec_destroy(em->codec);
    free(em);
}

int sk_conn_emitter_ping(sk_conn_emitter_t *em, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(em->rk, 0, em->rkt, &md, timeout_ms);
    if (md)
        rd_kafka_metadata_destroy(md);
    return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : SK_EIO;
}

int sk_conn_emitter_send(sk_conn_emitter_t *em, const sk_conn_events_t *evs, int timeout_ms,
                         char *err, size_t errlen)
{
    sk_arena_t arena;
    int rc = 0;
    size_t produced = 0;
    void **bufs = NULL;
    size_t *lens = NULL;
    if (evs->n == 0)
        return 0;
    sk_arena_init(&arena, 16384);
    bufs = calloc(evs->n, sizeof(*bufs));
    lens = calloc(evs->n, sizeof(*lens));
    if (!bufs || !lens) {
        rc = SK_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* encode everything first: an event that cannot be encoded sends nothing */
    for (size_t i = 0; i < evs->n; i++)
        if (sk_codec_encode_schedule(em->codec, &evs->v[i].ev, &arena, &bufs[i], &lens[i]) != 0) {
            snprintf(err, errlen, "cannot encode the event for shift '%s' of '%s'",
                     evs->v[i].ev.shift_id, evs->v[i].ev.user);
            rc = SK_EINVAL;
            goto out;
        }
    em->delivered = em->failed = 0;
    em->first_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (size_t i = 0; i < evs->n; i++) {
        const char *key = evs->v[i].ev.user;
        for (;;) {
            if (rd_kafka_produce(em->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, bufs[i],
                                 lens[i], key, strlen(key), NULL) == 0)
                break;
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                snprintf(err, errlen, "kafka: cannot produce: %s",
                         rd_kafka_err2str(rd_kafka_last_error()));
                rc = SK_EIO;
                goto wait;
            }
            rd_kafka_poll(em->rk, 100);
        }
        produced++;
    }
wait:
    rd_kafka_flush(em->rk, timeout_ms);
    if (rc == 0 && (em->failed || em->delivered < produced)) {
        snprintf(err, errlen, "kafka: %zu of %zu events not acknowledged: %s",
                 produced - em->delivered, produced,
                 em->failed ? rd_kafka_err2str(em->first_err) : "timed out (is the broker up?)");
        rc = SK_EIO;
    }
out:
    free(bufs);
    free(lens);
    sk_arena_fini(&arena);
    return rc;
}
