/* strbuf.c — a printf-free string builder (see strbuf.h). */
#include "base/strbuf.h"

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sk_strbuf_init(sk_strbuf_t *b, sk_arena_t *arena)
{
    b->p = b->small;
    b->len = 0;
    b->cap = sizeof(b->small);
    b->arena = arena;
    b->failed = false;
}

/* Makes room for `more` bytes plus a NUL; false when it cannot (without
 * an arena, the caller then appends what fits). */
static bool reserve(sk_strbuf_t *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->cap - b->len > more)
        return true;
    if (!b->arena)
        return false;
    size_t cap = b->cap * 2;
    while (cap - b->len <= more) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = sk_arena_alloc(b->arena, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    memcpy(p, b->p, b->len);
    b->p = p;
    b->cap = cap;
    return true;
}

void sk_strbuf_mem_slow(sk_strbuf_t *b, const char *s, size_t n)
{
    if (!reserve(b, n)) {
        if (b->failed)
            return;
        n = b->cap - b->len - 1; /* no arena: cut */
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* 10^0 .. 10^19 */
static const uint64_t POW10[20] = {1ULL,
                                   10ULL,
                                   100ULL,
                                   1000ULL,
                                   10000ULL,
                                   100000ULL,
                                   1000000ULL,
                                   10000000ULL,
                                   100000000ULL,
                                   1000000000ULL,
                                   10000000000ULL,
                                   100000000000ULL,
                                   1000000000000ULL,
                                   10000000000000ULL,
                                   100000000000000ULL,
                                   1000000000000000ULL,
                                   10000000000000000ULL,
                                   100000000000000000ULL,
                                   1000000000000000000ULL,
                                   10000000000000000000ULL};

/* "00" .. "99" */
static const char DIGITS2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                              "34353637383940414243444546474849505152535455565758596061626364656667"
                              "6869707172737475767778798081828384858687888990919293949596979899";

/* Writes the n digits of u (n = its digit count, u < 10^9 when 32-bit
 * arithmetic is used) ending at end, two a step. */
static void put_digits32(char *end, uint32_t u, size_t n)
{
    while (n >= 2) {
        uint32_t d = (u % 100) * 2;
        u /= 100;
        *--end = DIGITS2[d + 1];
        *--end = DIGITS2[d];
        n -= 2;
    }
    if (n)
        *--end = (char)('0' + u);
}

/* The number of decimal digits of u (1..20): from its bit length
 * (log10(2) ~ 1233 / 4096), corrected by one comparison. */
static size_t digits_of(uint64_t u)
{
    if (u == 0)
        return 1;
    size_t t = (size_t)(64 - __builtin_clzll(u)) * 1233 >> 12;
    return t - (u < POW10[t]) + 1;
}

size_t sk_fmt_i64(char *out, int64_t v)
{
    size_t k = 0;
    /* negate as unsigned: INT64_MIN has no positive int64 */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        out[k++] = '-';
    size_t n = digits_of(u), len = k + n;
    char *end = out + len;
    /* times are 13 digits: the low 8 and the rest each in 32-bit arithmetic */
    while (n > 9) {
        uint32_t low = (uint32_t)(u % 100000000u);
        u /= 100000000u;
        put_digits32(end, low, 8);
        end -= 8;
        n -= 8;
    }
    put_digits32(end, (uint32_t)u, n);
    return len;
}

void sk_fmt_hex64(char *out, uint64_t v)
{
    static const char hex2[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                               "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                               "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
                               "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
                               "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                               "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                               "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
                               "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    for (int i = 14; i >= 0; i -= 2, v >>= 8) /* a byte a step */
        memcpy(out + i, hex2 + (v & 0xff) * 2, 2);
}

void sk_strbuf_i64_slow(sk_strbuf_t *b, int64_t v)
{
    char num[24];
    sk_strbuf_mem_slow(b, num, sk_fmt_i64(num, v));
}

void sk_strbuf_time(sk_strbuf_t *b, sk_ms_t t)
{
    char buf[40];
    if (!b->failed && b->cap - b->len > sizeof(buf)) { /* formatted in place */
        b->len += strlen(sk_ms_format(t, b->p + b->len, sizeof(buf)));
        return;
    }
    sk_ms_format(t, buf, sizeof(buf));
    sk_strbuf_str(b, buf);
}

const char *sk_strbuf_peek(sk_strbuf_t *b)
{
    if (!reserve(b, 0))
        return NULL;
    b->p[b->len] = '\0';
    return b->p;
}

char *sk_strbuf_finish(sk_strbuf_t *b)
{
    if (b->failed || !b->arena)
        return NULL;
    if (b->p != b->small) { /* already in the arena, with room for the NUL */
        b->p[b->len] = '\0';
        return b->p;
    }
    return sk_arena_strndup(b->arena, b->p, b->len);
}

/*
 * The conversions the engine's messages use, written without vsnprintf
 * (which formats into a string stream at a high fixed cost per call, and
 * was called twice: once to measure): %s %c %d %i %u %ld %lu %lld %llu %zu
 * %zd %% with no flags, width or precision. 0 on success; -1 when the
 * format holds anything else, and the caller starts again with vsnprintf.
 */
static int fast_format(sk_strbuf_t *b, const char *fmt, va_list ap)
{
    for (const char *f = fmt; *f;) {
        const char *pct = strchr(f, '%');
        if (!pct) {
            sk_strbuf_str(b, f);
            break;
        }
        sk_strbuf_mem(b, f, (size_t)(pct - f));
        f = pct + 1;
        int lng = 0, size = 0;
        while (*f == 'l' && lng < 2) {
            lng++;
            f++;
        }
        if (!lng && *f == 'z') {
            size = 1;
            f++;
        }
        switch (*f) {
        case '%':
            if (lng || size)
                return -1;
            sk_strbuf_chr(b, '%');
            break;
        case 's':
            if (lng || size)
                return -1;
            sk_strbuf_str(b, va_arg(ap, const char *));
            break;
        case 'c':
            if (lng || size)
                return -1;
            sk_strbuf_chr(b, (char)va_arg(ap, int));
            break;
        case 'd':
        case 'i':
            sk_strbuf_i64(b, size       ? (int64_t)va_arg(ap, ssize_t)
                             : lng == 2 ? (int64_t)va_arg(ap, long long)
                             : lng == 1 ? (int64_t)va_arg(ap, long)
                                        : (int64_t)va_arg(ap, int));
            break;
        case 'u': {
            unsigned long long u = size       ? (unsigned long long)va_arg(ap, size_t)
                                   : lng == 2 ? va_arg(ap, unsigned long long)
                                   : lng == 1 ? (unsigned long long)va_arg(ap, unsigned long)
                                              : (unsigned long long)va_arg(ap, unsigned);
            if (u > (unsigned long long)INT64_MAX)
                return -1;
            sk_strbuf_i64(b, (int64_t)u);
            break;
        }
        default: return -1;
        }
        f++;
    }
    return 0;
}

char *sk_arena_sprintf(sk_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    sk_strbuf_t b;
    sk_strbuf_init(&b, a);
    va_start(ap, fmt);
    int rc = fast_format(&b, fmt, ap);
    va_end(ap);
    if (rc == 0)
        return sk_strbuf_finish(&b);
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = sk_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
