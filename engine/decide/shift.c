/*
 * shift.c — the decider of shift events and timers, sk_decide (see decide.h
 * for the contract): the shift table after the event, the shift sources
 * its grant windows justify now (windows.c), the commands between the
 * sources before and after (commands.c), then the common ending
 * (ending.c). Also sk_decide_reject.
 */
#include "decide/decide.h"

#include <assert.h>
#include <string.h>

#include "base/strbuf.h"
#include "decide/commands.h"
#include "decide/ending.h"
#include "decide/windows.h"

/* Working memory of one decision. */
typedef struct decide_ctx {
    const sk_rules_t *rules;
    const sk_input_t *in;
    const sk_user_state_t *old;
    sk_arena_t *arena;
    sk_decision_t *out;
    sk_decide_end_t end; /* the trace, the wake-up, the closing steps */
} decide_ctx_t;

static void trace(decide_ctx_t *c, const char *line)
{
    sk_decide_trace_add(&c->end.trace, line);
}

static const char *fmt_time(decide_ctx_t *c, sk_ms_t t)
{
    return sk_decide_fmt_time(c->arena, t);
}

/* Latest time any edge of the rotation keeps a grant after the shift end. */
static sk_ms_t rotation_max_grace(const sk_rotation_t *rot)
{
    sk_ms_t g = 0;
    for (size_t i = 0; rot && i < rot->n_edges; i++)
        g = sk_decide_ms_max(g, rot->edges[i].revoke_after_ms);
    return g;
}

/* ---- step 1: the shift table after the event ---- */

static int reject(decide_ctx_t *c, sk_dead_letter_kind_t kind, const char *reason)
{
    c->out->rejected = true;
    c->out->reject_kind = kind;
    c->out->reject_reason = reason ? reason : "rejected";
    return 0;
}

/* The trace line of an applied event, written when the audit record is
 * (the shift's fields copied: the table is compacted later). */
typedef struct shift_line {
    sk_shift_event_type_t type;
    const char *id, *rotation;
    int level;
    sk_ms_t start, end;
} shift_line_t;

/* "<TYPE> shift '<id>' in rotation '<rot>' (level <n>): <start> -> <end>" */
static void write_shift_line(sk_strbuf_t *b, const void *args)
{
    const shift_line_t *l = args;
    sk_strbuf_str(b, sk_shift_event_type_name(l->type));
    sk_strbuf_str(b, " shift '");
    sk_strbuf_str(b, l->id);
    sk_strbuf_str(b, "' in rotation '");
    sk_strbuf_str(b, l->rotation);
    sk_strbuf_str(b, "' (level ");
    sk_strbuf_i64(b, l->level);
    sk_strbuf_str(b, "): ");
    sk_strbuf_time(b, l->start);
    sk_strbuf_str(b, " -> ");
    sk_strbuf_time(b, l->end);
}

/* Applies a schedule event to the copied shift table. Sets *ignored_why when
 * the event must not change anything (stale or for a closed shift). */
static int apply_event(decide_ctx_t *c, sk_shift_t *shifts, size_t *n_shifts,
                       const char **ignored_why)
{
    const sk_schedule_event_t *ev = c->in->schedule;
    sk_shift_t *sh = NULL;

    if (!sk_rules_rotation(c->rules, ev->rotation))
        return reject(c, SK_DL_UNKNOWN_REFERENCE,
                      sk_arena_sprintf(c->arena,
                                       "rotation '%s' is not in the rules (version %s): "
                                       "add it to the rules or fix the connector's mapping",
                                       ev->rotation, sk_rules_version(c->rules)));
    if (ev->end_ms != SK_MS_NONE && ev->end_ms <= ev->start_ms)
        return reject(c, SK_DL_INVALID,
                      sk_arena_sprintf(c->arena, "shift '%s' ends (%s) before it starts (%s)",
                                       ev->shift_id, fmt_time(c, ev->end_ms),
                                       fmt_time(c, ev->start_ms)));
    for (size_t i = 0; i < *n_shifts; i++)
        if (strcmp(shifts[i].id, ev->shift_id) == 0)
            sh = &shifts[i];
    if (sh && sh->status != SK_SHIFT_STATUS_OPEN) {
        *ignored_why =
            sk_arena_sprintf(c->arena, "shift '%s' is already %s; event ignored", sh->id,
                             sh->status == SK_SHIFT_STATUS_ENDED ? "ended" : "cancelled");
        return 0;
    }
    if (sh && ev->occurred_at_ms < sh->updated_ms) {
        *ignored_why = sk_arena_sprintf(
            c->arena, "event is older (%s) than the last one applied to shift '%s' (%s); ignored",
            fmt_time(c, ev->occurred_at_ms), sh->id, fmt_time(c, sh->updated_ms));
        return 0;
    }
    if (!sh) {
        sh = &shifts[(*n_shifts)++];
        sh->id = ev->shift_id;
    }
    sh->rotation = ev->rotation;
    sh->start_ms = ev->start_ms;
    sh->end_ms = ev->end_ms;
    sh->level = ev->escalation_level;
    sh->updated_ms = ev->occurred_at_ms;
    sh->status = SK_SHIFT_STATUS_OPEN;
    if (ev->type == SK_SHIFT_ENDED) {
        sh->status = SK_SHIFT_STATUS_ENDED;
        if (sh->end_ms == SK_MS_NONE || sh->end_ms > ev->occurred_at_ms)
            sh->end_ms = ev->occurred_at_ms > sh->start_ms ? ev->occurred_at_ms : sh->end_ms;
    } else if (ev->type == SK_SHIFT_CANCELLED) {
        sh->status = SK_SHIFT_STATUS_CANCELLED;
    }
    shift_line_t *l = sk_arena_alloc(c->arena, sizeof(*l));
    if (l)
        *l = (shift_line_t){ev->type, sh->id, sh->rotation, sh->level, sh->start_ms, sh->end_ms};
    sk_decide_trace_lazy(&c->end.trace, write_shift_line, l);
    return 0;
}

/* Forgets shifts whose window closed long ago. Keeps order. */
static void forget_old_shifts(decide_ctx_t *c, sk_shift_t *shifts, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        const sk_shift_t *sh = &shifts[i];
        sk_ms_t closes =
            sh->end_ms == SK_MS_NONE
                ? SK_MS_NONE
                : sk_decide_ms_add(sh->end_ms,
                                   rotation_max_grace(sk_rules_rotation(c->rules, sh->rotation)));
        if (closes != SK_MS_NONE && c->in->now_ms >= sk_decide_ms_add(closes, SK_SHIFT_MEMORY_MS))
            continue;
        shifts[k++] = *sh;
    }
    *n = k;
}

/* ---- step 2: the sources the shifts justify now ---- */

static sk_decide_wanted_t *find_wanted(sk_decide_wanted_t *w, size_t n, const char *ent,
                                       sk_source_kind_t kind, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].src.kind == kind && strcmp(w[i].src.ent_key, ent) == 0 &&
            strcmp(w[i].src.id, id) == 0)
            return &w[i];
    return NULL;
}

/* 1 when a confirmed revocation of `ent` (a revocation proposal of the
 * user, APPROVED) came at or after `from`: the grant windows that had
 * begun by then stay revoked; later windows grant again. */
static int revoked_since(const decide_ctx_t *c, const char *ent, sk_ms_t from)
{
    for (size_t i = 0; i < c->old->n_requests; i++) {
        const sk_request_state_t *rq = &c->old->requests[i];
        if (rq->kind == SK_REQUEST_KIND_REVOCATION && rq->status == SK_REQUEST_APPROVED &&
            rq->updated_ms >= from && strcmp(rq->target, ent) == 0)
            return 1;
    }
    return 0;
}

/* The shift sources wanted now (grant windows that have begun and not
 * ended); windows still to come are sk_decide_next_window_start's. */
static size_t want_shift_sources(decide_ctx_t *c, const sk_shift_t *shifts, size_t n_shifts,
                                 sk_decide_wanted_t *w, size_t n)
{
    const sk_ms_t now = c->in->now_ms;
    for (size_t i = 0; i < n_shifts; i++) {
        const sk_shift_t *sh = &shifts[i];
        const sk_rotation_t *rot = sk_rules_rotation(c->rules, sh->rotation);
        if (sh->status == SK_SHIFT_STATUS_CANCELLED || !rot)
            continue;
        for (size_t j = 0; j < rot->n_edges; j++) {
            const sk_enrollment_edge_t *e = &rot->edges[j];
            sk_ms_t from, until;
            if (!sk_decide_edge_applies(sh, e))
                continue;
            sk_decide_edge_window(sh, e, &from, &until);
            if (now < from || now >= until || revoked_since(c, e->ent->key, from))
                continue;
            sk_decide_wanted_t *ws = find_wanted(w, n, e->ent->key, SK_SOURCE_SHIFT, sh->id);
            if (ws) {
                if (until > ws->src.expires_ms) {
                    ws->src.expires_ms = until;
                    ws->edge = e;
                }
                continue;
            }
            ws = &w[n++];
            ws->src.ent_key = e->ent->key;
            ws->src.kind = SK_SOURCE_SHIFT;
            ws->src.id = sh->id;
            ws->src.rotation = sh->rotation;
            ws->src.expires_ms = until;
            ws->edge = e;
        }
    }
    return n;
}

/* Sources of other kinds (requests, emergencies) stay until they expire,
 * or until the rules no longer have their entitlement: access no rule
 * describes any more ends (fail closed; traced). */
static size_t keep_other_sources(decide_ctx_t *c, sk_decide_wanted_t *w, size_t n)
{
    for (size_t i = 0; i < c->old->n_sources; i++) {
        const sk_grant_source_t *s = &c->old->sources[i];
        if (s->kind == SK_SOURCE_SHIFT || s->expires_ms <= c->in->now_ms)
            continue;
        if (!sk_rules_entitlement(c->rules, s->ent_key)) {
            trace(c, sk_arena_sprintf(c->arena,
                                      "%s %s of %s ends: the rules in force no longer "
                                      "have the entitlement",
                                      sk_source_kind_name(s->kind), s->id, s->ent_key));
            continue;
        }
        w[n].src = *s;
        w[n].edge = NULL;
        n++;
    }
    return n;
}

/* ---- the decision ---- */

/* prefix + s as an arena string (the actor of every schedule decision:
 * not worth a printf). NULL when out of memory. */
static const char *prefixed(sk_arena_t *arena, const char *prefix, const char *s)
{
    sk_strbuf_t b;
    sk_strbuf_init(&b, arena);
    sk_strbuf_str(&b, prefix);
    sk_strbuf_str(&b, s);
    return sk_strbuf_finish(&b);
}

/* The audit record: the decider's fields, then the common ending's. */
static int fill_audit(decide_ctx_t *c, const char *ignored_why)
{
    sk_decision_t *out = c->out;
    sk_audit_t *a = &out->audit;
    const sk_schedule_event_t *ev = c->in->schedule;
    bool changed = out->diff.n_set || out->diff.n_del;

    if (ev)
        a->actor = prefixed(c->arena, "connector:", ev->source);
    else if (c->in->kind == SK_INPUT_TIMER)
        a->actor = "timer";
    else if (c->in->kind == SK_INPUT_RULES)
        a->actor = sk_arena_sprintf(c->arena, "rules:%s", sk_rules_version(c->rules));
    else
        a->actor = sk_arena_sprintf(c->arena, "topic:%s", c->in->origin.topic);
    a->user = c->in->user;
    a->event_id = ev ? ev->event_id : "";
    a->decision = out->rejected     ? "rejected"
                  : ignored_why     ? "ignored"
                  : out->n_commands ? sk_decide_commands_word(out)
                  : changed         ? "state_updated"
                                    : "no_change";
    a->reason = out->rejected     ? out->reject_reason
                : ignored_why     ? ignored_why
                : out->n_commands ? out->commands[0].reason /* NULL: lazy, as the command's */
                : changed         ? "state updated; no access change yet"
                                  : "nothing to change";
    if (!out->rejected && !ignored_why && out->n_commands)
        a->reason_lazy = out->commands[0].reason_lazy;
    if (!a->actor)
        return SK_ENOMEM;
    /* a timer has no offset: its time tells its audit records apart */
    return sk_decide_end_audit(&c->end, &c->in->origin,
                               c->in->origin.offset < 0 ? c->in->now_ms : (sk_ms_t)0);
}

/* The new state of a decision that changes it: shifts, the wanted sources;
 * requests, open tasks and retries carried over (they are decided by
 * sk_decide_request and sk_decide_result, and by the closing steps). */
static int new_state(decide_ctx_t *c, sk_shift_t *shifts, size_t n_shifts,
                     const sk_decide_wanted_t *w, size_t n_w)
{
    const sk_user_state_t *state = c->old;
    sk_user_state_t *st = &c->out->state;
    st->user = c->in->user;
    st->shifts = shifts;
    st->n_shifts = n_shifts;
    st->sources = sk_arena_calloc(c->arena, n_w + 1, sizeof(sk_grant_source_t));
    if (!st->sources)
        return SK_ENOMEM;
    for (size_t i = 0; i < n_w; i++)
        st->sources[i] = w[i].src;
    st->n_sources = n_w;
    st->n_requests = state->n_requests;
    st->requests = state->requests;
    st->n_open_tasks = state->n_open_tasks;
    st->open_tasks = state->open_tasks;
    st->n_retries = state->n_retries;
    st->retries = state->retries;
    st->n_campaign = state->n_campaign; /* the closing steps change them (campaign.h) */
    st->campaign = state->campaign;
    return 0;
}

int sk_decide(const sk_rules_t *rules, const sk_input_t *in, const sk_user_state_t *state,
              sk_arena_t *arena, sk_decision_t *out)
{
    decide_ctx_t c; /* not zero-filled: c.end's trace slots are written before read */
    const char *ignored_why = NULL;
    size_t n_shifts = state->n_shifts, n_w = 0;
    int rc = SK_ENOMEM;

    assert(rules && in && state && arena && out && in->user);
    c.rules = rules;
    c.in = in;
    c.old = state;
    c.arena = arena;
    c.out = out;
    memset(out, 0, sizeof(*out));
    out->next_wake_ms = SK_MS_NONE;
    sk_decide_end_init(&c.end, rules, in->now_ms, arena, state, out);

    sk_shift_t *shifts = sk_arena_calloc(arena, n_shifts + 1, sizeof(*shifts));
    if (!shifts)
        goto out;
    if (n_shifts)
        memcpy(shifts, state->shifts, n_shifts * sizeof(*shifts));
    if (in->kind == SK_INPUT_SCHEDULE) {
        if ((rc = apply_event(&c, shifts, &n_shifts, &ignored_why)) != 0)
            goto out;
        rc = SK_ENOMEM;
    }
    bool unchanged = out->rejected || ignored_why;
    if (unchanged) {
        /* the old shifts and sources stand; only the wake-up is recomputed */
        out->state = *state;
    } else {
        forget_old_shifts(&c, shifts, &n_shifts);
        /* At most one wanted source per (edge, shift) plus the old sources. */
        size_t cap = state->n_sources + 1;
        for (size_t i = 0; i < n_shifts; i++) {
            const sk_rotation_t *rot = sk_rules_rotation(rules, shifts[i].rotation);
            cap += rot ? rot->n_edges : 0;
        }
        sk_decide_wanted_t *w = sk_arena_calloc(arena, cap, sizeof(*w));
        if (!w)
            goto out;
        n_w = want_shift_sources(&c, shifts, n_shifts, w, 0);
        n_w = keep_other_sources(&c, w, n_w);
        sk_decide_cmd_args_t args = {.rules = rules,
                                     .user = in->user,
                                     .now_ms = in->now_ms,
                                     .event = in->schedule,
                                     .before = state,
                                     .arena = arena,
                                     .trace = &c.end.trace};
        if ((rc = sk_decide_commands_wanted(&args, w, n_w, out)) != 0 ||
            (rc = new_state(&c, shifts, n_shifts, w, n_w)) != 0)
            goto out;
    }
    if ((rc = sk_decide_end_close(&c.end, true)) != 0)
        goto out;
    rc = fill_audit(&c, ignored_why);
out:
    return rc;
}

int sk_decide_reject(const sk_rules_t *rules, const sk_input_t *in, sk_dead_letter_kind_t kind,
                     const char *reason, sk_arena_t *arena, sk_decision_t *out)
{
    decide_ctx_t c = {.rules = rules, .in = in, .arena = arena, .out = out};
    memset(out, 0, sizeof(*out));
    out->next_wake_ms = SK_MS_NONE;
    sk_decide_end_init(&c.end, rules, in->now_ms, arena, NULL, out);
    reject(&c, kind, reason);
    out->state.user = in->user;
    return fill_audit(&c, NULL);
}
