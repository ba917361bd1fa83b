/*
 * state_cache.h — the users' packed values (codec/state_pack.h) of the
 * partitions this engine owns,
 * kept in memory while it holds their epoch, so a batch decides without
 * reading Redis. The fence guarantees that no other instance writes a
 * partition while our epoch stands, so what our own applies wrote is what
 * Redis holds. The cache is only ever filled from an applied step (the
 * value it wrote, or the one it started from when it wrote none). User
 * keys have no TTL (the keep-until sweep deletes them, and drops their
 * entries here), so an entry is exactly
 * Redis' value until the next step; a value past its keep-until reads as
 * an empty state wherever it comes from (load.h).
 *
 * Whoever may have made the cache wrong drops it: losing the partition, a
 * fence or a lost state (sk_emit_forget), a new claim and any restore
 * (partition.c), a step whose outcome is unknown (an I/O error) or that
 * Redis skipped, and a reconnection.
 *
 * Memory: at most SK_STATE_CACHE_MAX_BYTES in all; past that the partition
 * that grew is emptied (all of them if that is not enough), and fills again
 * from the next steps: the cache holds the users active lately, which are
 * the ones a batch needs.
 */
#ifndef SK_STATE_CACHE_H
#define SK_STATE_CACHE_H

#include <stdbool.h>

#include "base/arena.h"
#include "pipeline/store.h"

#define SK_STATE_CACHE_MAX_BYTES (64u * 1024 * 1024)

typedef struct sk_state_cache sk_state_cache_t;

/* An empty cache; NULL when out of memory. */
sk_state_cache_t *sk_state_cache_new(void);
void sk_state_cache_destroy(sk_state_cache_t *c);

/* Drops what is cached of partition p (every partition when p < 0). */
void sk_state_cache_clear(sk_state_cache_t *c, int32_t p);

/* Drops one user's entry. */
void sk_state_cache_drop(sk_state_cache_t *c, int32_t p, const char *user);

/*
 * sk_state_cache_get — *hit = true and the user's value in *out (a copy in
 * arena; len 0: the user has no key) when cached; else *hit = false. 0 or
 * SK_ENOMEM.
 */
int sk_state_cache_get(sk_state_cache_t *c, int32_t p, const char *user, sk_arena_t *arena,
                       sk_store_value_t *out, bool *hit);

/*
 * sk_state_cache_apply — records the step `w` (applied by Redis) of its
 * user: the value it wrote (none after a delete), or, when it wrote none,
 * the user's entry as it is or else `base` (the value the step's decision
 * started from, as read). Nothing is borrowed. On SK_ENOMEM the entry is
 * dropped (the next step reads Redis). 0 or SK_ENOMEM.
 */
int sk_state_cache_apply(sk_state_cache_t *c, const sk_store_value_t *base,
                         const sk_store_writes_t *w);

/* Entries and bytes held (for tests and metrics). */
void sk_state_cache_size(const sk_state_cache_t *c, size_t *entries, size_t *bytes);

#endif
