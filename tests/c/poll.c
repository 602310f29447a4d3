/* poll_oneoff: a timeout alone, stdin readiness, and a regular file. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    long long t0 = ms();
    int r = poll(NULL, 0, 30);
    printf("timeout only: %d waited>=30ms %d\n", r, ms() - t0 >= 30);
    struct pollfd p = {0, POLLIN, 0};
    r = poll(&p, 1, 5000);
    printf("stdin: %d revents POLLIN %d\n", r, (p.revents & POLLIN) != 0);
    char buf[64] = {0};
    ssize_t n = read(0, buf, sizeof buf - 1);
    printf("read %zd: %s", n, buf);
    if (argc > 1) {
        int fd = open(argv[1], O_RDONLY);
        struct pollfd q[2] = {{fd, POLLIN, 0}, {fd, POLLOUT, 0}};
        r = poll(q, 2, 0);
        printf("file: %d in %d\n", r, (q[0].revents & POLLIN) != 0);
        close(fd);
    }
    struct pollfd bad = {99, POLLIN, 0};
    r = poll(&bad, 1, 0);
    printf("bad fd: %d revents %s\n", r, bad.revents & POLLNVAL ? "POLLNVAL" : "other");
    return 0;
}
