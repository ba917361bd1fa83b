/*
 * timers.c — durable timers: each user with something due later (a grant
 * to start, a source to expire) has one entry in its partition's sorted set,
 * scored by due time. Only the owner of a partition fires its timers, so a
 * timer fires once; a timer missed while the engine was down fires at the
 * first scan after start (catch-up). Each scan first checks that Redis
 * still holds every owned partition's state (ledger.c); a partition whose
 * state was lost is restored from the changelog, its timers with it, and
 * those already due fire in the same scan.
 */
#include <inttypes.h>

#include "pipeline/engine_internal.h"
#include "base/log.h"

#define DUE_BATCH 256

int sk_timers_fire(sk_engine_t *e, sk_ms_t now)
{
    sk_arena_t a;
    int rc = 0, first_rc = 0;
    sk_arena_init(&a, 16 * 1024);
    /* every scan checks that no owned partition's state is behind the
     * ledger (lost): such a partition is restored by the ensure below */
    if ((rc = sk_ledger_check(e)) != 0)
        goto out;
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        if (!e->parts[p].owned)
            continue;
        int erc = sk_partition_ensure(e, p);
        if (erc == SK_EIO && !sk_store_connected(e->store)) {
            rc = erc; /* Redis is away: the loop reconnects first */
            goto out;
        }
        if (erc) { /* this one stays stopped (lost, not restorable yet): the others go on */
            first_rc = first_rc ? first_rc : erc;
            continue;
        }
        const char **users = NULL;
        size_t n = 0;
        sk_arena_reset(&a);
        if ((rc = sk_store_due_users(e->store, p, now, DUE_BATCH, &a, &users, &n)) != 0)
            goto out;
        for (size_t i = 0; i < n && e->parts[p].owned; i++) {
            rc = sk_apply_timer(e, p, users[i], now);
            if (rc == SK_EFENCED || rc == SK_EAGAIN)
                break; /* left to its new owner, or lost: restored at the next scan */
            if (rc)
                goto out;
        }
        rc = 0;
    }
out:
    sk_arena_fini(&a);
    return rc ? rc : first_rc;
}
