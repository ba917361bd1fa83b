/*
 * in_topic.h — the engine's input topics: an index per topic, and the
 * configured name of each (sk_engine_config_t).
 */
#ifndef SK_IN_TOPIC_H
#define SK_IN_TOPIC_H

#include "pipeline/engine.h"

/* The input topics, co-partitioned: partition N of each belongs to the
 * same owner and shares the partition's Redis keys. */
typedef enum sk_in_topic {
    SK_IN_SCHEDULE = 0,
    SK_IN_REQUESTS = 1,
    SK_IN_RESULTS = 2, /* shiftkey.provisioning.results.v1 */
    SK_IN_TOPIC_COUNT
} sk_in_topic_t;

/* The index (sk_in_topic_t) of the input topic called `name` in cfg, or -1
 * when it is none of them. */
int sk_in_topic_index(const sk_engine_config_t *cfg, const char *name);

/* The configured name of input topic t (never NULL once cfg has its
 * defaults; an index out of range gives the schedule topic). */
const char *sk_in_topic_name(const sk_engine_config_t *cfg, int t);

#endif
