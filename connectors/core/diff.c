/* diff.c — platform shifts vs. state → schedule events (see diff.h). Pure. */
#include "diff.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

void sk_conn_event_id(const char *source, const char *shift_id, const char *user,
                      sk_shift_event_type_t type, sk_ms_t start_ms, sk_ms_t end_ms, unsigned seq,
                      char out[80])
{
    XXH3_state_t st;
    const char *tname = sk_shift_event_type_name(type);
    int64_t times[2] = {start_ms, end_ms};
    uint32_t s = seq;
    XXH3_128bits_reset(&st);
    XXH3_128bits_update(&st, shift_id, strlen(shift_id) + 1);
    XXH3_128bits_update(&st, user, strlen(user) + 1);
    XXH3_128bits_update(&st, tname, strlen(tname) + 1);
    XXH3_128bits_update(&st, times, sizeof(times));
    XXH3_128bits_update(&st, &s, sizeof(s));
    XXH128_hash_t h = XXH3_128bits_digest(&st);
    snprintf(out, 80, "%.40s-%016llx%016llx", source, (unsigned long long)h.high64,
             (unsigned long long)h.low64);
}

void sk_conn_events_fini(sk_conn_events_t *evs)
{
    for (size_t i = 0; i < evs->n_strs; i++)
        free(evs->strs[i]);
    free(evs->strs);
    free(evs->v);
    memset(evs, 0, sizeof(*evs));
}

static const char *keep(sk_conn_events_t *evs, const char *s)
{
    if (evs->n_strs == evs->cap_strs) {
        size_t ncap = evs->cap_strs ? evs->cap_strs * 2 : 32;
        char **n = realloc(evs->strs, ncap * sizeof(*n));
        if (!n)
            return NULL;
        evs->strs = n;
        evs->cap_strs = ncap;
    }
    char *c = strdup(s);
    if (c)
        evs->strs[evs->n_strs++] = c;
    return c;
}

typedef struct diff_ctx {
    const char *source, *rotation;
    sk_ms_t now;
    sk_conn_events_t *out;
} diff_ctx_t;

/* Records one event for e (already updated to the values it carries) and
 * advances e's bookkeeping. 0 or SK_ENOMEM. */
static int emit(diff_ctx_t *c, sk_conn_seen_t *e, sk_shift_event_type_t type)
{
    sk_conn_events_t *o = c->out;
    if (o->n == o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 16;
        sk_conn_event_t *n = realloc(o->v, ncap * sizeof(*n));
        if (!n)
            return SK_ENOMEM;
        o->v = n;
        o->cap = ncap;
    }
    sk_conn_event_t *ce = &o->v[o->n];
    memset(ce, 0, sizeof(*ce));
    e->seq++;
    e->last = type;
    e->updated_ms = c->now;
    sk_conn_event_id(c->source, e->id, e->user, type, e->start_ms, e->end_ms, e->seq, ce->event_id);
    ce->ev.type = type;
    ce->ev.source = c->source;
    ce->ev.rotation = c->rotation;
    ce->ev.shift_id = keep(o, e->id);
    ce->ev.user = keep(o, e->user);
    if (!ce->ev.shift_id || !ce->ev.user)
        return SK_ENOMEM;
    ce->ev.start_ms = e->start_ms;
    ce->ev.end_ms = e->end_ms;
    ce->ev.escalation_level = e->level;
    ce->ev.occurred_at_ms = c->now;
    o->n++;
    return 0;
}

static int listed_end_passed(sk_ms_t end, sk_ms_t now)
{
    return end != SK_MS_NONE && end <= now;
}

/*
 * The open shift of old (the first n_old entries of st) that the clipped
 * listed shift s continues: same series and user, started at or before the
 * window's start (or itself only known from a window's start), not ended
 * before it. NULL when s is not clipped at its start or nothing matches.
 */
static sk_conn_seen_t *find_continued(const sk_conn_state_t *st, size_t n_old,
                                      const sk_conn_shift_t *s)
{
    if (!s->start_clipped || !s->series || s->start_ms == SK_CONN_START_UNKNOWN)
        return NULL;
    size_t k = strlen(s->series);
    for (size_t i = 0; i < n_old; i++) {
        sk_conn_seen_t *e = &st->v[i];
        if (sk_conn_seen_closed(e) || strcmp(e->user, s->user) != 0 ||
            strncmp(e->id, s->series, k) != 0 || e->id[k] != ':')
            continue;
        if (e->start_ms > s->start_ms && !(e->flags & SK_CONN_SEEN_START_BOUND))
            continue; /* began inside the window: another period */
        if (e->end_ms != SK_MS_NONE && e->end_ms < s->start_ms)
            continue; /* over before the window: another period */
        return e;
    }
    return NULL;
}

/* A listed shift that is already known and open. */
static int diff_known(diff_ctx_t *c, sk_conn_seen_t *e, const sk_conn_shift_t *s, sk_ms_t horizon)
{
    sk_ms_t start = s->start_ms == SK_CONN_START_UNKNOWN ? e->start_ms : s->start_ms;
    sk_ms_t end = s->end_ms;
    unsigned flags = e->flags & ~SK_CONN_SEEN_HELD;
    if (s->start_clipped && e->start_ms <= start)
        start = e->start_ms; /* the window cut it: the start known earlier stands */
    else if (s->start_clipped)
        flags |= SK_CONN_SEEN_START_BOUND;
    else if (s->start_ms != SK_CONN_START_UNKNOWN)
        flags &= ~SK_CONN_SEEN_START_BOUND;
    if (!s->end_clipped)
        flags &= ~SK_CONN_SEEN_END_BOUND;
    else if (e->end_ms == SK_MS_NONE || e->end_ms >= end)
        end = e->end_ms; /* "at least until": what is known already goes as far */
    else if ((e->flags & SK_CONN_SEEN_END_BOUND) && e->end_ms >= horizon)
        end = e->end_ms; /* a bound still beyond the look-ahead: moved when it comes near */
    else
        flags |= SK_CONN_SEEN_END_BOUND;
    e->flags = flags;
    if (s->cancelled) {
        e->start_ms = start;
        e->end_ms = end;
        return emit(c, e, SK_SHIFT_CANCELLED);
    }
    if (listed_end_passed(end, c->now)) {
        e->start_ms = start;
        e->end_ms = end;
        return emit(c, e, SK_SHIFT_ENDED);
    }
    int moved = start != e->start_ms || end != e->end_ms || s->level != e->level;
    int begun = e->last == SK_SHIFT_SCHEDULED && start <= c->now;
    if (!moved && !begun)
        return 0;
    e->start_ms = start;
    e->end_ms = end;
    e->level = s->level;
    return emit(c, e, begun ? SK_SHIFT_STARTED : SK_SHIFT_UPDATED);
}

/* 1 when a known open shift that is no longer listed would be closed
 * because it vanished (not because its end passed, not out of view). */
static int vanishes(const sk_conn_seen_t *e, sk_ms_t now, sk_ms_t horizon)
{
    return !listed_end_passed(e->end_ms, now) && e->start_ms < horizon;
}

/* A known open shift the platform no longer lists (readable = 1), or any
 * known open shift when the platform could not be read (readable = 0).
 * hold: the poll is held (too many vanish at once): a shift vanishing for
 * the first time is only marked; one already marked is closed. */
static int diff_unlisted(diff_ctx_t *c, sk_conn_seen_t *e, sk_ms_t horizon, int readable, int hold,
                         sk_conn_diff_stats_t *st)
{
    if (listed_end_passed(e->end_ms, c->now))
        return emit(c, e, SK_SHIFT_ENDED);
    if (!readable || e->start_ms >= horizon)
        return 0;
    if (hold && !(e->flags & SK_CONN_SEEN_HELD)) {
        e->flags |= SK_CONN_SEEN_HELD;
        st->held++;
        return 0;
    }
    if (e->start_ms > c->now)
        return emit(c, e, SK_SHIFT_CANCELLED);
    e->end_ms = c->now > e->start_ms ? c->now : e->start_ms + 1;
    e->flags &= ~SK_CONN_SEEN_END_BOUND;
    return emit(c, e, SK_SHIFT_ENDED);
}

/* A listed shift not in the state. */
static int diff_new(diff_ctx_t *c, sk_conn_state_t *next, const sk_conn_shift_t *s,
                    sk_ms_t horizon)
{
    sk_ms_t start = s->start_ms == SK_CONN_START_UNKNOWN ? c->now : s->start_ms;
    if (s->cancelled || listed_end_passed(s->end_ms, c->now) || start >= horizon)
        return 0;
    sk_conn_seen_t e = {.id = s->id, .user = s->user, .start_ms = start, .end_ms = s->end_ms,
                        .level = s->level, .last = SK_SHIFT_SCHEDULED};
    e.flags = (s->start_clipped ? SK_CONN_SEEN_START_BOUND : 0) |
              (s->end_clipped ? SK_CONN_SEEN_END_BOUND : 0);
    if (sk_conn_state_add(next, &e))
        return SK_ENOMEM;
    return emit(c, &next->v[next->n - 1], start <= c->now ? SK_SHIFT_STARTED : SK_SHIFT_SCHEDULED);
}

/* Drops tombstones past their keep time. */
static void forget_closed(sk_conn_state_t *st, sk_ms_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < st->n; i++) {
        sk_conn_seen_t *e = &st->v[i];
        sk_ms_t last = e->end_ms == SK_MS_NONE || e->end_ms < e->updated_ms ? e->updated_ms : e->end_ms;
        if (sk_conn_seen_closed(e) && now - last > SK_CONN_TOMBSTONE_MS) {
            free(e->id);
            free(e->user);
            continue;
        }
        st->v[k++] = *e;
    }
    st->n = k;
}

int sk_conn_diff(const char *source, const char *rotation, const sk_conn_state_t *old,
                 const sk_conn_shifts_t *now_shifts, sk_ms_t now_ms, sk_ms_t horizon_ms,
                 const sk_conn_diff_opts_t *opts, sk_conn_state_t *next, sk_conn_events_t *out,
                 sk_conn_diff_stats_t *stats)
{
    diff_ctx_t c = {source, rotation, now_ms, out};
    sk_conn_diff_stats_t st = {0};
    size_t n_old = old->n;
    char *listed = NULL;
    int rc = SK_ENOMEM, hold = 0;
    memset(out, 0, sizeof(*out));
    if (sk_conn_state_copy(next, old))
        return SK_ENOMEM;
    if (n_old && !(listed = calloc(n_old, 1)))
        goto out;
    for (size_t i = 0; now_shifts && i < now_shifts->n; i++) {
        const sk_conn_shift_t *s = &now_shifts->v[i];
        sk_conn_seen_t *e = sk_conn_state_find(next, s->id, s->user);
        if (!e)
            e = find_continued(next, n_old, s);
        if (!e) {
            if (diff_new(&c, next, s, horizon_ms))
                goto out;
            continue;
        }
        if ((size_t)(e - next->v) < n_old)
            listed[e - next->v] = 1;
        if (!sk_conn_seen_closed(e) && diff_known(&c, e, s, horizon_ms))
            goto out;
    }
    for (size_t i = 0; i < n_old; i++) {
        const sk_conn_seen_t *e = &next->v[i];
        if (sk_conn_seen_closed(e))
            continue;
        st.open++;
        st.vanished += now_shifts && !listed[i] && vanishes(e, now_ms, horizon_ms);
    }
    hold = opts && opts->max_end_share < 1.0 && (double)st.vanished > opts->max_end_share * (double)st.open;
    for (size_t i = 0; i < n_old; i++) {
        sk_conn_seen_t *e = &next->v[i];
        if (!listed[i] && !sk_conn_seen_closed(e) &&
            diff_unlisted(&c, e, horizon_ms, now_shifts != NULL, hold, &st))
            goto out;
    }
    forget_closed(next, now_ms);
    for (size_t i = 0; i < out->n; i++) /* the array may have moved while it grew */
        out->v[i].ev.event_id = out->v[i].event_id;
    rc = 0;
out:
    free(listed);
    if (stats)
        *stats = st;
    if (rc) {
        sk_conn_state_fini(next);
        sk_conn_events_fini(out);
    }
    return rc;
}
