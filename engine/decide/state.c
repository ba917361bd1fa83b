/* state.c — a user's state to and from its Redis hash fields (see state.h). */
#include "decide/state.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SOURCE_KIND_CHAR[] = "SRE"; /* by sk_source_kind_t */

/* Splits s (len bytes) at spaces into at most max NUL-terminated arena
 * copies. Returns the number of parts, or -1 on allocation failure. */
static int split_words(sk_arena_t *a, const char *s, size_t len, char **parts, int max)
{
    int n = 0;
    size_t i = 0;
    while (i < len && n < max) {
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        parts[n] = sk_arena_strndup(a, s + i, j - i);
        if (!parts[n])
            return -1;
        n++;
        i = j + 1;
    }
    return i < len ? max + 1 : n; /* max + 1: too many words */
}

static int parse_ms(const char *s, sk_ms_t *out)
{
    if (strcmp(s, "-") == 0) {
        *out = SK_MS_NONE;
        return 0;
    }
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0')
        return -1;
    *out = (sk_ms_t)v;
    return 0;
}

/* Parses "s:<id>" -> "<rotation> <start> <end|-> <level> <status> <updated>". */
static int parse_shift(sk_arena_t *a, const sk_state_field_t *f, sk_shift_t *sh)
{
    char *w[6];
    long level, status;
    if (split_words(a, f->value, f->value_len, w, 6) != 6)
        return -1;
    sh->id = sk_arena_strndup(a, f->name + 2, f->name_len - 2);
    sh->rotation = w[0];
    if (!sh->id || parse_ms(w[1], &sh->start_ms) || parse_ms(w[2], &sh->end_ms) ||
        parse_ms(w[5], &sh->updated_ms))
        return -1;
    char *end_level, *end_status;
    level = strtol(w[3], &end_level, 10);
    status = strtol(w[4], &end_status, 10);
    if (*end_level != '\0' || *end_status != '\0' || level < 1 || level > SK_LEVEL_MAX ||
        status < SK_SHIFT_STATUS_OPEN || status > SK_SHIFT_STATUS_CANCELLED)
        return -1;
    sh->level = (int)level;
    sh->status = (sk_shift_status_t)status;
    return 0;
}

/* Parses "g:<ent> <kind> <id>" -> "<expires> <rotation|->". */
static int parse_source(sk_arena_t *a, const sk_state_field_t *f, sk_grant_source_t *src)
{
    char *name[3], *val[2];
    if (split_words(a, f->name + 2, f->name_len - 2, name, 3) != 3 ||
        split_words(a, f->value, f->value_len, val, 2) != 2)
        return -1;
    const char *k = strchr(SOURCE_KIND_CHAR, name[1][0]);
    if (!k || name[1][0] == '\0' || name[1][1] != '\0' ||
        k - SOURCE_KIND_CHAR >= SK_SOURCE_KIND_COUNT)
        return -1;
    src->ent_key = name[0];
    src->kind = (sk_source_kind_t)(k - SOURCE_KIND_CHAR);
    src->id = name[2];
    src->rotation = strcmp(val[1], "-") == 0 ? "" : val[1];
    return parse_ms(val[0], &src->expires_ms);
}

static const char *const REQUEST_STATUS[] = {"OPEN", "APPROVED", "DENIED", "CANCELLED",
                                             "PROVISIONING"};

const char *sk_request_status_name(sk_request_status_t st)
{
    return (unsigned)st < SK_REQUEST_STATUS_COUNT ? REQUEST_STATUS[st] : "?";
}

/* Reads "<n> <id>..." from w[*i]; advances *i. -1 when malformed. */
static int parse_id_list(sk_arena_t *a, char **w, int n_w, int *i, const char ***ids, size_t *n_ids)
{
    char *end;
    if (*i >= n_w)
        return -1;
    long n = strtol(w[*i], &end, 10);
    if (*end != '\0' || n < 0 || n > n_w - *i - 1)
        return -1;
    (*i)++;
    *ids = sk_arena_calloc(a, (size_t)n + 1, sizeof(**ids));
    if (!*ids)
        return -1;
    for (long k = 0; k < n; k++)
        (*ids)[k] = w[(*i)++];
    *n_ids = (size_t)n;
    return 0;
}

/* Parses "q:<id>" (layout in state.h). */
static int parse_request(sk_arena_t *a, const sk_state_field_t *f, sk_request_state_t *rq)
{
    enum { FIXED = 10, MAXW = FIXED + 2 + 2 * 256 + 2 };
    char **w = sk_arena_calloc(a, MAXW + 1, sizeof(*w));
    int n, i = FIXED;
    char *end;
    if (!w)
        return -1;
    n = split_words(a, f->value, f->value_len, w, MAXW);
    if (n < FIXED + 2 || n > MAXW)
        return -1;
    memset(rq, 0, sizeof(*rq));
    rq->id = sk_arena_strndup(a, f->name + 2, f->name_len - 2);
    rq->status = SK_REQUEST_STATUS_COUNT;
    for (int k = 0; k < SK_REQUEST_STATUS_COUNT; k++)
        if (strcmp(w[0], REQUEST_STATUS[k]) == 0)
            rq->status = (sk_request_status_t)k;
    if (!rq->id || rq->status == SK_REQUEST_STATUS_COUNT)
        return -1;
    if (strcmp(w[1], "E") != 0 && strcmp(w[1], "P") != 0)
        return -1;
    rq->target_kind = w[1][0] == 'E' ? SK_TARGET_ENTITLEMENT : SK_TARGET_PROFILE;
    rq->target = w[2];
    if (parse_ms(w[3], &rq->duration_ms) || (strcmp(w[4], "0") != 0 && strcmp(w[4], "1") != 0))
        return -1;
    rq->emergency = w[4][0] == '1';
    rq->policy = w[5];
    rq->rules_version = w[6];
    long step = strtol(w[7], &end, 10);
    if (*end != '\0' || step < 0 || step > SK_TASK_STEP_MAX)
        return -1;
    rq->step = (int)step;
    if (parse_ms(w[8], &rq->created_ms) || parse_ms(w[9], &rq->updated_ms))
        return -1;
    if (parse_id_list(a, w, n, &i, &rq->approvers, &rq->n_approvers) ||
        parse_id_list(a, w, n, &i, &rq->assignees, &rq->n_assignees))
        return -1;
    if (i == n)
        return 0; /* written before the tail existed: an access request, round 0 */
    if (n - i != 2 || (strcmp(w[i], "A") != 0 && strcmp(w[i], "R") != 0))
        return -1;
    rq->kind = w[i][0] == 'R' ? SK_REQUEST_KIND_REVOCATION : SK_REQUEST_KIND_ACCESS;
    long round = strtol(w[i + 1], &end, 10);
    if (*end != '\0' || w[i + 1][0] < '0' || w[i + 1][0] > '9' ||
        (w[i + 1][0] == '0' && w[i + 1][1] != '\0') || round < 0 || round > SK_ROUND_MAX)
        return -1;
    rq->round = (int)round;
    /* "A 0" is never written: accepting it would give one state two forms */
    return rq->kind == SK_REQUEST_KIND_ACCESS && rq->round == 0 ? -1 : 0;
}

/* Parses "t:<id>" -> "<kind> <ent_key> <request_id|-> <created> <n> <id>...". */
static int parse_open_task(sk_arena_t *a, const sk_state_field_t *f, sk_open_task_t *t)
{
    enum { FIXED = 4, MAXW = FIXED + 1 + 256 };
    char **w = sk_arena_calloc(a, MAXW + 1, sizeof(*w));
    int n, i = FIXED;
    if (!w)
        return -1;
    n = split_words(a, f->value, f->value_len, w, MAXW);
    if (n < FIXED + 1 || n > MAXW)
        return -1;
    memset(t, 0, sizeof(*t));
    t->id = sk_arena_strndup(a, f->name + 2, f->name_len - 2);
    t->kind = SK_TASK_KIND_COUNT;
    for (int k = 0; k < SK_TASK_KIND_COUNT; k++)
        if (strcmp(w[0], sk_task_kind_name((sk_task_kind_t)k)) == 0)
            t->kind = (sk_task_kind_t)k;
    if (!t->id || t->kind == SK_TASK_KIND_COUNT || w[1][0] == '\0' || w[2][0] == '\0')
        return -1;
    t->ent_key = w[1];
    t->request_id = strcmp(w[2], "-") == 0 ? "" : w[2];
    if (parse_ms(w[3], &t->created_ms) ||
        parse_id_list(a, w, n, &i, &t->assignees, &t->n_assignees) || i != n)
        return -1;
    return 0;
}

/* Parses "r:<command_id>" -> "<ent_key> <action> <attempt> <next>". */
static int parse_retry(sk_arena_t *a, const sk_state_field_t *f, sk_retry_t *r)
{
    char *w[4], *end;
    if (split_words(a, f->value, f->value_len, w, 4) != 4)
        return -1;
    memset(r, 0, sizeof(*r));
    r->command_id = sk_arena_strndup(a, f->name + 2, f->name_len - 2);
    r->ent_key = w[0];
    if (!r->command_id || w[0][0] == '\0')
        return -1;
    if (strcmp(w[1], "GRANT") == 0)
        r->action = SK_CMD_GRANT;
    else if (strcmp(w[1], "EXTEND") == 0)
        r->action = SK_CMD_EXTEND;
    else if (strcmp(w[1], "REVOKE") == 0)
        r->action = SK_CMD_REVOKE;
    else
        return -1;
    long attempt = strtol(w[2], &end, 10);
    if (*end != '\0' || w[2][0] < '0' || w[2][0] > '9' || (w[2][0] == '0' && w[2][1]) ||
        attempt < 0 || attempt > SK_ROUND_MAX)
        return -1;
    r->attempt = (int)attempt;
    return parse_ms(w[3], &r->next_ms);
}

/* Parses "e:<ent_key>" -> "<n> <resource><permission>" (n = resource bytes). */
static int parse_held(sk_arena_t *a, const sk_state_field_t *f, sk_held_detail_t *h)
{
    size_t n = 0, i = 0;
    while (i < f->value_len && f->value[i] >= '0' && f->value[i] <= '9' && i < 6)
        n = n * 10 + (size_t)(f->value[i++] - '0');
    if (i == 0 || i >= f->value_len || f->value[i] != ' ' || n > f->value_len - i - 1)
        return -1;
    i++;
    h->ent_key = sk_arena_strndup(a, f->name + 2, f->name_len - 2);
    h->resource = sk_arena_strndup(a, f->value + i, n);
    h->permission = sk_arena_strndup(a, f->value + i + n, f->value_len - i - n);
    if (!h->ent_key || !h->resource || !h->permission || strchr(h->ent_key, ' '))
        return -1;
    return 0;
}

int sk_state_parse(sk_arena_t *arena, const char *user, const sk_state_field_t *fields,
                   size_t n_fields, sk_user_state_t *out, size_t *n_bad)
{
    size_t bad = 0;
    memset(out, 0, sizeof(*out));
    out->user = user;
    out->shifts = sk_arena_calloc(arena, n_fields + 1, sizeof(sk_shift_t));
    out->sources = sk_arena_calloc(arena, n_fields + 1, sizeof(sk_grant_source_t));
    out->requests = sk_arena_calloc(arena, n_fields + 1, sizeof(sk_request_state_t));
    out->open_tasks = sk_arena_calloc(arena, n_fields + 1, sizeof(sk_open_task_t));
    out->retries = sk_arena_calloc(arena, n_fields + 1, sizeof(sk_retry_t));
    out->held = sk_arena_calloc(arena, n_fields + 1, sizeof(sk_held_detail_t));
    out->campaign = sk_arena_calloc(arena, n_fields + 1, sizeof(sk_state_field_t));
    if (!out->shifts || !out->sources || !out->requests || !out->open_tasks || !out->retries ||
        !out->held || !out->campaign)
        return SK_ENOMEM;
    for (size_t i = 0; i < n_fields; i++) {
        const sk_state_field_t *f = &fields[i];
        int rc = -1;
        /* a NUL would cut the name: such a field could never be updated or
         * deleted by its parsed name, so it counts as damaged */
        if (memchr(f->name, '\0', f->name_len) || memchr(f->value, '\0', f->value_len))
            rc = -1;
        else if (f->name_len > 2 && f->name[0] == 's' && f->name[1] == ':') {
            rc = parse_shift(arena, f, &out->shifts[out->n_shifts]);
            if (rc == 0)
                out->n_shifts++;
        } else if (f->name_len > 2 && f->name[0] == 'g' && f->name[1] == ':') {
            rc = parse_source(arena, f, &out->sources[out->n_sources]);
            if (rc == 0)
                out->n_sources++;
        } else if (f->name_len > 2 && f->name[0] == 'q' && f->name[1] == ':') {
            rc = parse_request(arena, f, &out->requests[out->n_requests]);
            if (rc == 0)
                out->n_requests++;
        } else if (f->name_len > 2 && f->name[0] == 't' && f->name[1] == ':') {
            rc = parse_open_task(arena, f, &out->open_tasks[out->n_open_tasks]);
            if (rc == 0)
                out->n_open_tasks++;
        } else if (f->name_len > 2 && f->name[0] == 'r' && f->name[1] == ':') {
            rc = parse_retry(arena, f, &out->retries[out->n_retries]);
            if (rc == 0)
                out->n_retries++;
        } else if (f->name_len > 2 && f->name[0] == 'e' && f->name[1] == ':') {
            rc = parse_held(arena, f, &out->held[out->n_held]);
            if (rc == 0)
                out->n_held++;
        } else if (f->name_len > 2 && (f->name[0] == 'c' || f->name[0] == 'C') &&
                   f->name[1] == ':') { /* campaign_state.h parses them */
            sk_state_field_t *c = &out->campaign[out->n_campaign];
            c->name = sk_arena_strndup(arena, f->name, f->name_len);
            c->value = sk_arena_strndup(arena, f->value, f->value_len);
            if (!c->name || !c->value)
                return SK_ENOMEM;
            c->name_len = f->name_len;
            c->value_len = f->value_len;
            out->n_campaign++;
            rc = 0;
        }
        if (rc != 0)
            bad++;
    }
    if (n_bad)
        *n_bad = bad;
    return 0;
}

static int fmt_ms(char *buf, size_t len, sk_ms_t t)
{
    if (t == SK_MS_NONE)
        return snprintf(buf, len, "-");
    return snprintf(buf, len, "%" PRId64, t);
}

/* "<n> <id> <id>..." of a list of ids. */
static char *fmt_id_list(sk_arena_t *a, const char *const *ids, size_t n)
{
    char *s = sk_arena_sprintf(a, "%zu", n);
    for (size_t i = 0; s && i < n; i++)
        s = sk_arena_sprintf(a, "%s %s", s, ids[i]);
    return s;
}

static char *fmt_request(sk_arena_t *a, const sk_request_state_t *rq)
{
    char dur[24], cre[24], upd[24];
    assert(rq->status < SK_REQUEST_STATUS_COUNT);
    fmt_ms(dur, sizeof(dur), rq->duration_ms);
    fmt_ms(cre, sizeof(cre), rq->created_ms);
    fmt_ms(upd, sizeof(upd), rq->updated_ms);
    char *ap = fmt_id_list(a, rq->approvers, rq->n_approvers);
    char *as = fmt_id_list(a, rq->assignees, rq->n_assignees);
    if (!ap || !as)
        return NULL;
    char tail[32] = "";
    if (rq->kind != SK_REQUEST_KIND_ACCESS || rq->round != 0)
        snprintf(tail, sizeof(tail), " %c %d", rq->kind == SK_REQUEST_KIND_REVOCATION ? 'R' : 'A',
                 rq->round);
    return sk_arena_sprintf(a, "%s %c %s %s %d %s %s %d %s %s %s %s%s", REQUEST_STATUS[rq->status],
                            rq->target_kind == SK_TARGET_PROFILE ? 'P' : 'E', rq->target, dur,
                            rq->emergency ? 1 : 0, rq->policy, rq->rules_version, rq->step, cre,
                            upd, ap, as, tail);
}

static char *fmt_open_task(sk_arena_t *a, const sk_open_task_t *t)
{
    char cre[24];
    fmt_ms(cre, sizeof(cre), t->created_ms);
    char *as = fmt_id_list(a, t->assignees, t->n_assignees);
    if (!as)
        return NULL;
    return sk_arena_sprintf(a, "%s %s %s %s %s", sk_task_kind_name(t->kind), t->ent_key,
                            t->request_id[0] ? t->request_id : "-", cre, as);
}

/* Serialises every field of st into a fresh array (n_fields = count). */
static sk_state_field_t *state_fields(sk_arena_t *a, const sk_user_state_t *st, size_t *n_fields)
{
    size_t n = st->n_shifts + st->n_sources + st->n_requests + st->n_open_tasks + st->n_retries +
               st->n_held + st->n_campaign,
           k = 0;
    sk_state_field_t *f = sk_arena_calloc(a, n + 1, sizeof(*f));
    char start[24], end[24], upd[24], exp[24];
    if (!f)
        return NULL;
    for (size_t i = 0; i < st->n_shifts; i++, k++) {
        const sk_shift_t *sh = &st->shifts[i];
        fmt_ms(start, sizeof(start), sh->start_ms);
        fmt_ms(end, sizeof(end), sh->end_ms);
        fmt_ms(upd, sizeof(upd), sh->updated_ms);
        f[k].name = sk_arena_sprintf(a, "s:%s", sh->id);
        f[k].value = sk_arena_sprintf(a, "%s %s %s %d %d %s", sh->rotation, start, end, sh->level,
                                      (int)sh->status, upd);
    }
    for (size_t i = 0; i < st->n_sources; i++, k++) {
        const sk_grant_source_t *s = &st->sources[i];
        assert(s->kind < SK_SOURCE_KIND_COUNT);
        fmt_ms(exp, sizeof(exp), s->expires_ms);
        f[k].name = sk_arena_sprintf(a, "g:%s %c %s", s->ent_key, SOURCE_KIND_CHAR[s->kind], s->id);
        f[k].value = sk_arena_sprintf(a, "%s %s", exp, s->rotation[0] ? s->rotation : "-");
    }
    for (size_t i = 0; i < st->n_requests; i++, k++) {
        f[k].name = sk_arena_sprintf(a, "q:%s", st->requests[i].id);
        f[k].value = fmt_request(a, &st->requests[i]);
    }
    for (size_t i = 0; i < st->n_open_tasks; i++, k++) {
        f[k].name = sk_arena_sprintf(a, "t:%s", st->open_tasks[i].id);
        f[k].value = fmt_open_task(a, &st->open_tasks[i]);
    }
    for (size_t i = 0; i < st->n_retries; i++, k++) {
        const sk_retry_t *r = &st->retries[i];
        fmt_ms(exp, sizeof(exp), r->next_ms);
        f[k].name = sk_arena_sprintf(a, "r:%s", r->command_id);
        f[k].value = sk_arena_sprintf(a, "%s %s %d %s", r->ent_key,
                                      sk_command_action_name(r->action), r->attempt, exp);
    }
    for (size_t i = 0; i < st->n_held; i++, k++) {
        const sk_held_detail_t *h = &st->held[i];
        f[k].name = sk_arena_sprintf(a, "e:%s", h->ent_key);
        f[k].value =
            sk_arena_sprintf(a, "%zu %s%s", strlen(h->resource), h->resource, h->permission);
    }
    for (size_t i = 0; i < st->n_campaign; i++, k++)
        f[k] = st->campaign[i];
    for (size_t i = 0; i < n; i++) {
        if (!f[i].name || !f[i].value)
            return NULL;
        f[i].name_len = strlen(f[i].name);
        f[i].value_len = strlen(f[i].value);
    }
    *n_fields = n;
    return f;
}

int sk_state_fields(sk_arena_t *arena, const sk_user_state_t *st, sk_state_field_t **out, size_t *n)
{
    *n = 0;
    *out = state_fields(arena, st, n);
    return *out ? 0 : SK_ENOMEM;
}

static const sk_state_field_t *find_field(const sk_state_field_t *f, size_t n,
                                          const sk_state_field_t *want)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].name_len == want->name_len && memcmp(f[i].name, want->name, want->name_len) == 0)
            return &f[i];
    return NULL;
}

int sk_state_diff(sk_arena_t *arena, const sk_user_state_t *before, const sk_user_state_t *after,
                  sk_state_diff_t *out)
{
    size_t nb = 0, na = 0;
    sk_state_field_t *fb = state_fields(arena, before, &nb);
    sk_state_field_t *fa = state_fields(arena, after, &na);
    memset(out, 0, sizeof(*out));
    if (!fb || !fa)
        return SK_ENOMEM;
    out->set = sk_arena_calloc(arena, na + 1, sizeof(*out->set));
    out->del = sk_arena_calloc(arena, nb + 1, sizeof(*out->del));
    if (!out->set || !out->del)
        return SK_ENOMEM;
    for (size_t i = 0; i < na; i++) {
        const sk_state_field_t *old = find_field(fb, nb, &fa[i]);
        if (!old || old->value_len != fa[i].value_len ||
            memcmp(old->value, fa[i].value, fa[i].value_len) != 0)
            out->set[out->n_set++] = fa[i];
    }
    for (size_t i = 0; i < nb; i++)
        if (!find_field(fa, na, &fb[i]))
            out->del[out->n_del++] = fb[i].name;
    return 0;
}

const sk_shift_t *sk_state_shift(const sk_user_state_t *st, const char *id)
{
    for (size_t i = 0; i < st->n_shifts; i++)
        if (strcmp(st->shifts[i].id, id) == 0)
            return &st->shifts[i];
    return NULL;
}

const sk_request_state_t *sk_state_request(const sk_user_state_t *st, const char *id)
{
    for (size_t i = 0; i < st->n_requests; i++)
        if (strcmp(st->requests[i].id, id) == 0)
            return &st->requests[i];
    return NULL;
}

const sk_open_task_t *sk_state_open_task(const sk_user_state_t *st, const char *id)
{
    for (size_t i = 0; i < st->n_open_tasks; i++)
        if (strcmp(st->open_tasks[i].id, id) == 0)
            return &st->open_tasks[i];
    return NULL;
}

const sk_retry_t *sk_state_retry(const sk_user_state_t *st, const char *command_id)
{
    for (size_t i = 0; i < st->n_retries; i++)
        if (strcmp(st->retries[i].command_id, command_id) == 0)
            return &st->retries[i];
    return NULL;
}

const sk_held_detail_t *sk_state_held(const sk_user_state_t *st, const char *ent_key)
{
    for (size_t i = 0; i < st->n_held; i++)
        if (strcmp(st->held[i].ent_key, ent_key) == 0)
            return &st->held[i];
    return NULL;
}

bool sk_state_awaits_people(const sk_user_state_t *st)
{
    if (st->n_open_tasks)
        return true;
    for (size_t i = 0; i < st->n_requests; i++)
        if (st->requests[i].status == SK_REQUEST_OPEN ||
            st->requests[i].status == SK_REQUEST_PROVISIONING)
            return true;
    return false;
}
