/*
 * store_held.c — a partition's held commands in Redis (sk:{pN}:held, a
 * list of packed records, see stuck.c): commands that take access away
 * that Kafka refused for good, kept until it takes them. Writes are fenced
 * by the owner epoch, like the outbox's trim.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/store_internal.h"

/* KEYS[1] epoch, KEYS[2] held list; ARGV[1] our epoch, ARGV[2] the record,
 * ARGV[3] "add" or "del". 1 done, 0 fenced. */
static const char HELD_LUA[] =
    "if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return 0 end\n"
    "if ARGV[3] == 'add' then\n"
    "  if not redis.call('LPOS', KEYS[2], ARGV[2]) then redis.call('RPUSH', KEYS[2], ARGV[2]) end\n"
    "else redis.call('LREM', KEYS[2], 0, ARGV[2]) end\n"
    "return 1\n";

static int held_write(sk_store_t *s, int32_t p, int64_t epoch, const void *blob, size_t len,
                      const char *op)
{
    char ke[128], kh[128], ep[32];
    sk_store_key(s, ke, sizeof(ke), p, "epoch");
    sk_store_key(s, kh, sizeof(kh), p, "held");
    snprintf(ep, sizeof(ep), "%" PRId64, epoch);
    sk_store_at(s, p); /* Redis Cluster: the master of its slot */
    const char *argv[] = {"EVAL", HELD_LUA, "2", ke, kh, ep, blob, op};
    size_t lens[] = {4, sizeof(HELD_LUA) - 1, 1, strlen(ke), strlen(kh), strlen(ep), len, 3};
    redisReply *r = sk_store_command(s, 8, argv, lens);
    if (!r)
        return SK_EIO;
    int rc = r->type == REDIS_REPLY_INTEGER ? (r->integer == 1 ? 0 : SK_EFENCED) : SK_EIO;
    if (rc == SK_EIO)
        sk_store_set_err(s, "held list of partition %" PRId32 ": %s", p,
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return rc;
}

int sk_store_held_add(sk_store_t *s, int32_t p, int64_t epoch, const void *blob, size_t len)
{
    return held_write(s, p, epoch, blob, len, "add");
}

int sk_store_held_del(sk_store_t *s, int32_t p, int64_t epoch, const void *blob, size_t len)
{
    return held_write(s, p, epoch, blob, len, "del");
}

int sk_store_held_read(sk_store_t *s, int32_t p, sk_arena_t *a, void ***blobs, size_t **lens,
                       size_t *n)
{
    char k[128];
    sk_store_key(s, k, sizeof(k), p, "held");
    sk_store_at(s, p); /* Redis Cluster: the master of its slot */
    const char *argv[] = {"LRANGE", k, "0", "-1"};
    size_t alens[] = {6, strlen(k), 1, 2};
    redisReply *r = sk_store_command(s, 4, argv, alens);
    int rc = 0;
    *n = 0;
    if (!r)
        return SK_EIO;
    if (r->type != REDIS_REPLY_ARRAY) {
        sk_store_set_err(s, "held list of partition %" PRId32 ": %s", p,
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        rc = SK_EIO;
        goto out;
    }
    *blobs = sk_arena_calloc(a, r->elements + 1, sizeof(**blobs));
    *lens = sk_arena_calloc(a, r->elements + 1, sizeof(**lens));
    if (!*blobs || !*lens) {
        rc = SK_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *x = r->element[i];
        if (x->type != REDIS_REPLY_STRING)
            continue;
        void *copy = sk_arena_alloc(a, x->len + 1);
        if (!copy) {
            rc = SK_ENOMEM;
            goto out;
        }
        memcpy(copy, x->str, x->len);
        (*blobs)[*n] = copy;
        (*lens)[(*n)++] = x->len;
    }
out:
    freeReplyObject(r);
    return rc;
}
