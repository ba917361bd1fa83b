/*
 * expr.c — condition expressions: a hand-written lexer and recursive-descent
 * parser building a tree of nodes (expr.h), and its pure evaluation.
 *
 * Every node is malloc'd separately and freed by sk_expr_destroy(); the
 * parser frees what it built when it fails, so a failed compile leaks
 * nothing.
 */
#include "rules/expr.h"
#include "base/duration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPR_DEPTH_MAX 64
#define EXPR_NAME_MAX  128

typedef enum expr_op {
    EX_TRUE = 1,
    EX_FALSE,
    EX_EMERGENCY,
    EX_NOT,
    EX_AND,
    EX_OR,
    EX_ON_CALL,
    EX_IN_GROUP,
    EX_DURATION
} expr_op_t;

typedef enum expr_cmp { CMP_LT = 1, CMP_LE, CMP_GT, CMP_GE, CMP_EQ, CMP_NE } expr_cmp_t;

struct sk_expr {
    expr_op_t op;
    sk_expr_t *a, *b;   /* operands of NOT (a), AND, OR */
    char *name;         /* ON_CALL, IN_GROUP */
    size_t name_offset; /* offset of the string literal */
    expr_cmp_t cmp;     /* DURATION */
    sk_ms_t ms;         /* DURATION */
};

typedef struct expr_parser {
    const char *text;
    size_t pos;
    int depth;
    sk_expr_error_t *err;
    int failed;
} expr_parser_t;

/* Records the first error only. */
static void ex_fail(expr_parser_t *p, size_t at, const char *fmt, const char *arg)
{
    if (p->failed)
        return;
    p->failed = 1;
    p->err->offset = at;
    snprintf(p->err->message, sizeof(p->err->message), fmt, arg ? arg : "");
}

static void ex_skip_ws(expr_parser_t *p)
{
    while (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' || p->text[p->pos] == '\n' ||
           p->text[p->pos] == '\r')
        p->pos++;
}

static int ex_is_word(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* Reads a word ([A-Za-z0-9_]+) into buf; returns its length (0: none). */
static size_t ex_word(expr_parser_t *p, char *buf, size_t len)
{
    size_t n = 0;

    ex_skip_ws(p);
    while (ex_is_word(p->text[p->pos + n]))
        n++;
    if (n >= len)
        n = len - 1;
    memcpy(buf, p->text + p->pos, n);
    buf[n] = '\0';
    return n;
}

/* Consumes the punctuation tok if it comes next. */
static int ex_accept(expr_parser_t *p, const char *tok)
{
    size_t n = strlen(tok);

    ex_skip_ws(p);
    if (strncmp(p->text + p->pos, tok, n) != 0)
        return 0;
    p->pos += n;
    return 1;
}

/* Describes what is at the current position, for "expected X, got Y". */
static const char *ex_here(const expr_parser_t *p, char *buf, size_t len)
{
    const char *s = p->text + p->pos;
    size_t n = 0;

    if (!*s)
        return "end of expression";
    if (ex_is_word(*s)) {
        while (ex_is_word(s[n]))
            n++;
    } else {
        n = 1;
    }
    snprintf(buf, len, "'%.*s'", (int)(n > 40 ? 40 : n), s);
    return buf;
}

static sk_expr_t *ex_node(expr_parser_t *p, expr_op_t op)
{
    sk_expr_t *e = calloc(1, sizeof(*e));

    if (!e)
        ex_fail(p, 0, "out of memory%s", NULL);
    else
        e->op = op;
    return e;
}

static sk_expr_t *ex_or(expr_parser_t *p);

/* requester.on_call("x") / requester.in_group("x"), after "requester". */
static sk_expr_t *ex_requester(expr_parser_t *p)
{
    char fn[EXPR_NAME_MAX], here[64];
    size_t at, start;
    expr_op_t op;
    sk_expr_t *e;

    if (!ex_accept(p, ".")) {
        ex_fail(p, p->pos, "expected '.' after 'requester', got %s",
                ex_here(p, here, sizeof(here)));
        return NULL;
    }
    ex_skip_ws(p);
    at = p->pos;
    p->pos += ex_word(p, fn, sizeof(fn));
    if (strcmp(fn, "on_call") == 0) {
        op = EX_ON_CALL;
    } else if (strcmp(fn, "in_group") == 0) {
        op = EX_IN_GROUP;
    } else {
        ex_fail(p, at,
                "unknown function 'requester.%.40s' (expected on_call or "
                "in_group)",
                fn);
        return NULL;
    }
    if (!ex_accept(p, "(")) {
        ex_fail(p, p->pos, "expected '(', got %s", ex_here(p, here, sizeof(here)));
        return NULL;
    }
    ex_skip_ws(p);
    start = p->pos;
    if (p->text[start] != '"') {
        ex_fail(p, start, "expected a quoted name, got %s", ex_here(p, here, sizeof(here)));
        return NULL;
    }
    p->pos++;
    while (p->text[p->pos] && p->text[p->pos] != '"')
        p->pos++;
    if (!p->text[p->pos]) {
        ex_fail(p, start, "unterminated string%s", NULL);
        return NULL;
    }
    if (p->pos == start + 1) {
        ex_fail(p, start, "empty name%s", NULL);
        return NULL;
    }
    e = ex_node(p, op);
    if (!e)
        return NULL;
    e->name_offset = start;
    e->name = strndup(p->text + start + 1, p->pos - start - 1);
    p->pos++; /* closing quote */
    if (!e->name) {
        ex_fail(p, 0, "out of memory%s", NULL);
    } else if (!ex_accept(p, ")")) {
        ex_fail(p, p->pos, "expected ')', got %s", ex_here(p, here, sizeof(here)));
    }
    if (p->failed) {
        sk_expr_destroy(e);
        return NULL;
    }
    return e;
}

/* duration <cmp> <DURATION>, after "duration". */
static sk_expr_t *ex_duration(expr_parser_t *p)
{
    static const struct {
        const char *tok;
        expr_cmp_t cmp;
    } ops[] = {{"<=", CMP_LE}, {">=", CMP_GE}, {"==", CMP_EQ},
               {"!=", CMP_NE}, {"<", CMP_LT},  {">", CMP_GT}};
    char lit[EXPR_NAME_MAX], here[64];
    expr_cmp_t cmp = 0;
    sk_ms_t ms;
    size_t at;
    sk_expr_t *e;

    for (size_t i = 0; i < SK_ARRAY_LEN(ops) && !cmp; i++)
        if (ex_accept(p, ops[i].tok))
            cmp = ops[i].cmp;
    if (!cmp) {
        ex_fail(p, p->pos,
                "expected a comparison (< <= > >= == !=) after "
                "'duration', got %s",
                ex_here(p, here, sizeof(here)));
        return NULL;
    }
    ex_skip_ws(p);
    at = p->pos;
    p->pos += ex_word(p, lit, sizeof(lit));
    if (!lit[0]) {
        ex_fail(p, at, "expected a duration (90s, 15m, 4h, 1h30m), got %s",
                ex_here(p, here, sizeof(here)));
        return NULL;
    }
    if (sk_duration_parse(lit, &ms) != 0) {
        ex_fail(p, at,
                "bad duration '%.40s': use a number and a unit: 90s, 15m, "
                "4h, 7d",
                lit);
        return NULL;
    }
    e = ex_node(p, EX_DURATION);
    if (e) {
        e->cmp = cmp;
        e->ms = ms;
    }
    return e;
}

static sk_expr_t *ex_primary(expr_parser_t *p)
{
    char w[EXPR_NAME_MAX], here[64];
    size_t at;

    ex_skip_ws(p);
    at = p->pos;
    if (ex_accept(p, "(")) {
        sk_expr_t *e = ex_or(p);
        if (e && !ex_accept(p, ")")) {
            ex_fail(p, p->pos, "expected ')', got %s", ex_here(p, here, sizeof(here)));
            sk_expr_destroy(e);
            return NULL;
        }
        return e;
    }
    if (!ex_is_word(p->text[at])) {
        ex_fail(p, at, "expected a condition, got %s", ex_here(p, here, sizeof(here)));
        return NULL;
    }
    p->pos += ex_word(p, w, sizeof(w));
    if (strcmp(w, "requester") == 0)
        return ex_requester(p);
    if (strcmp(w, "duration") == 0)
        return ex_duration(p);
    if (strcmp(w, "emergency") == 0)
        return ex_node(p, EX_EMERGENCY);
    if (strcmp(w, "true") == 0)
        return ex_node(p, EX_TRUE);
    if (strcmp(w, "false") == 0)
        return ex_node(p, EX_FALSE);
    ex_fail(p, at,
            "unknown name '%.40s' (expected requester.on_call, "
            "requester.in_group, duration, emergency, true or false)",
            w);
    return NULL;
}

static sk_expr_t *ex_unary(expr_parser_t *p)
{
    sk_expr_t *e, *inner;

    ex_skip_ws(p);
    if (p->text[p->pos] == '!' && p->text[p->pos + 1] != '=') {
        p->pos++;
        if (++p->depth > EXPR_DEPTH_MAX) {
            ex_fail(p, p->pos, "expression nested too deeply%s", NULL);
            return NULL;
        }
        inner = ex_unary(p);
        p->depth--;
        if (!inner)
            return NULL;
        e = ex_node(p, EX_NOT);
        if (!e) {
            sk_expr_destroy(inner);
            return NULL;
        }
        e->a = inner;
        return e;
    }
    if (p->text[p->pos] == '(' && ++p->depth > EXPR_DEPTH_MAX) {
        ex_fail(p, p->pos, "expression nested too deeply%s", NULL);
        return NULL;
    }
    if (p->text[p->pos] == '(') {
        e = ex_primary(p);
        p->depth--;
        return e;
    }
    return ex_primary(p);
}

/* One left-associative binary level: sub (tok sub)*. */
static sk_expr_t *ex_binary(expr_parser_t *p, const char *tok, expr_op_t op,
                            sk_expr_t *(*sub)(expr_parser_t *))
{
    sk_expr_t *left = sub(p);

    while (left && ex_accept(p, tok)) {
        sk_expr_t *right = sub(p);
        sk_expr_t *n = right ? ex_node(p, op) : NULL;
        if (!n) {
            sk_expr_destroy(left);
            sk_expr_destroy(right);
            return NULL;
        }
        n->a = left;
        n->b = right;
        left = n;
    }
    return left;
}

static sk_expr_t *ex_and(expr_parser_t *p)
{
    return ex_binary(p, "&&", EX_AND, ex_unary);
}

static sk_expr_t *ex_or(expr_parser_t *p)
{
    return ex_binary(p, "||", EX_OR, ex_and);
}

sk_expr_t *sk_expr_compile(const char *text, sk_expr_error_t *err)
{
    expr_parser_t p = {text ? text : "", 0, 0, err, 0};
    sk_expr_t *e;
    char here[64];

    err->offset = 0;
    err->message[0] = '\0';
    e = ex_or(&p);
    ex_skip_ws(&p);
    if (e && p.text[p.pos]) {
        ex_fail(&p, p.pos, "expected '&&', '||' or the end, got %s",
                ex_here(&p, here, sizeof(here)));
        sk_expr_destroy(e);
        e = NULL;
    }
    if (!e && !p.failed)
        ex_fail(&p, 0, "out of memory%s", NULL);
    return e;
}

void sk_expr_destroy(sk_expr_t *e)
{
    if (!e)
        return;
    sk_expr_destroy(e->a);
    sk_expr_destroy(e->b);
    free(e->name);
    free(e);
}

static int ex_compare(expr_cmp_t cmp, sk_ms_t l, sk_ms_t r)
{
    switch (cmp) {
    case CMP_LT: return l < r;
    case CMP_LE: return l <= r;
    case CMP_GT: return l > r;
    case CMP_GE: return l >= r;
    case CMP_EQ: return l == r;
    case CMP_NE: return l != r;
    }
    return 0;
}

int sk_expr_eval(const sk_expr_t *e, const sk_expr_ctx_t *ctx)
{
    switch (e->op) {
    case EX_TRUE: return 1;
    case EX_FALSE: return 0;
    case EX_EMERGENCY: return ctx->emergency != 0;
    case EX_NOT: return !sk_expr_eval(e->a, ctx);
    case EX_AND: return sk_expr_eval(e->a, ctx) && sk_expr_eval(e->b, ctx);
    case EX_OR: return sk_expr_eval(e->a, ctx) || sk_expr_eval(e->b, ctx);
    case EX_ON_CALL: return ctx->on_call ? ctx->on_call(ctx->user, e->name) != 0 : 0;
    case EX_IN_GROUP: return ctx->in_group ? ctx->in_group(ctx->user, e->name) != 0 : 0;
    case EX_DURATION: return ex_compare(e->cmp, ctx->duration_ms, e->ms);
    }
    return 0;
}

void sk_expr_refs(const sk_expr_t *e,
                  void (*fn)(void *user, sk_expr_ref_kind_t kind, const char *name, size_t offset),
                  void *user)
{
    if (!e)
        return;
    sk_expr_refs(e->a, fn, user);
    if (e->op == EX_ON_CALL)
        fn(user, SK_EXPR_REF_ROTATION, e->name, e->name_offset);
    else if (e->op == EX_IN_GROUP)
        fn(user, SK_EXPR_REF_GROUP, e->name, e->name_offset);
    sk_expr_refs(e->b, fn, user);
}
