/* strmap.c — open-addressing string map; see strmap.h for the contract. */
#include "base/strmap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/sk.h"

#define STRMAP_MIN_CAP 16

static uint64_t strmap_hash(const char *key)
{
    return XXH3_64bits(key, strlen(key));
}

void sk_strmap_init(sk_strmap_t *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void sk_strmap_fini(sk_strmap_t *m)
{
    free(m->slots);
    sk_strmap_init(m);
}

/* Index of the slot holding key, or of the empty slot where it would go.
 * cap must be a power of two > 0 and the table must have an empty slot. */
static size_t strmap_probe(const sk_strmap_slot_t *slots, size_t cap, const char *key,
                           uint64_t hash)
{
    size_t mask = cap - 1;
    size_t i = (size_t)hash & mask;

    for (;;) {
        const sk_strmap_slot_t *s = &slots[i];
        if (!s->key || (s->hash == hash && strcmp(s->key, key) == 0))
            return i;
        i = (i + 1) & mask;
    }
}

/* Rehashes into a table of new_cap slots. Returns 0 or SK_ENOMEM. */
static int strmap_grow(sk_strmap_t *m, size_t new_cap)
{
    sk_strmap_slot_t *slots = calloc(new_cap, sizeof(*slots));
    if (!slots)
        return SK_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        const sk_strmap_slot_t *old = &m->slots[i];
        if (old->key)
            slots[strmap_probe(slots, new_cap, old->key, old->hash)] = *old;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = new_cap;
    return 0;
}

int sk_strmap_put(sk_strmap_t *m, const char *key, void *value)
{
    int rc = 0;
    uint64_t hash;
    sk_strmap_slot_t *s;

    assert(m && key);
    /* keep the load factor under 70% */
    if ((m->count + 1) * 10 > m->cap * 7) {
        size_t new_cap = m->cap ? m->cap * 2 : STRMAP_MIN_CAP;
        if (new_cap < m->cap) {
            rc = SK_ENOMEM;
            goto out;
        }
        rc = strmap_grow(m, new_cap);
        if (rc)
            goto out;
    }
    hash = strmap_hash(key);
    s = &m->slots[strmap_probe(m->slots, m->cap, key, hash)];
    if (!s->key) {
        s->key = key;
        s->hash = hash;
        m->count++;
    }
    s->value = value;
out:
    return rc;
}

int sk_strmap_find(const sk_strmap_t *m, const char *key, void **value_out)
{
    const sk_strmap_slot_t *s;

    if (!m || !key || m->cap == 0)
        return 0;
    s = &m->slots[strmap_probe(m->slots, m->cap, key, strmap_hash(key))];
    if (!s->key)
        return 0;
    if (value_out)
        *value_out = s->value;
    return 1;
}

void *sk_strmap_get(const sk_strmap_t *m, const char *key)
{
    void *v = NULL;
    return sk_strmap_find(m, key, &v) ? v : NULL;
}

size_t sk_strmap_count(const sk_strmap_t *m)
{
    return m ? m->count : 0;
}
