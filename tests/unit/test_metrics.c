/*
 * test_metrics.c — the metrics registry (base/metrics.h): counters, gauges
 * and histograms with labels, the text exposition byte for byte, escaping,
 * refused names, NULL metrics, concurrent updates.
 */
#include <pthread.h>
#include <stdlib.h>

#include "base/metrics.h"
#include "sk_test.h"

static char *expo(sk_metrics_t *r)
{
    char *out = NULL;
    size_t len = 0;
    CHECK_INT(sk_metrics_write(r, &out, &len), 0);
    CHECK_INT(strlen(out), len);
    return out;
}

TEST(counters_and_gauges_by_label)
{
    sk_metrics_t *r = sk_metrics_new();
    sk_metric_t *c = sk_metrics_counter(r, "sk_in_total", "records in", "topic,outcome");
    sk_metric_t *g = sk_metrics_gauge(r, "sk_up", "reachable", NULL);
    sk_metric_add(c, 1, "a", "ok");
    sk_metric_add(c, 2, "a", "ok");
    sk_metric_add(c, 1, "b", "dead");
    sk_metric_add(c, -1, "a", "ok"); /* a counter never goes down */
    sk_metric_set(g, 1);
    sk_metric_add(g, -3);
    char *t = expo(r);
    CHECK_STR(t, "# HELP sk_in_total records in\n# TYPE sk_in_total counter\n"
                 "sk_in_total{topic=\"a\",outcome=\"ok\"} 3\n"
                 "sk_in_total{topic=\"b\",outcome=\"dead\"} 1\n"
                 "# HELP sk_up reachable\n# TYPE sk_up gauge\nsk_up -2\n");
    free(t);
    CHECK(sk_metrics_value(r, "sk_in_total", "a", "ok") == 3);
    CHECK(sk_metrics_value(r, "sk_in_total", "c", "none") == 0);
    CHECK(sk_metrics_counter(r, "sk_in_total", "again", NULL) == c); /* registered once */
    sk_metrics_destroy(r);
}

TEST(histogram_buckets_are_cumulative)
{
    sk_metrics_t *r = sk_metrics_new();
    double b[] = {0.1, 1, 10};
    sk_metric_t *h = sk_metrics_histogram(r, "sk_lat_seconds", "latency", NULL, b, 3);
    sk_metric_observe(h, 0.05);
    sk_metric_observe(h, 0.1); /* le is inclusive */
    sk_metric_observe(h, 5);
    sk_metric_observe(h, 50);
    char *t = expo(r);
    CHECK_CONTAINS(t, "sk_lat_seconds_bucket{le=\"0.1\"} 2\n");
    CHECK_CONTAINS(t, "sk_lat_seconds_bucket{le=\"1\"} 2\n");
    CHECK_CONTAINS(t, "sk_lat_seconds_bucket{le=\"10\"} 3\n");
    CHECK_CONTAINS(t, "sk_lat_seconds_bucket{le=\"+Inf\"} 4\n");
    CHECK_CONTAINS(t, "sk_lat_seconds_sum 55.15\n");
    CHECK_CONTAINS(t, "sk_lat_seconds_count 4\n");
    free(t);
    double bad[] = {1, 1};
    CHECK(sk_metrics_histogram(r, "sk_bad", "", NULL, bad, 2) == NULL);
    sk_metrics_destroy(r);
}

TEST(escaping_and_refused_names)
{
    sk_metrics_t *r = sk_metrics_new();
    sk_metric_t *c = sk_metrics_counter(r, "sk_x_total", "a \\ b\nc", "reason");
    sk_metric_add(c, 1, "say \"no\"\\\n");
    char *t = expo(r);
    CHECK_CONTAINS(t, "# HELP sk_x_total a \\\\ b\\nc\n");
    CHECK_CONTAINS(t, "sk_x_total{reason=\"say \\\"no\\\"\\\\\\n\"} 1\n");
    free(t);
    CHECK(sk_metrics_counter(r, "9bad", "", NULL) == NULL);
    CHECK(sk_metrics_counter(r, "bad-name", "", NULL) == NULL);
    CHECK(sk_metrics_counter(r, "sk_ok", "", "good,bad-label") == NULL);
    sk_metric_add(NULL, 1, "x"); /* no registry: nothing, no crash */
    sk_metric_observe(NULL, 1);
    sk_metric_set(NULL, 1);
    sk_metrics_destroy(r);
}

TEST(clear_drops_every_series)
{
    sk_metrics_t *r = sk_metrics_new();
    sk_metric_t *g = sk_metrics_gauge(r, "sk_rules_info", "rules", "version");
    sk_metric_set(g, 1, "v1");
    sk_metric_clear(g);
    sk_metric_set(g, 1, "v2");
    char *t = expo(r);
    CHECK(strstr(t, "v1") == NULL);
    CHECK_CONTAINS(t, "sk_rules_info{version=\"v2\"} 1\n");
    free(t);
    sk_metrics_destroy(r);
}

static void *adder(void *arg)
{
    for (int i = 0; i < 10000; i++)
        sk_metric_add(arg, 1, i % 2 ? "odd" : "even");
    return NULL;
}

TEST(concurrent_updates_are_not_lost)
{
    sk_metrics_t *r = sk_metrics_new();
    sk_metric_t *c = sk_metrics_counter(r, "sk_n_total", "n", "parity");
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, adder, c);
    for (int i = 0; i < 20; i++) {
        char *t = expo(r); /* a scrape while they add */
        free(t);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK(sk_metrics_value(r, "sk_n_total", "odd") == 20000);
    CHECK(sk_metrics_value(r, "sk_n_total", "even") == 20000);
    sk_metrics_destroy(r);
}

SK_TEST_MAIN(SK_TEST_CASE(counters_and_gauges_by_label),
             SK_TEST_CASE(histogram_buckets_are_cumulative),
             SK_TEST_CASE(escaping_and_refused_names), SK_TEST_CASE(clear_drops_every_series),
             SK_TEST_CASE(concurrent_updates_are_not_lost))
