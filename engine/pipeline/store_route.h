/*
 * store_route.h — which Redis connection serves a partition when the state
 * lives in a Redis Cluster (the store's `redis-cluster://` configuration).
 *
 * Every key of a partition shares the hash tag {p<N>} (store.h), so a
 * partition lives in one of the cluster's 16384 slots, served by one master.
 * The router keeps the slot map (read with CLUSTER SLOTS from a seed or any
 * node it knew), one hiredis connection per master, and follows the
 * cluster's answers: MOVED moves the slot in the map (connecting to the new
 * owner) and the command is sent again there; ASK sends it once to the
 * node named, after ASKING; TRYAGAIN (keys of a slot half migrated) waits a
 * little and sends it again; CLUSTERDOWN, an unreachable node or a slot no
 * master serves is an outage (the caller closes every connection and pauses,
 * as with one Redis down: fail closed).
 *
 * One thread; the router owns every connection it returns (borrowed by the
 * caller until the next sk_route_connect or sk_route_close).
 */
#ifndef SK_STORE_ROUTE_H
#define SK_STORE_ROUTE_H

#include <hiredis.h>
#include <stdint.h>

#include "base/sk.h"

#define SK_ROUTE_SLOTS 16384

typedef struct sk_route sk_route_t;

/* What an error reply asks of the client (sk_route_reply_kind). */
typedef enum sk_route_kind {
    SK_ROUTE_DONE = 0,   /* not a redirection: the command's own answer */
    SK_ROUTE_MOVED,      /* the slot has a new owner (the map is updated): send again */
    SK_ROUTE_ASK,        /* the key is being migrated: send once, after ASKING, there */
    SK_ROUTE_TRYAGAIN,   /* a multi-key command during a migration: wait, send again */
    SK_ROUTE_CLUSTERDOWN /* the cluster serves no command now: an outage */
} sk_route_kind_t;

/* Traffic figures (for the log and the tests). */
typedef struct sk_route_stats {
    uint64_t moved, ask, tryagain, refreshes;
} sk_route_stats_t;

/*
 * sk_route_new — a router for seeds "HOST:PORT[,HOST:PORT…]" (copied), with
 * AUTH as user/password (NULL password: no AUTH; NULL user: "default") and
 * a per-command timeout. Does not connect. NULL when a seed is not
 * HOST:PORT or on allocation failure.
 */
sk_route_t *sk_route_new(const char *seeds, const char *user, const char *password, int timeout_ms);
void sk_route_destroy(sk_route_t *r);

/*
 * sk_route_connect — closes every connection, reads the slot map from the
 * first seed (or node known before) that answers CLUSTER SLOTS, and
 * connects to (and authenticates with) every master that serves a slot.
 * 0, or SK_EIO with the reason in sk_route_last_error: no node answered,
 * a slot is served by no master (the cluster is not whole: fail closed) or
 * a master cannot be reached.
 */
int sk_route_connect(sk_route_t *r);

/* Closes every connection (the map's node addresses stay, as seeds). */
void sk_route_close(sk_route_t *r);

/* The text of the last failure (never NULL). Owned by the router. */
const char *sk_route_last_error(const sk_route_t *r);

/* The slot of a key (CRC16 of the key, or of its {hash tag}, mod 16384). */
int sk_route_keyslot(const char *key, size_t len);

/* The slot of partition p's keys (the tag {p<N>}). */
int sk_route_partition_slot(int32_t p);

/* The connection of the master serving slot, or NULL when not connected. */
redisContext *sk_route_slot_node(sk_route_t *r, int slot);

/* The connected masters: n of them (0 when not connected), the i-th. */
size_t sk_route_n_masters(const sk_route_t *r);
redisContext *sk_route_master(sk_route_t *r, size_t i);

/*
 * sk_route_reply_kind — what an error reply asks. For MOVED the slot's
 * owner in the map is changed (and a connection opened); for ASK, *ask
 * (when not NULL) gets the connection of the node named. When that node
 * cannot be reached, SK_ROUTE_CLUSTERDOWN is returned (an outage). Any
 * other reply is SK_ROUTE_DONE.
 */
sk_route_kind_t sk_route_reply_kind(sk_route_t *r, const redisReply *reply, redisContext **ask);

/*
 * sk_route_command — runs one command on the master of slot, following
 * MOVED, ASK and TRYAGAIN (a few times, with short waits). Returns the
 * reply (the caller frees it; an error reply that is not a redirection,
 * or the last TRYAGAIN, is returned as such), or NULL after an I/O failure,
 * CLUSTERDOWN or an unreachable owner: the caller then closes every
 * connection (sk_route_close).
 */
redisReply *sk_route_command(sk_route_t *r, int slot, int argc, const char **argv,
                             const size_t *lens);

/* Copies the traffic figures into *out. */
void sk_route_stats(const sk_route_t *r, sk_route_stats_t *out);

#endif
