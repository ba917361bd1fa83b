/*
 * metrics.h — a small metrics registry: counters, gauges and histograms
 * with labels, and their exposition in the Prometheus text format (0.0.4).
 * Pure: no I/O (pipeline/diag.c serves the text over HTTP).
 *
 * Thread-safety: one mutex per registry; any thread may update while
 * another writes the exposition. An update is a hash lookup of the label
 * values and an add under the mutex (about 100 ns), meant for per-record
 * calls, not per-byte ones.
 *
 * Every update function accepts a NULL metric and then does nothing, so a
 * component built without a registry needs no conditionals.
 *
 * Label values are given after the value, as many as the metric has label
 * names, each a NUL-terminated string (copied on first use). Keep their
 * set bounded (topics, kinds, reasons from a fixed list): every distinct
 * combination is a series kept for ever.
 */
#ifndef SK_METRICS_H
#define SK_METRICS_H

#include <stddef.h>

typedef struct sk_metrics sk_metrics_t;
typedef struct sk_metric sk_metric_t;

/* An empty registry; NULL when out of memory. */
sk_metrics_t *sk_metrics_new(void);

/* Frees the registry and every metric of it. */
void sk_metrics_destroy(sk_metrics_t *reg);

/*
 * sk_metrics_counter / _gauge / _histogram — registers a metric family.
 * name: [a-zA-Z_:][a-zA-Z0-9_:]*; help: one line; labels: comma-separated
 * label names ("topic,outcome") or NULL for none (at most 8). A histogram
 * has n_bounds upper bounds in increasing order (+Inf is added). Strings
 * are copied. Registering a name twice returns the first metric. NULL on
 * a bad name or label list, or out of memory.
 */
sk_metric_t *sk_metrics_counter(sk_metrics_t *reg, const char *name, const char *help,
                                const char *labels);
sk_metric_t *sk_metrics_gauge(sk_metrics_t *reg, const char *name, const char *help,
                              const char *labels);
sk_metric_t *sk_metrics_histogram(sk_metrics_t *reg, const char *name, const char *help,
                                  const char *labels, const double *bounds, size_t n_bounds);

/* Counter (v >= 0) or gauge: adds v to the series of the label values. */
void sk_metric_add(sk_metric_t *m, double v, ...);

/* Gauge: sets the series of the label values to v. */
void sk_metric_set(sk_metric_t *m, double v, ...);

/* Histogram: counts one observation v in the series of the label values. */
void sk_metric_observe(sk_metric_t *m, double v, ...);

/* Drops every series of the metric (e.g. an info gauge whose label changed). */
void sk_metric_clear(sk_metric_t *m);

/*
 * sk_metrics_value — the value of a counter or gauge series (label values
 * as for sk_metric_add), or of a histogram series' count; 0 when the
 * series does not exist. For readiness checks and tests.
 */
double sk_metrics_value(sk_metrics_t *reg, const char *name, ...);

/*
 * sk_metrics_write — the exposition of every metric, in registration order,
 * as one malloc'd NUL-terminated string (*out, *len without the NUL) that
 * the caller frees. Families without a series show their HELP and TYPE
 * only. Returns 0 or SK_ENOMEM.
 */
int sk_metrics_write(sk_metrics_t *reg, char **out, size_t *len);

#endif
