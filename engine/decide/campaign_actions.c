/*
 * campaign_actions.c — the request events of access review campaigns
 * (issue 17), decided like every request event (request.c dispatches here,
 * the common ending closes): a reviewer's REVIEW_CERTIFIED / REVIEW_REVOKED
 * on an ACCESS_REVIEW task of the subject, and an owner's CAMPAIGN_STARTED /
 * CAMPAIGN_CLOSED for the subject's part of a campaign. Pure.
 *
 * Who may decide an item: one of its assignees or an owner of the
 * campaign, never the holder (self-review is refused, whatever the rules
 * say), with a reason (the event's comment). Certify keeps the access;
 * revoke takes the item's request sources away now, so the usual commands
 * follow (REVOKE, or a DEPROVISIONING task by the closing steps); a revoke
 * wins over an earlier certification while the run is open; a decision
 * after the run's end is refused.
 */
#include <string.h>

#include "decide/campaign.h"
#include "decide/campaign_actions.h"

/* Stores r as the new campaign fields of the decision. */
static int keep(sk_rq_ctx_t *c, const sk_reviews_t *r)
{
    sk_user_state_t tmp = *c->old;
    if (sk_reviews_store(c->arena, r, &tmp))
        return SK_ENOMEM;
    c->campaign = tmp.campaign;
    c->n_campaign = tmp.n_campaign;
    c->changed = true;
    return 0;
}

static bool is_assignee(const sk_review_item_t *it, const char *who)
{
    for (size_t i = 0; i < it->n_assignees; i++)
        if (strcmp(it->assignees[i], who) == 0)
            return true;
    return false;
}

/* Takes the request and found sources of ent_key out of c's new source
 * table (an on-call shift's is its rotation's to end). */
static void drop_sources(sk_rq_ctx_t *c, const char *ent_key)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_sources; i++) {
        const sk_grant_source_t *s = &c->sources[i];
        if (strcmp(s->ent_key, ent_key) == 0 && s->kind != SK_SOURCE_SHIFT)
            continue;
        c->sources[n++] = *s;
    }
    c->n_sources = n;
}

static int on_decision(sk_rq_ctx_t *c, sk_reviews_t *r)
{
    const sk_request_event_t *ev = c->ev;
    const char *user = c->old->user;
    sk_review_item_t *it = NULL;
    bool revoke = ev->type == SK_REQ_REVIEW_REVOKED;
    for (size_t i = 0; i < r->n_items && !it; i++) {
        const char *id = sk_review_task_id(c->arena, user, &r->items[i]);
        if (!id)
            return SK_ENOMEM;
        if (strcmp(id, ev->request_id) == 0)
            it = &r->items[i];
    }
    if (!it)
        return sk_rq_reject(
            c, SK_DL_UNKNOWN_REFERENCE,
            sk_arena_sprintf(c->arena, "no access review task '%s' of '%s'", ev->request_id, user));
    const sk_campaign_t *k = sk_rules_campaign(c->rules, it->campaign);
    if (sk_review_final(it, c->in->now_ms) || !k)
        return sk_rq_refuse(
            c, sk_arena_sprintf(c->arena, "refused: access review '%s' of %s is closed (%s)",
                                it->campaign, it->ent_key, sk_review_status_name(it->status)));
    if (strcmp(ev->actor, user) == 0)
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "refused: '%s' may not review their own access "
                                                "(self-review)",
                                                ev->actor));
    if (!is_assignee(it, ev->actor) && !sk_campaign_is_owner(k, ev->actor))
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "refused: '%s' is neither a reviewer of this item "
                                                "nor an owner of campaign '%s'",
                                                ev->actor, it->campaign));
    if (!ev->comment || !ev->comment[0])
        return sk_rq_refuse(c, "refused: a reason is required to certify or revoke");
    if (!revoke && it->status == SK_REVIEW_CERTIFIED) {
        c->word = "no_change";
        c->reason = sk_arena_sprintf(c->arena, "%s's %s is already certified by '%s'", user,
                                     it->ent_key, it->decider);
        return 0;
    }
    it->status = revoke ? SK_REVIEW_REVOKED : SK_REVIEW_CERTIFIED;
    it->decided_ms = c->in->now_ms;
    it->decider = ev->actor;
    const char *why = sk_arena_sprintf(c->arena, "%s by %s: %s", revoke ? "revoked" : "certified",
                                       ev->actor, ev->comment);
    sk_task_t t = sk_campaign_task(c->arena, user, it, SK_TASK_CLOSED,
                                   revoke ? SK_TASK_REVOKED : SK_TASK_CERTIFIED, why, ev->actor,
                                   c->in->now_ms);
    if (!why || sk_rq_task_raw(c, &t))
        return SK_ENOMEM;
    if (revoke)
        drop_sources(c, it->ent_key);
    c->word = revoke ? "review_revoked" : "review_certified";
    c->reason = sk_arena_sprintf(c->arena, "access review '%s': %s's %s %s by '%s'", it->campaign,
                                 user, it->ent_key, revoke ? "revoked" : "certified", ev->actor);
    return keep(c, r);
}

static int on_campaign(sk_rq_ctx_t *c, sk_reviews_t *r)
{
    const sk_request_event_t *ev = c->ev;
    const sk_campaign_t *k = sk_rules_campaign(c->rules, ev->request_id);
    sk_ms_t now = c->in->now_ms;
    if (!k)
        return sk_rq_reject(c, SK_DL_UNKNOWN_REFERENCE,
                            sk_arena_sprintf(c->arena, "unknown campaign '%s'", ev->request_id));
    if (!sk_campaign_is_owner(k, ev->actor) && !sk_rq_is_admin(c, ev->actor))
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "refused: '%s' is not an owner of campaign '%s'",
                                                ev->actor, k->id));
    if (ev->type == SK_REQ_CAMPAIGN_CLOSED) {
        size_t n = 0;
        for (size_t i = 0; i < r->n_items; i++) {
            sk_review_item_t *it = &r->items[i];
            if (strcmp(it->campaign, k->id) != 0 || sk_review_final(it, now))
                continue;
            it->end_ms = now; /* the closing steps run the end action now */
            it->due_ms = it->due_ms < now ? it->due_ms : now;
            n++;
        }
        bool marked = false;
        for (size_t i = 0; i < r->n_runs; i++)
            if (strcmp(r->runs[i].campaign, k->id) == 0 && !r->runs[i].closed)
                r->runs[i].closed = marked = true; /* another run may start now */
        c->word = "campaign_closed";
        c->reason =
            sk_arena_sprintf(c->arena, "campaign '%s' closed by '%s': %zu open item(s) end now",
                             k->id, ev->actor, n);
        return n || marked ? keep(c, r) : 0;
    }
    sk_ms_t run = ev->occurred_at_ms, last = sk_reviews_run(r, k->id);
    bool closed = false; /* ended by an owner: another run may start */
    for (size_t i = 0; i < r->n_runs; i++)
        if (strcmp(r->runs[i].campaign, k->id) == 0)
            closed = r->runs[i].closed;
    if (last != SK_MS_NONE &&
        (last >= run ||
         (!closed && now < sk_decide_ms_add(sk_decide_ms_add(last, k->due_after_ms), k->grace_ms))))
        return sk_rq_refuse(c, sk_arena_sprintf(c->arena,
                                                "refused: campaign '%s' has a run started %s that "
                                                "is not over",
                                                k->id, sk_decide_fmt_time(c->arena, last)));
    bool found = false;
    for (size_t i = 0; i < r->n_runs; i++)
        if (strcmp(r->runs[i].campaign, k->id) == 0) {
            r->runs[i] = (sk_review_run_t){k->id, run, true, false};
            found = true;
        }
    if (!found)
        r->runs[r->n_runs++] = (sk_review_run_t){k->id, run, true, false}; /* room: extra */
    c->word = "campaign_started";
    c->reason = sk_arena_sprintf(c->arena, "campaign '%s' run of %s started by '%s'", k->id,
                                 sk_decide_fmt_time(c->arena, run), ev->actor);
    return keep(c, r);
}

int sk_campaign_on_event(sk_rq_ctx_t *c)
{
    sk_reviews_t r;
    if (sk_reviews_parse(c->arena, c->old, 1, &r, NULL))
        return SK_ENOMEM;
    if (c->ev->type == SK_REQ_CAMPAIGN_STARTED || c->ev->type == SK_REQ_CAMPAIGN_CLOSED)
        return on_campaign(c, &r);
    return on_decision(c, &r);
}
