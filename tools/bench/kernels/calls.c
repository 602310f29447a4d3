/* (f) calls: add(a, b) for measuring the cost of one call from the host, and run(n) that
 * makes n rounds of direct calls and calls through a function-pointer table
 * (call_indirect) to small non-inlined functions. */
#include "bench.h"

EXPORT("add") int32_t add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static NOINLINE uint32_t step_a(uint32_t x, uint32_t i) { return x * 33u + i; }
static NOINLINE uint32_t step_b(uint32_t x, uint32_t i) { return (x ^ i) + (x >> 5); }
static NOINLINE uint32_t step_c(uint32_t x, uint32_t i) { return x - (i << 3) + 7u; }
static NOINLINE uint32_t step_d(uint32_t x, uint32_t i) { return (x << 1 | x >> 31) ^ i; }

typedef uint32_t (*step_fn)(uint32_t, uint32_t);
static step_fn volatile table[4] = {step_a, step_b, step_c, step_d};

EXPORT("run") int64_t run(int32_t n) {
    uint32_t x = 1;
    uint64_t checksum = 0;
    for (int32_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)i;
        x = step_a(x, u);
        x = step_b(x, u);
        x = table[(x >> 7) & 3](x, u);
        x = table[u & 3](x, u);
        checksum += x;
    }
    return (int64_t)checksum;
}
