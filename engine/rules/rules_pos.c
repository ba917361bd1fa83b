/*
 * rules_pos.c — the position index of one YAML file (see rules_pos.h).
 *
 * One pass of libyaml's event parser. A stack of open collections tracks
 * the path of the node being read: a mapping child is "parent.key" (or
 * "key" at the root), a sequence entry is "parent[i]" (0-based). Every node
 * gets an entry with where its key and its value start, 1-based, as a
 * compiler prints them. Only the first document of a stream is indexed
 * (libcyaml loads only that one).
 */
#include "rules/rules_pos.h"

#include <stdio.h>
#include <string.h>

#include <yaml.h>

#define POS_MAX_DEPTH 64

typedef struct pos_frame {
    const char *path;
    int is_map;
    int want_key;    /* mapping: the next node is a key */
    const char *key; /* mapping: the key just read */
    sk_pos_t key_pos;
    size_t index; /* sequence: index of the next entry */
} pos_frame_t;

typedef struct pos_walk {
    sk_pos_index_t *ix;
    pos_frame_t stack[POS_MAX_DEPTH];
    int depth;    /* frames in use */
    int doc_done; /* the first document ended */
} pos_walk_t;

static sk_pos_t pos_from_mark(yaml_mark_t m)
{
    sk_pos_t p = {(int)m.line + 1, (int)m.column + 1};
    return p;
}

/* Records a node with its path; first writer of a path wins. */
static int pos_record(sk_pos_index_t *ix, const char *path, sk_pos_t key, sk_pos_t value,
                      sk_pos_kind_t kind)
{
    sk_pos_entry_t *e;

    if (sk_strmap_find(&ix->map, path, NULL)) {
        path = sk_arena_sprintf(&ix->arena, "%s#dup", path);
        if (!path)
            return SK_ENOMEM;
        if (sk_strmap_find(&ix->map, path, NULL))
            return 0;
    }
    e = sk_arena_calloc(&ix->arena, 1, sizeof(*e));
    if (!e)
        return SK_ENOMEM;
    e->path = path;
    e->key = key;
    e->value = value;
    e->kind = kind;
    return sk_strmap_put(&ix->map, path, e);
}

/*
 * Handles the start of a node (scalar, alias, sequence, mapping). Returns
 * the node's path through *path_out when the node is a value (NULL when it
 * is a mapping key), or NULL with SK_ENOMEM.
 */
static int pos_node(pos_walk_t *w, const yaml_event_t *ev, sk_pos_kind_t kind,
                    const char **path_out)
{
    sk_pos_index_t *ix = w->ix;
    sk_pos_t at = pos_from_mark(ev->start_mark);
    sk_pos_t key_at = at;
    const char *path;

    *path_out = NULL;
    if (kind == SK_POS_ALIAS && ix->first_alias.line == 0)
        ix->first_alias = at;
    if (w->depth == 0) {
        path = "";
    } else {
        pos_frame_t *f = &w->stack[w->depth - 1];
        if (f->is_map && f->want_key) {
            /* a key: remember it; complex keys get the name "?" */
            const char *k = "?";
            if (kind == SK_POS_SCALAR)
                k = (const char *)ev->data.scalar.value;
            f->key = sk_arena_strdup(&ix->arena, k);
            if (!f->key)
                return SK_ENOMEM;
            f->key_pos = at;
            f->want_key = 0;
            if (kind == SK_POS_SCALAR || kind == SK_POS_ALIAS)
                return 0;
            /* a complex key is a collection: index it under "<path>.?" */
            path = sk_arena_sprintf(&ix->arena, "%s%s?", f->path, *f->path ? "." : "");
        } else if (f->is_map) {
            path = sk_arena_sprintf(&ix->arena, "%s%s%s", f->path, *f->path ? "." : "", f->key);
            key_at = f->key_pos;
            f->want_key = 1;
        } else {
            path = sk_arena_sprintf(&ix->arena, "%s[%zu]", f->path, f->index++);
        }
        if (!path)
            return SK_ENOMEM;
    }
    *path_out = path;
    return pos_record(ix, path, key_at, at, kind);
}

static int pos_push(pos_walk_t *w, const char *path, int is_map)
{
    pos_frame_t *f;

    if (w->depth >= POS_MAX_DEPTH)
        return SK_EPARSE;
    f = &w->stack[w->depth++];
    memset(f, 0, sizeof(*f));
    f->path = path ? path : "?";
    f->is_map = is_map;
    f->want_key = is_map;
    return 0;
}

/* Feeds one event to the walk. Returns 0, SK_ENOMEM or SK_EPARSE. */
static int pos_event(pos_walk_t *w, const yaml_event_t *ev)
{
    const char *path = NULL;
    int rc = 0;

    if (w->doc_done) {
        if (ev->type == YAML_DOCUMENT_START_EVENT && w->ix->second_doc.line == 0)
            w->ix->second_doc = pos_from_mark(ev->start_mark);
        return 0;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: rc = pos_node(w, ev, SK_POS_SCALAR, &path); break;
    case YAML_ALIAS_EVENT: rc = pos_node(w, ev, SK_POS_ALIAS, &path); break;
    case YAML_SEQUENCE_START_EVENT:
        rc = pos_node(w, ev, SK_POS_SEQUENCE, &path);
        if (!rc)
            rc = pos_push(w, path, 0);
        break;
    case YAML_MAPPING_START_EVENT:
        rc = pos_node(w, ev, SK_POS_MAPPING, &path);
        if (!rc)
            rc = pos_push(w, path, 1);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (w->depth > 0)
            w->depth--;
        break;
    case YAML_DOCUMENT_END_EVENT: w->doc_done = 1; break;
    default: break;
    }
    return rc;
}

int sk_pos_index_build(sk_pos_index_t *ix, const unsigned char *buf, size_t len)
{
    int rc = 0;
    yaml_parser_t parser;
    pos_walk_t w;
    int done = 0;

    sk_arena_init(&ix->arena, 16384);
    sk_strmap_init(&ix->map);
    ix->err_pos.line = ix->err_pos.col = 0;
    ix->first_alias = ix->err_pos;
    ix->second_doc = ix->err_pos;
    ix->err_msg[0] = '\0';
    memset(&w, 0, sizeof(w));
    w.ix = ix;
    if (!yaml_parser_initialize(&parser)) {
        rc = SK_ENOMEM;
        goto out;
    }
    yaml_parser_set_input_string(&parser, buf, len);
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            const char *problem = parser.problem ? parser.problem : "error";
            ix->err_pos = pos_from_mark(parser.problem_mark);
            if (parser.context)
                snprintf(ix->err_msg, sizeof(ix->err_msg),
                         "YAML syntax error: %s %s (started at %d:%d)", problem, parser.context,
                         (int)parser.context_mark.line + 1, (int)parser.context_mark.column + 1);
            else
                snprintf(ix->err_msg, sizeof(ix->err_msg), "YAML syntax error: %s", problem);
            rc = SK_EPARSE;
            break;
        }
        rc = pos_event(&w, &ev);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (rc == SK_EPARSE) {
            snprintf(ix->err_msg, sizeof(ix->err_msg), "YAML nesting deeper than %d levels",
                     POS_MAX_DEPTH);
            break;
        }
        if (rc)
            break;
    }
    yaml_parser_delete(&parser);
out:
    return rc;
}

const sk_pos_entry_t *sk_pos_index_get(const sk_pos_index_t *ix, const char *path)
{
    return sk_strmap_get(&ix->map, path);
}

sk_pos_t sk_pos_index_at(const sk_pos_index_t *ix, int want_key, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    const sk_pos_entry_t *e;
    sk_pos_t none = {0, 0};

    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    e = sk_pos_index_get(ix, path);
    if (!e)
        return none;
    return want_key ? e->key : e->value;
}

void sk_pos_index_fini(sk_pos_index_t *ix)
{
    sk_strmap_fini(&ix->map);
    sk_arena_fini(&ix->arena);
}
