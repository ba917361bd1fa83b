/* state_pack.c — a user's state as one compact value (see state_pack.h). */
#include "codec/state_pack.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define TIME_DIGITS 13
#define TOKEN 0xFF /* a time follows, as a varint above the base */
#define RAW 0xFE   /* the value is stored as it is (it holds 0xFE or 0xFF) */

static size_t varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    do {
        unsigned char b = v & 0x7F;
        v >>= 7;
        p[n++] = v ? (unsigned char)(b | 0x80) : b;
    } while (v);
    return n;
}

/* Reads a varint at *p (before end): false when cut short or too long. */
static bool varint_get(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Whether s[i..] starts a time token of s[0..n): 13 digits, the first not
 * '0', no digit just before or after. *t gets its value. */
static bool time_at(const unsigned char *s, size_t n, size_t i, uint64_t *t)
{
    if (i + TIME_DIGITS > n || s[i] == '0' || (i > 0 && is_digit(s[i - 1])) ||
        (i + TIME_DIGITS < n && is_digit(s[i + TIME_DIGITS])))
        return false;
    uint64_t v = 0;
    for (size_t k = 0; k < TIME_DIGITS; k++) {
        if (!is_digit(s[i + k]))
            return false;
        v = v * 10 + (uint64_t)(s[i + k] - '0');
    }
    *t = v;
    return true;
}

static bool needs_raw(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == TOKEN || s[i] == RAW)
            return true;
    return false;
}

/* Packs value s[0..n) at out (room for n + 1 bytes: a token is never longer
 * than its 13 digits); returns the bytes written. */
static size_t pack_value(unsigned char *out, const unsigned char *s, size_t n, uint64_t base)
{
    size_t o = 0;
    uint64_t t;
    if (needs_raw(s, n)) {
        out[o++] = RAW;
        memcpy(out + o, s, n);
        return o + n;
    }
    for (size_t i = 0; i < n;) {
        if (base && time_at(s, n, i, &t) && t >= base) {
            out[o++] = TOKEN;
            o += varint_put(out + o, t - base);
            i += TIME_DIGITS;
        } else {
            out[o++] = s[i++];
        }
    }
    return o;
}

int sk_state_pack(sk_arena_t *arena, const sk_packed_field_t *f, size_t n, sk_ms_t keep_until_ms,
                  void **out, size_t *len)
{
    uint64_t base = 0, t;
    size_t cap = 1 + 2 * 10;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *v = (const unsigned char *)f[i].value;
        cap += 2 * 10 + f[i].name_len + f[i].value_len + 1;
        if (needs_raw(v, f[i].value_len))
            continue;
        for (size_t k = 0; k < f[i].value_len; k++)
            if (time_at(v, f[i].value_len, k, &t) && (base == 0 || t < base))
                base = t;
    }
    unsigned char *p = sk_arena_alloc(arena, cap), *tmp = NULL;
    if (!p)
        return SK_ENOMEM;
    size_t o = 0;
    p[o++] = SK_STATE_PACK_VERSION;
    o += varint_put(p + o, keep_until_ms == SK_MS_NONE ? 0 : (uint64_t)keep_until_ms + 1);
    o += varint_put(p + o, base ? base + 1 : 0);
    o += varint_put(p + o, n);
    for (size_t i = 0; i < n; i++) {
        o += varint_put(p + o, f[i].name_len);
        memcpy(p + o, f[i].name, f[i].name_len);
        o += f[i].name_len;
        if (!(tmp = sk_arena_alloc(arena, f[i].value_len + 1)))
            return SK_ENOMEM;
        size_t vl = pack_value(tmp, (const unsigned char *)f[i].value, f[i].value_len, base);
        o += varint_put(p + o, vl);
        memcpy(p + o, tmp, vl);
        o += vl;
    }
    *out = p;
    *len = o;
    return 0;
}

/* Unpacks a value v[0..n) into arena memory (NUL-terminated). NULL when it
 * is damaged (*bad) or out of memory. */
static char *unpack_value(sk_arena_t *arena, const unsigned char *v, size_t n, uint64_t base,
                          size_t *out_len, bool *bad)
{
    if (n > 0 && v[0] == RAW) {
        *out_len = n - 1;
        return sk_arena_strndup(arena, (const char *)v + 1, n - 1);
    }
    size_t full = 0;
    const unsigned char *p = v, *end = v + n;
    uint64_t d;
    while (p < end) { /* the unpacked length first */
        if (*p++ != TOKEN) {
            full++;
            continue;
        }
        if (!base || !varint_get(&p, end, &d) || d >= 10000000000000ULL - base) {
            *bad = true;
            return NULL;
        }
        full += TIME_DIGITS;
    }
    char *s = sk_arena_alloc(arena, full + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (p = v; p < end;) {
        if (*p != TOKEN) {
            s[o++] = (char)*p++;
            continue;
        }
        p++;
        (void)varint_get(&p, end, &d);
        uint64_t t = base + d;
        for (int k = TIME_DIGITS - 1; k >= 0; k--, t /= 10)
            s[o + (size_t)k] = (char)('0' + t % 10);
        o += TIME_DIGITS;
    }
    s[o] = '\0';
    *out_len = o;
    return s;
}

/* Reads the header: version, keep, base, field count. false when damaged. */
static bool header(const unsigned char **p, const unsigned char *end, sk_ms_t *keep, uint64_t *base,
                   uint64_t *count)
{
    uint64_t k, b;
    if (*p >= end || *(*p)++ != SK_STATE_PACK_VERSION || !varint_get(p, end, &k) ||
        !varint_get(p, end, &b) || !varint_get(p, end, count) || k > (uint64_t)INT64_MAX)
        return false;
    *keep = k == 0 ? SK_MS_NONE : (sk_ms_t)(k - 1);
    *base = b ? b - 1 : 0;
    return true;
}

int sk_state_pack_keep_until(const void *bytes, size_t len, sk_ms_t *keep_until_ms)
{
    const unsigned char *p = bytes;
    uint64_t base, count;
    return header(&p, p + len, keep_until_ms, &base, &count) ? 0 : SK_EPARSE;
}

int sk_state_unpack(sk_arena_t *arena, const void *bytes, size_t len, sk_packed_field_t **f,
                    size_t *n, sk_ms_t *keep_until_ms)
{
    const unsigned char *p = bytes, *end = p + len, *q;
    sk_ms_t keep;
    uint64_t base, nl, vl, want;
    size_t count = 0;
    if (!header(&p, end, &keep, &base, &want))
        return SK_EPARSE;
    /* count the fields and check every length before taking any */
    for (q = p; q < end; count++) {
        if (!varint_get(&q, end, &nl) || nl > (uint64_t)(end - q))
            return SK_EPARSE;
        q += nl;
        if (!varint_get(&q, end, &vl) || vl > (uint64_t)(end - q))
            return SK_EPARSE;
        q += vl;
    }
    if (count != want) /* cut short at a field's end, or trailing bytes */
        return SK_EPARSE;
    if (keep_until_ms)
        *keep_until_ms = keep;
    if (!f)
        return 0;
    sk_packed_field_t *out = sk_arena_calloc(arena, count + 1, sizeof(*out));
    if (!out)
        return SK_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        bool bad = false;
        (void)varint_get(&p, end, &nl);
        out[i].name = sk_arena_strndup(arena, (const char *)p, nl);
        out[i].name_len = nl;
        p += nl;
        (void)varint_get(&p, end, &vl);
        out[i].value = unpack_value(arena, p, vl, base, &out[i].value_len, &bad);
        p += vl;
        if (bad)
            return SK_EPARSE;
        if (!out[i].name || !out[i].value)
            return SK_ENOMEM;
    }
    *f = out;
    *n = count;
    return 0;
}
