/*
 * test_rules.c — the rule set: durations, the string map, every error the
 * loader reports (exact file:line:column and message), the example rule set
 * compiled into rotation edges, lookups, refusal as a whole, and clean
 * destruction. Fixtures live in tests/rules/ and rules/examples/; run from
 * the repository root.
 */
#include <stdlib.h>
#include <string.h>

#include "rules/expr.h"
#include "rules/rules.h"
#include "sk_test.h"
#include "base/strmap.h"

#define FIX "tests/rules/"

/* Loads path expecting failure; returns the number of errors. */
static size_t load_bad(const char *path, sk_rules_errors_t *errs)
{
    sk_rules_t *r;

    sk_rules_errors_init(errs);
    r = sk_rules_load(path, errs);
    CHECK(r == NULL);
    sk_rules_destroy(r);
    if (errs->count == 0)
        fprintf(stderr, "  %s: no error reported\n", path);
    return errs->count;
}

/* Asserts error i is at file:line:col and its message contains frag. */
#define CHECK_ERR(errs_, i_, file_, ln_, cl_, frag_)                                               \
    do {                                                                                           \
        if ((i_) >= (errs_)->count) {                                                              \
            fprintf(stderr, "  %s:%d: no error #%d\n", __FILE__, __LINE__, (int)(i_));             \
            sk_test_failures_++;                                                                   \
            break;                                                                                 \
        }                                                                                          \
        CHECK_STR((errs_)->items[i_].file, file_);                                                 \
        CHECK_INT((errs_)->items[i_].line, ln_);                                                   \
        CHECK_INT((errs_)->items[i_].column, cl_);                                                 \
        CHECK_CONTAINS((errs_)->items[i_].message, frag_);                                         \
    } while (0)

/* ---- durations and the map --------------------------------------------- */

TEST(test_duration_table)
{
    static const struct {
        const char *text;
        int rc;
        sk_ms_t ms;
    } cases[] = {
        {"0", 0, 0},
        {"90s", 0, 90000},
        {"15m", 0, 900000},
        {"12h", 0, 43200000},
        {"7d", 0, 604800000},
        {"1h30m", 0, 5400000},
        {"1d2h3m4s5ms", 0, 93784005},
        {"500ms", 0, 500},
        {"0s", 0, 0},
        {"", SK_EINVAL, 0},
        {"15", SK_EINVAL, 0},
        {"-5m", SK_EINVAL, 0},
        {"15 minutes", SK_EINVAL, 0},
        {"1.5h", SK_EINVAL, 0},
        {"30m1h", SK_EINVAL, 0},
        {"1h1h", SK_EINVAL, 0},
        {"h", SK_EINVAL, 0},
        {"5w", SK_EINVAL, 0},
        {"99999999999999999999d", SK_EINVAL, 0},
        {"106751991167d", 0, 106751991167LL * 86400000},
        {"106751991168d", SK_EINVAL, 0},
    };

    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        sk_ms_t ms = -1;
        int rc = sk_duration_parse(cases[i].text, &ms);
        if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms)) {
            fprintf(stderr, "  duration '%s': rc %d ms %lld\n", cases[i].text, rc, (long long)ms);
            sk_test_failures_++;
        }
    }
    CHECK_INT(sk_duration_parse(NULL, NULL), SK_EINVAL);
}

TEST(test_strmap)
{
    sk_strmap_t m;
    char keys[500][16];
    int vals[500];
    void *v = &vals[0];

    sk_strmap_init(&m);
    CHECK(sk_strmap_get(&m, "absent") == NULL);
    for (int i = 0; i < 500; i++) {
        snprintf(keys[i], sizeof(keys[i]), "key-%d", i);
        vals[i] = i;
        CHECK_INT(sk_strmap_put(&m, keys[i], &vals[i]), 0);
    }
    CHECK_INT(sk_strmap_count(&m), 500);
    for (int i = 0; i < 500; i++) {
        int *p = sk_strmap_get(&m, keys[i]);
        CHECK(p && *p == i);
    }
    CHECK_INT(sk_strmap_put(&m, "key-7", &vals[8]), 0); /* replace */
    CHECK_INT(sk_strmap_count(&m), 500);
    CHECK(sk_strmap_get(&m, "key-7") == &vals[8]);
    CHECK_INT(sk_strmap_put(&m, "null-value", NULL), 0);
    CHECK(sk_strmap_find(&m, "null-value", &v) == 1 && v == NULL);
    CHECK(sk_strmap_find(&m, "key-500", NULL) == 0);
    sk_strmap_fini(&m);
    CHECK_INT(sk_strmap_count(&m), 0);
    CHECK(sk_strmap_get(&m, "key-1") == NULL);
}

/* ---- structural errors (libcyaml, libyaml) ----------------------------- */

TEST(test_unknown_key)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "unknown_key", &e), 1);
    CHECK_ERR(&e, 0, FIX "unknown_key/apps.yaml", 5, 9,
              "unknown key 'max_duraton' in entitlement (did you mean "
              "'max_duration'?)");
    sk_rules_errors_fini(&e);
}

TEST(test_unknown_key_skips_references)
{
    sk_rules_errors_t e;

    /* a.yaml fails structurally; b.yaml's own errors are still reported but
     * its unknown references are not (they would cascade) */
    CHECK_INT(load_bad(FIX "struct_plus", &e), 2);
    CHECK_ERR(&e, 0, FIX "struct_plus/a.yaml", 5, 9,
              "unknown key 'bogus' in entitlement (expected one of: id, "
              "name, resource, permission, max_duration, request)");
    CHECK_ERR(&e, 1, FIX "struct_plus/b.yaml", 2, 9, "invalid rotation id 'Demo'");
    sk_rules_errors_fini(&e);
}

TEST(test_wrong_type)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "wrong_type", &e), 1);
    CHECK_ERR(&e, 0, FIX "wrong_type/apps.yaml", 5, 23,
              "wrong type for 'max_duration': expected a string, got a "
              "sequence");
    sk_rules_errors_fini(&e);

    CHECK_INT(load_bad(FIX "files/top_sequence.yaml", &e), 1);
    CHECK_ERR(&e, 0, FIX "files/top_sequence.yaml", 1, 1,
              "wrong type for the document: expected a mapping");
    sk_rules_errors_fini(&e);
}

TEST(test_duplicate_key_and_alias)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "files/dup_key.yaml", &e), 1);
    CHECK_ERR(&e, 0, FIX "files/dup_key.yaml", 4, 5,
              "duplicate key 'name' in rotation (first at 3:5)");
    sk_rules_errors_fini(&e);

    CHECK_INT(load_bad(FIX "files/alias.yaml", &e), 1);
    CHECK_ERR(&e, 0, FIX "files/alias.yaml", 3, 5, "YAML aliases are not allowed");
    sk_rules_errors_fini(&e);

    /* libcyaml would silently read only the first document */
    CHECK_INT(load_bad(FIX "files/two_docs.yaml", &e), 1);
    CHECK_ERR(&e, 0, FIX "files/two_docs.yaml", 3, 1,
              "a second YAML document ('---') is not allowed");
    sk_rules_errors_fini(&e);
}

TEST(test_yaml_syntax)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "syntax", &e), 1);
    CHECK_ERR(&e, 0, FIX "syntax/rules.yaml", 5, 1, "YAML syntax error: ");
    CHECK_CONTAINS(e.items[0].message, "quoted scalar (started at 3:11)");
    sk_rules_errors_fini(&e);
}

/* ---- semantic errors --------------------------------------------------- */

TEST(test_unknown_reference)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "bad_ref", &e), 3);
    CHECK_ERR(&e, 0, FIX "bad_ref/rules.yaml", 10, 20,
              "unknown entitlement 'aws-prod/admn' in profile 'oncall' (did "
              "you mean 'aws-prod/admin'?)");
    CHECK_ERR(&e, 1, FIX "bad_ref/rules.yaml", 13, 35,
              "unknown rotation 'payment-secondary' in enrollment 'auto'");
    CHECK_ERR(&e, 2, FIX "bad_ref/rules.yaml", 14, 16,
              "unknown profile 'oncal' in enrollment 'auto' (did you mean "
              "'oncall'?)");
    sk_rules_errors_fini(&e);
}

TEST(test_duplicate_id_across_files)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "dup_id", &e), 1);
    CHECK_ERR(&e, 0, FIX "dup_id/b.yaml", 3, 9,
              "duplicate rotation 'payments-primary' (first defined at "
              "tests/rules/dup_id/a.yaml:2:9)");
    sk_rules_errors_fini(&e);
}

TEST(test_missing_id)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "files/empty_id.yaml", &e), 2);
    CHECK_ERR(&e, 0, FIX "files/empty_id.yaml", 2, 5, "missing required field 'id' in app");
    CHECK_ERR(&e, 1, FIX "files/empty_id.yaml", 4, 5, "missing required field 'id' in app");
    sk_rules_errors_fini(&e);
}

TEST(test_bad_duration)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "bad_duration", &e), 1);
    CHECK_ERR(&e, 0, FIX "bad_duration/rules.yaml", 15, 19,
              "bad duration '15 minutes' for 'grant_before': use a number "
              "and a unit: 90s, 15m, 12h, 7d");
    sk_rules_errors_fini(&e);
}

TEST(test_missing_max_duration)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "missing_max", &e), 2);
    CHECK_ERR(&e, 0, FIX "missing_max/apps.yaml", 4, 9,
              "missing required field 'max_duration' in entitlement "
              "'demo/console'");
    CHECK_ERR(&e, 1, FIX "missing_max/apps.yaml", 7, 23,
              "max_duration of entitlement 'demo/deploy' must be greater "
              "than 0");
    sk_rules_errors_fini(&e);
}

TEST(test_many_errors_all_reported)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "many", &e), 7);
    CHECK_ERR(&e, 0, FIX "many/a_apps.yaml", 2, 9, "invalid app id 'Demo App'");
    CHECK_ERR(&e, 1, FIX "many/a_apps.yaml", 10, 13,
              "duplicate entitlement 'demo/console' (first defined at "
              "tests/rules/many/a_apps.yaml:8:13)");
    CHECK_ERR(&e, 2, FIX "many/a_apps.yaml", 13, 23, "bad duration '2 hours' for 'max_duration'");
    CHECK_ERR(&e, 3, FIX "many/b_rest.yaml", 3, 15,
              "unknown platform 'pagerduti' in rotation 'demo-primary' (did "
              "you mean 'pagerduty'?)");
    CHECK_ERR(&e, 4, FIX "many/b_rest.yaml", 5, 9, "profile 'empty' has no entitlements");
    CHECK_ERR(&e, 5, FIX "many/b_rest.yaml", 8, 20,
              "unknown entitlement 'demo/consol' in profile 'demo' (did you "
              "mean 'demo/console'?)");
    CHECK_ERR(&e, 6, FIX "many/b_rest.yaml", 10, 9, "enrollment 'auto' lists no rotations");
    sk_rules_errors_fini(&e);
}

TEST(test_refused_whole)
{
    sk_rules_errors_t e;

    /* the four example files plus one bad file: nothing is returned */
    CHECK_INT(load_bad(FIX "refused", &e), 1);
    CHECK_ERR(&e, 0, FIX "refused/zz_bad.yaml", 3, 20,
              "unknown entitlement 'aws-prod/adminn' in profile 'extra' (did "
              "you mean 'aws-prod/admin'?)");
    sk_rules_errors_fini(&e);
}

TEST(test_bad_paths)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "empty_dir", &e), 1);
    CHECK_ERR(&e, 0, FIX "empty_dir", 0, 0, "no rule files (*.yaml, *.yml) in directory");
    sk_rules_errors_fini(&e);

    CHECK_INT(load_bad(FIX "does-not-exist", &e), 1);
    CHECK_ERR(&e, 0, FIX "does-not-exist", 0, 0, "cannot read rules: ");
    sk_rules_errors_fini(&e);
}

TEST(test_errors_print)
{
    sk_rules_errors_t e;
    char buf[1024] = "";
    FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

    load_bad(FIX "dup_id", &e);
    CHECK(f != NULL);
    if (f) {
        sk_rules_errors_print(&e, f);
        fclose(f);
    }
    CHECK_STR(buf, "tests/rules/dup_id/b.yaml:3:9: duplicate rotation "
                   "'payments-primary' (first defined at "
                   "tests/rules/dup_id/a.yaml:2:9)\n");
    sk_rules_errors_fini(&e);
}

/* ---- good rule sets ---------------------------------------------------- */

/* Asserts edge k of rot. */
static void check_edge(const sk_rotation_t *rot, size_t k, const char *key, const char *enrollment,
                       const char *profile, sk_ms_t before, sk_ms_t after, int level)
{
    const sk_enrollment_edge_t *e;

    CHECK(rot && k < rot->n_edges);
    if (!rot || k >= rot->n_edges)
        return;
    e = &rot->edges[k];
    CHECK_STR(e->ent->key, key);
    CHECK_STR(e->enrollment, enrollment);
    CHECK_STR(e->profile, profile);
    CHECK_INT(e->grant_before_ms, before);
    CHECK_INT(e->revoke_after_ms, after);
    CHECK_INT(e->max_escalation_level, level);
}

TEST(test_examples)
{
    sk_rules_errors_t e;
    sk_rules_stats_t st;
    sk_rules_t *r;
    const sk_rotation_t *rot;

    sk_rules_errors_init(&e);
    r = sk_rules_load("rules/examples", &e);
    CHECK(r != NULL);
    CHECK_INT(e.count, 0);
    if (!r) {
        sk_rules_errors_print(&e, stderr);
        goto out;
    }
    sk_rules_stats(r, &st);
    CHECK_INT(st.files, 6);
    CHECK_INT(st.apps, 6);
    CHECK_INT(st.entitlements, 11);
    CHECK_INT(st.rotations, 6);
    CHECK_INT(st.profiles, 6);
    CHECK_INT(st.enrollments, 6);
    CHECK_INT(strlen(sk_rules_version(r)), 32);

    rot = sk_rules_rotation(r, "demo-primary");
    CHECK(rot != NULL);
    CHECK_INT(rot ? rot->n_edges : 0, 2);
    check_edge(rot, 0, "demo/console", "demo-primary-auto", "demo-full", 0, 0, 0);
    check_edge(rot, 1, "demo/deploy", "demo-primary-auto", "demo-full", 0, 0, 0);
    CHECK_INT(rot && rot->n_edges ? rot->edges[0].ent->max_duration_ms : 0, 8 * 3600000);
    CHECK_INT(rot && rot->n_edges > 1 ? rot->edges[1].ent->max_duration_ms : 0, 2 * 3600000);
    CHECK_STR(rot ? rot->platform : NULL, "manual");

    /* demo-secondary shares demo/console through another profile */
    rot = sk_rules_rotation(r, "demo-secondary");
    CHECK_INT(rot ? rot->n_edges : 0, 1);
    check_edge(rot, 0, "demo/console", "demo-secondary-auto", "demo-console", 0, 0, 0);
    CHECK(rot && sk_rules_rotation(r, "demo-primary")->edges[0].ent == rot->edges[0].ent);

    /* payments-primary: 4 edges with lead and grace, then the DBA edge */
    rot = sk_rules_rotation(r, "payments-primary");
    CHECK_INT(rot ? rot->n_edges : 0, 5);
    check_edge(rot, 0, "aws-prod/readonly", "payments-oncall-auto", "payments-oncall", 15 * 60000,
               30 * 60000, 0);
    check_edge(rot, 4, "postgres-payments/dba", "payments-dba-primary", "payments-dba", 0, 0, 1);
    CHECK_STR(rot ? rot->external_id : NULL, "P1A2B3C");

    /* declaration order */
    CHECK_INT(sk_rules_rotation_count(r), 6);
    CHECK_STR(sk_rules_rotation_at(r, 0)->id, "payments-primary");
    CHECK_STR(sk_rules_rotation_at(r, 5)->id, "demo-secondary");
    CHECK(sk_rules_rotation_at(r, 6) == NULL);
out:
    sk_rules_destroy(r);
    sk_rules_errors_fini(&e);
}

TEST(test_lookups)
{
    sk_rules_errors_t e;
    sk_rules_t *r;
    const sk_entitlement_t *ent;

    sk_rules_errors_init(&e);
    r = sk_rules_load("rules/examples/", &e);
    CHECK(r != NULL);
    ent = sk_rules_entitlement(r, "aws-prod/admin");
    CHECK(ent != NULL);
    if (ent) {
        CHECK_STR(ent->app, "aws-prod");
        CHECK_STR(ent->id, "admin");
        CHECK_STR(ent->name, "AdministratorAccess");
        CHECK_STR(ent->resource, "arn:aws:iam::111111111111:role/Admin");
        CHECK_STR(ent->permission, "assume-role");
        CHECK_INT(ent->max_duration_ms, 12 * 3600000);
    }
    ent = sk_rules_entitlement(r, "postgres-payments/readonly");
    CHECK(ent != NULL);
    CHECK_STR(ent ? ent->name : NULL, ""); /* optional: "" when absent */
    CHECK(sk_rules_entitlement(r, "aws-prod/admn") == NULL);
    CHECK(sk_rules_entitlement(r, "aws-prod") == NULL);
    CHECK(sk_rules_rotation(r, "nope") == NULL);
    CHECK(sk_rules_rotation(r, "platform-sre") != NULL);
    CHECK(sk_rules_rotation(NULL, "platform-sre") == NULL);
    CHECK(sk_rules_entitlement(r, NULL) == NULL);
    sk_rules_destroy(r);
    sk_rules_errors_fini(&e);
}

TEST(test_single_file_and_defaults)
{
    sk_rules_errors_t e;
    sk_rules_t *r;
    const sk_rotation_t *rot;
    sk_rules_stats_t st;

    sk_rules_errors_init(&e);
    r = sk_rules_load(FIX "good_min/rules.yml", &e);
    CHECK(r != NULL);
    sk_rules_stats(r, &st);
    CHECK_INT(st.files, 1);
    rot = sk_rules_rotation(r, "demo-primary");
    CHECK_INT(rot ? rot->n_edges : 0, 1);
    check_edge(rot, 0, "demo/console", "demo-auto", "demo", 5 * 60000, 90000, 2);
    CHECK_INT(rot && rot->n_edges ? rot->edges[0].ent->max_duration_ms : 0, 5400000);
    CHECK_STR(rot ? rot->name : NULL, "");
    sk_rules_destroy(r);
    sk_rules_errors_fini(&e);
}

TEST(test_version_stable)
{
    sk_rules_errors_t e;
    sk_rules_t *a, *b, *c;

    sk_rules_errors_init(&e);
    a = sk_rules_load("rules/examples", &e);
    b = sk_rules_load("rules/examples/", &e);
    c = sk_rules_load(FIX "good_min", &e);
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK_STR(sk_rules_version(a), sk_rules_version(b));
        CHECK(strcmp(sk_rules_version(a), sk_rules_version(c)) != 0);
    }
    sk_rules_destroy(a);
    sk_rules_destroy(b);
    sk_rules_destroy(c);
    sk_rules_errors_fini(&e);
}

TEST(test_destroy_leak_free)
{
    /* LeakSanitizer reports at exit if any of these loads leaks */
    for (int i = 0; i < 20; i++) {
        sk_rules_errors_t e;
        sk_rules_t *r;

        sk_rules_errors_init(&e);
        r = sk_rules_load(i % 2 ? "rules/examples" : FIX "many", &e);
        CHECK((r != NULL) == (i % 2));
        sk_rules_destroy(r);
        sk_rules_errors_fini(&e);
    }
    sk_rules_destroy(NULL);
    sk_rules_errors_fini(NULL);
}

/* ---- access rules: directory, policies, request blocks ----------------- */

TEST(test_access_errors)
{
    sk_rules_errors_t e;
    const char *f = FIX "access_errors/rules.yaml";

    CHECK_INT(load_bad(FIX "access_errors", &e), 16);
    CHECK_ERR(&e, 0, f, 8, 28,
              "unknown rotation 'demo-primry' in "
              "requestable_by of entitlement 'demo/console' "
              "(did you mean 'demo-primary'?)");
    CHECK_ERR(&e, 1, f, 8, 50,
              "unknown group 'opps' in requestable_by of "
              "entitlement 'demo/console' (did you mean "
              "'ops'?)");
    CHECK_ERR(&e, 2, f, 8, 62, "bad requestable_by 'someone'");
    CHECK_ERR(&e, 3, f, 9, 19,
              "unknown policy 'two-stp' as policy of "
              "entitlement 'demo/console' (did you mean "
              "'two-step'?)");
    CHECK_ERR(&e, 4, f, 10, 25, "is manual but no provisioners are named");
    CHECK_ERR(&e, 5, f, 15, 14,
              "unknown person 'bobb' as manager of person "
              "'ann' (did you mean 'bob'?)");
    CHECK_ERR(&e, 6, f, 16, 14,
              "unknown group 'opps' in groups of person "
              "'ann' (did you mean 'ops'?)");
    CHECK_ERR(&e, 7, f, 20, 20,
              "unknown person 'zed' in members of group "
              "'ops'");
    CHECK_ERR(&e, 8, f, 24, 46, "approvals must be at least 1 (got 0)");
    CHECK_ERR(&e, 9, f, 25, 9,
              "must have exactly one of auto_approve, "
              "condition, reviewers (found several)");
    CHECK_ERR(&e, 10, f, 27, 9, "(found none)");
    CHECK_ERR(&e, 11, f, 28, 70,
              "bad condition in policy 'two-step': bad "
              "duration '4x'");
    CHECK_ERR(&e, 12, f, 29, 40,
              "unknown group 'opz' in condition of policy "
              "'two-step' (did you mean 'ops'?)");
    CHECK_ERR(&e, 13, f, 29, 68,
              "unknown rotation 'demo-primry' in condition "
              "of policy 'two-step' (did you mean "
              "'demo-primary'?)");
    CHECK_ERR(&e, 14, f, 30, 20, "reviewers of policy 'two-step' name nobody");
    CHECK_ERR(&e, 15, f, 31, 30,
              "unknown rotation 'demo-primry' in reviewers "
              "of policy 'two-step' (did you mean "
              "'demo-primary'?)");
    sk_rules_errors_fini(&e);

    CHECK_INT(load_bad(FIX "request_unknown_key", &e), 1);
    CHECK_ERR(&e, 0, FIX "request_unknown_key/rules.yaml", 5, 11,
              "unknown key 'manger' in reviewers (did you mean 'manager'?)");
    sk_rules_errors_fini(&e);
}

TEST(test_manager_cycle)
{
    sk_rules_errors_t e;

    CHECK_INT(load_bad(FIX "manager_cycle", &e), 2);
    CHECK_ERR(&e, 0, FIX "manager_cycle/people.yaml", 3, 14, "manager cycle: a -> b -> c -> a");
    CHECK_ERR(&e, 1, FIX "manager_cycle/people.yaml", 11, 14, "manager cycle: e -> e");
    sk_rules_errors_fini(&e);
}

static int yes_payments(void *user, const char *id)
{
    (void)user;
    return strcmp(id, "payments-primary") == 0;
}

TEST(test_access_examples)
{
    sk_rules_errors_t e;
    sk_rules_t *r;
    sk_rules_access_stats_t as;
    const sk_person_t *bob, *alice, *carol;
    const sk_group_t *pay;
    const sk_policy_t *pol;
    const sk_request_settings_t *s;
    const sk_app_t *app;

    sk_rules_errors_init(&e);
    r = sk_rules_load("rules/examples", &e);
    CHECK(r != NULL);
    if (!r) {
        sk_rules_errors_print(&e, stderr);
        goto out;
    }
    sk_rules_access_stats(r, &as);
    CHECK_INT(as.people, 6);
    CHECK_INT(as.groups, 3);
    CHECK_INT(as.policies, 5);
    CHECK_INT(as.request_blocks, 4);

    bob = sk_rules_person(r, "bob@example.com");
    alice = sk_rules_person(r, "alice@example.com");
    carol = sk_rules_person(r, "carol@example.com");
    pay = sk_rules_group(r, "payments-team");
    CHECK(bob && alice && carol && pay);
    if (!bob || !alice || !carol || !pay)
        goto out;
    CHECK(bob->manager == alice);
    CHECK(alice->manager == NULL);
    CHECK_STR(bob->platform_ids[0], "pagerduty:PBOB001");
    CHECK_INT(carol->n_platform_ids, 2);
    /* carol is in payments-team through the group's members: */
    CHECK(sk_rules_in_group(carol, pay));
    CHECK(sk_rules_in_group(bob, pay));
    CHECK(!sk_rules_in_group(bob, sk_rules_group(r, "security")));
    CHECK_INT(pay->n_members, 3);
    CHECK(sk_rules_person(r, "nobody") == NULL);
    CHECK(sk_rules_group(NULL, "security") == NULL);

    app = sk_rules_app(r, "postgres-payments");
    CHECK(app && app->owner_group == pay && !app->owner_person);
    app = sk_rules_app(r, "kubernetes-prod");
    CHECK(app && app->owner_person == sk_rules_person(r, "frank@example.com"));
    app = sk_rules_app(r, "gcp-billing"); /* free text stays text */
    CHECK(app && !app->owner_person && !app->owner_group);
    CHECK_STR(app ? app->owner : NULL, "finance-eng");

    pol = sk_rules_policy(r, "oncall-self-service");
    CHECK(pol && pol->n_steps == 2);
    if (pol && pol->n_steps == 2) {
        sk_expr_ctx_t ctx = {NULL, yes_payments, NULL, 3 * 3600000, 0};
        CHECK_INT(pol->steps[0].kind, SK_STEP_CONDITION);
        CHECK_INT(sk_expr_eval(pol->steps[0].condition, &ctx), 1);
        ctx.duration_ms = 5 * 3600000;
        CHECK_INT(sk_expr_eval(pol->steps[0].condition, &ctx), 0);
        CHECK_INT(pol->steps[1].kind, SK_STEP_AUTO_APPROVE);
    }
    pol = sk_rules_policy(r, "two-step");
    CHECK(pol && pol->n_steps == 2 && pol->steps[0].reviewers.manager &&
          pol->steps[1].reviewers.app_owner && pol->steps[1].reviewers.approvals == 1 &&
          !pol->steps[1].reviewers.allow_self_approval);
    pol = sk_rules_policy(r, "sre-review");
    CHECK(pol && pol->steps[0].reviewers.on_call == sk_rules_rotation(r, "platform-sre"));

    /* own block wins over the profile's */
    s = sk_rules_request_settings(r, "postgres-payments/dba");
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(s->declared_in, "entitlement:postgres-payments/dba");
        CHECK(s->policy == sk_rules_policy(r, "two-step"));
        CHECK(s->emergency_policy == sk_rules_policy(r, "break-glass"));
        CHECK(s->revocation_policy == sk_rules_policy(r, "security-revocation"));
        CHECK_INT(s->provisioning, SK_PROVISIONING_MANUAL);
        CHECK(s->n_provisioners == 1 && s->provisioners[0].person == alice);
        CHECK(s->n_requestable_by == 1 && s->requestable_by[0].kind == SK_REQUESTER_GROUP &&
              s->requestable_by[0].group == pay);
        CHECK_INT(s->self_service, 0);
    }
    /* falls back to its first profile's block */
    s = sk_rules_request_settings(r, "datadog/write");
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(s->declared_in, "profile:payments-oncall");
        CHECK_INT(s->self_service, 1);
        CHECK_INT(s->provisioning, SK_PROVISIONING_AUTOMATIC);
        CHECK(s->n_requestable_by == 2 && s->requestable_by[0].kind == SK_REQUESTER_ROTATION &&
              s->requestable_by[0].rotation == sk_rules_rotation(r, "payments-primary"));
        CHECK(s == sk_rules_profile_request_settings(r, "payments-oncall"));
    }
    CHECK(sk_rules_request_settings(r, "demo/console") == NULL);
    CHECK(sk_rules_profile_request_settings(r, "demo-full") == NULL);
    CHECK(sk_rules_profile_request_settings(r, "payments-dba") != NULL);
out:
    sk_rules_destroy(r);
    sk_rules_errors_fini(&e);
}

SK_TEST_MAIN(SK_TEST_CASE(test_duration_table), SK_TEST_CASE(test_strmap),
             SK_TEST_CASE(test_unknown_key), SK_TEST_CASE(test_unknown_key_skips_references),
             SK_TEST_CASE(test_wrong_type), SK_TEST_CASE(test_duplicate_key_and_alias),
             SK_TEST_CASE(test_yaml_syntax), SK_TEST_CASE(test_unknown_reference),
             SK_TEST_CASE(test_duplicate_id_across_files), SK_TEST_CASE(test_missing_id),
             SK_TEST_CASE(test_bad_duration), SK_TEST_CASE(test_missing_max_duration),
             SK_TEST_CASE(test_many_errors_all_reported), SK_TEST_CASE(test_refused_whole),
             SK_TEST_CASE(test_bad_paths), SK_TEST_CASE(test_errors_print),
             SK_TEST_CASE(test_examples), SK_TEST_CASE(test_lookups),
             SK_TEST_CASE(test_single_file_and_defaults), SK_TEST_CASE(test_version_stable),
             SK_TEST_CASE(test_destroy_leak_free), SK_TEST_CASE(test_access_errors),
             SK_TEST_CASE(test_manager_cycle), SK_TEST_CASE(test_access_examples))
