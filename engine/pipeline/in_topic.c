/* in_topic.c — input topic names <-> indexes (see in_topic.h). */
#include "pipeline/in_topic.h"

#include <string.h>

int sk_in_topic_index(const sk_engine_config_t *cfg, const char *name)
{
    if (strcmp(name, cfg->schedule_topic) == 0)
        return SK_IN_SCHEDULE;
    if (strcmp(name, cfg->requests_topic) == 0)
        return SK_IN_REQUESTS;
    if (strcmp(name, cfg->results_topic) == 0)
        return SK_IN_RESULTS;
    return -1;
}

const char *sk_in_topic_name(const sk_engine_config_t *cfg, int t)
{
    return t == SK_IN_REQUESTS  ? cfg->requests_topic
           : t == SK_IN_RESULTS ? cfg->results_topic
                                : cfg->schedule_topic;
}
