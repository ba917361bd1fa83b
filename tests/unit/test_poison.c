/*
 * test_poison.c — the bounds of what the engine writes about a refused
 * input or a refused output (pipeline/poison.c): a dead letter keeps a
 * prefix, the length and the SHA-256, never the whole record, whatever
 * its size, key or reason; a notice is small; texts are cut at UTF-8
 * character boundaries; which Kafka errors count as refusals for good.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "pipeline/engine_internal.h"
#include "sk_test.h"

/* SHA-256 of "abc" (FIPS 180-2, appendix B.1). */
TEST(sha256_of_a_known_text)
{
    char hex[65];
    sk_poison_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sk_poison_sha256_hex(NULL, 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(utf8_cut_never_splits_a_character)
{
    const char *s = "ab\xc3\xa9"
                    "cd"; /* a b é c d: é is 2 bytes at 2..3 */
    CHECK_INT(sk_poison_utf8_cut(s, 6, 10), 6);
    CHECK_INT(sk_poison_utf8_cut(s, 6, 4), 4);
    CHECK_INT(sk_poison_utf8_cut(s, 6, 3), 2); /* not inside é */
    CHECK_INT(sk_poison_utf8_cut(s, 6, 2), 2);
}

TEST(small_dead_letter_keeps_everything_and_states_length_and_hash)
{
    sk_arena_t a;
    char hex[65];
    sk_arena_init(&a, 4096);
    sk_dead_letter_t dl = {.reason = "not shiftkey framing",
                           .key = "alice",
                           .key_len = 5,
                           .payload = "xyz",
                           .payload_len = 3};
    CHECK_INT(sk_poison_bound_dead_letter(&a, &dl), 0);
    sk_poison_sha256_hex("xyz", 3, hex);
    CHECK_INT(dl.payload_len, 3);
    CHECK_INT(dl.key_len, 5);
    CHECK_CONTAINS(dl.reason, "not shiftkey framing; value 3 bytes, sha256 ");
    CHECK_CONTAINS(dl.reason, hex);
    sk_arena_fini(&a);
}

TEST(huge_dead_letter_is_bounded_whatever_its_parts)
{
    sk_arena_t a;
    char vhex[65], khex[65];
    size_t big = 3 * 1000 * 1000, klen = 100000, rlen = 50000;
    char *value = malloc(big), *key = malloc(klen), *reason = malloc(rlen + 1);
    memset(value, 'v', big);
    memset(key, 'k', klen);
    memset(reason, 'r', rlen);
    reason[rlen] = '\0';
    sk_arena_init(&a, 4096);
    sk_dead_letter_t dl = {
        .reason = reason, .key = key, .key_len = klen, .payload = value, .payload_len = big};
    CHECK_INT(sk_poison_bound_dead_letter(&a, &dl), 0);
    sk_poison_sha256_hex(value, big, vhex);
    sk_poison_sha256_hex(key, klen, khex);
    CHECK_INT(dl.payload_len, SK_DL_PAYLOAD_MAX);
    CHECK_INT(dl.key_len, SK_DL_KEY_MAX);
    CHECK(strlen(dl.reason) <= SK_DL_REASON_MAX);
    CHECK_CONTAINS(dl.reason, "value 3000000 bytes, sha256 ");
    CHECK_CONTAINS(dl.reason, vhex);
    CHECK_CONTAINS(dl.reason, "key 100000 bytes, sha256 ");
    CHECK_CONTAINS(dl.reason, khex);
    /* and encoded, the record stays far below Kafka's 1,000,000 bytes */
    sk_codec_t *codec = sk_codec_new();
    void *buf;
    size_t len = 0;
    CHECK_INT(sk_codec_encode_dead_letter(codec, &dl, &a, &buf, &len), 0);
    CHECK(len < SK_DL_PAYLOAD_MAX + SK_DL_KEY_MAX + SK_DL_REASON_MAX + 256);
    sk_codec_destroy(codec);
    sk_arena_fini(&a);
    free(value);
    free(key);
    free(reason);
}

TEST(notice_names_what_was_dropped_and_is_small)
{
    sk_arena_t a;
    sk_dead_letter_t dl;
    size_t big = 2 * 1000 * 1000;
    char *value = malloc(big);
    memset(value, 0xff, big);
    sk_arena_init(&a, 4096);
    sk_poison_refusal_t *r = sk_poison_refusal_new("shiftkey.commands.v1", 3, "bob\x01", 4, value,
                                                   big, "Broker: Message size too large");
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK_INT(sk_poison_notice(&a, r, &dl), 0);
    CHECK_CONTAINS(dl.reason, "a 2000000-byte record for shiftkey.commands.v1");
    CHECK_CONTAINS(dl.reason, "key 'bob?'");
    CHECK_CONTAINS(dl.reason, r->sha256);
    CHECK_CONTAINS(dl.reason, "Message size too large");
    CHECK_INT(dl.payload_len, SK_NOTICE_PREFIX_MAX);
    CHECK_INT(dl.origin.partition, 3);
    CHECK_STR(dl.origin.topic, "shiftkey.commands.v1");
    CHECK(strlen(dl.reason) <= SK_DL_REASON_MAX);
    free(r);
    free(value);
    sk_arena_fini(&a);
}

TEST(which_kafka_errors_refuse_a_record_for_good)
{
    CHECK(sk_poison_permanent(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
    CHECK(sk_poison_permanent(RD_KAFKA_RESP_ERR_INVALID_RECORD));
    CHECK(sk_poison_permanent(RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE));
    CHECK(!sk_poison_permanent(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS));
    CHECK(!sk_poison_permanent(RD_KAFKA_RESP_ERR__FATAL));
    CHECK(!sk_poison_permanent(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
    CHECK(!sk_poison_permanent(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT));
    CHECK(!sk_poison_permanent(RD_KAFKA_RESP_ERR__PURGE_QUEUE));
}

SK_TEST_MAIN(SK_TEST_CASE(sha256_of_a_known_text), SK_TEST_CASE(utf8_cut_never_splits_a_character),
             SK_TEST_CASE(small_dead_letter_keeps_everything_and_states_length_and_hash),
             SK_TEST_CASE(huge_dead_letter_is_bounded_whatever_its_parts),
             SK_TEST_CASE(notice_names_what_was_dropped_and_is_small),
             SK_TEST_CASE(which_kafka_errors_refuse_a_record_for_good))
