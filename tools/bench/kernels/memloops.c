/* (b) loops over memory: fill, prefix sum, copy, reverse copy and strided sum over a
 * static array of 32-bit ints. run(n) makes n passes; returns a 64-bit checksum. */
#include "bench.h"

#define SIZE 4096

static uint32_t a[SIZE];
static uint32_t b[SIZE];

static NOINLINE void copy_words(uint32_t *dst, const uint32_t *src, size_t count) {
    for (size_t i = 0; i < count; i++) {
        dst[i] = src[i];
    }
}

EXPORT("run") int64_t run(int32_t n) {
    uint64_t checksum = 0;
    for (int32_t i = 0; i < SIZE; i++) {
        a[i] = (uint32_t)i * 2654435761u;
        b[i] = 0;
    }
    for (int32_t pass = 0; pass < n; pass++) {
        /* prefix sum in place */
        uint32_t acc = (uint32_t)pass;
        for (int32_t i = 0; i < SIZE; i++) {
            acc += a[i];
            a[i] = acc;
        }
        /* memcpy-like copy */
        copy_words(b, a, SIZE);
        /* reverse copy with a mix */
        for (int32_t i = 0; i < SIZE; i++) {
            a[i] = b[SIZE - 1 - i] ^ (a[i] >> 3);
        }
        /* strided sum (stride 7, wraps around) */
        uint64_t sum = 0;
        int32_t j = pass & (SIZE - 1);
        for (int32_t i = 0; i < SIZE; i++) {
            sum += b[j];
            j = (j + 7) & (SIZE - 1);
        }
        checksum = checksum * 31 + sum;
    }
    for (int32_t i = 0; i < SIZE; i++) {
        checksum += (uint64_t)a[i] * (uint64_t)(i + 1);
    }
    return (int64_t)checksum;
}
