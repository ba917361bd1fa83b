/*
 * cli_yaml.h — a YAML file as a tree with line numbers (libyaml's document
 * API), for the CLI's own files (`shiftkey rules test`). Read-only lookups;
 * the document owns every node and string.
 */
#ifndef SK_CLI_YAML_H
#define SK_CLI_YAML_H

#include <stddef.h>
#include <yaml.h>

typedef struct sk_yaml {
    yaml_document_t doc;
    int loaded;
} sk_yaml_t;

/*
 * sk_yaml_load — parses the file at path into y (one document). Returns 0,
 * or -1 with "line:column: problem" (or the OS error) written into err.
 */
int sk_yaml_load(sk_yaml_t *y, const char *path, char *err, size_t err_len);
void sk_yaml_fini(sk_yaml_t *y);

/* The root node; NULL for an empty document. */
yaml_node_t *sk_yaml_root(sk_yaml_t *y);

/* The value of key in mapping m; NULL when m is not a mapping or lacks it. */
yaml_node_t *sk_yaml_get(sk_yaml_t *y, yaml_node_t *m, const char *key);

/* The text of a scalar node; NULL for anything else. */
const char *sk_yaml_str(const yaml_node_t *n);

/* The 1-based line of a node. */
int sk_yaml_line(const yaml_node_t *n);

/* The number of items of a sequence (0 for anything else) and the i-th. */
size_t sk_yaml_len(const yaml_node_t *seq);
yaml_node_t *sk_yaml_at(sk_yaml_t *y, yaml_node_t *seq, size_t i);

/* The number of pairs of a mapping, and the i-th key (a scalar's text, else
 * NULL) and value. */
size_t sk_yaml_pairs(const yaml_node_t *m);
const char *sk_yaml_key_at(sk_yaml_t *y, yaml_node_t *m, size_t i, yaml_node_t **value);

#endif
