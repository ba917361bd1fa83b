/* state_cache.c — owned partitions' user hashes in memory (see state_cache.h). */
#include "pipeline/state_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/engine_internal.h"

/* How long before its expiry in Redis an entry is no longer used. */
#define EXPIRY_MARGIN_MS 1000

/* One user's hash: a single heap block (this struct, the field array, the
 * strings), replaced as a whole by each step. */
typedef struct entry {
    struct entry *next;
    uint64_t hash;
    sk_ms_t keep_until; /* SK_MS_NONE: the hash does not expire */
    size_t bytes;       /* of the block */
    size_t n_fields;
    sk_store_field_t *fields;
    char *user;
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
    while (*link && !((*link)->hash == h && strcmp((*link)->user, user) == 0))
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

int sk_state_cache_get(sk_state_cache_t *c, int32_t p, const char *user, sk_ms_t now,
                       sk_arena_t *arena, sk_store_hash_t *out, bool *hit)
{
    *hit = false;
    if (!c || p < 0 || p >= SK_MAX_PARTITIONS)
        return 0;
    table_t *t = c->parts[p];
    entry_t **link = find(t, user, hash_str(user));
    if (!link || !*link)
        return 0;
    entry_t *e = *link;
    if (e->keep_until != SK_MS_NONE && now + EXPIRY_MARGIN_MS >= e->keep_until) {
        unlink_free(c, t, link); /* Redis expires it (or is about to): read it there */
        return 0;
    }
    sk_store_field_t *f = sk_arena_calloc(arena, e->n_fields + 1, sizeof(*f));
    if (!f)
        return SK_ENOMEM;
    for (size_t i = 0; i < e->n_fields; i++) {
        f[i].name = sk_arena_strndup(arena, e->fields[i].name, e->fields[i].name_len);
        f[i].value = sk_arena_strndup(arena, e->fields[i].value, e->fields[i].value_len);
        f[i].name_len = e->fields[i].name_len;
        f[i].value_len = e->fields[i].value_len;
        if (!f[i].name || !f[i].value)
            return SK_ENOMEM;
    }
    *out = (sk_store_hash_t){f, e->n_fields};
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

static bool named(const char *name, size_t len, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return true;
    return false;
}

static bool set_names(const char *name, size_t len, const sk_store_field_t *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i].name_len == len && memcmp(set[i].name, name, len) == 0)
            return true;
    return false;
}

/* A new entry: `from`'s fields less w's deletes and sets, then w's sets. */
static entry_t *build(const sk_store_field_t *from, size_t n_from, const sk_store_writes_t *w,
                      uint64_t h)
{
    size_t n = 0, bytes = sizeof(entry_t) + strlen(w->user) + 1;
    for (size_t i = 0; i < n_from; i++)
        if (!named(from[i].name, from[i].name_len, w->del, w->n_del) &&
            !set_names(from[i].name, from[i].name_len, w->set, w->n_set)) {
            n++;
            bytes += from[i].name_len + from[i].value_len + 2;
        }
    for (size_t i = 0; i < w->n_set; i++)
        bytes += w->set[i].name_len + w->set[i].value_len + 2;
    n += w->n_set;
    bytes += n * sizeof(sk_store_field_t) + sizeof(void *);
    entry_t *e = malloc(bytes);
    if (!e)
        return NULL;
    char *s = (char *)(e + 1);
    e->fields = (sk_store_field_t *)(void *)(((uintptr_t)s + sizeof(void *) - 1) &
                                             ~(uintptr_t)(sizeof(void *) - 1));
    s = (char *)(e->fields + n);
    e->n_fields = 0;
    for (size_t i = 0; i < n_from + w->n_set; i++) {
        const sk_store_field_t *f = i < n_from ? &from[i] : &w->set[i - n_from];
        if (i < n_from && (named(f->name, f->name_len, w->del, w->n_del) ||
                           set_names(f->name, f->name_len, w->set, w->n_set)))
            continue;
        sk_store_field_t *o = &e->fields[e->n_fields++];
        memcpy(s, f->name, f->name_len);
        s[f->name_len] = '\0';
        o->name = s;
        o->name_len = f->name_len;
        s += f->name_len + 1;
        memcpy(s, f->value, f->value_len);
        s[f->value_len] = '\0';
        o->value = s;
        o->value_len = f->value_len;
        s += f->value_len + 1;
    }
    e->user = s;
    strcpy(s, w->user);
    e->hash = h;
    e->bytes = bytes;
    e->keep_until = w->keep_until_ms;
    e->next = NULL;
    return e;
}

int sk_state_cache_apply(sk_state_cache_t *c, const sk_store_hash_t *base,
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
    entry_t **link = find(t, w->user, h), *old = *link;
    entry_t *e = old ? build(old->fields, old->n_fields, w, h)
                     : build(base ? base->fields : NULL, base ? base->n_fields : 0, w, h);
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
