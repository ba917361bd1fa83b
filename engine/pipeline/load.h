/*
 * load.h — the decision inputs read from Redis: users' states (their
 * packed values unpacked, then parsed as decide/state.h says) and the on-call index
 * (into decide/oncall_index.h's view). The adapter between the store, which
 * moves plain fields, and the decision model.
 */
#ifndef SK_LOAD_H
#define SK_LOAD_H

#include "decide/oncall_index.h"
#include "decide/state.h"
#include "pipeline/store.h"

/*
 * sk_load_users — the states of n users, out[i] for users[i] in
 * partitions[i], read in one pipelined round trip. A user without a key
 * (or past its keep-until) has an empty state; a field that does not parse is skipped (sk_state_parse).
 * Strings are copied into arena. 0, SK_EIO or SK_ENOMEM.
 */
int sk_load_users(sk_store_t *store, size_t n, const int32_t *partitions, const char *const *users,
                  sk_arena_t *arena, sk_user_state_t *out);

/*
 * sk_load_state — the state of `user` from its packed value `v` as read (or
 * cached; len 0: none), unpacked (codec/state_pack.h) and parsed, copied
 * into arena. A value past its keep-until at `now` is an empty state (the
 * key is deleted by its timer, but may still be there); a damaged value is
 * an empty state too, logged. 0 or SK_ENOMEM.
 */
int sk_load_state(sk_arena_t *arena, const char *user, const sk_store_value_t *v, sk_ms_t now,
                  sk_user_state_t *out);

/* The same for one user. */
int sk_load_user(sk_store_t *store, int32_t partition, const char *user, sk_arena_t *arena,
                 sk_user_state_t *out);

/*
 * sk_load_oncall — reads the on-call index of the rotations `view` tracks in
 * partitions 0..n_partitions-1 (one pipelined round trip) and applies it to
 * the view (sk_oncall_view_apply). Memory from the view's arena. 0, SK_EIO
 * or SK_ENOMEM.
 */
int sk_load_oncall(sk_store_t *store, int32_t n_partitions, sk_oncall_view_t *view);

#endif
