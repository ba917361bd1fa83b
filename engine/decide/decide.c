/* decide.c — the pure decision function (see decide.h for the contract). */
#include "decide/decide.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

/* A grant source as computed for the new state, with the rule edge that
 * produced it (NULL for sources carried over from the old state). */
typedef struct wanted_source {
    sk_grant_source_t src;
    const sk_enrollment_edge_t *edge;
} wanted_source_t;

/* Working memory of one decision. */
typedef struct decide_ctx {
    const sk_rules_t *rules;
    const sk_input_t *in;
    const sk_user_state_t *old;
    sk_arena_t *arena;
    sk_decision_t *out;
    const char *trace[64];
    size_t n_trace;
    sk_ms_t wake;
} decide_ctx_t;

static sk_ms_t ms_min(sk_ms_t a, sk_ms_t b) { return a < b ? a : b; }

/* a + b for b >= 0, saturating at SK_MS_NONE (times near the end of int64
 * come from input and must not wrap into the past). */
static sk_ms_t ms_add(sk_ms_t a, sk_ms_t b)
{
    return a > SK_MS_NONE - b ? SK_MS_NONE : a + b;
}

/* a - b for b >= 0, saturating at INT64_MIN. */
static sk_ms_t ms_sub(sk_ms_t a, sk_ms_t b)
{
    return a < INT64_MIN + b ? INT64_MIN : a - b;
}
static sk_ms_t ms_max(sk_ms_t a, sk_ms_t b) { return a > b ? a : b; }

/* Adds a line to the audit trace; silently drops lines past the cap (the
 * audit says so) and on allocation failure. */
static void trace(decide_ctx_t *c, const char *line)
{
    if (!line)
        return;
    if (c->n_trace < SK_ARRAY_LEN(c->trace) - 1)
        c->trace[c->n_trace++] = line;
    else if (c->n_trace == SK_ARRAY_LEN(c->trace) - 1)
        c->trace[c->n_trace++] = "(trace truncated)";
}

static const char *fmt_time(decide_ctx_t *c, sk_ms_t t)
{
    char buf[40];
    return sk_arena_strdup(c->arena, sk_ms_format(t, buf, sizeof(buf)));
}

/* Latest time any edge of the rotation keeps a grant after the shift end. */
static sk_ms_t rotation_max_grace(const sk_rotation_t *rot)
{
    sk_ms_t g = 0;
    for (size_t i = 0; rot && i < rot->n_edges; i++)
        g = ms_max(g, rot->edges[i].revoke_after_ms);
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
        *ignored_why = sk_arena_sprintf(c->arena, "shift '%s' is already %s; event ignored",
                                        sh->id, sh->status == SK_SHIFT_STATUS_ENDED ? "ended" : "cancelled");
        return 0;
    }
    if (sh && ev->occurred_at_ms < sh->updated_ms) {
        *ignored_why = sk_arena_sprintf(c->arena,
                                        "event is older (%s) than the last one applied to shift '%s' (%s); ignored",
                                        fmt_time(c, ev->occurred_at_ms), sh->id,
                                        fmt_time(c, sh->updated_ms));
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
    trace(c, sk_arena_sprintf(c->arena, "%s shift '%s' in rotation '%s' (level %d): %s -> %s",
                              sk_shift_event_type_name(ev->type), sh->id, sh->rotation,
                              sh->level, fmt_time(c, sh->start_ms), fmt_time(c, sh->end_ms)));
    return 0;
}

/* Forgets shifts whose window closed long ago. Keeps order. */
static void forget_old_shifts(decide_ctx_t *c, sk_shift_t *shifts, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        const sk_shift_t *sh = &shifts[i];
        sk_ms_t closes = sh->end_ms == SK_MS_NONE
                             ? SK_MS_NONE
                             : ms_add(sh->end_ms, rotation_max_grace(sk_rules_rotation(c->rules, sh->rotation)));
        if (closes != SK_MS_NONE && c->in->now_ms >= ms_add(closes, SK_SHIFT_MEMORY_MS))
            continue;
        shifts[k++] = *sh;
    }
    *n = k;
}

/* ---- step 2: the sources the shifts justify now ---- */

static wanted_source_t *find_wanted(wanted_source_t *w, size_t n, const char *ent,
                                    sk_source_kind_t kind, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].src.kind == kind && strcmp(w[i].src.ent_key, ent) == 0 &&
            strcmp(w[i].src.id, id) == 0)
            return &w[i];
    return NULL;
}

/* The grant window [from, until) of one shift through one edge, capped by
 * the entitlement's maximum duration counted from the window's start (so
 * the cap does not depend on when the event was processed). */
static void edge_window(const sk_shift_t *sh, const sk_enrollment_edge_t *e,
                        sk_ms_t *from, sk_ms_t *until)
{
    *from = ms_sub(sh->start_ms, e->grant_before_ms);
    sk_ms_t end = sh->end_ms == SK_MS_NONE ? SK_MS_NONE : ms_add(sh->end_ms, e->revoke_after_ms);
    *until = ms_min(end, ms_add(*from, e->ent->max_duration_ms));
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

/* 1 when edge e grants to shift sh (its escalation level is covered). */
static bool edge_applies(const sk_shift_t *sh, const sk_enrollment_edge_t *e)
{
    return !e->max_escalation_level || sh->level <= e->max_escalation_level;
}

sk_ms_t sk_decide_next_window_start(const sk_rules_t *rules, const sk_shift_t *shifts,
                                    size_t n_shifts, sk_ms_t now_ms)
{
    sk_ms_t wake = SK_MS_NONE;
    for (size_t i = 0; i < n_shifts; i++) {
        const sk_shift_t *sh = &shifts[i];
        const sk_rotation_t *rot = sk_rules_rotation(rules, sh->rotation);
        if (sh->status == SK_SHIFT_STATUS_CANCELLED || !rot)
            continue;
        for (size_t j = 0; j < rot->n_edges; j++) {
            sk_ms_t from, until;
            if (!edge_applies(sh, &rot->edges[j]))
                continue;
            edge_window(sh, &rot->edges[j], &from, &until);
            if (now_ms < from)
                wake = ms_min(wake, from);
        }
    }
    return wake;
}

/* The shift sources wanted now (grant windows that have begun and not
 * ended); windows still to come are sk_decide_next_window_start's. */
static size_t want_shift_sources(decide_ctx_t *c, const sk_shift_t *shifts,
                                 size_t n_shifts, wanted_source_t *w, size_t n)
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
            if (!edge_applies(sh, e))
                continue;
            edge_window(sh, e, &from, &until);
            if (now < from || now >= until || revoked_since(c, e->ent->key, from))
                continue;
            wanted_source_t *ws = find_wanted(w, n, e->ent->key, SK_SOURCE_SHIFT, sh->id);
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

/* Sources of other kinds (requests, emergencies) stay until they expire. */
static size_t keep_other_sources(decide_ctx_t *c, wanted_source_t *w, size_t n)
{
    for (size_t i = 0; i < c->old->n_sources; i++) {
        const sk_grant_source_t *s = &c->old->sources[i];
        if (s->kind == SK_SOURCE_SHIFT || s->expires_ms <= c->in->now_ms)
            continue;
        w[n].src = *s;
        w[n].edge = NULL;
        n++;
    }
    return n;
}

/* ---- step 3: compare per entitlement, emit commands ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every entitlement key that has a source before or after, sorted, unique. */
static const char **entitlement_keys(decide_ctx_t *c, const wanted_source_t *w,
                                     size_t n_w, size_t *n_keys)
{
    size_t cap = c->old->n_sources + n_w, n = 0;
    const char **keys = sk_arena_calloc(c->arena, cap + 1, sizeof(*keys));
    if (!keys)
        return NULL;
    for (size_t i = 0; i < c->old->n_sources; i++)
        keys[n++] = c->old->sources[i].ent_key;
    for (size_t i = 0; i < n_w; i++)
        keys[n++] = w[i].src.ent_key;
    qsort(keys, n, sizeof(*keys), cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(keys[k - 1], keys[i]) != 0)
            keys[k++] = keys[i];
    *n_keys = k;
    return keys;
}

void sk_decide_command_id(const sk_command_t *cmd, const char *ent_key, char out[33])
{
    XXH3_state_t st;
    char num[32];
    XXH3_128bits_reset(&st);
    const char *action = sk_command_action_name(cmd->action);
    XXH3_128bits_update(&st, action, strlen(action) + 1);
    XXH3_128bits_update(&st, cmd->user, strlen(cmd->user) + 1);
    XXH3_128bits_update(&st, ent_key, strlen(ent_key) + 1);
    snprintf(num, sizeof(num), "%" PRId64, cmd->expires_at_ms);
    XXH3_128bits_update(&st, num, strlen(num) + 1);
    for (size_t i = 0; i < cmd->n_sources; i++) {
        const sk_source_ref_t *s = &cmd->sources[i];
        snprintf(num, sizeof(num), "%d:%" PRId64, (int)s->kind, s->expires_at_ms);
        XXH3_128bits_update(&st, s->id, strlen(s->id) + 1);
        XXH3_128bits_update(&st, num, strlen(num) + 1);
    }
    XXH128_hash_t h = XXH3_128bits_digest(&st);
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64, (uint64_t)h.low64);
}

static int cmp_source_ref(const void *a, const void *b)
{
    const sk_source_ref_t *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(x->id, y->id);
}

/* Fills the command's source list from sources of `ent` (either array), and
 * flags the command emergency when an EMERGENCY source is among them: the
 * one place every decider's commands get the flag. */
static int command_sources(decide_ctx_t *c, sk_command_t *cmd, const char *ent,
                           const wanted_source_t *w, size_t n_w)
{
    size_t cap = n_w + c->old->n_sources, n = 0;
    sk_source_ref_t *refs = sk_arena_calloc(c->arena, cap + 1, sizeof(*refs));
    if (!refs)
        return SK_ENOMEM;
    if (cmd->action == SK_CMD_REVOKE) {
        for (size_t i = 0; i < c->old->n_sources; i++) {
            const sk_grant_source_t *s = &c->old->sources[i];
            if (strcmp(s->ent_key, ent) == 0)
                refs[n++] = (sk_source_ref_t){s->kind, s->id, s->rotation, s->expires_ms};
        }
    } else {
        for (size_t i = 0; i < n_w; i++) {
            const sk_grant_source_t *s = &w[i].src;
            if (strcmp(s->ent_key, ent) == 0)
                refs[n++] = (sk_source_ref_t){s->kind, s->id, s->rotation, s->expires_ms};
        }
    }
    qsort(refs, n, sizeof(*refs), cmp_source_ref);
    cmd->sources = refs;
    cmd->n_sources = n;
    for (size_t i = 0; i < n; i++)
        cmd->emergency |= refs[i].kind == SK_SOURCE_EMERGENCY;
    return 0;
}

/* The wanted source of `ent` with the latest expiry (for reasons/trace). */
static const wanted_source_t *latest_wanted(const wanted_source_t *w, size_t n,
                                            const char *ent)
{
    const wanted_source_t *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(w[i].src.ent_key, ent) == 0 &&
            (!best || w[i].src.expires_ms > best->src.expires_ms))
            best = &w[i];
    return best;
}

/* Why the last source went: it expired, or its shift ended or was
 * cancelled before the planned expiry. */
static const char *revoke_reason(decide_ctx_t *c, const sk_command_t *cmd, sk_ms_t old_exp)
{
    const sk_source_ref_t *last = cmd->n_sources ? &cmd->sources[0] : NULL;
    for (size_t i = 1; i < cmd->n_sources; i++)
        if (cmd->sources[i].expires_at_ms > last->expires_at_ms)
            last = &cmd->sources[i];
    if (!last || old_exp <= c->in->now_ms)
        return sk_arena_sprintf(c->arena, "expired at %s; no source holds it any more",
                                fmt_time(c, old_exp));
    const sk_shift_t *sh = NULL;
    for (size_t i = 0; i < c->old->n_shifts; i++)
        if (strcmp(c->old->shifts[i].id, last->id) == 0)
            sh = &c->old->shifts[i];
    const sk_schedule_event_t *ev = c->in->schedule;
    const char *what = ev && strcmp(ev->shift_id, last->id) == 0
                           ? (ev->type == SK_SHIFT_CANCELLED ? "was cancelled"
                              : ev->type == SK_SHIFT_ENDED   ? "ended"
                                                             : "changed")
                           : "no longer justifies it";
    return sk_arena_sprintf(c->arena, "%s '%s'%s%s%s %s before its planned expiry %s; no other "
                            "source holds it",
                            sk_source_kind_name(last->kind), last->id,
                            sh ? " in rotation '" : "", sh ? sh->rotation : "", sh ? "'" : "",
                            what, fmt_time(c, old_exp));
}

static const char *command_reason(decide_ctx_t *c, const sk_command_t *cmd,
                                  const wanted_source_t *why, sk_ms_t old_exp)
{
    const sk_enrollment_edge_t *e = why ? why->edge : NULL;
    switch (cmd->action) {
    case SK_CMD_GRANT:
        if (e)
            return sk_arena_sprintf(c->arena,
                                    "on call in rotation '%s' (shift '%s'): profile '%s' "
                                    "via enrollment '%s'",
                                    why->src.rotation, why->src.id, e->profile, e->enrollment);
        return sk_arena_sprintf(c->arena, "held by %s '%s'",
                                sk_source_kind_name(why->src.kind), why->src.id);
    case SK_CMD_EXTEND:
        return sk_arena_sprintf(c->arena, "expiry moved from %s to %s (%s '%s')",
                                fmt_time(c, old_exp), fmt_time(c, cmd->expires_at_ms),
                                sk_source_kind_name(why->src.kind), why->src.id);
    default:
        return revoke_reason(c, cmd, old_exp);
    }
}

static int emit_commands(decide_ctx_t *c, const wanted_source_t *w, size_t n_w)
{
    size_t n_keys = 0;
    const char **keys = entitlement_keys(c, w, n_w, &n_keys);
    sk_decision_t *out = c->out;
    if (!keys)
        return SK_ENOMEM;
    out->commands = sk_arena_calloc(c->arena, n_keys + 1, sizeof(sk_command_t));
    if (!out->commands)
        return SK_ENOMEM;
    for (size_t k = 0; k < n_keys; k++) {
        sk_ms_t old_exp = SK_MS_NONE, new_exp = SK_MS_NONE;
        bool had = false, has = false;
        for (size_t i = 0; i < c->old->n_sources; i++)
            if (strcmp(c->old->sources[i].ent_key, keys[k]) == 0) {
                old_exp = had ? ms_max(old_exp, c->old->sources[i].expires_ms)
                              : c->old->sources[i].expires_ms;
                had = true;
            }
        for (size_t i = 0; i < n_w; i++)
            if (strcmp(w[i].src.ent_key, keys[k]) == 0) {
                new_exp = has ? ms_max(new_exp, w[i].src.expires_ms) : w[i].src.expires_ms;
                has = true;
            }
        sk_command_t *cmd = &out->commands[out->n_commands];
        if (!had && has)
            cmd->action = SK_CMD_GRANT;
        else if (had && !has)
            cmd->action = SK_CMD_REVOKE;
        else if (had && has && old_exp != new_exp)
            cmd->action = SK_CMD_EXTEND;
        else
            continue;
        const sk_entitlement_t *ent = sk_rules_entitlement(c->rules, keys[k]);
        cmd->user = c->in->user;
        cmd->app = ent ? ent->app : keys[k];
        cmd->entitlement = ent ? ent->id : "";
        cmd->resource = ent ? ent->resource : "";
        cmd->permission = ent ? ent->permission : "";
        cmd->expires_at_ms = has ? new_exp : old_exp;
        cmd->issued_at_ms = c->in->now_ms;
        if (command_sources(c, cmd, keys[k], w, n_w))
            return SK_ENOMEM;
        const wanted_source_t *why = latest_wanted(w, n_w, keys[k]);
        cmd->reason = command_reason(c, cmd, why, old_exp);
        sk_decide_command_id(cmd, keys[k], cmd->command_id);
        trace(c, sk_arena_sprintf(c->arena, "%s %s until %s: %s",
                                  sk_command_action_name(cmd->action), keys[k],
                                  fmt_time(c, cmd->expires_at_ms), cmd->reason));
        out->n_commands++;
    }
    return 0;
}

/* ---- step 4: the audit record ---- */

static void audit_id(const sk_input_t *in, const char *event_id, char out[33])
{
    char buf[96];
    XXH3_state_t st;
    XXH3_128bits_reset(&st);
    XXH3_128bits_update(&st, in->user, strlen(in->user) + 1);
    XXH3_128bits_update(&st, event_id, strlen(event_id) + 1);
    snprintf(buf, sizeof(buf), "%s|%d|%" PRId64 "|%" PRId64, in->origin.topic ? in->origin.topic : "",
             in->origin.partition, in->origin.offset,
             in->origin.offset < 0 ? in->now_ms : (sk_ms_t)0);
    XXH3_128bits_update(&st, buf, strlen(buf));
    XXH128_hash_t h = XXH3_128bits_digest(&st);
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64, (uint64_t)h.low64);
}

static const char *decision_word(const sk_decision_t *d, bool changed)
{
    unsigned seen = 0;
    if (d->rejected)
        return "rejected";
    for (size_t i = 0; i < d->n_commands; i++)
        seen |= 1u << d->commands[i].action;
    switch (seen) {
    case 0: return changed ? "state_updated" : "no_change";
    case 1u << SK_CMD_GRANT: return "granted";
    case 1u << SK_CMD_REVOKE: return "revoked";
    case 1u << SK_CMD_EXTEND: return "extended";
    default: return "changed";
    }
}

static int fill_audit(decide_ctx_t *c, const char *ignored_why)
{
    sk_decision_t *out = c->out;
    sk_audit_t *a = &out->audit;
    const sk_schedule_event_t *ev = c->in->schedule;
    const char *event_id = ev ? ev->event_id : "";
    bool changed = out->diff.n_set || out->diff.n_del;

    audit_id(c->in, event_id, a->audit_id);
    a->at_ms = c->in->now_ms;
    if (ev)
        a->actor = sk_arena_sprintf(c->arena, "connector:%s", ev->source);
    else if (c->in->kind == SK_INPUT_TIMER)
        a->actor = "timer";
    else
        a->actor = sk_arena_sprintf(c->arena, "topic:%s", c->in->origin.topic);
    a->user = c->in->user;
    a->event_id = event_id;
    a->decision = ignored_why ? "ignored" : decision_word(out, changed);
    a->reason = out->rejected ? out->reject_reason
                : ignored_why ? ignored_why
                : out->n_commands ? out->commands[0].reason
                : changed ? "state updated; no access change yet"
                          : "nothing to change";
    a->rules_version = sk_rules_version(c->rules);
    a->origin = c->in->origin;
    if (!a->actor || !a->reason)
        return SK_ENOMEM;
    const char **ids = sk_arena_calloc(c->arena, out->n_commands + 1, sizeof(*ids));
    const char **tr = sk_arena_calloc(c->arena, c->n_trace + 1, sizeof(*tr));
    if (!ids || !tr)
        return SK_ENOMEM;
    for (size_t i = 0; i < out->n_commands; i++)
        ids[i] = out->commands[i].command_id;
    if (c->n_trace)
        memcpy(tr, c->trace, c->n_trace * sizeof(*tr));
    a->command_ids = ids;
    a->n_commands = out->n_commands;
    a->trace = tr;
    a->n_trace = c->n_trace;
    return 0;
}

/* ---- the decision ---- */

/* What every decider does last: DEPROVISIONING tasks for hand-provisioned
 * entitlements revoked, retries of failed commands that are due, and
 * closed requests forgotten (retry and forgetting times join the wake-up).
 * Traced. */
static int close_out(decide_ctx_t *c)
{
    sk_decision_t *out = c->out;
    size_t n_cmds = out->n_commands;
    if (sk_decide_deprovisioning(c->rules, c->in->now_ms, c->arena, out) ||
        sk_decide_retries(c->rules, c->in->now_ms, c->arena, out, &c->wake))
        return SK_ENOMEM;
    for (size_t i = 0; i < out->n_tasks; i++)
        trace(c, out->tasks[i].reason);
    for (size_t i = n_cmds; i < out->n_commands; i++)
        trace(c, out->commands[i].reason);
    int pruned = sk_decide_prune(c->rules, c->in->now_ms, &out->state, c->arena, &c->wake);
    if (pruned < 0)
        return SK_ENOMEM;
    if (pruned > 0)
        trace(c, sk_arena_sprintf(c->arena, "forgot %d closed request(s)", pruned));
    return 0;
}

int sk_decide(const sk_rules_t *rules, const sk_input_t *in,
              const sk_user_state_t *state, sk_arena_t *arena, sk_decision_t *out)
{
    decide_ctx_t c = {.rules = rules, .in = in, .old = state, .arena = arena,
                      .out = out, .wake = SK_MS_NONE};
    const char *ignored_why = NULL;
    size_t n_shifts = state->n_shifts, n_w = 0;
    int rc = SK_ENOMEM;

    assert(rules && in && state && arena && out && in->user);
    memset(out, 0, sizeof(*out));
    out->next_wake_ms = SK_MS_NONE;

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
        n_shifts = state->n_shifts;
        if (n_shifts)
            memcpy(shifts, state->shifts, n_shifts * sizeof(*shifts));
    } else {
        forget_old_shifts(&c, shifts, &n_shifts);
    }

    /* At most one wanted source per (edge, shift) plus the old sources. */
    size_t cap = state->n_sources + 1;
    for (size_t i = 0; i < n_shifts; i++) {
        const sk_rotation_t *rot = sk_rules_rotation(rules, shifts[i].rotation);
        cap += rot ? rot->n_edges : 0;
    }
    wanted_source_t *w = sk_arena_calloc(arena, cap, sizeof(*w));
    if (!w)
        goto out;
    n_w = want_shift_sources(&c, shifts, n_shifts, w, 0);
    c.wake = ms_min(c.wake, sk_decide_next_window_start(rules, shifts, n_shifts, in->now_ms));
    if (unchanged) {
        out->state = *state;
    } else {
        n_w = keep_other_sources(&c, w, n_w);
        if ((rc = emit_commands(&c, w, n_w)) != 0)
            goto out;
        rc = SK_ENOMEM;
        out->state.user = in->user;
        out->state.shifts = shifts;
        out->state.n_shifts = n_shifts;
        out->state.sources = sk_arena_calloc(arena, n_w + 1, sizeof(sk_grant_source_t));
        if (!out->state.sources)
            goto out;
        for (size_t i = 0; i < n_w; i++)
            out->state.sources[i] = w[i].src;
        out->state.n_sources = n_w;
        /* access requests are decided by sk_decide_request: carried over */
        out->state.n_requests = state->n_requests;
        out->state.requests = state->requests;
        out->state.n_open_tasks = state->n_open_tasks;
        out->state.open_tasks = state->open_tasks;
        out->state.n_retries = state->n_retries;
        out->state.retries = state->retries;
    }
    if (!out->rejected && (rc = close_out(&c)) != 0)
        goto out;
    if (out->rejected &&
        (rc = sk_decide_pending_wake(rules, in->now_ms, &out->state, arena, &c.wake)) != 0)
        goto out;
    rc = SK_ENOMEM;
    for (size_t i = 0; i < out->state.n_sources; i++)
        c.wake = ms_min(c.wake, out->state.sources[i].expires_ms);
    out->next_wake_ms = c.wake;
    out->keep_until_ms = sk_state_awaits_people(&out->state)
                             ? SK_MS_NONE
                             : ms_add(c.wake == SK_MS_NONE ? in->now_ms : c.wake,
                                      SK_SHIFT_MEMORY_MS);
    if ((rc = sk_state_diff(arena, state, &out->state, &out->diff)) != 0)
        goto out;
    rc = fill_audit(&c, ignored_why);
out:
    return rc;
}

int sk_decide_commands(const sk_rules_t *rules, const char *user, sk_ms_t now_ms,
                       const sk_user_state_t *before, const sk_grant_source_t *after,
                       size_t n_after, sk_arena_t *arena, sk_decision_t *out)
{
    sk_input_t in = {.kind = SK_INPUT_TIMER, .user = user, .now_ms = now_ms};
    decide_ctx_t c = {.rules = rules, .in = &in, .old = before, .arena = arena,
                      .out = out, .wake = SK_MS_NONE};
    wanted_source_t *w = sk_arena_calloc(arena, n_after + 1, sizeof(*w));
    assert(rules && user && before && arena && out);
    if (!w)
        return SK_ENOMEM;
    for (size_t i = 0; i < n_after; i++)
        w[i].src = after[i];
    out->n_commands = 0;
    return emit_commands(&c, w, n_after);
}

int sk_decide_reject(const sk_rules_t *rules, const sk_input_t *in,
                     sk_dead_letter_kind_t kind, const char *reason,
                     sk_arena_t *arena, sk_decision_t *out)
{
    decide_ctx_t c = {.rules = rules, .in = in, .arena = arena, .out = out,
                      .wake = SK_MS_NONE};
    memset(out, 0, sizeof(*out));
    out->next_wake_ms = SK_MS_NONE;
    reject(&c, kind, reason);
    out->state.user = in->user;
    return fill_audit(&c, NULL);
}
