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

/* A block: in the header only so that sk_arena_alloc's common case (room
 * in the current block) is inline; use the functions below, never the
 * fields. */
struct sk_arena_block {
    sk_arena_block_t *next;
    size_t size;
    size_t used;
    _Alignas(max_align_t) unsigned char data[];
};

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

/* sk_arena_alloc's other case: a new block. Not for direct use. */
void *sk_arena_alloc_block(sk_arena_t *a, size_t n);

/* Returns n bytes aligned for any type, or NULL when out of memory. The
 * memory is owned by the arena. */
static inline void *sk_arena_alloc(sk_arena_t *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    size_t need = (n + align - 1) & ~(align - 1);
    sk_arena_block_t *b = a->head;
    if (need >= n && b && b->size - b->used >= need) {
        void *p = b->data + b->used;
        b->used += need;
        return p;
    }
    return sk_arena_alloc_block(a, n);
}

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
