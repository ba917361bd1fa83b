/* ending.c — the common ending of every decision (see ending.h). */
#include "decide/ending.h"

#include "base/strbuf.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "decide/campaign.h"
#include "decide/followups.h"
#include "decide/windows.h"

void sk_decide_end_init(sk_decide_end_t *e, const sk_rules_t *rules, sk_ms_t now_ms,
                        sk_arena_t *arena, const sk_user_state_t *old, sk_decision_t *d)
{
    /* not memset: the trace's 64 slots are written before they are read */
    e->trace.n = 0;
    e->rules = rules;
    e->now_ms = now_ms;
    e->arena = arena;
    e->old = old;
    e->d = d;
    e->wake = SK_MS_NONE;
}

/* The closing steps proper; lower e->wake. */
static int closing_steps(sk_decide_end_t *e, bool retries_due)
{
    sk_decision_t *d = e->d;
    size_t n_cmds = d->n_commands, n_tasks = d->n_tasks;
    if (d->rejected)
        return sk_decide_pending_wake(e->rules, e->now_ms, &d->state, e->arena, &e->wake) ||
                       sk_campaign_pending_wake(e->now_ms, &d->state, e->arena, &e->wake)
                   ? SK_ENOMEM
                   : 0;
    /* before the deprovisioning step: a review's REVOKE of an entitlement
     * provisioned by hand opens its DEPROVISIONING task there */
    if (sk_campaign_followups(e->rules, e->now_ms, e->arena, e->old, d, &e->trace, &e->wake))
        return SK_ENOMEM;
    if (sk_decide_deprovisioning(e->rules, e->now_ms, e->arena, d))
        return SK_ENOMEM;
    if (retries_due && sk_decide_retries(e->rules, e->now_ms, e->arena, d, &e->wake))
        return SK_ENOMEM;
    for (size_t i = 0; !retries_due && i < d->state.n_retries; i++)
        e->wake = sk_decide_ms_min(e->wake, d->state.retries[i].next_ms);
    for (size_t i = n_tasks; i < d->n_tasks; i++)
        sk_decide_trace_add(&e->trace, d->tasks[i].reason);
    for (size_t i = n_cmds; i < d->n_commands; i++) {
        if (d->commands[i].reason)
            sk_decide_trace_add(&e->trace, d->commands[i].reason);
        else /* a reason left lazy (commands.c) */
            sk_decide_trace_text(&e->trace, d->commands[i].reason_lazy);
    }
    int pruned = sk_decide_prune(e->rules, e->now_ms, &d->state, e->arena, &e->wake);
    if (pruned < 0)
        return SK_ENOMEM;
    if (pruned > 0)
        sk_decide_trace_add(
            &e->trace, sk_arena_sprintf(e->arena,
                                        "forgot %d closed request(s) older than "
                                        "the memory of %s",
                                        pruned, sk_decide_fmt_dur(e->arena, SK_SHIFT_MEMORY_MS)));
    return 0;
}

/* d->state.held: the details of every entitlement its sources hold, from
 * the rules in force, else (an entitlement the rules forgot) as remembered
 * in the state before, so that a later REVOKE is complete (state.h "e:").
 * An entitlement without resource and permission needs no field. */
static int held_details(sk_decide_end_t *e)
{
    sk_user_state_t *st = &e->d->state;
    sk_held_detail_t *h = sk_arena_calloc(e->arena, st->n_sources + 1, sizeof(*h));
    size_t n = 0;
    if (!h)
        return SK_ENOMEM;
    for (size_t i = 0; i < st->n_sources; i++) {
        const char *key = st->sources[i].ent_key;
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(h[j].ent_key, key) == 0;
        if (seen)
            continue;
        const sk_entitlement_t *ent = sk_rules_entitlement(e->rules, key);
        const sk_held_detail_t *was = sk_state_held(e->old, key);
        sk_held_detail_t now = {key, ent ? ent->resource : "", ent ? ent->permission : ""};
        if (!ent && was)
            now = *was;
        if (now.resource[0] || now.permission[0]) /* nothing to remember otherwise */
            h[n++] = now;
    }
    st->held = h;
    st->n_held = n;
    return 0;
}

int sk_decide_end_close(sk_decide_end_t *e, bool retries_due)
{
    sk_decision_t *d = e->d;
    const sk_user_state_t *st = &d->state;
    int rc;
    assert(e->rules && e->arena && e->old && d);
    if ((rc = closing_steps(e, retries_due)) != 0 || (rc = held_details(e)) != 0)
        goto out;
    sk_ms_t wake = sk_decide_ms_min(
        e->wake, sk_decide_next_window_start(e->rules, st->shifts, st->n_shifts, e->now_ms));
    for (size_t i = 0; i < st->n_sources; i++)
        wake = sk_decide_ms_min(wake, st->sources[i].expires_ms);
    e->wake = d->next_wake_ms = wake;
    d->keep_until_ms =
        sk_state_awaits_people(st)
            ? SK_MS_NONE
            : sk_decide_ms_add(wake == SK_MS_NONE ? e->now_ms : wake, SK_SHIFT_MEMORY_MS);
    rc = sk_state_diff_lazy(e->arena, e->old, st, &d->diff) ? SK_ENOMEM : 0;
out:
    return rc;
}

const char *sk_decide_commands_word(const sk_decision_t *d)
{
    unsigned seen = 0;
    for (size_t i = 0; i < d->n_commands; i++)
        seen |= 1u << d->commands[i].action;
    switch (seen) {
    case 1u << SK_CMD_GRANT: return "granted";
    case 1u << SK_CMD_REVOKE: return "revoked";
    case 1u << SK_CMD_EXTEND: return "extended";
    default: return "changed";
    }
}

/* Bounds every free text of the decision (ending.h); SK_ENOMEM or 0. */
static int bound_texts(sk_decide_end_t *e)
{
    sk_decision_t *d = e->d;
    for (size_t i = 0; i < d->n_tasks; i++)
        if (d->tasks[i].reason &&
            !(d->tasks[i].reason = sk_decide_text_bound(e->arena, d->tasks[i].reason)))
            return SK_ENOMEM;
    for (size_t i = 0; i < d->n_commands; i++)
        if (d->commands[i].reason &&
            !(d->commands[i].reason = sk_decide_text_bound(e->arena, d->commands[i].reason)))
            return SK_ENOMEM;
    if (d->reject_reason && !(d->reject_reason = sk_decide_text_bound(e->arena, d->reject_reason)))
        return SK_ENOMEM;
    if (d->audit.reason && !(d->audit.reason = sk_decide_text_bound(e->arena, d->audit.reason)))
        return SK_ENOMEM;
    return 0; /* trace lines are bounded when they are written (sk_text_render) */
}

static void audit_id(const sk_audit_t *a, const sk_origin_t *o, sk_ms_t id_tail, char out[33])
{
    /* hashed: user and event id, NUL-ended, then
     * "<topic>|<partition>|<offset>[|<id_tail>]" cut to 95 bytes (the fixed
     * buffer it was once printed into) */
    sk_strbuf_t b;
    sk_strbuf_init(&b, NULL); /* no arena: cut at the builder's size */
    sk_strbuf_str(&b, o->topic ? o->topic : "");
    sk_strbuf_chr(&b, '|');
    sk_strbuf_i64(&b, o->partition);
    sk_strbuf_chr(&b, '|');
    sk_strbuf_i64(&b, o->offset);
    if (id_tail != SK_MS_NONE) {
        sk_strbuf_chr(&b, '|');
        sk_strbuf_i64(&b, id_tail);
    }
    size_t lu = strlen(a->user) + 1, le = strlen(a->event_id) + 1, lo = b.len > 95 ? 95 : b.len;
    char small[512];
    XXH128_hash_t h;
    if (lu + le + lo <= sizeof(small)) { /* at once: the same hash as in pieces, faster */
        memcpy(small, a->user, lu);
        memcpy(small + lu, a->event_id, le);
        memcpy(small + lu + le, b.p, lo);
        h = XXH3_128bits(small, lu + le + lo);
    } else {
        XXH3_state_t st;
        XXH3_128bits_reset(&st);
        XXH3_128bits_update(&st, a->user, lu);
        XXH3_128bits_update(&st, a->event_id, le);
        XXH3_128bits_update(&st, b.p, lo);
        h = XXH3_128bits_digest(&st);
    }
    sk_fmt_hex64(out, (uint64_t)h.high64);
    sk_fmt_hex64(out + 16, (uint64_t)h.low64);
    out[32] = '\0';
}

int sk_decide_end_audit(sk_decide_end_t *e, const sk_origin_t *origin, sk_ms_t id_tail)
{
    sk_decision_t *d = e->d;
    sk_audit_t *a = &d->audit;
    int rc = SK_ENOMEM;
    assert(origin && a->user && a->event_id);
    if (!a->decision || (!a->reason && !a->reason_lazy.s && !a->reason_lazy.write) ||
        bound_texts(e))
        goto out;
    audit_id(a, origin, id_tail, a->audit_id);
    a->at_ms = e->now_ms;
    a->rules_version = sk_rules_version(e->rules);
    a->origin = *origin;
    const char **ids = sk_arena_calloc(e->arena, d->n_commands + 1, sizeof(*ids));
    sk_text_t *tr = sk_arena_calloc(e->arena, e->trace.n + 1, sizeof(*tr));
    if (!ids || !tr)
        goto out;
    for (size_t i = 0; i < d->n_commands; i++)
        ids[i] = d->commands[i].command_id;
    if (e->trace.n)
        memcpy(tr, e->trace.lines, e->trace.n * sizeof(*tr));
    a->command_ids = ids;
    a->n_commands = d->n_commands;
    a->trace = tr;
    a->n_trace = e->trace.n;
    rc = 0;
out:
    return rc;
}
