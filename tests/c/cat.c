/* stdin to stdout, or named files to stdout: large reads and writes through stdio and raw
 * read/write. `cat -r` uses read(2)/write(2) with a 1 MiB buffer; `cat -c N` prints only a
 * byte count and a checksum of stdin (for very large inputs). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int copy_raw(int fd) {
    static char buf[1 << 20];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) { perror("read"); return 1; }
        if (n == 0) return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, n - off);
            if (w < 0) { perror("write"); return 1; }
            off += w;
        }
    }
}

static int copy_stdio(FILE *in) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, stdout) != n) { perror("fwrite"); return 1; }
    return ferror(in) ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "-c") == 0) {
        static unsigned char buf[1 << 16];
        uint64_t total = 0;
        uint32_t h = 2166136261u;
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
            total += n;
            for (size_t i = 0; i < n; i++) h = (h ^ buf[i]) * 16777619u;
        }
        printf("%llu %08x\n", (unsigned long long)total, h);
        return 0;
    }
    int raw = argc > 1 && strcmp(argv[1], "-r") == 0;
    int first = raw ? 2 : 1;
    if (first >= argc) return raw ? copy_raw(0) : copy_stdio(stdin);
    for (int i = first; i < argc; i++) {
        if (raw) {
            int fd = open(argv[i], O_RDONLY);
            if (fd < 0) { perror(argv[i]); return 1; }
            if (copy_raw(fd)) return 1;
            close(fd);
        } else {
            FILE *f = fopen(argv[i], "rb");
            if (!f) { perror(argv[i]); return 1; }
            if (copy_stdio(f)) return 1;
            fclose(f);
        }
    }
    return fflush(stdout) ? 1 : 0;
}
