/*
 * test_requests.c — access requests through the engine over real parts:
 * request events on shiftkey.requests.v1 (mock cluster over TCP), state in
 * a real redis-server, commands and tasks read back from their topics.
 */
#include <string.h>
#include <time.h>

#include "sk_fixture.h"
#include "sk_test.h"

#define RULES "tests/rules/requests"
#define PARTS 4
#define HOUR  3600000LL

static sk_fx_redis_t redis;
static sk_fx_kafka_t kafka;
static sk_fx_engine_t eng;
static sk_fx_reader_t *commands, *tasks, *deadletters, *audit;

static sk_request_event_t req(sk_request_event_type_t type, const char *event_id, const char *id,
                              const char *actor, const char *subject, const char *target,
                              sk_ms_t dur)
{
    return (sk_request_event_t){.event_id = event_id,
                                .type = type,
                                .request_id = id,
                                .actor = actor,
                                .subject = subject,
                                .target_kind = SK_TARGET_ENTITLEMENT,
                                .target = target,
                                .duration_ms = dur,
                                .justification = "incident 42",
                                .comment = "",
                                .source = "test",
                                .occurred_at_ms = sk_now_ms()};
}

/* Waits up to 15 s for a CLOSED task of subject with this outcome, of
 * request_id (any when NULL), flagged emergency when `emergency`. Tasks
 * and commands are different topics: one may be read before the other. */
static bool wait_closed_task(const char *subject, const char *request_id, sk_task_outcome_t outcome,
                             bool emergency)
{
    sk_ms_t deadline = sk_now_ms() + 15000;
    do {
        const sk_fx_record_t *t[64];
        size_t n = sk_fx_reader_get(tasks, subject, t, 64);
        for (size_t i = 0; i < n; i++)
            if ((!request_id || strcmp(t[i]->task.request_id, request_id) == 0) &&
                t[i]->task.state == SK_TASK_CLOSED && t[i]->task.outcome == outcome &&
                (!emergency || t[i]->task.emergency))
                return true;
        sk_fx_reader_wait(tasks, subject, 1000, 50);
    } while (sk_now_ms() < deadline);
    return false;
}

/* Waits up to 15 s for a task of subject's request_id of this kind and
 * state; the latest such task, or NULL. */
static const sk_task_t *wait_task(const char *subject, const char *request_id, sk_task_kind_t kind,
                                  sk_task_state_t state)
{
    sk_ms_t deadline = sk_now_ms() + 15000;
    do {
        const sk_fx_record_t *t[64];
        const sk_task_t *found = NULL;
        size_t n = sk_fx_reader_get(tasks, subject, t, 64);
        for (size_t i = 0; i < n; i++)
            if (strcmp(t[i]->task.request_id, request_id) == 0 && t[i]->task.kind == kind &&
                t[i]->task.state == state)
                found = &t[i]->task;
        if (found)
            return found;
        sk_fx_reader_wait(tasks, subject, 1000, 50);
    } while (sk_now_ms() < deadline);
    return NULL;
}

TEST(a_setup)
{
    CHECK_INT(sk_fx_redis_start(&redis), 0);
    CHECK_INT(sk_fx_kafka_start(&kafka, PARTS), 0);
    CHECK_INT(sk_fx_engine_start(&eng, kafka.bootstraps, redis.port, RULES, "sk-requests"), 0);
    commands = sk_fx_reader_new(kafka.bootstraps, "shiftkey.commands.v1", PARTS);
    tasks = sk_fx_reader_new(kafka.bootstraps, "shiftkey.tasks.v1", PARTS);
    deadletters = sk_fx_reader_new(kafka.bootstraps, "shiftkey.deadletter.v1", PARTS);
    audit = sk_fx_reader_new(kafka.bootstraps, "shiftkey.audit.v1", PARTS);
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
    sk_request_event_t a1 =
        req(SK_REQ_APPROVED, "q3", "r-two", "ann", "bob", "app/write", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &a1), 0);
    /* step 2: the app owner (group owners) reviews; carl approves */
    CHECK(sk_fx_reader_wait(tasks, "bob", 3, 15000) >= 3);
    CHECK_INT(sk_fx_reader_wait(commands, "bob", 2, 10), 1); /* not granted yet */
    sk_request_event_t a2 =
        req(SK_REQ_APPROVED, "q4", "r-two", "carl", "bob", "app/write", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &a2), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "bob", 2, 15000), 2);
    const sk_fx_record_t *r[4];
    if (sk_fx_reader_get(commands, "bob", r, 4) >= 2) {
        CHECK_INT(r[1]->cmd.action, SK_CMD_GRANT);
        CHECK_STR(r[1]->cmd.entitlement, "write");
    }
    CHECK(wait_closed_task("bob", "r-two", SK_TASK_APPROVED, false));
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

TEST(an_on_call_reviewers_step_asks_whoever_is_on_call)
{
    /* dana goes on call in primary (which also grants her app/read) */
    sk_ms_t now = sk_now_ms();
    sk_schedule_event_t ev = {.event_id = "oc-1",
                              .type = SK_SHIFT_STARTED,
                              .source = "test",
                              .rotation = "primary",
                              .user = "dana",
                              .shift_id = "oc-shift-1",
                              .start_ms = now - 60000,
                              .end_ms = now + HOUR,
                              .escalation_level = 1,
                              .occurred_at_ms = now};
    CHECK_INT(sk_fx_produce_event(&kafka, &ev), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "dana", 1, 15000), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "EVAL %s 0",
                              "local n = 0 for _, k in ipairs("
                              "redis.call('KEYS', 'sk:{p*}:oncall')) do "
                              "for _, f in ipairs(redis.call('HKEYS', k)) do "
                              "if string.sub(f, 1, 8) == 'primary ' then n = n + 1 end end end "
                              "return n"),
              1);
    /* carl asks for app/admin, reviewed by whoever is on call in primary */
    sk_request_event_t c =
        req(SK_REQ_CREATED, "oc-q1", "r-oncall", "carl", "carl", "app/admin", HOUR / 2);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    const sk_task_t *t = wait_task("carl", "r-oncall", SK_TASK_REQUEST_REVIEW, SK_TASK_CREATED);
    CHECK(t != NULL);
    if (t) {
        CHECK(has_assignee(t, "dana"));
        CHECK_INT(t->n_assignees, 1);
    }
    /* dana approves: granted */
    sk_request_event_t a =
        req(SK_REQ_APPROVED, "oc-q2", "r-oncall", "dana", "carl", "app/admin", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &a), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "carl", 1, 15000), 1);
    const sk_fx_record_t *r[2];
    if (sk_fx_reader_get(commands, "carl", r, 2) >= 1) {
        CHECK_INT(r[0]->cmd.action, SK_CMD_GRANT);
        CHECK_STR(r[0]->cmd.entitlement, "admin");
        CHECK_STR(r[0]->cmd.sources[0].id, "r-oncall");
    }
}

/* How many tasks of this request are on the tasks topic; *max_step gets
 * the highest step among them. */
static size_t tasks_of(const char *subject, const char *request_id, int *max_step)
{
    const sk_fx_record_t *t[64];
    size_t n = sk_fx_reader_get(tasks, subject, t, 64), k = 0;
    if (max_step)
        *max_step = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i]->task.request_id, request_id) != 0)
            continue;
        k++;
        if (max_step && t[i]->task.step > *max_step)
            *max_step = t[i]->task.step;
    }
    return k;
}

/* The commands of subject whose first source is this request. */
static size_t commands_of(const char *subject, const char *request_id, const sk_fx_record_t **out,
                          size_t max)
{
    const sk_fx_record_t *r[64];
    size_t n = sk_fx_reader_get(commands, subject, r, 64), k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < r[i]->cmd.n_sources; j++)
            if (strcmp(r[i]->cmd.sources[j].id, request_id) == 0 && k < max) {
                out[k++] = r[i];
                break;
            }
    return k;
}

/* commands_of once it finds `want` commands, or what it finds after 10 s:
 * the audit record that says "granted" and the command travel on different
 * topics, read by different readers, so one may be seen before the other. */
static size_t commands_of_wait(const char *subject, const char *request_id,
                               const sk_fx_record_t **out, size_t max, size_t want)
{
    sk_ms_t deadline = sk_now_ms() + 10000;
    size_t k;
    while ((k = commands_of(subject, request_id, out, max)) < want && sk_now_ms() < deadline)
        usleep(20 * 1000);
    return k;
}

/* Waits until an audit record of subject contains every one of the texts. */
static bool audit_has(const char *subject, const char *a, const char *b, int timeout_ms)
{
    sk_ms_t deadline = sk_now_ms() + timeout_ms;
    do {
        const sk_fx_record_t *r[128];
        size_t n = sk_fx_reader_get(audit, subject, r, 128);
        for (size_t i = 0; i < n; i++)
            if (sk_fx_record_contains(r[i], a) && (!b || sk_fx_record_contains(r[i], b)))
                return true;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    } while (sk_now_ms() < deadline);
    return false;
}

TEST(after_a_deny_the_second_reviewer_is_never_asked)
{
    sk_request_event_t c = req(SK_REQ_CREATED, "dn-1", "r-deny", "bob", "bob", "app/write", HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK(audit_has("bob", "r-deny", "pending", 15000));
    CHECK(wait_task("bob", "r-deny", SK_TASK_REQUEST_REVIEW, SK_TASK_CREATED) != NULL);
    int step = 0;
    CHECK_INT(tasks_of("bob", "r-deny", &step), 1);
    CHECK_INT(step, 1);
    sk_request_event_t d =
        req(SK_REQ_DENIED, "dn-2", "r-deny", "ann", "bob", "app/write", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &d), 0);
    CHECK(audit_has("bob", "dn-2", "denied", 15000));
    /* a later approval of step 2's reviewers changes nothing either */
    sk_request_event_t late =
        req(SK_REQ_APPROVED, "dn-3", "r-deny", "carl", "bob", "app/write", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &late), 0);
    CHECK(audit_has("bob", "dn-3", "refused", 15000));
    CHECK(wait_closed_task("bob", "r-deny", SK_TASK_DENIED, false));
    CHECK_INT(tasks_of("bob", "r-deny", &step), 2); /* opened, closed: step 2 never opened */
    CHECK_INT(step, 1);
    const sk_fx_record_t *cmd[4] = {0};
    CHECK_INT(commands_of("bob", "r-deny", cmd, 4), 0);
}

TEST(a_reviewer_who_is_not_assigned_cannot_approve)
{
    sk_request_event_t c =
        req(SK_REQ_CREATED, "un-1", "r-unassigned", "bob", "bob", "app/write", HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK(audit_has("bob", "un-1", "pending", 15000));
    CHECK(wait_task("bob", "r-unassigned", SK_TASK_REQUEST_REVIEW, SK_TASK_CREATED) != NULL);
    /* eve is nobody's reviewer; dana reviews step 2, not step 1 */
    sk_request_event_t e =
        req(SK_REQ_APPROVED, "un-2", "r-unassigned", "eve", "bob", "app/write", SK_MS_NONE);
    sk_request_event_t d =
        req(SK_REQ_APPROVED, "un-3", "r-unassigned", "dana", "bob", "app/write", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &e), 0);
    CHECK_INT(sk_fx_produce_request(&kafka, &d), 0);
    CHECK(audit_has("bob", "un-2", "refused", 15000));
    CHECK(audit_has("bob", "un-2", "'eve' is not an assignee of step 1", 10));
    CHECK(audit_has("bob", "un-3", "'dana' is not an assignee of step 1", 15000));
    int step = 0;
    CHECK_INT(tasks_of("bob", "r-unassigned", &step), 1); /* still waiting at step 1 */
    CHECK_INT(step, 1);
    const sk_fx_record_t *cmd[4] = {0};
    CHECK_INT(commands_of("bob", "r-unassigned", cmd, 4), 0);
}

TEST(self_approval_is_refused_and_a_peer_can_approve)
{
    sk_request_event_t c = req(SK_REQ_CREATED, "sa-1", "r-self", "bob", "bob", "peer/review", HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK(audit_has("bob", "sa-1", "pending", 15000));
    const sk_task_t *t = wait_task("bob", "r-self", SK_TASK_REQUEST_REVIEW, SK_TASK_CREATED);
    CHECK(t && !has_assignee(t, "bob") && has_assignee(t, "carl"));
    sk_request_event_t self =
        req(SK_REQ_APPROVED, "sa-2", "r-self", "bob", "bob", "peer/review", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &self), 0);
    CHECK(audit_has("bob", "sa-2", "may not review their own request", 15000));
    const sk_fx_record_t *cmd[4] = {0};
    CHECK_INT(commands_of("bob", "r-self", cmd, 4), 0);
    sk_request_event_t peer =
        req(SK_REQ_APPROVED, "sa-3", "r-self", "carl", "bob", "peer/review", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &peer), 0);
    CHECK(audit_has("bob", "sa-3", "granted", 15000));
    CHECK_INT(commands_of_wait("bob", "r-self", cmd, 4, 1), 1);
    CHECK(cmd[0] && cmd[0]->cmd.action == SK_CMD_GRANT);
}

TEST(a_duration_above_the_maximum_is_capped)
{
    /* carl asks app/read (max 8h) for a day: self-service, granted for 8h */
    sk_ms_t before = sk_now_ms();
    sk_request_event_t c =
        req(SK_REQ_CREATED, "cap-1", "r-cap", "carl", "carl", "app/read", 24 * HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK(audit_has("carl", "cap-1", "granted", 15000));
    sk_ms_t after = sk_now_ms();
    const sk_fx_record_t *cmd[4] = {0};
    CHECK_INT(commands_of_wait("carl", "r-cap", cmd, 4, 1), 1);
    if (cmd[0]) {
        CHECK_INT(cmd[0]->cmd.action, SK_CMD_GRANT);
        CHECK_STR(cmd[0]->cmd.entitlement, "read");
        CHECK(cmd[0]->cmd.expires_at_ms >= before + 8 * HOUR);
        CHECK(cmd[0]->cmd.expires_at_ms <= after + 8 * HOUR);
    }
    CHECK(audit_has("carl", "cap-1", "capped to the maximum", 10));
}

TEST(escalation_switches_to_the_emergency_policy)
{
    /* app/write waits for bob's manager; escalated, break-glass grants */
    sk_request_event_t c = req(SK_REQ_CREATED, "es-1", "r-esc", "bob", "bob", "app/write", HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK(audit_has("bob", "es-1", "pending", 15000));
    const sk_fx_record_t *cmd[4] = {0};
    CHECK_INT(commands_of("bob", "r-esc", cmd, 4), 0);
    sk_request_event_t e =
        req(SK_REQ_ESCALATED, "es-2", "r-esc", "bob", "bob", "app/write", SK_MS_NONE);
    CHECK_INT(sk_fx_produce_request(&kafka, &e), 0);
    CHECK(audit_has("bob", "es-2", "break-glass", 15000));
    sk_ms_t deadline = sk_now_ms() + 15000;
    while (commands_of("bob", "r-esc", cmd, 4) < 1 && sk_now_ms() < deadline)
        sk_fx_reader_wait(commands, "bob", 1000, 50);
    CHECK_INT(commands_of_wait("bob", "r-esc", cmd, 4, 1), 1);
    if (cmd[0]) { /* bob's app/write also has r-two as a source */
        CHECK(cmd[0]->cmd.emergency);
        bool emergency_source = false;
        for (size_t i = 0; i < cmd[0]->cmd.n_sources; i++)
            emergency_source |= strcmp(cmd[0]->cmd.sources[i].id, "r-esc") == 0 &&
                                cmd[0]->cmd.sources[i].kind == SK_SOURCE_EMERGENCY;
        CHECK(emergency_source);
    }
    /* the step-1 review task was closed as cancelled, flagged emergency */
    CHECK(wait_closed_task("bob", "r-esc", SK_TASK_CANCELLED, true));
}

TEST(a_shift_end_does_not_revoke_what_a_request_holds)
{
    /* fay is on call in primary (app/read), and asks for app/read for 5 s */
    sk_ms_t now = sk_now_ms();
    sk_schedule_event_t st = {.event_id = "fy-1",
                              .type = SK_SHIFT_STARTED,
                              .source = "test",
                              .rotation = "primary",
                              .user = "fay",
                              .shift_id = "fay-shift",
                              .start_ms = now - 60000,
                              .end_ms = now + HOUR,
                              .escalation_level = 1,
                              .occurred_at_ms = now};
    CHECK_INT(sk_fx_produce_event(&kafka, &st), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "fay", 1, 15000), 1);
    sk_request_event_t c = req(SK_REQ_CREATED, "fy-2", "r-fay", "fay", "fay", "app/read", 5000);
    sk_ms_t asked = sk_now_ms();
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    CHECK(audit_has("fay", "fy-2", "r-fay", 15000));
    /* the shift ends: the grant stays, now until the request's expiry */
    sk_ms_t end = sk_now_ms();
    sk_schedule_event_t en = st;
    en.event_id = "fy-3";
    en.type = SK_SHIFT_ENDED;
    en.end_ms = end;
    en.occurred_at_ms = end;
    CHECK_INT(sk_fx_produce_event(&kafka, &en), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "fay", 2, 15000), 2);
    const sk_fx_record_t *r[8];
    size_t n = sk_fx_reader_get(commands, "fay", r, 8);
    if (n >= 2) {
        CHECK_INT(r[0]->cmd.action, SK_CMD_GRANT);
        CHECK_INT(r[1]->cmd.action, SK_CMD_EXTEND); /* not REVOKE */
        CHECK(r[1]->cmd.expires_at_ms >= asked + 5000);
        CHECK(r[1]->cmd.expires_at_ms < asked + 5000 + 15000);
    }
    /* the request's expiry revokes it, through the timer */
    CHECK_INT(sk_fx_reader_wait(commands, "fay", 3, 20000), 3);
    n = sk_fx_reader_get(commands, "fay", r, 8);
    if (n >= 3) {
        CHECK_INT(r[2]->cmd.action, SK_CMD_REVOKE);
        CHECK_STR(r[2]->cmd.entitlement, "read");
        CHECK(r[2]->seen_ms >= asked + 5000);
    }
}

/* Waits for the open PROVISIONING task of this request; its id, or NULL. */
static const char *provisioning_task(const char *subject, const char *request_id)
{
    sk_ms_t deadline = sk_now_ms() + 15000;
    do {
        const sk_fx_record_t *t[64];
        size_t n = sk_fx_reader_get(tasks, subject, t, 64);
        for (size_t i = 0; i < n; i++)
            if (t[i]->task.kind == SK_TASK_PROVISIONING && t[i]->task.state == SK_TASK_CREATED &&
                strcmp(t[i]->task.request_id, request_id) == 0)
                return t[i]->task.task_id;
        sk_fx_reader_wait(tasks, subject, 1000, 50);
    } while (sk_now_ms() < deadline);
    return NULL;
}

static sk_provisioning_result_t result(const char *task_id, sk_provisioning_status_t st,
                                       const char *provisioner, const char *user)
{
    sk_provisioning_result_t r = {.result = st,
                                  .provisioner = provisioner,
                                  .user = user,
                                  .message = "ticket OPS-7",
                                  .at_ms = sk_now_ms()};
    snprintf(r.command_id, sizeof(r.command_id), "%s", task_id ? task_id : "");
    return r;
}

TEST(manual_provisioning_wont_provision_closes_the_task_without_a_grant)
{
    /* app/byhand: auto-approved, then provisioned by hand by ann */
    sk_request_event_t c = req(SK_REQ_CREATED, "mp-1", "r-hand1", "gus", "gus", "app/byhand", HOUR);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    const char *task = provisioning_task("gus", "r-hand1");
    CHECK(task != NULL);
    if (!task)
        return;
    const sk_task_t *open = wait_task("gus", "r-hand1", SK_TASK_PROVISIONING, SK_TASK_CREATED);
    CHECK(open && has_assignee(open, "ann"));
    /* bob is not a provisioner: refused, the task stays open */
    sk_provisioning_result_t bad = result(task, SK_PROV_PROVISIONED, "bob", "gus");
    CHECK_INT(sk_fx_produce_result(&kafka, &bad), 0);
    CHECK(audit_has("gus", "'bob' is not a provisioner", NULL, 15000));
    sk_provisioning_result_t no = result(task, SK_PROV_WONT_PROVISION, "ann", "gus");
    CHECK_INT(sk_fx_produce_result(&kafka, &no), 0);
    CHECK(audit_has("gus", "won't provision", NULL, 15000));
    CHECK(wait_closed_task("gus", "r-hand1", SK_TASK_WONT_PROVISION, false));
    const sk_fx_record_t *cmd[4] = {0};
    CHECK_INT(commands_of("gus", "r-hand1", cmd, 4), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "gus", 1, 300), 0);
}

TEST(manual_provisioning_provisioned_grants)
{
    sk_request_event_t c = req(SK_REQ_CREATED, "mp-2", "r-hand2", "gus", "gus", "app/byhand", HOUR);
    sk_ms_t before = sk_now_ms();
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    const char *task = provisioning_task("gus", "r-hand2");
    CHECK(task != NULL);
    if (!task)
        return;
    CHECK_INT(sk_fx_reader_wait(commands, "gus", 1, 300), 0); /* not before it is done */
    sk_provisioning_result_t ok = result(task, SK_PROV_PROVISIONED, "ann", "gus");
    CHECK_INT(sk_fx_produce_result(&kafka, &ok), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "gus", 1, 15000), 1);
    const sk_fx_record_t *cmd[4] = {0};
    CHECK_INT(commands_of_wait("gus", "r-hand2", cmd, 4, 1), 1);
    if (cmd[0]) {
        CHECK_INT(cmd[0]->cmd.action, SK_CMD_GRANT);
        CHECK_STR(cmd[0]->cmd.entitlement, "byhand");
        CHECK(cmd[0]->cmd.expires_at_ms >= before + HOUR);
    }
    CHECK(wait_closed_task("gus", "r-hand2", SK_TASK_PROVISIONED, false));
}

TEST(a_hand_provisioned_grant_expiring_opens_a_deprovisioning_task_on_the_timer)
{
    /* hana gets app/byhand for 3 s; at expiry the timer revokes it and,
     * since it was provisioned by hand, asks ann to take it away */
    sk_request_event_t c =
        req(SK_REQ_CREATED, "dp-1", "r-hand3", "hana", "hana", "app/byhand", 3000);
    CHECK_INT(sk_fx_produce_request(&kafka, &c), 0);
    const char *task = provisioning_task("hana", "r-hand3");
    CHECK(task != NULL);
    if (!task)
        return;
    sk_provisioning_result_t ok = result(task, SK_PROV_PROVISIONED, "ann", "hana");
    CHECK_INT(sk_fx_produce_result(&kafka, &ok), 0);
    CHECK_INT(sk_fx_reader_wait(commands, "hana", 2, 20000), 2);
    const sk_fx_record_t *r[4];
    if (sk_fx_reader_get(commands, "hana", r, 4) < 2)
        return;
    CHECK_INT(r[0]->cmd.action, SK_CMD_GRANT);
    CHECK_INT(r[1]->cmd.action, SK_CMD_REVOKE);
    const char *revoke_id = r[1]->cmd.command_id;
    const sk_task_t *dep = wait_task("hana", "r-hand3", SK_TASK_DEPROVISIONING, SK_TASK_CREATED);
    CHECK(dep != NULL);
    if (!dep)
        return;
    CHECK_STR(dep->task_id, revoke_id);
    CHECK_STR(dep->request_id, "r-hand3");
    CHECK(has_assignee(dep, "ann"));
    /* ann reports it done: the task closes */
    sk_provisioning_result_t done = result(dep->task_id, SK_PROV_DEPROVISIONED, "ann", "hana");
    CHECK_INT(sk_fx_produce_result(&kafka, &done), 0);
    CHECK(wait_task("hana", "r-hand3", SK_TASK_DEPROVISIONING, SK_TASK_CLOSED) != NULL);
}

TEST(a_result_keyed_by_another_user_is_a_dead_letter)
{
    sk_provisioning_result_t r =
        result("0123456789abcdef0123456789abcdef", SK_PROV_PROVISIONED, "ann", "hal");
    sk_arena_t a;
    void *buf;
    size_t len;
    sk_codec_t *codec = sk_codec_new();
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_codec_encode_provisioning_result(codec, &r, &a, &buf, &len), 0);
    CHECK_INT(sk_fx_produce(&kafka, "shiftkey.provisioning.results.v1", "ivy", buf, len), 0);
    CHECK(sk_fx_reader_wait(deadletters, "ivy", 1, 15000) >= 1);
    const sk_fx_record_t *d[2];
    if (sk_fx_reader_get(deadletters, "ivy", d, 2) >= 1)
        CHECK_CONTAINS(d[0]->dl.reason, "is not the result's user 'hal'");
    sk_arena_fini(&a);
    sk_codec_destroy(codec);
}

TEST(z_teardown)
{
    sk_fx_reader_destroy(commands);
    sk_fx_reader_destroy(tasks);
    sk_fx_reader_destroy(deadletters);
    sk_fx_reader_destroy(audit);
    sk_fx_engine_stop(&eng);
    sk_fx_kafka_stop(&kafka);
    sk_fx_redis_stop(&redis);
    CHECK(1);
}

SK_TEST_MAIN(
    SK_TEST_CASE(a_setup), SK_TEST_CASE(self_service_request_is_granted_at_once),
    SK_TEST_CASE(two_step_policy_grants_after_both_reviewers),
    SK_TEST_CASE(a_requester_who_may_not_request_is_refused_with_a_task),
    SK_TEST_CASE(a_request_for_an_unknown_entitlement_is_a_dead_letter),
    SK_TEST_CASE(an_on_call_reviewers_step_asks_whoever_is_on_call),
    SK_TEST_CASE(after_a_deny_the_second_reviewer_is_never_asked),
    SK_TEST_CASE(a_reviewer_who_is_not_assigned_cannot_approve),
    SK_TEST_CASE(self_approval_is_refused_and_a_peer_can_approve),
    SK_TEST_CASE(a_duration_above_the_maximum_is_capped),
    SK_TEST_CASE(escalation_switches_to_the_emergency_policy),
    SK_TEST_CASE(a_shift_end_does_not_revoke_what_a_request_holds),
    SK_TEST_CASE(manual_provisioning_wont_provision_closes_the_task_without_a_grant),
    SK_TEST_CASE(manual_provisioning_provisioned_grants),
    SK_TEST_CASE(a_hand_provisioned_grant_expiring_opens_a_deprovisioning_task_on_the_timer),
    SK_TEST_CASE(a_result_keyed_by_another_user_is_a_dead_letter), SK_TEST_CASE(z_teardown))
