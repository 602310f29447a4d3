/* Clocks and sleeping: prints the realtime clock in seconds (the test compares it with the
 * host's), then checks monotonicity, resolution, nanosleep and CPU time. */
#include <stdio.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>

static long long ns(clockid_t c) {
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0) { perror("clock_gettime"); return -1; }
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
    printf("realtime %lld\n", ns(CLOCK_REALTIME) / 1000000000LL);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("gettimeofday %lld\n", (long long)tv.tv_sec);
    printf("time %lld\n", (long long)time(NULL));
    long long m0 = ns(CLOCK_MONOTONIC);
    long long m1 = ns(CLOCK_MONOTONIC);
    printf("monotonic %s\n", m1 >= m0 && m0 > 0 ? "ok" : "BAD");
    struct timespec res;
    printf("res %s\n", clock_getres(CLOCK_MONOTONIC, &res) == 0 &&
           res.tv_sec == 0 && res.tv_nsec > 0 ? "ok" : "BAD");
    struct timespec d = {0, 20 * 1000 * 1000};
    long long t0 = ns(CLOCK_MONOTONIC);
    int r = nanosleep(&d, NULL);
    long long t1 = ns(CLOCK_MONOTONIC);
    printf("nanosleep %d %s\n", r, t1 - t0 >= 20000000LL ? "ok" : "BAD");
    t0 = ns(CLOCK_MONOTONIC);
    usleep(5000);
    t1 = ns(CLOCK_MONOTONIC);
    printf("usleep %s\n", t1 - t0 >= 5000000LL ? "ok" : "BAD");
    long long c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
    volatile unsigned x = 0;
    for (int i = 0; i < 20000; i++) x = x + i;
    long long c1 = ns(CLOCK_PROCESS_CPUTIME_ID);
    printf("cputime %s\n", c0 >= 0 && c1 >= c0 ? "ok" : "BAD");
    return 0;
}
