/*
 * sk_decide_fx.h — the fixture of the unit tests of the pure deciders
 * (tests/unit/test_decide*.c, test_campaign.c, test_found.c): a rule set
 * loaded once, a codec for checking that what a decision makes is valid on
 * the wire, and an arena emptied before each case.
 *
 * A test file holds one in static storage and names its rules folder:
 *
 *     static sk_dfx_t fx = {.rules_path = RULES};
 *
 * each case starts with sk_dfx_setup(&fx), and the file's last case calls
 * sk_dfx_teardown(&fx), so that the sanitizer's leak check sees nothing.
 */
#ifndef SK_DECIDE_FX_H
#define SK_DECIDE_FX_H

#include "base/arena.h"
#include "codec/codec.h"
#include "decide/state.h"
#include "rules/rules.h"

typedef struct sk_dfx {
    const char *rules_path; /* set by the test (borrowed): the rule set's folder or file */
    const char *other_path; /* optional (borrowed): a second rule set, e.g. after a change */
    sk_rules_t *rules;      /* owned; NULL if it did not load (the errors were printed) */
    sk_rules_t *other;      /* owned; loaded from other_path, NULL without one */
    sk_codec_t *codec;      /* owned; made by the first sk_dfx_codec */
    sk_arena_t arena;       /* owned; emptied by each sk_dfx_setup */
} sk_dfx_t;

/*
 * sk_dfx_setup — the start of a case: loads the rule sets on the first call
 * (a rule set that does not load stays NULL and its errors go to stderr),
 * then gives fx->arena back empty; what the last case made from it is gone.
 */
void sk_dfx_setup(sk_dfx_t *fx);

/*
 * sk_dfx_codec — fx's codec, made on the first call (NULL if it cannot be
 * made). fx keeps owning it.
 */
sk_codec_t *sk_dfx_codec(sk_dfx_t *fx);

/*
 * sk_dfx_teardown — frees the rule sets, the codec and the arena, and
 * leaves fx as before its first sk_dfx_setup (rules_path and other_path
 * kept).
 */
void sk_dfx_teardown(sk_dfx_t *fx);

/*
 * sk_dfx_load_rules — loads the rule set at `path` (a directory or file
 * relative to the repository root). On failure prints every error to
 * stderr and returns NULL. The caller owns the result (sk_rules_destroy).
 */
sk_rules_t *sk_dfx_load_rules(const char *path);

/*
 * sk_dfx_check_tasks_wire — CHECKs (sk_test.h) that each of the n tasks
 * encodes and decodes with fx's codec, naming any task that does not.
 * Scratch memory comes from fx->arena.
 */
void sk_dfx_check_tasks_wire(sk_dfx_t *fx, const sk_task_t *tasks, size_t n);

/*
 * sk_dfx_stored — st as read back from its stored fields (what a restarted
 * engine reads: sk_state_fields then sk_state_parse), CHECKing that both
 * succeed and no field is refused. Memory from fx->arena.
 */
sk_user_state_t sk_dfx_stored(sk_dfx_t *fx, const sk_user_state_t *st);

#endif
