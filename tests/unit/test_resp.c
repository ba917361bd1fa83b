/*
 * test_resp.c — the apply call's RESP writer (pipeline/resp.h) writes the
 * bytes hiredis' own redisFormatCommandArgv writes for the same argument
 * list: empty, binary (NUL, CR LF), large (past the first growth),
 * integers at the edges of int64; the buffer is reused across commands (one
 * past SK_RESP_KEEP is not kept), and a command whose argument count differs
 * from the one announced is refused.
 */
#include <hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/resp.h"
#include "sk_test.h"

/* Whether b's command is byte for byte hiredis' formatting of argv. */
static bool same_as_hiredis(sk_resp_t *b, int argc, const char **argv, const size_t *lens)
{
    char *want = NULL;
    int wl = redisFormatCommandArgv(&want, argc, argv, lens);
    size_t len = 0;
    const char *got = sk_resp_end(b, &len);
    bool same = wl > 0 && got && len == (size_t)wl && memcmp(got, want, len) == 0;
    if (!same)
        fprintf(stderr, "  resp: %zu bytes, hiredis: %d bytes\n", got ? len : 0, wl);
    free(want);
    return same;
}

TEST(arguments_of_every_kind_are_hiredis_bytes)
{
    sk_resp_t b;
    sk_resp_init(&b);
    static const char bin[] = {'a', '\0', '\r', '\n', '$', '*', (char)0xff};
    size_t big_len = 3 * 65536 + 7; /* past the buffer's first sizes */
    char *big = malloc(big_len);
    CHECK(big != NULL);
    for (size_t i = 0; big && i < big_len; i++)
        big[i] = (char)(i * 31);
    static const int64_t ints[] = {0, -1, 1, 9, 10, -10, INT64_MAX, INT64_MIN, 1764633600000LL};
    char nums[9][24];
    const char *argv[32];
    size_t lens[32];
    int argc = 0;

    sk_resp_begin(&b, 4 + 9 + 2);
    sk_resp_str(&b, "EVALSHA");
    argv[argc] = "EVALSHA", lens[argc++] = 7;
    sk_resp_arg(&b, "", 0);
    argv[argc] = "", lens[argc++] = 0;
    sk_resp_arg(&b, bin, sizeof(bin));
    argv[argc] = bin, lens[argc++] = sizeof(bin);
    unsigned char *p = sk_resp_arg_open(&b, 5);
    CHECK(p != NULL);
    if (p)
        memcpy(p, "\x01\0\0\0\x00", 5);
    argv[argc] = "\x01\0\0\0\x00", lens[argc++] = 5;
    for (int k = 0; k < 9; k++) {
        sk_resp_i64(&b, ints[k]);
        lens[argc] = (size_t)snprintf(nums[k], sizeof(nums[k]), "%" PRId64, ints[k]);
        argv[argc] = nums[k];
        argc++;
    }
    sk_resp_arg(&b, big, big_len);
    argv[argc] = big, lens[argc++] = big_len;
    CHECK(sk_resp_arg_open(&b, 0) != NULL); /* an empty argument written in place */
    argv[argc] = "", lens[argc++] = 0;
    CHECK(same_as_hiredis(&b, argc, argv, lens));

    /* the same builder, a short command after the long one */
    sk_resp_begin(&b, 2);
    sk_resp_str(&b, "GET");
    sk_resp_str(&b, "sk:{p3}:users");
    const char *get[] = {"GET", "sk:{p3}:users"};
    size_t get_lens[] = {3, 13};
    CHECK(same_as_hiredis(&b, 2, get, get_lens));

    /* no arguments at all */
    sk_resp_begin(&b, 0);
    CHECK(same_as_hiredis(&b, 0, NULL, NULL));
    free(big);
    sk_resp_fini(&b);
}

TEST(a_miscounted_command_is_refused)
{
    sk_resp_t b;
    size_t len = 0;
    sk_resp_init(&b);
    sk_resp_begin(&b, 3);
    sk_resp_str(&b, "SET");
    sk_resp_str(&b, "k");
    CHECK(sk_resp_end(&b, &len) == NULL); /* one short */
    sk_resp_str(&b, "v");
    CHECK(sk_resp_end(&b, &len) != NULL &&
          len == strlen("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"));
    sk_resp_str(&b, "extra");
    CHECK(sk_resp_end(&b, &len) == NULL); /* one too many */
    sk_resp_fini(&b);
}

TEST(a_huge_command_is_written_then_not_kept)
{
    sk_resp_t b;
    size_t len = 0, huge = SK_RESP_KEEP + 1;
    char *p;
    sk_resp_init(&b);
    sk_resp_begin(&b, 1);
    CHECK((p = sk_resp_arg_open(&b, huge)) != NULL);
    if (p)
        memset(p, 'x', huge);
    const char *cmd = sk_resp_end(&b, &len);
    CHECK(cmd && len > huge && memcmp(cmd, "*1\r\n$8388609\r\nxx", 16) == 0);
    CHECK(b.cap > SK_RESP_KEEP);
    sk_resp_begin(&b, 1); /* the next command starts a small buffer */
    CHECK(b.cap <= 4096);
    sk_resp_str(&b, "PING");
    const char *ping[] = {"PING"};
    size_t ping_len[] = {4};
    CHECK(same_as_hiredis(&b, 1, ping, ping_len));
    sk_resp_fini(&b);
}

SK_TEST_MAIN(SK_TEST_CASE(arguments_of_every_kind_are_hiredis_bytes),
             SK_TEST_CASE(a_miscounted_command_is_refused),
             SK_TEST_CASE(a_huge_command_is_written_then_not_kept))
