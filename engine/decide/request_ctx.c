/*
 * request_ctx.c — the working memory of a request decision and the helpers
 * every request file shares (see request_ctx.h): outcomes, task records
 * and their ids, the new state, and the request ending, which hands over
 * to the common ending (ending.c).
 */
#include "decide/request_ctx.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "decide/commands.h"

void sk_rq_trace(sk_rq_ctx_t *c, const char *line)
{
    sk_decide_trace_add(&c->end.trace, line);
}

static void hash_hex(XXH3_state_t *st, char out[33])
{
    XXH128_hash_t h = XXH3_128bits_digest(st);
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64, (uint64_t)h.low64);
}

/* ---- outcomes that change nothing ---- */

int sk_rq_reject(sk_rq_ctx_t *c, sk_dead_letter_kind_t kind, const char *reason)
{
    if (!reason) {
        c->enomem = true;
        return 0;
    }
    c->out->base.rejected = true;
    c->out->base.reject_kind = kind;
    c->out->base.reject_reason = reason;
    return 0;
}

int sk_rq_refuse(sk_rq_ctx_t *c, const char *reason)
{
    if (!reason) {
        c->enomem = true; /* never audited as a refusal */
        return SK_ENOMEM;
    }
    c->out->refused = true;
    c->out->refuse_reason = reason;
    sk_rq_trace(c, reason);
    return 0;
}

/* ---- ids and people ---- */

const char **sk_rq_ids_with(sk_rq_ctx_t *c, const char *const *ids, size_t n, const char *id,
                            size_t *n_out)
{
    const char **out = sk_arena_calloc(c->arena, n + 2, sizeof(*out));
    if (!out)
        return NULL;
    if (n)
        memcpy(out, ids, n * sizeof(*out));
    if (!sk_decide_has_id(ids, n, id))
        out[n++] = id;
    *n_out = n;
    return out;
}

bool sk_rq_is_admin(const sk_rq_ctx_t *c, const char *actor)
{
    const sk_group_t *g = sk_rules_group(c->rules, SK_ADMIN_GROUP);
    const sk_person_t *p = sk_rules_person(c->rules, actor);
    return g && p && sk_rules_in_group(p, g);
}

int sk_rq_on_call(const sk_rq_ctx_t *c, const char *rotation_id)
{
    sk_ms_t now = c->in->now_ms;
    for (size_t i = 0; i < c->old->n_shifts; i++) {
        const sk_shift_t *sh = &c->old->shifts[i];
        if (sh->status == SK_SHIFT_STATUS_OPEN && strcmp(sh->rotation, rotation_id) == 0 &&
            sh->start_ms <= now && (sh->end_ms == SK_MS_NONE || now < sh->end_ms))
            return 1;
    }
    return 0;
}

const sk_request_settings_t *sk_rq_settings(const sk_rq_ctx_t *c, const sk_request_state_t *rq)
{
    if (rq->target_kind == SK_TARGET_PROFILE)
        return sk_rules_profile_request_settings(c->rules, rq->target);
    return sk_rules_request_settings(c->rules, rq->target);
}

/* ---- tasks ---- */

const char *sk_rq_task_id(sk_rq_ctx_t *c, const sk_request_state_t *rq, int step, const char *tag)
{
    XXH3_state_t st;
    char num[48], *out = sk_arena_alloc(c->arena, 33);
    const char *id = rq ? rq->id : c->ev->request_id, *policy = rq ? rq->policy : "";
    if (!out)
        return NULL;
    XXH3_128bits_reset(&st);
    XXH3_128bits_update(&st, c->old->user, strlen(c->old->user) + 1);
    XXH3_128bits_update(&st, id, strlen(id) + 1);
    XXH3_128bits_update(&st, policy, strlen(policy) + 1);
    XXH3_128bits_update(&st, tag, strlen(tag) + 1);
    /* the round joins the hash only from 1 on: ids of round 0 never change */
    if (rq && rq->round > 0)
        snprintf(num, sizeof(num), "%d:%d:%d", step, rq->emergency ? 1 : 0, rq->round);
    else
        snprintf(num, sizeof(num), "%d:%d", step, rq && rq->emergency ? 1 : 0);
    XXH3_128bits_update(&st, num, strlen(num) + 1);
    hash_hex(&st, out);
    return out;
}

const char *sk_rq_provision_task_id(sk_rq_ctx_t *c, const sk_request_state_t *rq)
{
    return sk_rq_task_id(c, rq, 0, "provision");
}

sk_task_kind_t sk_rq_task_kind(const sk_request_state_t *rq)
{
    if (rq && rq->status == SK_REQUEST_PROVISIONING)
        return SK_TASK_PROVISIONING;
    if (rq && rq->kind == SK_REQUEST_KIND_REVOCATION)
        return SK_TASK_REVOCATION;
    return SK_TASK_REQUEST_REVIEW;
}

int sk_rq_task_raw(sk_rq_ctx_t *c, const sk_task_t *t)
{
    assert(c->n_tasks < SK_RQ_MAX_TASKS); /* a decision makes at most a few */
    if (c->n_tasks >= SK_RQ_MAX_TASKS || !t->task_id || !t->reason)
        return SK_ENOMEM;
    c->tasks[c->n_tasks] = *t;
    if (t->state == SK_TASK_CLOSED) { /* the schema: nobody acts on a closed task */
        c->tasks[c->n_tasks].n_assignees = 0;
        c->tasks[c->n_tasks].assignees = NULL;
    }
    c->n_tasks++;
    return 0;
}

int sk_rq_task(sk_rq_ctx_t *c, sk_task_kind_t kind, sk_task_state_t state,
               sk_task_outcome_t outcome, const char *reason)
{
    const sk_request_state_t *rq = c->rq;
    bool prov = kind == SK_TASK_PROVISIONING;
    sk_task_t t = {
        .kind = kind,
        .state = state,
        .outcome = state == SK_TASK_CLOSED ? outcome : SK_TASK_OUTCOME_NONE,
        .request_id = rq ? rq->id : c->ev->request_id,
        .subject = c->old->user,
        .target = rq ? rq->target : c->ev->target,
        .step = rq && !prov ? rq->step + 1 : 0,
        .n_assignees = rq ? rq->n_assignees : 0,
        .assignees = rq ? (const char *const *)rq->assignees : NULL,
        .emergency = rq ? rq->emergency : c->ev->emergency,
        .reason = reason,
        .at_ms = c->in->now_ms,
    };
    if (prov)
        t.task_id = sk_rq_provision_task_id(c, rq);
    else
        t.task_id =
            rq ? sk_rq_task_id(c, rq, rq->step, "review") : sk_rq_task_id(c, NULL, 0, "refused");
    return sk_rq_task_raw(c, &t);
}

int sk_rq_close_request(sk_rq_ctx_t *c, sk_request_status_t st, sk_task_outcome_t outcome,
                        const char *word, const char *reason)
{
    sk_task_kind_t kind = sk_rq_task_kind(c->rq);
    c->rq->status = st;
    c->word = word;
    c->reason = reason;
    sk_rq_trace(c, reason);
    return sk_rq_task(c, kind, SK_TASK_CLOSED, outcome, reason);
}

int sk_rq_abandon_task(sk_rq_ctx_t *c, const char *why)
{
    if (!c->rq->n_assignees)
        return 0;
    return sk_rq_task(c, sk_rq_task_kind(c->rq), SK_TASK_CLOSED, SK_TASK_CANCELLED, why);
}

int sk_rq_need_open(sk_rq_ctx_t *c, bool provisioning_ok)
{
    if (!c->rq) {
        sk_rq_reject(c, SK_DL_UNKNOWN_REFERENCE,
                     sk_arena_sprintf(c->arena, "request '%s' of '%s' is not known",
                                      c->ev->request_id, c->old->user));
        return 0;
    }
    if (c->rq->status != SK_REQUEST_OPEN &&
        !(provisioning_ok && c->rq->status == SK_REQUEST_PROVISIONING)) {
        sk_rq_refuse(c, sk_arena_sprintf(c->arena, "request '%s' is already %s; %s refused",
                                         c->rq->id, sk_request_status_name(c->rq->status),
                                         sk_request_event_type_name(c->ev->type)));
        return 0;
    }
    return 1;
}

const sk_policy_step_t *sk_rq_current_step(sk_rq_ctx_t *c)
{
    const sk_policy_t *pol = sk_rules_policy(c->rules, c->rq->policy);
    if (c->rq->status != SK_REQUEST_OPEN || !pol || c->rq->step >= (int)pol->n_steps ||
        pol->steps[c->rq->step].kind != SK_STEP_REVIEWERS)
        return NULL;
    return &pol->steps[c->rq->step];
}

/* ---- the decision ---- */

int sk_rq_begin(sk_rq_ctx_t *c, const sk_rules_t *rules, const sk_request_input_t *in,
                const sk_user_state_t *state, sk_arena_t *arena, sk_request_decision_t *out)
{
    memset(c, 0, sizeof(*c));
    memset(out, 0, sizeof(*out));
    c->rules = rules;
    c->in = in;
    c->ev = in->event;
    c->old = state;
    c->arena = arena;
    c->out = out;
    c->rerun_step = -1;
    out->base.next_wake_ms = SK_MS_NONE;
    sk_decide_end_init(&c->end, rules, in->now_ms, arena, state, &out->base);
    c->cap_sources = state->n_sources + 1;
    c->requests = sk_arena_calloc(arena, state->n_requests + 1, sizeof(*c->requests));
    c->sources = sk_arena_calloc(arena, c->cap_sources, sizeof(*c->sources));
    c->open_tasks = sk_arena_calloc(arena, state->n_open_tasks + 1, sizeof(*c->open_tasks));
    c->retries = sk_arena_calloc(arena, state->n_retries + 1, sizeof(*c->retries));
    if (!c->requests || !c->sources || !c->open_tasks || !c->retries)
        return SK_ENOMEM;
    if (state->n_retries)
        memcpy(c->retries, state->retries, state->n_retries * sizeof(*c->retries));
    c->n_retries = state->n_retries;
    if (state->n_requests)
        memcpy(c->requests, state->requests, state->n_requests * sizeof(*c->requests));
    if (state->n_sources)
        memcpy(c->sources, state->sources, state->n_sources * sizeof(*c->sources));
    if (state->n_open_tasks)
        memcpy(c->open_tasks, state->open_tasks, state->n_open_tasks * sizeof(*c->open_tasks));
    c->n_requests = state->n_requests;
    c->n_sources = state->n_sources;
    c->n_open_tasks = state->n_open_tasks;
    c->requester = sk_rules_person(rules, state->user);
    return 0;
}

/* The new state's commands (from the sources before and after). */
static int new_state(sk_rq_ctx_t *c)
{
    sk_decision_t *d = &c->out->base;
    if (c->rq)
        c->rq->updated_ms = c->in->now_ms;
    d->state.requests = c->requests;
    d->state.n_requests = c->n_requests;
    d->state.sources = c->sources;
    d->state.n_sources = c->n_sources;
    d->state.open_tasks = c->open_tasks;
    d->state.n_open_tasks = c->n_open_tasks;
    d->state.retries = c->retries;
    d->state.n_retries = c->n_retries;
    if (c->campaign) {
        d->state.campaign = c->campaign;
        d->state.n_campaign = c->n_campaign;
    }
    return sk_decide_commands(c->rules, c->old->user, c->in->now_ms, c->old, c->sources,
                              c->n_sources, c->arena, d);
}

/* The audit record: the request deciders' fields, then the common ending's. */
static int fill_audit(sk_rq_ctx_t *c)
{
    sk_request_decision_t *out = c->out;
    sk_audit_t *a = &out->base.audit;
    const sk_request_event_t *ev = c->ev;

    a->actor = ev->actor;
    a->user = c->old->user;
    a->event_id = ev->event_id;
    if (out->base.rejected) {
        a->decision = "rejected";
        a->reason = out->base.reject_reason;
    } else if (out->refused) {
        a->decision = "refused";
        a->reason = out->refuse_reason;
    } else if (out->base.n_commands) {
        a->decision = sk_decide_commands_word(&out->base);
        a->reason = c->reason ? c->reason : sk_command_reason(&out->base.commands[0], c->arena);
        c->enomem |= !a->reason;
    } else {
        a->decision = c->word ? c->word : "no_change";
        a->reason = c->reason ? c->reason : "nothing to change";
    }
    if (c->rq && c->rq->emergency)
        a->reason = sk_arena_sprintf(c->arena, "[emergency] %s", a->reason);
    if (ev->justification && ev->justification[0])
        sk_rq_trace(c, sk_arena_sprintf(c->arena, "justification: %s", ev->justification));
    if (ev->comment && ev->comment[0])
        sk_rq_trace(c, sk_arena_sprintf(c->arena, "comment: %s", ev->comment));
    /* request inputs always come with an offset: no time in the id */
    return sk_decide_end_audit(&c->end, &c->in->origin, SK_MS_NONE);
}

int sk_rq_finish(sk_rq_ctx_t *c)
{
    sk_decision_t *d = &c->out->base;
    int rc = SK_ENOMEM;
    if (c->enomem)
        goto out;
    d->state = *c->old;
    if (!d->rejected && !c->out->refused && c->changed && new_state(c))
        goto out;
    d->tasks = sk_arena_calloc(c->arena, c->n_tasks + 1, sizeof(*d->tasks));
    if (!d->tasks)
        goto out;
    if (c->n_tasks)
        memcpy(d->tasks, c->tasks, c->n_tasks * sizeof(*d->tasks));
    d->n_tasks = c->n_tasks;
    if ((rc = sk_decide_end_close(&c->end, !c->out->refused)) != 0)
        goto out;
    rc = fill_audit(c);
out:
    return rc;
}
