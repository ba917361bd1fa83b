/* test_state_cache.c — the owned partitions' user hashes in memory: filled
 * only from applied steps (base + diff), merged step after step, never used
 * within a second of the hash's expiry, dropped per user and per partition. */
#include <string.h>

#include "sk_test.h"
#include "pipeline/state_cache.h"

/* The value of field `name` in h, or NULL. */
static const char *field(const sk_store_hash_t *h, const char *name)
{
    for (size_t i = 0; i < h->n_fields; i++)
        if (h->fields[i].name_len == strlen(name) &&
            memcmp(h->fields[i].name, name, h->fields[i].name_len) == 0)
            return h->fields[i].value;
    return NULL;
}

static sk_store_writes_t step(int32_t p, const char *user, const char *const *del, size_t n_del,
                              const sk_store_field_t *set, size_t n_set, sk_ms_t keep)
{
    return (sk_store_writes_t){.partition = p,
                               .user = user,
                               .n_del = n_del,
                               .del = del,
                               .n_set = n_set,
                               .set = set,
                               .keep_until_ms = keep};
}

TEST(steps_merge_into_the_base_they_started_from)
{
    sk_state_cache_t *c = sk_state_cache_new();
    sk_arena_t a;
    sk_store_hash_t h;
    bool hit = true;
    sk_arena_init(&a, 4096);
    sk_store_field_t base_f[] = {{"x", 1, "old", 3}, {"y", 1, "keep", 4}};
    sk_store_hash_t base = {base_f, 2};
    /* nothing until a step is applied: a read alone is never cached */
    CHECK_INT(sk_state_cache_get(c, 3, "ana", 1000, &a, &h, &hit), 0);
    CHECK(!hit);
    sk_store_field_t s1[] = {{"x", 1, "new", 3}, {"z", 1, "added", 5}};
    sk_store_writes_t w1 = step(3, "ana", NULL, 0, s1, 2, SK_MS_NONE);
    CHECK_INT(sk_state_cache_apply(c, &base, &w1), 0);
    CHECK_INT(sk_state_cache_get(c, 3, "ana", 1000, &a, &h, &hit), 0);
    CHECK(hit);
    CHECK_INT(h.n_fields, 3);
    CHECK_STR(field(&h, "x"), "new");
    CHECK_STR(field(&h, "y"), "keep");
    CHECK_STR(field(&h, "z"), "added");
    /* a second step of the same user applies on the entry, not on base */
    const char *del[] = {"y"};
    sk_store_field_t s2[] = {{"x", 1, "newer", 5}};
    sk_store_writes_t w2 = step(3, "ana", del, 1, s2, 1, SK_MS_NONE);
    CHECK_INT(sk_state_cache_apply(c, &base, &w2), 0);
    CHECK_INT(sk_state_cache_get(c, 3, "ana", 1000, &a, &h, &hit), 0);
    CHECK_INT(h.n_fields, 2);
    CHECK_STR(field(&h, "x"), "newer");
    CHECK(field(&h, "y") == NULL);
    CHECK_STR(field(&h, "z"), "added");
    /* the same user in another partition is another entry */
    CHECK_INT(sk_state_cache_get(c, 4, "ana", 1000, &a, &h, &hit), 0);
    CHECK(!hit);
    size_t entries = 0, bytes = 0;
    sk_state_cache_size(c, &entries, &bytes);
    CHECK_INT(entries, 1);
    CHECK(bytes > 0);
    sk_arena_fini(&a);
    sk_state_cache_destroy(c);
}

TEST(an_entry_is_not_used_near_its_expiry)
{
    sk_state_cache_t *c = sk_state_cache_new();
    sk_arena_t a;
    sk_store_hash_t h;
    bool hit = false;
    sk_arena_init(&a, 4096);
    sk_store_field_t s[] = {{"g", 1, "1", 1}};
    sk_store_writes_t w = step(1, "bo", NULL, 0, s, 1, 10000);
    CHECK_INT(sk_state_cache_apply(c, NULL, &w), 0);
    CHECK_INT(sk_state_cache_get(c, 1, "bo", 8000, &a, &h, &hit), 0);
    CHECK(hit);
    /* within a second of the hash's expiry in Redis: read Redis instead */
    CHECK_INT(sk_state_cache_get(c, 1, "bo", 9000, &a, &h, &hit), 0);
    CHECK(!hit);
    /* and the entry is gone, not only skipped */
    CHECK_INT(sk_state_cache_get(c, 1, "bo", 0, &a, &h, &hit), 0);
    CHECK(!hit);
    sk_arena_fini(&a);
    sk_state_cache_destroy(c);
}

TEST(drops_per_user_and_per_partition)
{
    sk_state_cache_t *c = sk_state_cache_new();
    sk_arena_t a;
    sk_store_hash_t h;
    bool hit = false;
    char user[16];
    sk_arena_init(&a, 4096);
    sk_store_field_t s[] = {{"g", 1, "1", 1}};
    for (int i = 0; i < 1000; i++) { /* past a few table growths */
        snprintf(user, sizeof(user), "u%d", i);
        sk_store_writes_t w = step(i % 2, user, NULL, 0, s, 1, SK_MS_NONE);
        CHECK_INT(sk_state_cache_apply(c, NULL, &w), 0);
    }
    size_t entries = 0, bytes = 0;
    sk_state_cache_size(c, &entries, &bytes);
    CHECK_INT(entries, 1000);
    CHECK_INT(sk_state_cache_get(c, 1, "u999", 0, &a, &h, &hit), 0);
    CHECK(hit);
    sk_state_cache_drop(c, 1, "u999");
    CHECK_INT(sk_state_cache_get(c, 1, "u999", 0, &a, &h, &hit), 0);
    CHECK(!hit);
    sk_state_cache_clear(c, 0); /* partition 0 lost, partition 1 kept */
    CHECK_INT(sk_state_cache_get(c, 0, "u0", 0, &a, &h, &hit), 0);
    CHECK(!hit);
    CHECK_INT(sk_state_cache_get(c, 1, "u1", 0, &a, &h, &hit), 0);
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

SK_TEST_MAIN(SK_TEST_CASE(steps_merge_into_the_base_they_started_from),
             SK_TEST_CASE(an_entry_is_not_used_near_its_expiry),
             SK_TEST_CASE(drops_per_user_and_per_partition))
