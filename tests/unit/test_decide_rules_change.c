/*
 * test_decide_rules_change.c — a rules change takes access back (issue 12):
 * what two rule sets say alike (sk_rules_entitlement_same, _rotation_same,
 * which pick the users a reload sweeps), the "e:" memory of what a held
 * entitlement is, and the decision with SK_INPUT_RULES under rules that
 * forgot an entitlement: a complete REVOKE, for shift and request sources.
 */
#include <string.h>

#include "decide/decide.h"
#include "sk_decide_fx.h"
#include "sk_test.h"

#define T0   1800000000000LL
#define HOUR 3600000LL

/* fx.rules: the rules before the change; fx.other: after it */
static sk_dfx_t fx = {.rules_path = "tests/rules/change_before",
                      .other_path = "tests/rules/change_after"};

static sk_decision_t decide(const sk_rules_t *r, sk_input_kind_t kind, const sk_schedule_event_t *e,
                            const sk_user_state_t *st, sk_ms_t now)
{
    sk_decision_t d;
    sk_input_t in = {.kind = kind,
                     .schedule = e,
                     .user = st->user,
                     .origin = {"t", 0, e ? 1 : -1},
                     .now_ms = now};
    CHECK_INT(sk_decide(r, &in, st, &fx.arena, &d), 0);
    return d;
}

static const sk_command_t *find(const sk_decision_t *d, sk_command_action_t a, const char *ent)
{
    for (size_t i = 0; i < d->n_commands; i++)
        if (d->commands[i].action == a && strcmp(d->commands[i].entitlement, ent) == 0)
            return &d->commands[i];
    return NULL;
}

TEST(what_two_rule_sets_say_alike)
{
    sk_dfx_setup(&fx);
    CHECK(fx.rules && fx.other);
    CHECK_INT(sk_rules_entitlement_same(fx.rules, fx.rules, "db/ro"), 1);
    CHECK_INT(sk_rules_entitlement_same(fx.rules, fx.other, "db/ro"), 0); /* gone */
    CHECK_INT(sk_rules_entitlement_same(fx.rules, fx.other, "db/rw"), 1);
    CHECK_INT(sk_rules_rotation_same(fx.rules, fx.other, "ops"), 0); /* gives less */
    CHECK_INT(sk_rules_rotation_same(fx.rules, fx.other, "dev"), 1);
    CHECK_INT(sk_rules_rotation_same(fx.rules, fx.other, "nope"), 0);
}

TEST(a_held_entitlement_remembers_its_resource_and_permission)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "ann"};
    sk_schedule_event_t e = {"e1", SK_SHIFT_STARTED, "test", "ops", "ann", "s1",
                             T0,   T0 + HOUR,        1,      T0};
    sk_decision_t d = decide(fx.rules, SK_INPUT_SCHEDULE, &e, &st, T0);
    CHECK_INT(d.n_commands, 2);
    bool found = false;
    for (size_t i = 0; i < d.diff.n_set; i++)
        if (strcmp(d.diff.set[i].name, "e:db/ro") == 0) {
            CHECK_STR(d.diff.set[i].value, "17 pg://prod/main dbSELECT");
            found = true;
        } else {
            CHECK(strcmp(d.diff.set[i].name, "e:db/rw") != 0); /* nothing to remember */
        }
    CHECK(found);
    sk_user_state_t back;
    size_t bad = 9;
    CHECK_INT(sk_state_parse(&fx.arena, "ann", d.diff.set, d.diff.n_set, &back, &bad), 0);
    CHECK_INT(bad, 0);
    CHECK_INT(back.n_held, 1);
    const sk_held_detail_t *h = sk_state_held(&back, "db/ro");
    CHECK(h && strcmp(h->resource, "pg://prod/main db") == 0 &&
          strcmp(h->permission, "SELECT") == 0);
}

TEST(rules_that_forgot_an_entitlement_revoke_it_completely)
{
    sk_dfx_setup(&fx);
    sk_user_state_t st = {.user = "ann"};
    sk_schedule_event_t e = {"e1", SK_SHIFT_STARTED, "test", "ops", "ann", "s1",
                             T0,   T0 + HOUR,        1,      T0};
    sk_decision_t d = decide(fx.rules, SK_INPUT_SCHEDULE, &e, &st, T0);
    st = d.state;
    d = decide(fx.other, SK_INPUT_RULES, NULL, &st, T0 + 1000);
    const sk_command_t *r = find(&d, SK_CMD_REVOKE, "ro");
    CHECK(r != NULL);
    if (r) {
        CHECK_STR(r->app, "db");
        CHECK_STR(r->resource, "pg://prod/main db");
        CHECK_STR(r->permission, "SELECT");
    }
    CHECK(find(&d, SK_CMD_REVOKE, "rw") == NULL); /* still given by ops */
    CHECK(strncmp(d.audit.actor, "rules:", 6) == 0);
    CHECK_INT(d.state.n_held, 0); /* forgotten with the grant */
}

TEST(a_request_source_of_a_forgotten_entitlement_ends)
{
    sk_dfx_setup(&fx);
    sk_grant_source_t src = {"db/ro", SK_SOURCE_REQUEST, "req-1", "", T0 + 4 * HOUR};
    sk_held_detail_t held = {"db/ro", "pg://prod/main db", "SELECT"};
    sk_user_state_t st = {
        .user = "bob", .n_sources = 1, .sources = &src, .n_held = 1, .held = &held};
    sk_decision_t d = decide(fx.rules, SK_INPUT_RULES, NULL, &st, T0);
    CHECK_INT(d.n_commands, 0); /* the rules still have it: nothing changes */
    d = decide(fx.other, SK_INPUT_RULES, NULL, &st, T0);
    const sk_command_t *r = find(&d, SK_CMD_REVOKE, "ro");
    CHECK(r != NULL);
    if (r)
        CHECK_STR(r->resource, "pg://prod/main db");
    CHECK_INT(d.state.n_sources, 0);
}

TEST(z_teardown)
{
    sk_dfx_teardown(&fx);
}

SK_TEST_MAIN(SK_TEST_CASE(what_two_rule_sets_say_alike),
             SK_TEST_CASE(a_held_entitlement_remembers_its_resource_and_permission),
             SK_TEST_CASE(rules_that_forgot_an_entitlement_revoke_it_completely),
             SK_TEST_CASE(a_request_source_of_a_forgotten_entitlement_ends),
             SK_TEST_CASE(z_teardown))
