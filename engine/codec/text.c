/* text.c — free text written when read, and bounded (see text.h). */
#include "codec/text.h"

#include <string.h>

/* s (len bytes, len > SK_TEXT_MAX) cut to SK_TEXT_MAX with the marker. */
static const char *cut(sk_arena_t *arena, const char *s)
{
    const size_t mark = sizeof(SK_TEXT_TRUNCATED) - 1;
    size_t n = SK_TEXT_MAX - mark;
    /* back to the first byte of a character: continuation bytes are
     * 10xxxxxx (at most 3 of them in a row in UTF-8) */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    char *p = sk_arena_alloc(arena, n + mark + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    memcpy(p + n, SK_TEXT_TRUNCATED, mark + 1);
    return p;
}

const char *sk_text_bound(sk_arena_t *arena, const char *s)
{
    if (!s)
        return NULL;
    return strlen(s) <= SK_TEXT_MAX ? s : cut(arena, s);
}

const char *sk_text_render(const sk_text_t *t, sk_arena_t *arena)
{
    if (t->s || !t->write)
        return t->s ? sk_text_bound(arena, t->s) : "";
    sk_strbuf_t b;
    sk_strbuf_init(&b, arena);
    t->write(&b, t->args);
    const char *s = sk_strbuf_finish(&b);
    return s && strlen(s) > SK_TEXT_MAX ? cut(arena, s) : s;
}
