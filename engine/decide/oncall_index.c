/* oncall_index.c — the rotation -> on-call users index (oncall_index.h). */
#include "decide/oncall_index.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The shift of st with this id when it is open; NULL otherwise. */
static const sk_shift_t *open_shift(const sk_user_state_t *st, const char *id)
{
    const sk_shift_t *s = st ? sk_state_shift(st, id) : NULL;
    return s && s->status == SK_SHIFT_STATUS_OPEN ? s : NULL;
}

static bool same_entry(const sk_shift_t *a, const sk_shift_t *b)
{
    return a && b && strcmp(a->rotation, b->rotation) == 0 && a->start_ms == b->start_ms &&
           a->end_ms == b->end_ms;
}

static const char *field_of(sk_arena_t *a, const char *user, const sk_shift_t *s)
{
    return sk_arena_sprintf(a, "%s %s", user, s->id);
}

static const char *value_of(sk_arena_t *a, const sk_shift_t *s)
{
    if (s->end_ms == SK_MS_NONE)
        return sk_arena_sprintf(a, "%" PRId64 " -", s->start_ms);
    return sk_arena_sprintf(a, "%" PRId64 " %" PRId64, s->start_ms, s->end_ms);
}

int sk_oncall_ops(const sk_user_state_t *before, const sk_user_state_t *after, sk_arena_t *arena,
                  sk_oncall_op_t **out, size_t *n)
{
    size_t nb = before ? before->n_shifts : 0, na = after ? after->n_shifts : 0, k = 0;
    const char *user = after && after->user ? after->user : before ? before->user : "";
    *out = NULL;
    *n = 0;
    if (nb + na == 0)
        return 0;
    sk_oncall_op_t *ops = sk_arena_calloc(arena, nb + na, sizeof(*ops));
    if (!ops)
        return SK_ENOMEM;
    for (size_t i = 0; i < nb; i++) {
        const sk_shift_t *b = &before->shifts[i];
        const sk_shift_t *a = open_shift(after, b->id);
        if (b->status != SK_SHIFT_STATUS_OPEN || (a && strcmp(a->rotation, b->rotation) == 0))
            continue;
        ops[k].rotation = sk_arena_strdup(arena, b->rotation);
        ops[k].field = field_of(arena, user, b);
        if (!ops[k].rotation || !ops[k].field)
            return SK_ENOMEM;
        k++;
    }
    for (size_t i = 0; i < na; i++) {
        const sk_shift_t *a = &after->shifts[i];
        if (a->status != SK_SHIFT_STATUS_OPEN || same_entry(a, open_shift(before, a->id)))
            continue;
        ops[k].rotation = sk_arena_strdup(arena, a->rotation);
        ops[k].field = field_of(arena, user, a);
        ops[k].value = value_of(arena, a);
        if (!ops[k].rotation || !ops[k].field || !ops[k].value)
            return SK_ENOMEM;
        k++;
    }
    *out = k ? ops : NULL;
    *n = k;
    return 0;
}

/* Parses a decimal ms value ending at a space or the end; SK_EINVAL. */
static int parse_ms(const char *s, char **end, sk_ms_t *out)
{
    if (*s < '0' || *s > '9')
        return SK_EINVAL;
    long long v = strtoll(s, end, 10);
    if (**end != ' ' && **end != '\0')
        return SK_EINVAL;
    *out = (sk_ms_t)v;
    return 0;
}

int sk_oncall_parse(const char *field, const char *value, sk_arena_t *arena, const char **user,
                    sk_ms_t *start_ms, sk_ms_t *end_ms)
{
    const char *sp = field ? strchr(field, ' ') : NULL;
    char *end;
    if (!sp || sp == field || !value || parse_ms(value, &end, start_ms) || *end != ' ')
        return SK_EINVAL;
    if (strcmp(end + 1, "-") == 0)
        *end_ms = SK_MS_NONE;
    else if (parse_ms(end + 1, &end, end_ms) || *end != '\0')
        return SK_EINVAL;
    *user = sk_arena_strndup(arena, field, (size_t)(sp - field));
    return *user ? 0 : SK_ENOMEM;
}

/* Adds id to rots unless there; SK_ENOMEM when full. */
static int add_rotation(const char **rots, size_t cap, size_t *n, const char *id)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(rots[i], id) == 0)
            return 0;
    if (*n >= cap)
        return SK_ENOMEM;
    rots[(*n)++] = id;
    return 0;
}

static int add_policy(const sk_policy_t *p, const char **rots, size_t cap, size_t *n)
{
    int rc = 0;
    for (size_t i = 0; p && i < p->n_steps && rc == 0; i++) {
        const sk_policy_step_t *s = &p->steps[i];
        if (s->kind == SK_STEP_REVIEWERS && s->reviewers.on_call)
            rc = add_rotation(rots, cap, n, s->reviewers.on_call->id);
    }
    return rc;
}

static int add_settings(const sk_request_settings_t *rs, const char **rots, size_t cap, size_t *n)
{
    int rc = 0;
    if (!rs)
        return 0;
    if ((rc = add_policy(rs->policy, rots, cap, n)) ||
        (rc = add_policy(rs->emergency_policy, rots, cap, n)))
        return rc;
    return add_policy(rs->revocation_policy, rots, cap, n);
}

static const sk_request_settings_t *settings_of(const sk_rules_t *rules, sk_target_kind_t kind,
                                                const char *target)
{
    if (!target || !*target)
        return NULL;
    return kind == SK_TARGET_PROFILE ? sk_rules_profile_request_settings(rules, target)
                                     : sk_rules_request_settings(rules, target);
}

int sk_oncall_rotations(const sk_rules_t *rules, const sk_request_event_t *ev,
                        const sk_user_state_t *state, const char **rots, size_t cap, size_t *n)
{
    const sk_request_state_t *rq = state ? sk_state_request(state, ev->request_id) : NULL;
    int rc;
    if ((rc = add_settings(settings_of(rules, ev->target_kind, ev->target), rots, cap, n)) ||
        (rc = add_policy(ev->policy ? sk_rules_policy(rules, ev->policy) : NULL, rots, cap, n)))
        return rc;
    if (!rq)
        return 0;
    if ((rc = add_settings(settings_of(rules, rq->target_kind, rq->target), rots, cap, n)))
        return rc;
    return add_policy(sk_rules_policy(rules, rq->policy), rots, cap, n);
}

int sk_oncall_view_init(sk_oncall_view_t *v, sk_arena_t *arena, const char *const *rotations,
                        size_t n_rotations)
{
    *v = (sk_oncall_view_t){.arena = arena, .n_rotations = n_rotations};
    v->rotations = sk_arena_calloc(arena, n_rotations + 1, sizeof(*v->rotations));
    if (!v->rotations)
        return SK_ENOMEM;
    for (size_t i = 0; i < n_rotations; i++)
        if (!(v->rotations[i] = sk_arena_strdup(arena, rotations[i])))
            return SK_ENOMEM;
    return 0;
}

static bool tracked(const sk_oncall_view_t *v, const char *rotation)
{
    for (size_t i = 0; i < v->n_rotations; i++)
        if (strcmp(v->rotations[i], rotation) == 0)
            return true;
    return false;
}

/* Index of (rotation, field) in v->entries, or v->n. */
static size_t find_entry(const sk_oncall_view_t *v, const char *rotation, const char *field)
{
    size_t i = 0;
    while (i < v->n && !(strcmp(v->entries[i].rotation, rotation) == 0 &&
                         strcmp(v->entries[i].field, field) == 0))
        i++;
    return i;
}

/* Makes room for one more entry (the arena keeps the old array). */
static int grow(sk_oncall_view_t *v)
{
    if (v->n < v->cap)
        return 0;
    size_t cap = v->cap ? v->cap * 2 : 16;
    sk_oncall_op_t *e = sk_arena_calloc(v->arena, cap, sizeof(*e));
    if (!e)
        return SK_ENOMEM;
    if (v->n)
        memcpy(e, v->entries, v->n * sizeof(*e));
    v->entries = e;
    v->cap = cap;
    return 0;
}

int sk_oncall_view_apply(sk_oncall_view_t *v, const sk_oncall_op_t *ops, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const sk_oncall_op_t *op = &ops[k];
        if (!tracked(v, op->rotation))
            continue;
        size_t i = find_entry(v, op->rotation, op->field);
        if (!op->value) {
            if (i < v->n)
                v->entries[i] = v->entries[--v->n];
            continue;
        }
        if (i == v->n) {
            if (grow(v))
                return SK_ENOMEM;
            v->entries[i].rotation = sk_arena_strdup(v->arena, op->rotation);
            v->entries[i].field = sk_arena_strdup(v->arena, op->field);
            if (!v->entries[i].rotation || !v->entries[i].field)
                return SK_ENOMEM;
            v->n++;
        }
        if (!(v->entries[i].value = sk_arena_strdup(v->arena, op->value)))
            return SK_ENOMEM;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int sk_oncall_view_lists(const sk_oncall_view_t *v, sk_ms_t now, sk_arena_t *arena,
                         sk_oncall_list_t **lists, size_t *n_lists)
{
    sk_oncall_list_t *l = sk_arena_calloc(arena, v->n_rotations + 1, sizeof(*l));
    if (!l)
        return SK_ENOMEM;
    for (size_t r = 0; r < v->n_rotations; r++) {
        const char **users = sk_arena_calloc(arena, v->n + 1, sizeof(*users));
        size_t n = 0;
        if (!users)
            return SK_ENOMEM;
        for (size_t i = 0; i < v->n; i++) {
            const char *user;
            sk_ms_t start, end;
            if (strcmp(v->entries[i].rotation, v->rotations[r]) != 0)
                continue;
            int rc = sk_oncall_parse(v->entries[i].field, v->entries[i].value, arena, &user, &start,
                                     &end);
            if (rc == SK_ENOMEM)
                return rc;
            if (rc == 0 && end == SK_MS_NONE && start < SK_MS_NONE - SK_ONCALL_OPEN_END_MAX_MS)
                end = start + SK_ONCALL_OPEN_END_MAX_MS; /* see the header */
            if (rc == 0 && start <= now && now < end)
                users[n++] = user;
        }
        qsort(users, n, sizeof(*users), cmp_str);
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
            if (w == 0 || strcmp(users[w - 1], users[i]) != 0)
                users[w++] = users[i];
        l[r] = (sk_oncall_list_t){.rotation = v->rotations[r], .n_users = w, .users = users};
    }
    *lists = l;
    *n_lists = v->n_rotations;
    return 0;
}
