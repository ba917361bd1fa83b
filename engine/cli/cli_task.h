/*
 * cli_task.h — what the CLI's request and task commands share
 * (cli_request.c, cli_task.c, cli_tasklist.c): the acting user, publishing
 * several records at once, and reading the tasks topic from its beginning.
 * Every function returns process exit codes or 0 / -1 as documented.
 */
#ifndef SK_CLI_TASK_H
#define SK_CLI_TASK_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/keyfile.h"
#include "codec/event.h"

#include "cli/cli_common.h"

/* $SHIFTKEY_USER, else $USER; NULL when neither is set. Borrowed from the
 * environment. */
const char *sk_cli_default_actor(void);

/* One record to publish; `ok` is set by sk_cli_produce_many. */
typedef struct sk_cli_record {
    const char *key;
    const void *val;
    size_t len;
    int ok; /* 1 once the broker acknowledged it */
    const sk_signing_key_t *sign; /* signs it ("sk-sig" header) when not NULL */
} sk_cli_record_t;

/* Publishes n records on `topic` with one producer (murmur2 partitioner,
 * each record signed by its `sign` key) and waits (up to 10 s)
 * for every acknowledgement. Sets recs[i].ok; returns the number that
 * failed, each with its reason on stderr (0: all acknowledged). */
size_t sk_cli_produce_many(const char *brokers, const char *topic, sk_cli_record_t *recs,
                           size_t n);

/* A consumer for reading by assignment (no group membership: its group id
 * is private and nothing is committed); with partition_eof it reports the
 * end of each partition. NULL with the reason on stderr. */
rd_kafka_t *sk_cli_consumer_new(const char *brokers, int partition_eof);

/* Assigns every partition of the n topics to rk: from its current end
 * (from_end: only what comes next), else from its beginning, skipping
 * empty partitions. A topic that does not exist is skipped. Returns the
 * number of partitions assigned, or -1 with the reason on stderr. */
int sk_cli_assign_topics(rd_kafka_t *rk, const char *const *topics, size_t n, int from_end,
                         int timeout_ms);

/* Every TaskEvent on shiftkey.tasks.v1, in offset order per partition (so
 * the events of one task, one subject, are in order). Strings live in
 * `arena`. */
typedef struct sk_cli_tasks {
    sk_arena_t arena;
    sk_task_t *v;
    size_t n, cap;
    size_t undecodable; /* records skipped */
} sk_cli_tasks_t;

/* Reads the tasks topic from the beginning up to its end as of now (every
 * partition), within timeout_ms. 0, or -1 with the reason on stderr (broker
 * unreachable, timeout). A topic that does not exist yet reads as empty.
 * Free with sk_cli_tasks_free, also after a failure. */
int sk_cli_tasks_read(const char *brokers, int timeout_ms, sk_cli_tasks_t *out);
void sk_cli_tasks_free(sk_cli_tasks_t *t);

/* The latest event of the task `task_id`, else the latest event of any
 * task of the request `request_id`; NULL when the topic has neither. Points
 * into t. */
const sk_task_t *sk_cli_tasks_find(const sk_cli_tasks_t *t, const char *id);

/* One task on stdout: a JSON object (no newline; fields as in `task list -o
 * json`), or a table row (with a newline) under the header line; `now`
 * gives the AGE column. */
void sk_cli_print_task_json(const sk_task_t *t);
void sk_cli_print_task_header(void);
void sk_cli_print_task_row(const sk_task_t *t, sk_ms_t now);

/* `shiftkey task list` and `shiftkey task show` (cli_tasklist.c); argv[0]
 * is "list" / "show". Exit codes: 0, 1 (show found nothing, broker
 * unreachable), 2 usage. */
int sk_cli_task_list(int argc, char **argv);
int sk_cli_task_show(int argc, char **argv);

#endif
