/*
 * cli_rulestest.h — `shiftkey rules test DIR [TESTS...]` (cli_rulestest.c):
 * test files of shifts, requests and actions with expected outcomes, run
 * through the real deciders in memory.
 */
#ifndef SK_CLI_RULESTEST_H
#define SK_CLI_RULESTEST_H

/*
 * sk_cli_rules_test — argv[0] is "test". Loads the rules of DIR, runs every
 * test case of TESTS (files or directories of *.yaml; default DIR/tests),
 * prints each failed expectation as `file:line: expected ..., got ...` and
 * ends with "N passed, N failed". Returns 0 when all passed, 1 when any
 * failed or the rules do not load, 2 on a usage error.
 */
int sk_cli_rules_test(int argc, char **argv);

#endif
