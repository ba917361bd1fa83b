/*
 * arena.h — a bump allocator for per-record work. Everything decoded,
 * decided and encoded for one input record lives in one arena and is freed
 * at once by sk_arena_reset(), so the hot path does not call malloc per
 * object.
 */
#ifndef SK_ARENA_H
#define SK_ARENA_H

#include <stddef.h>

typedef struct sk_arena_block sk_arena_block_t;

typedef struct sk_arena {
    sk_arena_block_t *head; /* current block; older blocks are chained */
    size_t block_size;      /* default size of a new block */
} sk_arena_t;

/* Prepares caller-provided storage; allocates nothing yet. */
void sk_arena_init(sk_arena_t *a, size_t block_size);

/* Frees every block. The arena may be re-initialised afterwards. */
void sk_arena_fini(sk_arena_t *a);

/* Forgets every allocation but keeps the first block for reuse. Pointers
 * returned earlier become invalid. */
void sk_arena_reset(sk_arena_t *a);

/* Returns n bytes aligned for any type, or NULL when out of memory. The
 * memory is owned by the arena. */
void *sk_arena_alloc(sk_arena_t *a, size_t n);

/* Zeroed allocation of count * size bytes (overflow-checked). */
void *sk_arena_calloc(sk_arena_t *a, size_t count, size_t size);

/* Copies len bytes of s into the arena and NUL-terminates the copy. */
char *sk_arena_strndup(sk_arena_t *a, const char *s, size_t len);

/* Copies a NUL-terminated string. */
char *sk_arena_strdup(sk_arena_t *a, const char *s);

/* printf into the arena; returns NULL on failure. Defined in strbuf.c: the
 * usual conversions (%s %c %d %zu ...) are written by the string builder
 * without vsnprintf, anything else by vsnprintf. */
char *sk_arena_sprintf(sk_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
