/* resp.c — a RESP command written in place (see resp.h). */
#include "pipeline/resp.h"

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"

void sk_resp_init(sk_resp_t *b)
{
    memset(b, 0, sizeof(*b));
}

void sk_resp_fini(sk_resp_t *b)
{
    free(b->buf);
    memset(b, 0, sizeof(*b));
}

/* Makes room for `more` bytes; false (and failed) when it cannot. */
static bool reserve(sk_resp_t *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->cap - b->len >= more)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->buf, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->buf = p;
    b->cap = cap;
    return true;
}

/* Writes "<c><v>\r\n" (c '*' or '$') at the end; room must be reserved
 * (at most 23 bytes). */
static void put_header(sk_resp_t *b, char c, size_t v)
{
    b->buf[b->len++] = c;
    b->len += sk_fmt_i64(b->buf + b->len, (int64_t)v);
    b->buf[b->len++] = '\r';
    b->buf[b->len++] = '\n';
}

void sk_resp_begin(sk_resp_t *b, size_t argc)
{
    if (b->cap > SK_RESP_KEEP) { /* one huge call does not pin its memory */
        free(b->buf);
        b->buf = NULL;
        b->cap = 0;
    }
    b->len = 0;
    b->n = 0;
    b->argc = argc;
    b->failed = false;
    if (reserve(b, 24))
        put_header(b, '*', argc);
}

void *sk_resp_arg_open(sk_resp_t *b, size_t n)
{
    b->n++;
    if (n > SIZE_MAX - 32 || !reserve(b, n + 26)) {
        b->failed = true;
        return NULL;
    }
    put_header(b, '$', n);
    char *p = b->buf + b->len;
    b->len += n;
    b->buf[b->len++] = '\r';
    b->buf[b->len++] = '\n';
    return p;
}

void sk_resp_arg(sk_resp_t *b, const void *p, size_t n)
{
    void *at = sk_resp_arg_open(b, n);
    if (at && n)
        memcpy(at, p, n);
}

void sk_resp_str(sk_resp_t *b, const char *s)
{
    sk_resp_arg(b, s, strlen(s));
}

void sk_resp_i64(sk_resp_t *b, int64_t v)
{
    char num[24];
    sk_resp_arg(b, num, sk_fmt_i64(num, v));
}

const char *sk_resp_end(sk_resp_t *b, size_t *len)
{
    if (b->failed || b->n != b->argc)
        return NULL;
    *len = b->len;
    return b->buf;
}
