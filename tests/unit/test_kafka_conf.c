/* test_kafka_conf.c — --kafka-config settings reach the right client. */
#include <string.h>

#include "pipeline/kafka_conf.h"
#include "sk_test.h"

static const char *get(rd_kafka_conf_t *c, const char *name, char *buf, size_t len)
{
    size_t l = len;
    return rd_kafka_conf_get(c, name, buf, &l) == RD_KAFKA_CONF_OK ? buf : "(unset)";
}

TEST(scoped_settings_apply_to_their_client_only)
{
    static const char *const props[] = {"consumer:session.timeout.ms=7000", "client.id=both",
                                        "producer:linger.ms=42"};
    char err[256], buf[64];
    rd_kafka_conf_t *c = rd_kafka_conf_new(), *p = rd_kafka_conf_new();
    CHECK_INT(sk_kafka_conf_apply(c, "consumer", props, 3, err, sizeof(err)), 0);
    CHECK_INT(sk_kafka_conf_apply(p, "producer", props, 3, err, sizeof(err)), 0);
    CHECK_STR(get(c, "session.timeout.ms", buf, sizeof(buf)), "7000");
    CHECK_STR(get(c, "client.id", buf, sizeof(buf)), "both");
    CHECK_STR(get(p, "client.id", buf, sizeof(buf)), "both");
    CHECK_STR(get(p, "linger.ms", buf, sizeof(buf)), "42");
    CHECK(strcmp(get(c, "linger.ms", buf, sizeof(buf)), "42") != 0);
    CHECK(strcmp(get(p, "session.timeout.ms", buf, sizeof(buf)), "7000") != 0);
    rd_kafka_conf_destroy(c);
    rd_kafka_conf_destroy(p);
}

TEST(bad_settings_are_refused_with_a_reason)
{
    static const char *const bad_prefix[] = {"broker:linger.ms=1"};
    static const char *const no_value[] = {"linger.ms"};
    static const char *const unknown[] = {"no.such.setting=1"};
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    CHECK_INT(sk_kafka_conf_apply(c, "consumer", bad_prefix, 1, err, sizeof(err)), -1);
    CHECK_CONTAINS(err, "consumer: or producer:");
    CHECK_INT(sk_kafka_conf_apply(c, "consumer", no_value, 1, err, sizeof(err)), -1);
    CHECK_CONTAINS(err, "not name=value");
    CHECK_INT(sk_kafka_conf_apply(c, "consumer", unknown, 1, err, sizeof(err)), -1);
    CHECK_CONTAINS(err, "no.such.setting");
    rd_kafka_conf_destroy(c);
}

SK_TEST_MAIN(SK_TEST_CASE(scoped_settings_apply_to_their_client_only),
             SK_TEST_CASE(bad_settings_are_refused_with_a_reason))
