/* state_pack.c — a user's state as one compact value (see state_pack.h). */
#include "codec/state_pack.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define ENC_STORED  0
#define ENC_DEFLATE 1

/* deflate's parameters: a 1 KiB window and small tables (a state is a few
 * hundred bytes: a larger window finds nothing more), level 6. */
#define Z_LEVEL    6
#define Z_WBITS    10
#define Z_MEMLEVEL 2

/* A body larger than this is never packed or unpacked (a state is bounded
 * by its fields, each by SK_ID_MAX or SK_TEXT_MAX; this is far above). */
#define BODY_MAX (64u * 1024 * 1024)

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

/* Raw-deflates in[0..n) into out (room for cap bytes): the bytes written,
 * or 0 when it does not fit (or zlib fails: the caller stores instead). */
static size_t deflate_into(unsigned char *out, size_t cap, const unsigned char *in, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_LEVEL, Z_DEFLATED, -Z_WBITS, Z_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? len : 0;
}

int sk_state_pack(sk_arena_t *arena, const sk_packed_field_t *f, size_t n, sk_ms_t keep_until_ms,
                  void **out, size_t *len)
{
    size_t body_len = 0;
    for (size_t i = 0; i < n; i++)
        body_len += 2 * 10 + f[i].name_len + f[i].value_len;
    if (body_len > BODY_MAX)
        return SK_ENOMEM;
    /* header (at most 1 + 3 varints + 1) then the body, stored or deflated */
    size_t cap = 1 + 3 * 10 + 1 + body_len;
    unsigned char *body = sk_arena_alloc(arena, body_len + 1), *p = sk_arena_alloc(arena, cap);
    if (!body || !p)
        return SK_ENOMEM;
    size_t b = 0, o = 0;
    for (size_t i = 0; i < n; i++) {
        b += varint_put(body + b, f[i].name_len);
        memcpy(body + b, f[i].name, f[i].name_len);
        b += f[i].name_len;
        b += varint_put(body + b, f[i].value_len);
        memcpy(body + b, f[i].value, f[i].value_len);
        b += f[i].value_len;
    }
    p[o++] = SK_STATE_PACK_VERSION;
    o += varint_put(p + o, keep_until_ms == SK_MS_NONE ? 0 : (uint64_t)keep_until_ms + 1);
    o += varint_put(p + o, n);
    o += varint_put(p + o, b);
    /* deflated only when that is smaller (a tiny state is stored as it is) */
    size_t z = b > 16 ? deflate_into(p + o + 1, b - 1, body, b) : 0;
    p[o++] = z ? ENC_DEFLATE : ENC_STORED;
    if (!z)
        memcpy(p + o, body, b);
    *out = p;
    *len = o + (z ? z : b);
    return 0;
}

/* Inflates in[0..n) into out, which must come out exactly `want` bytes. */
static bool inflate_exact(unsigned char *out, size_t want, const unsigned char *in, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -15) != Z_OK)
        return false;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)want;
    int rc = inflate(&z, Z_FINISH);
    bool ok = rc == Z_STREAM_END && z.avail_out == 0 && z.avail_in == 0;
    inflateEnd(&z);
    return ok;
}

/* Reads the header: version, keep, count, body length, encoding. false
 * when damaged. */
static bool header(const unsigned char **p, const unsigned char *end, sk_ms_t *keep,
                   uint64_t *count, uint64_t *body_len, int *enc)
{
    uint64_t k;
    if (*p >= end || *(*p)++ != SK_STATE_PACK_VERSION || !varint_get(p, end, &k) ||
        !varint_get(p, end, count) || !varint_get(p, end, body_len) || *p >= end ||
        k > (uint64_t)INT64_MAX || *body_len > BODY_MAX)
        return false;
    *enc = *(*p)++;
    *keep = k == 0 ? SK_MS_NONE : (sk_ms_t)(k - 1);
    return *enc == ENC_STORED || *enc == ENC_DEFLATE;
}

int sk_state_pack_keep_until(const void *bytes, size_t len, sk_ms_t *keep_until_ms)
{
    const unsigned char *p = bytes;
    uint64_t count, body_len;
    int enc;
    return header(&p, p + len, keep_until_ms, &count, &body_len, &enc) ? 0 : SK_EPARSE;
}

int sk_state_unpack(sk_arena_t *arena, const void *bytes, size_t len, sk_packed_field_t **f,
                    size_t *n, sk_ms_t *keep_until_ms)
{
    const unsigned char *p = bytes, *end = p + len, *q;
    sk_ms_t keep;
    uint64_t want, body_len, nl, vl;
    size_t count = 0;
    int enc;
    if (!header(&p, end, &keep, &want, &body_len, &enc))
        return SK_EPARSE;
    if (enc == ENC_STORED && (uint64_t)(end - p) != body_len)
        return SK_EPARSE;
    if (enc == ENC_DEFLATE) {
        unsigned char *body = sk_arena_alloc(arena, body_len + 1);
        if (!body)
            return SK_ENOMEM;
        if (!inflate_exact(body, body_len, p, (size_t)(end - p)))
            return SK_EPARSE;
        p = body;
        end = body + body_len;
    }
    /* count the fields and check every length before taking any */
    for (q = p; q < end; count++) {
        if (!varint_get(&q, end, &nl) || nl > (uint64_t)(end - q))
            return SK_EPARSE;
        q += nl;
        if (!varint_get(&q, end, &vl) || vl > (uint64_t)(end - q))
            return SK_EPARSE;
        q += vl;
    }
    if (count != want) /* a body that does not hold what the header says */
        return SK_EPARSE;
    if (keep_until_ms)
        *keep_until_ms = keep;
    if (!f)
        return 0;
    sk_packed_field_t *out = sk_arena_calloc(arena, count + 1, sizeof(*out));
    if (!out)
        return SK_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        (void)varint_get(&p, end, &nl);
        out[i].name = sk_arena_strndup(arena, (const char *)p, nl);
        out[i].name_len = nl;
        p += nl;
        (void)varint_get(&p, end, &vl);
        out[i].value = sk_arena_strndup(arena, (const char *)p, vl);
        out[i].value_len = vl;
        p += vl;
        if (!out[i].name || !out[i].value)
            return SK_ENOMEM;
    }
    *f = out;
    *n = count;
    return 0;
}

#define WINDOW 0xFF

/* A time of the window text at *s (digits, at most 18, no sign); false
 * when none. */
static bool window_time(const char **s, uint64_t *t)
{
    size_t n = 0;
    *t = 0;
    for (; (*s)[n] >= '0' && (*s)[n] <= '9' && n < 18; n++)
        *t = *t * 10 + (uint64_t)((*s)[n] - '0');
    if (n == 0 || (n > 1 && (*s)[0] == '0'))
        return false;
    *s += n;
    return true;
}

int sk_window_pack(sk_arena_t *arena, const char *text, const void **out, size_t *len)
{
    const char *s = text;
    uint64_t start, end = 0;
    bool open_ended = false, ok = window_time(&s, &start) && *s++ == ' ';
    if (ok && s[0] == '-' && s[1] == '\0')
        open_ended = true;
    else
        ok = ok && window_time(&s, &end) && *s == '\0' && end >= start;
    if (!ok) { /* not a window: as it is */
        *out = text;
        *len = strlen(text);
        return 0;
    }
    unsigned char *p = sk_arena_alloc(arena, 1 + 2 * 10);
    if (!p)
        return SK_ENOMEM;
    size_t o = 0;
    p[o++] = WINDOW;
    o += varint_put(p + o, start);
    o += varint_put(p + o, open_ended ? 0 : end - start + 1);
    *out = p;
    *len = o;
    return 0;
}

char *sk_window_unpack(sk_arena_t *arena, const void *bytes, size_t len)
{
    const unsigned char *p = bytes, *end = p + len;
    uint64_t start, span;
    if (len == 0 || p[0] != WINDOW)
        return sk_arena_strndup(arena, bytes, len);
    p++;
    if (!varint_get(&p, end, &start) || !varint_get(&p, end, &span) || p != end ||
        start > (uint64_t)INT64_MAX || (span && span - 1 > (uint64_t)INT64_MAX - start))
        return NULL;
    if (span == 0)
        return sk_arena_sprintf(arena, "%llu -", (unsigned long long)start);
    return sk_arena_sprintf(arena, "%llu %llu", (unsigned long long)start,
                            (unsigned long long)(start + span - 1));
}
