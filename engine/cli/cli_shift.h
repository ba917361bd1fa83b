/*
 * cli_shift.h — `shiftkey shift ...` (publish a schedule event, the manual
 * connector) and `shiftkey watch` (follow commands or dead letters).
 * Each returns the process exit code: 0 ok, 1 failed, 2 usage error.
 */
#ifndef SK_CLI_SHIFT_H
#define SK_CLI_SHIFT_H

#include <stddef.h>
#include <stdio.h>

#include "cli/cli_common.h"

int sk_cli_shift(int argc, char **argv);
int sk_cli_watch(int argc, char **argv);
/* Publishes one record keyed by `key` and waits for the broker's
 * acknowledgement. 0, or 1 with the reason on stderr. */
int sk_cli_produce(const char *brokers, const char *topic, const char *key, const void *val,
                   size_t len);

/* `shiftkey request` (cli_request.c); `shiftkey task`, `shiftkey escalate ID`
 * (the same as `task escalate`) and `shiftkey revoke USER TARGET`
 * (cli_task.c). argv[0] is the command's own name. */
int sk_cli_request(int argc, char **argv);
int sk_cli_task(int argc, char **argv);
int sk_cli_escalate(int argc, char **argv);
int sk_cli_revoke(int argc, char **argv);

/* `shiftkey grants [USER]`: live grants and their sources (cli_grants.c). */
int sk_cli_grants(int argc, char **argv);

/* Parses "now", "+90s", "-5m", an ISO-8601 UTC time "2026-11-23T10:00:00Z"
 * or a number of ms since the epoch, relative to now_ms. 0 or SK_EINVAL. */
int sk_cli_parse_time(const char *text, long long now_ms, long long *out_ms);

/* The Kafka bootstrap list: the --kafka flag, $SHIFTKEY_KAFKA, or the first
 * line of `file` (default shiftkey.bootstrap, written by shiftkeyd --kafka
 * embedded). Copied into buf; NULL when none is found. */
const char *sk_cli_bootstrap(const char *flag, const char *file, char *buf, size_t len);

#endif
