/*
 * avro_out.h — a small writer of Avro binary (the specification's
 * encoding: zig-zag varint longs and ints, length-prefixed strings, one
 * byte booleans, arrays as one block and a zero count) into a growing
 * buffer. What the encoders of the outputs written on every event use
 * (encode_direct.c) instead of avro-c's generic values, whose per-field
 * calls cost more than the bytes. Internal to codec/; not an API.
 *
 * Use: sk_avro_out_init(&o, buf, cap); sk_avro_out_long(&o, ...) ...;
 * then o.failed (an allocation failed) or o.p / o.len. The buffer is
 * grown with realloc; whoever owns it (the codec: codec->out) frees it,
 * and the writer's o.p replaces it after use (it may have moved).
 */
#ifndef SK_CODEC_AVRO_OUT_H
#define SK_CODEC_AVRO_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct sk_avro_out {
    uint8_t *p;      /* the bytes so far (malloc'd, owned by the caller) */
    size_t len, cap; /* bytes written, bytes available at p */
    bool failed;     /* a grow failed: nothing more is written */
} sk_avro_out_t;

/* Starts writing at the beginning of buf (cap bytes, malloc'd). */
static inline void sk_avro_out_init(sk_avro_out_t *o, void *buf, size_t cap)
{
    *o = (sk_avro_out_t){buf, 0, cap, false};
}

/* Makes room for n more bytes (realloc); false when it cannot. */
bool sk_avro_out_grow(sk_avro_out_t *o, size_t n);

static inline bool sk_avro_out_room(sk_avro_out_t *o, size_t n)
{
    return !o->failed && (o->cap - o->len >= n || sk_avro_out_grow(o, n));
}

/* A long (and an int, an enum index, a union branch, a count): zig-zag,
 * then 7 bits a byte, lowest first. */
static inline void sk_avro_out_long(sk_avro_out_t *o, int64_t v)
{
    if (!sk_avro_out_room(o, 10))
        return;
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    uint8_t *q = o->p + o->len;
    while (z > 0x7F) {
        *q++ = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    *q++ = (uint8_t)z;
    o->len = (size_t)(q - o->p);
}

static inline void sk_avro_out_bool(sk_avro_out_t *o, bool b)
{
    if (sk_avro_out_room(o, 1))
        o->p[o->len++] = b ? 1 : 0;
}

/* n bytes of s as Avro bytes or string: the length, then the bytes. */
static inline void sk_avro_out_mem(sk_avro_out_t *o, const char *s, size_t n)
{
    sk_avro_out_long(o, (int64_t)n);
    if (n && sk_avro_out_room(o, n)) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
    }
}

/* A string; NULL is written as "" (as the generic encoders did). */
static inline void sk_avro_out_str(sk_avro_out_t *o, const char *s)
{
    if (!s)
        s = "";
    sk_avro_out_mem(o, s, strlen(s));
}

#endif
