/* campaign_scan.c — a campaign's run starts in every owned partition (see
 * campaign_scan.h). */
#include "pipeline/campaign_scan.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipeline/store_internal.h"

/* The run of c to sweep at now; SK_MS_NONE when none is under way. */
static sk_ms_t current_run(const sk_campaign_t *c, sk_ms_t now)
{
    sk_ms_t run = sk_campaign_run_at(c, now);
    if (run == SK_MS_NONE || now - run >= c->due_after_ms + c->grace_ms)
        return SK_MS_NONE;
    return run;
}

/* 1 when partition p already swept campaign c's run; 0 when not; SK_EIO. */
static int swept(sk_engine_t *e, int32_t p, const sk_campaign_t *c, sk_ms_t run, bool mark)
{
    char key[256], val[24];
    snprintf(val, sizeof(val), "%" PRId64, run);
    sk_store_key(e->store, key, sizeof(key), p, "campaigns");
    const char *argv[] = {mark ? "HSET" : "HGET", key, c->id, val};
    size_t lens[] = {4, strlen(key), strlen(c->id), strlen(val)};
    redisReply *r = sk_store_command(e->store, mark ? 4 : 3, argv, lens);
    int rc = SK_EIO;
    if (!r)
        return SK_EIO;
    if (r->type == REDIS_REPLY_ERROR)
        goto out;
    rc = mark ? 0
              : (r->type == REDIS_REPLY_STRING && strlen(val) == r->len &&
                 memcmp(r->str, val, r->len) == 0);
out:
    freeReplyObject(r);
    return rc;
}

/* Decides every user of the partitions marked in `need`. */
static int sweep_users(sk_engine_t *e, const bool *need, sk_ms_t now, size_t *n_decided)
{
    sk_arena_t a;
    int32_t *parts = NULL;
    const char **users = NULL;
    size_t n = 0;
    int rc;
    sk_arena_init(&a, 64 * 1024);
    if ((rc = sk_store_scan_users(e->store, NULL, &a, &parts, &users, &n)) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int32_t p = parts[i];
        if (p < 0 || p >= SK_MAX_PARTITIONS || !need[p] || !e->parts[p].owned)
            continue;
        rc = sk_apply_redecide(e, p, users[i], now, SK_INPUT_TIMER);
        if (rc == SK_EFENCED || rc == SK_EAGAIN)
            continue; /* its new owner (or the restore) sweeps it */
        if (rc)
            goto out;
        (*n_decided)++;
    }
    rc = 0;
out:
    sk_arena_fini(&a);
    return rc;
}

int sk_campaign_scan(sk_engine_t *e, sk_ms_t now)
{
    bool need[SK_MAX_PARTITIONS] = {false}, any = false;
    size_t nc = sk_rules_campaign_count(e->rules), n_decided = 0;
    int rc;
    if (!nc || now < e->campaign_next_scan)
        return 0;
    e->campaign_next_scan = now + SK_CAMPAIGN_SCAN_MS;
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++) {
        for (size_t i = 0; e->parts[p].owned && i < nc; i++) {
            const sk_campaign_t *c = sk_rules_campaign_at(e->rules, i);
            sk_ms_t run = current_run(c, now);
            if (run == SK_MS_NONE)
                continue;
            if ((rc = swept(e, p, c, run, false)) < 0)
                return rc;
            need[p] |= rc == 0;
        }
        any |= need[p];
    }
    if (!any)
        return 0;
    if ((rc = sweep_users(e, need, now, &n_decided)) != 0)
        return rc;
    for (int32_t p = 0; p < SK_MAX_PARTITIONS; p++)
        for (size_t i = 0; need[p] && e->parts[p].owned && i < nc; i++) {
            const sk_campaign_t *c = sk_rules_campaign_at(e->rules, i);
            sk_ms_t run = current_run(c, now);
            if (run != SK_MS_NONE && (rc = swept(e, p, c, run, true)) != 0)
                return rc;
        }
    SK_INFO("access review campaigns: a run started; %zu user(s) decided for their snapshot",
            n_decided);
    return 0;
}
