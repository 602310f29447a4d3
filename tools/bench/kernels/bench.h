/* Shared definitions for the benchmark kernels.
 *
 * The kernels are freestanding C (no libc): the same source is compiled to wasm32 by clang
 * (entry points exported by name) and natively by gcc (linked with a small harness that
 * prints the checksums, as an independent check of the results).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>
#include <stddef.h>

#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(name)))
#else
#define EXPORT(name)
#endif

#define NOINLINE __attribute__((noinline))

/* xorshift64* pseudo-random generator (deterministic, same sequence everywhere). */
static inline uint64_t xorshift64s(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif
