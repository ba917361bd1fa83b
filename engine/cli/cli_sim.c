/*
 * cli_sim.c — the engine's decisions in memory (see cli_sim.h).
 *
 * Per user: its hash fields (each decision's diff applied to them, as the
 * apply script does in Redis) and its wake-up. Timers: a binary min-heap of
 * (due, user) with lazy deletion — an entry whose due is no longer the
 * user's wake-up is dropped when it comes out. The on-call index: per
 * rotation a map of field -> value, as in Redis.
 */
#include "cli/cli_sim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"
#include "decide/oncall_index.h"

typedef struct sim_user {
    char *id;
    sk_state_field_t *fields; /* names and values malloc'd, NUL-terminated */
    size_t n_fields, cap_fields;
    sk_ms_t wake; /* SK_MS_NONE: none */
} sim_user_t;

typedef struct sim_timer {
    sk_ms_t due;
    sim_user_t *user;
} sim_timer_t;

/* One rotation of the on-call index: its fields in an array (read whole per
 * request), and where each is (field -> index + 1; NULL once deleted). */
typedef struct sim_rotation {
    sk_arena_t names; /* field names, kept until the end (the map borrows them) */
    sk_strmap_t where;
    sk_oncall_op_t *e; /* values malloc'd */
    size_t n, cap;
} sim_rotation_t;

static void fields_clear(sim_user_t *u);

struct sk_sim {
    const sk_rules_t *rules;
    sk_sim_sink_fn sink;
    void *ctx;
    sk_strmap_t users; /* id -> sim_user_t */
    sim_user_t **all;
    size_t n_users, cap_users;
    sim_timer_t *heap;
    size_t n_heap, cap_heap;
    sk_strmap_t oncall; /* rotation id -> sim_rotation_t */
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
        fields_clear(s->all[i]);
        free(s->all[i]->fields);
        free(s->all[i]->id);
        free(s->all[i]);
    }
    for (size_t i = 0; i < s->oncall.cap; i++) {
        sk_strmap_slot_t *slot = &s->oncall.slots[i];
        if (!slot->key)
            continue;
        sim_rotation_t *r = slot->value;
        for (size_t k = 0; k < r->n; k++)
            free((char *)r->e[k].value);
        free(r->e);
        sk_strmap_fini(&r->where);
        sk_arena_fini(&r->names);
        free(r);
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
    u->wake = SK_MS_NONE;
    if (sk_strmap_put(&s->users, u->id, u) != 0) {
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

static void fields_clear(sim_user_t *u)
{
    for (size_t i = 0; i < u->n_fields; i++) {
        free((char *)u->fields[i].name);
        free((char *)u->fields[i].value);
    }
    u->n_fields = 0;
}

static size_t field_find(const sim_user_t *u, const char *name, size_t len)
{
    for (size_t i = 0; i < u->n_fields; i++)
        if (u->fields[i].name_len == len && memcmp(u->fields[i].name, name, len) == 0)
            return i;
    return u->n_fields;
}

/* Sets (or, value NULL, deletes) one field of u. 0 or SK_ENOMEM. */
static int field_put(sim_user_t *u, const char *name, size_t name_len, const char *value,
                     size_t value_len)
{
    size_t i = field_find(u, name, name_len);
    if (!value) {
        if (i < u->n_fields) {
            free((char *)u->fields[i].name);
            free((char *)u->fields[i].value);
            u->fields[i] = u->fields[--u->n_fields];
        }
        return 0;
    }
    char *v = strndup(value, value_len);
    if (!v)
        return SK_ENOMEM;
    if (i < u->n_fields) {
        free((char *)u->fields[i].value);
        u->fields[i].value = v;
        u->fields[i].value_len = value_len;
        return 0;
    }
    if (u->n_fields == u->cap_fields) {
        size_t cap = u->cap_fields ? u->cap_fields * 2 : 8;
        sk_state_field_t *f = realloc(u->fields, cap * sizeof(*f));
        if (!f) {
            free(v);
            return SK_ENOMEM;
        }
        u->fields = f;
        u->cap_fields = cap;
    }
    char *n = strndup(name, name_len);
    if (!n) {
        free(v);
        return SK_ENOMEM;
    }
    u->fields[u->n_fields++] = (sk_state_field_t){n, name_len, v, value_len};
    return 0;
}

/* Applies a decision's state diff to u's fields, as Redis would (its
 * writes written first, into the decision's arena: decide leaves them
 * unwritten). */
static int apply_diff(sim_user_t *u, const sk_state_diff_t *lazy)
{
    sk_state_diff_t written = *lazy, *diff = &written;
    int rc;
    if ((rc = sk_state_diff_write(diff)) != 0)
        return rc;
    for (size_t i = 0; i < diff->n_del; i++)
        if ((rc = field_put(u, diff->del[i], strlen(diff->del[i]), NULL, 0)) != 0)
            return rc;
    for (size_t i = 0; i < diff->n_set; i++) {
        const sk_state_field_t *f = &diff->set[i];
        if ((rc = field_put(u, f->name, f->name_len, f->value, f->value_len)) != 0)
            return rc;
    }
    return 0;
}

/* ---- the on-call index ---- */

int sk_sim_load_oncall(sk_sim_t *s, const char *rotation, const char *field, const char *value)
{
    sim_rotation_t *r = sk_strmap_get(&s->oncall, rotation);
    if (!r) {
        char *key = strdup(rotation);
        if (!key || !(r = calloc(1, sizeof(*r))) || sk_strmap_put(&s->oncall, key, r) != 0) {
            free(key);
            free(r);
            return SK_ENOMEM;
        }
        sk_arena_init(&r->names, 16 * 1024);
        sk_strmap_init(&r->where);
    }
    size_t at = (size_t)(uintptr_t)sk_strmap_get(&r->where, field); /* index + 1; 0: absent */
    if (!value) {
        if (at) {
            free((char *)r->e[at - 1].value);
            r->e[at - 1] = r->e[--r->n];
            if (at - 1 < r->n)
                sk_strmap_put(&r->where, r->e[at - 1].field, (void *)(uintptr_t)at);
            sk_strmap_put(&r->where, field, NULL);
        }
        return 0;
    }
    char *v = strdup(value);
    if (!v)
        return SK_ENOMEM;
    if (at) {
        free((char *)r->e[at - 1].value);
        r->e[at - 1].value = v;
        return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        sk_oncall_op_t *e = realloc(r->e, cap * sizeof(*e));
        if (!e) {
            free(v);
            return SK_ENOMEM;
        }
        r->e = e;
        r->cap = cap;
    }
    void *had;
    const char *name = field;
    if (!sk_strmap_find(&r->where, field, &had) && !(name = sk_arena_strdup(&r->names, field))) {
        free(v);
        return SK_ENOMEM;
    }
    r->e[r->n++] = (sk_oncall_op_t){rotation, name, v};
    if (sk_strmap_put(&r->where, name, (void *)(uintptr_t)r->n) != 0)
        return SK_ENOMEM;
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
        const sim_rotation_t *rot = sk_strmap_get(&s->oncall, rots[r]);
        total += rot ? rot->n : 0;
    }
    if (!(view.entries = sk_arena_calloc(&s->work, total + 1, sizeof(*view.entries))))
        return SK_ENOMEM;
    view.cap = total + 1;
    view.n = 0;
    for (size_t r = 0; r < n_rots; r++) {
        const sim_rotation_t *rot = sk_strmap_get(&s->oncall, rots[r]);
        for (size_t k = 0; rot && k < rot->n; k++)
            view.entries[view.n++] =
                (sk_oncall_op_t){view.rotations[r], rot->e[k].field, rot->e[k].value};
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
        if ((rc = apply_diff(u, &d->diff)) != 0)
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
    int rc;
    if (!u)
        return SK_ENOMEM;
    fields_clear(u);
    for (size_t i = 0; i < n_fields; i++)
        if ((rc = field_put(u, fields[i].name, fields[i].name_len, fields[i].value,
                            fields[i].value_len)) != 0)
            return rc;
    return set_wake(s, u, wake_ms);
}
