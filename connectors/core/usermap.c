/* usermap.c — platform user → directory id (see usermap.h). */
#include "usermap.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/sk.h"

typedef struct entry {
    char *key, *id;
} entry_t;

struct sk_conn_usermap {
    entry_t *v;
    size_t n, cap;
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

void sk_conn_usermap_destroy(sk_conn_usermap_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].id);
    }
    free(m->v);
    free(m);
}

static int add(sk_conn_usermap_t *m, const char *key, const char *id)
{
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        entry_t *n = realloc(m->v, ncap * sizeof(*n));
        if (!n)
            return SK_ENOMEM;
        m->v = n;
        m->cap = ncap;
    }
    m->v[m->n].key = strdup(key);
    m->v[m->n].id = strdup(id);
    if (!m->v[m->n].key || !m->v[m->n].id) {
        free(m->v[m->n].key);
        free(m->v[m->n].id);
        return SK_ENOMEM;
    }
    m->n++;
    return 0;
}

sk_conn_usermap_t *sk_conn_usermap_new(const char *path, char *err, size_t errlen)
{
    sk_conn_usermap_t *m = calloc(1, sizeof(*m));
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    FILE *f = NULL;
    if (!m || !path)
        return m;
    if (!(f = fopen(path, "r"))) {
        snprintf(err, errlen, "cannot read the user map %s: %m", path);
        goto fail;
    }
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash && (hash == line || isspace((unsigned char)hash[-1])))
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        if (s[0] == '-' && s[1] == ' ') /* a YAML list item "- key: id" */
            s += 2;
        char *eq = strchr(s, '=');
        char *colon = strstr(s, ": ");
        char *sep = eq ? eq : colon;
        if (!sep) {
            if (s[strlen(s) - 1] == ':') /* a YAML header line such as "users:" */
                continue;
            snprintf(err, errlen, "%s:%d: expected KEY=ID or KEY: ID, got '%s'", path, lineno, s);
            goto fail;
        }
        *sep = '\0';
        char *key = trim(s), *id = trim(sep + (sep == colon ? 2 : 1));
        if (!*key || !sk_id_valid(id, strlen(id))) {
            snprintf(err, errlen,
                     "%s:%d: '%s' is not a valid user id (1..256 printable "
                     "characters, no spaces)",
                     path, lineno, id);
            goto fail;
        }
        if (add(m, key, id)) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto fail;
        }
    }
    free(line);
    fclose(f);
    return m;
fail:
    free(line);
    if (f)
        fclose(f);
    sk_conn_usermap_destroy(m);
    return NULL;
}

size_t sk_conn_usermap_size(const sk_conn_usermap_t *m)
{
    return m->n;
}

const char *sk_conn_usermap_resolve(const sk_conn_usermap_t *m, const char *platform_id,
                                    const char *email, char *buf, size_t len)
{
    for (size_t i = 0; platform_id && *platform_id && i < m->n; i++)
        if (strcmp(m->v[i].key, platform_id) == 0)
            return snprintf(buf, len, "%s", m->v[i].id), buf;
    for (size_t i = 0; email && *email && i < m->n; i++)
        if (strcasecmp(m->v[i].key, email) == 0)
            return snprintf(buf, len, "%s", m->v[i].id), buf;
    if (!email || !*email)
        return NULL;
    size_t k = 0;
    for (; email[k] && k + 1 < len; k++)
        buf[k] = (char)tolower((unsigned char)email[k]);
    buf[k] = '\0';
    return buf;
}
