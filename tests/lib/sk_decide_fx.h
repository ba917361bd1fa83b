/*
 * sk_decide_fx.h — small helpers shared by the unit tests of the pure
 * deciders (tests/unit/test_decide*.c): loading a rule set, and checking
 * that every task a decision makes is valid on the wire.
 */
#ifndef SK_DECIDE_FX_H
#define SK_DECIDE_FX_H

#include "base/arena.h"
#include "codec/codec.h"
#include "rules/rules.h"

/*
 * sk_dfx_load_rules — loads the rule set at `path` (a directory or file
 * relative to the repository root). On failure prints every error to
 * stderr and returns NULL. The caller owns the result (sk_rules_destroy).
 */
sk_rules_t *sk_dfx_load_rules(const char *path);

/*
 * sk_dfx_check_tasks_wire — CHECKs (sk_test.h) that each of the n tasks
 * encodes and decodes with `codec`, naming any task that does not. Scratch
 * memory comes from `arena`.
 */
void sk_dfx_check_tasks_wire(sk_codec_t *codec, sk_arena_t *arena, const sk_task_t *tasks,
                             size_t n);

#endif
