/*
 * sweep.c — a rules change takes access back at once (issue 12): after a
 * reload, every user of the partitions this instance owns whose state names
 * an entitlement or a rotation that the change altered or removed is
 * decided again, now, with the new rules (SK_INPUT_RULES), through the same
 * decide -> apply -> emit path as a timer. Access no rule justifies any
 * more is revoked then, not at the user's next event; lead and grace
 * changes move the users' timers.
 *
 * The same sweep, of every user, runs for a partition claimed whose state
 * was decided with other rules (sk_sweep_claimed): rules changed while the
 * engine was down, a rebalance to an instance running newer rules, a
 * restore from the changelog. Each partition records the rules version its
 * users were last swept with (store_marks.c), written only once the sweep
 * of the partition is done, so a crash in the middle sweeps again.
 *
 * Users are found with SCAN (a reload or a claim is rare; this is not the
 * hot path) and their states read in pipelined batches.
 */
#include <string.h>

#include "base/log.h"
#include "pipeline/engine_internal.h"
#include "pipeline/load.h"

#define SWEEP_BATCH 256

/* 1 when the state names something the change from old to now altered;
 * always 1 when old is NULL (the rules it was decided with are unknown). */
static int touched(const sk_rules_t *old, const sk_rules_t *now, const sk_user_state_t *st)
{
    if (!old)
        return 1;
    for (size_t i = 0; i < st->n_sources; i++)
        if (!sk_rules_entitlement_same(old, now, st->sources[i].ent_key))
            return 1;
    for (size_t i = 0; i < st->n_shifts; i++)
        if (!sk_rules_rotation_same(old, now, st->shifts[i].rotation))
            return 1;
    return 0;
}

/* Loads n users (partitions p, ids u) and decides again those touched. */
static int sweep_batch(sk_engine_t *e, const sk_rules_t *old, size_t n, const int32_t *p,
                       const char *const *u, sk_ms_t now, size_t *redecided)
{
    sk_arena_t a;
    sk_user_state_t *st;
    int rc = SK_ENOMEM;
    sk_arena_init(&a, 64 * 1024);
    if (!(st = sk_arena_calloc(&a, n + 1, sizeof(*st))))
        goto out;
    if ((rc = sk_load_users(e->store, n, p, u, &a, st)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (!e->parts[p[i]].owned || !touched(old, e->rules, &st[i]))
            continue;
        rc = sk_apply_redecide(e, p[i], u[i], now, SK_INPUT_RULES);
        if (rc == SK_EFENCED)
            continue; /* the partition has a new owner, who decides with its rules */
        if (rc)
            goto out;
        (*redecided)++;
    }
    rc = 0;
out:
    sk_arena_fini(&a);
    return rc;
}

/* Whether the sweep covers partition p: owned, and for a sweep of claimed
 * partitions (old == NULL) one whose rules are unknown. */
static bool covers(const sk_engine_t *e, const sk_rules_t *old, int32_t p)
{
    return p >= 0 && p < SK_MAX_PARTITIONS && e->parts[p].owned &&
           (old || e->parts[p].rules_unknown);
}

/* Records e->rules' version with every partition the sweep covered; a
 * partition fenced meanwhile is its new owner's. */
static int mark_swept(sk_engine_t *e, const sk_rules_t *old)
{
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        sk_owned_t *o = &e->parts[p];
        if (!o->owned || o->epoch <= 0 || (!old && !o->rules_unknown) || (old && o->rules_unknown))
            continue;
        int rc = sk_store_rules_mark_set(e->store, p, o->epoch, sk_rules_version(e->rules));
        if (rc && rc != SK_EFENCED)
            return rc;
        o->rules_unknown = false;
    }
    return 0;
}

/* The sweep of every user of the partitions it covers (see covers). */
static int sweep(sk_engine_t *e, const sk_rules_t *old, sk_ms_t now)
{
    sk_arena_t a;
    int32_t *parts = NULL, keep_p[SWEEP_BATCH];
    const char **users = NULL, *keep_u[SWEEP_BATCH];
    size_t n = 0, k = 0, redecided = 0;
    int rc;
    sk_arena_init(&a, 64 * 1024);
    if ((rc = sk_store_scan_users(e->store, NULL, &a, &parts, &users, &n)) != 0)
        goto out;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && !covers(e, old, parts[i]))
            continue;
        if (i < n) {
            if ((rc = sk_partition_ensure(e, parts[i])) != 0)
                goto out;
            keep_p[k] = parts[i];
            keep_u[k++] = users[i];
        }
        if (k == SWEEP_BATCH || (i == n && k)) {
            if ((rc = sweep_batch(e, old, k, keep_p, keep_u, now, &redecided)) != 0)
                goto out;
            k = 0;
        }
    }
    if ((rc = mark_swept(e, old)) != 0)
        goto out;
    SK_INFO("rules %s -> %s: %zu user(s) decided again (of %zu with state)",
            old ? sk_rules_version(old) : "unknown (partitions claimed)",
            sk_rules_version(e->rules), redecided, n);
out:
    sk_arena_fini(&a);
    return rc;
}

int sk_sweep_rules(sk_engine_t *e, const sk_rules_t *old, sk_ms_t now)
{
    return sweep(e, old, now);
}

int sk_sweep_claimed(sk_engine_t *e, sk_ms_t now)
{
    bool any = false;
    for (int32_t p = 0; p < SK_MAX_PARTITIONS && !any; p++)
        any = e->parts[p].owned && e->parts[p].rules_unknown;
    return any ? sweep(e, NULL, now) : 0;
}
