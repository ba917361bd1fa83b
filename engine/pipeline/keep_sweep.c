/*
 * keep_sweep.c — states past their keep-until leave Redis. A user's value
 * carries the time it may be dropped (its keep-until, codec/state_pack.h),
 * but the user's timer comes only at a real wake-up (a grant's expiry, a
 * shift's start, a request's step, a retry): a timer member for the
 * keep-until alone cost ~104 bytes per user in the timers sorted set. A
 * value past its keep-until already reads as an empty state everywhere
 * (pipeline/load.c, the CLI, the changelog restore), so when it goes is a
 * matter of memory only, never of behaviour: this slow sweep deletes such
 * values, one HSCAN chunk of one owned partition at a time
 * (sk_store_keep_sweep), a chunk every SK_KEEP_SWEEP_EVERY_MS at most and
 * a pause of SK_KEEP_SWEEP_PASS_MS after each pass over the owned
 * partitions, so it never holds the batch loop for long.
 */
#include "base/log.h"
#include "pipeline/engine_internal.h"

#define SK_KEEP_SWEEP_EVERY_MS 100  /* at most one chunk per this */
#define SK_KEEP_SWEEP_PASS_MS  1000 /* the pause after a pass over every owned partition */
#define SK_KEEP_SWEEP_COUNT    256  /* HSCAN's COUNT per chunk */

/* The next owned partition from p on (wrapping), -1 when none is owned. */
static int32_t next_owned(const sk_engine_t *e, int32_t p)
{
    for (int32_t i = 0; i < SK_MAX_PARTITIONS; i++) {
        int32_t q = (p + i) % SK_MAX_PARTITIONS;
        const sk_owned_t *o = &e->parts[q];
        if (o->owned && !o->lost && !o->stopped)
            return q;
    }
    return -1;
}

void sk_keep_sweep(sk_engine_t *e, sk_ms_t now)
{
    sk_keep_sweep_t *k = &e->keep_sweep;
    if (now < k->next_ms || !sk_store_connected(e->store))
        return;
    k->next_ms = now + SK_KEEP_SWEEP_EVERY_MS;
    int32_t p = next_owned(e, k->partition);
    if (p < 0)
        return;
    if (p != k->partition)
        k->cursor = 0; /* a partition given up in the middle: the next starts over */
    k->partition = p;
    sk_arena_t a;
    char **users = NULL;
    size_t n = 0;
    sk_arena_init(&a, 4096);
    int rc = sk_store_keep_sweep(e->store, p, e->parts[p].epoch, &k->cursor, SK_KEEP_SWEEP_COUNT,
                                 now, &a, &users, &n);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            sk_state_cache_drop(e->cache, p, users[i]);
        k->swept += n;
        if (n)
            SK_DEBUG("keep-until sweep: partition %d: %zu states deleted", (int)p, n);
    }
    if (rc != 0 || k->cursor == 0) { /* this partition is done (or refused): the next */
        k->cursor = 0;
        k->partition = p + 1;
        if (next_owned(e, k->partition) <= p) /* wrapped: a pass is over */
            k->next_ms = now + SK_KEEP_SWEEP_PASS_MS;
    }
    sk_arena_fini(&a);
}
