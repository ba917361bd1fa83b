/*
 * store_restore.c — rebuilding a partition in Redis from the changelog
 * (sk_store_restore, store.h; the ledger is read by ledger.c): the epoch
 * deleted first, every key of the partition but its outbox deleted, the
 * users, the on-call index, the offsets and the step written back, the
 * epoch set last.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/store_internal.h"

static char *fmt_i64(sk_arena_t *a, int64_t v)
{
    return sk_arena_sprintf(a, "%" PRId64, v);
}

/* Reads and frees n pipelined replies; the first error reply or I/O
 * failure is the result (SK_EIO, with the text set). */
static int read_replies(sk_store_t *s, size_t n, const char *what)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = sk_store_reply(s, s->rc);
        if (!r)
            return SK_EIO;
        if (r->type == REDIS_REPLY_ERROR && rc == 0) {
            sk_store_set_err(s, "%s: %s", what, r->str);
            rc = SK_EIO;
        }
        freeReplyObject(r);
    }
    return rc;
}

/* Deletes every key of partition p but its outbox (SCAN, then DEL). */
static int wipe_partition(sk_store_t *s, int32_t p, sk_arena_t *a)
{
    char cursor[32] = "0", outbox[128];
    char *match = sk_arena_sprintf(a, "%s:{p%" PRId32 "}:*", s->cfg.prefix, p);
    sk_store_key(s, outbox, sizeof(outbox), p, "outbox");
    if (!match)
        return SK_ENOMEM;
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", match, "COUNT", "1000"};
        size_t lens[] = {4, strlen(cursor), 5, strlen(match), 5, 4}, n = 0;
        redisReply *r = sk_store_command(s, 6, argv, lens);
        if (!r)
            return SK_EIO;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            sk_store_set_err(s, "SCAN %s: %s", match,
                             r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
            freeReplyObject(r);
            return SK_EIO;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            if (strcmp(keys->element[i]->str, outbox) == 0)
                continue;
            const char *dargv[] = {"DEL", keys->element[i]->str};
            size_t dlens[] = {3, keys->element[i]->len};
            if (redisAppendCommandArgv(s->rc, 2, dargv, dlens) != REDIS_OK) {
                freeReplyObject(r);
                return SK_ENOMEM;
            }
            n++;
        }
        freeReplyObject(r);
        int rc = read_replies(s, n, "DEL");
        if (rc)
            return rc;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* Appends one command of argc arguments (lens 0: strlen). */
static int append(sk_store_t *s, size_t argc, const char **argv, size_t *lens)
{
    for (size_t i = 0; i < argc; i++)
        if (!lens[i])
            lens[i] = strlen(argv[i]);
    return redisAppendCommandArgv(s->rc, (int)argc, argv, lens) == REDIS_OK ? 0 : SK_ENOMEM;
}

/* The writes of one restored user: its value and its timer. */
static int restore_user(sk_store_t *s, sk_arena_t *a, int32_t p, const sk_store_restore_user_t *u,
                        size_t *sent)
{
    char timers[128], k[128];
    sk_store_key(s, timers, sizeof(timers), p, "timers");
    sk_store_key(s, k, sizeof(k), p, "users");
    if (u->value_len) {
        const char *argv[] = {"HSET", k, u->user, u->value};
        size_t lens[] = {4, strlen(k), strlen(u->user), u->value_len};
        if (redisAppendCommandArgv(s->rc, 4, argv, lens) != REDIS_OK)
            return SK_ENOMEM;
        (*sent)++;
    }
    if (u->next_wake_ms != SK_MS_NONE) {
        const char *zargv[] = {"ZADD", timers, fmt_i64(a, u->next_wake_ms), u->user};
        size_t zlens[4] = {0};
        if (!zargv[2] || append(s, 4, zargv, zlens))
            return SK_ENOMEM;
        (*sent)++;
    }
    return 0;
}

int sk_store_restore(sk_store_t *s, const sk_store_restore_t *rs)
{
    sk_arena_t a;
    char ke[128], ko[128];
    size_t sent = 0;
    int rc = SK_EIO;
    int32_t p = rs->partition;
    if (!sk_store_at(s, p)) { /* every key of p is on one node */
        sk_store_set_err(s, "not connected to Redis");
        return SK_EIO;
    }
    sk_arena_init(&a, 64 * 1024);
    sk_store_key(s, ke, sizeof(ke), p, "epoch");
    sk_store_key(s, ko, sizeof(ko), p, "offsets");
    /* the epoch first: until it is set again, the partition reads as lost */
    const char *dargv[] = {"DEL", ke};
    size_t dlens[2] = {0};
    if ((rc = append(s, 2, dargv, dlens)) || (rc = read_replies(s, 1, "DEL epoch")) ||
        (rc = wipe_partition(s, p, &a)))
        goto out;
    for (size_t i = 0; i < rs->n_users; i++)
        if ((rc = restore_user(s, &a, p, &rs->users[i], &sent)))
            goto out;
    for (size_t i = 0; i < rs->n_oncall; i++) {
        const sk_store_oncall_field_t *o = &rs->oncall[i];
        const void *v = NULL; /* the stored form of the index value (state_pack.h) */
        size_t vlen = 0;
        const char *argv[] = {"HSET", sk_store_oncall_key(s, &a, p),
                              sk_store_oncall_field(&a, o->rotation, o->field), NULL};
        size_t lens[4] = {0};
        rc = SK_ENOMEM;
        if (!argv[1] || !argv[2] || !o->value || sk_window_pack(&a, o->value, &v, &vlen) != 0)
            goto out;
        argv[3] = v;
        lens[3] = vlen;
        if ((rc = append(s, 4, argv, lens)))
            goto out;
        sent++;
    }
    {
        size_t argc = 6 + 2 * rs->n_offsets, i = 0;
        const char **argv = sk_arena_calloc(&a, argc, sizeof(*argv));
        size_t *lens = sk_arena_calloc(&a, argc, sizeof(*lens));
        rc = SK_ENOMEM;
        if (!argv || !lens)
            goto out;
        argv[i++] = "HSET";
        argv[i++] = ko;
        argv[i++] = "#seq";
        argv[i++] = fmt_i64(&a, rs->seq);
        argv[i++] = "#layout";
        argv[i++] = SK_STORE_LAYOUT;
        for (size_t k = 0; k < rs->n_offsets; k++) {
            argv[i++] = rs->topics[k];
            argv[i++] = fmt_i64(&a, rs->offsets[k]);
        }
        for (size_t k = 0; k < argc; k++)
            if (!argv[k])
                goto out;
        if ((rc = append(s, argc, argv, lens)))
            goto out;
        sent++;
    }
    if ((rc = read_replies(s, sent, "restore")) != 0)
        goto out;
    sent = 0;
    {
        const char *argv[] = {"SET", ke, fmt_i64(&a, rs->epoch)};
        size_t lens[3] = {0};
        rc = SK_ENOMEM;
        if (!argv[2] || (rc = append(s, 3, argv, lens)) || (rc = read_replies(s, 1, "SET epoch")))
            goto out;
    }
    rc = 0;
out:
    if (rc == SK_ENOMEM && sent && s->rc)
        (void)read_replies(s, sent, "restore"); /* keep the connection in step */
    sk_arena_fini(&a);
    return rc;
}
