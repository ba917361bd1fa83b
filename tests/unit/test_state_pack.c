/* test_state_pack.c — a user's state as one packed value (codec/state_pack.h):
 * fields and keep-until round trip byte for byte, times written short,
 * text that looks like a time but is not one kept as it is, bytes 0xFE and
 * 0xFF kept, damaged values refused whole. */
#include <string.h>

#include "sk_test.h"
#include "codec/state_pack.h"

#define F(n, v) {n, strlen(n), v, strlen(v)}

/* Packs f[0..n) with keep, unpacks it and checks every field came back. */
static size_t round_trip(const sk_packed_field_t *f, size_t n, sk_ms_t keep)
{
    sk_arena_t a;
    void *b = NULL;
    size_t len = 0, got_n = 99;
    sk_packed_field_t *got = NULL;
    sk_ms_t got_keep = 0;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_state_pack(&a, f, n, keep, &b, &len), 0);
    CHECK_INT(sk_state_unpack(&a, b, len, &got, &got_n, &got_keep), 0);
    CHECK_INT(got_n, n);
    CHECK(got_keep == keep);
    for (size_t i = 0; i < n && i < got_n; i++) {
        CHECK(got[i].name_len == f[i].name_len &&
              memcmp(got[i].name, f[i].name, f[i].name_len) == 0);
        CHECK(got[i].value_len == f[i].value_len &&
              memcmp(got[i].value, f[i].value, f[i].value_len) == 0);
        CHECK_INT(got[i].value[got[i].value_len], '\0');
    }
    CHECK_INT(sk_state_pack_keep_until(b, len, &got_keep), 0);
    CHECK(got_keep == keep);
    sk_arena_fini(&a);
    return len;
}

TEST(a_state_round_trips_and_its_times_are_short)
{
    sk_packed_field_t f[] = {
        F("s:sh-11585-2896", "rot-0185 1796161114991 1796189974991 1 0 1796161174991"),
        F("g:app011/ent07 S sh-11585-2896", "1796189974991 rot-0185"),
        F("e:app011/ent07", "33 arn:aws:iam::000000000011:role/R7assume-role"),
        F("q:r1", "OPEN E app/ent 3600000 0 pol v1 0 1796161114991 1796161114991 0 1 ana"),
    };
    size_t text = 0;
    for (size_t i = 0; i < 4; i++)
        text += f[i].name_len + f[i].value_len;
    size_t len = round_trip(f, 4, 1796200000000);
    /* six times of 13 digits, each written in 2..5 bytes (the header and
     * the lengths take some of it back) */
    CHECK(len + 6 * 5 < text);
    round_trip(f, 4, SK_MS_NONE);
}

TEST(what_only_looks_like_a_time_is_kept_as_it_is)
{
    sk_packed_field_t f[] = {
        F("a", "0796161114991 179616111499 17961611149911 x1796161114991"),
        F("b", "1796161114991"),       /* the base */
        F("c", "1000000000000 9999999999999"), /* below the base; the largest */
        F("d", ""),
        F("", "no name"),
    };
    round_trip(f, 5, SK_MS_NONE);
}

TEST(bytes_fe_and_ff_are_kept)
{
    const char raw[] = {'x', (char)0xFF, '1', '7', (char)0xFE, 0};
    sk_packed_field_t f[] = {
        {"r", 1, raw, 5},
        F("t", "1796161114991 after"),
        {"n", 1, "a\0b", 3},
    };
    round_trip(f, 3, 5);
}

TEST(a_damaged_value_is_refused_whole)
{
    sk_arena_t a;
    void *b = NULL;
    size_t len = 0, n = 0;
    sk_packed_field_t f[] = {F("g:x S 1", "1796189974991 r"), F("s:1", "r 1796161114991 - 1 0 1")};
    sk_packed_field_t *got = NULL;
    sk_ms_t keep;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_state_pack(&a, f, 2, SK_MS_NONE, &b, &len), 0);
    /* every cut short is refused, never half a state */
    for (size_t cut = 0; cut < len; cut++)
        CHECK_INT(sk_state_unpack(&a, b, cut, &got, &n, &keep), SK_EPARSE);
    /* another version, and a value of the old text layout */
    unsigned char *p = b;
    p[0] = 2;
    CHECK_INT(sk_state_unpack(&a, b, len, &got, &n, &keep), SK_EPARSE);
    CHECK_INT(sk_state_unpack(&a, "g:x S 1", 7, &got, &n, &keep), SK_EPARSE);
    CHECK_INT(sk_state_pack_keep_until("", 0, &keep), SK_EPARSE);
    sk_arena_fini(&a);
}

SK_TEST_MAIN(SK_TEST_CASE(a_state_round_trips_and_its_times_are_short),
             SK_TEST_CASE(what_only_looks_like_a_time_is_kept_as_it_is),
             SK_TEST_CASE(bytes_fe_and_ff_are_kept), SK_TEST_CASE(a_damaged_value_is_refused_whole))
