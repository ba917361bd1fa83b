/*
 * cli_sim.c — the engine's decisions in memory (see cli_sim.h).
 *
 * Per user: its hash fields (copied into the user's own arena, replaced
 * whole after each decision) and its wake-up. Timers: a binary min-heap of
 * (due, user) with lazy deletion — an entry whose due is no longer the
 * user's wake-up is dropped when it comes out. The on-call index: per
 * rotation a map of field -> value, as in Redis.
 */
#include "cli/cli_sim.h"

#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"
#include "decide/oncall_index.h"

typedef struct sim_user {
    char *id;
    sk_arena_t arena; /* the fields below */
    sk_state_field_t *fields;
    size_t n_fields;
    sk_ms_t wake; /* SK_MS_NONE: none */
} sim_user_t;

typedef struct sim_timer {
    sk_ms_t due;
    sim_user_t *user;
} sim_timer_t;

struct sk_sim {
    const sk_rules_t *rules;
    sk_sim_sink_fn sink;
    void *ctx;
    sk_strmap_t users; /* id -> sim_user_t */
    sim_user_t **all;
    size_t n_users, cap_users;
    sim_timer_t *heap;
    size_t n_heap, cap_heap;
    sk_strmap_t oncall; /* rotation -> sk_strmap_t of field -> value (NULL: deleted) */
    sk_arena_t work;    /* one decision */
    sk_ms_t now;
    size_t decisions;
};

sk_sim_t *sk_sim_new(const sk_rules_t *rules, sk_sim_sink_fn sink, void *ctx)
{
    sk_sim_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->rules = rules;
    s->sink = sink;
    s->ctx = ctx;
    sk_strmap_init(&s->users);
    sk_strmap_init(&s->oncall);
    sk_arena_init(&s->work, 64 * 1024);
    s->now = 0;
    return s;
}

void sk_sim_destroy(sk_sim_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_users; i++) {
        sk_arena_fini(&s->all[i]->arena);
        free(s->all[i]->id);
        free(s->all[i]);
    }
    for (size_t i = 0; i < s->oncall.cap; i++) {
        sk_strmap_slot_t *slot = &s->oncall.slots[i];
        if (!slot->key)
            continue;
        sk_strmap_t *m = slot->value;
        for (size_t k = 0; k < m->cap; k++) {
            free((char *)m->slots[k].key);
            free(m->slots[k].value);
        }
        sk_strmap_fini(m);
        free(m);
        free((char *)slot->key);
    }
    sk_strmap_fini(&s->oncall);
    sk_strmap_fini(&s->users);
    sk_arena_fini(&s->work);
    free(s->all);
    free(s->heap);
    free(s);
}

sk_ms_t sk_sim_now(const sk_sim_t *s)
{
    return s->now;
}

size_t sk_sim_decisions(const sk_sim_t *s)
{
    return s->decisions;
}

void sk_sim_each_user(sk_sim_t *s, void (*fn)(void *ctx, const char *user), void *ctx)
{
    for (size_t i = 0; i < s->n_users; i++)
        fn(ctx, s->all[i]->id);
}

/* The user's record, created empty when absent; NULL when out of memory. */
static sim_user_t *sim_user(sk_sim_t *s, const char *id)
{
    sim_user_t *u = sk_strmap_get(&s->users, id);
    if (u)
        return u;
    if (s->n_users == s->cap_users) {
        size_t cap = s->cap_users ? s->cap_users * 2 : 64;
        sim_user_t **all = realloc(s->all, cap * sizeof(*all));
        if (!all)
            return NULL;
        s->all = all;
        s->cap_users = cap;
    }
    if (!(u = calloc(1, sizeof(*u))) || !(u->id = strdup(id))) {
        free(u);
        return NULL;
    }
    sk_arena_init(&u->arena, 512);
    u->wake = SK_MS_NONE;
    if (sk_strmap_put(&s->users, u->id, u) != 0) {
        sk_arena_fini(&u->arena);
        free(u->id);
        free(u);
        return NULL;
    }
    s->all[s->n_users++] = u;
    return u;
}

/* ---- timers: a min-heap by (due, user id) ---- */

static bool timer_less(const sim_timer_t *a, const sim_timer_t *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    return strcmp(a->user->id, b->user->id) < 0;
}

static int heap_push(sk_sim_t *s, sk_ms_t due, sim_user_t *u)
{
    if (s->n_heap == s->cap_heap) {
        size_t cap = s->cap_heap ? s->cap_heap * 2 : 256;
        sim_timer_t *h = realloc(s->heap, cap * sizeof(*h));
        if (!h)
            return SK_ENOMEM;
        s->heap = h;
        s->cap_heap = cap;
    }
    size_t i = s->n_heap++;
    s->heap[i] = (sim_timer_t){due, u};
    while (i > 0 && timer_less(&s->heap[i], &s->heap[(i - 1) / 2])) {
        sim_timer_t t = s->heap[i];
        s->heap[i] = s->heap[(i - 1) / 2];
        s->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return 0;
}

static sim_timer_t heap_pop(sk_sim_t *s)
{
    sim_timer_t top = s->heap[0];
    s->heap[0] = s->heap[--s->n_heap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->n_heap && timer_less(&s->heap[l], &s->heap[m]))
            m = l;
        if (r < s->n_heap && timer_less(&s->heap[r], &s->heap[m]))
            m = r;
        if (m == i)
            break;
        sim_timer_t t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
    return top;
}

static int set_wake(sk_sim_t *s, sim_user_t *u, sk_ms_t wake)
{
    u->wake = wake;
    return wake == SK_MS_NONE ? 0 : heap_push(s, wake, u);
}

/* ---- state in storage form ---- */

static int parse_user(sk_sim_t *s, const sim_user_t *u, const char *id, sk_arena_t *a,
                      sk_user_state_t *out)
{
    if (!u) {
        memset(out, 0, sizeof(*out));
        out->user = sk_arena_strdup(a, id);
        return out->user ? 0 : SK_ENOMEM;
    }
    (void)s;
    return sk_state_parse(a, u->id, u->fields, u->n_fields, out, NULL);
}

/* Replaces u's fields with the storage form of st (st may borrow from u's
 * arena: it is serialised into the work arena first). */
static int store_state(sk_sim_t *s, sim_user_t *u, const sk_user_state_t *st)
{
    sk_user_state_t empty = {.user = u->id};
    sk_state_diff_t all;
    int rc = sk_state_diff(&s->work, &empty, st, &all);
    if (rc)
        return rc;
    sk_arena_reset(&u->arena);
    u->n_fields = 0;
    u->fields = sk_arena_calloc(&u->arena, all.n_set + 1, sizeof(*u->fields));
    if (!u->fields)
        return SK_ENOMEM;
    for (size_t i = 0; i < all.n_set; i++) {
        const sk_state_field_t *f = &all.set[i];
        char *name = sk_arena_strndup(&u->arena, f->name, f->name_len);
        char *value = sk_arena_strndup(&u->arena, f->value, f->value_len);
        if (!name || !value)
            return SK_ENOMEM;
        u->fields[u->n_fields++] = (sk_state_field_t){name, f->name_len, value, f->value_len};
    }
    return 0;
}

/* ---- the on-call index ---- */

int sk_sim_load_oncall(sk_sim_t *s, const char *rotation, const char *field, const char *value)
{
    sk_strmap_t *m = sk_strmap_get(&s->oncall, rotation);
    if (!m) {
        char *key = strdup(rotation);
        if (!key || !(m = calloc(1, sizeof(*m))) || sk_strmap_put(&s->oncall, key, m) != 0) {
            free(key);
            free(m);
            return SK_ENOMEM;
        }
        sk_strmap_init(m);
    }
    void *old = NULL;
    char *v = value ? strdup(value) : NULL;
    if (value && !v)
        return SK_ENOMEM;
    if (sk_strmap_find(m, field, &old)) {
        free(old);
        return sk_strmap_put(m, field, v); /* the stored key is kept */
    }
    char *k = strdup(field);
    if (!k || sk_strmap_put(m, k, v) != 0) {
        free(k);
        free(v);
        return SK_ENOMEM;
    }
    return 0;
}

/* The on-call lists a request decided now may need, from the index. */
static int oncall_lists(sk_sim_t *s, const sk_request_event_t *ev, const sk_user_state_t *st,
                        sk_ms_t now, sk_oncall_list_t **lists, size_t *n_lists)
{
    const char *rots[SK_ONCALL_MAX_ROTATIONS];
    size_t n_rots = 0;
    sk_oncall_view_t view;
    int rc;
    *lists = NULL;
    *n_lists = 0;
    (void)sk_oncall_rotations(s->rules, ev, st, rots, SK_ONCALL_MAX_ROTATIONS, &n_rots);
    if ((rc = sk_oncall_view_init(&view, &s->work, rots, n_rots)) != 0 || n_rots == 0)
        return rc;
    /* The index holds each field once, so the view is filled directly
     * (sk_oncall_view_apply looks each field up: quadratic over a big
     * rotation); the window rule stays sk_oncall_view_lists'. */
    size_t total = 0;
    for (size_t r = 0; r < n_rots; r++) {
        const sk_strmap_t *m = sk_strmap_get(&s->oncall, rots[r]);
        total += m ? m->count : 0;
    }
    if (!(view.entries = sk_arena_calloc(&s->work, total + 1, sizeof(*view.entries))))
        return SK_ENOMEM;
    view.cap = total + 1;
    view.n = 0;
    for (size_t r = 0; r < n_rots; r++) {
        const sk_strmap_t *m = sk_strmap_get(&s->oncall, rots[r]);
        for (size_t k = 0; m && k < m->cap; k++)
            if (m->slots[k].key && m->slots[k].value)
                view.entries[view.n++] =
                    (sk_oncall_op_t){view.rotations[r], m->slots[k].key, m->slots[k].value};
    }
    return sk_oncall_view_lists(&view, now, &s->work, lists, n_lists);
}

/* ---- deciding ---- */

/* Keeps what a decision on u (state `before`) changed, and tells the sink. */
static int sim_keep(sk_sim_t *s, sim_user_t *u, const sk_user_state_t *before, sk_sim_out_t *o,
                    bool timer)
{
    const sk_decision_t *d = o->d;
    int rc;
    s->decisions++;
    if (!d->rejected && u) {
        sk_oncall_op_t *ops = NULL;
        size_t n_ops = 0;
        if ((rc = sk_oncall_ops(before, &d->state, &s->work, &ops, &n_ops)) != 0)
            return rc;
        for (size_t i = 0; i < n_ops; i++)
            if ((rc = sk_sim_load_oncall(s, ops[i].rotation, ops[i].field, ops[i].value)))
                return rc;
        if ((rc = store_state(s, u, &d->state)) != 0)
            return rc;
        sk_ms_t wake = d->next_wake_ms;
        if (timer && wake <= o->at_ms)
            wake = SK_MS_NONE; /* as sk_apply_timer: never again at the same instant */
        if ((rc = set_wake(s, u, wake)) != 0)
            return rc;
    }
    if (s->sink)
        s->sink(s->ctx, o);
    return 0;
}

static int fire(sk_sim_t *s, sim_user_t *u, sk_ms_t due)
{
    sk_user_state_t st;
    sk_decision_t d;
    int rc;
    sk_arena_reset(&s->work);
    if ((rc = parse_user(s, u, u->id, &s->work, &st)) != 0)
        return rc;
    sk_input_t in = {.kind = SK_INPUT_TIMER, .user = u->id, .origin = {"", 0, -1}, .now_ms = due};
    if ((rc = sk_decide(s->rules, &in, &st, &s->work, &d)) != 0)
        return rc;
    sk_sim_out_t o = {.input = SK_SIM_TIMER, .user = u->id, .at_ms = due, .d = &d};
    return sim_keep(s, u, &st, &o, true);
}

int sk_sim_advance(sk_sim_t *s, sk_ms_t t)
{
    int rc;
    while (s->n_heap && s->heap[0].due <= t) {
        sim_timer_t tm = heap_pop(s);
        if (tm.user->wake != tm.due)
            continue; /* superseded */
        tm.user->wake = SK_MS_NONE;
        if (tm.due > s->now)
            s->now = tm.due;
        if ((rc = fire(s, tm.user, tm.due)) != 0)
            return rc;
    }
    if (t > s->now)
        s->now = t;
    return 0;
}

int sk_sim_schedule(sk_sim_t *s, const sk_schedule_event_t *ev, sk_ms_t now)
{
    sk_user_state_t st;
    sk_decision_t d;
    int rc;
    if ((rc = sk_sim_advance(s, now)) != 0)
        return rc;
    sk_arena_reset(&s->work);
    sim_user_t *u = sim_user(s, ev->user);
    if (!u)
        return SK_ENOMEM;
    if ((rc = parse_user(s, u, ev->user, &s->work, &st)) != 0)
        return rc;
    sk_input_t in = {.kind = SK_INPUT_SCHEDULE,
                     .schedule = ev,
                     .user = ev->user,
                     .origin = {"shiftkey.schedule.v1", 0, -1},
                     .now_ms = now};
    if ((rc = sk_decide(s->rules, &in, &st, &s->work, &d)) != 0)
        return rc;
    sk_sim_out_t o = {.input = SK_SIM_SCHEDULE, .user = ev->user, .at_ms = now, .d = &d};
    return sim_keep(s, u, &st, &o, false);
}

int sk_sim_request(sk_sim_t *s, const sk_request_event_t *ev, sk_ms_t now)
{
    sk_user_state_t st;
    sk_request_decision_t rd;
    sk_oncall_list_t *lists;
    size_t n_lists;
    int rc;
    if ((rc = sk_sim_advance(s, now)) != 0)
        return rc;
    sk_arena_reset(&s->work);
    sim_user_t *u = sim_user(s, ev->subject);
    if (!u)
        return SK_ENOMEM;
    if ((rc = parse_user(s, u, ev->subject, &s->work, &st)) != 0 ||
        (rc = oncall_lists(s, ev, &st, now, &lists, &n_lists)) != 0)
        return rc;
    sk_request_input_t in = {.event = ev,
                             .origin = {"shiftkey.requests.v1", 0, -1},
                             .now_ms = now,
                             .n_oncall = n_lists,
                             .oncall = lists};
    if ((rc = sk_decide_request(s->rules, &in, &st, &s->work, &rd)) != 0)
        return rc;
    sk_sim_out_t o = {.input = SK_SIM_REQUEST,
                      .user = ev->subject,
                      .at_ms = now,
                      .d = &rd.base,
                      .refused = rd.refused,
                      .refuse_reason = rd.refuse_reason,
                      .request = ev};
    return sim_keep(s, u, &st, &o, false);
}

int sk_sim_result(sk_sim_t *s, const sk_provisioning_result_t *res, sk_ms_t now)
{
    sk_user_state_t st;
    sk_request_decision_t rd;
    int rc;
    if ((rc = sk_sim_advance(s, now)) != 0)
        return rc;
    sk_arena_reset(&s->work);
    sim_user_t *u = sim_user(s, res->user);
    if (!u)
        return SK_ENOMEM;
    if ((rc = parse_user(s, u, res->user, &s->work, &st)) != 0)
        return rc;
    sk_result_input_t in = {
        .result = res, .origin = {"shiftkey.provisioning.results.v1", 0, -1}, .now_ms = now};
    if ((rc = sk_decide_result(s->rules, &in, &st, &s->work, &rd)) != 0)
        return rc;
    sk_sim_out_t o = {.input = SK_SIM_RESULT,
                      .user = res->user,
                      .at_ms = now,
                      .d = &rd.base,
                      .refused = rd.refused,
                      .refuse_reason = rd.refuse_reason};
    return sim_keep(s, u, &st, &o, false);
}

int sk_sim_reject(sk_sim_t *s, sk_dead_letter_kind_t kind, const char *reason, sk_ms_t now)
{
    sk_decision_t d;
    int rc;
    if ((rc = sk_sim_advance(s, now)) != 0)
        return rc;
    sk_arena_reset(&s->work);
    sk_input_t in = {.kind = SK_INPUT_SCHEDULE, .user = "", .origin = {"", 0, -1}, .now_ms = now};
    if ((rc = sk_decide_reject(s->rules, &in, kind, reason, &s->work, &d)) != 0)
        return rc;
    sk_sim_out_t o = {.input = SK_SIM_REJECT, .user = "", .at_ms = now, .d = &d};
    return sim_keep(s, NULL, NULL, &o, false);
}

int sk_sim_state(sk_sim_t *s, const char *user, sk_arena_t *arena, sk_user_state_t *out)
{
    return parse_user(s, sk_strmap_get(&s->users, user), user, arena, out);
}

int sk_sim_load_user(sk_sim_t *s, const char *user, const sk_state_field_t *fields, size_t n_fields,
                     sk_ms_t wake_ms)
{
    sim_user_t *u = sim_user(s, user);
    if (!u)
        return SK_ENOMEM;
    sk_arena_reset(&u->arena);
    u->n_fields = 0;
    if (!(u->fields = sk_arena_calloc(&u->arena, n_fields + 1, sizeof(*u->fields))))
        return SK_ENOMEM;
    for (size_t i = 0; i < n_fields; i++) {
        char *name = sk_arena_strndup(&u->arena, fields[i].name, fields[i].name_len);
        char *value = sk_arena_strndup(&u->arena, fields[i].value, fields[i].value_len);
        if (!name || !value)
            return SK_ENOMEM;
        u->fields[u->n_fields++] =
            (sk_state_field_t){name, fields[i].name_len, value, fields[i].value_len};
    }
    return set_wake(s, u, wake_ms);
}
