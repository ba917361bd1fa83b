/*
 * timers.c — durable timers: each user with something due later (a grant
 * to start, a source to expire) has one entry in its partition's sorted set,
 * scored by due time. Only the owner of a partition fires its timers, so a
 * timer fires once; a timer missed while the engine was down fires at the
 * first scan after start (catch-up).
 */
#include <inttypes.h>

#include "pipeline/engine_internal.h"
#include "base/log.h"

#define DUE_BATCH 256

int sk_timers_fire(sk_engine_t *e, sk_ms_t now)
{
    sk_arena_t a;
    int rc = 0;
    sk_arena_init(&a, 16 * 1024);
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        if (!e->parts[p].owned)
            continue;
        if ((rc = sk_partition_ensure(e, p)) != 0)
            goto out;
        const char **users = NULL;
        size_t n = 0;
        sk_arena_reset(&a);
        if ((rc = sk_store_due_users(e->store, p, now, DUE_BATCH, &a, &users, &n)) != 0)
            goto out;
        for (size_t i = 0; i < n && e->parts[p].owned; i++) {
            rc = sk_apply_timer(e, p, users[i], now);
            if (rc == SK_EFENCED)
                break;
            if (rc)
                goto out;
        }
        rc = 0;
    }
out:
    sk_arena_fini(&a);
    return rc;
}
