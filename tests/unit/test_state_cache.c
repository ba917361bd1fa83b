/* test_state_cache.c — the owned partitions' users' packed values in
 * memory: filled only from applied steps (the value written, or the base
 * the step started from when it wrote none), replaced step after step, a
 * deleted key cached as none, dropped per user and per partition. */
#include <string.h>

#include "sk_test.h"
#include "pipeline/state_cache.h"

/* Whether v holds exactly the bytes s. */
static bool holds(const sk_store_value_t *v, const char *s)
{
    return v->len == strlen(s) && memcmp(v->bytes, s, v->len) == 0;
}

/* A step of user in partition p: what it does to the key (the cache keeps
 * bytes, whatever they hold). */
static sk_store_writes_t step(int32_t p, const char *user, sk_store_value_op_t op, const char *v)
{
    return (sk_store_writes_t){
        .partition = p, .user = user, .value_op = op, .value = v, .value_len = v ? strlen(v) : 0};
}

TEST(a_step_replaces_the_value_and_a_kept_one_takes_its_base)
{
    sk_state_cache_t *c = sk_state_cache_new();
    sk_arena_t a;
    sk_store_value_t h;
    bool hit = true;
    sk_arena_init(&a, 4096);
    sk_store_value_t base = {"as read", 7};
    /* nothing until a step is applied: a read alone is never cached */
    CHECK_INT(sk_state_cache_get(c, 3, "ana", &a, &h, &hit), 0);
    CHECK(!hit);
    /* a step that wrote nothing: the value it started from */
    sk_store_writes_t w0 = step(3, "ana", SK_STORE_VALUE_KEEP, NULL);
    CHECK_INT(sk_state_cache_apply(c, &base, &w0), 0);
    CHECK_INT(sk_state_cache_get(c, 3, "ana", &a, &h, &hit), 0);
    CHECK(hit && holds(&h, "as read"));
    /* a step that wrote: its value, not the base */
    sk_store_writes_t w1 = step(3, "ana", SK_STORE_VALUE_SET, "v1");
    CHECK_INT(sk_state_cache_apply(c, &base, &w1), 0);
    CHECK_INT(sk_state_cache_get(c, 3, "ana", &a, &h, &hit), 0);
    CHECK(hit && holds(&h, "v1"));
    /* a later step that wrote nothing keeps the entry (not the old base) */
    CHECK_INT(sk_state_cache_apply(c, &base, &w0), 0);
    CHECK_INT(sk_state_cache_get(c, 3, "ana", &a, &h, &hit), 0);
    CHECK(hit && holds(&h, "v1"));
    /* a delete is cached as "no key": a hit with nothing */
    sk_store_writes_t w2 = step(3, "ana", SK_STORE_VALUE_DEL, NULL);
    CHECK_INT(sk_state_cache_apply(c, &base, &w2), 0);
    CHECK_INT(sk_state_cache_get(c, 3, "ana", &a, &h, &hit), 0);
    CHECK(hit);
    CHECK_INT(h.len, 0);
    /* the same user in another partition is another entry */
    CHECK_INT(sk_state_cache_get(c, 4, "ana", &a, &h, &hit), 0);
    CHECK(!hit);
    size_t entries = 0, bytes = 0;
    sk_state_cache_size(c, &entries, &bytes);
    CHECK_INT(entries, 1);
    CHECK(bytes > 0);
    sk_arena_fini(&a);
    sk_state_cache_destroy(c);
}

TEST(drops_per_user_and_per_partition)
{
    sk_state_cache_t *c = sk_state_cache_new();
    sk_arena_t a;
    sk_store_value_t h;
    bool hit = false;
    char user[16];
    sk_arena_init(&a, 4096);
    for (int i = 0; i < 1000; i++) { /* past a few table growths */
        snprintf(user, sizeof(user), "u%d", i);
        sk_store_writes_t w = step(i % 2, user, SK_STORE_VALUE_SET, user);
        CHECK_INT(sk_state_cache_apply(c, NULL, &w), 0);
    }
    size_t entries = 0, bytes = 0;
    sk_state_cache_size(c, &entries, &bytes);
    CHECK_INT(entries, 1000);
    CHECK_INT(sk_state_cache_get(c, 1, "u999", &a, &h, &hit), 0);
    CHECK(hit && holds(&h, "u999"));
    sk_state_cache_drop(c, 1, "u999");
    CHECK_INT(sk_state_cache_get(c, 1, "u999", &a, &h, &hit), 0);
    CHECK(!hit);
    sk_state_cache_clear(c, 0); /* partition 0 lost, partition 1 kept */
    CHECK_INT(sk_state_cache_get(c, 0, "u0", &a, &h, &hit), 0);
    CHECK(!hit);
    CHECK_INT(sk_state_cache_get(c, 1, "u1", &a, &h, &hit), 0);
    CHECK(hit);
    sk_state_cache_size(c, &entries, &bytes);
    CHECK_INT(entries, 499);
    sk_state_cache_clear(c, -1);
    sk_state_cache_size(c, &entries, &bytes);
    CHECK_INT(entries, 0);
    CHECK_INT(bytes, 0);
    sk_arena_fini(&a);
    sk_state_cache_destroy(c);
}

SK_TEST_MAIN(SK_TEST_CASE(a_step_replaces_the_value_and_a_kept_one_takes_its_base),
             SK_TEST_CASE(drops_per_user_and_per_partition))
