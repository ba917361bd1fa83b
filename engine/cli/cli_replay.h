/*
 * cli_replay.h — `shiftkey replay`: recorded input decided with the rules in
 * force and with new rules side by side, in memory, and the differences
 * (cli_replay.c, the recording in cli_record.c).
 */
#ifndef SK_CLI_REPLAY_H
#define SK_CLI_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/sk.h"

/*
 * sk_cli_replay — argv[0] is "replay". Returns 0 when the two rule sets
 * decide the recording alike, 1 when anything differs (or, with --export
 * only, on failure), 2 on a usage error or when the input or the rules
 * cannot be read.
 */
int sk_cli_replay(int argc, char **argv);

/* ---- the recording: input records in time order (cli_record.c) ---- */

typedef enum sk_rec_topic {
    SK_REC_SCHEDULE = 0,
    SK_REC_REQUESTS = 1,
    SK_REC_RESULTS = 2,
    SK_REC_TOPIC_COUNT
} sk_rec_topic_t;

typedef struct sk_rec {
    sk_rec_topic_t topic;
    sk_ms_t ts_ms; /* the Kafka record's timestamp: when it was published */
    char *key;     /* NUL-terminated copy; "" when none */
    void *value;
    size_t len;
} sk_rec_t;

typedef struct sk_recs {
    sk_rec_t *v;
    size_t n, cap;
} sk_recs_t;

/* Appends a record (key and value copied). 0 or SK_ENOMEM. */
int sk_recs_push(sk_recs_t *r, sk_rec_topic_t topic, sk_ms_t ts, const void *key, size_t key_len,
                 const void *value, size_t len);

/* Sorts by time (stable: records of one time keep their order). */
void sk_recs_sort(sk_recs_t *r);

void sk_recs_free(sk_recs_t *r);

/*
 * sk_recs_read_file / sk_recs_write_file — the export format: the line
 * "shiftkey-recording 1\n", then per record a topic byte (sk_rec_topic_t),
 * the time (8 bytes), the key length (4) and key, the value length (4) and
 * value, integers big-endian. Reading appends; 0, or SK_EPARSE / SK_EIO
 * with the reason on stderr.
 */
int sk_recs_read_file(const char *path, sk_recs_t *out);
int sk_recs_write_file(const char *path, const sk_recs_t *r);

/*
 * sk_recs_read_kafka — appends every record of the three input topics
 * (names as configured for the CLI) published between since_ms and
 * until_ms inclusive, reading each partition from its beginning to its end.
 * 0, or SK_EIO with the reason on stderr.
 */
int sk_recs_read_kafka(const char *brokers, sk_ms_t since_ms, sk_ms_t until_ms, sk_recs_t *out);

#endif
