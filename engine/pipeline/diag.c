/*
 * diag.c — /metrics, /healthz and /readyz over HTTP (see diag.h).
 * libmicrohttpd runs the listener in its own thread; every request reads
 * only the registry, which has its own lock.
 */
#include "pipeline/diag.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct sk_diag {
    struct MHD_Daemon *mhd;
    sk_metrics_t *reg;
    sk_diag_ready_fn ready;
    void *ctx;
};

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define PROM_TEXT  "text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

int sk_diag_answer(struct MHD_Connection *c, const char *url, sk_metrics_t *reg,
                   sk_diag_ready_fn ready, void *ctx)
{
    static char ok[] = "ok\n";
    if (strcmp(url, "/metrics") == 0) {
        char *body;
        size_t len;
        if (sk_metrics_write(reg, &body, &len) != 0)
            return MHD_NO;
        return reply(c, 200, PROM_TEXT, body, len, MHD_RESPMEM_MUST_FREE);
    }
    if (strcmp(url, "/healthz") == 0)
        return reply(c, 200, TEXT_PLAIN, ok, strlen(ok), MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/readyz") == 0) {
        char why[256] = "";
        if (!ready || ready(ctx, why, sizeof(why)))
            return reply(c, 200, TEXT_PLAIN, ok, strlen(ok), MHD_RESPMEM_PERSISTENT);
        size_t n = strlen(why);
        char *body = malloc(n + 13);
        if (!body)
            return MHD_NO;
        n = (size_t)snprintf(body, n + 13, "not ready: %s\n", why);
        return reply(c, 503, TEXT_PLAIN, body, n, MHD_RESPMEM_MUST_FREE);
    }
    return -1;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **con_cls)
{
    sk_diag_t *d = cls;
    static char notfound[] = "not found: try /metrics, /healthz or /readyz\n";
    static char badmethod[] = "only GET\n";
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, TEXT_PLAIN, badmethod, strlen(badmethod), MHD_RESPMEM_PERSISTENT);
    int rc = sk_diag_answer(c, url, d->reg, d->ready, d->ctx);
    if (rc >= 0)
        return (enum MHD_Result)rc;
    return reply(c, 404, TEXT_PLAIN, notfound, strlen(notfound), MHD_RESPMEM_PERSISTENT);
}

/* Splits "host:port", "[v6]:port" or ":port" into host (NULL: any) and port. */
static int split(const char *addr, char *host, size_t host_len, const char **port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1])
        return -1;
    size_t n = (size_t)(colon - addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
        addr++;
        n -= 2;
    }
    if (n >= host_len)
        return -1;
    memcpy(host, addr, n);
    host[n] = '\0';
    *port = colon + 1;
    return 0;
}

sk_diag_t *sk_diag_start(const char *addr, sk_metrics_t *reg, sk_diag_ready_fn ready, void *ctx,
                         char *err, size_t err_len)
{
    char host[256];
    const char *port;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai = NULL;
    sk_diag_t *d = NULL;
    if (split(addr, host, sizeof(host), &port) != 0) {
        snprintf(err, err_len, "--diag-addr '%s': use HOST:PORT, [IPv6]:PORT or :PORT", addr);
        return NULL;
    }
    int gai = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, err_len, "--diag-addr '%s': %s", addr, gai_strerror(gai));
        return NULL;
    }
    if (!(d = calloc(1, sizeof(*d)))) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    d->reg = reg;
    d->ready = ready;
    d->ctx = ctx;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, d, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!d->mhd) {
        snprintf(err, err_len, "--diag-addr '%s': cannot listen (in use? permission?)", addr);
        free(d);
        d = NULL;
    }
out:
    freeaddrinfo(ai);
    return d;
}

void sk_diag_stop(sk_diag_t *d)
{
    if (!d)
        return;
    MHD_stop_daemon(d->mhd);
    free(d);
}

int sk_diag_engine_ready(void *ctx, char *why, size_t why_len)
{
    sk_metrics_t *reg = ctx;
    if (sk_metrics_value(reg, "shiftkey_redis_up") < 1)
        snprintf(why, why_len, "Redis not connected");
    else if (sk_metrics_value(reg, "shiftkey_kafka_up") < 1)
        snprintf(why, why_len, "Kafka brokers not answering");
    else if (sk_metrics_value(reg, "shiftkey_partitions_owned") < 1)
        snprintf(why, why_len, "no partition claimed yet");
    else
        return 1;
    return 0;
}
