/* store.c — Redis state through hiredis (see store.h for the layout): the
 * connection, the scripts, claims and the reads; the atomic apply is in
 * store_apply.c. */
#include "pipeline/store_internal.h"

#include <assert.h>
#include <hiredis.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

/*
 * The fence every script starts with (KEYS[1] the epoch, KEYS[2] the
 * offsets hash with the step sequence in its field "#seq"; ARGV[1] our
 * epoch, ARGV[2] the sequence the ledger has reached). Three answers tell why a partition is
 * not ours to write, by the error's first word:
 *   NOEPOCH  no epoch at all: Redis lost or flushed its data;
 *   LOST     an epoch below ours, or a sequence below the ledger's: Redis
 *            went back in time (a failover to a replica that lagged, a
 *            restore from an old snapshot);
 *   FENCED   an epoch above ours: another instance claimed the partition.
 * NOEPOCH and LOST both mean "state lost: restore it from the changelog".
 */
#define FENCE_LUA(floor_argv) FENCE_LUA_WITH(floor_argv, "{}")

/* The fence, reading with the same HMGET the offsets hash's fields named
 * by the Lua table `extra` (into mark[3], mark[4], ...). */
#define FENCE_LUA_WITH(floor_argv, extra)                                                          \
    "local cur = redis.call('GET', KEYS[1])\n"                                                     \
    "if not cur then return redis.error_reply('NOEPOCH the partition has no epoch') end\n"         \
    "if tonumber(cur) < tonumber(ARGV[1]) then\n"                                                  \
    "  return redis.error_reply('LOST epoch went back from ' .. ARGV[1] .. ' to ' .. cur) end\n"   \
    "if cur ~= ARGV[1] then return redis.error_reply('FENCED epoch is ' .. cur) end\n"             \
    "local mark = redis.call('HMGET', KEYS[2], '#seq', '#layout', unpack(" extra "))\n"            \
    "if mark[2] ~= '" SK_STORE_LAYOUT "' then\n"                                                   \
    "  return redis.error_reply('LOST layout: the partition is not in layout " SK_STORE_LAYOUT     \
    " (users as packed strings)') end\n"                                                           \
    "local seq = tonumber(mark[1] or '0')\n"                                                       \
    "if seq < tonumber(ARGV[" floor_argv "]) then\n"                                               \
    "  return redis.error_reply('LOST step sequence is ' .. seq .. ', the ledger is at ' .. "      \
    "ARGV[" floor_argv "]) end\n"

/*
 * Applies a partition's inputs of a batch atomically, in order; see
 * sk_store_apply_many. KEYS[1..4] epoch, offsets, outbox, timers, then
 * the users hash when an input has a user, then the on-call index when an
 * input writes it (on a Redis Cluster, a key named but absent on the node
 * importing the slot would be TRYAGAIN until the migration ends). ARGV[1] our epoch, ARGV[2] the ledger's sequence (the
 * fence), ARGV[3] how many inputs, then per input: '1' when it has a user,
 * topic ('' for a timer), offset, user, what happens to the user's value
 * ('k' kept, 's' set, 'd' deleted), the value, timer due time ('-1':
 * none), step sequence ('' none), then counted lists: on-call index
 * field/value pairs ('' deletes), outbox entries. Returns one integer per
 * input: 1 applied, 0 skipped (its offset was applied before). The
 * inputs' applied offsets are read with the fence (one HMGET); the inputs
 * are gathered (a user's or a field's last write wins), then each kind
 * written once for the partition: one HSET of the users' values and
 * one HDEL, one ZADD and one ZREM of the timers, one HSET and one HDEL of
 * the on-call index, one HSET of the offsets and the step sequence, one
 * RPUSH of the outbox (each per 1,000 arguments).
 */
static const char APPLY_LUA[] =
    /* the inputs' topics first: their applied offsets come with the fence's HMGET */
    "local topics, seen, UK, XK = {}, {}, nil, nil\n"
    "do local i, nk = 4, 5\n"
    "  for op = 1, tonumber(ARGV[3]) do\n"
    "    local t = ARGV[i + 1]\n"
    "    if t ~= '' and not seen[t] then topics[#topics + 1] = t; seen[t] = true end\n"
    "    if ARGV[i] == '1' then UK = true end\n"
    "    i = i + 8; if tonumber(ARGV[i]) > 0 then XK = true end\n"
    "    i = i + 1 + 2 * tonumber(ARGV[i]); i = i + 1 + tonumber(ARGV[i])\n"
    "  end\n"
    "  if UK then UK = KEYS[nk]; nk = nk + 1 end\n"
    "  if XK then XK = KEYS[nk] end\n"
    "end\n" FENCE_LUA_WITH(
        "2",
        "topics") "local res, out, offs, seq = {}, {}, {}, nil\n"
                  "local done0 = {}\n"
                  "for k, t in ipairs(topics) do done0[t] = tonumber(mark[2 + k] or '-1') end\n"
                  "local val, uks, wake, who, idx, fields = {}, {}, {}, {}, {}, {}\n"
                  "local i = 4\n"
                  "for op = 1, tonumber(ARGV[3]) do\n"
                  "  local has, topic, off, user = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]\n"
                  "  local vop, v, wk, sq = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]\n"
                  "  i = i + 8\n"
                  "  local nidx = tonumber(ARGV[i]); local x0 = i + 1; i = x0 + 2 * nidx\n"
                  "  local nout = tonumber(ARGV[i]); local o0 = i + 1; i = o0 + nout\n"
                  "  local skip = false\n"
                  "  if topic ~= '' then\n"
                  "    local done = offs[topic] or done0[topic]\n"
                  "    if done >= tonumber(off) then skip = true else offs[topic] = tonumber(off) end\n"
                  "  end\n"
                  "  if skip then res[op] = 0 else\n"
                  "    if sq ~= '' then seq = sq end\n"
                  "    if has == '1' then\n"
                  "      if vop ~= 'k' then\n"
                  "        if val[user] == nil then uks[#uks + 1] = user end\n"
                  "        if vop == 's' then val[user] = v else val[user] = false end\n"
                  "      end\n"
                  "      if wake[user] == nil then who[#who + 1] = user end\n"
                  "      wake[user] = wk\n"
                  "    end\n"
                  "    for j = 0, nidx - 1 do\n"
                  "      local f = ARGV[x0 + 2 * j]\n"
                  "      if idx[f] == nil then fields[#fields + 1] = f end\n"
                  "      idx[f] = ARGV[x0 + 2 * j + 1]\n"
                  "    end\n"
                  "    for j = o0, o0 + nout - 1 do out[#out + 1] = ARGV[j] end\n"
                  "    res[op] = 1\n"
                  "  end\n"
                  "end\n"
                  "local function each(cmd, key, list)\n"
                  "  for s = 1, #list, 1000 do\n"
                  "    redis.call(cmd, key, unpack(list, s, math.min(s + 999, #list)))\n"
                  "  end\n"
                  "end\n"
                  "local uset, udel, zadd, zrem, hset, hdel = {}, {}, {}, {}, {}, {}\n"
                  "for _, u in ipairs(uks) do\n"
                  "  if val[u] then uset[#uset + 1] = u; uset[#uset + 1] = val[u]\n"
                  "  else udel[#udel + 1] = u end\n"
                  "end\n"
                  "for _, u in ipairs(who) do\n"
                  "  if wake[u] == '-1' then zrem[#zrem + 1] = u\n"
                  "  else zadd[#zadd + 1] = wake[u]; zadd[#zadd + 1] = u end\n"
                  "end\n"
                  "for _, f in ipairs(fields) do\n"
                  "  if idx[f] == '' then hdel[#hdel + 1] = f\n"
                  "  else hset[#hset + 1] = f; hset[#hset + 1] = idx[f] end\n"
                  "end\n"
                  "each('HSET', UK, uset)\n"
                  "each('HDEL', UK, udel)\n"
                  "each('ZADD', KEYS[4], zadd)\n"
                  "each('ZREM', KEYS[4], zrem)\n"
                  "each('HSET', XK, hset)\n"
                  "each('HDEL', XK, hdel)\n"
                  "local set = {}\n"
                  "for t, o in pairs(offs) do set[#set + 1] = t; set[#set + 1] = tostring(o) end\n"
                  "if seq then set[#set + 1] = '#seq'; set[#set + 1] = seq end\n"
                  "each('HSET', KEYS[2], set)\n"
                  "each('RPUSH', KEYS[3], out)\n"
                  "return res\n";

/* Trims the outbox if the caller still owns the partition: KEYS[1] epoch,
 * KEYS[2] offsets, KEYS[3] outbox; ARGV[1] epoch, ARGV[2] the ledger's
 * sequence, ARGV[3] how many to drop. */
static const char TRIM_LUA[] = FENCE_LUA("2") "redis.call('LTRIM', KEYS[3], ARGV[3], -1)\n"
                                              "return 1\n";

/* The fence alone (sk_store_check_many): KEYS and ARGV as the trim's. */
static const char CHECK_LUA[] = FENCE_LUA("2") "return 1\n";

/* A claim: a new epoch, at least ARGV[1]; returns it and the sequence. A
 * partition that has never been written (no offsets hash) is marked with
 * the layout; one written before without the mark (the old layout) is
 * left unmarked, so the fence refuses it as lost and it is rebuilt. */
static const char CLAIM_LUA[] =
    "local e = redis.call('INCR', KEYS[1])\n"
    "if e < tonumber(ARGV[1]) then e = tonumber(ARGV[1]); redis.call('SET', KEYS[1], e) end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
    "  redis.call('HSET', KEYS[2], '#layout', '" SK_STORE_LAYOUT "') end\n"
    "return {e, tonumber(redis.call('HGET', KEYS[2], '#seq') or '0')}\n";

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

sk_store_t *sk_store_new(const sk_store_config_t *cfg)
{
    sk_store_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg.host = strdup(cfg->host ? cfg->host : "127.0.0.1");
    s->cfg.port = cfg->port ? cfg->port : 6379;
    s->cfg.unix_path = dup_or_null(cfg->unix_path);
    s->cfg.cluster = dup_or_null(cfg->cluster);
    s->slot = -1;
    sk_resp_init(&s->apply_cmd);
    s->cfg.user = dup_or_null(cfg->user);
    s->cfg.password = dup_or_null(cfg->password);
    s->cfg.prefix = strdup(cfg->prefix ? cfg->prefix : "sk");
    s->cfg.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
    if (s->cfg.cluster)
        s->route = sk_route_new(s->cfg.cluster, s->cfg.user, s->cfg.password, s->cfg.timeout_ms);
    if (!s->cfg.host || !s->cfg.prefix || (cfg->cluster && (!s->cfg.cluster || !s->route))) {
        sk_store_destroy(s);
        return NULL;
    }
    return s;
}

void sk_store_destroy(sk_store_t *s)
{
    if (!s)
        return;
    sk_store_disconnect(s);
    sk_route_stats_t st = {0};
    if (s->route)
        sk_route_stats(s->route, &st);
    if (st.moved || st.ask || st.tryagain) /* what the cluster asked of us, for operators */
        SK_INFO("Redis Cluster: %" PRIu64 " MOVED, %" PRIu64 " ASK and %" PRIu64
                " TRYAGAIN answered; slot map read %" PRIu64 " times",
                st.moved, st.ask, st.tryagain, st.refreshes);
    sk_route_destroy(s->route);
    free((char *)s->cfg.host);
    free((char *)s->cfg.unix_path);
    free((char *)s->cfg.cluster);
    free((char *)s->cfg.user);
    free((char *)s->cfg.password);
    free((char *)s->cfg.prefix);
    sk_resp_fini(&s->apply_cmd);
    free(s);
}

bool sk_store_connected(const sk_store_t *s)
{
    return s->rc != NULL;
}

const char *sk_store_last_error(const sk_store_t *s)
{
    return s->err;
}

void sk_store_set_err(sk_store_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

void sk_store_disconnect(sk_store_t *s)
{
    if (s->route) /* every master's connection: the cluster is reconnected whole */
        sk_route_close(s->route);
    else if (s->rc)
        redisFree(s->rc);
    s->rc = NULL;
    s->slot = -1;
}

redisContext *sk_store_at(sk_store_t *s, int32_t p)
{
    if (s->route && s->rc) {
        s->slot = sk_route_partition_slot(p);
        s->rc = sk_route_slot_node(s->route, s->slot);
        if (!s->rc) {
            sk_store_set_err(s, "Redis Cluster: no connection to the master of partition %" PRId32,
                             p);
            sk_store_disconnect(s);
        }
    }
    return s->rc;
}

void sk_store_at_node(sk_store_t *s, redisContext *c)
{
    s->rc = c;
    s->slot = -1;
}

redisReply *sk_store_reply(sk_store_t *s, redisContext *c)
{
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) == REDIS_OK && r)
        return r;
    sk_store_set_err(s, "redis: %s", c->errstr[0] ? c->errstr : "connection lost");
    sk_store_disconnect(s);
    return NULL;
}

int sk_store_append_at(sk_store_t *s, int32_t p, redisContext **via, int argc, const char **argv,
                       const size_t *lens)
{
    if (!(*via = sk_store_at(s, p)))
        return SK_EIO;
    return argv && redisAppendCommandArgv(*via, argc, argv, lens) == REDIS_OK ? 0 : SK_ENOMEM;
}

/*
 * Runs one command. Returns the reply (caller frees), or NULL after an I/O
 * failure, which closes the connection. Error replies are returned as such.
 */
redisReply *sk_store_command(sk_store_t *s, int argc, const char **argv, const size_t *lens)
{
    if (!s->rc) {
        sk_store_set_err(s, "not connected to Redis");
        return NULL;
    }
    if (s->route && s->slot >= 0) { /* a partition's command: MOVED, ASK followed */
        redisReply *r = sk_route_command(s->route, s->slot, argc, argv, lens);
        if (!r) {
            sk_store_set_err(s, "%s", sk_route_last_error(s->route));
            sk_store_disconnect(s);
        } else {
            s->rc = sk_route_slot_node(s->route, s->slot); /* it may have moved */
        }
        return r;
    }
    redisReply *r = redisCommandArgv(s->rc, argc, argv, lens);
    if (!r) {
        sk_store_set_err(s, "redis %s:%d: %s", s->cfg.unix_path ? s->cfg.unix_path : s->cfg.host,
                         s->cfg.port, s->rc->errstr[0] ? s->rc->errstr : "connection lost");
        sk_store_disconnect(s);
    }
    return r;
}

static int load_script(sk_store_t *s, const char *body, char sha[41])
{
    const char *argv[] = {"SCRIPT", "LOAD", body};
    size_t lens[] = {6, 4, strlen(body)};
    redisReply *r = sk_store_command(s, 3, argv, lens);
    int rc = SK_EIO;
    if (!r)
        return SK_EIO;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        memcpy(sha, r->str, 41);
        rc = 0;
    } else {
        sk_store_set_err(s, "SCRIPT LOAD failed: %s",
                         r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
    }
    freeReplyObject(r);
    return rc;
}

/* Loads the scripts (again, after Redis lost its script cache) on the
 * connection in use. 0 or SK_EIO. */
static int load_scripts_here(sk_store_t *s)
{
    if (load_script(s, APPLY_LUA, s->apply_sha) || load_script(s, TRIM_LUA, s->trim_sha) ||
        load_script(s, CHECK_LUA, s->check_sha) || load_script(s, CLAIM_LUA, s->claim_sha))
        return SK_EIO;
    return 0;
}

/* Loads the scripts on the one server, or on every master of the cluster
 * (each has its own script cache; a promoted replica has none). 0 or SK_EIO;
 * the connection in use is left to the next sk_store_at. */
int sk_store_load_scripts(sk_store_t *s)
{
    int slot = s->slot;
    if (!s->route)
        return load_scripts_here(s);
    for (size_t i = 0, n = sk_route_n_masters(s->route); i < n; i++) {
        sk_store_at_node(s, sk_route_master(s->route, i));
        if (!s->rc || load_scripts_here(s) != 0)
            return SK_EIO;
    }
    if (slot >= 0) { /* back to the partition in use (evalsha sends again) */
        s->slot = slot;
        s->rc = sk_route_slot_node(s->route, slot);
    }
    return 0;
}

int sk_store_connect(sk_store_t *s)
{
    struct timeval tv = {s->cfg.timeout_ms / 1000, (s->cfg.timeout_ms % 1000) * 1000};
    sk_store_disconnect(s);
    if (s->route) { /* the slot map, every master (authenticated), the scripts on each */
        if (sk_route_connect(s->route) != 0) {
            sk_store_set_err(s, "%s", sk_route_last_error(s->route));
            return SK_EIO;
        }
        if (sk_store_load_scripts(s) != 0) {
            sk_store_disconnect(s);
            return SK_EIO;
        }
        s->err[0] = '\0';
        return 0;
    }
    s->rc = s->cfg.unix_path ? redisConnectUnixWithTimeout(s->cfg.unix_path, tv)
                             : redisConnectWithTimeout(s->cfg.host, s->cfg.port, tv);
    if (!s->rc || s->rc->err) {
        sk_store_set_err(s, "cannot connect to Redis at %s:%d: %s",
                         s->cfg.unix_path ? s->cfg.unix_path : s->cfg.host, s->cfg.port,
                         s->rc ? s->rc->errstr : "out of memory");
        sk_store_disconnect(s);
        return SK_EIO;
    }
    redisSetTimeout(s->rc, tv);
    if (s->cfg.password) {
        const char *argv[] = {"AUTH", s->cfg.user ? s->cfg.user : "default", s->cfg.password};
        size_t lens[] = {4, strlen(argv[1]), strlen(argv[2])};
        redisReply *r = sk_store_command(s, 3, argv, lens);
        if (!r)
            return SK_EIO;
        int bad = r->type == REDIS_REPLY_ERROR;
        if (bad)
            sk_store_set_err(s, "Redis AUTH as '%s' failed: %s (check the user and password)",
                             argv[1], r->str);
        freeReplyObject(r);
        if (bad) {
            sk_store_disconnect(s);
            return SK_EIO;
        }
    }
    if (sk_store_load_scripts(s) != 0) {
        sk_store_disconnect(s);
        return SK_EIO;
    }
    s->err[0] = '\0';
    return 0;
}

void sk_store_key(const sk_store_t *s, char *buf, size_t len, int32_t p, const char *what)
{
    snprintf(buf, len, "%s:{p%" PRId32 "}:%s", s->cfg.prefix, p, what);
}

int sk_store_claim(sk_store_t *s, int32_t partition, int64_t *epoch)
{
    int64_t seq;
    return sk_store_claim_above(s, partition, 0, epoch, &seq);
}

/* Runs one of our scripts by its sha (*sha is read at each attempt),
 * reloading the scripts once on NOSCRIPT (Redis restarted or failed over and
 * lost its script cache); a second NOSCRIPT is returned as it is. NULL
 * after an I/O failure. */
static redisReply *evalsha(sk_store_t *s, const char *sha, int argc, const char **argv,
                           size_t *lens)
{
    for (int attempt = 0;; attempt++) {
        argv[0] = "EVALSHA";
        lens[0] = 7;
        argv[1] = sha;
        lens[1] = 40;
        redisReply *r = sk_store_command(s, argc, argv, lens);
        if (!r || attempt > 0 || r->type != REDIS_REPLY_ERROR ||
            strncmp(r->str, "NOSCRIPT", 8) != 0)
            return r;
        freeReplyObject(r);
        if (sk_store_load_scripts(s) != 0)
            return NULL;
    }
}

int sk_store_claim_above(sk_store_t *s, int32_t partition, int64_t min_epoch, int64_t *epoch,
                         int64_t *seq)
{
    char ke[128], ko[128], min[32];
    sk_store_key(s, ke, sizeof(ke), partition, "epoch");
    sk_store_key(s, ko, sizeof(ko), partition, "offsets");
    snprintf(min, sizeof(min), "%" PRId64, min_epoch);
    const char *argv[] = {"EVALSHA", NULL, "2", ke, ko, min};
    size_t lens[] = {7, 40, 1, strlen(ke), strlen(ko), strlen(min)};
    sk_store_at(s, partition);
    redisReply *r = evalsha(s, s->claim_sha, 6, argv, lens);
    if (!r)
        return SK_EIO;
    int rc = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                     r->element[0]->type == REDIS_REPLY_INTEGER &&
                     r->element[1]->type == REDIS_REPLY_INTEGER
                 ? 0
                 : SK_EIO;
    if (rc == 0) {
        *epoch = r->element[0]->integer;
        *seq = r->element[1]->integer;
    } else {
        sk_store_set_err(s, "claim of partition %" PRId32 ": %s", partition,
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

int sk_store_applied_offset(sk_store_t *s, int32_t partition, const char *topic, int64_t *offset)
{
    char k[128];
    sk_store_key(s, k, sizeof(k), partition, "offsets");
    const char *argv[] = {"HGET", k, topic};
    size_t lens[] = {4, strlen(k), strlen(topic)};
    sk_store_at(s, partition);
    redisReply *r = sk_store_command(s, 3, argv, lens);
    if (!r)
        return SK_EIO;
    int rc = 0;
    if (r->type == REDIS_REPLY_NIL)
        *offset = -1;
    else if (r->type == REDIS_REPLY_STRING)
        *offset = strtoll(r->str, NULL, 10);
    else
        rc = SK_EIO;
    freeReplyObject(r);
    return rc;
}

/* Copies one user's value of an HMGET reply into *out (arena memory; len
 * 0 when there is none). 0, SK_EIO (not a string) or SK_ENOMEM. */
static int value_reply(sk_store_t *s, const redisReply *r, const char *user, sk_arena_t *arena,
                       sk_store_value_t *out)
{
    *out = (sk_store_value_t){0};
    if (r->type == REDIS_REPLY_NIL)
        return 0;
    if (r->type != REDIS_REPLY_STRING) {
        sk_store_set_err(s, "the value of user %s: %s", user,
                         r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        return SK_EIO;
    }
    void *b = sk_arena_alloc(arena, r->len + 1);
    if (!b)
        return SK_ENOMEM;
    memcpy(b, r->str, r->len);
    *out = (sk_store_value_t){b, r->len};
    return 0;
}

char *sk_store_fmt_i64(sk_arena_t *a, int64_t v)
{
    return sk_arena_sprintf(a, "%" PRId64, v);
}

char *sk_store_oncall_key(const sk_store_t *s, sk_arena_t *a, int32_t p)
{
    return sk_arena_sprintf(a, "%s:{p%" PRId32 "}:oncall", s->cfg.prefix, p);
}

char *sk_store_oncall_field(sk_arena_t *a, const char *rotation, const char *field)
{
    return sk_arena_sprintf(a, "%s %s", rotation, field);
}

/* The meaning of a reply of a fenced script that did not answer an
 * integer: SK_EFENCED, SK_ENOTFOUND (NOEPOCH, LOST: state lost) or SK_EIO,
 * with the error text set. */
int sk_store_fence_result(sk_store_t *s, int32_t p, int64_t epoch, const char *what,
                          const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "FENCED ", 7) == 0) {
        sk_store_set_err(s, "partition %" PRId32 " fenced: our epoch %" PRId64 ", %s", p, epoch,
                         r->str);
        return SK_EFENCED;
    }
    if (r->type == REDIS_REPLY_ERROR &&
        (strncmp(r->str, "NOEPOCH ", 8) == 0 || strncmp(r->str, "LOST ", 5) == 0)) {
        sk_store_set_err(s,
                         "partition %" PRId32 ": state lost in Redis (our epoch %" PRId64 "): %s",
                         p, epoch, r->str);
        return SK_ENOTFOUND;
    }
    sk_store_set_err(s, "partition %" PRId32 ": %s failed: %s", p, what,
                     r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
    return SK_EIO;
}

/* The HMGET of the users users[who[0..m)] of partition p, into arena
 * memory (*argc arguments). NULL when out of memory. */
static const char **read_argv(sk_store_t *s, sk_arena_t *arena, int32_t p, const char *const *users,
                              const size_t *who, size_t m, size_t **lens, int *argc)
{
    const char **argv = sk_arena_calloc(arena, m + 2, sizeof(*argv));
    *lens = sk_arena_calloc(arena, m + 2, sizeof(**lens));
    if (!argv || !*lens ||
        !(argv[1] = sk_arena_sprintf(arena, "%s:{p%" PRId32 "}:users", s->cfg.prefix, p)))
        return NULL;
    argv[0] = "HMGET";
    for (size_t j = 0; j < m; j++)
        argv[2 + j] = users[who[j]];
    for (size_t j = 0; j < m + 2; j++)
        (*lens)[j] = strlen(argv[j]);
    *argc = (int)(m + 2);
    return argv;
}

/* The values of one HMGET reply for users[who[0..m)] into out[]. 0, SK_EIO
 * (an error reply, or not m values) or SK_ENOMEM. */
static int read_reply(sk_store_t *s, const redisReply *r, const char *const *users,
                      const size_t *who, size_t m, sk_arena_t *arena, sk_store_value_t *out)
{
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != m) {
        sk_store_set_err(s, "HMGET of the users of %s...: %s", users[who[0]],
                         r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        return SK_EIO;
    }
    for (size_t j = 0; rc == 0 && j < m; j++)
        rc = value_reply(s, r->element[j], users[who[j]], arena, &out[who[j]]);
    return rc;
}

int sk_store_read_users(sk_store_t *s, size_t n, const int32_t *partitions,
                        const char *const *users, sk_arena_t *arena, sk_store_value_t *out)
{
    size_t sent = 0, n_groups = 0;
    int rc = 0;
    if (!s->rc) {
        sk_store_set_err(s, "not connected to Redis");
        return SK_EIO;
    }
    /* one HMGET per partition: group g asks for users[order[start[g] ..
     * start[g + 1])]; the connection each went to, and a redirected one
     * (Redis Cluster) asked again alone once every pipelined reply is read */
    size_t *order = sk_arena_calloc(arena, n + 1, sizeof(*order));
    size_t *start = sk_arena_calloc(arena, n + 2, sizeof(*start));
    int32_t *gp = sk_arena_calloc(arena, n + 1, sizeof(*gp));
    bool *done = sk_arena_calloc(arena, n + 1, sizeof(*done));
    redisContext **via = sk_arena_calloc(arena, n + 1, sizeof(*via));
    if (!order || !start || !gp || !done || !via)
        return SK_ENOMEM;
    for (size_t i = 0, k = 0; i < n; i++) { /* by partition, in first-seen order */
        if (done[i])
            continue;
        gp[n_groups] = partitions[i];
        start[n_groups] = k;
        for (size_t j = i; j < n; j++)
            if (!done[j] && partitions[j] == partitions[i]) {
                done[j] = true;
                order[k++] = j;
            }
        start[++n_groups] = k;
    }
    for (; sent < n_groups; sent++) {
        size_t *lens = NULL, m = start[sent + 1] - start[sent];
        int argc;
        const char **argv =
            read_argv(s, arena, gp[sent], users, order + start[sent], m, &lens, &argc);
        if ((rc = sk_store_append_at(s, gp[sent], &via[sent], argc, argv, lens)) == SK_EIO)
            return SK_EIO; /* every connection is closed: nothing to read */
        if (rc)
            break;
    }
    for (size_t g = 0; g < sent; g++) {
        size_t m = start[g + 1] - start[g];
        redisReply *r = sk_store_reply(s, via[g]);
        if (!r)
            return SK_EIO;
        if (s->route && sk_route_reply_kind(s->route, r, NULL) != SK_ROUTE_DONE)
            via[g] = NULL; /* asked again below */
        int prc = rc || !via[g] ? rc : read_reply(s, r, users, order + start[g], m, arena, out);
        freeReplyObject(r);
        if (prc && !rc)
            rc = prc;
    }
    for (size_t g = 0; g < sent && rc == 0; g++) {
        size_t *lens, m = start[g + 1] - start[g];
        int argc;
        if (via[g])
            continue;
        const char **argv = read_argv(s, arena, gp[g], users, order + start[g], m, &lens, &argc);
        if (!argv)
            return SK_ENOMEM;
        sk_store_at(s, gp[g]);
        redisReply *r = sk_store_command(s, argc, argv, lens);
        if (!r)
            return SK_EIO;
        rc = read_reply(s, r, users, order + start[g], m, arena, out);
        freeReplyObject(r);
    }
    return rc;
}

int sk_store_outbox_read(sk_store_t *s, int32_t partition, size_t max, sk_arena_t *arena,
                         sk_outbox_entry_t **out, size_t *n)
{
    return sk_store_outbox_read_from(s, partition, 0, max, arena, out, n);
}

int sk_store_outbox_read_from(sk_store_t *s, int32_t partition, size_t start, size_t max,
                              sk_arena_t *arena, sk_outbox_entry_t **out, size_t *n)
{
    char k[128], from[32], stop[32];
    sk_store_key(s, k, sizeof(k), partition, "outbox");
    snprintf(from, sizeof(from), "%zu", start);
    snprintf(stop, sizeof(stop), "%zu", start + (max ? max - 1 : 0));
    const char *argv[] = {"LRANGE", k, from, stop};
    size_t lens[] = {6, strlen(k), strlen(from), strlen(stop)};
    sk_store_at(s, partition);
    redisReply *r = sk_store_command(s, 4, argv, lens);
    int rc = SK_EIO;
    *n = 0;
    if (!r)
        return SK_EIO;
    if (r->type != REDIS_REPLY_ARRAY)
        goto out;
    rc = SK_ENOMEM;
    *out = sk_arena_calloc(arena, r->elements + 1, sizeof(**out));
    if (!*out)
        goto out;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        const unsigned char *p = (const unsigned char *)e->str;
        if (e->type != REDIS_REPLY_STRING || e->len < 5 || p[0] >= SK_OUT_TOPIC_COUNT) {
            sk_store_set_err(s, "outbox entry %zu of partition %" PRId32 " is damaged", i,
                             partition);
            rc = SK_EIO;
            goto out;
        }
        size_t klen = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
        if (klen > e->len - 5) {
            sk_store_set_err(s, "outbox entry %zu of partition %" PRId32 " is damaged", i,
                             partition);
            rc = SK_EIO;
            goto out;
        }
        void *copy = sk_arena_alloc(arena, e->len);
        if (!copy)
            goto out;
        memcpy(copy, e->str, e->len);
        (*out)[i].topic = (sk_out_topic_t)p[0];
        (*out)[i].key = (char *)copy + 5;
        (*out)[i].key_len = klen;
        (*out)[i].value = (char *)copy + 5 + klen;
        (*out)[i].value_len = e->len - 5 - klen;
    }
    *n = r->elements;
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

int sk_store_outbox_trim(sk_store_t *s, int32_t partition, int64_t epoch, int64_t seq_floor,
                         size_t n)
{
    char ke[128], ko[128], kb[128], ep[32], fl[32], start[32];
    sk_store_key(s, ke, sizeof(ke), partition, "epoch");
    sk_store_key(s, ko, sizeof(ko), partition, "offsets");
    sk_store_key(s, kb, sizeof(kb), partition, "outbox");
    snprintf(ep, sizeof(ep), "%" PRId64, epoch);
    snprintf(fl, sizeof(fl), "%" PRId64, seq_floor);
    snprintf(start, sizeof(start), "%zu", n);
    const char *argv[] = {"EVALSHA", NULL, "3", ke, ko, kb, ep, fl, start};
    size_t lens[] = {7,          40,         1,          strlen(ke),   strlen(ko),
                     strlen(kb), strlen(ep), strlen(fl), strlen(start)};
    sk_store_at(s, partition);
    redisReply *r = evalsha(s, s->trim_sha, 9, argv, lens);
    if (!r)
        return SK_EIO;
    int rc = r->type == REDIS_REPLY_INTEGER
                 ? 0
                 : sk_store_fence_result(s, partition, epoch, "outbox trim", r);
    freeReplyObject(r);
    return rc;
}

int sk_store_check_many(sk_store_t *s, size_t n, const int32_t *partitions, const int64_t *epochs,
                        const int64_t *seq_floors, int *rcs)
{
    sk_arena_t a;
    size_t sent = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        rcs[i] = SK_EIO;
    if (!s->rc) {
        sk_store_set_err(s, "not connected to Redis");
        return SK_EIO;
    }
    sk_arena_init(&a, 4096);
    /* the connection each went to (Redis Cluster: the master of its slot) */
    redisContext **via = sk_arena_calloc(&a, n + 1, sizeof(*via));
    if (!via) {
        rc = SK_ENOMEM;
        goto out;
    }
    for (int round = 0; round < 2; round++) {
        bool noscript = false;
        for (sent = 0; sent < n; sent++) {
            char *ke =
                sk_arena_sprintf(&a, "%s:{p%" PRId32 "}:epoch", s->cfg.prefix, partitions[sent]);
            char *ko =
                sk_arena_sprintf(&a, "%s:{p%" PRId32 "}:offsets", s->cfg.prefix, partitions[sent]);
            char *ep = sk_store_fmt_i64(&a, epochs[sent]),
                 *fl = sk_store_fmt_i64(&a, seq_floors[sent]);
            if (!ke || !ko || !ep || !fl) {
                rc = SK_ENOMEM;
                break;
            }
            const char *argv[] = {"EVALSHA", s->check_sha, "2", ke, ko, ep, fl};
            size_t lens[] = {7, 40, 1, strlen(ke), strlen(ko), strlen(ep), strlen(fl)};
            if ((rc = sk_store_append_at(s, partitions[sent], &via[sent], 7, argv, lens)) == SK_EIO)
                goto out; /* every connection is closed: nothing to read */
            if (rc)
                break;
        }
        for (size_t i = 0; i < sent; i++) {
            redisReply *r = sk_store_reply(s, via[i]);
            if (!r) {
                rc = SK_EIO;
                goto out;
            }
            if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0)
                noscript = true;
            else if (s->route && sk_route_reply_kind(s->route, r, NULL) != SK_ROUTE_DONE)
                rcs[i] = SK_EIO; /* redirected (the map follows): checked next time */
            else
                rcs[i] = r->type == REDIS_REPLY_INTEGER
                             ? 0
                             : sk_store_fence_result(s, partitions[i], epochs[i], "check", r);
            freeReplyObject(r);
        }
        if (rc || !noscript || round == 1 || (rc = sk_store_load_scripts(s)) != 0)
            break;
    }
out:
    sk_arena_fini(&a);
    return rc;
}

int sk_store_due_users(sk_store_t *s, int32_t partition, sk_ms_t now, size_t max, sk_arena_t *arena,
                       const char ***users, size_t *n)
{
    char k[128], nowb[32], maxb[32];
    sk_store_key(s, k, sizeof(k), partition, "timers");
    snprintf(nowb, sizeof(nowb), "%" PRId64, now);
    snprintf(maxb, sizeof(maxb), "%zu", max);
    const char *argv[] = {"ZRANGEBYSCORE", k, "-inf", nowb, "LIMIT", "0", maxb};
    size_t lens[] = {13, strlen(k), 4, strlen(nowb), 5, 1, strlen(maxb)};
    sk_store_at(s, partition);
    redisReply *r = sk_store_command(s, 7, argv, lens);
    int rc = SK_EIO;
    *n = 0;
    if (!r)
        return SK_EIO;
    if (r->type != REDIS_REPLY_ARRAY)
        goto out;
    rc = SK_ENOMEM;
    *users = sk_arena_calloc(arena, r->elements + 1, sizeof(**users));
    if (!*users)
        goto out;
    for (size_t i = 0; i < r->elements; i++)
        if (!((*users)[i] = sk_arena_strndup(arena, r->element[i]->str, r->element[i]->len)))
            goto out;
    *n = r->elements;
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

int sk_store_next_due_many(sk_store_t *s, size_t n, const int32_t *partitions, sk_ms_t *due)
{
    size_t sent = 0;
    int rc = 0;
    if (!s->rc) {
        sk_store_set_err(s, "not connected to Redis");
        return SK_EIO;
    }
    /* the connection each went to (Redis Cluster: the master of its slot) */
    redisContext **via = calloc(n + 1, sizeof(*via));
    if (!via)
        return SK_ENOMEM;
    for (; sent < n; sent++) {
        char k[128];
        sk_store_key(s, k, sizeof(k), partitions[sent], "timers");
        const char *argv[] = {"ZRANGE", k, "0", "0", "WITHSCORES"};
        size_t lens[] = {6, strlen(k), 1, 1, 10};
        if ((rc = sk_store_append_at(s, partitions[sent], &via[sent], 5, argv, lens)) == SK_EIO)
            goto out; /* every connection is closed: nothing to read */
        if (rc)
            break;
    }
    for (size_t i = 0; i < sent; i++) {
        redisReply *r = sk_store_reply(s, via[i]);
        if (!r) {
            rc = SK_EIO;
            goto out;
        }
        due[i] = SK_MS_NONE;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[1]->type == REDIS_REPLY_STRING)
            due[i] = (sk_ms_t)strtod(r->element[1]->str, NULL);
        else if (s->route && sk_route_reply_kind(s->route, r, NULL) != SK_ROUTE_DONE) {
            /* redirected (the map follows): read again at the next scan */
            sk_store_set_err(s, "timers of partition %" PRId32 ": %s", partitions[i], r->str);
            rc = SK_EIO;
        } else if (r->type != REDIS_REPLY_ARRAY && rc == 0) {
            sk_store_set_err(s, "ZRANGE of the timers of partition %" PRId32 ": %s", partitions[i],
                             r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
            rc = SK_EIO;
        }
        freeReplyObject(r);
    }
out:
    free(via);
    return rc;
}

/* Appends (p, user) to the arrays *partitions and *users (*n used, *cap
 * allocated, doubled when full). 0 or SK_ENOMEM. */
static int add_user(sk_arena_t *arena, int32_t p, const char *user, size_t len,
                    int32_t **partitions, const char ***users, size_t *n, size_t *cap)
{
    if (*n == *cap) { /* grow: copy into a larger arena array */
        int32_t *np = sk_arena_calloc(arena, *cap * 2, sizeof(*np));
        const char **nu = sk_arena_calloc(arena, *cap * 2, sizeof(*nu));
        if (!np || !nu)
            return SK_ENOMEM;
        memcpy(np, *partitions, *cap * sizeof(*np));
        memcpy(nu, *users, *cap * sizeof(*nu));
        *partitions = np;
        *users = nu;
        *cap *= 2;
    }
    (*partitions)[*n] = p;
    if (!((*users)[*n] = sk_arena_strndup(arena, user, len)))
        return SK_ENOMEM;
    (*n)++;
    return 0;
}

/* The users of one partition's users hash `key` (partition p), or only
 * `user` when not NULL, appended (add_user): HSCAN. 0, SK_EIO or SK_ENOMEM. */
static int scan_hash(sk_store_t *s, const char *key, int32_t p, const char *user, sk_arena_t *arena,
                     int32_t **partitions, const char ***users, size_t *n, size_t *cap)
{
    char cursor[32] = "0";
    int rc = 0;
    if (user) {
        const char *argv[] = {"HEXISTS", key, user};
        size_t lens[] = {7, strlen(key), strlen(user)};
        redisReply *r = sk_store_command(s, 3, argv, lens);
        if (!r)
            return SK_EIO;
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
            rc = add_user(arena, p, user, strlen(user), partitions, users, n, cap);
        else if (r->type != REDIS_REPLY_INTEGER)
            rc = SK_EIO;
        freeReplyObject(r);
        return rc;
    }
    do {
        const char *argv[] = {"HSCAN", key, cursor, "COUNT", "1000"};
        size_t lens[] = {5, strlen(key), strlen(cursor), 5, 4};
        redisReply *r = sk_store_command(s, 5, argv, lens);
        if (!r)
            return SK_EIO;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            return SK_EIO;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        const redisReply *kv = r->element[1];
        for (size_t i = 0; rc == 0 && i + 1 < kv->elements; i += 2)
            rc = add_user(arena, p, kv->element[i]->str, kv->element[i]->len, partitions, users, n,
                          cap);
        freeReplyObject(r);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    return rc;
}

int sk_store_scan_users(sk_store_t *s, const char *user, sk_arena_t *arena, int32_t **partitions,
                        const char ***users, size_t *n)
{
    char cursor[32] = "0";
    size_t cap = 64;
    char *match = sk_arena_sprintf(arena, "%s:{p*}:users", s->cfg.prefix);
    *n = 0;
    *partitions = sk_arena_calloc(arena, cap, sizeof(**partitions));
    *users = sk_arena_calloc(arena, cap, sizeof(**users));
    if (!match || !*partitions || !*users)
        return SK_ENOMEM;
    /* the one server, or every master of the cluster in turn */
    size_t n_nodes = s->route ? sk_route_n_masters(s->route) : 1;
    if (s->route && n_nodes == 0) {
        sk_store_set_err(s, "not connected to Redis");
        return SK_EIO;
    }
    for (size_t node = 0; node < n_nodes; node++) {
        if (s->route)
            sk_store_at_node(s, sk_route_master(s->route, node));
        snprintf(cursor, sizeof(cursor), "0");
        do {
            const char *argv[] = {"SCAN", cursor, "MATCH", match, "COUNT", "1000"};
            size_t lens[] = {4, strlen(cursor), 5, strlen(match), 5, 4};
            redisReply *r = sk_store_command(s, 6, argv, lens);
            int rc = 0;
            if (!r)
                return SK_EIO;
            if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
                freeReplyObject(r);
                return SK_EIO;
            }
            snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
            const redisReply *keys = r->element[1];
            for (size_t i = 0; rc == 0 && i < keys->elements; i++) {
                const char *k = keys->element[i]->str, *tag = strstr(k, ":{p");
                if (tag && strcmp(strchr(tag, '}') ? strchr(tag, '}') : "", "}:users") == 0)
                    rc = scan_hash(s, k, (int32_t)strtol(tag + 3, NULL, 10), user, arena,
                                   partitions, users, n, &cap);
            }
            freeReplyObject(r);
            if (rc)
                return rc;
        } while (strcmp(cursor, "0") != 0);
    }
    return 0;
}

/* The rotation of `rotations` that an index field "<rotation> <field>"
 * belongs to, and *rest its field; NULL when none of them. */
static const char *oncall_rotation(const char *f, size_t len, const char *const *rotations,
                                   size_t n_rotations, const char **rest)
{
    for (size_t r = 0; r < n_rotations; r++) {
        size_t rl = strlen(rotations[r]);
        if (len > rl + 1 && f[rl] == ' ' && memcmp(f, rotations[r], rl) == 0) {
            *rest = f + rl + 1;
            return rotations[r];
        }
    }
    return NULL;
}

/* Appends the fields of the given rotations in one HGETALL reply of a
 * partition's on-call index to *out (have used, cap allocated); the first
 * failure goes to *rc, after which nothing is added. */
static void oncall_reply(sk_store_t *s, const redisReply *r, const char *const *rotations,
                         size_t n_rotations, sk_arena_t *arena, sk_store_oncall_field_t **out,
                         size_t *have_p, size_t *cap_p, int *rc_p)
{
    size_t have = *have_p, cap = *cap_p;
    int rc = *rc_p;
    if (rc == 0 && r->type != REDIS_REPLY_ARRAY) {
        sk_store_set_err(s, "HGETALL of the on-call index: %s",
                         r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
        rc = SK_EIO;
    }
    for (size_t f = 0; rc == 0 && f + 1 < r->elements; f += 2) {
        const char *rest = NULL;
        const char *rot =
            oncall_rotation(r->element[f]->str, r->element[f]->len, rotations, n_rotations, &rest);
        if (!rot)
            continue;
        if (have == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            sk_store_oncall_field_t *grown = sk_arena_calloc(arena, ncap, sizeof(*grown));
            if (!grown) {
                rc = SK_ENOMEM;
                break;
            }
            if (have)
                memcpy(grown, *out, have * sizeof(*grown));
            *out = grown;
            cap = ncap;
        }
        sk_store_oncall_field_t *e = &(*out)[have];
        e->rotation = rot;
        e->field =
            sk_arena_strndup(arena, rest, r->element[f]->len - (size_t)(rest - r->element[f]->str));
        e->value = sk_window_unpack(arena, r->element[f + 1]->str, r->element[f + 1]->len);
        if (!e->field || !e->value)
            rc = SK_ENOMEM; /* (or a damaged value: read as out of memory, retried) */
        else
            have++;
    }
    *have_p = have;
    *cap_p = cap;
    *rc_p = rc;
}

int sk_store_oncall_read(sk_store_t *s, int32_t n_partitions, const char *const *rotations,
                         size_t n_rotations, sk_arena_t *arena, sk_store_oncall_field_t **out,
                         size_t *n)
{
    size_t sent = 0, want = (size_t)(n_partitions > 0 ? n_partitions : 0);
    size_t cap = 0, have = 0;
    int rc = 0;
    *out = NULL;
    *n = 0;
    if (!s->rc) {
        sk_store_set_err(s, "not connected to Redis");
        return SK_EIO;
    }
    if (n_rotations == 0)
        return 0;
    /* the connection and key of each (a redirected one is asked again alone) */
    redisContext **via = sk_arena_calloc(arena, want + 1, sizeof(*via));
    char **keys = sk_arena_calloc(arena, want + 1, sizeof(*keys));
    if (!via || !keys)
        return SK_ENOMEM;
    for (int32_t p = 0; p < n_partitions && rc == 0; p++) {
        char *k = sk_store_oncall_key(s, arena, p);
        const char *argv[] = {"HGETALL", k};
        size_t lens[] = {7, k ? strlen(k) : 0};
        if ((rc = sk_store_append_at(s, p, &via[sent], 2, k ? argv : NULL, lens)) == SK_EIO)
            return SK_EIO; /* every connection is closed: nothing to read */
        if (rc)
            break;
        keys[sent++] = k;
    }
    /* pass 0 reads the pipelined replies; pass 1 asks the redirected again */
    for (size_t i = 0, pass = 0; pass < 2; i = 0, pass++)
        for (; i < sent; i++) {
            redisReply *r = NULL;
            if (pass == 1 && via[i])
                continue;
            if (pass == 1) {
                const char *argv[] = {"HGETALL", keys[i]};
                size_t lens[] = {7, strlen(keys[i])};
                sk_store_at(s, (int32_t)i);
                if (rc || !(r = sk_store_command(s, 2, argv, lens)))
                    return rc ? rc : SK_EIO;
            } else if (!(r = sk_store_reply(s, via[i]))) {
                return SK_EIO;
            } else if (s->route && sk_route_reply_kind(s->route, r, NULL) != SK_ROUTE_DONE) {
                via[i] = NULL;
                freeReplyObject(r);
                continue;
            }
            oncall_reply(s, r, rotations, n_rotations, arena, out, &have, &cap, &rc);
            freeReplyObject(r);
        }
    *n = have;
    return rc;
}

/*
 * Replay memory of signed input (pipeline/verify.c): SET NX with a TTL, the
 * value naming the record (topic@offset) so that the same record consumed
 * again after a crash is not mistaken for a replay of itself.
 */
int sk_store_seen_once(sk_store_t *s, int32_t partition, const char *user, const char *event_id,
                       const char *tag, sk_ms_t ttl_ms, bool *first)
{
    char k[SK_ID_MAX * 2 + 64], ttl[24];
    int rc = SK_EIO;
    redisReply *r = NULL;
    snprintf(k, sizeof(k), "%s:{p%" PRId32 "}:seen:%s %s", s->cfg.prefix, partition, user,
             event_id);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    const char *set[] = {"SET", k, tag, "NX", "PX", ttl};
    size_t set_lens[] = {3, strlen(k), strlen(tag), 2, 2, strlen(ttl)};
    sk_store_at(s, partition);
    if (!(r = sk_store_command(s, 6, set, set_lens)))
        goto out;
    if (r->type == REDIS_REPLY_STATUS) {
        *first = true;
        rc = 0;
        goto out;
    }
    if (r->type != REDIS_REPLY_NIL)
        goto out;
    freeReplyObject(r);
    const char *get[] = {"GET", k};
    size_t get_lens[] = {3, strlen(k)};
    if (!(r = sk_store_command(s, 2, get, get_lens)))
        goto out;
    /* gone meanwhile (expired): the window is over, verify.c refuses it anyway */
    *first = r->type == REDIS_REPLY_STRING && strcmp(r->str, tag) == 0;
    rc = 0;
out:
    if (r)
        freeReplyObject(r);
    return rc;
}
