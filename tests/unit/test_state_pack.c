/* test_state_pack.c — a user's state as one packed value (codec/state_pack.h):
 * fields and keep-until round trip byte for byte (deflated, or stored when
 * tiny), a bench user's state packed to less than half, any bytes kept,
 * damaged values refused whole. */
#include <string.h>

#include "sk_test.h"
#include "codec/state_pack.h"

#define F(n, v)                                                                                    \
    {                                                                                              \
        n, strlen(n), v, strlen(v)                                                                 \
    }

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

TEST(a_state_round_trips_and_packs_to_less_than_half)
{
    /* a user of the benchmark: a closed and an open shift, two grants,
     * what they are, and two REVOKE memos */
    sk_packed_field_t f[] = {
        F("s:sh-62966-15741", "rot-0166 1796161055684 1796161235684 1 1 1796161235684"),
        F("s:sh-62966-15742", "rot-0166 1796168466748 1796197266748 1 0 1796161266748"),
        F("g:app045/ent04 S sh-62966-15742", "1796197266748 rot-0166"),
        F("g:app020/ent04 S sh-62966-15742", "1796197266748 rot-0166"),
        F("e:app045/ent04", "33 arn:aws:iam::000000000045:role/R4assume-role"),
        F("e:app020/ent04", "33 arn:aws:iam::000000000020:role/R4assume-role"),
        F("r:97b07c8b0d077404ba7e5bb807a11152", "app020/ent02 REVOKE 0 -"),
        F("r:58cd76f12c280569b5a3f1d854e1980d", "app020/ent03 REVOKE 0 -"),
    };
    size_t text = 0;
    for (size_t i = 0; i < 8; i++)
        text += f[i].name_len + f[i].value_len;
    size_t len = round_trip(f, 8, 1796200000000);
    CHECK(len * 2 < text);
    round_trip(f, 8, SK_MS_NONE);
    round_trip(f, 1, 7); /* small: stored as it is */
    round_trip(f, 0, SK_MS_NONE);
}

TEST(numbers_and_empty_strings_are_kept_as_they_are)
{
    sk_packed_field_t f[] = {
        F("a", "0796161114991 179616111499 17961611149911 x1796161114991"),
        F("b", "1796161114991"),               /* the base */
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
    sk_packed_field_t f[] = {F("g:x S 1", "1796189974991 r"), F("s:1", "r 1796161114991 - 1 0 1"),
                             F("g:y S 1", "1796189974991 r")};
    sk_packed_field_t *got = NULL;
    sk_ms_t keep;
    sk_arena_init(&a, 4096);
    CHECK_INT(sk_state_pack(&a, f, 3, SK_MS_NONE, &b, &len), 0);
    /* every cut short is refused, never half a state */
    for (size_t cut = 0; cut < len; cut++)
        CHECK_INT(sk_state_unpack(&a, b, cut, &got, &n, &keep), SK_EPARSE);
    /* a flipped byte in the deflated body, another version, a value of
     * the old text layout */
    unsigned char *p = b;
    p[len - 3] ^= 0x5A;
    CHECK_INT(sk_state_unpack(&a, b, len, &got, &n, &keep), SK_EPARSE);
    p[len - 3] ^= 0x5A;
    CHECK_INT(sk_state_unpack(&a, b, len, &got, &n, &keep), 0);
    p[0] = 2;
    CHECK_INT(sk_state_unpack(&a, b, len, &got, &n, &keep), SK_EPARSE);
    CHECK_INT(sk_state_unpack(&a, "g:x S 1", 7, &got, &n, &keep), SK_EPARSE);
    CHECK_INT(sk_state_pack_keep_until("", 0, &keep), SK_EPARSE);
    sk_arena_fini(&a);
}

TEST(an_on_call_window_is_stored_short_and_reads_back_as_its_text)
{
    sk_arena_t a;
    sk_arena_init(&a, 4096);
    const char *texts[] = {"1796161149165 1796193669165",
                           "1796161149165 -",
                           "0 0",
                           "5 6",
                           "100 -",
                           "7 5" /* ends before it starts: as it is */,
                           "01 2",
                           "x y",
                           "",
                           "1 2 3",
                           "1796161149165"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        const void *v = NULL;
        size_t len = 0;
        CHECK_INT(sk_window_pack(&a, texts[i], &v, &len), 0);
        if (i < 5)
            CHECK(len <= 13 && ((const unsigned char *)v)[0] == 0xFF);
        else
            CHECK(len == strlen(texts[i]) && memcmp(v, texts[i], len) == 0);
        const char *back = sk_window_unpack(&a, v, len);
        CHECK(back != NULL);
        if (back)
            CHECK_STR(back, texts[i]);
    }
    const unsigned char bad[] = {0xFF, 0x80};
    CHECK(sk_window_unpack(&a, bad, sizeof(bad)) == NULL);
    sk_arena_fini(&a);
}

SK_TEST_MAIN(SK_TEST_CASE(a_state_round_trips_and_packs_to_less_than_half),
             SK_TEST_CASE(numbers_and_empty_strings_are_kept_as_they_are),
             SK_TEST_CASE(bytes_fe_and_ff_are_kept), SK_TEST_CASE(a_damaged_value_is_refused_whole),
             SK_TEST_CASE(an_on_call_window_is_stored_short_and_reads_back_as_its_text))
