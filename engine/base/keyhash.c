/*
 * keyhash.c — murmur2 key partitioning, bit-compatible with Java's
 * org.apache.kafka.common.utils.Utils.murmur2 and librdkafka's
 * rd_murmur2() (the `murmur2_random` partitioner). See keyhash.h.
 */
#include "base/keyhash.h"

uint32_t sk_keyhash_murmur2(const void *key, size_t len)
{
    const uint32_t seed = 0x9747b28c;
    const uint32_t m = 0x5bd1e995;
    const int r = 24;
    const unsigned char *data = key;
    uint32_t h = seed ^ (uint32_t)len;
    size_t i = 0;

    /* four bytes at a time, little-endian, as Java reads them */
    for (; i + 4 <= len; i += 4) {
        uint32_t k = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 |
                     (uint32_t)data[i + 3] << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)data[i + 2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)data[i + 1] << 8;
        /* fall through */
    case 1: h ^= (uint32_t)data[i]; h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int32_t sk_keyhash_partition(const void *key, size_t len, int32_t n_partitions)
{
    if (n_partitions < 1)
        return -1;
    return (int32_t)((sk_keyhash_murmur2(key, len) & 0x7fffffff) % (uint32_t)n_partitions);
}
