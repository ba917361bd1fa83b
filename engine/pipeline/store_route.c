/* store_route.c — the Redis Cluster slot map and its connections (see store_route.h). */
#include "pipeline/store_route.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define MAX_NODES    64
#define MAX_ATTEMPTS 12 /* redirections followed by one sk_route_command */

typedef struct route_node {
    char host[64];
    int port;
    redisContext *ctx; /* NULL: not connected */
    int owned;         /* slots the map gives it */
} route_node_t;

struct sk_route {
    char *seeds; /* "HOST:PORT,HOST:PORT" */
    char *user;
    char *password;
    int timeout_ms;
    route_node_t nodes[MAX_NODES]; /* fixed: pointers to contexts stay valid */
    size_t n_nodes;
    int16_t owner[SK_ROUTE_SLOTS]; /* slot -> node index, -1 none */
    sk_route_stats_t stats;
    char err[256];
};

static void set_err(sk_route_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(sk_route_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), as Redis Cluster
 * hashes keys; bit by bit, the few bytes of a tag need no table. */
static uint16_t crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

int sk_route_keyslot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(open + 1, '}', len - from);
        if (close && close > open + 1) /* "{}" is no tag: the whole key is hashed */
            return crc16(open + 1, (size_t)(close - open - 1)) & (SK_ROUTE_SLOTS - 1);
    }
    return crc16(key, len) & (SK_ROUTE_SLOTS - 1);
}

int sk_route_partition_slot(int32_t p)
{
    char tag[24];
    int n = snprintf(tag, sizeof(tag), "p%d", (int)p);
    return crc16(tag, (size_t)n) & (SK_ROUTE_SLOTS - 1);
}

/* Splits "HOST:PORT" (len bytes) into host and port. 0 or SK_EINVAL. */
static int parse_addr(const char *s, size_t len, char *host, size_t host_len, int *port)
{
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    if (!colon || colon == s || (size_t)(colon - s) >= host_len)
        return SK_EINVAL;
    long v = 0;
    const char *d = colon + 1;
    if (d == s + len)
        return SK_EINVAL;
    for (; d < s + len; d++) {
        if (*d < '0' || *d > '9' || v > 65535)
            return SK_EINVAL;
        v = v * 10 + (*d - '0');
    }
    if (v < 1 || v > 65535)
        return SK_EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)v;
    return 0;
}

sk_route_t *sk_route_new(const char *seeds, const char *user, const char *password, int timeout_ms)
{
    sk_route_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->seeds = strdup(seeds);
    r->user = user ? strdup(user) : NULL;
    r->password = password ? strdup(password) : NULL;
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    memset(r->owner, -1, sizeof(r->owner)); /* every byte 0xff: -1 */
    if (!r->seeds || (user && !r->user) || (password && !r->password))
        goto fail;
    /* every seed must read as HOST:PORT */
    for (const char *s = r->seeds; *s;) {
        size_t len = strcspn(s, ",");
        char host[64];
        int port;
        if (parse_addr(s, len, host, sizeof(host), &port) != 0)
            goto fail;
        s += len + (s[len] == ',');
    }
    return r;
fail:
    sk_route_destroy(r);
    return NULL;
}

void sk_route_close(sk_route_t *r)
{
    for (size_t i = 0; i < r->n_nodes; i++) {
        if (r->nodes[i].ctx)
            redisFree(r->nodes[i].ctx);
        r->nodes[i].ctx = NULL;
    }
}

void sk_route_destroy(sk_route_t *r)
{
    if (!r)
        return;
    sk_route_close(r);
    free(r->seeds);
    free(r->user);
    free(r->password);
    free(r);
}

const char *sk_route_last_error(const sk_route_t *r)
{
    return r->err;
}

void sk_route_stats(const sk_route_t *r, sk_route_stats_t *out)
{
    *out = r->stats;
}

/* A connection to host:port, authenticated; NULL (the error set) on failure. */
static redisContext *open_conn(sk_route_t *r, const char *host, int port)
{
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        set_err(r, "cannot connect to Redis Cluster node %s:%d: %s", host, port,
                c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, tv);
    if (r->password) {
        redisReply *a = redisCommand(c, "AUTH %s %s", r->user ? r->user : "default", r->password);
        bool bad = !a || a->type == REDIS_REPLY_ERROR;
        if (bad)
            set_err(r, "Redis AUTH as '%s' on %s:%d failed: %s", r->user ? r->user : "default",
                    host, port, a ? a->str : c->errstr);
        if (a)
            freeReplyObject(a);
        if (bad)
            goto fail;
    }
    return c;
fail:
    if (c)
        redisFree(c);
    return NULL;
}

/* The index of node host:port, added when new; -1 when the table is full. */
static int node_index(sk_route_t *r, const char *host, int port)
{
    for (size_t i = 0; i < r->n_nodes; i++)
        if (r->nodes[i].port == port && strcmp(r->nodes[i].host, host) == 0)
            return (int)i;
    if (r->n_nodes == MAX_NODES || strlen(host) >= sizeof(r->nodes[0].host)) {
        set_err(r, "too many Redis Cluster nodes (at most %d)", MAX_NODES);
        return -1;
    }
    route_node_t *n = &r->nodes[r->n_nodes];
    snprintf(n->host, sizeof(n->host), "%s", host);
    n->port = port;
    n->ctx = NULL;
    n->owned = 0;
    return (int)r->n_nodes++;
}

/* Connects node i when it is not. 0 or SK_EIO. */
static int node_connect(sk_route_t *r, int i)
{
    route_node_t *n = &r->nodes[i];
    if (n->ctx)
        return 0;
    return (n->ctx = open_conn(r, n->host, n->port)) ? 0 : SK_EIO;
}

/* Gives slot to node idx (-1: none) in the map. */
static void set_owner(sk_route_t *r, int slot, int idx)
{
    if (r->owner[slot] >= 0)
        r->nodes[r->owner[slot]].owned--;
    r->owner[slot] = (int16_t)idx;
    if (idx >= 0)
        r->nodes[idx].owned++;
}

/* Reads CLUSTER SLOTS from c (node from_host:from_port) into the map. 0 or SK_EIO. */
static int read_slots(sk_route_t *r, redisContext *c, const char *from_host, int from_port)
{
    char from[80];
    snprintf(from, sizeof(from), "%.63s:%d", from_host, from_port);
    redisReply *s = redisCommand(c, "CLUSTER SLOTS");
    int rc = SK_EIO;
    if (!s) {
        set_err(r, "CLUSTER SLOTS on %s: %s", from, c->errstr);
        return SK_EIO;
    }
    if (s->type != REDIS_REPLY_ARRAY) {
        set_err(r, "CLUSTER SLOTS on %s: %s", from,
                s->type == REDIS_REPLY_ERROR ? s->str : "unexpected reply");
        goto out;
    }
    for (int k = 0; k < SK_ROUTE_SLOTS; k++)
        set_owner(r, k, -1);
    for (size_t i = 0; i < s->elements; i++) {
        const redisReply *e = s->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2 ||
            e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
            e->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
            set_err(r, "CLUSTER SLOTS on %s: unexpected entry %zu", from, i);
            goto out;
        }
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        const redisReply *m = e->element[2];
        /* an empty host means "the address you reached me at" */
        char host[64];
        if (m->element[0]->len) {
            snprintf(host, sizeof(host), "%s", m->element[0]->str);
        } else {
            snprintf(host, sizeof(host), "%s", from_host);
        }
        int idx = node_index(r, host, (int)m->element[1]->integer);
        if (idx < 0 || lo < 0 || hi >= SK_ROUTE_SLOTS || lo > hi) {
            if (idx >= 0)
                set_err(r, "CLUSTER SLOTS on %s: slots %lld-%lld out of range", from, lo, hi);
            goto out;
        }
        for (long long k = lo; k <= hi; k++)
            set_owner(r, (int)k, idx);
    }
    for (int k = 0; k < SK_ROUTE_SLOTS; k++)
        if (r->owner[k] < 0) {
            set_err(r, "Redis Cluster (asked %s): slot %d is served by no master", from, k);
            goto out;
        }
    rc = 0;
out:
    freeReplyObject(s);
    return rc;
}

/* Asks the node host:port for the slot map. 0 or SK_EIO. */
static int refresh_from(sk_route_t *r, const char *host, int port)
{
    redisContext *c = open_conn(r, host, port);
    if (!c)
        return SK_EIO;
    int rc = read_slots(r, c, host, port);
    redisFree(c);
    return rc;
}

/* Drops the nodes the map gives no slot (former masters, gone or demoted),
 * so that the table never fills over a long life of failovers; the map is
 * renumbered. Every connection is closed (sk_route_connect). */
static void forget_idle_nodes(sk_route_t *r)
{
    int16_t renum[MAX_NODES];
    size_t kept = 0;
    for (size_t i = 0; i < r->n_nodes; i++) {
        renum[i] = -1;
        if (r->nodes[i].owned > 0) {
            renum[i] = (int16_t)kept;
            r->nodes[kept++] = r->nodes[i]; /* kept <= i: in place */
        }
    }
    r->n_nodes = kept;
    for (int k = 0; k < SK_ROUTE_SLOTS; k++)
        if (r->owner[k] >= 0)
            r->owner[k] = renum[r->owner[k]];
}

int sk_route_connect(sk_route_t *r)
{
    char first_err[256] = "";
    int rc = SK_EIO;
    size_t known = r->n_nodes;
    char(*hosts)[64] = NULL;
    int *ports = NULL;
    sk_route_close(r);
    r->stats.refreshes++;
    /* the seeds first, then every node known before (the seeds may be gone) */
    for (const char *s = r->seeds; *s && rc != 0;) {
        size_t len = strcspn(s, ",");
        char host[64];
        int port;
        if (parse_addr(s, len, host, sizeof(host), &port) == 0)
            rc = refresh_from(r, host, port);
        if (rc != 0 && !first_err[0])
            snprintf(first_err, sizeof(first_err), "%s", r->err);
        s += len + (s[len] == ',');
    }
    if (rc != 0 && known) {
        /* copied: read_slots may add nodes while we walk the old ones */
        hosts = calloc(known, sizeof(*hosts));
        ports = calloc(known, sizeof(*ports));
        for (size_t i = 0; hosts && ports && i < known && rc != 0; i++) {
            memcpy(hosts[i], r->nodes[i].host, sizeof(hosts[i]));
            ports[i] = r->nodes[i].port;
            rc = refresh_from(r, hosts[i], ports[i]);
        }
    }
    free(hosts);
    free(ports);
    if (rc != 0) {
        if (first_err[0] && strcmp(first_err, r->err) != 0)
            set_err(r, "no Redis Cluster node gave a slot map; first: %.200s", first_err);
        return SK_EIO;
    }
    forget_idle_nodes(r);
    for (int k = 0; k < SK_ROUTE_SLOTS; k++)
        if (node_connect(r, r->owner[k]) != 0) {
            sk_route_close(r);
            return SK_EIO;
        }
    r->err[0] = '\0';
    return 0;
}

redisContext *sk_route_slot_node(sk_route_t *r, int slot)
{
    if (slot < 0 || slot >= SK_ROUTE_SLOTS || r->owner[slot] < 0)
        return NULL;
    return r->nodes[r->owner[slot]].ctx;
}

size_t sk_route_n_masters(const sk_route_t *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_nodes; i++)
        n += r->nodes[i].ctx && r->nodes[i].owned > 0;
    return n;
}

redisContext *sk_route_master(sk_route_t *r, size_t i)
{
    for (size_t k = 0; k < r->n_nodes; k++)
        if (r->nodes[k].ctx && r->nodes[k].owned > 0 && i-- == 0)
            return r->nodes[k].ctx;
    return NULL;
}

sk_route_kind_t sk_route_reply_kind(sk_route_t *r, const redisReply *reply, redisContext **ask)
{
    if (!reply || reply->type != REDIS_REPLY_ERROR)
        return SK_ROUTE_DONE;
    if (strncmp(reply->str, "TRYAGAIN", 8) == 0) {
        r->stats.tryagain++;
        return SK_ROUTE_TRYAGAIN;
    }
    if (strncmp(reply->str, "CLUSTERDOWN", 11) == 0) {
        set_err(r, "Redis Cluster: %s", reply->str);
        return SK_ROUTE_CLUSTERDOWN;
    }
    bool moved = strncmp(reply->str, "MOVED ", 6) == 0;
    if (!moved && strncmp(reply->str, "ASK ", 4) != 0)
        return SK_ROUTE_DONE;
    /* "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>" */
    const char *p = reply->str + (moved ? 6 : 4);
    char *end;
    long slot = strtol(p, &end, 10);
    char host[64];
    int port, idx;
    if (end == p || *end != ' ' || slot < 0 || slot >= SK_ROUTE_SLOTS ||
        parse_addr(end + 1, strlen(end + 1), host, sizeof(host), &port) != 0) {
        set_err(r, "Redis Cluster: unreadable redirection '%.100s'", reply->str);
        return SK_ROUTE_CLUSTERDOWN;
    }
    if ((idx = node_index(r, host, port)) < 0 || node_connect(r, idx) != 0)
        return SK_ROUTE_CLUSTERDOWN;
    if (moved) {
        r->stats.moved++;
        if (r->owner[slot] != idx)
            SK_INFO("Redis Cluster: slot %ld moved to %s:%d", slot, host, port);
        set_owner(r, (int)slot, idx);
        return SK_ROUTE_MOVED;
    }
    r->stats.ask++;
    if (ask)
        *ask = r->nodes[idx].ctx;
    return SK_ROUTE_ASK;
}

/* Sends ASKING then the command on c; the command's reply, or NULL. */
static redisReply *asking_command(redisContext *c, int argc, const char **argv, const size_t *lens)
{
    redisReply *ok = NULL, *reply = NULL;
    if (redisAppendCommand(c, "ASKING") != REDIS_OK ||
        redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK ||
        redisGetReply(c, (void **)&ok) != REDIS_OK || !ok ||
        redisGetReply(c, (void **)&reply) != REDIS_OK) {
        if (ok)
            freeReplyObject(ok);
        return NULL;
    }
    freeReplyObject(ok);
    return reply;
}

redisReply *sk_route_command(sk_route_t *r, int slot, int argc, const char **argv,
                             const size_t *lens)
{
    redisContext *ask = NULL;
    for (int attempt = 0;; attempt++) {
        redisContext *c = ask ? ask : sk_route_slot_node(r, slot);
        if (!c) {
            set_err(r, "Redis Cluster: no connection to the master of slot %d", slot);
            return NULL;
        }
        redisReply *reply =
            ask ? asking_command(c, argc, argv, lens) : redisCommandArgv(c, argc, argv, lens);
        if (!reply) {
            set_err(r, "Redis Cluster node (slot %d): %s", slot,
                    c->errstr[0] ? c->errstr : "connection lost");
            return NULL;
        }
        ask = NULL;
        sk_route_kind_t k = sk_route_reply_kind(r, reply, &ask);
        if (k == SK_ROUTE_CLUSTERDOWN) {
            freeReplyObject(reply);
            return NULL;
        }
        if (k == SK_ROUTE_DONE || attempt + 1 == MAX_ATTEMPTS)
            return reply; /* the answer, or the last redirection as an error */
        freeReplyObject(reply);
        if (k == SK_ROUTE_TRYAGAIN)
            sleep_ms(5 << (attempt < 6 ? attempt : 6));
    }
}
