/*
 * metrics.c — the metrics registry and its Prometheus text exposition
 * (see metrics.h).
 *
 * A family holds its series in an array (exposition order = first update)
 * and a string map from the joined label values ("v1\x1fv2") to the index.
 */
#include "base/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sk.h"
#include "base/strmap.h"

#define MAX_LABELS 8

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } m_type_t;

typedef struct series {
    char *key; /* joined label values; the map borrows it */
    char *values[MAX_LABELS];
    double v;          /* counter, gauge; histogram: sum */
    uint64_t count;    /* histogram */
    uint64_t *buckets; /* histogram: per bound (not cumulative), n_bounds + 1 */
} series_t;

struct sk_metric {
    sk_metrics_t *reg;
    char *name, *help;
    m_type_t type;
    size_t n_labels;
    char *labels[MAX_LABELS];
    double *bounds;
    size_t n_bounds;
    series_t *s;
    size_t n, cap;
    sk_strmap_t idx; /* key -> index + 1 */
};

struct sk_metrics {
    pthread_mutex_t mu;
    sk_metric_t **m;
    size_t n, cap;
};

sk_metrics_t *sk_metrics_new(void)
{
    sk_metrics_t *r = calloc(1, sizeof(*r));
    if (r)
        pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void series_free(series_t *s, size_t n_labels)
{
    free(s->key);
    for (size_t i = 0; i < n_labels; i++)
        free(s->values[i]);
    free(s->buckets);
}

static void metric_free(sk_metric_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        series_free(&m->s[i], m->n_labels);
    for (size_t i = 0; i < m->n_labels; i++)
        free(m->labels[i]);
    sk_strmap_fini(&m->idx);
    free(m->s);
    free(m->bounds);
    free(m->name);
    free(m->help);
    free(m);
}

void sk_metrics_destroy(sk_metrics_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        metric_free(r->m[i]);
    free(r->m);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static int name_ok(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

static sk_metric_t *find(sk_metrics_t *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->m[i]->name, name) == 0)
            return r->m[i];
    return NULL;
}

static sk_metric_t *reg_add(sk_metrics_t *r, const char *name, const char *help, const char *labels,
                            m_type_t type, const double *bounds, size_t nb)
{
    sk_metric_t *m = NULL;
    if (!r || !name || !name_ok(name, strlen(name)))
        return NULL;
    pthread_mutex_lock(&r->mu);
    if ((m = find(r, name)) != NULL)
        goto out;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        sk_metric_t **v = realloc(r->m, cap * sizeof(*v));
        if (!v)
            goto out;
        r->m = v;
        r->cap = cap;
    }
    if (!(m = calloc(1, sizeof(*m))))
        goto out;
    m->reg = r;
    m->type = type;
    sk_strmap_init(&m->idx);
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    int ok = m->name && m->help;
    for (const char *p = labels; ok && p && *p;) {
        size_t len = strcspn(p, ",");
        ok = m->n_labels < MAX_LABELS && name_ok(p, len) &&
             (m->labels[m->n_labels++] = strndup(p, len)) != NULL;
        p += len + (p[len] == ',');
    }
    if (ok && nb && (m->bounds = malloc(nb * sizeof(*m->bounds))) != NULL) {
        memcpy(m->bounds, bounds, nb * sizeof(*m->bounds));
        m->n_bounds = nb;
    } else if (nb) {
        ok = 0;
    }
    if (!ok) {
        metric_free(m);
        m = NULL;
        goto out;
    }
    r->m[r->n++] = m;
out:
    pthread_mutex_unlock(&r->mu);
    return m;
}

sk_metric_t *sk_metrics_counter(sk_metrics_t *r, const char *name, const char *help,
                                const char *labels)
{
    return reg_add(r, name, help, labels, M_COUNTER, NULL, 0);
}

sk_metric_t *sk_metrics_gauge(sk_metrics_t *r, const char *name, const char *help,
                              const char *labels)
{
    return reg_add(r, name, help, labels, M_GAUGE, NULL, 0);
}

sk_metric_t *sk_metrics_histogram(sk_metrics_t *r, const char *name, const char *help,
                                  const char *labels, const double *bounds, size_t n_bounds)
{
    for (size_t i = 1; i < n_bounds; i++)
        if (!(bounds[i - 1] < bounds[i]))
            return NULL;
    return reg_add(r, name, help, labels, M_HISTOGRAM, bounds, n_bounds);
}

/* The series of the label values in ap, created on first use when create
 * is set; NULL when absent or out of memory. Called with the registry's
 * mutex held. */
static series_t *series_get(sk_metric_t *m, va_list ap, int create)
{
    char key[1024];
    const char *vals[MAX_LABELS];
    size_t used = 0;
    for (size_t i = 0; i < m->n_labels; i++) {
        vals[i] = va_arg(ap, const char *);
        if (!vals[i])
            vals[i] = "";
        int w = snprintf(key + used, sizeof(key) - used, "%s%s", i ? "\x1f" : "", vals[i]);
        if (w < 0 || (size_t)w >= sizeof(key) - used)
            return NULL; /* absurdly long label values are dropped */
        used += (size_t)w;
    }
    key[used] = '\0';
    size_t at = (size_t)(uintptr_t)sk_strmap_get(&m->idx, key);
    if (at)
        return &m->s[at - 1];
    if (!create)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        series_t *v = realloc(m->s, cap * sizeof(*v));
        if (!v)
            return NULL;
        /* the map borrows keys, not series: the move is fine */
        m->s = v;
        m->cap = cap;
    }
    series_t *s = &m->s[m->n];
    memset(s, 0, sizeof(*s));
    int ok = (s->key = strdup(key)) != NULL;
    for (size_t i = 0; ok && i < m->n_labels; i++)
        ok = (s->values[i] = strdup(vals[i])) != NULL;
    if (ok && m->type == M_HISTOGRAM)
        ok = (s->buckets = calloc(m->n_bounds + 1, sizeof(*s->buckets))) != NULL;
    if (!ok || sk_strmap_put(&m->idx, s->key, (void *)(uintptr_t)(m->n + 1)) != 0) {
        series_free(s, m->n_labels);
        return NULL;
    }
    m->n++;
    return s;
}

void sk_metric_add(sk_metric_t *m, double v, ...)
{
    va_list ap;
    if (!m || m->type == M_HISTOGRAM || (m->type == M_COUNTER && !(v >= 0)))
        return;
    va_start(ap, v);
    pthread_mutex_lock(&m->reg->mu);
    series_t *s = series_get(m, ap, 1);
    if (s)
        s->v += v;
    pthread_mutex_unlock(&m->reg->mu);
    va_end(ap);
}

void sk_metric_set(sk_metric_t *m, double v, ...)
{
    va_list ap;
    if (!m || m->type != M_GAUGE)
        return;
    va_start(ap, v);
    pthread_mutex_lock(&m->reg->mu);
    series_t *s = series_get(m, ap, 1);
    if (s)
        s->v = v;
    pthread_mutex_unlock(&m->reg->mu);
    va_end(ap);
}

void sk_metric_observe(sk_metric_t *m, double v, ...)
{
    va_list ap;
    if (!m || m->type != M_HISTOGRAM || isnan(v))
        return;
    va_start(ap, v);
    pthread_mutex_lock(&m->reg->mu);
    series_t *s = series_get(m, ap, 1);
    if (s) {
        size_t b = 0;
        while (b < m->n_bounds && v > m->bounds[b])
            b++;
        s->buckets[b]++;
        s->count++;
        s->v += v;
    }
    pthread_mutex_unlock(&m->reg->mu);
    va_end(ap);
}

void sk_metric_clear(sk_metric_t *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->reg->mu);
    for (size_t i = 0; i < m->n; i++)
        series_free(&m->s[i], m->n_labels);
    m->n = 0;
    sk_strmap_fini(&m->idx);
    pthread_mutex_unlock(&m->reg->mu);
}

double sk_metrics_value(sk_metrics_t *r, const char *name, ...)
{
    va_list ap;
    double v = 0;
    if (!r)
        return 0;
    va_start(ap, name);
    pthread_mutex_lock(&r->mu);
    sk_metric_t *m = find(r, name);
    series_t *s = m ? series_get(m, ap, 0) : NULL;
    if (s)
        v = m->type == M_HISTOGRAM ? (double)s->count : s->v;
    pthread_mutex_unlock(&r->mu);
    va_end(ap);
    return v;
}

/* ---- exposition ---- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    for (int pass = 0; pass < 2 && !b->oom; pass++) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* A label value or HELP text escaped as the format says. */
static void put_escaped(buf_t *b, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            put(b, "\\\\");
        else if (*s == '\n')
            put(b, "\\n");
        else if (*s == '"' && quote)
            put(b, "\\\"");
        else
            put(b, "%c", *s);
    }
}

static void put_num(buf_t *b, double v)
{
    if (isinf(v))
        put(b, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        put(b, "NaN");
    else
        put(b, "%.15g", v);
}

/* name{l1="v1",...[,le="x"]} */
static void put_series(buf_t *b, const sk_metric_t *m, const series_t *s, const char *suffix,
                       const char *le)
{
    put(b, "%s%s", m->name, suffix);
    if (!m->n_labels && !le)
        return;
    put(b, "{");
    for (size_t i = 0; i < m->n_labels; i++) {
        put(b, "%s%s=\"", i ? "," : "", m->labels[i]);
        put_escaped(b, s->values[i], 1);
        put(b, "\"");
    }
    if (le)
        put(b, "%sle=\"%s\"", m->n_labels ? "," : "", le);
    put(b, "}");
}

static void put_metric(buf_t *b, const sk_metric_t *m)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    put(b, "# HELP %s ", m->name);
    put_escaped(b, m->help, 0);
    put(b, "\n# TYPE %s %s\n", m->name, types[m->type]);
    for (size_t i = 0; i < m->n; i++) {
        const series_t *s = &m->s[i];
        if (m->type != M_HISTOGRAM) {
            put_series(b, m, s, "", NULL);
            put(b, " ");
            put_num(b, s->v);
            put(b, "\n");
            continue;
        }
        uint64_t cum = 0;
        for (size_t k = 0; k <= m->n_bounds; k++) {
            char le[40];
            cum += s->buckets[k];
            if (k < m->n_bounds)
                snprintf(le, sizeof(le), "%.15g", m->bounds[k]);
            else
                snprintf(le, sizeof(le), "+Inf");
            put_series(b, m, s, "_bucket", le);
            put(b, " %llu\n", (unsigned long long)cum);
        }
        put_series(b, m, s, "_sum", NULL);
        put(b, " ");
        put_num(b, s->v);
        put(b, "\n");
        put_series(b, m, s, "_count", NULL);
        put(b, " %llu\n", (unsigned long long)s->count);
    }
}

int sk_metrics_write(sk_metrics_t *r, char **out, size_t *len)
{
    buf_t b = {0};
    *out = NULL;
    *len = 0;
    pthread_mutex_lock(&r->mu);
    put(&b, "%s", "");
    for (size_t i = 0; i < r->n && !b.oom; i++)
        put_metric(&b, r->m[i]);
    pthread_mutex_unlock(&r->mu);
    if (b.oom || !b.p) {
        free(b.p);
        return SK_ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
