/*
 * changelog.h — the ledger record (schemas/changelog_record.avsc, topic
 * shiftkey.changelog.v1): one user's whole state after an atomic apply
 * step, with its timer, its expiry and the partition's applied offsets.
 * Redis is the working set; this compacted topic is what it is rebuilt
 * from (pipeline/ledger.c).
 */
#ifndef SK_CODEC_CHANGELOG_H
#define SK_CODEC_CHANGELOG_H

#include "codec/codec.h"

/* One field of the user's state (decide/state.h), as bytes (lengths rule). */
typedef struct sk_changelog_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sk_changelog_field_t;

/* The last applied offset of one input topic. */
typedef struct sk_changelog_offset {
    const char *topic;
    int64_t offset;
} sk_changelog_offset_t;

typedef struct sk_changelog_record {
    int64_t seq; /* the partition's step sequence, > 0 */
    int32_t partition;
    const char *user; /* "" when the step had no user (a dead letter) */
    size_t n_fields;
    const sk_changelog_field_t *fields;
    sk_ms_t keep_until_ms; /* SK_MS_NONE: never */
    sk_ms_t next_wake_ms;  /* SK_MS_NONE: no timer */
    size_t n_offsets;
    const sk_changelog_offset_t *offsets;
} sk_changelog_record_t;

/*
 * sk_codec_encode_changelog — one framed ChangelogRecord into arena memory
 * (*out, *out_len). The same record always gives the same bytes. 0,
 * SK_EINVAL or SK_ENOMEM.
 */
int sk_codec_encode_changelog(sk_codec_t *codec, const sk_changelog_record_t *rec,
                              sk_arena_t *arena, void **out, size_t *out_len);

/*
 * sk_codec_decode_changelog — the reverse; every string and byte array is
 * copied into `arena` (field names and values NUL-terminated too). 0,
 * SK_EPARSE (not decodable) or SK_EINVAL (seq not positive, a negative
 * partition) with a reason.
 */
int sk_codec_decode_changelog(sk_codec_t *codec, const void *buf, size_t len, sk_arena_t *arena,
                              sk_changelog_record_t *out, char *reason, size_t reason_len);

#endif
