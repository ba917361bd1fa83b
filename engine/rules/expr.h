/*
 * expr.h — condition expressions of request policies (rules/README.md,
 * "Condition expressions"). A small recursive-descent parser compiles the
 * text once, at rule load, into an immutable tree; evaluation is pure: it
 * reads only the tree and the context the caller passes, does no I/O and
 * allocates nothing.
 *
 * Grammar (whitespace between tokens is ignored):
 *
 *   expr    := and ( "||" and )*
 *   and     := unary ( "&&" unary )*
 *   unary   := "!" unary | primary
 *   primary := "(" expr ")"
 *            | "emergency" | "true" | "false"
 *            | "duration" cmp DURATION          e.g. duration <= 4h
 *            | "requester" "." "on_call"  "(" STRING ")"
 *            | "requester" "." "in_group" "(" STRING ")"
 *   cmp     := "<" | "<=" | ">" | ">=" | "==" | "!="
 *   STRING  := a double-quoted string without escapes
 *   DURATION:= what sk_duration_parse() accepts: 90s, 15m, 4h, 1h30m, 7d
 *
 * Ownership: sk_expr_compile() returns a tree the caller owns and frees
 * with sk_expr_destroy(); names reported by sk_expr_refs() are borrowed
 * from the tree.
 */
#ifndef SK_EXPR_H
#define SK_EXPR_H

#include <stddef.h>

#include "base/sk.h"

typedef struct sk_expr sk_expr_t;

/* Where and why a compile failed. `offset` is the 0-based byte offset in
 * the expression text where the problem starts (the end of the text for
 * "unexpected end"). */
typedef struct sk_expr_error {
    size_t offset;
    char message[160];
} sk_expr_error_t;

/*
 * What an evaluation may ask about the request. The callbacks answer about
 * the requester at the time of the request; they must be pure functions of
 * their arguments and `user` (no I/O: the caller has loaded what they need).
 * A NULL callback answers 0 (false).
 */
typedef struct sk_expr_ctx {
    void *user;
    int (*on_call)(void *user, const char *rotation_id);
    int (*in_group)(void *user, const char *group_id);
    sk_ms_t duration_ms; /* the requested duration */
    int emergency;       /* 1 for an emergency request */
} sk_expr_ctx_t;

/*
 * sk_expr_compile — parses text into a tree. Returns the tree, or NULL with
 * *err filled (a parse error, or "out of memory" at offset 0). err must not
 * be NULL. Nesting deeper than 64 levels is a parse error.
 */
sk_expr_t *sk_expr_compile(const char *text, sk_expr_error_t *err);

void sk_expr_destroy(sk_expr_t *e);

/* sk_expr_eval — 1 when e holds in ctx, else 0. e and ctx must not be NULL. */
int sk_expr_eval(const sk_expr_t *e, const sk_expr_ctx_t *ctx);

/* What a name in an expression refers to. */
typedef enum sk_expr_ref_kind {
    SK_EXPR_REF_ROTATION = 1, /* requester.on_call("<name>") */
    SK_EXPR_REF_GROUP         /* requester.in_group("<name>") */
} sk_expr_ref_kind_t;

/*
 * sk_expr_refs — calls fn for every rotation and group name in e, in text
 * order, with the 0-based offset of the string literal (its opening quote)
 * in the text. Used by the rules loader to validate names. name is
 * borrowed from e.
 */
void sk_expr_refs(const sk_expr_t *e,
                  void (*fn)(void *user, sk_expr_ref_kind_t kind, const char *name, size_t offset),
                  void *user);

#endif
