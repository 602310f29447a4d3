/* Files and directories inside the preopened directory given as argv[1] (e.g. "/sandbox"):
 * every step prints one line "step: result", so the expected output pins down behaviour and
 * errno values. The test also inspects the host directory afterwards. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* "$ROOT/rel" (a few calls' results can be live at once, e.g. both names of a rename) */
static const char *P(const char *rel) {
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", getenv("ROOT"), rel);
    return b;
}

#define CHECK(label, expr)                                                    \
    do {                                                                      \
        errno = 0;                                                            \
        long long _r = (long long)(expr);                                     \
        if (_r < 0) printf("%s: -1 %s\n", label, strerror(errno));            \
        else printf("%s: %lld\n", label, _r);                                 \
    } while (0)

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *label, const char *dir) {
    DIR *d = opendir(P(dir));
    if (!d) { printf("%s: opendir %s\n", label, strerror(errno)); return; }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        char t = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l' : '?';
        names[n] = malloc(strlen(e->d_name) + 3);
        sprintf(names[n], "%s:%c", e->d_name, t);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("%s:", label);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    char buf[256];
    struct stat st;

    /* create, write, read back, seek, tell */
    int fd = open(P("a.txt"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK("open a.txt", fd >= 0 ? 0 : -1);
    CHECK("write", write(fd, "hello, world\n", 13));
    CHECK("lseek end", lseek(fd, 0, SEEK_END));
    CHECK("lseek set", lseek(fd, 7, SEEK_SET));
    CHECK("lseek cur", lseek(fd, 0, SEEK_CUR));
    memset(buf, 0, sizeof buf);
    CHECK("read", read(fd, buf, sizeof buf));
    printf("data: %s", buf);
    CHECK("lseek negative", lseek(fd, -100, SEEK_SET));
    CHECK("pwrite", pwrite(fd, "HELLO", 5, 0));
    memset(buf, 0, sizeof buf);
    CHECK("pread", pread(fd, buf, 5, 0));
    printf("pread data: %s\n", buf);
    CHECK("tell after pread/pwrite", lseek(fd, 0, SEEK_CUR));
    CHECK("fstat", fstat(fd, &st));
    printf("size %lld regular %d nlink %d\n", (long long)st.st_size, S_ISREG(st.st_mode), (int)st.st_nlink);
    CHECK("ftruncate 5", ftruncate(fd, 5));
    CHECK("fstat again", fstat(fd, &st));
    printf("size %lld\n", (long long)st.st_size);
    CHECK("ftruncate 100", ftruncate(fd, 100));
    CHECK("fsync", fsync(fd));
    CHECK("fdatasync", fdatasync(fd));
    CHECK("posix_fadvise", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0 ? 0 : -1);
    CHECK("posix_fallocate", posix_fallocate(fd, 0, 4096) == 0 ? 0 : -1);
    CHECK("fstat after allocate", fstat(fd, &st));
    printf("size %lld\n", (long long)st.st_size);
    CHECK("ftruncate 5", ftruncate(fd, 5));
    CHECK("close", close(fd));
    CHECK("close again", close(fd));
    CHECK("read closed", read(fd, buf, 1));

    /* append mode, O_EXCL, read-only descriptor */
    fd = open(P("a.txt"), O_WRONLY | O_APPEND);
    CHECK("append write", write(fd, "+tail", 5));
    close(fd);
    CHECK("O_EXCL existing", open(P("a.txt"), O_CREAT | O_EXCL | O_WRONLY, 0644));
    fd = open(P("a.txt"), O_RDONLY);
    CHECK("write to read-only", write(fd, "x", 1));
    memset(buf, 0, sizeof buf);
    CHECK("read all", read(fd, buf, sizeof buf));
    printf("data: %s\n", buf);
    close(fd);
    CHECK("fcntl getfl", 0);
    fd = open(P("a.txt"), O_WRONLY);
    CHECK("set O_APPEND", fcntl(fd, F_SETFL, O_APPEND));
    CHECK("getfl has O_APPEND", (fcntl(fd, F_GETFL) & O_APPEND) ? 1 : 0);
    CHECK("appended write", write(fd, "!", 1));
    close(fd);
    CHECK("stat a.txt", stat(P("a.txt"), &st));
    printf("size %lld\n", (long long)st.st_size);

    /* missing things */
    CHECK("open missing", open(P("missing.txt"), O_RDONLY));
    CHECK("stat missing", stat(P("missing/deeper"), &st));
    CHECK("open file as dir", open(P("a.txt/x"), O_RDONLY));
    CHECK("open dir for writing", open(P("."), O_WRONLY));

    /* directories */
    CHECK("mkdir d", mkdir(P("d"), 0755));
    CHECK("mkdir d again", mkdir(P("d"), 0755));
    CHECK("mkdir d/e/", mkdir(P("d/e/"), 0755));
    CHECK("mkdir missing parent", mkdir(P("nope/x"), 0755));
    fd = open(P("d/e/f.txt"), O_CREAT | O_WRONLY, 0644);
    CHECK("create d/e/f.txt", write(fd, "f", 1));
    close(fd);
    CHECK("rmdir non-empty", rmdir(P("d/e")));
    CHECK("rmdir a file", rmdir(P("a.txt")));
    CHECK("unlink a dir", unlink(P("d")));
    CHECK("stat dir", stat(P("d/e"), &st));
    printf("is dir %d\n", S_ISDIR(st.st_mode));
    list("list d/e", "d/e");
    list("list .", ".");

    /* rename, link, symlink, readlink */
    CHECK("rename", rename(P("d/e/f.txt"), P("d/g.txt")));
    CHECK("rename missing", rename(P("d/e/f.txt"), P("d/h.txt")));
    CHECK("rename dir over file", rename(P("d/e"), P("d/g.txt")));
    CHECK("link", link(P("d/g.txt"), P("d/g-link.txt")));
    CHECK("stat nlink", stat(P("d/g.txt"), &st));
    printf("nlink %d\n", (int)st.st_nlink);
    CHECK("symlink", symlink("g.txt", P("d/sym")));
    CHECK("symlink exists", symlink("g.txt", P("d/sym")));
    memset(buf, 0, sizeof buf);
    CHECK("readlink", readlink(P("d/sym"), buf, sizeof buf));
    printf("target: %s\n", buf);
    memset(buf, 0, sizeof buf);
    CHECK("readlink short buffer", readlink(P("d/sym"), buf, 3));
    printf("target: %s\n", buf);
    CHECK("readlink not a link", readlink(P("d/g.txt"), buf, sizeof buf));
    CHECK("lstat symlink", lstat(P("d/sym"), &st));
    printf("is link %d\n", S_ISLNK(st.st_mode));
    CHECK("stat through symlink", stat(P("d/sym"), &st));
    printf("is reg %d size %lld\n", S_ISREG(st.st_mode), (long long)st.st_size);
    fd = open(P("d/sym"), O_RDONLY);
    memset(buf, 0, sizeof buf);
    CHECK("read through symlink", read(fd, buf, sizeof buf));
    printf("data: %s\n", buf);
    close(fd);
    CHECK("open O_NOFOLLOW symlink", open(P("d/sym"), O_RDONLY | O_NOFOLLOW));
    CHECK("symlink to dir", symlink("e", P("d/esym")));
    CHECK("stat via dir symlink", stat(P("d/esym/."), &st));
    CHECK("dangling symlink", symlink("nowhere", P("d/dangling")));
    CHECK("open dangling", open(P("d/dangling"), O_RDONLY));
    fd = open(P("d/dangling"), O_CREAT | O_WRONLY, 0644);
    CHECK("create through dangling", fd >= 0 ? 0 : -1);
    close(fd);
    CHECK("stat created target", stat(P("d/nowhere"), &st));
    CHECK("symlink loop a", symlink("loop-b", P("d/loop-a")));
    CHECK("symlink loop b", symlink("loop-a", P("d/loop-b")));
    CHECK("open loop", open(P("d/loop-a"), O_RDONLY));
    CHECK("unlink symlink", unlink(P("d/sym")));
    CHECK("unlink trailing slash", unlink(P("d/g.txt/")));
    list("list d", "d");

    /* times */
    struct timeval tv[2] = {{1000000000, 0}, {1200000000, 500000}};
    CHECK("utimes", utimes(P("d/g.txt"), tv));
    CHECK("stat times", stat(P("d/g.txt"), &st));
    printf("atime %lld mtime %lld mtime_ns %ld\n", (long long)st.st_atim.tv_sec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec ts[2] = {{0, UTIME_OMIT}, {1300000000, 0}};
    CHECK("utimensat omit atime", utimensat(AT_FDCWD, P("d/g.txt"), ts, 0));
    CHECK("stat times", stat(P("d/g.txt"), &st));
    printf("atime %lld mtime %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    fd = open(P("d/g.txt"), O_RDWR);
    struct timespec ts2[2] = {{1400000000, 0}, {1500000000, 250}};
    CHECK("futimens", futimens(fd, ts2));
    CHECK("fstat times", fstat(fd, &st));
    printf("atime %lld mtime %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    close(fd);

    /* clean up part of it */
    CHECK("unlink g-link", unlink(P("d/g-link.txt")));
    CHECK("rmdir e (has nothing)", rmdir(P("d/e")));
    CHECK("rename dir", rename(P("d"), P("renamed")));
    list("list .", ".");
    return 0;
}
