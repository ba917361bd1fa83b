/*
 * kafka_conf.h — the operator's extra librdkafka settings (--kafka-config,
 * "name=value"), set on the consumer's or the producer's configuration.
 */
#ifndef SK_KAFKA_CONF_H
#define SK_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/*
 * sk_kafka_conf_apply — sets the "name=value" settings props[0..n) on conf,
 * the configuration of the client `scope` ("consumer" or "producer"). A
 * setting prefixed "consumer:" or "producer:" applies to that client only
 * (and is skipped for the other); others apply to both. Returns 0, or -1
 * with the reason in err (a malformed setting, an unknown prefix, or
 * librdkafka refusing the name or value); settings before the bad one stay
 * set on conf.
 */
int sk_kafka_conf_apply(rd_kafka_conf_t *conf, const char *scope, const char *const *props,
                        size_t n, char *err, size_t err_len);

#endif
