/* state.c — the connector's state file and the shift list (see state.h, shift.h). */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shift.h"

#define STATE_MAGIC "# shiftkey connector state v1"
/* letter i of the flags field is bit i of sk_conn_seen_t.flags (state.h) */
static const char FLAG_CHARS[] = "seh";

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, ncap * size);
    if (!nv)
        return SK_ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

int sk_conn_shifts_add(sk_conn_shifts_t *s, const char *id, const char *user, sk_ms_t start_ms,
                       sk_ms_t end_ms, int level, bool cancelled)
{
    sk_conn_shift_t in = {.id = (char *)id, .user = (char *)user, .start_ms = start_ms,
                          .end_ms = end_ms, .level = level, .cancelled = cancelled};
    return sk_conn_shifts_add_ex(s, &in);
}

int sk_conn_shifts_add_ex(sk_conn_shifts_t *s, const sk_conn_shift_t *in)
{
    const char *id = in->id, *user = in->user;
    int level = in->level < 1 ? 1 : in->level;
    if (!id || !user || !sk_id_valid(id, strlen(id)) || !sk_id_valid(user, strlen(user)))
        return SK_EINVAL;
    if (in->start_ms != SK_CONN_START_UNKNOWN && in->end_ms != SK_MS_NONE && in->end_ms <= in->start_ms)
        return SK_EINVAL;
    if (in->series && (strncmp(id, in->series, strlen(in->series)) != 0 || id[strlen(in->series)] != ':'))
        return SK_EINVAL;
    for (size_t i = 0; i < s->n; i++) {
        sk_conn_shift_t *o = &s->v[i];
        if (strcmp(o->id, id) == 0 && strcmp(o->user, user) == 0) {
            if (level < o->level)
                o->level = level;
            o->start_clipped |= in->start_clipped;
            o->end_clipped |= in->end_clipped;
            return 0;
        }
    }
    if (grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v)))
        return SK_ENOMEM;
    sk_conn_shift_t *sh = &s->v[s->n];
    *sh = *in;
    sh->level = level;
    sh->id = strdup(id);
    sh->user = strdup(user);
    sh->series = in->series ? strdup(in->series) : NULL;
    if (!sh->id || !sh->user || (in->series && !sh->series)) {
        free(sh->id);
        free(sh->user);
        free(sh->series);
        return SK_ENOMEM;
    }
    s->n++;
    return 0;
}

void sk_conn_shifts_fini(sk_conn_shifts_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].user);
        free(s->v[i].series);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

int sk_conn_seen_closed(const sk_conn_seen_t *e)
{
    return e->last == SK_SHIFT_ENDED || e->last == SK_SHIFT_CANCELLED;
}

sk_conn_seen_t *sk_conn_state_find(const sk_conn_state_t *st, const char *id, const char *user)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->v[i].id, id) == 0 && strcmp(st->v[i].user, user) == 0)
            return &st->v[i];
    return NULL;
}

int sk_conn_state_add(sk_conn_state_t *st, const sk_conn_seen_t *e)
{
    if (grow((void **)&st->v, &st->cap, st->n, sizeof(*st->v)))
        return SK_ENOMEM;
    sk_conn_seen_t *n = &st->v[st->n];
    *n = *e;
    n->id = strdup(e->id);
    n->user = strdup(e->user);
    if (!n->id || !n->user) {
        free(n->id);
        free(n->user);
        return SK_ENOMEM;
    }
    st->n++;
    return 0;
}

void sk_conn_state_fini(sk_conn_state_t *st)
{
    for (size_t i = 0; i < st->n; i++) {
        free(st->v[i].id);
        free(st->v[i].user);
    }
    free(st->v);
    memset(st, 0, sizeof(*st));
}

int sk_conn_state_copy(sk_conn_state_t *dst, const sk_conn_state_t *src)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < src->n; i++)
        if (sk_conn_state_add(dst, &src->v[i])) {
            sk_conn_state_fini(dst);
            return SK_ENOMEM;
        }
    return 0;
}

static int parse_type(const char *s, sk_shift_event_type_t *out)
{
    for (int t = 0; t < SK_SHIFT_EVENT_TYPE_COUNT; t++)
        if (strcmp(s, sk_shift_event_type_name((sk_shift_event_type_t)t)) == 0) {
            *out = (sk_shift_event_type_t)t;
            return 0;
        }
    return -1;
}

static int parse_ms(const char *s, sk_ms_t *out)
{
    char *end;
    if (strcmp(s, "-") == 0) {
        *out = SK_MS_NONE;
        return 0;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !*s || *end)
        return -1;
    *out = v;
    return 0;
}

/* Parses one data line into e (strings borrowed from line). 0 or -1 with *what set. */
static int parse_line(char *line, sk_conn_seen_t *e, const char **what)
{
    char *f[9];
    size_t n = 0;
    for (char *p = line; n < 9; n++) {
        f[n] = p;
        p = strchr(p, '\t');
        if (!p) {
            n++;
            break;
        }
        *p++ = '\0';
    }
    if (n != 8 && n != 9) {
        *what = "expected 8 or 9 tab-separated fields";
        return -1;
    }
    char *end;
    e->id = f[0];
    e->user = f[1];
    if (!sk_id_valid(e->id, strlen(e->id)) || !sk_id_valid(e->user, strlen(e->user)))
        return *what = "bad shift id or user", -1;
    if (parse_ms(f[2], &e->start_ms) || e->start_ms == SK_MS_NONE)
        return *what = "bad start", -1;
    if (parse_ms(f[3], &e->end_ms))
        return *what = "bad end", -1;
    e->level = (int)strtol(f[4], &end, 10);
    if (*end || e->level < 1)
        return *what = "bad level", -1;
    if (parse_type(f[5], &e->last))
        return *what = "bad event type", -1;
    e->seq = (unsigned)strtoul(f[6], &end, 10);
    if (*end)
        return *what = "bad sequence number", -1;
    if (parse_ms(f[7], &e->updated_ms))
        return *what = "bad update time", -1;
    e->flags = 0;
    const char *fs = n == 9 ? f[8] : "-";
    for (const char *c = strcmp(fs, "-") == 0 ? "" : fs; *c; c++) {
        const char *at = strchr(FLAG_CHARS, *c);
        if (!at)
            return *what = "bad flags (expected letters of 'seh' or '-')", -1;
        e->flags |= 1u << (at - FLAG_CHARS);
    }
    return 0;
}

int sk_conn_state_load(const char *path, const char *source, const char *rotation,
                       sk_conn_state_t *st, char *err, size_t errlen)
{
    sk_conn_state_t tmp = {0};
    char want[1024], *line = NULL;
    size_t cap = 0;
    int rc = 0, lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return SK_EIO;
    }
    snprintf(want, sizeof(want), STATE_MAGIC " source=%s rotation=%s", source, rotation);
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1) {
            if (strncmp(line, STATE_MAGIC, strlen(STATE_MAGIC)) != 0) {
                snprintf(err, errlen, "%s:1: not a shiftkey connector state file", path);
                rc = SK_EPARSE;
                goto out;
            }
            if (strcmp(line, want) != 0) {
                snprintf(err, errlen, "%s:1: the file belongs to another connector ('%s'; this one "
                         "is source=%s rotation=%s): give each connector its own --state",
                         path, line + strlen(STATE_MAGIC) + 1, source, rotation);
                rc = SK_EINVAL;
                goto out;
            }
            continue;
        }
        if (line[0] == '\0' || line[0] == '#')
            continue;
        sk_conn_seen_t e;
        const char *what = "";
        if (parse_line(line, &e, &what)) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, what);
            rc = SK_EPARSE;
            goto out;
        }
        if ((rc = sk_conn_state_add(&tmp, &e)) != 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = SK_EIO;
    }
out:
    free(line);
    fclose(f);
    if (rc)
        sk_conn_state_fini(&tmp);
    else
        *st = tmp;
    return rc;
}

int sk_conn_state_save(const char *path, const char *source, const char *rotation,
                       const sk_conn_state_t *st, char *err, size_t errlen)
{
    char tmp[4096], dirbuf[4096];
    int rc = SK_EIO, fd = -1;
    FILE *f = NULL;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        snprintf(err, errlen, "%s: path too long", path);
        return SK_EIO;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "w")))
        goto fail;
    fd = -1; /* now owned by f */
    fprintf(f, STATE_MAGIC " source=%s rotation=%s\n", source, rotation);
    for (size_t i = 0; i < st->n; i++) {
        const sk_conn_seen_t *e = &st->v[i];
        fprintf(f, "%s\t%s\t%lld\t", e->id, e->user, (long long)e->start_ms);
        if (e->end_ms == SK_MS_NONE)
            fprintf(f, "-");
        else
            fprintf(f, "%lld", (long long)e->end_ms);
        char fl[8] = "";
        size_t k = 0;
        for (size_t b = 0; b < sizeof(FLAG_CHARS) - 1; b++)
            if (e->flags & (1u << b))
                fl[k++] = FLAG_CHARS[b];
        fprintf(f, "\t%d\t%s\t%u\t%lld\t%s\n", e->level, sk_shift_event_type_name(e->last),
                e->seq, (long long)e->updated_ms, k ? fl : "-");
    }
    if (fflush(f) || fsync(fileno(f)))
        goto fail;
    if (fclose(f)) {
        f = NULL;
        goto fail;
    }
    f = NULL;
    if (rename(tmp, path))
        goto fail;
    snprintf(dirbuf, sizeof(dirbuf), "%s", path);
    int dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: the rename is what makes the state current */
        close(dfd);
    }
    return 0;
fail:
    snprintf(err, errlen, "cannot write the state file %s: %s", path, strerror(errno));
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}
