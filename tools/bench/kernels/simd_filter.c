/* SIMD kernel (built with -msimd128 by tools/bench/simd_kernel.py; clang's auto-vectoriser
 * turns these loops into v128 code): a byte-wise image filter (3-tap blur, brightness with
 * saturation, threshold count) on a 64 x 64 8-bit image and an i16 dot product.
 * run(n) does n rounds; returns a 64-bit checksum (the same without -msimd128). */
#include "bench.h"

#define W 64
#define N (W * W)
#define D 1024

static uint8_t img[N], tmp[N];
static int16_t va[D], vb[D];

static NOINLINE uint32_t filter(uint8_t add) {
    for (int i = 1; i < N - 1; i++)
        tmp[i] = (uint8_t)((img[i - 1] + 2 * img[i] + img[i + 1] + 2) >> 2);
    uint32_t bright = 0;
    for (int i = 0; i < N; i++) {
        unsigned v = tmp[i] + add;
        img[i] = v > 255 ? 255 : (uint8_t)v;
        bright += img[i] > 128;
    }
    return bright;
}

static NOINLINE int32_t dot(void) {
    int32_t s = 0;
    for (int i = 0; i < D; i++)
        s += (int32_t)va[i] * vb[i];
    return s;
}

EXPORT("run") int64_t run(int32_t n) {
    uint64_t st = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < N; i++) img[i] = (uint8_t)(xorshift64s(&st) >> 56);
    for (int i = 0; i < D; i++) {
        va[i] = (int16_t)(xorshift64s(&st) >> 48);
        vb[i] = (int16_t)(xorshift64s(&st) >> 48);
    }
    uint64_t h = 0;
    for (int r = 0; r < n; r++) {
        h = h * 1000003u + filter((uint8_t)(r & 7));
        h = h * 1000003u + (uint32_t)dot();
        va[r & (D - 1)] ^= (int16_t)h;
    }
    return (int64_t)h;
}
