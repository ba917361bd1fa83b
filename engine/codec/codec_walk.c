/*
 * codec_walk.c — the pre-read walk that makes avro-c safe on hostile input
 * (see codec.h, sk_codec_walk), shared by the reader of our own schemas
 * (codec.c) and of other versions (codec_resolve.c).
 *
 * Why the walk: avro-c 1.11.1 trusts what it reads. It accepts an enum index
 * past the last symbol, and allocates a string or bytes buffer of the
 * declared length before it knows whether that many bytes follow, so a
 * record of twelve bytes can ask for gigabytes. Before avro_value_read() is
 * called, walk_value() follows the schema over the bytes and checks every
 * length against the bytes left, every enum index and union branch against
 * the schema, every varint's encoding. Only a record that passed is handed
 * to avro-c, with the exact bounds.
 */
#define SK_CODEC_INTERNAL
#include "codec/codec.h"

#include "base/strbuf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define WALK_MAX_DEPTH 32
#define WALK_PATH_MAX  256

/* State of one walk over a record body. */
typedef struct walk {
    const uint8_t *p; /* body */
    size_t len;       /* body length */
    size_t pos;       /* next byte to read */
    size_t given;     /* whole framed length, for messages */
    int depth;
    char path[WALK_PATH_MAX]; /* field path, e.g. "sources[1].kind" */
    char *reason;
    size_t reason_len;
} walk_t;

static void fmt_reason(char *reason, size_t reason_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fmt_reason(char *reason, size_t reason_len, const char *fmt, ...)
{
    if (!reason || reason_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, reason_len, fmt, ap);
    va_end(ap);
}

static int walk_truncated(walk_t *w)
{
    fmt_reason(w->reason, w->reason_len,
               "truncated record (needs more bytes than the %zu given) in field '%s'", w->given,
               w->path[0] ? w->path : "(record)");
    return SK_EPARSE;
}

/* Reads one zig-zag varint; at most 10 bytes, as the Avro spec allows. */
static int walk_varint(walk_t *w, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0, n = 0;; shift += 7, n++) {
        if (n == 10) {
            fmt_reason(w->reason, w->reason_len,
                       "field '%s': malformed varint (longer than 10 bytes)", w->path);
            return SK_EPARSE;
        }
        if (w->pos >= w->len)
            return walk_truncated(w);
        uint8_t b = w->p[w->pos++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return 0;
}

/* Checks that `n` bytes (a declared length) are present; never allocates. */
static int walk_need(walk_t *w, int64_t n, const char *what)
{
    if (n < 0) {
        fmt_reason(w->reason, w->reason_len, "field '%s': negative %s %" PRId64, w->path, what, n);
        return SK_EPARSE;
    }
    if ((uint64_t)n > w->len - w->pos) {
        fmt_reason(w->reason, w->reason_len,
                   "field '%s': %s %" PRId64 " exceeds the %zu bytes left: truncated "
                   "record (needs more bytes than the %zu given)",
                   w->path, what, n, w->len - w->pos, w->given);
        return SK_EPARSE;
    }
    return 0;
}

/* Appends n bytes of s to the path, cut as snprintf would cut them. */
static void path_put(walk_t *w, size_t *len, const char *s, size_t n)
{
    size_t room = sizeof w->path - 1 - *len;
    n = n < room ? n : room;
    memcpy(w->path + *len, s, n);
    *len += n;
    w->path[*len] = '\0';
}

/* Appends ".name" / "name" / "[i]" to the path; returns the old length.
 * Without printf: it runs for every field of every record read. */
static size_t walk_push(walk_t *w, const char *name, long index)
{
    size_t old = strlen(w->path), len = old;
    if (name) {
        if (old)
            path_put(w, &len, ".", 1);
        path_put(w, &len, name, strlen(name));
    } else {
        char num[24];
        path_put(w, &len, "[", 1);
        path_put(w, &len, num, sk_fmt_i64(num, index));
        path_put(w, &len, "]", 1);
    }
    return old;
}

static int walk_value(walk_t *w, avro_schema_t s);

/* Arrays and maps: blocks of items until a zero count. */
static int walk_blocks(walk_t *w, avro_schema_t items, int is_map)
{
    int rc = 0;
    long index = 0;
    for (;;) {
        int64_t count, bytes;
        if ((rc = walk_varint(w, &count)))
            goto out;
        if (count == 0)
            break;
        if (count < 0) {
            if (count == INT64_MIN) {
                fmt_reason(w->reason, w->reason_len, "field '%s': bad block count", w->path);
                rc = SK_EPARSE;
                goto out;
            }
            count = -count;
            if ((rc = walk_varint(w, &bytes)) || (rc = walk_need(w, bytes, "block size")))
                goto out;
        }
        /* Every item of our schemas takes at least one byte. */
        if ((rc = walk_need(w, count, "item count")))
            goto out;
        for (int64_t i = 0; i < count; i++, index++) {
            size_t old = walk_push(w, NULL, index);
            if (is_map) {
                int64_t klen;
                if ((rc = walk_varint(w, &klen)) || (rc = walk_need(w, klen, "key length")))
                    goto out;
                w->pos += (size_t)klen;
            }
            if ((rc = walk_value(w, items)))
                goto out;
            w->path[old] = '\0';
        }
    }
out:
    return rc;
}

static int walk_record(walk_t *w, avro_schema_t s)
{
    int rc = 0;
    size_t n = avro_schema_record_size(s);
    for (size_t i = 0; i < n; i++) {
        size_t old = walk_push(w, avro_schema_record_field_name(s, (int)i), 0);
        if ((rc = walk_value(w, avro_schema_record_field_get_by_index(s, (int)i))))
            goto out;
        w->path[old] = '\0';
    }
out:
    return rc;
}

/* Follows schema `s` over the bytes; SK_EPARSE with a reason on failure. */
static int walk_value(walk_t *w, avro_schema_t s)
{
    int rc = 0;
    int64_t v;
    if (++w->depth > WALK_MAX_DEPTH) {
        fmt_reason(w->reason, w->reason_len, "field '%s': nested too deeply", w->path);
        rc = SK_EPARSE;
        goto out;
    }
    switch (avro_typeof(s)) {
    case AVRO_NULL: break;
    case AVRO_BOOLEAN:
        if (w->pos >= w->len) {
            rc = walk_truncated(w);
        } else if (w->p[w->pos] > 1) {
            fmt_reason(w->reason, w->reason_len,
                       "field '%s': boolean byte 0x%02x is neither 0 nor 1", w->path, w->p[w->pos]);
            rc = SK_EPARSE;
        } else {
            w->pos++;
        }
        break;
    case AVRO_INT32:
        if (!(rc = walk_varint(w, &v)) && (v < INT32_MIN || v > INT32_MAX)) {
            fmt_reason(w->reason, w->reason_len, "field '%s': %" PRId64 " does not fit an int",
                       w->path, v);
            rc = SK_EPARSE;
        }
        break;
    case AVRO_INT64: rc = walk_varint(w, &v); break;
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
    case AVRO_FIXED: {
        int64_t n = avro_typeof(s) == AVRO_FLOAT    ? 4
                    : avro_typeof(s) == AVRO_DOUBLE ? 8
                                                    : avro_schema_fixed_size(s);
        if (!(rc = walk_need(w, n, "size")))
            w->pos += (size_t)n;
        break;
    }
    case AVRO_STRING:
    case AVRO_BYTES:
        if (!(rc = walk_varint(w, &v)) && !(rc = walk_need(w, v, "length")))
            w->pos += (size_t)v;
        break;
    case AVRO_ENUM: {
        int n = avro_schema_enum_number_of_symbols(s);
        if (!(rc = walk_varint(w, &v)) && (v < 0 || v >= n)) {
            fmt_reason(w->reason, w->reason_len,
                       "field '%s': enum index %" PRId64 " out of range (0..%d)", w->path, v,
                       n - 1);
            rc = SK_EPARSE;
        }
        break;
    }
    case AVRO_UNION: {
        int64_t n = (int64_t)avro_schema_union_size(s);
        if ((rc = walk_varint(w, &v)))
            break;
        if (v < 0 || v >= n) {
            fmt_reason(w->reason, w->reason_len,
                       "field '%s': union branch %" PRId64 " out of range (0..%" PRId64 ")",
                       w->path, v, n - 1);
            rc = SK_EPARSE;
            break;
        }
        rc = walk_value(w, avro_schema_union_branch(s, (int)v));
        break;
    }
    case AVRO_RECORD: rc = walk_record(w, s); break;
    case AVRO_ARRAY: rc = walk_blocks(w, avro_schema_array_items(s), 0); break;
    case AVRO_MAP: rc = walk_blocks(w, avro_schema_map_values(s), 1); break;
    case AVRO_LINK: rc = walk_value(w, avro_schema_link_target(s)); break;
    default:
        fmt_reason(w->reason, w->reason_len, "field '%s': unsupported schema type", w->path);
        rc = SK_EPARSE;
        break;
    }
out:
    w->depth--;
    return rc;
}

int sk_codec_walk(avro_schema_t s, const uint8_t *body, size_t len, size_t given, size_t *end,
                  char *reason, size_t reason_len)
{
    walk_t w = {.p = body, .len = len, .given = given, .reason = reason, .reason_len = reason_len};
    int rc = walk_value(&w, s);
    *end = w.pos;
    return rc;
}
