/*
 * test_campaign.c — access review campaigns (issue 17) in the rules and in
 * the pure deciders, with fixed clocks on tests/rules/campaigns: the
 * snapshot at a run's start, certify / revoke and who may, any revoke
 * winning, the end actions (revoke → REVOKE and a DEPROVISIONING task for
 * an entitlement provisioned by hand; leave → LEFT), reminders once each,
 * a recurring run, owners' start and close, the state's storage form, and
 * bad campaign rules refused with file:line:column.
 *
 * Cast: bob, carl, dave hold vault/admin (by hand) and vault/read by
 * requests; ann is the app owner and their manager; olga owns the
 * campaigns; prov provisions vault/admin by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "decide/campaign.h"
#include "decide/decide_request.h"
#include "sk_decide_fx.h"
#include "sk_test.h"

#define RULES "tests/rules/campaigns"
#define T0    1800000000000LL /* 2027-01-15T08:00:00Z: both campaigns start */
#define HOUR  3600000LL
#define DAY   (24 * HOUR)

static sk_dfx_t fx = {.rules_path = RULES};

/* The last case: frees what the cases share (the sanitizer's leak check). */
TEST(teardown)
{
    sk_dfx_teardown(&fx);
}

/* `user` holding vault/admin and vault/read by requests since long ago. */
static sk_user_state_t holder(const char *user)
{
    sk_grant_source_t *s = sk_arena_calloc(&fx.arena, 2, sizeof(*s));
    s[0] = (sk_grant_source_t){"vault/admin", SK_SOURCE_REQUEST, "req-a", "", T0 + 80 * DAY};
    s[1] = (sk_grant_source_t){"vault/read", SK_SOURCE_REQUEST, "req-r", "", T0 + 80 * DAY};
    return (sk_user_state_t){.user = user, .n_sources = 2, .sources = s};
}

/* The user's timer fires at now. */
static sk_decision_t timer(sk_user_state_t *st, sk_ms_t now)
{
    sk_decision_t d;
    sk_input_t in = {
        .kind = SK_INPUT_TIMER, .user = st->user, .origin = {"", 0, -1}, .now_ms = now};
    CHECK_INT(sk_decide(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.tasks, d.n_tasks);
    if (!d.rejected)
        *st = d.state;
    return d;
}

static sk_request_decision_t act(sk_user_state_t *st, sk_request_event_type_t type, const char *id,
                                 const char *actor, const char *comment, sk_ms_t now)
{
    sk_request_decision_t d;
    sk_request_event_t e = {.event_id = sk_arena_sprintf(&fx.arena, "ev-%lld", (long long)now),
                            .type = type,
                            .request_id = id,
                            .actor = actor,
                            .subject = st->user,
                            .target_kind = SK_TARGET_ENTITLEMENT,
                            .target = "",
                            .duration_ms = SK_MS_NONE,
                            .justification = "",
                            .comment = comment,
                            .source = "test",
                            .occurred_at_ms = now};
    sk_request_input_t in = {.event = &e, .origin = {"shiftkey.requests.v1", 0, 7}, .now_ms = now};
    CHECK_INT(sk_decide_request(fx.rules, &in, st, &fx.arena, &d), 0);
    sk_dfx_check_tasks_wire(&fx, d.base.tasks, d.base.n_tasks);
    if (!d.base.rejected && !d.refused)
        *st = d.base.state;
    return d;
}

/* The task of d for campaign c (request_id prefix) and target ent, or NULL. */
static const sk_task_t *task_of(const sk_decision_t *d, const char *c, const char *ent)
{
    for (size_t i = 0; i < d->n_tasks; i++)
        if (d->tasks[i].kind == SK_TASK_ACCESS_REVIEW &&
            strncmp(d->tasks[i].request_id, c, strlen(c)) == 0 &&
            d->tasks[i].request_id[strlen(c)] == '@' && strcmp(d->tasks[i].target, ent) == 0)
            return &d->tasks[i];
    return NULL;
}

static size_t count_kind(const sk_decision_t *d, sk_task_kind_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_tasks; i++)
        n += d->tasks[i].kind == k;
    return n;
}

/* ---- rules ---- */

TEST(rules_compile_campaigns)
{
    sk_dfx_setup(&fx);
    const sk_campaign_t *r = sk_rules_campaign(fx.rules, "vault-revoke");
    const sk_campaign_t *l = sk_rules_campaign(fx.rules, "vault-leave");
    CHECK_INT((int)sk_rules_campaign_count(fx.rules), 2);
    CHECK(r && l);
    if (!r || !l)
        return;
    CHECK_INT((int)r->n_ents, 1);
    CHECK_STR(r->ents[0], "vault/admin");
    CHECK_INT((int)l->n_ents, 2); /* the whole app */
    CHECK_INT((int)r->grants, SK_CAMPAIGN_GRANTS_MANUAL);
    CHECK(r->start_ms == T0 && r->due_after_ms == 14 * DAY && r->grace_ms == 2 * DAY);
    CHECK(r->end_action == SK_CAMPAIGN_END_REVOKE && l->end_action == SK_CAMPAIGN_END_LEAVE);
    CHECK_STR(r->slack_channel, "#vault-review");
    CHECK(sk_campaign_is_owner(r, "olga") && !sk_campaign_is_owner(r, "ann"));
    CHECK(sk_campaign_run_at(l, T0 - 1) == SK_MS_NONE);
    CHECK(sk_campaign_run_at(l, T0 + 31 * DAY) == T0 + 30 * DAY);
    CHECK(sk_campaign_next_run(l, T0 + 1) == T0 + 30 * DAY);
    CHECK(sk_campaign_next_run(r, T0 + 1) == SK_MS_NONE);
}

/* Writes `yaml` as a rule file and returns the errors' text. */
static char *load_errors(const char *yaml)
{
    static char out[4096];
    char dir[] = "/tmp/sk-campaign-XXXXXX", path[64];
    sk_rules_errors_t errs;
    FILE *f;
    out[0] = '\0';
    if (!mkdtemp(dir))
        return out;
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    if ((f = fopen(path, "w"))) {
        fputs(yaml, f);
        fclose(f);
    }
    sk_rules_errors_init(&errs);
    sk_rules_t *r = sk_rules_load(path, &errs);
    CHECK(r == NULL);
    sk_rules_destroy(r);
    for (size_t i = 0; i < errs.count; i++) {
        size_t used = strlen(out);
        snprintf(out + used, sizeof(out) - used, "%d:%d: %s\n", errs.items[i].line,
                 errs.items[i].column, errs.items[i].message);
    }
    sk_rules_errors_fini(&errs);
    unlink(path);
    rmdir(dir);
    return out;
}

#define BAD_BASE                                                                                   \
    "apps:\n"                                                                                      \
    "  - id: vault\n"                                                                              \
    "    entitlements:\n"                                                                          \
    "      - id: admin\n"                                                                          \
    "        max_duration: 1h\n"                                                                   \
    "people:\n"                                                                                    \
    "  - id: olga\n"                                                                               \
    "campaigns:\n"                                                                                 \
    "  - id: c1\n"                                                                                 \
    "    owners: [olga]\n"

TEST(bad_campaign_rules_refused_with_place)
{
    sk_dfx_setup(&fx);
    char *e = load_errors(BAD_BASE "    scope: {entitlements: [vault/admn]}\n"
                                   "    reviewers: {users: [olga]}\n"
                                   "    start: 2027-01-15T08:00:00Z\n"
                                   "    due_after: 14d\n"
                                   "    end_action: delete\n");
    CHECK_CONTAINS(e, "11:28: unknown entitlement 'vault/admn' in scope of campaign 'c1'");
    CHECK_CONTAINS(e, "15:17: bad end_action 'delete' in campaign 'c1' (expected leave or revoke)");
    e = load_errors(BAD_BASE "    scope: {apps: [vault]}\n"
                             "    reviewers: {users: [olga], allow_self_approval: true}\n"
                             "    start: 2027-13-15T08:00:00Z\n"
                             "    end_action: leave\n"
                             "    slack_chanel: '#x'\n");
    CHECK_CONTAINS(e, "unknown key 'slack_chanel' in campaign (did you mean 'slack_channel'?)");
    e = load_errors(BAD_BASE "    scope: {apps: [vault]}\n"
                             "    reviewers: {users: [olga], allow_self_approval: true}\n"
                             "    start: 2027-13-15T08:00:00Z\n"
                             "    end_action: leave\n");
    CHECK_CONTAINS(e, "12:53: campaign 'c1': nobody reviews their own access");
    CHECK_CONTAINS(e, "13:12: bad start '2027-13-15T08:00:00Z' in campaign 'c1'");
    CHECK_CONTAINS(e, "9:9: campaign 'c1' needs 'due_after'");
    e = load_errors(BAD_BASE "    scope: {apps: [vault], grants: [shifts]}\n"
                             "    reviewers: {on_call: primary}\n"
                             "    start: 2027-01-15T08:00:00Z\n"
                             "    due_after: 14d\n"
                             "    every: 7d\n"
                             "    end_action: leave\n");
    CHECK_CONTAINS(e, "11:37: unknown grant kind 'shifts'");
    CHECK_CONTAINS(e, "on_call reviewers are not supported in campaigns");
    CHECK_CONTAINS(e, "recurs every 7d, before a run ends");
}

/* ---- the snapshot ---- */

TEST(start_snapshots_grants_in_scope_once)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = holder("bob");
    sk_decision_t d = timer(&bob, T0 - 1);
    CHECK_INT((int)count_kind(&d, SK_TASK_ACCESS_REVIEW), 0); /* not started yet */
    d = timer(&bob, T0);
    const sk_task_t *a = task_of(&d, "vault-revoke", "vault/admin");
    CHECK_INT((int)count_kind(&d, SK_TASK_ACCESS_REVIEW), 3); /* admin twice, read once */
    CHECK(a && a->state == SK_TASK_CREATED && a->n_assignees == 1);
    if (a && a->n_assignees)
        CHECK_STR(a->assignees[0], "ann"); /* the app owner */
    CHECK(task_of(&d, "vault-leave", "vault/read") != NULL);
    CHECK(task_of(&d, "vault-revoke", "vault/read") == NULL);     /* not in that scope */
    CHECK(d.next_wake_ms > T0 && d.next_wake_ms <= T0 + 7 * DAY); /* the first weekly reminder */
    d = timer(&bob, T0 + HOUR);                                   /* taken once */
    CHECK_INT((int)count_kind(&d, SK_TASK_ACCESS_REVIEW), 0);
    /* what a grant given after the start: not in this run */
    sk_user_state_t eve = {.user = "eve"};
    d = timer(&eve, T0 + HOUR);
    CHECK_INT((int)count_kind(&d, SK_TASK_ACCESS_REVIEW), 0);
    CHECK_INT((int)d.state.n_campaign, 2); /* the runs are marked taken */
}

TEST(holder_never_reviews_own_access)
{
    sk_dfx_setup(&fx);
    sk_user_state_t ann = holder("ann"); /* ann owns the app */
    sk_decision_t d = timer(&ann, T0);
    const sk_task_t *a = task_of(&d, "vault-revoke", "vault/admin");
    CHECK(a && a->n_assignees == 1);
    if (a && a->n_assignees)
        CHECK_STR(a->assignees[0], "olga"); /* nobody else: the owners */
    sk_request_decision_t r =
        act(&ann, SK_REQ_REVIEW_CERTIFIED, a ? a->task_id : "x", "ann", "mine", T0 + HOUR);
    CHECK(r.refused);
    CHECK_CONTAINS(r.refuse_reason, "self-review");
}

/* ---- decisions ---- */

TEST(certify_revoke_and_who_may)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = holder("bob");
    sk_decision_t d = timer(&bob, T0);
    const sk_task_t *a = task_of(&d, "vault-revoke", "vault/admin");
    const char *id = a ? a->task_id : "x";
    sk_request_decision_t r = act(&bob, SK_REQ_REVIEW_CERTIFIED, id, "carl", "ok", T0 + HOUR);
    CHECK(r.refused); /* neither reviewer nor owner */
    r = act(&bob, SK_REQ_REVIEW_CERTIFIED, id, "ann", "", T0 + HOUR);
    CHECK(r.refused); /* no reason */
    CHECK_CONTAINS(r.refuse_reason, "reason is required");
    r = act(&bob, SK_REQ_REVIEW_CERTIFIED, "rv-unknown", "ann", "ok", T0 + HOUR);
    CHECK(r.base.rejected && r.base.reject_kind == SK_DL_UNKNOWN_REFERENCE);
    r = act(&bob, SK_REQ_REVIEW_CERTIFIED, id, "ann", "still on the rota", T0 + HOUR);
    CHECK(!r.refused && r.base.n_commands == 0 && r.base.n_tasks == 1);
    CHECK(r.base.tasks[0].state == SK_TASK_CLOSED && r.base.tasks[0].outcome == SK_TASK_CERTIFIED);
    CHECK_STR(r.base.tasks[0].actor, "ann");
    CHECK_CONTAINS(r.base.tasks[0].reason, "certified by ann: still on the rota");
    CHECK_STR(r.base.audit.decision, "review_certified");
    /* any single revoke wins, also after a certification */
    r = act(&bob, SK_REQ_REVIEW_REVOKED, id, "olga", "left the team", T0 + 2 * HOUR);
    CHECK(!r.refused && r.base.n_commands == 1);
    CHECK(r.base.n_commands && r.base.commands[0].action == SK_CMD_REVOKE &&
          strcmp(r.base.commands[0].entitlement, "admin") == 0);
    CHECK_INT((int)count_kind(&r.base, SK_TASK_DEPROVISIONING), 1); /* by hand */
    const sk_task_t *t = task_of(&r.base, "vault-revoke", "vault/admin");
    CHECK(t && t->outcome == SK_TASK_REVOKED);
    CHECK_STR(r.base.audit.decision, "revoked");
    r = act(&bob, SK_REQ_REVIEW_CERTIFIED, id, "ann", "oops", T0 + 3 * HOUR);
    CHECK(r.refused); /* closed */
    /* the end: the revoked item stays revoked, nothing more */
    d = timer(&bob, T0 + 16 * DAY);
    CHECK(task_of(&d, "vault-revoke", "vault/admin") == NULL);
}

TEST(end_actions_revoke_and_leave)
{
    sk_dfx_setup(&fx);
    sk_user_state_t dave = holder("dave");
    sk_decision_t d = timer(&dave, T0);
    d = timer(&dave, T0 + 14 * DAY); /* vault-leave's end (no grace): left */
    const sk_task_t *l = task_of(&d, "vault-leave", "vault/read");
    CHECK(d.n_commands == 0);
    d = timer(&dave, T0 + 16 * DAY); /* vault-revoke's end: due + 2d */
    const sk_task_t *r = task_of(&d, "vault-revoke", "vault/admin");
    CHECK(r && r->state == SK_TASK_CLOSED && r->outcome == SK_TASK_REVOKED);
    CHECK(l && l->state == SK_TASK_CLOSED && l->outcome == SK_TASK_LEFT);
    CHECK_INT((int)d.n_commands, 1);
    CHECK(d.n_commands && d.commands[0].action == SK_CMD_REVOKE &&
          strcmp(d.commands[0].entitlement, "admin") == 0);
    CHECK_INT((int)count_kind(&d, SK_TASK_DEPROVISIONING), 1);
    bool read_held = false;
    for (size_t i = 0; i < dave.n_sources; i++)
        read_held |= strcmp(dave.sources[i].ent_key, "vault/read") == 0;
    CHECK(read_held); /* left */
    d = timer(&dave, T0 + 16 * DAY + HOUR);
    CHECK_INT((int)count_kind(&d, SK_TASK_ACCESS_REVIEW), 0);
}

TEST(reminders_once_each)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = holder("bob");
    sk_ms_t times[SK_CAMPAIGN_REMINDERS_MAX];
    size_t n = sk_campaign_reminders(T0, T0 + 14 * DAY, T0 + 16 * DAY, times);
    /* weekly (day 7), 3 days before, 1 day before, the day, overdue day 15 */
    CHECK_INT((int)n, 5);
    CHECK(n == 5 && times[0] == T0 + 7 * DAY && times[1] == T0 + 11 * DAY &&
          times[2] == T0 + 13 * DAY && times[3] == T0 + 14 * DAY && times[4] == T0 + 15 * DAY);
    timer(&bob, T0);
    const char *want[] = {"due in 7 days", "due in 3 days", "due tomorrow", "due now",
                          "overdue by 1 day"};
    for (size_t i = 0; i < n; i++) {
        sk_decision_t d = timer(&bob, times[i]);
        const sk_task_t *t = task_of(&d, "vault-revoke", "vault/admin");
        CHECK(t && t->state == SK_TASK_UPDATED);
        if (t)
            CHECK_CONTAINS(t->reason, want[i]);
        CHECK(d.next_wake_ms == (i + 1 < n ? times[i + 1] : T0 + 16 * DAY));
        bob = sk_dfx_stored(&fx, &bob); /* an engine restarted: the state as Redis keeps it */
        d = timer(&bob, times[i] + 1);  /* again at the same step: nothing */
        CHECK(task_of(&d, "vault-revoke", "vault/admin") == NULL);
    }
    /* several missed (engine down): only the latest is sent */
    sk_user_state_t carl = holder("carl");
    timer(&carl, T0);
    sk_decision_t d = timer(&carl, T0 + 13 * DAY + HOUR);
    const sk_task_t *t = task_of(&d, "vault-revoke", "vault/admin");
    CHECK(t && strstr(t->reason, "due tomorrow"));
    CHECK_INT((int)count_kind(&d, SK_TASK_ACCESS_REVIEW), 3); /* one per open item */
}

TEST(recurring_campaign_starts_again)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = holder("bob");
    timer(&bob, T0);
    timer(&bob, T0 + 16 * DAY); /* both runs over */
    sk_decision_t d = timer(&bob, T0 + 30 * DAY);
    const sk_task_t *l = task_of(&d, "vault-leave", "vault/read"); /* admin was revoked */
    CHECK(l && l->state == SK_TASK_CREATED);
    if (l)
        CHECK_CONTAINS(l->request_id, "vault-leave@1802592000000");
    CHECK(task_of(&d, "vault-revoke", "vault/admin") == NULL); /* one run only */
}

TEST(owner_starts_and_closes_a_run)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = holder("bob");
    sk_decision_t d = timer(&bob, T0);
    const sk_task_t *c = task_of(&d, "vault-revoke", "vault/admin");
    act(&bob, SK_REQ_REVIEW_CERTIFIED, c ? c->task_id : "x", "ann", "kept", T0 + HOUR);
    sk_ms_t later = T0 + 20 * DAY; /* vault-revoke's only run is over */
    timer(&bob, later);
    sk_request_decision_t r = act(&bob, SK_REQ_CAMPAIGN_STARTED, "vault-revoke", "ann", "", later);
    CHECK(r.refused); /* not an owner */
    r = act(&bob, SK_REQ_CAMPAIGN_STARTED, "vault-revoke", "olga", "", later);
    CHECK(!r.refused && !r.base.rejected);
    const sk_task_t *a = task_of(&r.base, "vault-revoke", "vault/admin");
    CHECK(a && a->state == SK_TASK_CREATED);
    r = act(&bob, SK_REQ_CAMPAIGN_STARTED, "vault-revoke", "olga", "", later + HOUR);
    CHECK(r.refused); /* one run at a time */
    r = act(&bob, SK_REQ_CAMPAIGN_STARTED, "nope", "olga", "", later + HOUR);
    CHECK(r.base.rejected);
    r = act(&bob, SK_REQ_CAMPAIGN_CLOSED, "vault-revoke", "olga", "", later + 2 * HOUR);
    a = task_of(&r.base, "vault-revoke", "vault/admin");
    CHECK(a && a->outcome == SK_TASK_REVOKED); /* its end action, now */
    CHECK_INT((int)r.base.n_commands, 1);
    sk_user_state_t eve = {.user = "eve"}; /* no item: closed all the same */
    r = act(&eve, SK_REQ_CAMPAIGN_STARTED, "vault-revoke", "olga", "", later);
    r = act(&eve, SK_REQ_CAMPAIGN_CLOSED, "vault-revoke", "olga", "", later + 2 * HOUR);
    r = act(&bob, SK_REQ_CAMPAIGN_STARTED, "vault-revoke", "olga", "", later + 3 * HOUR);
    CHECK(!r.refused && !r.base.rejected); /* closed: another run may start */
    r = act(&eve, SK_REQ_CAMPAIGN_STARTED, "vault-revoke", "olga", "", later + 3 * HOUR);
    CHECK(!r.refused && !r.base.rejected);
}

TEST(state_round_trip)
{
    sk_dfx_setup(&fx);
    sk_user_state_t bob = holder("bob");
    timer(&bob, T0);
    size_t bad = 9;
    sk_user_state_t back = sk_dfx_stored(&fx, &bob);
    CHECK_INT((int)back.n_campaign, 5); /* three items, two runs */
    sk_reviews_t r;
    CHECK_INT(sk_reviews_parse(&fx.arena, &back, 0, &r, &bad), 0);
    CHECK_INT((int)bad, 0);
    CHECK_INT((int)r.n_items, 3);
    CHECK_INT((int)r.n_runs, 2);
    sk_state_diff_t diff;
    CHECK_INT(sk_state_diff(&fx.arena, &bob, &back, &diff), 0);
    CHECK_INT((int)(diff.n_set + diff.n_del), 0);
}

SK_TEST_MAIN(SK_TEST_CASE(rules_compile_campaigns),
             SK_TEST_CASE(bad_campaign_rules_refused_with_place),
             SK_TEST_CASE(start_snapshots_grants_in_scope_once),
             SK_TEST_CASE(holder_never_reviews_own_access),
             SK_TEST_CASE(certify_revoke_and_who_may), SK_TEST_CASE(end_actions_revoke_and_leave),
             SK_TEST_CASE(reminders_once_each), SK_TEST_CASE(recurring_campaign_starts_again),
             SK_TEST_CASE(owner_starts_and_closes_a_run), SK_TEST_CASE(state_round_trip),
             SK_TEST_CASE(teardown))
