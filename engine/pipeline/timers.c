/*
 * timers.c — durable timers: each user with something due later (a grant
 * to start, a source to expire) has one entry in its partition's sorted set,
 * scored by due time. Only the owner of a partition fires its timers, so a
 * timer fires once; a timer missed while the engine was down fires at the
 * first scan after start (catch-up).
 *
 * The engine knows each owned partition's earliest due time (read with one
 * pipelined ZRANGE for all partitions whose time is unknown, and moved up
 * by every step that sets an earlier timer: sk_timers_note), sleeps no
 * longer than until the earliest one and fires a partition's timers as
 * soon as it is due (sk_timers_fire_due), to the millisecond rather than at
 * a fixed scan; a round of many due timers (a backlog after a stall)
 * produces what it fired every PUMP_EVERY_MS rather than after its last
 * one. The scan every --timer-interval-ms remains for what is not
 * a timer: it first checks that Redis still holds every owned partition's
 * state (ledger.c); a partition whose state was lost is restored from the
 * changelog, its timers with it, and those already due fire in the same
 * scan; and it reads every partition's earliest due time again (one
 * pipelined round trip), so a timer no step announced is not missed.
 */
#include <inttypes.h>

#include "pipeline/engine_internal.h"
#include "base/log.h"

#define DUE_BATCH     256
/* Within one firing round, the outputs staged so far are produced every
 * PUMP_EVERY_MS (the loop's own pump follows the round). */
#define PUMP_EVERY_MS 5

/* The bucket of stats.timer_late_hist / timer_wake_hist of late ms. */
static int late_bucket(sk_ms_t late)
{
    return late < 1 ? 0 : late < 5 ? 1 : late < 10 ? 2 : late < 20 ? 3 : late < 50 ? 4 : 5;
}

/* Counts a fired timer: late, ms from due to its apply's end; wake, to the
 * start of its partition's firing. */
static void count_late(sk_engine_stats_t *st, sk_ms_t late, sk_ms_t wake, bool by_scan)
{
    st->timer_late_hist[late_bucket(late)]++;
    st->timer_wake_hist[late_bucket(wake)]++;
    if (by_scan)
        st->timers_by_scan++;
}

/* Fires up to DUE_BATCH due timers of partition p; when fewer were due, its
 * earliest due time is read again next. 0, SK_EIO, or another error of the
 * store or apply (SK_EFENCED/SK_EAGAIN end the partition's turn, not an
 * error). */
static int fire_partition(sk_engine_t *e, int32_t p, sk_ms_t now, sk_arena_t *a, bool by_scan,
                          sk_ms_t *pumped)
{
    const char **users = NULL;
    size_t n = 0;
    sk_ms_t due = e->parts[p].next_due, woke = sk_now_ms();
    int rc;
    sk_arena_reset(a);
    if ((rc = sk_store_due_users(e->store, p, now, DUE_BATCH, a, &users, &n)) != 0)
        return rc;
    for (size_t i = 0; i < n && e->parts[p].owned; i++) {
        rc = sk_apply_timer(e, p, users[i], now);
        if (rc == SK_EFENCED || rc == SK_EAGAIN)
            return 0; /* left to its new owner, or lost: restored at the next scan */
        if (rc)
            return rc;
        sk_ms_t t = sk_now_ms();
        count_late(&e->stats, t - due, woke - due, by_scan);
        if (t - *pumped >= PUMP_EVERY_MS) {
            /* a long round of due timers (a backlog after a stall, many
             * due at once): what was fired leaves now, not after the rest */
            (void)sk_emit_pump(e);
            *pumped = sk_now_ms();
        }
    }
    if (n < DUE_BATCH)
        e->parts[p].due_known = false; /* all fired: the next one is read again */
    return 0;
}

/* Reads the earliest due time of every owned, usable partition whose time
 * is not known (one round trip). 0 or SK_EIO. */
static int refresh_due(sk_engine_t *e)
{
    int32_t parts[SK_MAX_PARTITIONS];
    sk_ms_t due[SK_MAX_PARTITIONS];
    size_t n = 0;
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        const sk_owned_t *o = &e->parts[p];
        if (o->owned && !o->due_known && o->epoch > 0 && !o->lost)
            parts[n++] = p;
    }
    if (n == 0)
        return 0;
    int rc = sk_store_next_due_many(e->store, n, parts, due);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        e->parts[parts[i]].next_due = due[i];
        e->parts[parts[i]].due_known = true;
    }
    return 0;
}

sk_ms_t sk_timers_next_due(const sk_engine_t *e)
{
    sk_ms_t first = SK_MS_NONE;
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        const sk_owned_t *o = &e->parts[p];
        if (!o->owned || o->epoch <= 0 || o->lost)
            continue;
        if (!o->due_known)
            return 0;
        if (o->next_due < first)
            first = o->next_due;
    }
    return first;
}

/* sk_timers_fire_due; by_scan: called by the scan (counted apart). */
static int fire_due(sk_engine_t *e, sk_ms_t now, bool by_scan)
{
    sk_arena_t a;
    int rc;
    if ((rc = refresh_due(e)) != 0)
        return rc;
    if (sk_timers_next_due(e) > now)
        return 0; /* nothing is due: no round trip */
    sk_arena_init(&a, 16 * 1024);
    sk_ms_t pumped = sk_now_ms();
    for (int32_t p = 0; p < SK_MAX_PARTITIONS && rc == 0; p++) {
        const sk_owned_t *o = &e->parts[p];
        if (!(o->owned && o->epoch > 0 && !o->lost && o->due_known && o->next_due <= now))
            continue;
        rc = fire_partition(e, p, now, &a, by_scan, &pumped);
        if (rc && sk_store_connected(e->store)) /* not a busy loop: tried again at scan pace */
            e->parts[p].next_due = now + e->cfg.timer_interval_ms;
    }
    sk_arena_fini(&a);
    return rc;
}

int sk_timers_fire_due(sk_engine_t *e, sk_ms_t now)
{
    return fire_due(e, now, false);
}

int sk_timers_fire(sk_engine_t *e, sk_ms_t now)
{
    int rc = 0, first_rc = 0;
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
        /* its earliest due time is read again (a timer another path moved
         * earlier than sk_timers_note knows is found here) */
        e->parts[p].due_known = false;
    }
    /* one pipelined read of every partition's earliest due time, then the
     * due ones fire: not a round trip per partition, which at 16 of them
     * held the loop (and the timers falling due meanwhile) for tens of ms
     * on a loaded machine */
    rc = fire_due(e, now, true);
out:
    return rc ? rc : first_rc;
}
