/* arena.c — bump allocator; see arena.h for the contract. */
#include "base/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sk_arena_init(sk_arena_t *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 16384;
}

void sk_arena_fini(sk_arena_t *a)
{
    sk_arena_block_t *b = a->head;
    while (b) {
        sk_arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void sk_arena_reset(sk_arena_t *a)
{
    sk_arena_block_t *b = a->head;
    if (!b)
        return;
    /* keep the oldest block (the last in the chain), free the rest */
    while (b->next) {
        sk_arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
}

void *sk_arena_alloc_block(sk_arena_t *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    size_t need = (n + align - 1) & ~(align - 1);
    sk_arena_block_t *b = a->head;

    if (need < n)
        return NULL;
    if (!b || b->size - b->used < need) {
        size_t size = need > a->block_size ? need : a->block_size;
        sk_arena_block_t *nb = malloc(sizeof(*nb) + size);
        if (!nb)
            return NULL;
        nb->size = size;
        nb->used = 0;
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void *sk_arena_calloc(sk_arena_t *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    void *p = sk_arena_alloc(a, n > 0 ? n : 1);
    if (p)
        memset(p, 0, n);
    return p;
}

char *sk_arena_strndup(sk_arena_t *a, const char *s, size_t len)
{
    char *p = sk_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *sk_arena_strdup(sk_arena_t *a, const char *s)
{
    return sk_arena_strndup(a, s, strlen(s));
}
