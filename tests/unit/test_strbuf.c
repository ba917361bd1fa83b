/*
 * test_strbuf.c — the printf-free writers of the hot path give the bytes
 * printf gave: the string builder (base/strbuf.h), sk_arena_sprintf's own
 * conversions, sk_ms_format without gmtime_r, and lazy texts written and
 * bounded when read (codec/text.h).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "base/arena.h"
#include "base/strbuf.h"
#include "codec/text.h"
#include "sk_test.h"

/* sk_ms_format as it was written before: gmtime_r + snprintf. */
static const char *printf_time(sk_ms_t t, char *buf, size_t len)
{
    time_t secs = (time_t)(t / 1000);
    int ms = (int)(t % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

TEST(times_read_as_gmtime_and_snprintf_wrote_them)
{
    static const sk_ms_t edges[] = {0,
                                    -1,
                                    1,
                                    -62167219200000LL, /* 0000-01-01 */
                                    -62167219199999LL,
                                    SK_MS_MAX_INPUT, /* 9999-12-31T23:59:59.999Z */
                                    951782400000LL,  /* 2000-02-29 */
                                    951868799999LL,
                                    4107542400000LL, /* 2100-03-01 */
                                    1800000000123LL,
                                    -86400001LL};
    char a[64], b[64];
    int bad = 0;
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        CHECK_STR(sk_ms_format(edges[i], a, sizeof(a)), printf_time(edges[i], b, sizeof(b)));
    uint64_t x = 88172645463325252ULL; /* xorshift: any time of years 0..9999 */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sk_ms_t t =
            (sk_ms_t)(x % (uint64_t)(SK_MS_MAX_INPUT + 62167219200001LL)) - 62167219200000LL;
        bad += strcmp(sk_ms_format(t, a, sizeof(a)), printf_time(t, b, sizeof(b))) != 0;
    }
    CHECK_INT(bad, 0);
    CHECK_STR(sk_ms_format(SK_MS_NONE, a, sizeof(a)), "never");
}

TEST(numbers_read_as_printf_wrote_them)
{
    static const int64_t v[] = {0,   1,    -1,    9,         10,        99,
                                100, -100, 12345, INT64_MAX, INT64_MIN, 1800000000000LL};
    char a[32], b[32];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        a[sk_fmt_i64(a, v[i])] = '\0';
        snprintf(b, sizeof(b), "%" PRId64, v[i]);
        CHECK_STR(a, b);
    }
    sk_fmt_hex64(a, 0x0123456789abcdefULL);
    a[16] = '\0';
    CHECK_STR(a, "0123456789abcdef");
}

#define SAME_AS_PRINTF(...)                                                                        \
    do {                                                                                           \
        char want_[8192];                                                                          \
        snprintf(want_, sizeof(want_), __VA_ARGS__);                                               \
        CHECK_STR(sk_arena_sprintf(&a, __VA_ARGS__), want_);                                       \
    } while (0)

TEST(sk_arena_sprintf_writes_what_vsnprintf_writes)
{
    sk_arena_t a;
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sk_arena_init(&a, 1024);
    SAME_AS_PRINTF("plain");
    SAME_AS_PRINTF("%s", "");
    SAME_AS_PRINTF("%s-%s %c %d%%", "x", "y", 'z', -5);
    SAME_AS_PRINTF("%d %d %i", INT_MIN, INT_MAX, 7);
    SAME_AS_PRINTF("%zu %zd %u", (size_t)123456789, (ssize_t)-3, 4000000000U);
    SAME_AS_PRINTF("%" PRId64 " %" PRId64 " %lld %lu", INT64_MIN, INT64_MAX, -1LL, 5UL);
    SAME_AS_PRINTF("%llu", 18446744073709551615ULL); /* past int64: vsnprintf's */
    SAME_AS_PRINTF("%s|%s", big, big);               /* past the builder's inline size */
    SAME_AS_PRINTF("%04d %.3s %016" PRIx64, 5, "abcdef", (uint64_t)255); /* vsnprintf's */
    sk_arena_fini(&a);
}

TEST(the_builder_grows_in_the_arena_and_cuts_without_one)
{
    sk_arena_t a;
    sk_strbuf_t b;
    char big[1000];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sk_arena_init(&a, 256);
    sk_strbuf_init(&b, &a);
    for (int i = 0; i < 10; i++)
        sk_strbuf_str(&b, big);
    sk_strbuf_i64(&b, -42);
    const char *s = sk_strbuf_finish(&b);
    CHECK(s && strlen(s) == 10 * 999 + 3);
    CHECK(s && strcmp(s + 10 * 999, "-42") == 0);
    sk_strbuf_init(&b, NULL);
    sk_strbuf_str(&b, big);
    CHECK_INT(strlen(sk_strbuf_peek(&b)), SK_STRBUF_INLINE - 1);
    CHECK(sk_strbuf_finish(&b) == NULL);
    sk_arena_fini(&a);
}

static void write_long(sk_strbuf_t *b, const void *args)
{
    for (int i = 0; i < *(const int *)args; i++)
        sk_strbuf_str(b, "\xc3\xa9"); /* é: two bytes, never cut in half */
}

TEST(lazy_texts_are_written_and_bounded_when_read)
{
    sk_arena_t a;
    int n = 3000;
    sk_arena_init(&a, 4096);
    sk_text_t t = {NULL, write_long, &n};
    const char *s = sk_text_render(&t, &a);
    CHECK(s && strlen(s) <= SK_TEXT_MAX);
    CHECK_CONTAINS(s, SK_TEXT_TRUNCATED);
    CHECK(s && (strlen(s) - strlen(SK_TEXT_TRUNCATED)) % 2 == 0);
    n = 2;
    CHECK_STR(sk_text_render(&t, &a), "\xc3\xa9\xc3\xa9");
    sk_text_t p = sk_text_plain("plain");
    CHECK_STR(sk_text_render(&p, &a), "plain");
    sk_text_t none = {0};
    CHECK_STR(sk_text_render(&none, &a), "");
    sk_arena_fini(&a);
}

SK_TEST_MAIN(SK_TEST_CASE(times_read_as_gmtime_and_snprintf_wrote_them),
             SK_TEST_CASE(numbers_read_as_printf_wrote_them),
             SK_TEST_CASE(sk_arena_sprintf_writes_what_vsnprintf_writes),
             SK_TEST_CASE(the_builder_grows_in_the_arena_and_cuts_without_one),
             SK_TEST_CASE(lazy_texts_are_written_and_bounded_when_read))
