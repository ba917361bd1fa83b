/*
 * test_expr.c — condition expressions (expr.h): parse errors with their
 * offset, evaluation truth tables, references, clean destruction.
 */
#include <string.h>

#include "rules/expr.h"
#include "sk_test.h"

static int oc(void *user, const char *id)
{
    return strcmp(id, (const char *)user) == 0;
}

static int ig(void *user, const char *id)
{
    (void)user;
    return strcmp(id, "sre") == 0;
}

/* Evaluates text against (on call in `rot`, in group sre, dur, emergency). */
static int eval(const char *text, const char *rot, sk_ms_t dur, int emergency)
{
    sk_expr_error_t err;
    sk_expr_t *e = sk_expr_compile(text, &err);
    sk_expr_ctx_t ctx = {(void *)rot, oc, ig, dur, emergency};
    int v;

    if (!e) {
        fprintf(stderr, "  '%s': %s\n", text, err.message);
        return -1;
    }
    v = sk_expr_eval(e, &ctx);
    sk_expr_destroy(e);
    return v;
}

TEST(test_truth_tables)
{
    const sk_ms_t h = 3600000;
    const char *both = "requester.on_call(\"p\") && duration <= 4h";
    const char *either = "requester.on_call(\"p\") || emergency";

    for (int oncall = 0; oncall < 2; oncall++) {
        for (int shrt = 0; shrt < 2; shrt++) {
            for (int em = 0; em < 2; em++) {
                const char *rot = oncall ? "p" : "q";
                sk_ms_t d = shrt ? 4 * h : 4 * h + 1;
                CHECK_INT(eval(both, rot, d, em), oncall && shrt);
                CHECK_INT(eval(either, rot, d, em), oncall || em);
                CHECK_INT(eval("!emergency", rot, d, em), !em);
                CHECK_INT(eval("!(requester.on_call(\"p\") && !emergency)", rot, d, em),
                          !(oncall && !em));
            }
        }
    }
    CHECK_INT(eval("duration < 1h", "", h - 1, 0), 1);
    CHECK_INT(eval("duration < 1h", "", h, 0), 0);
    CHECK_INT(eval("duration >= 1h30m", "", 90 * 60000, 0), 1);
    CHECK_INT(eval("duration > 90m", "", 90 * 60000, 0), 1 == 0);
    CHECK_INT(eval("duration == 15m", "", 15 * 60000, 0), 1);
    CHECK_INT(eval("duration != 15m", "", 15 * 60000, 0), 0);
    CHECK_INT(eval("requester.in_group(\"sre\")", "", 0, 0), 1);
    CHECK_INT(eval("requester.in_group(\"dba\")", "", 0, 0), 0);
    CHECK_INT(eval("true && !false", "", 0, 0), 1);
    /* && binds tighter than || */
    CHECK_INT(eval("true || false && false", "", 0, 0), 1);
    CHECK_INT(eval("(true || false) && false", "", 0, 0), 0);
    CHECK_INT(eval("  emergency\t", "", 0, 1), 1);
}

TEST(test_null_callbacks)
{
    sk_expr_error_t err;
    sk_expr_t *e = sk_expr_compile("requester.on_call(\"x\")", &err);
    sk_expr_ctx_t ctx = {0};

    CHECK(e != NULL);
    if (e)
        CHECK_INT(sk_expr_eval(e, &ctx), 0);
    sk_expr_destroy(e);
}

TEST(test_parse_errors)
{
    static const struct {
        const char *text;
        size_t offset;
        const char *frag;
    } cases[] = {
        {"", 0, "expected a condition, got end of expression"},
        {"emergency &&", 12, "expected a condition"},
        {"emergency & true", 10, "expected '&&', '||' or the end, got '&'"},
        {"duration <= 4x", 12, "bad duration '4x'"},
        {"duration 4h", 9, "expected a comparison"},
        {"duration <=", 11, "expected a duration"},
        {"requester.oncall(\"p\")", 10, "unknown function 'requester.oncall'"},
        {"requester on_call", 10, "expected '.' after 'requester'"},
        {"requester.on_call(p)", 18, "expected a quoted name"},
        {"requester.on_call(\"p\"", 21, "expected ')'"},
        {"requester.on_call(\"p)", 18, "unterminated string"},
        {"requester.in_group(\"\")", 19, "empty name"},
        {"(emergency", 10, "expected ')', got end of expression"},
        {"emergency)", 9, "expected '&&', '||' or the end, got ')'"},
        {"emergncy", 0, "unknown name 'emergncy'"},
        {"true && 5h", 8, "unknown name '5h'"},
    };

    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        sk_expr_error_t err;
        sk_expr_t *e = sk_expr_compile(cases[i].text, &err);
        CHECK(e == NULL);
        sk_expr_destroy(e);
        if (err.offset != cases[i].offset || !strstr(err.message, cases[i].frag)) {
            fprintf(stderr, "  '%s': offset %zu (want %zu) '%s'\n", cases[i].text, err.offset,
                    cases[i].offset, err.message);
            sk_test_failures_++;
        }
    }
}

TEST(test_depth_limit)
{
    char deep[400];
    sk_expr_error_t err;
    sk_expr_t *e;

    memset(deep, '(', 100);
    strcpy(deep + 100, "true");
    memset(deep + 104, ')', 100);
    deep[204] = '\0';
    e = sk_expr_compile(deep, &err);
    CHECK(e == NULL);
    CHECK_CONTAINS(err.message, "nested too deeply");
    memset(deep, '!', 300);
    strcpy(deep + 300, "true");
    e = sk_expr_compile(deep, &err);
    CHECK(e == NULL);
    CHECK_INT(eval("((((!!true))))", "", 0, 0), 1);
}

typedef struct refs_seen {
    char text[256];
} refs_seen_t;

static void ref_cb(void *user, sk_expr_ref_kind_t kind, const char *name, size_t offset)
{
    refs_seen_t *s = user;
    size_t n = strlen(s->text);

    snprintf(s->text + n, sizeof(s->text) - n, "%s:%s@%zu;",
             kind == SK_EXPR_REF_ROTATION ? "rot" : "grp", name, offset);
}

TEST(test_refs)
{
    sk_expr_error_t err;
    refs_seen_t seen = {""};
    sk_expr_t *e = sk_expr_compile("requester.on_call(\"a\") || "
                                   "(!requester.in_group(\"g\") && emergency)",
                                   &err);

    CHECK(e != NULL);
    sk_expr_refs(e, ref_cb, &seen);
    CHECK_STR(seen.text, "rot:a@18;grp:g@47;");
    sk_expr_destroy(e);
}

SK_TEST_MAIN(SK_TEST_CASE(test_truth_tables), SK_TEST_CASE(test_null_callbacks),
             SK_TEST_CASE(test_parse_errors), SK_TEST_CASE(test_depth_limit),
             SK_TEST_CASE(test_refs))
