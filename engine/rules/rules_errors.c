/*
 * rules_errors.c — the error list of a rule-set load (rules.h) and the
 * helpers that make messages useful: sorting into file order and
 * did-you-mean suggestions by edit distance.
 *
 * Format: every error prints as "file:line:column: message", like a
 * compiler. An error about a path as a whole (unreadable file, directory
 * without rule files) has line and column 0 and prints as "path:0:0: ...",
 * so every line has the same shape for tools that parse them.
 */
#include "rules/rules_pos.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sk_rules_errors_init(sk_rules_errors_t *errs)
{
    errs->items = NULL;
    errs->count = 0;
    errs->cap = 0;
}

void sk_rules_errors_fini(sk_rules_errors_t *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->count; i++) {
        free(errs->items[i].file);
        free(errs->items[i].message);
    }
    free(errs->items);
    sk_rules_errors_init(errs);
}

void sk_rules_errors_print(const sk_rules_errors_t *errs, FILE *out)
{
    for (size_t i = 0; i < errs->count; i++) {
        const sk_rules_error_t *e = &errs->items[i];
        fprintf(out, "%s:%d:%d: %s\n", e->file, e->line, e->column, e->message);
    }
}

int sk_rules_errors_vadd(sk_rules_errors_t *errs, const char *file, int line, int col,
                         const char *fmt, va_list ap)
{
    int rc = SK_ENOMEM;
    char *msg = NULL, *fcopy = NULL;
    sk_rules_error_t *e;

    if (vasprintf(&msg, fmt, ap) < 0) {
        msg = NULL;
        goto out;
    }
    fcopy = strdup(file ? file : "(unknown)");
    if (!fcopy)
        goto out;
    if (errs->count == errs->cap) {
        size_t cap = errs->cap ? errs->cap * 2 : 8;
        sk_rules_error_t *items = realloc(errs->items, cap * sizeof(*items));
        if (!items)
            goto out;
        errs->items = items;
        errs->cap = cap;
    }
    e = &errs->items[errs->count++];
    e->file = fcopy;
    e->line = line;
    e->column = col;
    e->message = msg;
    fcopy = msg = NULL; /* now owned by errs */
    rc = 0;
out:
    free(msg);
    free(fcopy);
    return rc;
}

int sk_rules_errors_add(sk_rules_errors_t *errs, const char *file, int line, int col,
                        const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = sk_rules_errors_vadd(errs, file, line, col, fmt, ap);
    va_end(ap);
    return rc;
}

static int errors_before(const sk_rules_error_t *a, const sk_rules_error_t *b)
{
    int c = strcmp(a->file, b->file);
    if (c)
        return c < 0;
    if (a->line != b->line)
        return a->line < b->line;
    return a->column < b->column;
}

void sk_rules_errors_sort(sk_rules_errors_t *errs)
{
    /* insertion sort: stable, and error lists are short */
    for (size_t i = 1; i < errs->count; i++) {
        sk_rules_error_t e = errs->items[i];
        size_t j = i;
        while (j > 0 && errors_before(&e, &errs->items[j - 1])) {
            errs->items[j] = errs->items[j - 1];
            j--;
        }
        errs->items[j] = e;
    }
}

int sk_rules_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[257];

    if (la > 256 || lb > 256)
        return 255;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] > 255 ? 255 : row[lb];
}

const char *sk_rules_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    int best_d = 3;
    int len = (int)strlen(word);

    for (size_t i = 0; i < n; i++) {
        int d;
        if (!cands[i])
            continue;
        d = sk_rules_edit_distance(word, cands[i]);
        if (d < best_d && d < len) {
            best = cands[i];
            best_d = d;
        }
    }
    return best;
}

/* Closest key of map m to word (edit distance <= 2), or NULL. */
const char *sk_rules_suggest_map(const sk_strmap_t *m, const char *word)
{
    const char *best = NULL;
    int best_d = 3;
    int len = (int)strlen(word);

    for (size_t i = 0; i < m->cap; i++) {
        const char *k = m->slots[i].key;
        int d;
        if (!k)
            continue;
        d = sk_rules_edit_distance(word, k);
        if (d > 2 || d >= len)
            continue;
        if (!best || d < best_d || (d == best_d && strcmp(k, best) < 0)) {
            best = k;
            best_d = d;
        }
    }
    return best;
}

/* 1 if id matches [a-z0-9][a-z0-9_.-]* and is at most 64 bytes. */
int sk_rules_id_syntax_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > SK_RULES_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (i > 0)
            ok = ok || ch == '_' || ch == '.' || ch == '-';
        if (!ok)
            return 0;
    }
    return 1;
}
