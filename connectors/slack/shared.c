/* shared.c — directory, secrets and the task table (shared.h). */
#include "shared.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the directory ---- */

const char *sk_slack_dir_slack_id(const sk_person_t *p)
{
    for (size_t i = 0; p && i < p->n_platform_ids; i++)
        if (strncmp(p->platform_ids[i], "slack:", 6) == 0 && p->platform_ids[i][6])
            return p->platform_ids[i] + 6;
    return NULL;
}

const sk_person_t *sk_slack_dir_by_slack_id(const sk_rules_t *rules, const char *user_id)
{
    size_t n = sk_rules_person_count(rules);
    for (size_t i = 0; user_id && *user_id && i < n; i++) {
        const sk_person_t *p = sk_rules_person_at(rules, i);
        const char *s = sk_slack_dir_slack_id(p);
        if (s && strcmp(s, user_id) == 0)
            return p;
    }
    return NULL;
}

const sk_person_t *sk_slack_dir_by_email(const sk_rules_t *rules, const char *email)
{
    size_t n = sk_rules_person_count(rules);
    for (size_t i = 0; email && *email && i < n; i++) {
        const sk_person_t *p = sk_rules_person_at(rules, i);
        if (p->email && *p->email && strcasecmp(p->email, email) == 0)
            return p;
    }
    return NULL;
}

/* ---- secrets ---- */

int sk_slack_secret(const char *path, const char *env, int required, char *buf, size_t len,
                    char *err, size_t err_len)
{
    struct stat st;
    int fd = -1, rc = -1;
    ssize_t n;
    buf[0] = '\0';
    if (path && *path) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) != 0) {
            snprintf(err, err_len, "%s: %s", path, strerror(errno));
            goto out;
        }
        /* group read stays allowed, as for key files (base/keyfile.c):
         * Kubernetes mounts secrets 0440 for the pod's fsGroup (the chart
         * mounts each with subPath: a file, not the symlink O_NOFOLLOW
         * refuses); others, and the group writing, are refused */
        if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXO | S_IWGRP | S_IXGRP))) {
            snprintf(err, err_len, "%s: readable by others (mode %03o): chmod 600 %s", path,
                     (unsigned)(st.st_mode & 0777), path);
            goto out;
        }
        n = read(fd, buf, len - 1);
        if (n < 0) {
            snprintf(err, err_len, "%s: %s", path, strerror(errno));
            goto out;
        }
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
    } else if (env && getenv(env)) {
        const char *v = getenv(env);
        if (strlen(v) >= len) {
            snprintf(err, err_len, "$%s is too long", env);
            goto out;
        }
        memcpy(buf, v, strlen(v) + 1);
    }
    if (required && !buf[0]) {
        snprintf(err, err_len, "no secret: set $%s or give a file", env);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        memset(buf, 0, len);
    return rc;
}

/* ---- the task table ---- */

typedef struct entry {
    sk_arena_t arena; /* the task's strings; replaced on each update */
    sk_task_t task;
    sk_ms_t created_ms;
    char *id; /* the map key (heap, stable) */
} entry_t;

typedef struct reqinfo {
    char *id, *justification;
    sk_ms_t duration_ms;
} reqinfo_t;

void sk_slack_tasks_init(sk_slack_tasks_t *tt)
{
    pthread_mutex_init(&tt->lock, NULL);
    sk_strmap_init(&tt->by_id);
    sk_strmap_init(&tt->requests);
}

void sk_slack_tasks_fini(sk_slack_tasks_t *tt)
{
    for (size_t i = 0; i < tt->by_id.cap; i++)
        if (tt->by_id.slots[i].key) {
            entry_t *e = tt->by_id.slots[i].value;
            sk_arena_fini(&e->arena);
            free(e->id);
            free(e);
        }
    for (size_t i = 0; i < tt->requests.cap; i++)
        if (tt->requests.slots[i].key) {
            reqinfo_t *r = tt->requests.slots[i].value;
            free(r->id);
            free(r->justification);
            free(r);
        }
    sk_strmap_fini(&tt->by_id);
    sk_strmap_fini(&tt->requests);
    pthread_mutex_destroy(&tt->lock);
}

/* Deep copy of t into arena a; 0 or SK_ENOMEM. */
static int copy_task(sk_arena_t *a, const sk_task_t *t, sk_task_t *out)
{
    const char **as = sk_arena_calloc(a, t->n_assignees + 1, sizeof(*as));
    *out = *t;
    out->task_id = sk_arena_strdup(a, t->task_id);
    out->request_id = sk_arena_strdup(a, t->request_id ? t->request_id : "");
    out->subject = sk_arena_strdup(a, t->subject);
    out->target = sk_arena_strdup(a, t->target);
    out->reason = sk_arena_strdup(a, t->reason ? t->reason : "");
    out->justification = sk_arena_strdup(a, t->justification ? t->justification : "");
    if (!as || !out->task_id || !out->request_id || !out->subject || !out->target || !out->reason ||
        !out->justification)
        return SK_ENOMEM;
    for (size_t i = 0; i < t->n_assignees; i++)
        if (!(as[i] = sk_arena_strdup(a, t->assignees[i])))
            return SK_ENOMEM;
    out->assignees = as;
    return 0;
}

int sk_slack_tasks_update(sk_slack_tasks_t *tt, const sk_task_t *t)
{
    entry_t *e;
    sk_arena_t fresh;
    sk_task_t copy;
    int rc = SK_ENOMEM;
    sk_arena_init(&fresh, 1024);
    if (copy_task(&fresh, t, &copy) != 0) {
        sk_arena_fini(&fresh);
        return SK_ENOMEM;
    }
    pthread_mutex_lock(&tt->lock);
    e = sk_strmap_get(&tt->by_id, t->task_id);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e || !(e->id = strdup(t->task_id)) || sk_strmap_put(&tt->by_id, e->id, e) != 0) {
            if (e)
                free(e->id);
            free(e);
            sk_arena_fini(&fresh);
            goto out;
        }
        e->created_ms = t->at_ms;
    } else {
        sk_arena_fini(&e->arena);
    }
    e->arena = fresh;
    e->task = copy;
    rc = 0;
out:
    pthread_mutex_unlock(&tt->lock);
    return rc;
}

int sk_slack_tasks_note_request(sk_slack_tasks_t *tt, const char *request_id,
                                const char *justification, sk_ms_t duration_ms)
{
    reqinfo_t *r;
    int rc = 0;
    pthread_mutex_lock(&tt->lock);
    if (sk_strmap_get(&tt->requests, request_id))
        goto out; /* the first CREATED of a request id is the one decided */
    rc = SK_ENOMEM;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->id = strdup(request_id)) ||
        !(r->justification = strdup(justification ? justification : "")) ||
        sk_strmap_put(&tt->requests, r->id, r) != 0) {
        if (r) {
            free(r->id);
            free(r->justification);
        }
        free(r);
        goto out;
    }
    r->duration_ms = duration_ms;
    rc = 0;
out:
    pthread_mutex_unlock(&tt->lock);
    return rc;
}

static int is_open(const sk_task_t *t)
{
    return t->state != SK_TASK_CLOSED;
}

int sk_slack_tasks_may_act(sk_slack_tasks_t *tt, const char *task_id, const char *user)
{
    int rc = -1;
    pthread_mutex_lock(&tt->lock);
    entry_t *e = sk_strmap_get(&tt->by_id, task_id);
    if (e) {
        rc = 0;
        for (size_t i = 0; is_open(&e->task) && i < e->task.n_assignees; i++)
            if (strcmp(e->task.assignees[i], user) == 0)
                rc = 1;
    }
    pthread_mutex_unlock(&tt->lock);
    return rc;
}

/* Fills out from entry e (may be NULL) and the request info; lock held. */
static int view_of(sk_slack_tasks_t *tt, const entry_t *e, const char *request_id, sk_arena_t *a,
                   sk_slack_task_view_t *out)
{
    const reqinfo_t *r;
    memset(out, 0, sizeof(*out));
    out->justification = "";
    out->duration_ms = SK_MS_NONE;
    if (e) {
        if (copy_task(a, &e->task, &out->task) != 0)
            return SK_ENOMEM;
        out->created_ms = e->created_ms;
        request_id = e->task.request_id;
    }
    r = request_id ? sk_strmap_get(&tt->requests, request_id) : NULL;
    if (r) {
        out->justification = sk_arena_strdup(a, r->justification);
        out->duration_ms = r->duration_ms;
        if (!out->justification)
            return SK_ENOMEM;
    }
    return e || r ? 0 : SK_ENOTFOUND;
}

int sk_slack_tasks_get(sk_slack_tasks_t *tt, const char *task_id, const char *request_id,
                       sk_arena_t *a, sk_slack_task_view_t *out)
{
    int rc;
    pthread_mutex_lock(&tt->lock);
    entry_t *e = task_id ? sk_strmap_get(&tt->by_id, task_id) : NULL;
    rc = task_id && !e ? SK_ENOTFOUND : view_of(tt, e, request_id, a, out);
    pthread_mutex_unlock(&tt->lock);
    return rc;
}

size_t sk_slack_tasks_open(sk_slack_tasks_t *tt, const char *assignee, const char *subject,
                           sk_arena_t *a, sk_slack_task_view_t **out)
{
    size_t n = 0;
    pthread_mutex_lock(&tt->lock);
    *out = sk_arena_calloc(a, tt->by_id.count + 1, sizeof(**out));
    for (size_t i = 0; *out && i < tt->by_id.cap; i++) {
        const entry_t *e = tt->by_id.slots[i].value;
        int hit = !assignee;
        if (!tt->by_id.slots[i].key || !is_open(&e->task))
            continue;
        if (subject && strcmp(e->task.subject, subject) != 0)
            continue;
        for (size_t k = 0; !hit && k < e->task.n_assignees; k++)
            hit = strcmp(e->task.assignees[k], assignee) == 0;
        if (hit && view_of(tt, e, NULL, a, &(*out)[n]) == 0)
            n++;
    }
    pthread_mutex_unlock(&tt->lock);
    return n;
}
