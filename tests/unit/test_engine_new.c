/*
 * test_engine_new.c — sk_engine_new refusing a rule set that the loader
 * gave up on without recording an error (as after an allocation failure):
 * the engine must say so instead of reading an error that is not there.
 *
 * The rule loader is replaced at link time: this file defines sk_rules_load,
 * so the linker does not take rules_load.o (which defines nothing else) from
 * libsk.a for this binary.
 */
#include <string.h>

#include "pipeline/engine.h"
#include "rules/rules.h"
#include "sk_test.h"

static int loads;

/* A loader that fails without an error, like one that ran out of memory. */
sk_rules_t *sk_rules_load(const char *path, sk_rules_errors_t *errs)
{
    (void)path;
    (void)errs;
    loads++;
    return NULL;
}

TEST(rules_refused_without_an_error_recorded_is_reported_not_read)
{
    char err[256] = "";
    sk_engine_config_t cfg = {.brokers = "127.0.0.1:1", .rules_path = "tests/rules/engine"};
    sk_engine_t *e = sk_engine_new(&cfg, err, sizeof(err));
    CHECK(e == NULL);
    CHECK_INT(loads, 1);
    CHECK_CONTAINS(err, "rules refused");
    CHECK_CONTAINS(err, "no error recorded");
    sk_engine_destroy(e);
}

SK_TEST_MAIN(SK_TEST_CASE(rules_refused_without_an_error_recorded_is_reported_not_read))
