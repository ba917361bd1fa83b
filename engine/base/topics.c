/*
 * topics.c — the table of topics (topics.h).
 */
#include <stdlib.h>
#include <string.h>

#include "base/sk.h"
#include "base/topics.h"

static const sk_topic_def_t TOPICS[SK_TOPIC_COUNT] = {
#define SK_TOPIC_ROW(id, opt, name, doc)                                                           \
    [SK_TOPIC_##id] = {opt, "SHIFTKEY_" #id "_TOPIC", name, doc},
    SK_TOPICS(SK_TOPIC_ROW)
#undef SK_TOPIC_ROW
};

const sk_topic_def_t *sk_topic_def(sk_topic_t t)
{
    return &TOPICS[(unsigned)t < SK_TOPIC_COUNT ? t : 0];
}

const char *sk_topic_env_name(sk_topic_t t)
{
    const sk_topic_def_t *d = sk_topic_def(t);
    const char *v = getenv(d->env);

    return v && *v ? v : d->default_name;
}

int sk_topic_by_option(const char *option, size_t len)
{
    for (int t = 0; t < SK_TOPIC_COUNT; t++)
        if (strlen(TOPICS[t].option) == len && strncmp(TOPICS[t].option, option, len) == 0)
            return t;
    return -1;
}
