/* state_cache.c — owned partitions' users' packed values in memory (see state_cache.h). */
#include "pipeline/state_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/engine_internal.h"

/* One user's value: a single heap block (this struct, the user's id, the
 * packed value as Redis holds it), replaced as a whole by each step. */
typedef struct entry {
    struct entry *next;
    uint64_t hash;
    uint32_t bytes; /* of the block */
    uint32_t len;   /* of the value; 0: the user has no key */
    char data[];    /* the user's id, NUL, then the value */
} entry_t;

/* A partition's entries: chained buckets, doubled when full. */
typedef struct table {
    entry_t **buckets;
    size_t n_buckets, count;
} table_t;

struct sk_state_cache {
    table_t *parts[SK_MAX_PARTITIONS];
    size_t entries, bytes;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

sk_state_cache_t *sk_state_cache_new(void)
{
    return calloc(1, sizeof(sk_state_cache_t));
}

void sk_state_cache_clear(sk_state_cache_t *c, int32_t p)
{
    if (!c)
        return;
    for (int32_t q = p < 0 ? 0 : p; q < (p < 0 ? SK_MAX_PARTITIONS : p + 1); q++) {
        table_t *t = c->parts[q];
        if (!t)
            continue;
        for (size_t b = 0; b < t->n_buckets; b++)
            for (entry_t *e = t->buckets[b], *next; e; e = next) {
                next = e->next;
                c->bytes -= e->bytes;
                c->entries--;
                free(e);
            }
        free(t->buckets);
        free(t);
        c->parts[q] = NULL;
    }
}

void sk_state_cache_destroy(sk_state_cache_t *c)
{
    sk_state_cache_clear(c, -1);
    free(c);
}

void sk_state_cache_size(const sk_state_cache_t *c, size_t *entries, size_t *bytes)
{
    *entries = c ? c->entries : 0;
    *bytes = c ? c->bytes : 0;
}

/* The link that points at user's entry in table t (at the NULL ending its
 * bucket when absent); NULL when t has no buckets. */
static entry_t **find(table_t *t, const char *user, uint64_t h)
{
    if (!t || !t->n_buckets)
        return NULL;
    entry_t **link = &t->buckets[h & (t->n_buckets - 1)];
    while (*link && !((*link)->hash == h && strcmp((*link)->data, user) == 0))
        link = &(*link)->next;
    return link;
}

static void unlink_free(sk_state_cache_t *c, table_t *t, entry_t **link)
{
    entry_t *e = *link;
    *link = e->next;
    t->count--;
    c->entries--;
    c->bytes -= e->bytes;
    free(e);
}

void sk_state_cache_drop(sk_state_cache_t *c, int32_t p, const char *user)
{
    if (!c || p < 0 || p >= SK_MAX_PARTITIONS)
        return;
    table_t *t = c->parts[p];
    entry_t **link = find(t, user, hash_str(user));
    if (link && *link)
        unlink_free(c, t, link);
}

int sk_state_cache_get(sk_state_cache_t *c, int32_t p, const char *user, sk_arena_t *arena,
                       sk_store_value_t *out, bool *hit)
{
    *hit = false;
    if (!c || p < 0 || p >= SK_MAX_PARTITIONS)
        return 0;
    entry_t **link = find(c->parts[p], user, hash_str(user));
    if (!link || !*link)
        return 0;
    entry_t *e = *link;
    void *b = sk_arena_alloc(arena, e->len + 1);
    if (!b)
        return SK_ENOMEM;
    memcpy(b, e->data + strlen(e->data) + 1, e->len);
    *out = (sk_store_value_t){b, e->len};
    *hit = true;
    return 0;
}

/* Doubles t's buckets (from 64). 0 or SK_ENOMEM (t unchanged). */
static int grow(table_t *t)
{
    size_t n = t->n_buckets ? t->n_buckets * 2 : 64;
    entry_t **b = calloc(n, sizeof(*b));
    if (!b)
        return SK_ENOMEM;
    for (size_t i = 0; i < t->n_buckets; i++)
        for (entry_t *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(t->buckets);
    t->buckets = b;
    t->n_buckets = n;
    return 0;
}

/* A new entry of `user` holding value[0..len). NULL when out of memory. */
static entry_t *build(const char *user, const void *value, size_t len, uint64_t h)
{
    size_t ul = strlen(user), bytes = sizeof(entry_t) + ul + 1 + len;
    if (bytes > UINT32_MAX)
        return NULL;
    entry_t *e = malloc(bytes);
    if (!e)
        return NULL;
    memcpy(e->data, user, ul + 1);
    if (len)
        memcpy(e->data + ul + 1, value, len);
    e->hash = h;
    e->bytes = (uint32_t)bytes;
    e->len = (uint32_t)len;
    e->next = NULL;
    return e;
}

int sk_state_cache_apply(sk_state_cache_t *c, const sk_store_value_t *base,
                         const sk_store_writes_t *w)
{
    int32_t p = w->partition;
    if (!c || !w->user || p < 0 || p >= SK_MAX_PARTITIONS)
        return 0;
    uint64_t h = hash_str(w->user);
    table_t *t = c->parts[p];
    if (!t && !(t = c->parts[p] = calloc(1, sizeof(*t))))
        return SK_ENOMEM;
    if ((t->count + 1 > t->n_buckets && grow(t) != 0)) {
        sk_state_cache_drop(c, p, w->user);
        return SK_ENOMEM;
    }
    entry_t **link = find(t, w->user, h), *old = *link, *e;
    if (w->value_op == SK_STORE_VALUE_KEEP && old)
        return 0; /* unchanged */
    if (w->value_op == SK_STORE_VALUE_SET)
        e = build(w->user, w->value, w->value_len, h);
    else if (w->value_op == SK_STORE_VALUE_DEL)
        e = build(w->user, NULL, 0, h);
    else
        e = build(w->user, base ? base->bytes : NULL, base ? base->len : 0, h);
    if (!e) {
        if (old)
            unlink_free(c, t, link);
        return SK_ENOMEM;
    }
    if (old) {
        e->next = old->next;
        c->bytes -= old->bytes;
        free(old);
    } else {
        e->next = NULL;
        t->count++;
        c->entries++;
    }
    *link = e;
    c->bytes += e->bytes;
    if (c->bytes > SK_STATE_CACHE_MAX_BYTES)
        sk_state_cache_clear(c, p); /* fills again from the next steps */
    if (c->bytes > SK_STATE_CACHE_MAX_BYTES)
        sk_state_cache_clear(c, -1);
    return 0;
}
