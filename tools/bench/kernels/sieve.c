/* (h) byte arrays: sieve of Eratosthenes over a static flag array. run(n) = the number of
 * primes <= n (n is clamped to LIMIT). tools/bench/python_speed.py times the same algorithm
 * written in Python (a bytearray of flags) against it. */
#include "bench.h"

#define LIMIT 4000000

static uint8_t composite[LIMIT + 1];

EXPORT("run") int64_t run(int32_t n) {
    if (n > LIMIT) n = LIMIT;
    if (n < 2) return 0;
    for (int32_t i = 0; i <= n; i++) composite[i] = 0;
    int64_t count = 0;
    for (int32_t i = 2; i <= n; i++) {
        if (composite[i]) continue;
        count++;
        for (int64_t j = (int64_t)i * i; j <= n; j += i) composite[j] = 1;
    }
    return count;
}
