/* (e) sorting: quicksort (median of three, insertion sort for short ranges) of n
 * pseudo-random 32-bit ints generated in-kernel, then heapsort of the same input; checks
 * both are sorted and equal and returns a position-weighted checksum (or -1 on failure). */
#include "bench.h"

#define MAX_N (1 << 18)

static int32_t data[MAX_N];
static int32_t copy[MAX_N];

static void insertion_sort(int32_t *v, int32_t lo, int32_t hi) {
    for (int32_t i = lo + 1; i <= hi; i++) {
        int32_t x = v[i];
        int32_t j = i - 1;
        while (j >= lo && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

static inline void swap(int32_t *v, int32_t i, int32_t j) {
    int32_t t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static NOINLINE void quicksort(int32_t *v, int32_t lo, int32_t hi) {
    while (hi - lo > 16) {
        int32_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo]) swap(v, mid, lo);
        if (v[hi] < v[lo]) swap(v, hi, lo);
        if (v[hi] < v[mid]) swap(v, hi, mid);
        int32_t pivot = v[mid];
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                swap(v, i, j);
                i++;
                j--;
            }
        }
        /* recurse into the smaller part, loop on the larger one */
        if (j - lo < hi - i) {
            quicksort(v, lo, j);
            lo = i;
        } else {
            quicksort(v, i, hi);
            hi = j;
        }
    }
    insertion_sort(v, lo, hi);
}

static void sift_down(int32_t *v, int32_t root, int32_t end) {
    for (;;) {
        int32_t child = 2 * root + 1;
        if (child >= end) return;
        if (child + 1 < end && v[child] < v[child + 1]) child++;
        if (v[root] >= v[child]) return;
        swap(v, root, child);
        root = child;
    }
}

static NOINLINE void heapsort(int32_t *v, int32_t count) {
    for (int32_t i = count / 2 - 1; i >= 0; i--) sift_down(v, i, count);
    for (int32_t end = count - 1; end > 0; end--) {
        swap(v, 0, end);
        sift_down(v, 0, end);
    }
}

EXPORT("run") int64_t run(int32_t n) {
    if (n > MAX_N) n = MAX_N;
    uint64_t state = 0x2545F4914F6CDD1DULL ^ (uint64_t)n;
    for (int32_t i = 0; i < n; i++) {
        data[i] = (int32_t)(uint32_t)(xorshift64s(&state) >> 32);
        copy[i] = data[i];
    }
    quicksort(data, 0, n - 1);
    heapsort(copy, n);
    uint64_t checksum = 0;
    for (int32_t i = 0; i < n; i++) {
        if (data[i] != copy[i]) return -1;
        if (i > 0 && data[i - 1] > data[i]) return -1;
        checksum += (uint64_t)(int64_t)data[i] * (uint64_t)(i + 1);
    }
    return (int64_t)checksum;
}
