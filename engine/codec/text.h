/*
 * text.h — a line of free text that is written only when it is read. The
 * deciders describe every decision in an audit trace (state.h, decide.h),
 * and writing those lines was most of a decision's cost, while most
 * decisions are only ever encoded once, and some (replay, rules test)
 * never: so a trace line is kept as a function that writes it and its
 * arguments, and the encoder writes it (sk_text_render). A plain string is
 * a text too.
 *
 * Ownership: `args` is borrowed; whoever makes a lazy text keeps the
 * arguments alive as long as the text (the deciders put them in the
 * decision's arena). sk_text_render's result belongs to the arena given.
 */
#ifndef SK_TEXT_H
#define SK_TEXT_H

#include "base/arena.h"
#include "base/strbuf.h"

/* Longest free text a record may carry (a reason, a message, a comment,
 * resource, permission, topic), in bytes: the decoders refuse longer ones
 * (decode.c), so whatever makes a record bounds its text to this. */
#define SK_TEXT_MAX 4096

/* What a text cut to SK_TEXT_MAX ends with. */
#define SK_TEXT_TRUNCATED " [truncated]"

typedef struct sk_text {
    const char *s; /* the text, when it is a plain string; else NULL */
    /* appends the text to b (pure: the same args always write the same) */
    void (*write)(sk_strbuf_t *b, const void *args);
    const void *args; /* write's arguments (borrowed) */
} sk_text_t;

/* A plain string as a text (s borrowed). */
static inline sk_text_t sk_text_plain(const char *s)
{
    return (sk_text_t){s, NULL, NULL};
}

/* Appends the text to b, unbounded (the caller bounds what it makes of
 * it, e.g. a trace line holding the text is cut when it is rendered). */
static inline void sk_text_append(sk_strbuf_t *b, const sk_text_t *t)
{
    if (t->s)
        sk_strbuf_str(b, t->s);
    else if (t->write)
        t->write(b, t->args);
}

/*
 * sk_text_render — the text as a string of at most SK_TEXT_MAX bytes: the
 * plain string itself when short enough, else written (or copied) into
 * `arena` and, when longer, cut on a UTF-8 character boundary and ended
 * with SK_TEXT_TRUNCATED. "" for an empty text (neither s nor write); NULL
 * when an allocation fails.
 */
const char *sk_text_render(const sk_text_t *t, sk_arena_t *arena);

/*
 * sk_text_bound — s itself when it has at most SK_TEXT_MAX bytes, else an
 * arena copy cut as sk_text_render cuts. NULL when s is NULL or the copy
 * cannot be allocated.
 */
const char *sk_text_bound(sk_arena_t *arena, const char *s);

#endif
