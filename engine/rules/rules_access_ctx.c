/*
 * rules_access_ctx.c — the helpers of the access compile context (ac_t,
 * rules_access.h) that both halves of the access compiler use:
 * rules_access.c (directory, app owners) and rules_request.c (policies and
 * `request:` blocks): error positions and messages, arena copies, and the
 * id checks of directory entries. Every string and struct they allocate
 * goes into the access part's arena; on allocation failure they set c->oom.
 */
#include "rules/rules_access.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Position of the value at a path in file fi. */
sk_pos_t sk_ac_pos(const ac_t *c, size_t fi, const char *fmt, ...)
{
    char path[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return sk_pos_index_at(&c->files[fi].pos, 0, "%s", path);
}

void sk_ac_error(ac_t *c, size_t fi, sk_pos_t at, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (sk_rules_errors_vadd(c->errs, c->files[fi].path, at.line, at.col, fmt, ap) != 0)
        c->oom = 1;
    va_end(ap);
}

/* "unknown <kind> '<ref>' <where> (did you mean '<hint>'?)" */
void sk_ac_unknown(ac_t *c, size_t fi, sk_pos_t at, const char *kind, const char *ref,
                   const char *where, const sk_strmap_t *known)
{
    const char *hint = sk_rules_suggest_map(known, ref);

    if (hint)
        sk_ac_error(c, fi, at, "unknown %s '%s' %s (did you mean '%s'?)", kind, ref, where, hint);
    else
        sk_ac_error(c, fi, at, "unknown %s '%s' %s", kind, ref, where);
}

const char *sk_ac_str(ac_t *c, const char *s)
{
    char *copy = sk_arena_strdup(&c->a->arena, s ? s : "");

    if (!copy)
        c->oom = 1;
    return copy ? copy : "";
}

void *sk_ac_calloc(ac_t *c, size_t n, size_t size)
{
    void *p = sk_arena_calloc(&c->a->arena, n + 1, size);

    if (!p)
        c->oom = 1;
    return p;
}

void sk_ac_put(ac_t *c, sk_strmap_t *m, const char *key, void *v)
{
    if (sk_strmap_put(m, key, v) != 0)
        c->oom = 1;
}

/* A person id is a user id as events carry it, often an e-mail address:
 * like other ids, with '@' and '+' allowed after the first character. */
static int ac_person_id_ok(const char *id)
{
    char buf[65];
    size_t n = strlen(id);

    if (n == 0 || n > 64)
        return 0;
    memcpy(buf, id, n + 1);
    for (size_t i = 1; i < n; i++)
        if (buf[i] == '@' || buf[i] == '+')
            buf[i] = '.';
    return sk_rules_id_syntax_ok(buf);
}

/*
 * Checks the id of entry `path` and that it is the first of its kind.
 * Returns 1 when the entry should be compiled.
 */
int sk_ac_define(ac_t *c, size_t fi, const char *kind, const char *id, const char *path)
{
    sk_pos_t at = sk_ac_pos(c, fi, "%s.id", path);
    char *key;
    ac_origin_t *o;

    if (!id || !*id) {
        sk_ac_error(c, fi, sk_ac_pos(c, fi, "%s", path), "missing required field 'id' in %s", kind);
        return 0;
    }
    if (strcmp(kind, "person") == 0 ? !ac_person_id_ok(id) : !sk_rules_id_syntax_ok(id)) {
        sk_ac_error(c, fi, at,
                    "invalid %s id '%s': use lowercase letters, digits, '_', "
                    "'.'%s and '-', starting with a letter or digit, at most 64 "
                    "characters",
                    kind, id, strcmp(kind, "person") == 0 ? ", '@', '+'" : "");
        return 0;
    }
    key = sk_arena_sprintf(&c->tmp, "%s:%s", kind, id);
    if (!key) {
        c->oom = 1;
        return 0;
    }
    o = sk_strmap_get(&c->origin, key);
    if (o) {
        sk_ac_error(c, fi, at, "duplicate %s '%s' (first defined at %s:%d:%d)", kind, id, o->file,
                    o->pos.line, o->pos.col);
        return 0;
    }
    o = sk_arena_calloc(&c->tmp, 1, sizeof(*o));
    if (!o) {
        c->oom = 1;
        return 0;
    }
    o->file = c->files[fi].path;
    o->pos = at;
    sk_ac_put(c, &c->origin, key, o);
    return 1;
}
