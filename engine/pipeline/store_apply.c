/*
 * store_apply.c — the atomic apply (sk_store_apply, sk_store_apply_many):
 * each partition's inputs of a batch as one EVALSHA of the apply script
 * (APPLY_LUA in store.c: fence, offsets, the users' packed values, timers,
 * the on-call index and the outbox), pipelined across partitions; on a Redis
 * Cluster, each partition's call routed to its slot's master, redirected
 * and sent again whole. The rest of the store is store.c.
 */
#include <assert.h>
#include <hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/store_internal.h"

/* Writes an outbox entry as one argument of the call: topic byte, 4-byte
 * big-endian key length, key, value (APPLY_LUA reads it so). */
static void put_entry(sk_resp_t *b, const sk_outbox_entry_t *e)
{
    unsigned char *p = sk_resp_arg_open(b, 5 + e->key_len + e->value_len);
    if (!p)
        return; /* remembered: sk_resp_end answers NULL */
    p[0] = (unsigned char)e->topic;
    p[1] = (unsigned char)(e->key_len >> 24);
    p[2] = (unsigned char)(e->key_len >> 16);
    p[3] = (unsigned char)(e->key_len >> 8);
    p[4] = (unsigned char)e->key_len;
    if (e->key_len)
        memcpy(p + 5, e->key, e->key_len);
    if (e->value_len)
        memcpy(p + 5 + e->key_len, e->value, e->value_len);
}

/* Writes the on-call index field "<rotation> <field>" as one argument
 * (sk_store_oncall_field's text). */
static void put_oncall_field(sk_resp_t *b, const char *rotation, const char *field)
{
    size_t rl = strlen(rotation), fl = strlen(field);
    char *p = sk_resp_arg_open(b, rl + 1 + fl);
    if (!p)
        return;
    memcpy(p, rotation, rl);
    p[rl] = ' ';
    memcpy(p + rl + 1, field, fl);
}

/* The number of arguments the inputs w[idx[0..n)] of one partition add to
 * the apply script's call (keys, then the rest). */
static void apply_count(const sk_store_writes_t *w, const size_t *idx, size_t n, size_t *keys,
                        size_t *args)
{
    bool users = false, index = false;
    *keys = 4;
    *args = 3;
    for (size_t k = 0; k < n; k++) {
        const sk_store_writes_t *op = &w[idx[k]];
        *args += 8 + 2 + 2 * op->n_oncall + op->n_out;
        users = users || op->user;
        index = index || op->n_oncall > 0;
    }
    *keys += (users ? 1 : 0) + (index ? 1 : 0);
}

/*
 * Writes the EVALSHA of one partition's inputs w[idx[0..n)] (in order) as
 * RESP into s->apply_cmd (see APPLY_LUA for the layout): the bytes go to
 * hiredis as they are (redisAppendFormattedCommand), the same command
 * redisAppendCommandArgv would send for the argument list. `a` holds the
 * packed on-call values meanwhile. On success *cmd (*len bytes, owned by
 * the store, valid until the next call) and 0; else SK_ENOMEM.
 */
static int apply_cmd(sk_store_t *s, sk_arena_t *a, const sk_store_writes_t *w, const size_t *idx,
                     size_t n, const char **cmd, size_t *len)
{
    const sk_store_writes_t *first = &w[idx[0]];
    sk_resp_t *b = &s->apply_cmd;
    size_t n_keys, n_args;
    apply_count(w, idx, n, &n_keys, &n_args);
    sk_resp_begin(b, 3 + n_keys + n_args);
    sk_resp_str(b, "EVALSHA");
    sk_resp_str(b, s->apply_sha);
    sk_resp_i64(b, (int64_t)n_keys);
    /* the users hash and the on-call index only when written (apply_count) */
    static const char *const what[] = {"epoch", "offsets", "outbox", "timers", "users", "oncall"};
    bool named[6] = {true, true, true, true, false, false};
    for (size_t k = 0; k < n; k++) {
        named[4] = named[4] || w[idx[k]].user;
        named[5] = named[5] || w[idx[k]].n_oncall > 0;
    }
    for (size_t k = 0; k < 6; k++) {
        char kb[128];
        if (!named[k])
            continue;
        sk_store_key(s, kb, sizeof(kb), first->partition, what[k]);
        sk_resp_str(b, kb);
    }
    sk_resp_i64(b, first->epoch);
    sk_resp_i64(b, first->seq_floor);
    sk_resp_i64(b, (int64_t)n);
    for (size_t k = 0; k < n; k++) {
        const sk_store_writes_t *op = &w[idx[k]];
        static const char *const vops[] = {"k", "s", "d"};
        sk_resp_str(b, op->user ? "1" : "0");
        sk_resp_str(b, op->topic ? op->topic : "");
        sk_resp_i64(b, op->offset);
        sk_resp_str(b, op->user ? op->user : "");
        sk_resp_str(b, vops[op->user ? op->value_op : SK_STORE_VALUE_KEEP]);
        if (op->value_op == SK_STORE_VALUE_SET && op->value)
            sk_resp_arg(b, op->value, op->value_len);
        else
            sk_resp_arg(b, "", 0);
        if (op->next_wake_ms == SK_MS_NONE)
            sk_resp_str(b, "-1");
        else
            sk_resp_i64(b, op->next_wake_ms);
        if (op->seq > 0)
            sk_resp_i64(b, op->seq);
        else
            sk_resp_arg(b, "", 0);
        sk_resp_i64(b, (int64_t)op->n_oncall);
        for (size_t j = 0; j < op->n_oncall; j++) {
            put_oncall_field(b, op->oncall[j].rotation, op->oncall[j].field);
            if (!op->oncall[j].value) { /* '' deletes */
                sk_resp_arg(b, "", 0);
                continue;
            }
            const void *v = NULL; /* the stored form of the index value (state_pack.h) */
            size_t vl = 0;
            if (sk_window_pack(a, op->oncall[j].value, &v, &vl) != 0)
                return SK_ENOMEM;
            sk_resp_arg(b, v, vl);
        }
        sk_resp_i64(b, (int64_t)op->n_out);
        for (size_t j = 0; j < op->n_out; j++)
            put_entry(b, &op->out[j]);
    }
    if (!(*cmd = sk_resp_end(b, len)))
        return SK_ENOMEM; /* a miscount would be a bug here, not a lack of memory */
    return 0;
}

/* Interprets the reply of one partition's apply, for its inputs
 * idx[0..n): applied[] and rcs[] (0, SK_EFENCED, SK_ENOTFOUND or SK_EIO for
 * all of them when the script refused). */
static void apply_result(sk_store_t *s, const sk_store_writes_t *w, const size_t *idx, size_t n,
                         const redisReply *r, bool *applied, int *rcs)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements == n) {
        for (size_t k = 0; k < n; k++) {
            const redisReply *x = r->element[k];
            rcs[idx[k]] = x->type == REDIS_REPLY_INTEGER ? 0 : SK_EIO;
            applied[idx[k]] = x->type == REDIS_REPLY_INTEGER && x->integer == 1;
        }
        return;
    }
    int rc = sk_store_fence_result(s, w[idx[0]].partition, w[idx[0]].epoch, "apply script", r);
    for (size_t k = 0; k < n; k++)
        rcs[idx[k]] = rc;
}

int sk_store_apply(sk_store_t *s, const sk_store_writes_t *w, bool *applied)
{
    int rc = 0;
    (void)sk_store_apply_many(s, w, 1, applied, &rc);
    return rc;
}

/* The inputs idx[0..n) grouped by partition (and epoch, floor), each group
 * in input order: group g is order[start[g] .. start[g + 1]). Arena memory.
 * 0 or SK_ENOMEM. */
static int group_inputs(sk_arena_t *a, const sk_store_writes_t *w, const size_t *idx, size_t n,
                        size_t **order, size_t **start, size_t *n_groups)
{
    size_t *grp = sk_arena_calloc(a, n + 1, sizeof(*grp)),
           *first = sk_arena_calloc(a, n + 1, sizeof(*first));
    size_t *count = sk_arena_calloc(a, n + 2, sizeof(*count)), g = 0;
    *order = sk_arena_calloc(a, n + 1, sizeof(**order));
    *start = sk_arena_calloc(a, n + 2, sizeof(**start));
    if (!grp || !first || !count || !*order || !*start)
        return SK_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        const sk_store_writes_t *x = &w[idx[k]];
        size_t j = 0;
        while (j < g && !(w[first[j]].partition == x->partition && w[first[j]].epoch == x->epoch &&
                          w[first[j]].seq_floor == x->seq_floor))
            j++;
        if (j == g)
            first[g++] = idx[k];
        grp[k] = j;
        count[j]++;
    }
    for (size_t j = 0; j < g; j++)
        (*start)[j + 1] = (*start)[j] + count[j];
    memset(count, 0, (g + 1) * sizeof(*count));
    for (size_t k = 0; k < n; k++)
        (*order)[(*start)[grp[k]] + count[grp[k]]++] = idx[k];
    *n_groups = g;
    return 0;
}

/*
 * Sends the inputs w[i] with i in idx[0..n), one script call per partition
 * (group_inputs; pipelined: one round trip per node), and reads their
 * replies into applied[] and rcs[]; a group refused with NOSCRIPT (not run)
 * gets SK_EAGAIN and sets *noscript; on a Redis Cluster, a group redirected
 * (not run: MOVED, ASK, TRYAGAIN, CLUSTERDOWN) gets SK_EAGAIN and raises
 * *redirect to the strongest sk_route_kind_t seen; after an ASK, ask[i] of
 * the group's first input i (when ask is not NULL) is the node named, where
 * the next round sends the group once, after ASKING. Returns SK_EIO when a
 * connection failed (every one is closed), SK_ENOMEM, else 0.
 */
static int apply_round(sk_store_t *s, const sk_store_writes_t *w, const size_t *idx, size_t n,
                       bool *applied, int *rcs, bool *noscript, int *redirect, redisContext **ask)
{
    sk_arena_t a;
    size_t sent = 0, *order, *start, n_groups = 0;
    int rc = 0;
    sk_arena_init(&a, 16384);
    /* the connection each group went to: a MOVED read meanwhile changes the map */
    redisContext **via = sk_arena_calloc(&a, n + 1, sizeof(*via));
    bool *asking = sk_arena_calloc(&a, n + 1, sizeof(*asking));
    if (!via || !asking) {
        rc = SK_ENOMEM;
        goto out;
    }
    if ((rc = group_inputs(&a, w, idx, n, &order, &start, &n_groups)) != 0)
        goto out;
    for (; sent < n_groups; sent++) {
        const char *cmd;
        size_t len;
        size_t i = order[start[sent]]; /* the group's first input */
        if ((rc = apply_cmd(s, &a, w, order + start[sent], start[sent + 1] - start[sent], &cmd,
                            &len)) != 0)
            break;
        if ((asking[sent] = ask && ask[i])) { /* once, to the node an ASK named */
            via[sent] = ask[i];
            ask[i] = NULL;
        } else if (!(via[sent] = sk_store_at(s, w[i].partition))) {
            rc = SK_EIO; /* every connection is closed: nothing to read */
            goto out;
        }
        if ((asking[sent] && redisAppendCommand(via[sent], "ASKING") != REDIS_OK) ||
            redisAppendFormattedCommand(via[sent], cmd, len) != REDIS_OK) {
            rc = SK_ENOMEM;
            break;
        }
    }
    for (size_t g = 0; g < sent; g++) {
        const size_t *gi = order + start[g];
        size_t gn = start[g + 1] - start[g], i = gi[0];
        redisReply *r = NULL;
        sk_route_kind_t kind;
        if (asking[g] && redisGetReply(via[g], (void **)&r) == REDIS_OK && r) {
            freeReplyObject(r); /* ASKING's OK */
            r = NULL;
        }
        if (!(r = sk_store_reply(s, via[g]))) {
            rc = SK_EIO;
            goto out;
        }
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
            sk_store_set_err(s, "apply script: %s", r->str);
            for (size_t k = 0; k < gn; k++)
                rcs[gi[k]] = SK_EAGAIN;
            *noscript = true;
        } else if (s->route && (kind = sk_route_reply_kind(s->route, r, ask ? &ask[i] : NULL)) !=
                                   SK_ROUTE_DONE) {
            sk_store_set_err(s, "partition %" PRId32 ": %s", w[i].partition, r->str);
            for (size_t k = 0; k < gn; k++)
                rcs[gi[k]] = SK_EAGAIN;
            if ((int)kind > *redirect)
                *redirect = (int)kind;
        } else {
            apply_result(s, w, gi, gn, r, applied, rcs);
        }
        freeReplyObject(r);
    }
out:
    sk_arena_fini(&a);
    return rc;
}

/* Redis Cluster: rounds of redirections or script loads one sk_store_apply_many waits
 * through (TRYAGAIN and ASK last while a slot migrates) before it answers SK_EIO. */
#define CLUSTER_RETRIES 40

/* Whether every unanswered input before i of i's partition has i's epoch
 * and floor, so i goes in the same script call as the oldest of them. */
static bool same_run(const sk_store_writes_t *w, const bool *done, size_t i)
{
    for (size_t m = 0; m < i; m++)
        if (!done[m] && w[m].partition == w[i].partition &&
            (w[m].epoch != w[i].epoch || w[m].seq_floor != w[i].seq_floor))
            return false;
    return true;
}

/*
 * sk_store_apply_many on a Redis Cluster: rounds, each sending the oldest
 * unanswered inputs of every partition (one script call), pipelined across
 * the masters. A
 * partition's next input goes only once the one before it ran: an input
 * redirected (MOVED, ASK, TRYAGAIN while its slot migrates) or refused
 * with NOSCRIPT is sent again first, so a later one never runs before it
 * (its applied offset would make the earlier input look done: lost). A
 * partition refused otherwise stops there; its later inputs keep the
 * refusal (SK_EFENCED, SK_ENOTFOUND) or SK_EIO (not sent). rcs[] start as
 * SK_EIO. Returns as sk_store_apply_many.
 */
static int apply_many_cluster(sk_store_t *s, const sk_store_writes_t *w, size_t n, bool *applied,
                              int *rcs)
{
    size_t *idx = malloc(n * sizeof(*idx));
    bool *done = calloc(n, sizeof(*done));
    redisContext **ask = calloc(n, sizeof(*ask)); /* borrowed from the route */
    int rc = 0, retries = 0;
    if (!idx || !done || !ask) {
        rc = SK_ENOMEM;
        goto out;
    }
    for (;;) {
        size_t k = 0;
        /* each partition's unanswered inputs up to the first of another
         * epoch or floor: one script call (group_inputs), run whole or not */
        for (size_t i = 0; i < n; i++)
            if (!done[i] && same_run(w, done, i))
                idx[k++] = i;
        if (k == 0)
            break;
        bool noscript = false;
        int redirect = 0;
        if ((rc = apply_round(s, w, idx, k, applied, rcs, &noscript, &redirect, ask)) != 0)
            goto out;
        for (size_t j = 0; j < k; j++)
            if (rcs[idx[j]] != SK_EAGAIN) /* not run: sent again next round */
                done[idx[j]] = true;
        for (size_t j = 0; j < k; j++) {
            size_t i = idx[j];
            if (rcs[i] == SK_EAGAIN)
                continue;
            for (size_t m = i + 1; rcs[i] != 0 && m < n; m++)
                if (!done[m] && w[m].partition == w[i].partition) {
                    done[m] = true;
                    rcs[m] = rcs[i] == SK_EFENCED || rcs[i] == SK_ENOTFOUND ? rcs[i] : SK_EIO;
                }
        }
        if (!noscript && !redirect)
            continue;
        if (redirect == SK_ROUTE_CLUSTERDOWN || ++retries > CLUSTER_RETRIES) {
            if (redirect == SK_ROUTE_CLUSTERDOWN)
                sk_store_disconnect(s); /* an outage: reconnected whole, with backoff */
            rc = SK_EIO;
            goto out;
        }
        if (noscript && (rc = sk_store_load_scripts(s)) != 0)
            goto out;
        if (redirect == SK_ROUTE_TRYAGAIN) {
            /* a slot half migrated: wait for the keys to move (10..200 ms);
             * MOVED and ASK are sent again at once, to the node named */
            int ms = 10 * retries > 200 ? 200 : 10 * retries;
            struct timespec ts = {0, (long)ms * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        if (rcs[i] == SK_EAGAIN)
            rcs[i] = SK_EIO;
    free(idx);
    free(done);
    free(ask);
    return rc;
}

int sk_store_apply_many(sk_store_t *s, const sk_store_writes_t *w, size_t n, bool *applied,
                        int *rcs)
{
    size_t *idx = NULL, n_idx = n;
    bool noscript = false;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        rcs[i] = SK_EIO;
        applied[i] = false;
    }
    if (!s->rc) {
        sk_store_set_err(s, "not connected to Redis");
        return SK_EIO;
    }
    if (n == 0)
        return 0;
    if (s->route)
        return apply_many_cluster(s, w, n, applied, rcs);
    if (!(idx = malloc(n * sizeof(*idx))))
        return SK_ENOMEM;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    /* at most two rounds: Redis may have lost its script cache (restart,
     * failover, SCRIPT FLUSH) since we loaded the scripts; load them again
     * and send the refused inputs once more, in order. Refused again, they
     * stay SK_EIO: the caller retries later, with backoff. */
    for (int round = 0; round < 2; round++) {
        int redirect = 0; /* one server: never set */
        if ((rc = apply_round(s, w, idx, n_idx, applied, rcs, &noscript, &redirect, NULL)) != 0 ||
            !noscript)
            goto out;
        if (round == 1 || (rc = sk_store_load_scripts(s)) != 0) {
            rc = SK_EIO;
            goto out;
        }
        noscript = false;
        size_t k = 0;
        for (size_t j = 0; j < n_idx; j++)
            if (rcs[idx[j]] == SK_EAGAIN)
                idx[k++] = idx[j];
        n_idx = k;
    }
out:
    for (size_t i = 0; i < n; i++)
        if (rcs[i] == SK_EAGAIN)
            rcs[i] = SK_EIO;
    free(idx);
    return rc;
}
