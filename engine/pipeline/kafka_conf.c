/* kafka_conf.c — extra librdkafka settings per client (see kafka_conf.h). */
#include "pipeline/kafka_conf.h"

#include <stdio.h>
#include <string.h>

int sk_kafka_conf_apply(rd_kafka_conf_t *conf, const char *scope, const char *const *props,
                        size_t n, char *err, size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        char name[256];
        const char *prop = props[i];
        /* "consumer:name=value" and "producer:name=value" apply to one client */
        const char *colon = strchr(prop, ':'), *eq = strchr(prop, '=');
        if (colon && eq && colon < eq) {
            size_t sl = (size_t)(colon - prop);
            if (!((sl == 8 && strncmp(prop, "consumer", 8) == 0) ||
                  (sl == 8 && strncmp(prop, "producer", 8) == 0))) {
                snprintf(err, err_len, "'%s': the prefix must be consumer: or producer:", prop);
                return -1;
            }
            if (strncmp(prop, scope, sl) != 0)
                continue;
            prop = colon + 1;
        }
        eq = strchr(prop, '=');
        if (!eq || eq == prop || (size_t)(eq - prop) >= sizeof(name)) {
            snprintf(err, err_len, "'%s' is not name=value", props[i]);
            return -1;
        }
        memcpy(name, prop, (size_t)(eq - prop));
        name[eq - prop] = '\0';
        if (rd_kafka_conf_set(conf, name, eq + 1, err, err_len) != RD_KAFKA_CONF_OK)
            return -1;
    }
    return 0;
}
