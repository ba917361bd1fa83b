/*
 * test_changelog.c — the ledger record (codec/changelog.h): a round trip
 * with every field, "none" times, a record without a user, the same bytes
 * for the same record, and truncated or foreign records refused.
 */
#include <string.h>

#include "codec/changelog.h"
#include "sk_test.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

TEST(round_trip_with_every_field)
{
    sk_codec_t *c = sk_codec_new();
    sk_arena_t a;
    char reason[256];
    void *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    int32_t id = 0;
    sk_arena_init(&a, 4096);
    CHECK(c != NULL);
    if (!c)
        return;
    sk_changelog_field_t f[2] = {{"g:app/read S s1", 15, "1767229200000 primary", 21},
                                 {"s:s1", 4, "primary 1 2 1 0 3", 17}};
    sk_changelog_offset_t o[2] = {{"shiftkey.schedule.v1", 41}, {"shiftkey.requests.v1", 7}};
    sk_changelog_record_t r = {.seq = 77,
                               .partition = 3,
                               .user = "alice@example.com",
                               .n_fields = 2,
                               .fields = f,
                               .keep_until_ms = T0 + 7200000,
                               .next_wake_ms = T0 + 3600000,
                               .n_offsets = 2,
                               .offsets = o},
                          got;
    CHECK_INT(sk_codec_encode_changelog(c, &r, &a, &buf, &len), 0);
    CHECK_INT(sk_codec_schema_id(buf, len, &id), 0);
    CHECK_INT(id, SK_SCHEMA_ID_CHANGELOG);
    CHECK_INT(sk_codec_decode_changelog(c, buf, len, &a, &got, reason, sizeof reason), 0);
    CHECK_INT(got.seq, 77);
    CHECK_INT(got.partition, 3);
    CHECK_STR(got.user, "alice@example.com");
    CHECK_INT(got.n_fields, 2);
    if (got.n_fields == 2) {
        CHECK_STR(got.fields[0].name, "g:app/read S s1");
        CHECK_INT(got.fields[0].value_len, 21);
        CHECK_STR(got.fields[1].value, "primary 1 2 1 0 3");
    }
    CHECK_INT(got.keep_until_ms, T0 + 7200000);
    CHECK_INT(got.next_wake_ms, T0 + 3600000);
    CHECK_INT(got.n_offsets, 2);
    if (got.n_offsets == 2) {
        CHECK_STR(got.offsets[1].topic, "shiftkey.requests.v1");
        CHECK_INT(got.offsets[1].offset, 7);
    }
    /* the same record, the same bytes */
    CHECK_INT(sk_codec_encode_changelog(c, &r, &a, &buf2, &len2), 0);
    CHECK(len == len2 && memcmp(buf, buf2, len) == 0);
    /* every truncation is refused */
    for (size_t n = 0; n < len; n++)
        CHECK(sk_codec_decode_changelog(c, buf, n, &a, &got, reason, sizeof reason) != 0);
    sk_arena_fini(&a);
    sk_codec_destroy(c);
}

TEST(a_step_without_user_and_times_none)
{
    sk_codec_t *c = sk_codec_new();
    sk_arena_t a;
    char reason[256];
    void *buf = NULL;
    size_t len = 0;
    sk_arena_init(&a, 4096);
    if (!c)
        return;
    sk_changelog_record_t r = {.seq = 1,
                               .partition = 0,
                               .user = "",
                               .keep_until_ms = SK_MS_NONE,
                               .next_wake_ms = SK_MS_NONE},
                          got;
    CHECK_INT(sk_codec_encode_changelog(c, &r, &a, &buf, &len), 0);
    CHECK_INT(sk_codec_decode_changelog(c, buf, len, &a, &got, reason, sizeof reason), 0);
    CHECK_STR(got.user, "");
    CHECK_INT(got.n_fields, 0);
    CHECK_INT(got.n_offsets, 0);
    CHECK(got.keep_until_ms == SK_MS_NONE);
    CHECK(got.next_wake_ms == SK_MS_NONE);
    /* a step sequence of 0 is not one the engine writes */
    r.seq = 0;
    CHECK_INT(sk_codec_encode_changelog(c, &r, &a, &buf, &len), 0);
    CHECK_INT(sk_codec_decode_changelog(c, buf, len, &a, &got, reason, sizeof reason), SK_EINVAL);
    /* another record type is refused by its schema id */
    sk_dead_letter_t dl = {.at_ms = T0, .reason = "x", .origin = {"t", 0, 1}};
    CHECK_INT(sk_codec_encode_dead_letter(c, &dl, &a, &buf, &len), 0);
    CHECK_INT(sk_codec_decode_changelog(c, buf, len, &a, &got, reason, sizeof reason), SK_EPARSE);
    sk_arena_fini(&a);
    sk_codec_destroy(c);
}

SK_TEST_MAIN(SK_TEST_CASE(round_trip_with_every_field),
             SK_TEST_CASE(a_step_without_user_and_times_none))
