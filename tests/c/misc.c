/* Everything else: random bytes, sched_yield, isatty, descriptor renumbering, fd flags,
 * sockets (no socket can exist: every call reports ENOTSOCK or EBADF), proc_raise. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wasi/api.h>

/* proc_raise is in the witx but not declared by this wasi-libc: import it directly. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
extern int raw_proc_raise(int sig);

int main(void) {
    unsigned char a[32] = {0}, b[32] = {0};
    int r1 = getentropy(a, sizeof a), r2 = getentropy(b, sizeof b);
    printf("getentropy %d %d differ %d\n", r1, r2, memcmp(a, b, sizeof a) != 0);
    printf("random %s\n", arc4random() != arc4random() || arc4random() != arc4random() ? "ok" : "BAD");
    printf("sched_yield %d\n", sched_yield());
    errno = 0;
    printf("isatty(1) %d errno %s\n", isatty(1), strerror(errno));
    printf("isatty(99) %d errno %s\n", isatty(99), strerror(errno));

    __wasi_fdstat_t st;
    printf("fdstat stdout %d type %d\n", __wasi_fd_fdstat_get(1, &st), st.fs_filetype);
    printf("fdstat bad %d\n", __wasi_fd_fdstat_get(1234, &st));
    printf("fdstat stdin can read %d can write %d\n",
           __wasi_fd_fdstat_get(0, &st) == 0 && (st.fs_rights_base & __WASI_RIGHTS_FD_READ) != 0,
           (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0);
    printf("seek stdout %d\n", (int)lseek(1, 0, SEEK_CUR) < 0 ? errno : 0);

    /* renumber: fd 2 (stderr) becomes fd 1 (stdout); writes to 1 then go to stderr */
    int fd = open(getenv("FILE"), O_RDONLY);
    printf("open %d\n", fd >= 0);
    __wasi_prestat_t pre;
    printf("prestat of a file %d\n", __wasi_fd_prestat_get(fd, &pre));
    printf("prestat of fd 3 %d type %d len %u\n", __wasi_fd_prestat_get(3, &pre), pre.tag,
           (unsigned)pre.u.dir.pr_name_len);
    char name[64] = {0};
    printf("prestat_dir_name short %d\n", __wasi_fd_prestat_dir_name(3, (uint8_t *)name, 1));
    printf("prestat_dir_name %d %s\n",
           __wasi_fd_prestat_dir_name(3, (uint8_t *)name, pre.u.dir.pr_name_len), name);
    printf("renumber to bad %d\n", __wasi_fd_renumber(fd, 77));
    printf("renumber from bad %d\n", __wasi_fd_renumber(77, fd));
    int fd2 = open(getenv("FILE"), O_RDONLY);
    printf("renumber %d\n", __wasi_fd_renumber(fd2, fd));
    char c = 0;
    printf("read renumbered %d %c\n", (int)read(fd, &c, 1), c);
    printf("old number closed %d\n", __wasi_fd_fdstat_get(fd2, &st));
    printf("set rights narrower %d\n", __wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ, 0));
    printf("set rights wider %d\n",
           __wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0));
    if (getenv("BAD_ENUMS")) { /* wasmtime traps on an invalid enum value; wasm2py: EINVAL */
        printf("fd_advise bad advice %d\n", __wasi_fd_advise(fd, 0, 0, 99));
        printf("seek bad whence %d\n", (int)lseek(fd, 0, 77) < 0 ? errno : 0);
    }
    close(fd);

    errno = 0;
    printf("socket recv %d %s\n", (int)recv(0, &c, 1, 0), strerror(errno));
    errno = 0;
    printf("socket send %d %s\n", (int)send(1, &c, 1, 0), strerror(errno));
    errno = 0;
    printf("socket shutdown %d %s\n", shutdown(1, SHUT_RDWR), strerror(errno));
    errno = 0;
    printf("socket accept bad fd %d %s\n", accept(99, NULL, NULL), strerror(errno));
    printf("sock_accept %d\n", __wasi_sock_accept(0, 0, (__wasi_fd_t *)&fd));
    printf("proc_raise %d\n", raw_proc_raise(15 /* SIGTERM */));
    if (getenv("BAD_ENUMS"))
        printf("clock bad id %d\n", __wasi_clock_time_get(99, 0, (__wasi_timestamp_t *)a));
    __wasi_size_t nw;
    printf("poll none %d\n", __wasi_poll_oneoff(NULL, NULL, 0, &nw));
    fflush(stdout);
    /* A pointer outside linear memory traps (as in wasmtime), it is not an errno. */
    if (getenv("FAULT") && strcmp(getenv("FAULT"), "random") == 0)
        (void)__wasi_random_get((uint8_t *)0xFFFFFF00u, 4096);
    if (getenv("FAULT") && strcmp(getenv("FAULT"), "write") == 0) {
        __wasi_ciovec_t iov = {(const uint8_t *)0xFFFFFFF0u, 64};
        (void)__wasi_fd_write(1, &iov, 1, &nw);
    }
    return 0;
}
