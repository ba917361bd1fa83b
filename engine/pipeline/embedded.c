/* embedded.c — librdkafka's mock cluster as an embedded broker (embedded.h). */
#include "pipeline/embedded.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sk_embedded {
    rd_kafka_t *rk; /* owns the mock cluster's thread */
    rd_kafka_mock_cluster_t *mcluster;
};

static int write_file_atomic(const char *path, const char *text, char *err, size_t len)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, len, "cannot write the bootstrap address to %s", path);
        return -1;
    }
    return 0;
}

sk_embedded_t *sk_embedded_start(int partitions, const char *const *topics, size_t n_topics,
                                 const char *bootstrap_file, char *err, size_t err_len)
{
    char errstr[512];
    sk_embedded_t *emb = calloc(1, sizeof(*emb));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!emb || !conf)
        goto fail;
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    emb->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!emb->rk) {
        snprintf(err, err_len, "embedded broker: %s", errstr);
        goto fail;
    }
    conf = NULL; /* now owned by emb->rk */
    emb->mcluster = rd_kafka_mock_cluster_new(emb->rk, 1);
    if (!emb->mcluster) {
        snprintf(err, err_len, "embedded broker: cannot start librdkafka's mock cluster");
        goto fail;
    }
    for (size_t i = 0; i < n_topics; i++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(emb->mcluster, topics[i], partitions, 1);
        if (e) {
            snprintf(err, err_len, "embedded broker: cannot create topic %s: %s", topics[i],
                     rd_kafka_err2str(e));
            goto fail;
        }
    }
    if (bootstrap_file &&
        write_file_atomic(bootstrap_file, rd_kafka_mock_cluster_bootstraps(emb->mcluster), err,
                          err_len))
        goto fail;
    return emb;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    sk_embedded_stop(emb);
    return NULL;
}

const char *sk_embedded_bootstraps(const sk_embedded_t *emb)
{
    return rd_kafka_mock_cluster_bootstraps(emb->mcluster);
}

void sk_embedded_stop(sk_embedded_t *emb)
{
    if (!emb)
        return;
    if (emb->mcluster)
        rd_kafka_mock_cluster_destroy(emb->mcluster);
    if (emb->rk)
        rd_kafka_destroy(emb->rk);
    free(emb);
}
