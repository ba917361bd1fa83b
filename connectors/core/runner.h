/*
 * runner.h — the life of every connector: options, user map, state file,
 * Kafka producer, then poll → diff → send → save, once (--once) or every
 * --interval until SIGTERM/SIGINT. A source (PagerDuty, Opsgenie, iCal) is
 * a small struct of callbacks; it only turns its platform's answer into
 * shifts.
 *
 * Exit status: 0 ok (or stopped by a signal); 1 failed (--once: the platform
 * could not be read, Kafka did not acknowledge, the state could not be
 * written; always: cannot start); 2 usage error.
 */
#ifndef SK_CONN_RUNNER_H
#define SK_CONN_RUNNER_H

#include "cfg.h"
#include "http.h"
#include "shift.h"
#include "timefmt.h"
#include "usermap.h"

/* What a source gets for one poll, and fills. */
typedef struct sk_conn_poll {
    const char *prog;         /* "shiftkey-pagerduty", for log lines */
    sk_ms_t now_ms;           /* the poll's clock */
    sk_ms_t horizon_ms;       /* now + look-ahead */
    const sk_conn_usermap_t *users;
    const sk_http_opts_t *http;
    sk_conn_shifts_t *out;    /* append shifts here (sk_conn_shifts_add) */
    int requests, retries;    /* HTTP requests made / retried (sk_conn_poll_get counts them) */
    int skipped;              /* entries that could not become shifts (logged by the source) */
    char err[1024];           /* why the poll failed */
} sk_conn_poll_t;

typedef struct sk_conn_source {
    const char *name;   /* "pagerduty": the event source and program shiftkey-<name> */
    const char *about;  /* --help: usage line and description, ends with "\n" */
    const char *tail;   /* --help: text after the options (examples), or NULL */
    sk_cfg_group_t opts; /* the source's own options (title, env prefix, rows, base) */
    /* Validates the source's options; prints the reason and returns -1 on a usage error. */
    int (*check)(void *base, const char *prog);
    /* Reads the platform into p->out. 0, or SK_E* with p->err filled; on
     * failure the shifts appended are ignored. */
    int (*fetch)(void *base, sk_conn_poll_t *p);
} sk_conn_source_t;

/*
 * sk_conn_poll_get — sk_http_get for a source's fetch: errors go to p->err,
 * and every attempt (retries included, failed requests too) is counted in
 * p->requests and p->retries for the poll's log line. 0 or SK_EIO.
 */
int sk_conn_poll_get(sk_conn_poll_t *p, const char *url, const char *const *headers,
                     sk_http_resp_t *out);

/* Runs a connector: returns the exit status. */
int sk_conn_main(const sk_conn_source_t *src, int argc, char **argv);

/*
 * sk_conn_secret — reads a token: from the file if path is set (first line,
 * trailing newline removed), else from the environment variable env. Never
 * from argv (visible to every user in the process list). 0 or -1 with a
 * message on stderr.
 */
int sk_conn_secret(const char *prog, const char *path, const char *env, char *buf, size_t len);

#endif
