/*
 * cli_yaml.c — a YAML file as a tree with line numbers (see cli_yaml.h).
 */
#include "cli/cli_yaml.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int sk_yaml_load(sk_yaml_t *y, const char *path, char *err, size_t err_len)
{
    yaml_parser_t p;
    int rc = -1;
    FILE *f = fopen(path, "rb");
    memset(y, 0, sizeof(*y));
    if (!f) {
        snprintf(err, err_len, "%s", strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    yaml_parser_set_input_file(&p, f);
    if (!yaml_parser_load(&p, &y->doc)) {
        snprintf(err, err_len, "%zu:%zu: %s", p.problem_mark.line + 1, p.problem_mark.column + 1,
                 p.problem ? p.problem : "invalid YAML");
        yaml_parser_delete(&p);
        goto out;
    }
    y->loaded = 1;
    yaml_parser_delete(&p);
    rc = 0;
out:
    fclose(f);
    return rc;
}

void sk_yaml_fini(sk_yaml_t *y)
{
    if (y->loaded)
        yaml_document_delete(&y->doc);
    y->loaded = 0;
}

yaml_node_t *sk_yaml_root(sk_yaml_t *y)
{
    return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

const char *sk_yaml_str(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int sk_yaml_line(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 0;
}

size_t sk_yaml_len(const yaml_node_t *seq)
{
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return 0;
    return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

yaml_node_t *sk_yaml_at(sk_yaml_t *y, yaml_node_t *seq, size_t i)
{
    if (i >= sk_yaml_len(seq))
        return NULL;
    return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

size_t sk_yaml_pairs(const yaml_node_t *m)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return 0;
    return (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
}

const char *sk_yaml_key_at(sk_yaml_t *y, yaml_node_t *m, size_t i, yaml_node_t **value)
{
    if (i >= sk_yaml_pairs(m))
        return NULL;
    yaml_node_pair_t *pr = &m->data.mapping.pairs.start[i];
    *value = yaml_document_get_node(&y->doc, pr->value);
    return sk_yaml_str(yaml_document_get_node(&y->doc, pr->key));
}

yaml_node_t *sk_yaml_get(sk_yaml_t *y, yaml_node_t *m, const char *key)
{
    yaml_node_t *v;
    for (size_t i = 0; i < sk_yaml_pairs(m); i++) {
        const char *k = sk_yaml_key_at(y, m, i, &v);
        if (k && strcmp(k, key) == 0)
            return v;
    }
    return NULL;
}
