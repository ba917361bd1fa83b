/*
 * cli_explain.h — `shiftkey explain USER [APP/ENT] [--at TIME]`
 * (cli_explain.c): why a user has or has not an access, from the live
 * state in Redis and the rules, and what a request would do.
 */
#ifndef SK_CLI_EXPLAIN_H
#define SK_CLI_EXPLAIN_H

/*
 * sk_cli_explain — argv[0] is "explain". Prints the user's access with its
 * sources, rules and expiries, open requests, and for an APP/ENT the
 * outcome of a request made at --at. Changes nothing anywhere (the
 * decisions run in memory). Returns 0, 1 when Redis or the rules cannot be
 * read, 2 on a usage error.
 */
int sk_cli_explain(int argc, char **argv);

#endif
