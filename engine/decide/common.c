/* common.c — the small pieces every decider uses (see common.h). */
#include "decide/common.h"

#include <inttypes.h>
#include <string.h>

#include "codec/event.h"

void sk_decide_trace_add(sk_decide_trace_t *t, const char *line)
{
    if (!line)
        return;
    if (t->n < SK_DECIDE_TRACE_MAX - 1)
        t->lines[t->n++] = line;
    else if (t->n == SK_DECIDE_TRACE_MAX - 1)
        t->lines[t->n++] = "(trace truncated)";
}

const char *sk_decide_text_bound(sk_arena_t *arena, const char *s)
{
    const size_t mark = sizeof(SK_DECIDE_TRUNCATED) - 1;
    if (!s)
        return NULL;
    size_t len = strlen(s);
    if (len <= SK_TEXT_MAX)
        return s;
    size_t cut = SK_TEXT_MAX - mark;
    /* back to the first byte of a character: continuation bytes are
     * 10xxxxxx (at most 3 of them in a row in UTF-8) */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    char *p = sk_arena_alloc(arena, cut + mark + 1);
    if (!p)
        return NULL;
    memcpy(p, s, cut);
    memcpy(p + cut, SK_DECIDE_TRUNCATED, mark + 1);
    return p;
}

const char *sk_decide_fmt_time(sk_arena_t *arena, sk_ms_t t)
{
    char buf[40];
    return sk_arena_strdup(arena, sk_ms_format(t, buf, sizeof(buf)));
}

const char *sk_decide_fmt_dur(sk_arena_t *arena, sk_ms_t ms)
{
    if (ms % 3600000 == 0)
        return sk_arena_sprintf(arena, "%" PRId64 "h", ms / 3600000);
    if (ms % 60000 == 0)
        return sk_arena_sprintf(arena, "%" PRId64 "m", ms / 60000);
    return sk_arena_sprintf(arena, "%" PRId64 "ms", ms);
}

bool sk_decide_has_id(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}
