/*
 * topics.h — the one table of shiftkey's Kafka topics: what each carries,
 * its default name, and the option that renames it. The daemon's options
 * (--schedule-topic ...), the CLI's global options of the same names, the
 * environment variables SHIFTKEY_<OPTION> (SHIFTKEY_SCHEDULE_TOPIC ...) and
 * the connectors all come from here, so a deployment that renames a topic
 * renames it for every program with the same setting.
 */
#ifndef SK_TOPICS_H
#define SK_TOPICS_H

#include <stddef.h>

/* X(ID, option, default name, what it carries) */
#define SK_TOPICS(X)                                                                               \
    X(SCHEDULE, "schedule-topic", "shiftkey.schedule.v1", "input: shift events")                   \
    X(REQUESTS, "requests-topic", "shiftkey.requests.v1",                                          \
      "input: access requests and reviewers' actions (same partition count as the schedule "       \
      "topic)")                                                                                    \
    X(RESULTS, "results-topic", "shiftkey.provisioning.results.v1",                                \
      "input: provisioners' results, keyed by user (same partition count as the schedule topic)")  \
    X(COMMANDS, "commands-topic", "shiftkey.commands.v1", "output: GRANT/REVOKE/EXTEND commands")  \
    X(AUDIT, "audit-topic", "shiftkey.audit.v1", "output: one record per decision")                \
    X(DEADLETTER, "deadletter-topic", "shiftkey.deadletter.v1",                                    \
      "output: invalid input with the reason")                                                     \
    X(TASKS, "tasks-topic", "shiftkey.tasks.v1",                                                   \
      "output: review, provisioning and revocation tasks (created, updated, closed)")              \
    X(CHANGELOG, "changelog-topic", "shiftkey.changelog.v1",                                       \
      "ledger: users' state and applied offsets, Redis is restored from it (compacted, same "      \
      "partition count as the schedule topic)")

typedef enum sk_topic {
#define SK_TOPIC_ENUM(id, opt, name, doc) SK_TOPIC_##id,
    SK_TOPICS(SK_TOPIC_ENUM)
#undef SK_TOPIC_ENUM
        SK_TOPIC_COUNT
} sk_topic_t;

typedef struct sk_topic_def {
    const char *option;       /* "schedule-topic": --schedule-topic */
    const char *env;          /* "SHIFTKEY_SCHEDULE_TOPIC" */
    const char *default_name; /* "shiftkey.schedule.v1" */
    const char *doc;          /* one line for --help */
} sk_topic_def_t;

/* The row of topic t (t < SK_TOPIC_COUNT); a static, never NULL. */
const sk_topic_def_t *sk_topic_def(sk_topic_t t);

/*
 * sk_topic_env_name — the name of topic t as the environment sets it
 * ($SHIFTKEY_<OPTION>, when set and not empty), else its default name.
 * Reads the environment; the result is owned by it or is static.
 */
const char *sk_topic_env_name(sk_topic_t t);

/*
 * sk_topic_by_option — the topic whose option is `option` (without the
 * leading "--", e.g. "requests-topic", compared over `len` bytes), or -1.
 */
int sk_topic_by_option(const char *option, size_t len);

#endif
