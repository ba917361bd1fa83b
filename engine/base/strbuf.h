/*
 * strbuf.h — a string builder for the hot path: appends text, integers and
 * times without printf, on a small buffer inside the builder (no
 * allocation for the usual short line), and hands the result over as one
 * arena string. What the deciders build reasons, trace lines and stored
 * fields with: it writes exactly what the printf formats it replaces wrote
 * ("%s", "%c", "%d" / PRId64, sk_ms_format), only faster.
 *
 * Use: sk_strbuf_init(&b, arena); sk_strbuf_str(&b, ...) ...;
 * s = sk_strbuf_finish(&b). A failed allocation is remembered and makes
 * sk_strbuf_finish return NULL, so the appends need no checks. Without an
 * arena (NULL) the text is cut at SK_STRBUF_INLINE - 1 bytes and only
 * sk_strbuf_peek may be used.
 */
#ifndef SK_STRBUF_H
#define SK_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"
#include "base/sk.h"

#define SK_STRBUF_INLINE 240

typedef struct sk_strbuf {
    char *p;           /* the text so far (not NUL-terminated until finished) */
    size_t len, cap;   /* bytes used, bytes available at p */
    sk_arena_t *arena; /* where the result (and a longer text) goes; borrowed */
    bool failed;       /* an allocation failed: finish returns NULL */
    char small[SK_STRBUF_INLINE];
} sk_strbuf_t;

/* Prepares an empty builder whose result will belong to `arena` (NULL: a
 * short text that stays in the builder, see above). */
void sk_strbuf_init(sk_strbuf_t *b, sk_arena_t *arena);

/* The slow paths of the appends below (a longer text, a failed builder):
 * not for direct use. */
void sk_strbuf_mem_slow(sk_strbuf_t *b, const char *s, size_t n);
void sk_strbuf_i64_slow(sk_strbuf_t *b, int64_t v);

/* Writes v in decimal into out (at least 21 bytes), no NUL; returns the
 * length. */
size_t sk_fmt_i64(char *out, int64_t v);

/* The appends are inline: the deciders make many short texts, and a call
 * per piece cost more than the copying. */

/* Appends n bytes of s. */
static inline void sk_strbuf_mem(sk_strbuf_t *b, const char *s, size_t n)
{
    if (b->cap - b->len > n && !b->failed) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    } else {
        sk_strbuf_mem_slow(b, s, n);
    }
}

/* Appends the NUL-terminated s ("(null)" for NULL, as glibc's printf). */
static inline void sk_strbuf_str(sk_strbuf_t *b, const char *s)
{
    if (!s)
        s = "(null)";
    sk_strbuf_mem(b, s, strlen(s));
}

/* Appends one byte. */
static inline void sk_strbuf_chr(sk_strbuf_t *b, char c)
{
    if (b->cap - b->len > 1 && !b->failed)
        b->p[b->len++] = c;
    else
        sk_strbuf_mem_slow(b, &c, 1);
}

/* Appends v in decimal ("%" PRId64). */
static inline void sk_strbuf_i64(sk_strbuf_t *b, int64_t v)
{
    if (b->cap - b->len > 24 && !b->failed)
        b->len += sk_fmt_i64(b->p + b->len, v);
    else
        sk_strbuf_i64_slow(b, v);
}

/* Appends t as sk_ms_format writes it ("never" for SK_MS_NONE). */
void sk_strbuf_time(sk_strbuf_t *b, sk_ms_t t);

/* The text as a NUL-terminated arena string, or NULL when an allocation
 * failed. The builder must not be used afterwards (init it again). */
char *sk_strbuf_finish(sk_strbuf_t *b);

/* The text so far, NUL-terminated, valid until the next append; NULL when
 * an allocation failed. For a caller that copies or hashes it itself. */
const char *sk_strbuf_peek(sk_strbuf_t *b);

/* Writes v as 16 lowercase hex digits ("%016" PRIx64) into out, no NUL. */
void sk_fmt_hex64(char *out, uint64_t v);

#endif
