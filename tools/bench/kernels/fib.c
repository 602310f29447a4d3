/* (a) recursion: naive doubly recursive Fibonacci. run(n) = fib(n). */
#include "bench.h"

static NOINLINE int32_t fib(int32_t n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

EXPORT("run") int64_t run(int32_t n) {
    return fib(n);
}
