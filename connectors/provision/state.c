/*
 * state.c — the provisioner's durable record (see prov.h): what it granted
 * and until when, and which command ids it answered for good. A text file,
 * one tab-separated line per entry:
 *
 *   shiftkey-provision 1 <provisioner>                 first line
 *   G <user> <app/ent> <expires_at ms> <command id> <member>
 *   D <command id> <result> <at ms>
 *
 * Replaced atomically (temporary file, fsync, rename, fsync of the folder).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prov.h"

#define STATE_MAGIC "shiftkey-provision\t1\t"

static void grant_free(sk_prov_grant_t *g)
{
    free(g->user);
    free(g->ent);
    free(g->member);
}

void sk_prov_state_fini(sk_prov_state_t *st)
{
    for (size_t i = 0; i < st->n_grants; i++)
        grant_free(&st->grants[i]);
    free(st->grants);
    free(st->done);
    free(st->path);
    free(st->provisioner);
    memset(st, 0, sizeof(*st));
}

sk_prov_grant_t *sk_prov_state_grant(sk_prov_state_t *st, const char *user, const char *ent)
{
    for (size_t i = 0; i < st->n_grants; i++)
        if (strcmp(st->grants[i].user, user) == 0 && strcmp(st->grants[i].ent, ent) == 0)
            return &st->grants[i];
    return NULL;
}

int sk_prov_state_set_grant(sk_prov_state_t *st, const char *user, const char *ent,
                            const char *member, const char *command_id, sk_ms_t expires_at_ms)
{
    sk_prov_grant_t *g = sk_prov_state_grant(st, user, ent);
    char *m = strdup(member ? member : "");
    if (!m)
        return SK_ENOMEM;
    if (!g) {
        if (st->n_grants == st->cap_grants) {
            size_t cap = st->cap_grants ? st->cap_grants * 2 : 16;
            sk_prov_grant_t *v = realloc(st->grants, cap * sizeof(*v));
            if (!v)
                goto nomem;
            st->grants = v;
            st->cap_grants = cap;
        }
        g = &st->grants[st->n_grants];
        memset(g, 0, sizeof(*g));
        g->user = strdup(user);
        g->ent = strdup(ent);
        if (!g->user || !g->ent) {
            grant_free(g);
            goto nomem;
        }
        st->n_grants++;
    }
    free(g->member);
    g->member = m;
    snprintf(g->command_id, sizeof(g->command_id), "%s", command_id);
    g->expires_at_ms = expires_at_ms;
    g->retry_at_ms = 0;
    g->missing_logged = false;
    return 0;
nomem:
    free(m);
    return SK_ENOMEM;
}

void sk_prov_state_drop_grant(sk_prov_state_t *st, const char *user, const char *ent)
{
    sk_prov_grant_t *g = sk_prov_state_grant(st, user, ent);
    if (!g)
        return;
    grant_free(g);
    size_t i = (size_t)(g - st->grants);
    memmove(g, g + 1, (st->n_grants - i - 1) * sizeof(*g));
    st->n_grants--;
}

const sk_prov_done_t *sk_prov_state_done(const sk_prov_state_t *st, const char *command_id)
{
    for (size_t i = 0; i < st->n_done; i++)
        if (strcmp(st->done[i].command_id, command_id) == 0)
            return &st->done[i];
    return NULL;
}

int sk_prov_state_add_done(sk_prov_state_t *st, const char *command_id,
                           sk_provisioning_status_t result, sk_ms_t at_ms)
{
    if (st->n_done == st->cap_done) {
        size_t cap = st->cap_done ? st->cap_done * 2 : 64;
        sk_prov_done_t *v = realloc(st->done, cap * sizeof(*v));
        if (!v)
            return SK_ENOMEM;
        st->done = v;
        st->cap_done = cap;
    }
    sk_prov_done_t *d = &st->done[st->n_done++];
    snprintf(d->command_id, sizeof(d->command_id), "%s", command_id);
    d->result = result;
    d->at_ms = at_ms;
    return 0;
}

/* Splits s at tabs into at most max fields; returns how many. */
static int split(char *s, char **f, int max)
{
    int n = 0;
    while (n < max) {
        f[n++] = s;
        char *t = strchr(s, '\t');
        if (!t)
            break;
        *t = '\0';
        s = t + 1;
    }
    return n;
}

static int parse_entry(sk_prov_state_t *st, char *line)
{
    char *f[7];
    char *end;
    int n = split(line, f, 7);
    if (n == 6 && strcmp(f[0], "G") == 0 && strlen(f[4]) == 32) {
        long long exp = strtoll(f[3], &end, 10);
        if (*end)
            return -1;
        return sk_prov_state_set_grant(st, f[1], f[2], f[5], f[4], exp) ? -1 : 0;
    }
    if (n == 4 && strcmp(f[0], "D") == 0 && strlen(f[1]) == 32) {
        long r = strtol(f[2], &end, 10);
        long long at;
        if (*end || r < 0 || r >= SK_PROV_STATUS_COUNT)
            return -1;
        at = strtoll(f[3], &end, 10);
        if (*end)
            return -1;
        return sk_prov_state_add_done(st, f[1], (sk_provisioning_status_t)r, at) ? -1 : 0;
    }
    return -1;
}

int sk_prov_state_load(sk_prov_state_t *st, const char *path, const char *provisioner)
{
    FILE *f;
    char line[8192];
    int lineno = 0, rc = -1;
    memset(st, 0, sizeof(*st));
    st->path = strdup(path);
    st->provisioner = strdup(provisioner);
    if (!st->path || !st->provisioner)
        goto out;
    f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "%s: cannot read the state file: %s\n", path, strerror(errno));
        goto out;
    }
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (lineno == 1) {
            size_t m = strlen(STATE_MAGIC);
            if (strncmp(line, STATE_MAGIC, m) != 0 || strcmp(line + m, provisioner) != 0) {
                fprintf(stderr,
                        "%s:1: not the state file of provisioner '%s' (give each "
                        "provisioner its own)\n",
                        path, provisioner);
                goto close;
            }
            continue;
        }
        if (parse_entry(st, line) != 0) {
            fprintf(stderr, "%s:%d: malformed line\n", path, lineno);
            goto close;
        }
    }
    rc = 0;
close:
    fclose(f);
out:
    if (rc != 0)
        sk_prov_state_fini(st);
    return rc;
}

int sk_prov_state_save(sk_prov_state_t *st, sk_ms_t now)
{
    char tmp[4096], dirbuf[4096];
    int fd = -1;
    FILE *f = NULL;
    size_t k = 0;
    for (size_t i = 0; i < st->n_done; i++)
        if (now - st->done[i].at_ms <= SK_PROV_DONE_KEEP_MS)
            st->done[k++] = st->done[i];
    st->n_done = k;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", st->path) >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        goto fail;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "w")))
        goto fail;
    fd = -1; /* now owned by f */
    fprintf(f, STATE_MAGIC "%s\n", st->provisioner);
    for (size_t i = 0; i < st->n_grants; i++) {
        const sk_prov_grant_t *g = &st->grants[i];
        fprintf(f, "G\t%s\t%s\t%lld\t%s\t%s\n", g->user, g->ent, (long long)g->expires_at_ms,
                g->command_id, g->member);
    }
    for (size_t i = 0; i < st->n_done; i++)
        fprintf(f, "D\t%s\t%d\t%lld\n", st->done[i].command_id, (int)st->done[i].result,
                (long long)st->done[i].at_ms);
    if (fflush(f) || fsync(fileno(f)))
        goto fail;
    if (fclose(f)) {
        f = NULL;
        goto fail;
    }
    f = NULL;
    if (rename(tmp, st->path))
        goto fail;
    snprintf(dirbuf, sizeof(dirbuf), "%s", st->path);
    int dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: the rename is what makes the state current */
        close(dfd);
    }
    return 0;
fail:
    fprintf(stderr, "cannot write the state file %s: %s\n", st->path, strerror(errno));
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return SK_EIO;
}
