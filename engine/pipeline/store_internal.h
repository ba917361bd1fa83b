/*
 * store_internal.h — what store.c shares with store_apply.c (the atomic
 * apply), store_restore.c (the rebuild of a partition from the changelog)
 * and the other store_*.c: the store object and a few helpers.
 * Not an API: everything else uses store.h.
 */
#ifndef SK_STORE_INTERNAL_H
#define SK_STORE_INTERNAL_H

#include <hiredis.h>

#include "pipeline/resp.h"
#include "pipeline/store.h"
#include "pipeline/store_route.h"

/* The layout of a partition's keys (store.h), kept in its offsets hash as
 * "#layout": a partition without it was written by an older engine (users
 * as hashes, one on-call hash per rotation) and is refused by the fence
 * as lost, then rebuilt from the changelog. */
#define SK_STORE_LAYOUT "2"

struct sk_store {
    sk_store_config_t cfg;
    /* the connection in use: the one server's, or (Redis Cluster) the
     * master chosen by the last sk_store_at, owned by route */
    redisContext *rc;
    sk_route_t *route; /* Redis Cluster only, else NULL */
    int slot;          /* Redis Cluster: the slot sk_store_command follows; -1 none */
    char apply_sha[41];
    char trim_sha[41];
    char check_sha[41];
    char claim_sha[41];
    char err[256];
    sk_resp_t apply_cmd; /* the apply call's RESP, rebuilt per call (store_apply.c) */
};

/* Sets the text sk_store_last_error returns. */
void sk_store_set_err(sk_store_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Closes the connection (sk_store_connect opens it again). */
void sk_store_disconnect(sk_store_t *s);

/* Runs one command. Returns the reply (caller frees), or NULL after an I/O
 * failure, which closes the connection. Error replies are returned as such. */
redisReply *sk_store_command(sk_store_t *s, int argc, const char **argv, const size_t *lens);

/*
 * sk_store_at — the connection for partition p's commands: the one server,
 * or the master of p's slot (then also s->rc, with s->slot the slot whose
 * MOVED/ASK sk_store_command follows). NULL when not connected.
 */
redisContext *sk_store_at(sk_store_t *s, int32_t p);

/* Redis Cluster: sk_store_command follows no redirection, on connection c
 * (a node-wide command: SCAN, SCRIPT LOAD). */
void sk_store_at_node(sk_store_t *s, redisContext *c);

/* The next reply on connection c (pipelined; caller frees), or NULL after
 * an I/O failure: the error text set ("redis: ...") and the store
 * disconnected (every connection, on a cluster). */
redisReply *sk_store_reply(sk_store_t *s, redisContext *c);

/* Appends one pipelined command for partition p on the connection that
 * serves it (Redis Cluster: the master of its slot), which *via is set to:
 * 0; SK_EIO when no connection is left (nothing to read back); SK_ENOMEM
 * when argv is NULL (the caller's allocation failed) or hiredis could not
 * append (what was appended before is still to be read). */
int sk_store_append_at(sk_store_t *s, int32_t p, redisContext **via, int argc, const char **argv,
                       const size_t *lens);

/* "<prefix>:{p<p>}:<what>" into buf. */
void sk_store_key(const sk_store_t *s, char *buf, size_t len, int32_t p, const char *what);

/* The on-call index hash of partition p, in arena memory. */
char *sk_store_oncall_key(const sk_store_t *s, sk_arena_t *a, int32_t p);

/* The field of the partition's on-call index that holds a rotation's
 * field: "<rotation> <field>", in arena memory. */
char *sk_store_oncall_field(sk_arena_t *a, const char *rotation, const char *field);

/* Loads the store's scripts (every master of a cluster). 0 or SK_EIO. */
int sk_store_load_scripts(sk_store_t *s);

/* The meaning of a reply of a fenced script that did not answer an
 * integer: SK_EFENCED, SK_ENOTFOUND (NOEPOCH, LOST: state lost) or SK_EIO,
 * with the error text set. */
int sk_store_fence_result(sk_store_t *s, int32_t p, int64_t epoch, const char *what,
                          const redisReply *r);

/* v in decimal, in arena memory (NULL when out of memory). */
char *sk_store_fmt_i64(sk_arena_t *a, int64_t v);

#endif
