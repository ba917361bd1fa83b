/*
 * cli_common.h — what every `shiftkey` command shares and that belongs to
 * no one command: the topic names in force for this run and JSON output.
 * The bottom of the CLI: it calls nothing else of cli/.
 */
#ifndef SK_CLI_COMMON_H
#define SK_CLI_COMMON_H

#include <stdio.h>

#include "base/topics.h"

/*
 * sk_cli_topics_take — takes the global topic options out of argv (the
 * daemon's names, base/topics.h: `--requests-topic NAME` or
 * `--requests-topic=NAME`, anywhere on the line), shifting the rest down
 * and updating *argc, so that one setting names a renamed topic for the
 * daemon and the CLI alike. Keeps pointers into argv. Returns 0, or 2 (a
 * usage error, said on stderr) when an option lacks its value.
 */
int sk_cli_topics_take(int *argc, char **argv);

/*
 * sk_cli_topic — the name of topic t for this run: the option given to
 * sk_cli_topics_take, else $SHIFTKEY_<OPTION> (SHIFTKEY_REQUESTS_TOPIC ...),
 * else the default. Borrowed from argv, the environment or static storage.
 */
const char *sk_cli_topic(sk_topic_t t);

/* Writes s as a JSON string literal (quoted, escaped). */
void sk_cli_json_str(FILE *out, const char *s);

#endif
