/*
 * common.h — the small pieces every decider of decide/ uses, at the bottom
 * of the folder (it calls nothing above it): saturating time arithmetic,
 * the audit trace buffer, free text bounded to what the decoders accept,
 * and formatting of times and durations. Not a public header: only
 * decide/ includes it. Pure; strings made here belong to the arena given.
 */
#ifndef SK_DECIDE_COMMON_H
#define SK_DECIDE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/sk.h"
#include "base/strbuf.h"
#include "codec/text.h"

/* ---- saturating time arithmetic (times near the ends of int64 come from
 * input and must not wrap into the past or the future) ---- */

static inline sk_ms_t sk_decide_ms_min(sk_ms_t a, sk_ms_t b)
{
    return a < b ? a : b;
}
static inline sk_ms_t sk_decide_ms_max(sk_ms_t a, sk_ms_t b)
{
    return a > b ? a : b;
}

/* a + b for b >= 0, saturating at SK_MS_NONE. */
static inline sk_ms_t sk_decide_ms_add(sk_ms_t a, sk_ms_t b)
{
    return a > SK_MS_NONE - b ? SK_MS_NONE : a + b;
}

/* a - b for b >= 0, saturating at INT64_MIN. */
static inline sk_ms_t sk_decide_ms_sub(sk_ms_t a, sk_ms_t b)
{
    return a < INT64_MIN + b ? INT64_MIN : a - b;
}

/* ---- the audit trace ---- */

#define SK_DECIDE_TRACE_MAX 64

/* The lines of one decision's audit trace; zero-initialised is empty. A
 * line is a plain string (borrowed: an arena string or a literal) or a
 * lazy text (codec/text.h) written only when the audit record is encoded,
 * with its arguments in the decision's arena. */
typedef struct sk_decide_trace {
    sk_text_t lines[SK_DECIDE_TRACE_MAX];
    size_t n;
} sk_decide_trace_t;

/*
 * sk_decide_trace_add — appends a plain line. A NULL line (an allocation
 * that failed) is skipped; past the cap the last slot says "(trace
 * truncated)" and later lines are dropped.
 */
void sk_decide_trace_add(sk_decide_trace_t *t, const char *line);

/* sk_decide_trace_text — appends a text as it is, plain or lazy (a
 * command's reason); an empty one is skipped. The same cap. */
void sk_decide_trace_text(sk_decide_trace_t *t, sk_text_t text);

/*
 * sk_decide_trace_lazy — appends a line that write(b, args) writes when the
 * audit record is encoded; args must live as long as the decision (its
 * arena). NULL args (an allocation that failed) is skipped, like a NULL
 * line; the same cap.
 */
void sk_decide_trace_lazy(sk_decide_trace_t *t, void (*write)(sk_strbuf_t *b, const void *args),
                          const void *args);

/* ---- free text ---- */

/* What a shortened text ends with. */
#define SK_DECIDE_TRUNCATED SK_TEXT_TRUNCATED

/*
 * sk_decide_text_bound — sk_text_bound (codec/text.h): s itself when it has
 * at most SK_TEXT_MAX bytes, else an arena copy cut on a UTF-8 character
 * boundary and ended with SK_DECIDE_TRUNCATED, SK_TEXT_MAX bytes at most.
 * So that every record a decision makes decodes again (decode.c refuses
 * longer text), and the encoder never has to fail on a decision. NULL when
 * s is NULL or the copy cannot be allocated.
 */
const char *sk_decide_text_bound(sk_arena_t *arena, const char *s);

/* ---- formatting and ids ---- */

/* t as sk_ms_format (base/sk.h) writes it, as an arena string. */
const char *sk_decide_fmt_time(sk_arena_t *arena, sk_ms_t t);

/* "8h", "30m" or "1500ms" as an arena string. */
const char *sk_decide_fmt_dur(sk_arena_t *arena, sk_ms_t ms);

/* 1 when id is one of the n ids. */
bool sk_decide_has_id(const char *const *ids, size_t n, const char *id);

#endif
