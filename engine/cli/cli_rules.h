/*
 * cli_rules.h — the `shiftkey rules` subcommand: check and show a rule set.
 */
#ifndef SK_CLI_RULES_H
#define SK_CLI_RULES_H

/*
 * sk_cli_rules — runs `shiftkey rules check PATH` or `shiftkey rules show
 * PATH`; argv[0] is "rules". PATH is a rule directory or one file.
 *
 *   check  prints "ok: N files, N apps, N entitlements, N rotations,
 *          N profiles, N enrollments (version <hex>)" and returns 0, or
 *          prints every error on stderr ("file:line:column: message") and
 *          returns 1.
 *   show   prints each rotation with its edges (entitlement, lead, grace,
 *          via enrollment/profile); returns 0, or 1 like check.
 *
 * Returns 2 on a usage error (message on stderr); `--help` prints the usage
 * on stdout and returns 0. Never exits the process.
 */
int sk_cli_rules(int argc, char **argv);

#endif
