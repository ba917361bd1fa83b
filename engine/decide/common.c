/* common.c — the small pieces every decider uses (see common.h). */
#include "decide/common.h"

#include <inttypes.h>
#include <string.h>

#include "codec/event.h"

/* The next free slot, or NULL past the cap (where the last slot says so). */
static sk_text_t *trace_slot(sk_decide_trace_t *t)
{
    if (t->n < SK_DECIDE_TRACE_MAX - 1)
        return &t->lines[t->n++];
    if (t->n == SK_DECIDE_TRACE_MAX - 1)
        t->lines[t->n++] = sk_text_plain("(trace truncated)");
    return NULL;
}

void sk_decide_trace_add(sk_decide_trace_t *t, const char *line)
{
    sk_text_t *slot = line ? trace_slot(t) : NULL;
    if (slot)
        *slot = sk_text_plain(line);
}

void sk_decide_trace_text(sk_decide_trace_t *t, sk_text_t text)
{
    sk_text_t *slot = text.s || text.write ? trace_slot(t) : NULL;
    if (slot)
        *slot = text;
}

void sk_decide_trace_lazy(sk_decide_trace_t *t, void (*write)(sk_strbuf_t *b, const void *args),
                          const void *args)
{
    sk_text_t *slot = args ? trace_slot(t) : NULL;
    if (slot)
        *slot = (sk_text_t){NULL, write, args};
}

const char *sk_decide_text_bound(sk_arena_t *arena, const char *s)
{
    return sk_text_bound(arena, s);
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
