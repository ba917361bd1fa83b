/* state.c — a user's state to and from its Redis hash fields (see state.h). */
#include "decide/state.h"

#include "base/strbuf.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SOURCE_KIND_CHAR[] = "SREF"; /* by sk_source_kind_t */

/* Splits s (len bytes) at spaces into at most max NUL-terminated parts,
 * all in one arena copy of s. Returns the number of parts, max + 1 when
 * there are more, or -1 on allocation failure. */
static int split_words(sk_arena_t *a, const char *s, size_t len, char **parts, int max)
{
    int n = 0;
    size_t i = 0;
    char *copy = sk_arena_strndup(a, s, len);
    if (!copy)
        return -1;
    while (i < len && n < max) {
        size_t j = i;
        while (j < len && copy[j] != ' ')
            j++;
        copy[j] = '\0'; /* the space, or the copy's own NUL */
        parts[n++] = copy + i;
        i = j + 1;
    }
    return i < len ? max + 1 : n; /* max + 1: too many words */
}

/* The number of space-separated words of s (len bytes), at least 1. */
static int count_words(const char *s, size_t len)
{
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += s[i] == ' ';
    return n;
}

/* strtoll(s, &end, 10) with *s and *end both '\0' required: the usual
 * "-?[0-9]{1,18}" read directly, anything else (signs, spaces, overflow)
 * by strtoll, so that both accept and refuse the same words. */
static int parse_i64(const char *s, long long *out)
{
    const char *p = s + (*s == '-');
    long long v = 0;
    size_t n = 0;
    while (p[n] >= '0' && p[n] <= '9' && n < 18)
        v = v * 10 + (p[n++] - '0');
    if (n > 0 && p[n] == '\0') {
        *out = *s == '-' ? -v : v;
        return 0;
    }
    char *end;
    long long w = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0')
        return -1;
    *out = w;
    return 0;
}

static int parse_ms(const char *s, sk_ms_t *out)
{
    long long v;
    if (s[0] == '-' && s[1] == '\0') {
        *out = SK_MS_NONE;
        return 0;
    }
    if (parse_i64(s, &v))
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
    int n = count_words(f->value, f->value_len), i = FIXED;
    char *end;
    char **w = sk_arena_alloc(a, ((size_t)(n < MAXW ? n : MAXW) + 1) * sizeof(*w));
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
    int n = count_words(f->value, f->value_len), i = FIXED;
    char **w = sk_arena_alloc(a, ((size_t)(n < MAXW ? n : MAXW) + 1) * sizeof(*w));
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

/* ---- the storage form, written without printf (base/strbuf.h) ---- */

/* A time field: "-" for SK_MS_NONE, else the number. */
static void put_ms(sk_strbuf_t *b, sk_ms_t t)
{
    if (t == SK_MS_NONE)
        sk_strbuf_chr(b, '-');
    else
        sk_strbuf_i64(b, t);
}

/* " <n> <id> <id>..." of a list of ids. */
static void put_id_list(sk_strbuf_t *b, const char *const *ids, size_t n)
{
    sk_strbuf_chr(b, ' ');
    sk_strbuf_i64(b, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        sk_strbuf_chr(b, ' ');
        sk_strbuf_str(b, ids[i]);
    }
}

/* "<prefix><id>" as an arena string. */
static char *field_name(sk_arena_t *a, char prefix, const char *id)
{
    size_t n = strlen(id);
    char *p = sk_arena_alloc(a, n + 3);
    if (!p)
        return NULL;
    p[0] = prefix;
    p[1] = ':';
    memcpy(p + 2, id, n + 1);
    return p;
}

/* Sets f's name and value (with their lengths) from two finished builders;
 * -1 when either failed. */
static int field_done(sk_state_field_t *f, char *name, sk_strbuf_t *value)
{
    size_t value_len = value->len;
    char *v = sk_strbuf_finish(value);
    if (!name || !v)
        return -1;
    *f = (sk_state_field_t){name, strlen(name), v, value_len};
    return 0;
}

static char *shift_name(sk_arena_t *a, const void *item)
{
    return field_name(a, 's', ((const sk_shift_t *)item)->id);
}

/* "s:<id>" -> "<rotation> <start> <end|-> <level> <status> <updated>" */
static int shift_field(sk_arena_t *a, const void *item, sk_state_field_t *f)
{
    const sk_shift_t *sh = item;
    sk_strbuf_t v;
    sk_strbuf_init(&v, a);
    sk_strbuf_str(&v, sh->rotation);
    sk_strbuf_chr(&v, ' ');
    put_ms(&v, sh->start_ms);
    sk_strbuf_chr(&v, ' ');
    put_ms(&v, sh->end_ms);
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_i64(&v, sh->level);
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_i64(&v, (int)sh->status);
    sk_strbuf_chr(&v, ' ');
    put_ms(&v, sh->updated_ms);
    return field_done(f, shift_name(a, sh), &v);
}

/* "g:<ent> <kind> <id>" -> "<expires> <rotation|->" */
static char *source_name(sk_arena_t *a, const void *item)
{
    const sk_grant_source_t *s = item;
    sk_strbuf_t n;
    assert(s->kind < SK_SOURCE_KIND_COUNT);
    sk_strbuf_init(&n, a);
    sk_strbuf_str(&n, "g:");
    sk_strbuf_str(&n, s->ent_key);
    sk_strbuf_chr(&n, ' ');
    sk_strbuf_chr(&n, SOURCE_KIND_CHAR[s->kind]);
    sk_strbuf_chr(&n, ' ');
    sk_strbuf_str(&n, s->id);
    return sk_strbuf_finish(&n);
}

static int source_field(sk_arena_t *a, const void *item, sk_state_field_t *f)
{
    const sk_grant_source_t *s = item;
    sk_strbuf_t v;
    sk_strbuf_init(&v, a);
    put_ms(&v, s->expires_ms);
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_str(&v, s->rotation[0] ? s->rotation : "-");
    return field_done(f, source_name(a, s), &v);
}

static char *request_name(sk_arena_t *a, const void *item)
{
    return field_name(a, 'q', ((const sk_request_state_t *)item)->id);
}

/* "q:<id>" (layout in state.h) */
static int request_field(sk_arena_t *a, const void *item, sk_state_field_t *f)
{
    const sk_request_state_t *rq = item;
    sk_strbuf_t v;
    assert(rq->status < SK_REQUEST_STATUS_COUNT);
    sk_strbuf_init(&v, a);
    sk_strbuf_str(&v, REQUEST_STATUS[rq->status]);
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_chr(&v, rq->target_kind == SK_TARGET_PROFILE ? 'P' : 'E');
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_str(&v, rq->target);
    sk_strbuf_chr(&v, ' ');
    put_ms(&v, rq->duration_ms);
    sk_strbuf_str(&v, rq->emergency ? " 1 " : " 0 ");
    sk_strbuf_str(&v, rq->policy);
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_str(&v, rq->rules_version);
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_i64(&v, rq->step);
    sk_strbuf_chr(&v, ' ');
    put_ms(&v, rq->created_ms);
    sk_strbuf_chr(&v, ' ');
    put_ms(&v, rq->updated_ms);
    put_id_list(&v, rq->approvers, rq->n_approvers);
    put_id_list(&v, rq->assignees, rq->n_assignees);
    if (rq->kind != SK_REQUEST_KIND_ACCESS || rq->round != 0) {
        sk_strbuf_str(&v, rq->kind == SK_REQUEST_KIND_REVOCATION ? " R " : " A ");
        sk_strbuf_i64(&v, rq->round);
    }
    return field_done(f, request_name(a, rq), &v);
}

static char *open_task_name(sk_arena_t *a, const void *item)
{
    return field_name(a, 't', ((const sk_open_task_t *)item)->id);
}

/* "t:<id>" -> "<kind> <ent_key> <request_id|-> <created> <n> <id>..." */
static int open_task_field(sk_arena_t *a, const void *item, sk_state_field_t *f)
{
    const sk_open_task_t *t = item;
    sk_strbuf_t v;
    sk_strbuf_init(&v, a);
    sk_strbuf_str(&v, sk_task_kind_name(t->kind));
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_str(&v, t->ent_key);
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_str(&v, t->request_id[0] ? t->request_id : "-");
    sk_strbuf_chr(&v, ' ');
    put_ms(&v, t->created_ms);
    put_id_list(&v, t->assignees, t->n_assignees);
    return field_done(f, open_task_name(a, t), &v);
}

static char *retry_name(sk_arena_t *a, const void *item)
{
    return field_name(a, 'r', ((const sk_retry_t *)item)->command_id);
}

/* "r:<command_id>" -> "<ent_key> <action> <attempt> <next>" */
static int retry_field(sk_arena_t *a, const void *item, sk_state_field_t *f)
{
    const sk_retry_t *r = item;
    sk_strbuf_t v;
    sk_strbuf_init(&v, a);
    sk_strbuf_str(&v, r->ent_key);
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_str(&v, sk_command_action_name(r->action));
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_i64(&v, r->attempt);
    sk_strbuf_chr(&v, ' ');
    put_ms(&v, r->next_ms);
    return field_done(f, retry_name(a, r), &v);
}

static char *held_name(sk_arena_t *a, const void *item)
{
    return field_name(a, 'e', ((const sk_held_detail_t *)item)->ent_key);
}

/* "e:<ent_key>" -> "<n> <resource><permission>" */
static int held_field(sk_arena_t *a, const void *item, sk_state_field_t *f)
{
    const sk_held_detail_t *h = item;
    sk_strbuf_t v;
    sk_strbuf_init(&v, a);
    sk_strbuf_i64(&v, (int64_t)strlen(h->resource));
    sk_strbuf_chr(&v, ' ');
    sk_strbuf_str(&v, h->resource);
    sk_strbuf_str(&v, h->permission);
    return field_done(f, held_name(a, h), &v);
}

/*
 * The seven kinds of fields as one table, so that sk_state_fields and
 * sk_state_diff walk them alike: where a kind's items are in a state, how
 * big one is, how it is written (`field`), which two items are stored
 * under the same field name (`same_key`, compared without writing the
 * names) and which two are stored alike (`same`: true exactly when the
 * two write the same value, so that the diff compares items, never
 * written text).
 */
static bool same_s(const char *x, const char *y)
{
    return x == y || strcmp(x, y) == 0;
}

static bool same_ids(const char *const *x, const char *const *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!same_s(x[i], y[i]))
            return false;
    return true;
}

static bool shift_key(const void *x, const void *y)
{
    return same_s(((const sk_shift_t *)x)->id, ((const sk_shift_t *)y)->id);
}
static bool shift_same(const void *px, const void *py)
{
    const sk_shift_t *x = px, *y = py;
    return x->start_ms == y->start_ms && x->end_ms == y->end_ms && x->level == y->level &&
           x->status == y->status && x->updated_ms == y->updated_ms &&
           same_s(x->rotation, y->rotation);
}
static bool source_key(const void *px, const void *py)
{
    const sk_grant_source_t *x = px, *y = py;
    return x->kind == y->kind && same_s(x->ent_key, y->ent_key) && same_s(x->id, y->id);
}
/* "" is written "-" (source_field, open_task_field). */
static const char *dash(const char *s)
{
    return s[0] ? s : "-";
}

static bool source_same(const void *px, const void *py)
{
    const sk_grant_source_t *x = px, *y = py;
    return x->expires_ms == y->expires_ms && same_s(dash(x->rotation), dash(y->rotation));
}
static bool request_key(const void *x, const void *y)
{
    return same_s(((const sk_request_state_t *)x)->id, ((const sk_request_state_t *)y)->id);
}
static bool request_same(const void *px, const void *py)
{
    const sk_request_state_t *x = px, *y = py;
    return x->status == y->status && x->target_kind == y->target_kind &&
           x->duration_ms == y->duration_ms && x->emergency == y->emergency && x->step == y->step &&
           x->created_ms == y->created_ms && x->updated_ms == y->updated_ms && x->kind == y->kind &&
           x->round == y->round && x->n_approvers == y->n_approvers &&
           x->n_assignees == y->n_assignees && same_s(x->target, y->target) &&
           same_s(x->policy, y->policy) && same_s(x->rules_version, y->rules_version) &&
           same_ids(x->approvers, y->approvers, x->n_approvers) &&
           same_ids(x->assignees, y->assignees, x->n_assignees);
}
static bool open_task_key(const void *x, const void *y)
{
    return same_s(((const sk_open_task_t *)x)->id, ((const sk_open_task_t *)y)->id);
}
static bool open_task_same(const void *px, const void *py)
{
    const sk_open_task_t *x = px, *y = py;
    return x->kind == y->kind && x->created_ms == y->created_ms &&
           x->n_assignees == y->n_assignees && same_s(x->ent_key, y->ent_key) &&
           same_s(dash(x->request_id), dash(y->request_id)) &&
           same_ids(x->assignees, y->assignees, x->n_assignees);
}
static bool retry_key(const void *x, const void *y)
{
    return same_s(((const sk_retry_t *)x)->command_id, ((const sk_retry_t *)y)->command_id);
}
static bool retry_same(const void *px, const void *py)
{
    const sk_retry_t *x = px, *y = py;
    return x->action == y->action && x->attempt == y->attempt && x->next_ms == y->next_ms &&
           same_s(x->ent_key, y->ent_key);
}
static bool held_key(const void *x, const void *y)
{
    return same_s(((const sk_held_detail_t *)x)->ent_key, ((const sk_held_detail_t *)y)->ent_key);
}
static bool held_same(const void *px, const void *py)
{
    const sk_held_detail_t *x = px, *y = py;
    return same_s(x->resource, y->resource) && same_s(x->permission, y->permission);
}

/* "c:..." and "C:..." (campaign_state.h): kept as stored, written as read */
static char *campaign_name(sk_arena_t *a, const void *item)
{
    const sk_state_field_t *c = item;
    return sk_arena_strndup(a, c->name, c->name_len);
}
static int campaign_field(sk_arena_t *a, const void *item, sk_state_field_t *f)
{
    (void)a;
    *f = *(const sk_state_field_t *)item;
    return 0;
}
static bool campaign_key(const void *px, const void *py)
{
    const sk_state_field_t *x = px, *y = py;
    return x->name_len == y->name_len && memcmp(x->name, y->name, x->name_len) == 0;
}
static bool campaign_same(const void *px, const void *py)
{
    const sk_state_field_t *x = px, *y = py;
    return x->value_len == y->value_len && memcmp(x->value, y->value, x->value_len) == 0;
}

typedef struct field_kind {
    size_t n_off, v_off, size; /* offsetof the count and the array in sk_user_state_t */
    int (*field)(sk_arena_t *a, const void *item, sk_state_field_t *f);
    char *(*name)(sk_arena_t *a, const void *item); /* the field's name alone */
    bool (*same_key)(const void *x, const void *y);
    bool (*same)(const void *x, const void *y); /* x and y of the same key */
} field_kind_t;

#define KIND(n, v, type, fn, name, key, eq)                                                        \
    {                                                                                              \
        offsetof(sk_user_state_t, n), offsetof(sk_user_state_t, v), sizeof(type), fn, name, key,   \
            eq                                                                                     \
    }

/* In storage order: the order of the fields of sk_state_fields and of the
 * writes and deletes of sk_state_diff. */
static const field_kind_t KINDS[] = {
    KIND(n_shifts, shifts, sk_shift_t, shift_field, shift_name, shift_key, shift_same),
    KIND(n_sources, sources, sk_grant_source_t, source_field, source_name, source_key, source_same),
    KIND(n_requests, requests, sk_request_state_t, request_field, request_name, request_key,
         request_same),
    KIND(n_open_tasks, open_tasks, sk_open_task_t, open_task_field, open_task_name, open_task_key,
         open_task_same),
    KIND(n_retries, retries, sk_retry_t, retry_field, retry_name, retry_key, retry_same),
    KIND(n_held, held, sk_held_detail_t, held_field, held_name, held_key, held_same),
    KIND(n_campaign, campaign, sk_state_field_t, campaign_field, campaign_name, campaign_key,
         campaign_same),
};
#define N_KINDS (sizeof(KINDS) / sizeof(KINDS[0]))

static size_t kind_count(const field_kind_t *k, const sk_user_state_t *st)
{
    return *(const size_t *)((const char *)st + k->n_off);
}

static const char *kind_item(const field_kind_t *k, const sk_user_state_t *st, size_t i)
{
    return *(const char *const *)((const char *)st + k->v_off) + i * k->size;
}

int sk_state_fields(sk_arena_t *arena, const sk_user_state_t *st, sk_state_field_t **out, size_t *n)
{
    size_t total = 0, m = 0;
    *n = 0;
    *out = NULL;
    for (size_t k = 0; k < N_KINDS; k++)
        total += kind_count(&KINDS[k], st);
    sk_state_field_t *f = sk_arena_calloc(arena, total + 1, sizeof(*f));
    if (!f)
        return SK_ENOMEM;
    for (size_t k = 0; k < N_KINDS; k++)
        for (size_t i = 0; i < kind_count(&KINDS[k], st); i++)
            if (KINDS[k].field(arena, kind_item(&KINDS[k], st, i), &f[m++]))
                return SK_ENOMEM;
    *out = f;
    *n = total;
    return 0;
}

/* The first item of kind k in st stored under the same name as x, or NULL. */
static const void *find_item(const field_kind_t *k, const sk_user_state_t *st, const void *x)
{
    size_t n = kind_count(k, st);
    for (size_t i = 0; i < n; i++) {
        const void *y = kind_item(k, st, i);
        if (y == x || k->same_key(x, y))
            return y;
    }
    return NULL;
}

/*
 * The diff compares items, not their written fields, and keeps only what
 * changed: an item of `after` that the one of `before` under the same name
 * is `same` as is unchanged; any other is to be written. The result is
 * what comparing the two whole hashes field by field gives.
 */
int sk_state_diff_lazy(sk_arena_t *arena, const sk_user_state_t *before,
                       const sk_user_state_t *after, sk_state_diff_t *out)
{
    size_t nb = 0, na = 0;
    unsigned char *kinds;
    memset(out, 0, sizeof(*out));
    out->arena = arena;
    for (size_t k = 0; k < N_KINDS; k++) {
        nb += kind_count(&KINDS[k], before);
        na += kind_count(&KINDS[k], after);
    }
    out->items = sk_arena_alloc(arena, (na + 1) * sizeof(*out->items));
    out->item_kinds = kinds = sk_arena_alloc(arena, na + 1);
    out->del = sk_arena_calloc(arena, nb + 1, sizeof(*out->del));
    if (!out->items || !kinds || !out->del)
        return SK_ENOMEM;
    for (size_t k = 0; k < N_KINDS; k++) {
        const field_kind_t *kd = &KINDS[k];
        for (size_t i = 0; i < kind_count(kd, after); i++) {
            const void *x = kind_item(kd, after, i), *old = find_item(kd, before, x);
            if (old && (old == x || kd->same(x, old)))
                continue;
            kinds[out->n_set] = (unsigned char)k;
            out->items[out->n_set++] = x;
        }
    }
    for (size_t k = 0; k < N_KINDS; k++) {
        const field_kind_t *kd = &KINDS[k];
        for (size_t i = 0; i < kind_count(kd, before); i++) {
            const void *y = kind_item(kd, before, i);
            if (find_item(kd, after, y))
                continue;
            if (!(out->del[out->n_del++] = kd->name(arena, y)))
                return SK_ENOMEM;
        }
    }
    return 0;
}

int sk_state_diff_write(sk_state_diff_t *diff)
{
    if (diff->set || diff->n_set == 0)
        return 0;
    assert(diff->items && diff->item_kinds && diff->arena);
    sk_state_field_t *set = sk_arena_calloc(diff->arena, diff->n_set + 1, sizeof(*set));
    if (!set)
        return SK_ENOMEM;
    for (size_t i = 0; i < diff->n_set; i++)
        if (KINDS[diff->item_kinds[i]].field(diff->arena, diff->items[i], &set[i]))
            return SK_ENOMEM;
    diff->set = set;
    return 0;
}

int sk_state_diff(sk_arena_t *arena, const sk_user_state_t *before, const sk_user_state_t *after,
                  sk_state_diff_t *out)
{
    int rc = sk_state_diff_lazy(arena, before, after, out);
    if (rc != 0)
        return rc;
    if (out->n_set == 0) /* written, though empty: never NULL */
        return (out->set = sk_arena_calloc(arena, 1, sizeof(*out->set))) ? 0 : SK_ENOMEM;
    return sk_state_diff_write(out);
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
    for (size_t i = 0; i < st->n_sources; i++)
        if (st->sources[i].kind == SK_SOURCE_FOUND)
            return true;
    for (size_t i = 0; i < st->n_requests; i++)
        if (st->requests[i].status == SK_REQUEST_OPEN ||
            st->requests[i].status == SK_REQUEST_PROVISIONING)
            return true;
    return false;
}
