/*
 * commands.c — the GRANT / EXTEND / REVOKE commands between two source
 * tables, their reasons and deterministic ids (see commands.h).
 */
#include "decide/commands.h"

#include "base/strbuf.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* The decimal text of the last numbers an id hashed: the commands of one
 * computation mostly carry the same expiries (one shift's end), so each is
 * written once, not once per command and source. */
typedef struct num_memo {
    int64_t v[2];
    char s[2][24];
    size_t n[2]; /* 0: the slot is empty */
    unsigned next;
} num_memo_t;

/* Working memory of one computation. */
typedef struct cmd_ctx {
    const sk_decide_cmd_args_t *a;
    const sk_user_state_t *old; /* a->before */
    sk_arena_t *arena;
    num_memo_t memo;
} cmd_ctx_t;

/*
 * What the command of entitlement `key` acts on: app, entitlement, resource
 * and permission from the rules in force; for an entitlement the rules no
 * longer have, app and entitlement from the key ("app/entitlement") and
 * resource and permission as the state remembered them while it was held
 * (state.h "e:"), so that its REVOKE is still complete. SK_ENOMEM or 0.
 */
static int describe(cmd_ctx_t *c, sk_command_t *cmd, const char *key)
{
    const sk_entitlement_t *ent = sk_rules_entitlement(c->a->rules, key);
    cmd->user = c->a->user;
    if (ent) {
        cmd->app = ent->app;
        cmd->entitlement = ent->id;
        cmd->resource = ent->resource;
        cmd->permission = ent->permission;
        return 0;
    }
    const char *slash = strchr(key, '/');
    const sk_held_detail_t *was = c->old ? sk_state_held(c->old, key) : NULL;
    cmd->app = slash ? sk_arena_strndup(c->arena, key, (size_t)(slash - key)) : key;
    cmd->entitlement = slash ? slash + 1 : "";
    cmd->resource = was ? was->resource : "";
    cmd->permission = was ? was->permission : "";
    return cmd->app ? 0 : SK_ENOMEM;
}

/* Two entitlement keys are the same: often the same pointer (the rules'
 * key, shared by every source made from it), compared first. */
static inline bool same_key(const char *a, const char *b)
{
    return a == b || strcmp(a, b) == 0;
}

/* The sorts here are insertion sorts: a user holds a handful of
 * entitlements and sources, and qsort's call per comparison cost more than
 * the sorting. Stable, like glibc's qsort (a merge sort) on such arrays:
 * of equal keys the first given stays first (keys are made unique after;
 * sources are unique per entitlement). */

/* The entitlement keys of a computation: every key that has a source
 * before or after, sorted, unique (keys), and for each source, the index
 * of its key there (old_k for the sources before, w_k for the wanted
 * ones), so that the loops below compare indexes, not strings. */
typedef struct key_set {
    const char **keys;
    size_t n;
    size_t *old_k, *w_k;
} key_set_t;

/* One key with where it came from: i < n_old a source before, else the
 * wanted source i - n_old. */
typedef struct key_ref {
    const char *key;
    size_t from;
} key_ref_t;

static int key_cmp(const char *a, const char *b)
{
    return a == b ? 0 : strcmp(a, b);
}

static int entitlement_keys(cmd_ctx_t *c, const sk_decide_wanted_t *w, size_t n_w, key_set_t *ks)
{
    size_t n_old = c->old->n_sources, n = n_old + n_w;
    key_ref_t *r = sk_arena_alloc(c->arena, (n + 1) * sizeof(*r));
    ks->keys = sk_arena_calloc(c->arena, n + 1, sizeof(*ks->keys));
    ks->old_k = sk_arena_alloc(c->arena, (n + 1) * sizeof(*ks->old_k));
    ks->n = 0;
    if (!r || !ks->keys || !ks->old_k)
        return SK_ENOMEM;
    ks->w_k = ks->old_k + n_old;
    for (size_t i = 0; i < n_old; i++)
        r[i] = (key_ref_t){c->old->sources[i].ent_key, i};
    for (size_t i = 0; i < n_w; i++)
        r[n_old + i] = (key_ref_t){w[i].src.ent_key, n_old + i};
    /* insertion sort, stable: a user holds a handful of sources */
    for (size_t i = 1; i < n; i++) {
        key_ref_t x = r[i];
        size_t j = i;
        for (; j > 0 && key_cmp(r[j - 1].key, x.key) > 0; j--)
            r[j] = r[j - 1];
        r[j] = x;
    }
    for (size_t i = 0; i < n; i++) {
        if (ks->n == 0 || !same_key(ks->keys[ks->n - 1], r[i].key))
            ks->keys[ks->n++] = r[i].key;
        ks->old_k[r[i].from] = ks->n - 1; /* old_k and w_k are one array */
    }
    return 0;
}

/* The deterministic id of a command (commands.h): writes 32 hex chars and
 * a NUL into out. */
/* Appends n bytes to the id's input in buf (cap bytes); false when full. */
static bool id_put(char *buf, size_t cap, size_t *len, const void *p, size_t n)
{
    if (cap - *len < n)
        return false;
    memcpy(buf + *len, p, n);
    *len += n;
    return true;
}

/* Writes v in decimal into out (24 bytes), from the memo when it is there
 * (m may be NULL); returns the length. */
static size_t fmt_num(num_memo_t *m, char *out, int64_t v)
{
    if (!m)
        return sk_fmt_i64(out, v);
    for (unsigned i = 0; i < 2; i++)
        if (m->n[i] && m->v[i] == v) {
            memcpy(out, m->s[i], m->n[i]);
            return m->n[i];
        }
    unsigned i = m->next++ & 1;
    m->v[i] = v;
    m->n[i] = sk_fmt_i64(m->s[i], v);
    memcpy(out, m->s[i], m->n[i]);
    return m->n[i];
}

/* The bytes the id hashes, in order: action, user, entitlement, expiry
 * (as decimal text) each NUL-ended, then per source its id and
 * "<kind>:<expiry>", NUL-ended. Into buf; false when they do not fit. */
static bool id_input(const sk_command_t *cmd, const char *ent_key, num_memo_t *memo, char *buf,
                     size_t cap, size_t *len)
{
    char num[48];
    size_t n;
    const char *action = sk_command_action_name(cmd->action);
    *len = 0;
    if (!id_put(buf, cap, len, action, strlen(action) + 1) ||
        !id_put(buf, cap, len, cmd->user, strlen(cmd->user) + 1) ||
        !id_put(buf, cap, len, ent_key, strlen(ent_key) + 1))
        return false;
    n = fmt_num(memo, num, cmd->expires_at_ms);
    num[n++] = '\0';
    if (!id_put(buf, cap, len, num, n))
        return false;
    for (size_t i = 0; i < cmd->n_sources; i++) {
        const sk_source_ref_t *s = &cmd->sources[i];
        n = sk_fmt_i64(num, (int)s->kind);
        num[n++] = ':';
        n += fmt_num(memo, num + n, s->expires_at_ms);
        num[n++] = '\0';
        if (!id_put(buf, cap, len, s->id, strlen(s->id) + 1) || !id_put(buf, cap, len, num, n))
            return false;
    }
    return true;
}

/* The deterministic id of a command (commands.h): writes 32 hex chars and
 * a NUL into out. One XXH3-128 of id_input's bytes: hashed at once from a
 * stack buffer, or (a command with many or long sources) in pieces from
 * arena memory, which gives the same hash. */
static int command_id(const sk_command_t *cmd, const char *ent_key, num_memo_t *memo,
                      sk_arena_t *arena, char out[33])
{
    char small[512], *buf = small;
    size_t len;
    if (!id_input(cmd, ent_key, memo, small, sizeof(small), &len)) {
        size_t cap = strlen(cmd->user) + strlen(ent_key) + 96; /* + action, expiry */
        for (size_t i = 0; i < cmd->n_sources; i++)
            cap += strlen(cmd->sources[i].id) + 48;
        if (!(buf = sk_arena_alloc(arena, cap)) || !id_input(cmd, ent_key, memo, buf, cap, &len))
            return SK_ENOMEM;
    }
    XXH128_hash_t h = XXH3_128bits(buf, len);
    sk_fmt_hex64(out, (uint64_t)h.high64);
    sk_fmt_hex64(out + 16, (uint64_t)h.low64);
    out[32] = '\0';
    return 0;
}

static int cmp_source_ref(const sk_source_ref_t *x, const sk_source_ref_t *y)
{
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(x->id, y->id);
}

static void sort_refs(sk_source_ref_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        sk_source_ref_t x = v[i];
        size_t j = i;
        for (; j > 0 && cmp_source_ref(&v[j - 1], &x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Fills the command's source list from sources of `ent` (either array), and
 * flags the command emergency when an EMERGENCY source is among them: the
 * one place every decider's commands get the flag. */
static int command_sources(cmd_ctx_t *c, sk_command_t *cmd, const key_set_t *ks, size_t k,
                           const sk_decide_wanted_t *w, size_t n_w)
{
    size_t cap = n_w + c->old->n_sources, n = 0;
    sk_source_ref_t *refs = sk_arena_calloc(c->arena, cap + 1, sizeof(*refs));
    if (!refs)
        return SK_ENOMEM;
    if (cmd->action == SK_CMD_REVOKE) {
        for (size_t i = 0; i < c->old->n_sources; i++) {
            const sk_grant_source_t *s = &c->old->sources[i];
            if (ks->old_k[i] == k && s->kind != SK_SOURCE_FOUND)
                refs[n++] = (sk_source_ref_t){s->kind, s->id, s->rotation, s->expires_ms};
        }
    } else {
        for (size_t i = 0; i < n_w; i++) {
            const sk_grant_source_t *s = &w[i].src;
            if (ks->w_k[i] == k)
                refs[n++] = (sk_source_ref_t){s->kind, s->id, s->rotation, s->expires_ms};
        }
    }
    sort_refs(refs, n);
    cmd->sources = refs;
    cmd->n_sources = n;
    for (size_t i = 0; i < n; i++)
        cmd->emergency |= refs[i].kind == SK_SOURCE_EMERGENCY;
    return 0;
}

/* The wanted source of `ent` with the latest expiry (for reasons/trace). */
static const sk_decide_wanted_t *latest_wanted(const sk_decide_wanted_t *w, size_t n,
                                               const key_set_t *ks, size_t k)
{
    const sk_decide_wanted_t *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (ks->w_k[i] == k && w[i].src.kind != SK_SOURCE_FOUND &&
            (!best || w[i].src.expires_ms > best->src.expires_ms))
            best = &w[i];
    return best;
}

/* ---- reasons: lazy texts (codec/text.h), written only when encoded or
 * shown; what they need is chosen now, and borrowed (every string lives in
 * the rules, the input or the states, as long as the decision) ---- */

/* The reason of a command, as one of the sentences below. */
typedef struct reason_args {
    enum { R_ENROLLED, R_HELD, R_EXTENDED, R_EXPIRED, R_ENDED_EARLY } form;
    sk_source_kind_t kind;
    const char *id, *rotation; /* the source; its shift's rotation (or NULL) */
    const char *profile, *via; /* R_ENROLLED: profile and enrollment */
    const char *what;          /* R_ENDED_EARLY: what the shift did */
    sk_ms_t from, to;          /* R_EXTENDED: old and new expiry; else from */
} reason_args_t;

static void write_reason(sk_strbuf_t *b, const void *args)
{
    const reason_args_t *r = args;
    switch (r->form) {
    case R_ENROLLED:
        /* "on call in rotation '<rot>' (shift '<id>'): profile '<p>' via
         * enrollment '<e>'" */
        sk_strbuf_str(b, "on call in rotation '");
        sk_strbuf_str(b, r->rotation);
        sk_strbuf_str(b, "' (shift '");
        sk_strbuf_str(b, r->id);
        sk_strbuf_str(b, "'): profile '");
        sk_strbuf_str(b, r->profile);
        sk_strbuf_str(b, "' via enrollment '");
        sk_strbuf_str(b, r->via);
        sk_strbuf_chr(b, '\'');
        break;
    case R_HELD: /* "held by <kind> '<id>'" */
        sk_strbuf_str(b, "held by ");
        sk_strbuf_str(b, sk_source_kind_name(r->kind));
        sk_strbuf_str(b, " '");
        sk_strbuf_str(b, r->id);
        sk_strbuf_chr(b, '\'');
        break;
    case R_EXTENDED: /* "expiry moved from <time> to <time> (<kind> '<id>')" */
        sk_strbuf_str(b, "expiry moved from ");
        sk_strbuf_time(b, r->from);
        sk_strbuf_str(b, " to ");
        sk_strbuf_time(b, r->to);
        sk_strbuf_str(b, " (");
        sk_strbuf_str(b, sk_source_kind_name(r->kind));
        sk_strbuf_str(b, " '");
        sk_strbuf_str(b, r->id);
        sk_strbuf_str(b, "')");
        break;
    case R_EXPIRED:
        sk_strbuf_str(b, "expired at ");
        sk_strbuf_time(b, r->from);
        sk_strbuf_str(b, "; no source holds it any more");
        break;
    case R_ENDED_EARLY:
        /* "<kind> '<id>'[ in rotation '<rot>'] <what> before its planned
         * expiry <time>; no other source holds it" */
        sk_strbuf_str(b, sk_source_kind_name(r->kind));
        sk_strbuf_str(b, " '");
        sk_strbuf_str(b, r->id);
        sk_strbuf_chr(b, '\'');
        if (r->rotation) {
            sk_strbuf_str(b, " in rotation '");
            sk_strbuf_str(b, r->rotation);
            sk_strbuf_chr(b, '\'');
        }
        sk_strbuf_chr(b, ' ');
        sk_strbuf_str(b, r->what);
        sk_strbuf_str(b, " before its planned expiry ");
        sk_strbuf_time(b, r->from);
        sk_strbuf_str(b, "; no other source holds it");
        break;
    }
}

/* Why the last source went: it expired, or its shift ended or was
 * cancelled before the planned expiry. Fills r; false when the reason is
 * the fixed sentence of found access (*plain set). */
static bool revoke_reason(cmd_ctx_t *c, const sk_command_t *cmd, sk_ms_t old_exp, reason_args_t *r,
                          const char **plain)
{
    const sk_source_ref_t *last = cmd->n_sources ? &cmd->sources[0] : NULL;
    for (size_t i = 1; i < cmd->n_sources; i++)
        if (cmd->sources[i].expires_at_ms > last->expires_at_ms)
            last = &cmd->sources[i];
    if (!last && old_exp == SK_MS_NONE) {
        *plain = "access found outside shiftkey is taken away; no source holds it any more";
        return false;
    }
    if (!last || old_exp <= c->a->now_ms) {
        *r = (reason_args_t){.form = R_EXPIRED, .from = old_exp};
        return true;
    }
    const sk_shift_t *sh = NULL;
    for (size_t i = 0; i < c->old->n_shifts; i++)
        if (strcmp(c->old->shifts[i].id, last->id) == 0)
            sh = &c->old->shifts[i];
    const sk_schedule_event_t *ev = c->a->event;
    const char *what = ev && strcmp(ev->shift_id, last->id) == 0
                           ? (ev->type == SK_SHIFT_CANCELLED ? "was cancelled"
                              : ev->type == SK_SHIFT_ENDED   ? "ended"
                                                             : "changed")
                           : "no longer justifies it";
    *r = (reason_args_t){.form = R_ENDED_EARLY,
                         .kind = last->kind,
                         .id = last->id,
                         .rotation = sh ? sh->rotation : NULL,
                         .what = what,
                         .from = old_exp};
    return true;
}

/* The reason of a GRANT or EXTEND, or revoke_reason, as a lazy text into
 * cmd->reason_lazy (cmd->reason stays NULL), or a fixed sentence into
 * cmd->reason. SK_ENOMEM or 0. */
static int command_reason(cmd_ctx_t *c, sk_command_t *cmd, const sk_decide_wanted_t *why,
                          sk_ms_t old_exp)
{
    const sk_enrollment_edge_t *e = why ? why->edge : NULL;
    reason_args_t r;
    const char *plain = NULL;
    switch (cmd->action) {
    case SK_CMD_GRANT:
        if (e)
            r = (reason_args_t){.form = R_ENROLLED,
                                .id = why->src.id,
                                .rotation = why->src.rotation,
                                .profile = e->profile,
                                .via = e->enrollment};
        else
            r = (reason_args_t){.form = R_HELD, .kind = why->src.kind, .id = why->src.id};
        break;
    case SK_CMD_EXTEND:
        r = (reason_args_t){.form = R_EXTENDED,
                            .kind = why->src.kind,
                            .id = why->src.id,
                            .from = old_exp,
                            .to = cmd->expires_at_ms};
        break;
    default:
        if (!revoke_reason(c, cmd, old_exp, &r, &plain)) {
            cmd->reason = plain; /* a fixed sentence: nothing to write */
            return 0;
        }
    }
    reason_args_t *args = sk_arena_alloc(c->arena, sizeof(*args));
    if (!args)
        return SK_ENOMEM;
    *args = r;
    cmd->reason_lazy = (sk_text_t){NULL, write_reason, args};
    return 0;
}

/* The trace line of a command, written when the audit record is. */
typedef struct cmd_line {
    sk_command_action_t action;
    const char *key;
    sk_text_t reason;
    sk_ms_t until;
} cmd_line_t;

/* "<ACTION> <key> until <time>: <reason>" */
static void write_cmd_line(sk_strbuf_t *b, const void *args)
{
    const cmd_line_t *l = args;
    sk_strbuf_str(b, sk_command_action_name(l->action));
    sk_strbuf_chr(b, ' ');
    sk_strbuf_str(b, l->key);
    sk_strbuf_str(b, " until ");
    sk_strbuf_time(b, l->until);
    sk_strbuf_str(b, ": ");
    sk_text_append(b, &l->reason);
}

int sk_decide_commands_wanted(const sk_decide_cmd_args_t *a, const sk_decide_wanted_t *w,
                              size_t n_w, sk_decision_t *out)
{
    cmd_ctx_t ctx = {.a = a, .old = a->before, .arena = a->arena};
    cmd_ctx_t *c = &ctx;
    key_set_t ks;
    assert(a->rules && a->user && a->before && a->arena && out);
    out->n_commands = 0;
    if (entitlement_keys(c, w, n_w, &ks))
        return SK_ENOMEM;
    const char **keys = ks.keys;
    size_t n_keys = ks.n;
    out->commands = sk_arena_calloc(c->arena, n_keys + 1, sizeof(sk_command_t));
    if (!out->commands)
        return SK_ENOMEM;
    for (size_t k = 0; k < n_keys; k++) {
        /* expiries over the sources with one; found access (F) has none
         * and exists already: it never makes a GRANT or EXTEND, and its
         * end, with no other source left, makes a REVOKE */
        sk_ms_t old_exp = SK_MS_NONE, new_exp = SK_MS_NONE;
        bool had = false, has = false, found_had = false, found_has = false;
        for (size_t i = 0; i < c->old->n_sources; i++) {
            const sk_grant_source_t *s = &c->old->sources[i];
            if (ks.old_k[i] != k)
                continue;
            if (s->kind == SK_SOURCE_FOUND) {
                found_had = true;
                continue;
            }
            old_exp = had ? sk_decide_ms_max(old_exp, s->expires_ms) : s->expires_ms;
            had = true;
        }
        for (size_t i = 0; i < n_w; i++) {
            const sk_grant_source_t *s = &w[i].src;
            if (ks.w_k[i] != k)
                continue;
            if (s->kind == SK_SOURCE_FOUND) {
                found_has = true;
                continue;
            }
            new_exp = has ? sk_decide_ms_max(new_exp, s->expires_ms) : s->expires_ms;
            has = true;
        }
        sk_command_t *cmd = &out->commands[out->n_commands];
        bool held = had || found_had, holds = has || found_has;
        if (!held && has)
            cmd->action = SK_CMD_GRANT;
        else if (held && !holds)
            cmd->action = SK_CMD_REVOKE;
        else if (had && has && old_exp != new_exp)
            cmd->action = SK_CMD_EXTEND;
        else
            continue;
        if (describe(c, cmd, keys[k]))
            return SK_ENOMEM;
        cmd->expires_at_ms = has ? new_exp : had ? old_exp : c->a->now_ms;
        cmd->issued_at_ms = c->a->now_ms;
        if (command_sources(c, cmd, &ks, k, w, n_w))
            return SK_ENOMEM;
        const sk_decide_wanted_t *why = latest_wanted(w, n_w, &ks, k);
        if (command_reason(c, cmd, why, old_exp))
            return SK_ENOMEM;
        if (command_id(cmd, keys[k], &c->memo, c->arena, cmd->command_id))
            return SK_ENOMEM;
        if (a->trace) {
            cmd_line_t *l = sk_arena_alloc(c->arena, sizeof(*l));
            if (l)
                *l = (cmd_line_t){cmd->action, keys[k],
                                  cmd->reason ? sk_text_plain(cmd->reason) : cmd->reason_lazy,
                                  cmd->expires_at_ms};
            sk_decide_trace_lazy(a->trace, write_cmd_line, l);
        }
        out->n_commands++;
    }
    return 0;
}

int sk_decide_hold_command(const sk_rules_t *rules, const sk_user_state_t *st, const char *ent,
                           sk_command_action_t action, sk_ms_t now, sk_arena_t *arena,
                           sk_command_t **out)
{
    sk_grant_source_t *rest = sk_arena_calloc(arena, st->n_sources + 1, sizeof(*rest));
    sk_user_state_t before = *st;
    sk_decision_t tmp = {0};
    size_t n = 0;
    *out = NULL;
    if (!rest)
        return SK_ENOMEM;
    for (size_t i = 0; i < st->n_sources; i++)
        if (strcmp(st->sources[i].ent_key, ent) != 0)
            rest[n++] = st->sources[i];
    if (n == st->n_sources)
        return 0;
    before.sources = rest;
    before.n_sources = n;
    if (sk_decide_commands(rules, st->user, now, &before, st->sources, st->n_sources, arena, &tmp))
        return SK_ENOMEM;
    if (tmp.n_commands != 1 || tmp.commands[0].action != SK_CMD_GRANT)
        return 0;
    sk_command_t *cmd = &tmp.commands[0];
    cmd->action = action;
    if (command_id(cmd, ent, NULL, arena, cmd->command_id))
        return SK_ENOMEM;
    *out = cmd;
    return 0;
}

int sk_decide_commands(const sk_rules_t *rules, const char *user, sk_ms_t now_ms,
                       const sk_user_state_t *before, const sk_grant_source_t *after,
                       size_t n_after, sk_arena_t *arena, sk_decision_t *out)
{
    sk_decide_cmd_args_t a = {
        .rules = rules, .user = user, .now_ms = now_ms, .before = before, .arena = arena};
    assert(rules && user && before && arena && out);
    sk_decide_wanted_t *w = sk_arena_calloc(arena, n_after + 1, sizeof(*w));
    if (!w)
        return SK_ENOMEM;
    for (size_t i = 0; i < n_after; i++)
        w[i].src = after[i];
    return sk_decide_commands_wanted(&a, w, n_after, out);
}

int sk_decide_revoke_all(const sk_rules_t *rules, const sk_user_state_t *state, sk_ms_t now_ms,
                         sk_arena_t *arena, sk_decision_t *out)
{
    return sk_decide_commands(rules, state->user, now_ms, state, NULL, 0, arena, out);
}
