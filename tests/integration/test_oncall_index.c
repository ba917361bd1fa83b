/*
 * test_oncall_index.c — the rotation -> on-call users index: the pure
 * writes computed from a user's state before and after a decision, the
 * in-memory view a batch keeps, the rotations a request can reach through
 * its policies, and the index written by the apply script and read back
 * from a real redis-server for every partition.
 */
#include <string.h>

#include "decide/oncall_index.h"
#include "sk_fixture.h"
#include "sk_test.h"
#include "pipeline/store.h"

static sk_fx_redis_t redis;

static sk_shift_t shift(const char *id, const char *rot, sk_ms_t start, sk_ms_t end,
                        sk_shift_status_t st)
{
    return (sk_shift_t){.id = id,
                        .rotation = rot,
                        .start_ms = start,
                        .end_ms = end,
                        .level = 1,
                        .status = st,
                        .updated_ms = 1};
}

static sk_user_state_t user_with(sk_shift_t *shifts, size_t n)
{
    return (sk_user_state_t){.user = "xena", .n_shifts = n, .shifts = shifts};
}

static const sk_oncall_op_t *find_op(const sk_oncall_op_t *ops, size_t n, const char *field)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ops[i].field, field) == 0)
            return &ops[i];
    return NULL;
}

static const sk_store_oncall_field_t *find_field(const sk_store_oncall_field_t *f, size_t n,
                                                 const char *field)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].field, field) == 0)
            return &f[i];
    return NULL;
}

TEST(a_shift_that_opens_is_indexed_under_its_rotation)
{
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_shift_t after[] = {shift("s1", "primary", 1000, 5000, SK_SHIFT_STATUS_OPEN)};
    sk_user_state_t b = user_with(NULL, 0), af = user_with(after, 1);
    sk_oncall_op_t *ops;
    size_t n;
    CHECK_INT(sk_oncall_ops(&b, &af, &a, &ops, &n), 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(ops[0].rotation, "primary");
        CHECK_STR(ops[0].field, "xena s1");
        CHECK_STR(ops[0].value, "1000 5000");
    }
    sk_arena_fini(&a);
}

TEST(an_open_ended_shift_has_a_dash_for_its_end)
{
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_shift_t after[] = {shift("s1", "primary", 1000, SK_MS_NONE, SK_SHIFT_STATUS_OPEN)};
    sk_user_state_t b = user_with(NULL, 0), af = user_with(after, 1);
    sk_oncall_op_t *ops;
    size_t n;
    CHECK_INT(sk_oncall_ops(&b, &af, &a, &ops, &n), 0);
    CHECK(n == 1 && strcmp(ops[0].value, "1000 -") == 0);
    sk_arena_fini(&a);
}

TEST(an_unchanged_open_shift_writes_nothing)
{
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_shift_t s[] = {shift("s1", "primary", 1000, 5000, SK_SHIFT_STATUS_OPEN)};
    sk_shift_t s2[] = {shift("s1", "primary", 1000, 5000, SK_SHIFT_STATUS_OPEN)};
    s2[0].updated_ms = 99; /* a newer event that did not move the window */
    sk_user_state_t b = user_with(s, 1), af = user_with(s2, 1);
    sk_oncall_op_t *ops;
    size_t n = 7;
    CHECK_INT(sk_oncall_ops(&b, &af, &a, &ops, &n), 0);
    CHECK_INT(n, 0);
    sk_arena_fini(&a);
}

TEST(a_moved_window_is_written_again)
{
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_shift_t s[] = {shift("s1", "primary", 1000, 5000, SK_SHIFT_STATUS_OPEN)};
    sk_shift_t s2[] = {shift("s1", "primary", 1000, 9000, SK_SHIFT_STATUS_OPEN)};
    sk_user_state_t b = user_with(s, 1), af = user_with(s2, 1);
    sk_oncall_op_t *ops;
    size_t n;
    CHECK_INT(sk_oncall_ops(&b, &af, &a, &ops, &n), 0);
    CHECK(n == 1 && ops[0].value && strcmp(ops[0].value, "1000 9000") == 0);
    sk_arena_fini(&a);
}

TEST(ended_cancelled_and_forgotten_shifts_are_deleted)
{
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_shift_t s[] = {shift("s1", "primary", 1000, 5000, SK_SHIFT_STATUS_OPEN),
                      shift("s2", "primary", 1000, 5000, SK_SHIFT_STATUS_OPEN),
                      shift("s3", "backup", 1000, 5000, SK_SHIFT_STATUS_OPEN),
                      shift("s4", "backup", 1000, 5000, SK_SHIFT_STATUS_ENDED)};
    sk_shift_t s2[] = {shift("s1", "primary", 1000, 5000, SK_SHIFT_STATUS_ENDED),
                       shift("s2", "primary", 1000, 5000, SK_SHIFT_STATUS_CANCELLED)};
    sk_user_state_t b = user_with(s, 4), af = user_with(s2, 2);
    sk_oncall_op_t *ops;
    size_t n;
    CHECK_INT(sk_oncall_ops(&b, &af, &a, &ops, &n), 0);
    CHECK_INT(n, 3); /* s4 was not open: nothing to delete */
    const sk_oncall_op_t *o1 = find_op(ops, n, "xena s1"), *o3 = find_op(ops, n, "xena s3");
    CHECK(o1 && !o1->value && strcmp(o1->rotation, "primary") == 0);
    CHECK(find_op(ops, n, "xena s2") && !find_op(ops, n, "xena s2")->value);
    CHECK(o3 && !o3->value && strcmp(o3->rotation, "backup") == 0);
    CHECK(!find_op(ops, n, "xena s4"));
    sk_arena_fini(&a);
}

TEST(a_shift_moved_to_another_rotation_is_deleted_from_the_old_one)
{
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_shift_t s[] = {shift("s1", "primary", 1000, 5000, SK_SHIFT_STATUS_OPEN)};
    sk_shift_t s2[] = {shift("s1", "backup", 1000, 5000, SK_SHIFT_STATUS_OPEN)};
    sk_user_state_t b = user_with(s, 1), af = user_with(s2, 1);
    sk_oncall_op_t *ops;
    size_t n;
    CHECK_INT(sk_oncall_ops(&b, &af, &a, &ops, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK(strcmp(ops[0].rotation, "primary") == 0 && !ops[0].value); /* deletes first */
        CHECK(strcmp(ops[1].rotation, "backup") == 0 && ops[1].value);
    }
    sk_arena_fini(&a);
}

TEST(parse_reads_user_and_window_and_refuses_garbage)
{
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    const char *u;
    sk_ms_t s, e;
    CHECK_INT(sk_oncall_parse("xena s1", "10 20", &a, &u, &s, &e), 0);
    CHECK_STR(u, "xena");
    CHECK(s == 10 && e == 20);
    CHECK_INT(sk_oncall_parse("xena s1", "10 -", &a, &u, &s, &e), 0);
    CHECK(e == SK_MS_NONE);
    CHECK_INT(sk_oncall_parse("xena", "10 20", &a, &u, &s, &e), SK_EINVAL);
    CHECK_INT(sk_oncall_parse("xena s1", "10", &a, &u, &s, &e), SK_EINVAL);
    CHECK_INT(sk_oncall_parse("xena s1", "x 20", &a, &u, &s, &e), SK_EINVAL);
    CHECK_INT(sk_oncall_parse("xena s1", "10 20z", &a, &u, &s, &e), SK_EINVAL);
    sk_arena_fini(&a);
}

TEST(the_view_lists_who_covers_now_sorted_without_repeats)
{
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    sk_oncall_view_t v;
    const char *rots[] = {"primary", "backup"};
    sk_oncall_op_t fields[] = {
        {"primary", "zoe s1", "100 200"},  {"primary", "adam s2", "100 -"},
        {"primary", "zoe s3", "50 300"},                                 /* zoe twice: one entry */
        {"primary", "late s4", "150 300"},                               /* not started yet */
        {"primary", "gone s5", "10 100"},                                /* over at 100 */
        {"primary", "bad s6", "garbage"},  {"other", "omar s7", "0 -"}}; /* not tracked */
    CHECK_INT(sk_oncall_view_init(&v, &a, rots, 2), 0);
    CHECK_INT(sk_oncall_view_apply(&v, fields, SK_ARRAY_LEN(fields)), 0);
    CHECK_INT(v.n, 6);
    sk_oncall_list_t *l;
    size_t nl;
    CHECK_INT(sk_oncall_view_lists(&v, 100, &a, &l, &nl), 0);
    CHECK_INT(nl, 2);
    if (nl == 2) {
        CHECK_STR(l[0].rotation, "primary");
        CHECK_INT(l[0].n_users, 2);
        if (l[0].n_users == 2) {
            CHECK_STR(l[0].users[0], "adam");
            CHECK_STR(l[0].users[1], "zoe");
        }
        CHECK_STR(l[1].rotation, "backup");
        CHECK_INT(l[1].n_users, 0);
    }
    /* later writes of the batch: adam's shift ends, late's moves earlier */
    sk_oncall_op_t later[] = {{"primary", "adam s2", NULL}, {"primary", "late s4", "90 300"}};
    CHECK_INT(sk_oncall_view_apply(&v, later, 2), 0);
    CHECK_INT(sk_oncall_view_lists(&v, 100, &a, &l, &nl), 0);
    CHECK(nl == 2 && l[0].n_users == 2 && strcmp(l[0].users[0], "late") == 0 &&
          strcmp(l[0].users[1], "zoe") == 0);
    /* an open-ended shift counts for a bounded time only (a stale field) */
    sk_oncall_op_t open_end[] = {{"backup", "olga s8", "1000 -"}};
    CHECK_INT(sk_oncall_view_apply(&v, open_end, 1), 0);
    CHECK_INT(sk_oncall_view_lists(&v, 1000 + SK_ONCALL_OPEN_END_MAX_MS - 1, &a, &l, &nl), 0);
    CHECK(nl == 2 && l[1].n_users == 1 && strcmp(l[1].users[0], "olga") == 0);
    CHECK_INT(sk_oncall_view_lists(&v, 1000 + SK_ONCALL_OPEN_END_MAX_MS, &a, &l, &nl), 0);
    CHECK(nl == 2 && l[1].n_users == 0);
    sk_arena_fini(&a);
}

TEST(a_request_reaches_the_rotations_of_its_policies)
{
    sk_rules_errors_t errs;
    sk_rules_errors_init(&errs);
    sk_rules_t *rules = sk_rules_load("tests/rules/requests", &errs);
    CHECK(rules != NULL);
    if (!rules)
        return;
    const char *rots[8];
    size_t n = 0;
    sk_request_event_t ev = {
        .request_id = "r1", .target_kind = SK_TARGET_ENTITLEMENT, .target = "app/admin"};
    sk_user_state_t st = {.user = "bob"};
    CHECK_INT(sk_oncall_rotations(rules, &ev, &st, rots, 8, &n), 0);
    CHECK(n == 1 && strcmp(rots[0], "primary") == 0);
    /* an action without a target: the request frozen in state names it */
    sk_request_state_t rq = {.id = "r1",
                             .target_kind = SK_TARGET_ENTITLEMENT,
                             .target = "app/admin",
                             .policy = "on-call-review"};
    sk_user_state_t st2 = {.user = "bob", .n_requests = 1, .requests = &rq};
    sk_request_event_t act = {.request_id = "r1", .target = NULL};
    n = 0;
    CHECK_INT(sk_oncall_rotations(rules, &act, &st2, rots, 8, &n), 0);
    CHECK(n == 1 && strcmp(rots[0], "primary") == 0);
    /* a target whose policies have no on_call step: nothing to read */
    sk_request_event_t w = {
        .request_id = "r2", .target_kind = SK_TARGET_ENTITLEMENT, .target = "app/write"};
    n = 0;
    CHECK_INT(sk_oncall_rotations(rules, &w, &st, rots, 8, &n), 0);
    CHECK_INT(n, 0);
    sk_rules_destroy(rules);
    sk_rules_errors_fini(&errs);
}

TEST(b_redis_setup)
{
    CHECK_INT(sk_fx_redis_start(&redis), 0);
}

TEST(the_apply_script_writes_the_index_and_every_partition_is_read_back)
{
    sk_store_config_t cfg = {.host = "127.0.0.1", .port = redis.port};
    sk_store_t *s = sk_store_new(&cfg);
    int64_t e1 = 0, e2 = 0;
    bool applied = false;
    CHECK(s && sk_store_connect(s) == 0);
    if (!s || !sk_store_connected(s)) {
        sk_store_destroy(s);
        return;
    }
    CHECK_INT(sk_store_claim(s, 1, &e1), 0);
    CHECK_INT(sk_store_claim(s, 3, &e2), 0);
    sk_store_oncall_field_t w1[] = {{"primary", "xena s1", "100 -"}, {"backup", "xena s2", "5 6"}};
    sk_store_writes_t op = {.partition = 1,
                            .epoch = e1,
                            .topic = "in",
                            .offset = 1,
                            .user = "xena",
                            .next_wake_ms = SK_MS_NONE,
                            .n_oncall = 2,
                            .oncall = w1};
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(applied);
    sk_store_oncall_field_t w2[] = {{"primary", "yuri s9", "100 200"}};
    sk_store_writes_t op2 = {.partition = 3,
                             .epoch = e2,
                             .topic = "in",
                             .offset = 1,
                             .user = "yuri",
                             .next_wake_ms = SK_MS_NONE,
                             .n_oncall = 1,
                             .oncall = w2};
    CHECK_INT(sk_store_apply(s, &op2, &applied), 0);
    /* one index hash per partition, "<rotation> <field>" */
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p1}:oncall"), 2);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p3}:oncall"), 1);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p1}:oncall %s", "primary xena s1"), 1);
    /* a replay of the same offset changes nothing; a fenced epoch neither */
    sk_store_oncall_field_t del[] = {{"primary", "xena s1", NULL}};
    op.oncall = del;
    op.n_oncall = 1;
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(!applied);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p1}:oncall"), 2);
    op.offset = 2;
    op.epoch = e1 - 1;
    CHECK_INT(sk_store_apply(s, &op, &applied), SK_EFENCED);
    CHECK_INT(sk_fx_redis_int(&redis, "HLEN sk:{p1}:oncall"), 2);

    sk_arena_t a;
    sk_arena_init(&a, 4096);
    const char *rots[] = {"primary"};
    sk_store_oncall_field_t *f;
    size_t n;
    CHECK_INT(sk_store_oncall_read(s, 4, rots, 1, &a, &f, &n), 0);
    CHECK_INT(n, 2);
    CHECK(n == 2 && (find_field(f, n, "xena s1") && find_field(f, n, "yuri s9")));
    CHECK(n == 2 && strcmp(find_field(f, n, "yuri s9")->value, "100 200") == 0);

    /* the shift ends: its field goes */
    op.epoch = e1;
    CHECK_INT(sk_store_apply(s, &op, &applied), 0);
    CHECK(applied);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p1}:oncall %s", "primary xena s1"), 0);
    CHECK_INT(sk_fx_redis_int(&redis, "HEXISTS sk:{p1}:oncall %s", "backup xena s2"), 1);
    CHECK_INT(sk_store_oncall_read(s, 4, rots, 1, &a, &f, &n), 0);
    CHECK(n == 1 && strcmp(f[0].field, "yuri s9") == 0);
    /* the backup rotation's fields are read only when asked for */
    const char *rots2[] = {"backup", "primary"};
    CHECK_INT(sk_store_oncall_read(s, 4, rots2, 2, &a, &f, &n), 0);
    CHECK_INT(n, 2);
    CHECK(n == 2 && find_field(f, n, "xena s2") &&
          strcmp(find_field(f, n, "xena s2")->rotation, "backup") == 0);
    sk_arena_fini(&a);
    sk_store_destroy(s);
}

TEST(z_teardown)
{
    sk_fx_redis_stop(&redis);
    CHECK(1);
}

SK_TEST_MAIN(SK_TEST_CASE(a_shift_that_opens_is_indexed_under_its_rotation),
             SK_TEST_CASE(an_open_ended_shift_has_a_dash_for_its_end),
             SK_TEST_CASE(an_unchanged_open_shift_writes_nothing),
             SK_TEST_CASE(a_moved_window_is_written_again),
             SK_TEST_CASE(ended_cancelled_and_forgotten_shifts_are_deleted),
             SK_TEST_CASE(a_shift_moved_to_another_rotation_is_deleted_from_the_old_one),
             SK_TEST_CASE(parse_reads_user_and_window_and_refuses_garbage),
             SK_TEST_CASE(the_view_lists_who_covers_now_sorted_without_repeats),
             SK_TEST_CASE(a_request_reaches_the_rotations_of_its_policies),
             SK_TEST_CASE(b_redis_setup),
             SK_TEST_CASE(the_apply_script_writes_the_index_and_every_partition_is_read_back),
             SK_TEST_CASE(z_teardown))
