/*
 * test_requests.c — access requests through the engine over real parts:
 * request events on shiftkey.requests.v1 (mock cluster over TCP), state in
 * a real redis-server, commands and tasks read back from their topics.
 */
#include <string.h>

#include "sk_fixture.h"
#include "sk_test.h"

#define RULES "tests/rules/requests"
#define PARTS 4
#define HOUR 3600000LL

static sk_fx_redis_t redis;
static sk_fx_kafka_t kafka;
static sk_fx_engine_t eng;
static sk_fx_reader_t *commands, *tasks, *deadletters;

static sk_request_event_t req(sk_request_event_type_t type, const char *event_id, const char *id,
                              const char *actor, const char *subject, const char *target,
                              sk_ms_t dur)
{
    return (sk_request_event_t){.event_id = event_id, .type = type, .request_id = id,
                                .actor = actor, .subject = subject,
                                .target_kind = SK_TARGET_ENTITLEMENT, .target = target,
                                .duration_ms = dur, .justification = "incident 42",
                                .comment = "", .source = "test", .occurred_at_ms = sk_now_ms()};
}

TEST(a_setup)
{
    CHECK_INT(sk_fx_redis_start(&redis), 0);
    CHECK_INT(sk_fx_kafka_start(&kafka, PARTS), 0);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, RULES, "sk-requests"), 0);
    commands = sk_fx_reader_new(kafka.bootstraps, "shiftkey.commands.v1", PARTS);
    tasks = sk_fx_reader_new(kafka.bootstraps, "shiftkey.tasks.v1", PARTS);
    deadletters = sk_fx_reader_new(kafka.bootstraps, "shiftkey.deadletter.v1", PARTS);
}

TEST(self_service_request_is_granted_at_once)
{
    sk_ms_t before = sk_now_ms();
    sk_request_event_t c = req(SK_REQ_CREATED, "q1", "r-auto", "bob", "bob", "app/read", HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "bob", 1, 15000), 1);
    const sk_fx_record_t *r[4];
    if (sk_fx_reader_get(commands, "bob", r, 4) >= 1) {
        CHECK_INT(r[0]->cmd.action, SK_CMD_GRANT);
        CHECK_STR(r[0]->cmd.entitlement, "read");
        CHECK(r[0]->cmd.expires_at_ms >= before + HOUR);
        CHECK(r[0]->cmd.n_sources == 1 && r[0]->cmd.sources[0].kind == SK_SOURCE_REQUEST);
        CHECK_STR(r[0]->cmd.sources[0].id, "r-auto");
    }
}

TEST(two_step_policy_grants_after_both_reviewers)
{
    sk_request_event_t c = req(SK_REQ_CREATED, "q2", "r-two", "bob", "bob", "app/write", HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    /* step 1: bob's manager ann reviews */
    CHECK(sk_fx_reader_wait(tasks, "bob", 1, 15000) >= 1);
    sk_request_event_t a1 = req(SK_REQ_APPROVED, "q3", "r-two", "ann", "bob", "app/write", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &a1), 0);
    /* step 2: the app owner (group owners) reviews; carl approves */
    CHECK(sk_fx_reader_wait(tasks, "bob", 3, 15000) >= 3);
    CHECK_INT(sk_fx_reader_wait(commands, "bob", 2, 10), 1); /* not granted yet */
    sk_request_event_t a2 = req(SK_REQ_APPROVED, "q4", "r-two", "carl", "bob", "app/write", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &a2), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "bob", 2, 15000), 2);
    const sk_fx_record_t *r[4];
    if (sk_fx_reader_get(commands, "bob", r, 4) >= 2) {
        CHECK_INT(r[1]->cmd.action, SK_CMD_GRANT);
        CHECK_STR(r[1]->cmd.entitlement, "write");
    }
    const sk_fx_record_t *t[16];
    size_t n = sk_fx_reader_get(tasks, "bob", t, 16);
    bool closed_approved = false;
    for (size_t i = 0; i < n; i++)
        closed_approved |= t[i]->task.state == SK_TASK_CLOSED &&
                           t[i]->task.outcome == SK_TASK_APPROVED;
    CHECK(closed_approved);
}

TEST(a_requester_who_may_not_request_is_refused_with_a_task)
{
    sk_request_event_t c = req(SK_REQ_CREATED, "q5", "r-no", "eve", "eve", "app/read", HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK_INT(sk_fx_reader_wait(tasks, "eve", 1, 15000), 1);
    const sk_fx_record_t *t[2];
    if (sk_fx_reader_get(tasks, "eve", t, 2) == 1) {
        CHECK_INT(t[0]->task.state, SK_TASK_CLOSED);
        CHECK_INT(t[0]->task.outcome, SK_TASK_DENIED);
        CHECK_CONTAINS(t[0]->task.reason, "may not request");
    }
    CHECK_INT(sk_fx_reader_wait(commands, "eve", 1, 500), 0);
}

TEST(a_request_for_an_unknown_entitlement_is_a_dead_letter)
{
    sk_request_event_t c = req(SK_REQ_CREATED, "q6", "r-bad", "bob", "bob", "app/nope", HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK(sk_fx_reader_wait(deadletters, "bob", 1, 15000) >= 1);
    const sk_fx_record_t *d[2];
    if (sk_fx_reader_get(deadletters, "bob", d, 2) >= 1)
        CHECK_CONTAINS(d[0]->dl.reason, "entitlement 'app/nope' is not in the rules");
}

static bool has_assignee(const sk_task_t *t, const char *who)
{
    for (size_t i = 0; i < t->n_assignees; i++)
        if (strcmp(t->assignees[i], who) == 0)
            return true;
    return false;
}

/* The latest task of `subject` of this kind and state; NULL when none. */
static const sk_task_t *last_task(const char *subject, sk_task_kind_t kind, sk_task_state_t st)
{
    const sk_fx_record_t *t[64];
    size_t n = sk_fx_reader_get(tasks, subject, t, 64);
    const sk_task_t *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (t[i]->task.kind == kind && t[i]->task.state == st)
            found = &t[i]->task;
    return found;
}

TEST(an_on_call_reviewers_step_asks_whoever_is_on_call)
{
    /* dana goes on call in primary (which also grants her app/read) */
    sk_ms_t now = sk_now_ms();
    sk_schedule_event_t ev = {.event_id = "oc-1", .type = SK_SHIFT_STARTED, .source = "test",
                              .rotation = "primary", .user = "dana", .shift_id = "oc-shift-1",
                              .start_ms = now - 60000, .end_ms = now + HOUR,
                              .escalation_level = 1, .occurred_at_ms = now};
    CHECK_INT(sk_fx_produce_event(&kafka, &ev), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "dana", 1, 15000), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "EVAL %s 0", "local n = 0 for _, k in ipairs("
              "redis.call('KEYS', 'sk:{p*}:oncall:primary')) do "
              "n = n + redis.call('HLEN', k) end return n"), 1);
    /* carl asks for app/admin, reviewed by whoever is on call in primary */
    sk_request_event_t c = req(SK_REQ_CREATED, "oc-q1", "r-oncall", "carl", "carl", "app/admin",
                               HOUR / 2);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK(sk_fx_reader_wait(tasks, "carl", 1, 15000) >= 1);
    const sk_task_t *t = last_task("carl", SK_TASK_REQUEST_REVIEW, SK_TASK_CREATED);
    CHECK(t != NULL);
    if (t) {
        CHECK(has_assignee(t, "dana"));
        CHECK_INT(t->n_assignees, 1);
    }
    /* dana approves: granted */
    sk_request_event_t a = req(SK_REQ_APPROVED, "oc-q2", "r-oncall", "dana", "carl", "app/admin",
                               SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &a), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "carl", 1, 15000), 1);
    const sk_fx_record_t *r[2];
    if (sk_fx_reader_get(commands, "carl", r, 2) >= 1) {
        CHECK_INT(r[0]->cmd.action, SK_CMD_GRANT);
        CHECK_STR(r[0]->cmd.entitlement, "admin");
        CHECK_STR(r[0]->cmd.sources[0].id, "r-oncall");
    }
}

TEST(z_teardown)
{
    sk_fx_reader_destroy(commands);
    sk_fx_reader_destroy(tasks);
    sk_fx_reader_destroy(deadletters);
    sk_fx_engine_stop(&eng);
    sk_fx_kafka_stop(&kafka);
    sk_fx_redis_stop(&redis);
    CHECK(1);
}

SK_TEST_MAIN(SK_TEST_CASE(a_setup), SK_TEST_CASE(self_service_request_is_granted_at_once),
             SK_TEST_CASE(two_step_policy_grants_after_both_reviewers),
             SK_TEST_CASE(a_requester_who_may_not_request_is_refused_with_a_task),
             SK_TEST_CASE(a_request_for_an_unknown_entitlement_is_a_dead_letter),
             SK_TEST_CASE(an_on_call_reviewers_step_asks_whoever_is_on_call),
             SK_TEST_CASE(z_teardown))
