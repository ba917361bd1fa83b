/* journal.c — the notifier's append-only state file (journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/sk.h"
#include "base/strmap.h"

typedef struct task_msgs {
    sk_slack_msg_t *v;
    size_t n, cap;
    int reminders;
} task_msgs_t;

struct sk_slack_journal {
    int fd;
    sk_arena_t arena;  /* keys and strings */
    sk_strmap_t done;  /* key -> (void *)1 */
    sk_strmap_t tasks; /* task -> task_msgs_t* (heap) */
};

static int clean(const char *s)
{
    return s && *s && !strpbrk(s, "\t\n\r");
}

static task_msgs_t *task_of(sk_slack_journal_t *j, const char *task, int create)
{
    task_msgs_t *t = sk_strmap_get(&j->tasks, task);
    char *k;
    if (t || !create)
        return t;
    t = calloc(1, sizeof(*t));
    k = sk_arena_strdup(&j->arena, task);
    if (!t || !k || sk_strmap_put(&j->tasks, k, t) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

/* Applies one line (without its newline) to memory. 0 or -1 (malformed). */
static int apply(sk_slack_journal_t *j, char *line)
{
    char *f[4] = {0};
    size_t n = 0;
    for (char *p = line; p && n < 4; n++) {
        f[n] = p;
        p = strchr(p, '\t');
        if (p)
            *p++ = '\0';
    }
    if (n == 2 && strcmp(f[0], "D") == 0) {
        char *k = sk_arena_strdup(&j->arena, f[1]);
        return k && sk_strmap_put(&j->done, k, (void *)1) == 0 ? 0 : -1;
    }
    if (n == 4 && strcmp(f[0], "M") == 0) {
        task_msgs_t *t = task_of(j, f[1], 1);
        if (!t)
            return -1;
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 4;
            sk_slack_msg_t *v = realloc(t->v, cap * sizeof(*v));
            if (!v)
                return -1;
            t->v = v;
            t->cap = cap;
        }
        t->v[t->n].channel = sk_arena_strdup(&j->arena, f[2]);
        t->v[t->n].ts = sk_arena_strdup(&j->arena, f[3]);
        if (!t->v[t->n].channel || !t->v[t->n].ts)
            return -1;
        t->n++;
        return 0;
    }
    if (n == 3 && strcmp(f[0], "R") == 0) {
        task_msgs_t *t = task_of(j, f[1], 1);
        if (!t)
            return -1;
        t->reminders = atoi(f[2]);
        return 0;
    }
    return -1;
}

/* Appends line + '\n' durably, then applies it. */
static int append(sk_slack_journal_t *j, const char *line)
{
    size_t n = strlen(line);
    char *copy = malloc(n + 2);
    int rc = SK_EIO;
    if (!copy)
        return SK_ENOMEM;
    memcpy(copy, line, n);
    copy[n] = '\n';
    for (size_t off = 0; off < n + 1;) {
        ssize_t w = write(j->fd, copy + off, n + 1 - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out;
        off += (size_t)w;
    }
    if (fsync(j->fd) != 0)
        goto out;
    copy[n] = '\0';
    rc = apply(j, copy) == 0 ? 0 : SK_ENOMEM;
out:
    free(copy);
    return rc;
}

sk_slack_journal_t *sk_slack_journal_open(const char *path, char *err, size_t err_len)
{
    sk_slack_journal_t *j = calloc(1, sizeof(*j));
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t bad = 0;
    if (!j) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    sk_arena_init(&j->arena, 16384);
    sk_strmap_init(&j->done);
    sk_strmap_init(&j->tasks);
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0 || !(f = fdopen(dup(j->fd), "r"))) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        goto fail;
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n') {
            bad++; /* torn last line: its step is simply done again */
            break;
        }
        line[n - 1] = '\0';
        if (apply(j, line) != 0)
            bad++;
    }
    free(line);
    fclose(f);
    (void)bad;
    return j;
fail:
    sk_slack_journal_close(j);
    return NULL;
}

void sk_slack_journal_close(sk_slack_journal_t *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->tasks.cap; i++)
        if (j->tasks.slots[i].key) {
            task_msgs_t *t = j->tasks.slots[i].value;
            free(t->v);
            free(t);
        }
    sk_strmap_fini(&j->tasks);
    sk_strmap_fini(&j->done);
    sk_arena_fini(&j->arena);
    if (j->fd >= 0)
        close(j->fd);
    free(j);
}

int sk_slack_journal_done(const sk_slack_journal_t *j, const char *key)
{
    return sk_strmap_find(&j->done, key, NULL);
}

int sk_slack_journal_mark(sk_slack_journal_t *j, const char *key)
{
    char line[1024];
    if (!clean(key) || strlen(key) > 900)
        return SK_EINVAL;
    snprintf(line, sizeof(line), "D\t%s", key);
    return append(j, line);
}

int sk_slack_journal_add_msg(sk_slack_journal_t *j, const char *task, const char *channel,
                             const char *ts)
{
    char line[1024];
    if (!clean(task) || !clean(channel) || !clean(ts) ||
        (size_t)snprintf(line, sizeof(line), "M\t%s\t%s\t%s", task, channel, ts) >= sizeof(line))
        return SK_EINVAL;
    return append(j, line);
}

size_t sk_slack_journal_msgs(const sk_slack_journal_t *j, const char *task,
                             const sk_slack_msg_t **out)
{
    task_msgs_t *t = sk_strmap_get(&j->tasks, task);
    *out = t ? t->v : NULL;
    return t ? t->n : 0;
}

int sk_slack_journal_reminders(const sk_slack_journal_t *j, const char *task)
{
    task_msgs_t *t = sk_strmap_get(&j->tasks, task);
    return t ? t->reminders : 0;
}

int sk_slack_journal_set_reminders(sk_slack_journal_t *j, const char *task, int n)
{
    char line[512];
    if (!clean(task) || (size_t)snprintf(line, sizeof(line), "R\t%s\t%d", task, n) >= sizeof(line))
        return SK_EINVAL;
    return append(j, line);
}
