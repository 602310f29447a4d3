/* Attempts to leave the sandbox preopened at $ROOT. The host prepares, inside it: symlinks
 * "out-abs" (absolute, to a directory outside), "out-rel" ("../outside"), "sub/deep"
 * ("../../outside/secret.txt"), "sub/ok" ("../inside.txt"), "loop" (to itself), and a file
 * "inside.txt"; outside it, "outside/secret.txt". Each attempt prints its result and errno. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static char pb[4096], pb2[4096];
static const char *P(const char *rel) { snprintf(pb, sizeof pb, "%s/%s", getenv("ROOT"), rel); return pb; }
static const char *Q(const char *rel) { snprintf(pb2, sizeof pb2, "%s/%s", getenv("ROOT"), rel); return pb2; }

static void report(const char *label, long r) {
    if (r < 0) printf("%s: %s\n", label, strerror(errno));
    else printf("%s: ok\n", label);
}

#define TRY(label, expr) do { errno = 0; report(label, (long)(expr)); } while (0)

static long openclose(const char *p, int flags) {
    int fd = open(p, flags, 0644);
    if (fd >= 0) close(fd);
    return fd;
}

static long readfile(const char *p) {
    int fd = open(p, O_RDONLY);
    if (fd < 0) return -1;
    char buf[64] = {0};
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n >= 0) printf("  read: %s", buf);
    return n;
}

int main(void) {
    struct stat st;
    char buf[256];
    TRY("read inside.txt", readfile(P("inside.txt")));
    TRY("read sub/ok", readfile(P("sub/ok")));
    TRY("read ..", readfile(P("../outside/secret.txt")));
    TRY("read sub/../..", readfile(P("sub/../../outside/secret.txt")));
    TRY("read sub/../../<root>", readfile(P("sub/../inside.txt")));
    TRY("read out-abs/secret.txt", readfile(P("out-abs/secret.txt")));
    TRY("read out-rel/secret.txt", readfile(P("out-rel/secret.txt")));
    TRY("read sub/deep", readfile(P("sub/deep")));
    TRY("stat sub/deep", stat(P("sub/deep"), &st));
    TRY("lstat sub/deep", lstat(P("sub/deep"), &st));
    TRY("readlink sub/deep", readlink(P("sub/deep"), buf, sizeof buf));
    TRY("open loop", openclose(P("loop"), O_RDONLY));
    TRY("open absolute /etc/passwd", openclose("/etc/passwd", O_RDONLY));
    TRY("create ../escape.txt", openclose(P("../outside/escape.txt"), O_CREAT | O_WRONLY));
    TRY("create out-abs/escape.txt", openclose(P("out-abs/escape.txt"), O_CREAT | O_WRONLY));
    TRY("create out-rel/escape.txt", openclose(P("out-rel/escape.txt"), O_CREAT | O_WRONLY));
    TRY("truncate via sub/deep", openclose(P("sub/deep"), O_WRONLY | O_TRUNC));
    TRY("mkdir out-rel/newdir", mkdir(P("out-rel/newdir"), 0755));
    TRY("mkdir ../newdir", mkdir(P("../newdir"), 0755));
    TRY("rename inside -> ..", rename(P("inside.txt"), Q("../outside/moved.txt")));
    TRY("rename ../secret -> inside", rename(P("../outside/secret.txt"), Q("stolen.txt")));
    TRY("link ../secret", link(P("../outside/secret.txt"), Q("stolen.txt")));
    TRY("link via out-abs", link(P("out-abs/secret.txt"), Q("stolen.txt")));
    TRY("symlink absolute", symlink("/etc/passwd", P("abs-link")));
    TRY("symlink relative out (creating is allowed)", symlink("../outside/secret.txt", P("rel-link")));
    TRY("read rel-link", readfile(P("rel-link")));
    TRY("unlink ../secret", unlink(P("../outside/secret.txt")));
    TRY("unlink out-rel/secret", unlink(P("out-rel/secret.txt")));
    TRY("rmdir ..", rmdir(P("..")));
    TRY("opendir ..", (long)(opendir(P("..")) ? 0 : -1));
    TRY("opendir out-abs", (long)(opendir(P("out-abs")) ? 0 : -1));
    TRY("chdir-free stat ../..", stat(P("../.."), &st));
    TRY("utimes ../secret", utimes(P("../outside/secret.txt"), NULL));
    TRY("stat out-rel/.", stat(P("out-rel/."), &st));
    return 0;
}
