/*
 * store_marks.c — the rules version a partition's state was decided with
 * (sk:{pN}:rules), so that an owner claiming the partition under other
 * rules decides its users again before relying on what they hold (sweep.c).
 * Written fenced, only after every user of the partition was decided with
 * those rules; a missing mark (a new partition, a restore from the
 * changelog, an older engine) reads as "unknown": the claim sweeps.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/store_internal.h"

int sk_store_rules_mark_get(sk_store_t *s, int32_t partition, char *buf, size_t len)
{
    char k[128];
    sk_store_key(s, k, sizeof(k), partition, "rules");
    sk_store_at(s, partition); /* Redis Cluster: the master of its slot */
    const char *argv[] = {"GET", k};
    size_t lens[] = {3, strlen(k)};
    redisReply *r = sk_store_command(s, 2, argv, lens);
    if (!r)
        return SK_EIO;
    int rc = 0;
    buf[0] = '\0';
    if (r->type == REDIS_REPLY_STRING && r->len < len) {
        memcpy(buf, r->str, r->len);
        buf[r->len] = '\0';
    } else if (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING) {
        sk_store_set_err(s, "rules mark of partition %" PRId32 ": %s", partition,
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        rc = SK_EIO;
    }
    freeReplyObject(r);
    return rc;
}

/* Sets KEYS[2] to ARGV[2] only while KEYS[1] (the owner epoch) is ARGV[1]. */
static const char MARK_SET_LUA[] =
    "if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return 0 end\n"
    "redis.call('SET', KEYS[2], ARGV[2])\n"
    "return 1\n";

int sk_store_rules_mark_set(sk_store_t *s, int32_t partition, int64_t epoch, const char *version)
{
    char ke[128], kr[128], ep[32];
    sk_store_key(s, ke, sizeof(ke), partition, "epoch");
    sk_store_key(s, kr, sizeof(kr), partition, "rules");
    snprintf(ep, sizeof(ep), "%" PRId64, epoch);
    sk_store_at(s, partition); /* Redis Cluster: the master of its slot */
    const char *argv[] = {"EVAL", MARK_SET_LUA, "2", ke, kr, ep, version};
    size_t lens[] = {4,          sizeof(MARK_SET_LUA) - 1, 1, strlen(ke), strlen(kr),
                     strlen(ep), strlen(version)};
    redisReply *r = sk_store_command(s, 7, argv, lens);
    if (!r)
        return SK_EIO;
    int rc = r->type == REDIS_REPLY_INTEGER ? (r->integer == 1 ? 0 : SK_EFENCED) : SK_EIO;
    if (rc == SK_EIO)
        sk_store_set_err(s, "rules mark of partition %" PRId32 ": %s", partition,
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return rc;
}
