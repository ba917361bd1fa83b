/*
 * state_pack.h — a user's state as one Redis string value: the fields of
 * decide/state.h (name and value, as bytes) and the time the state may be
 * dropped, packed into one compact binary. One function packs, one unpacks;
 * every reader of a user's key (engine, CLI, ledger, bench, tests) goes
 * through sk_state_unpack (the black-box tests decode the same documented
 * format on their own, tests/lib/skproc.py).
 *
 * Format (version 1), integers as unsigned LEB128 varints ("v"):
 *
 *   0x01                      version byte
 *   v keep                    0: never dropped; else keep_until_ms + 1
 *   v count                   the number of fields
 *   v body_len                the body's length, unpacked
 *   1 byte encoding           0: the body follows as it is; 1: the body
 *                             follows raw-deflated (RFC 1951, no zlib or gzip
 *                             header), used whenever that is shorter
 *   body: per field, in order: v name_len, name bytes, v value_len, value bytes
 *
 * The names and values are exactly decide/state.h's fields (text); deflate
 * takes out what repeats in them (a shift id in its s: and g: fields, an
 * entitlement in its g:, e: and r: fields, the leading digits of times):
 * a bench user of 300-550 bytes of fields packs into 110-190.
 *
 * Pure: no I/O. Ownership is said at each function.
 */
#ifndef SK_CODEC_STATE_PACK_H
#define SK_CODEC_STATE_PACK_H

#include <stddef.h>

#include "base/arena.h"
#include "base/sk.h"

#define SK_STATE_PACK_VERSION 1

/* One field: name and value as bytes (not NUL-terminated: lengths rule). */
typedef struct sk_packed_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sk_packed_field_t;

/*
 * sk_state_pack — packs fields f[0..n) and keep_until_ms (SK_MS_NONE:
 * never dropped) into *out (arena memory, *len bytes). n == 0 packs an
 * empty state (which a store deletes instead of writing). 0 or SK_ENOMEM.
 */
int sk_state_pack(sk_arena_t *arena, const sk_packed_field_t *f, size_t n, sk_ms_t keep_until_ms,
                  void **out, size_t *len);

/*
 * sk_state_unpack — the fields and keep_until of a packed value: *f gets an
 * array of *n fields whose names and values are NUL-terminated copies in
 * arena (f or keep_until_ms may be NULL to read only the other). 0,
 * SK_EPARSE (not a packed value of a known version, cut short, or a body
 * that does not inflate to what its header says: nothing is returned) or
 * SK_ENOMEM.
 */
int sk_state_unpack(sk_arena_t *arena, const void *bytes, size_t len, sk_packed_field_t **f,
                    size_t *n, sk_ms_t *keep_until_ms);

/* The keep_until of a packed value (SK_MS_NONE when never), without
 * unpacking the fields; SK_EPARSE for a damaged value. */
int sk_state_pack_keep_until(const void *bytes, size_t len, sk_ms_t *keep_until_ms);

/*
 * The value of an on-call index field (decide/oncall_index.h: the text
 * "<start_ms> <end_ms|->") as stored: the byte 0xFF, v start, v (end -
 * start + 1) or 0 for "-" (about 10 bytes instead of 27, which Redis keeps
 * in 16 bytes instead of 32). Any other text is stored as it is (text never
 * starts with 0xFF).
 *
 * sk_window_pack — the stored form of `text` into *out (arena memory, *len
 * bytes). 0 or SK_ENOMEM.
 * sk_window_unpack — the text of a stored value (NUL-terminated, arena
 * memory); NULL when out of memory or damaged.
 */
int sk_window_pack(sk_arena_t *arena, const char *text, const void **out, size_t *len);
char *sk_window_unpack(sk_arena_t *arena, const void *bytes, size_t len);

#endif
