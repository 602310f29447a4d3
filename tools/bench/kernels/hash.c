/* (d) integer hashing: fill a buffer with xorshift64* output, then hash it with FNV-1a
 * (32- and 64-bit, byte at a time) and murmur3-style finalisers (32- and 64-bit words).
 * run(n) hashes n blocks of 1 KiB; returns a 64-bit checksum. */
#include "bench.h"

#define BLOCK 1024

static uint8_t buf[BLOCK];

static uint32_t fnv1a32(const uint8_t *p, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static uint64_t fnv1a64(const uint8_t *p, size_t len) {
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static inline uint64_t fmix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static inline uint32_t rotl32(uint32_t x, int r) {
    return (x << r) | (x >> (32 - r));
}

static uint32_t murmur32_words(const uint8_t *p, size_t len, uint32_t seed) {
    uint32_t h = seed;
    for (size_t i = 0; i + 4 <= len; i += 4) {
        uint32_t k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
                     (uint32_t)p[i + 3] << 24;
        k *= 0xcc9e2d51u;
        k = rotl32(k, 15);
        k *= 0x1b873593u;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    return fmix32(h ^ (uint32_t)len);
}

static uint64_t mix64_words(const uint8_t *p, size_t len, uint64_t seed) {
    uint64_t h = seed;
    for (size_t i = 0; i + 8 <= len; i += 8) {
        uint64_t k = 0;
        for (int j = 7; j >= 0; j--) {
            k = (k << 8) | p[i + j];
        }
        h = fmix64(h ^ k) + (h >> 7);
    }
    return h;
}

EXPORT("run") int64_t run(int32_t n) {
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    uint64_t checksum = 0;
    for (int32_t block = 0; block < n; block++) {
        for (int32_t i = 0; i < BLOCK; i += 8) {
            uint64_t r = xorshift64s(&state);
            for (int j = 0; j < 8; j++) {
                buf[i + j] = (uint8_t)(r >> (8 * j));
            }
        }
        uint32_t h32 = fnv1a32(buf, BLOCK);
        uint64_t h64 = fnv1a64(buf, BLOCK);
        uint32_t m32 = murmur32_words(buf, BLOCK, h32);
        uint64_t m64 = mix64_words(buf, BLOCK, h64);
        checksum = fmix64(checksum ^ h64) + ((uint64_t)h32 << 32 | m32) + m64;
    }
    return (int64_t)checksum;
}
