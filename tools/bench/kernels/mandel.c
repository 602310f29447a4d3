/* (c) f64 arithmetic: Mandelbrot set on an n x n grid over [-2, 0.5] x [-1.25, 1.25], at
 * most 50 iterations per point. Returns the total iteration count mixed with the final
 * |z|^2 values (as a 64-bit checksum). */
#include "bench.h"

#define MAX_ITER 50

EXPORT("run") int64_t run(int32_t n) {
    uint64_t checksum = 0;
    double acc = 0.0;
    for (int32_t py = 0; py < n; py++) {
        double ci = -1.25 + 2.5 * (double)py / (double)n;
        for (int32_t px = 0; px < n; px++) {
            double cr = -2.0 + 2.5 * (double)px / (double)n;
            double zr = 0.0, zi = 0.0, zr2 = 0.0, zi2 = 0.0;
            int32_t it = 0;
            while (it < MAX_ITER && zr2 + zi2 <= 4.0) {
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                zr2 = zr * zr;
                zi2 = zi * zi;
                it++;
            }
            checksum += (uint64_t)it;
            acc += zr2 + zi2 < 4.0 ? zr2 + zi2 : 4.0;
        }
    }
    /* fold in the accumulated magnitudes, scaled to an integer */
    return (int64_t)(checksum * 1000003u + (uint64_t)(int64_t)(acc * 1024.0));
}
