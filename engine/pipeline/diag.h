/*
 * diag.h — the diagnostics HTTP endpoint of a long-running program
 * (libmicrohttpd, its own thread): GET /metrics (the registry's Prometheus
 * text exposition), /healthz (200 while the process serves) and /readyz
 * (200 when the program's ready check says so, else 503 with the reason).
 * Off unless started (shiftkeyd --diag-addr HOST:PORT). Every long-running
 * program serves these paths through this file: shiftkeyd, the on-call
 * connectors and shiftkey-provision with sk_diag_start, shiftkey-slack
 * beside its own requests with sk_diag_answer.
 */
#ifndef SK_DIAG_H
#define SK_DIAG_H

#include <stddef.h>

#include "base/metrics.h"

typedef struct sk_diag sk_diag_t;
struct MHD_Connection; /* libmicrohttpd's */

/* Ready check, called on the server's thread: 1 ready, 0 not (why filled
 * with a short reason). It may only read thread-safe state (the registry). */
typedef int (*sk_diag_ready_fn)(void *ctx, char *why, size_t why_len);

/*
 * sk_diag_start — listens on addr ("HOST:PORT", "[v6]:PORT" or ":PORT" for
 * every address) and serves reg (borrowed: it must outlive the server).
 * ready may be NULL (always ready). NULL with the reason in err.
 */
sk_diag_t *sk_diag_start(const char *addr, sk_metrics_t *reg, sk_diag_ready_fn ready, void *ctx,
                         char *err, size_t err_len);

/*
 * sk_diag_answer — for a program with a libmicrohttpd server of its own:
 * queues the answer to GET url on connection c when url is /metrics (reg's
 * exposition), /healthz or /readyz (ready as above) and returns MHD_YES or
 * MHD_NO (libmicrohttpd's result); returns -1, queuing nothing, for any
 * other url. Called on that server's thread; reg is borrowed.
 */
int sk_diag_answer(struct MHD_Connection *c, const char *url, sk_metrics_t *reg,
                   sk_diag_ready_fn ready, void *ctx);

/* Stops serving and frees everything; NULL is fine. */
void sk_diag_stop(sk_diag_t *d);

/*
 * sk_diag_engine_ready — the engine's readiness from its metrics
 * (engine_metrics.h): it owns at least one partition, Redis is connected
 * and the last Kafka probe answered. ctx is the registry.
 */
int sk_diag_engine_ready(void *ctx, char *why, size_t why_len);

#endif
