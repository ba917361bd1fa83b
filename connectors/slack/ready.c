/* ready.c — the brokers' state for /readyz, kept by a background check (ready.h). */
#include "ready.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/sk.h"

/* One check waits this long for the brokers' answer. */
#define PING_TIMEOUT_MS 500
/* An answer older than this many intervals (plus a check's time) is stale. */
#define STALE_INTERVALS 5

struct sk_slack_ready {
    sk_slack_publisher_t *pub; /* borrowed */
    sk_metric_t *up;           /* borrowed; may be NULL */
    int interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled by stop */
    int stopping;        /* under lock */
    int answered;        /* under lock: the last check's answer */
    sk_ms_t checked_ms;  /* under lock: when it came; 0 before the first */
};

static void *check_main(void *arg)
{
    sk_slack_ready_t *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        pthread_mutex_unlock(&r->lock);
        int ok = sk_slack_publisher_ping(r->pub, PING_TIMEOUT_MS) == 0;
        if (r->up)
            sk_metric_set(r->up, ok ? 1 : 0);
        pthread_mutex_lock(&r->lock);
        r->answered = ok;
        r->checked_ms = sk_now_ms();
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += r->interval_ms / 1000;
        until.tv_nsec += (long)(r->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!r->stopping && pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

sk_slack_ready_t *sk_slack_ready_start(sk_slack_publisher_t *pub, int interval_ms, sk_metric_t *up)
{
    sk_slack_ready_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->pub = pub;
    r->up = up;
    r->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, check_main, r) != 0) {
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

int sk_slack_ready_kafka(sk_slack_ready_t *r, char *why, size_t why_len)
{
    pthread_mutex_lock(&r->lock);
    int answered = r->answered;
    sk_ms_t at = r->checked_ms;
    pthread_mutex_unlock(&r->lock);
    sk_ms_t age = sk_now_ms() - at;
    if (at == 0)
        snprintf(why, why_len, "Kafka brokers not checked yet");
    else if (age > (sk_ms_t)STALE_INTERVALS * r->interval_ms + PING_TIMEOUT_MS)
        snprintf(why, why_len, "Kafka brokers not checked for %lld ms", (long long)age);
    else if (!answered)
        snprintf(why, why_len, "Kafka brokers not answering");
    else
        return 1;
    return 0;
}

void sk_slack_ready_stop(sk_slack_ready_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
