/*
 * strmap.h — a small open-addressing hash map from C strings to pointers
 * (linear probing, XXH3_64bits hashes, grows at 70% load). Used for the
 * rule set's lookups (rotation id, entitlement key) and the YAML position
 * index.
 *
 * Ownership: keys and values are BORROWED. The map stores the key pointer
 * as given; the caller keeps the key string alive and unchanged for as long
 * as the map holds it (typically both live in the same arena). The map owns
 * only its slot array, freed by sk_strmap_fini().
 *
 * Not thread-safe for writers; concurrent readers of a map nobody writes
 * any more are fine.
 */
#ifndef SK_STRMAP_H
#define SK_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sk_strmap_slot {
    const char *key; /* NULL = empty slot */
    void *value;
    uint64_t hash;
} sk_strmap_slot_t;

/* Iteration: callers may walk slots[0..cap) read-only and use the entries
 * whose key is not NULL; the order is unspecified. */
typedef struct sk_strmap {
    sk_strmap_slot_t *slots; /* cap slots, cap a power of two (or 0) */
    size_t cap;
    size_t count;
} sk_strmap_t;

/* Prepares caller-provided storage as an empty map; allocates nothing. */
void sk_strmap_init(sk_strmap_t *m);

/* Frees the slot array (not the keys or values). The map is empty and may
 * be used again afterwards. */
void sk_strmap_fini(sk_strmap_t *m);

/*
 * sk_strmap_put — maps key to value, replacing the value of an equal key
 * (the stored key pointer is then kept). key must not be NULL; value may
 * be anything, NULL included. Returns 0, or SK_ENOMEM (the map is then
 * unchanged).
 */
int sk_strmap_put(sk_strmap_t *m, const char *key, void *value);

/* The value mapped to key, or NULL when absent. Use sk_strmap_find() to tell
 * "absent" from "mapped to NULL". */
void *sk_strmap_get(const sk_strmap_t *m, const char *key);

/* 1 and *value_out set when key is present, 0 when absent. value_out may
 * be NULL. */
int sk_strmap_find(const sk_strmap_t *m, const char *key, void **value_out);

/* Number of keys. */
size_t sk_strmap_count(const sk_strmap_t *m);

#endif
