/*
 * keyhash.h — the one partitioner of shiftkey: murmur2 as Java's Kafka
 * clients use it (and librdkafka's `partitioner=murmur2_random`). Every
 * producer of ours sets that partitioner, the engine checks that each input
 * record sits on the partition its key maps to, and third-party producers
 * must use it too (README.md, "Partitions").
 */
#ifndef SK_KEYHASH_H
#define SK_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

/* The librdkafka setting that selects this partitioner. */
#define SK_PARTITIONER "murmur2_random"

/*
 * sk_keyhash_murmur2 — the 32-bit murmur2 hash of len bytes at key, with
 * Kafka's seed 0x9747b28c, exactly as Java's Utils.murmur2 (returned as the
 * same bits, unsigned). Pure.
 */
uint32_t sk_keyhash_murmur2(const void *key, size_t len);

/*
 * sk_keyhash_partition — the partition (0..n_partitions-1) a keyed record
 * belongs to: (murmur2(key) & 0x7fffffff) % n_partitions, as Java's default
 * partitioner and librdkafka's murmur2_random compute it. -1 when
 * n_partitions < 1. A record without a key has no partition of its own (the
 * engine refuses unkeyed input anyway). Pure.
 */
int32_t sk_keyhash_partition(const void *key, size_t len, int32_t n_partitions);

#endif
