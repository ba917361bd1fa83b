/* campaign.c — access review campaigns in a user's decisions (see
 * campaign.h). */
#include "decide/campaign.h"

#include <assert.h>
#include <string.h>

#include "decide/commands.h"

#define DAY_MS  (24LL * 3600 * 1000)
#define WEEK_MS (7 * DAY_MS)

/* ---- reminders ---- */

size_t sk_campaign_reminders(sk_ms_t run_ms, sk_ms_t due_ms, sk_ms_t end_ms, sk_ms_t *out)
{
    sk_ms_t t[SK_CAMPAIGN_REMINDERS_MAX * 2];
    size_t n = 0;
    long long weeks = (due_ms - run_ms) / WEEK_MS;
    for (long long k = weeks; k >= 1 && n < SK_CAMPAIGN_REMINDERS_MAX; k--)
        if (due_ms - k * WEEK_MS > run_ms && due_ms - k * WEEK_MS < due_ms - 3 * DAY_MS)
            t[n++] = due_ms - k * WEEK_MS;
    if (due_ms - 3 * DAY_MS > run_ms)
        t[n++] = due_ms - 3 * DAY_MS;
    if (due_ms - DAY_MS > run_ms)
        t[n++] = due_ms - DAY_MS;
    if (due_ms < end_ms && due_ms > run_ms)
        t[n++] = due_ms;
    for (sk_ms_t x = due_ms + DAY_MS; x < end_ms && n < SK_CAMPAIGN_REMINDERS_MAX * 2; x += DAY_MS)
        t[n++] = x;
    size_t skip = n > SK_CAMPAIGN_REMINDERS_MAX ? n - SK_CAMPAIGN_REMINDERS_MAX : 0;
    memcpy(out, t + skip, (n - skip) * sizeof(*t));
    return n - skip;
}

/* "due in 3 days", "due tomorrow", "due now", "overdue by 2 days". */
static const char *reminder_words(sk_arena_t *a, sk_ms_t t, sk_ms_t due)
{
    if (t >= due + DAY_MS) {
        long long d = (t - due) / DAY_MS;
        return sk_arena_sprintf(a, "overdue by %lld day%s", d, d == 1 ? "" : "s");
    }
    if (t >= due)
        return "due now";
    if (due - t <= DAY_MS)
        return "due tomorrow";
    return sk_arena_sprintf(a, "due in %lld days", (due - t + DAY_MS - 1) / DAY_MS);
}

/* ---- tasks ---- */

int sk_campaign_task_add(sk_arena_t *arena, sk_task_t **tasks, size_t *n, const sk_task_t *t)
{
    sk_task_t *grown = sk_arena_calloc(arena, *n + 2, sizeof(*grown));
    if (!grown || !t->task_id || !t->reason || !t->request_id)
        return SK_ENOMEM;
    if (*n)
        memcpy(grown, *tasks, *n * sizeof(*grown));
    grown[(*n)++] = *t;
    *tasks = grown;
    return 0;
}

sk_task_t sk_campaign_task(sk_arena_t *arena, const char *user, const sk_review_item_t *it,
                           sk_task_state_t state, sk_task_outcome_t outcome, const char *reason,
                           const char *actor, sk_ms_t now)
{
    bool closed = state == SK_TASK_CLOSED;
    return (sk_task_t){.task_id = sk_review_task_id(arena, user, it),
                       .kind = SK_TASK_ACCESS_REVIEW,
                       .state = state,
                       .outcome = closed ? outcome : SK_TASK_OUTCOME_NONE,
                       .request_id = sk_review_run_id(arena, it->campaign, it->run_ms),
                       .subject = user,
                       .target = it->ent_key,
                       .step = 0,
                       .n_assignees = closed ? 0 : it->n_assignees,
                       .assignees = closed ? NULL : it->assignees,
                       .emergency = false,
                       .reason = reason,
                       .at_ms = now,
                       .actor = actor};
}

/* ---- snapshot ---- */

static void add_id(const char **ids, size_t *n, const char *id, const char *user)
{
    if (strcmp(id, user) == 0)
        return; /* nobody reviews their own access */
    for (size_t i = 0; i < *n; i++)
        if (strcmp(ids[i], id) == 0)
            return;
    ids[(*n)++] = id;
}

static void add_group(const char **ids, size_t *n, const sk_group_t *g, const char *user)
{
    for (size_t i = 0; g && i < g->n_members; i++)
        add_id(ids, n, g->members[i]->id, user);
}

/* The reviewers of user's ent_key in campaign c (arena array). */
static const char **reviewers(const sk_rules_t *rules, const sk_campaign_t *c, const char *user,
                              const char *ent_key, sk_arena_t *a, size_t *n_out)
{
    const sk_reviewers_t *rv = &c->reviewers;
    const sk_entitlement_t *ent = sk_rules_entitlement(rules, ent_key);
    const sk_app_t *app = ent ? sk_rules_app(rules, ent->app) : NULL;
    const sk_person_t *me = sk_rules_person(rules, user);
    size_t cap = rv->n_users + c->n_owners + 2, n = 0;
    cap += rv->group ? rv->group->n_members : 0;
    cap += app && app->owner_group ? app->owner_group->n_members : 0;
    const char **ids = sk_arena_calloc(a, cap + 1, sizeof(*ids));
    if (!ids)
        return NULL;
    for (size_t i = 0; i < rv->n_users; i++)
        add_id(ids, &n, rv->users[i]->id, user);
    add_group(ids, &n, rv->group, user);
    if (rv->manager && me && me->manager)
        add_id(ids, &n, me->manager->id, user);
    if (rv->app_owner && app && app->owner_person)
        add_id(ids, &n, app->owner_person->id, user);
    if (rv->app_owner && app)
        add_group(ids, &n, app->owner_group, user);
    for (size_t i = 0; n == 0 && i < c->n_owners; i++) /* nobody else: the owners */
        add_id(ids, &n, c->owners[i]->id, user);
    *n_out = n;
    return ids;
}

/* 1 when source s is of a kind c reviews (campaign.h). */
static int in_scope(const sk_rules_t *rules, const sk_campaign_t *c, const sk_user_state_t *held,
                    const sk_grant_source_t *s, sk_ms_t now)
{
    if (s->kind == SK_SOURCE_SHIFT)
        return 0; /* on-call access is reviewed by its rotation */
    if (!sk_campaign_covers(c, s->ent_key))
        return 0;
    const sk_request_settings_t *set = sk_rules_request_settings(rules, s->ent_key);
    bool manual = set && set->provisioning == SK_PROVISIONING_MANUAL;
    bool kind = (s->kind == SK_SOURCE_REQUEST && (c->grants & SK_CAMPAIGN_GRANTS_REQUESTS)) ||
                (s->kind == SK_SOURCE_EMERGENCY && (c->grants & SK_CAMPAIGN_GRANTS_EMERGENCY)) ||
                (s->kind == SK_SOURCE_FOUND && (c->grants & SK_CAMPAIGN_GRANTS_FOUND)) ||
                (manual && s->kind != SK_SOURCE_FOUND && (c->grants & SK_CAMPAIGN_GRANTS_MANUAL));
    if (!kind)
        return 0;
    const sk_request_state_t *rq = sk_state_request(held, s->id);
    if (c->older_than_ms > 0 && rq && now - rq->created_ms < c->older_than_ms)
        return 0;
    return 1;
}

static int set_run(sk_arena_t *arena, sk_reviews_t *r, const char *campaign, sk_ms_t run_ms)
{
    for (size_t i = 0; i < r->n_runs; i++)
        if (strcmp(r->runs[i].campaign, campaign) == 0) {
            r->runs[i].run_ms = run_ms;
            r->runs[i].pending = r->runs[i].closed = false;
            return 0;
        }
    if (r->n_runs == r->cap_runs) {
        size_t cap = 2 * r->cap_runs + 4;
        sk_review_run_t *g = sk_arena_calloc(arena, cap + 1, sizeof(*g));
        if (!g)
            return SK_ENOMEM;
        if (r->n_runs)
            memcpy(g, r->runs, r->n_runs * sizeof(*g));
        r->runs = g;
        r->cap_runs = cap;
    }
    r->runs[r->n_runs++] = (sk_review_run_t){campaign, run_ms, false, false};
    return 0;
}

static sk_review_item_t *new_item(sk_arena_t *arena, sk_reviews_t *r)
{
    if (r->n_items == r->cap_items) {
        size_t cap = 2 * r->cap_items + 4;
        sk_review_item_t *g = sk_arena_calloc(arena, cap + 1, sizeof(*g));
        if (!g)
            return NULL;
        if (r->n_items)
            memcpy(g, r->items, r->n_items * sizeof(*g));
        r->items = g;
        r->cap_items = cap;
    }
    return &r->items[r->n_items++];
}

int sk_campaign_snapshot(const sk_rules_t *rules, const sk_campaign_t *c, sk_ms_t run_ms,
                         sk_ms_t now, const sk_user_state_t *held, sk_arena_t *arena,
                         sk_reviews_t *r, sk_task_t **tasks, size_t *n_tasks)
{
    int made = 0;
    sk_ms_t due = sk_decide_ms_add(run_ms, c->due_after_ms);
    sk_ms_t end = sk_decide_ms_add(due, c->grace_ms);
    const char *user = held->user;
    for (size_t i = 0; i < held->n_sources; i++) {
        const sk_grant_source_t *s = &held->sources[i];
        bool dup = false;
        if (!in_scope(rules, c, held, s, now))
            continue;
        for (size_t k = 0; k < r->n_items && !dup; k++)
            dup = strcmp(r->items[k].campaign, c->id) == 0 && r->items[k].run_ms == run_ms &&
                  strcmp(r->items[k].ent_key, s->ent_key) == 0;
        if (dup)
            continue; /* one item per grant, whatever holds it */
        sk_review_item_t *it = new_item(arena, r);
        if (!it)
            return SK_ENOMEM;
        *it = (sk_review_item_t){.campaign = c->id,
                                 .run_ms = run_ms,
                                 .ent_key = s->ent_key,
                                 .status = SK_REVIEW_OPEN,
                                 .due_ms = due,
                                 .end_ms = end,
                                 .decided_ms = SK_MS_NONE,
                                 .decider = ""};
        if (!(it->assignees = reviewers(rules, c, user, s->ent_key, arena, &it->n_assignees)))
            return SK_ENOMEM;
        const char *why = sk_arena_sprintf(
            arena, "access review '%s': certify or revoke %s's %s by %s%s", c->id, user, s->ent_key,
            sk_decide_fmt_time(arena, due),
            it->n_assignees ? "" : " (nobody may review it: the end action decides)");
        sk_task_t t =
            sk_campaign_task(arena, user, it, SK_TASK_CREATED, SK_TASK_OUTCOME_NONE, why, "", now);
        if (!why || sk_campaign_task_add(arena, tasks, n_tasks, &t))
            return SK_ENOMEM;
        made++;
    }
    return set_run(arena, r, c->id, run_ms) ? SK_ENOMEM : made;
}

/* ---- revocation ---- */

int sk_campaign_revoke(const sk_rules_t *rules, sk_ms_t now, sk_arena_t *arena, sk_user_state_t *st,
                       const char *ent_key, sk_decision_t *d)
{
    sk_grant_source_t *kept = sk_arena_calloc(arena, st->n_sources + 1, sizeof(*kept));
    size_t n = 0;
    sk_decision_t extra;
    if (!kept)
        return SK_ENOMEM;
    for (size_t i = 0; i < st->n_sources; i++) {
        const sk_grant_source_t *s = &st->sources[i];
        if (strcmp(s->ent_key, ent_key) == 0 && s->kind != SK_SOURCE_SHIFT)
            continue;
        kept[n++] = *s;
    }
    if (n == st->n_sources)
        return 0; /* not held by a request or found any more: nothing to take */
    memset(&extra, 0, sizeof(extra));
    if (sk_decide_commands(rules, st->user, now, st, kept, n, arena, &extra))
        return SK_ENOMEM;
    if (extra.n_commands) {
        sk_command_t *all =
            sk_arena_calloc(arena, d->n_commands + extra.n_commands + 1, sizeof(*all));
        if (!all)
            return SK_ENOMEM;
        if (d->n_commands)
            memcpy(all, d->commands, d->n_commands * sizeof(*all));
        memcpy(all + d->n_commands, extra.commands, extra.n_commands * sizeof(*all));
        d->commands = all;
        d->n_commands += extra.n_commands;
    }
    st->sources = kept;
    st->n_sources = n;
    return 0;
}

/* ---- the closing step ---- */

/* The state's sources that `old` held too (a grant this decision gave is
 * not in a snapshot taken now). */
static int held_before(sk_arena_t *arena, const sk_user_state_t *old, const sk_user_state_t *st,
                       sk_user_state_t *out)
{
    *out = *st;
    out->sources = sk_arena_calloc(arena, st->n_sources + 1, sizeof(*out->sources));
    out->n_sources = 0;
    if (!out->sources)
        return SK_ENOMEM;
    for (size_t i = 0; i < st->n_sources; i++)
        for (size_t k = 0; k < old->n_sources; k++)
            if (st->sources[i].kind == old->sources[k].kind &&
                strcmp(st->sources[i].ent_key, old->sources[k].ent_key) == 0 &&
                strcmp(st->sources[i].id, old->sources[k].id) == 0) {
                out->sources[out->n_sources++] = st->sources[i];
                break;
            }
    return 0;
}

/* Scheduled runs not taken yet; *changed when any was. */
static int scheduled_runs(const sk_rules_t *rules, sk_ms_t now, sk_arena_t *arena,
                          const sk_user_state_t *old, sk_decision_t *d, sk_reviews_t *r,
                          sk_decide_trace_t *trace, bool *changed)
{
    sk_user_state_t held;
    bool have_held = false;
    for (size_t i = 0; i < sk_rules_campaign_count(rules); i++) {
        const sk_campaign_t *c = sk_rules_campaign_at(rules, i);
        sk_ms_t run = sk_campaign_run_at(c, now), last = sk_reviews_run(r, c->id);
        for (size_t k = 0; k < r->n_runs; k++)
            if (r->runs[k].pending && strcmp(r->runs[k].campaign, c->id) == 0)
                run = r->runs[k].run_ms, last = SK_MS_NONE; /* an owner's start */
        if (run == SK_MS_NONE || (last != SK_MS_NONE && last >= run) ||
            now >= sk_decide_ms_add(sk_decide_ms_add(run, c->due_after_ms), c->grace_ms))
            continue;
        if (!have_held && held_before(arena, old, &d->state, &held))
            return SK_ENOMEM;
        have_held = true;
        int made =
            sk_campaign_snapshot(rules, c, run, now, &held, arena, r, &d->tasks, &d->n_tasks);
        if (made < 0)
            return SK_ENOMEM;
        if (made)
            sk_decide_trace_add(trace,
                                sk_arena_sprintf(arena,
                                                 "access review '%s' (run of %s): %d "
                                                 "grant(s) to review",
                                                 c->id, sk_decide_fmt_time(arena, run), made));
        *changed = true;
    }
    return 0;
}

/* The end action on an item still open at its end. */
static int end_item(const sk_rules_t *rules, sk_ms_t now, sk_arena_t *arena, sk_decision_t *d,
                    sk_review_item_t *it)
{
    const sk_campaign_t *c = sk_rules_campaign(rules, it->campaign);
    const char *user = d->state.user;
    sk_task_t t;
    if (c && c->end_action == SK_CAMPAIGN_END_REVOKE) {
        it->status = SK_REVIEW_ENDED;
        t = sk_campaign_task(arena, user, it, SK_TASK_CLOSED, SK_TASK_REVOKED,
                             sk_arena_sprintf(arena,
                                              "revoked at the end of access review '%s': "
                                              "nobody certified %s's %s",
                                              it->campaign, user, it->ent_key),
                             "", now);
        if (sk_campaign_revoke(rules, now, arena, &d->state, it->ent_key, d))
            return SK_ENOMEM;
    } else {
        it->status = SK_REVIEW_LEFT;
        t = sk_campaign_task(
            arena, user, it, SK_TASK_CLOSED, c ? SK_TASK_LEFT : SK_TASK_CANCELLED,
            c ? sk_arena_sprintf(arena,
                                 "left as it was at the end of access review '%s': nobody "
                                 "decided on %s's %s",
                                 it->campaign, user, it->ent_key)
              : sk_arena_sprintf(arena, "access review '%s' is no longer in the rules",
                                 it->campaign),
            "", now);
    }
    it->decided_ms = now;
    return sk_campaign_task_add(arena, &d->tasks, &d->n_tasks, &t);
}

/* Reminders and the end of one item; lowers *wake. */
static int step_item(const sk_rules_t *rules, sk_ms_t now, sk_arena_t *arena, sk_decision_t *d,
                     sk_review_item_t *it, sk_ms_t *wake, bool *changed)
{
    sk_ms_t times[SK_CAMPAIGN_REMINDERS_MAX];
    const sk_campaign_t *c = sk_rules_campaign(rules, it->campaign);
    if (it->status != SK_REVIEW_OPEN && it->status != SK_REVIEW_CERTIFIED)
        return 0;
    if (now >= it->end_ms || !c) {
        if (it->status == SK_REVIEW_CERTIFIED)
            return 0; /* certified stays certified */
        *changed = true;
        return end_item(rules, now, arena, d, it);
    }
    *wake = sk_decide_ms_min(*wake, it->end_ms);
    if (it->status != SK_REVIEW_OPEN)
        return 0;
    size_t n = sk_campaign_reminders(it->run_ms, it->due_ms, it->end_ms, times), due = 0;
    while (due < n && times[due] <= now)
        due++;
    if (due < n)
        *wake = sk_decide_ms_min(*wake, times[due]);
    if ((int)due <= it->sent)
        return 0;
    it->sent = (int)due;
    *changed = true;
    const char *why = sk_arena_sprintf(arena, "reminder: access review '%s' of %s's %s is %s",
                                       it->campaign, d->state.user, it->ent_key,
                                       reminder_words(arena, times[due - 1], it->due_ms));
    sk_task_t t = sk_campaign_task(arena, d->state.user, it, SK_TASK_UPDATED, SK_TASK_OUTCOME_NONE,
                                   why, "", now);
    return why ? sk_campaign_task_add(arena, &d->tasks, &d->n_tasks, &t) : SK_ENOMEM;
}

int sk_campaign_followups(const sk_rules_t *rules, sk_ms_t now, sk_arena_t *arena,
                          const sk_user_state_t *old, sk_decision_t *d, sk_decide_trace_t *trace,
                          sk_ms_t *wake)
{
    sk_reviews_t r;
    bool changed = false;
    size_t nc = sk_rules_campaign_count(rules), kept = 0, keep_runs = 0;
    if (!d->state.n_campaign && !nc)
        return 0;
    if (sk_reviews_parse(arena, &d->state, nc * (d->state.n_sources + 1), &r, NULL))
        return SK_ENOMEM;
    if (scheduled_runs(rules, now, arena, old, d, &r, trace, &changed))
        return SK_ENOMEM;
    for (size_t i = 0; i < r.n_items; i++) {
        sk_review_item_t *it = &r.items[i];
        if (step_item(rules, now, arena, d, it, wake, &changed))
            return SK_ENOMEM;
        if (sk_review_final(it, now) && now >= sk_decide_ms_add(it->end_ms, SK_SHIFT_MEMORY_MS)) {
            changed = true; /* forgotten: the tasks topic keeps the record */
            continue;
        }
        r.items[kept++] = *it;
    }
    r.n_items = kept;
    for (size_t i = 0; i < r.n_runs; i++) {
        if (!sk_rules_campaign(rules, r.runs[i].campaign)) {
            changed = true;
            continue;
        }
        r.runs[keep_runs++] = r.runs[i];
    }
    r.n_runs = keep_runs;
    return changed ? sk_reviews_store(arena, &r, &d->state) : 0;
}

int sk_campaign_pending_wake(sk_ms_t now, const sk_user_state_t *st, sk_arena_t *arena,
                             sk_ms_t *wake)
{
    sk_reviews_t r;
    sk_ms_t times[SK_CAMPAIGN_REMINDERS_MAX];
    if (!st->n_campaign)
        return 0;
    if (sk_reviews_parse(arena, st, 0, &r, NULL))
        return SK_ENOMEM;
    for (size_t i = 0; i < r.n_items; i++) {
        const sk_review_item_t *it = &r.items[i];
        if (it->status != SK_REVIEW_OPEN && it->status != SK_REVIEW_CERTIFIED)
            continue;
        *wake = sk_decide_ms_min(*wake, it->end_ms);
        size_t n = sk_campaign_reminders(it->run_ms, it->due_ms, it->end_ms, times);
        if (it->status == SK_REVIEW_OPEN && (size_t)it->sent < n)
            *wake = sk_decide_ms_min(*wake, times[it->sent]);
    }
    (void)now;
    return 0;
}
