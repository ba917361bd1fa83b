/*
 * store_keep.c — one chunk of a partition's sweep of states past their
 * keep-until (pipeline/keep_sweep.c drives it). A user's state is packed
 * with its keep-until (codec/state_pack.h: the version byte 0x01, then the
 * varint keep_until + 1, 0 for never); a value whose keep-until is at or
 * before `now` reads as an empty state everywhere (pipeline/load.c), so
 * deleting it changes memory only, never behaviour. The script reads that
 * varint itself (the fields are never unpacked) and is fenced by the owner
 * epoch, like the held list's writes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/store_internal.h"

/* KEYS[1] epoch, KEYS[2] users hash; ARGV[1] our epoch, ARGV[2] the HSCAN
 * cursor, ARGV[3] its COUNT, ARGV[4] now (ms). Returns {next cursor, the
 * users deleted...}, or 0 when the epoch is not ours. A value that is not
 * a packed state of version 1 is left alone (the fence refuses old
 * layouts elsewhere). */
static const char KEEP_LUA[] =
    "if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return 0 end\n"
    "local r = redis.call('HSCAN', KEYS[2], ARGV[2], 'COUNT', ARGV[3])\n"
    "local now, out, del = tonumber(ARGV[4]), {r[1]}, {}\n"
    "local kv = r[2]\n"
    "for j = 1, #kv, 2 do\n"
    "  local v = kv[j + 1]\n"
    "  if string.byte(v, 1) == 1 then\n"
    "    local x, m, i = 0, 1, 2\n"
    "    while i <= 11 do\n"
    "      local b = string.byte(v, i)\n"
    "      if not b then x = 0; break end\n"
    "      x = x + (b % 128) * m\n"
    "      if b < 128 then break end\n"
    "      m = m * 128; i = i + 1\n"
    "    end\n"
    "    if i <= 11 and x > 0 and x - 1 <= now then\n"
    "      del[#del + 1] = kv[j]; out[#out + 1] = kv[j] end\n"
    "  end\n"
    "end\n"
    "if #del > 0 then redis.call('HDEL', KEYS[2], unpack(del)) end\n"
    "return out\n";

int sk_store_keep_sweep(sk_store_t *s, int32_t p, int64_t epoch, uint64_t *cursor, size_t count,
                        sk_ms_t now, sk_arena_t *arena, char ***users, size_t *n)
{
    char ke[128], ku[128], ep[32], cu[32], co[32], nw[32];
    int rc = SK_EIO;
    *users = NULL;
    *n = 0;
    sk_store_key(s, ke, sizeof(ke), p, "epoch");
    sk_store_key(s, ku, sizeof(ku), p, "users");
    snprintf(ep, sizeof(ep), "%" PRId64, epoch);
    snprintf(cu, sizeof(cu), "%" PRIu64, *cursor);
    snprintf(co, sizeof(co), "%zu", count ? count : 1);
    snprintf(nw, sizeof(nw), "%" PRId64, (int64_t)now);
    sk_store_at(s, p); /* Redis Cluster: the master of its slot */
    const char *argv[] = {"EVAL", KEEP_LUA, "2", ke, ku, ep, cu, co, nw};
    size_t lens[] = {4,          sizeof(KEEP_LUA) - 1, 1,          strlen(ke), strlen(ku),
                     strlen(ep), strlen(cu),           strlen(co), strlen(nw)};
    redisReply *r = sk_store_command(s, 9, argv, lens);
    if (!r)
        return SK_EIO;
    if (r->type == REDIS_REPLY_INTEGER) {
        rc = SK_EFENCED;
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        sk_store_set_err(s, "keep-until sweep of partition %" PRId32 ": %s", p,
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto out;
    }
    *cursor = strtoull(r->element[0]->str, NULL, 10);
    rc = SK_ENOMEM;
    if (r->elements > 1 && !(*users = sk_arena_calloc(arena, r->elements, sizeof(**users))))
        goto out;
    for (size_t i = 1; i < r->elements; i++) {
        const redisReply *u = r->element[i];
        if (u->type != REDIS_REPLY_STRING)
            continue;
        char *c = sk_arena_alloc(arena, u->len + 1);
        if (!c)
            goto out;
        memcpy(c, u->str, u->len);
        c[u->len] = '\0';
        (*users)[(*n)++] = c;
    }
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}
