#include "tiny.h"

struct iovec { const void *buf; size_t len; };

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int __wasi_fd_write(int fd, const struct iovec *iov, int n, size_t *written);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_exit")))
_Noreturn void __wasi_proc_exit(int status);

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

void print_str(const char *s) {
    struct iovec iov = {s, strlen(s)};
    size_t written;
    __wasi_fd_write(1, &iov, 1, &written);
}

void print_int(int64_t v) {
    char buf[24];
    int i = 23;
    int neg = v < 0;
    unsigned long long u = neg ? -(unsigned long long)v : (unsigned long long)v;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg) buf[--i] = '-';
    print_str(buf + i);
}

void print_line(const char *label, int64_t v) {
    print_str(label);
    print_str(" ");
    print_int(v);
    print_str("\n");
}

/* a double with three decimals (enough for the tests' exact values) */
void print_f64(const char *label, double v) {
    int64_t milli = (int64_t)(v * 1000.0 + (v < 0 ? -0.5 : 0.5));
    print_str(label);
    print_str(" ");
    if (milli < 0) {
        print_str("-");
        milli = -milli;
    }
    print_int(milli / 1000);
    print_str(".");
    char frac[4] = {(char)('0' + milli / 100 % 10), (char)('0' + milli / 10 % 10),
                    (char)('0' + milli % 10), 0};
    print_str(frac);
    print_str("\n");
}

/* A bump allocator over [__heap_base, end of memory), then over pages from memory.grow. The
 * dynamic linker also takes pages with memory.grow for libraries loaded later, so new memory
 * is wherever memory.grow says, never assumed to follow the heap. */
extern unsigned char __heap_base;
static uintptr_t heap_next, heap_end;

void *malloc(size_t n) {
    if (!heap_end) {
        heap_next = (uintptr_t)&__heap_base;
        heap_end = __builtin_wasm_memory_size(0) * 65536;
    }
    n = (n + 15) & ~(size_t)15;
    heap_next = (heap_next + 15) & ~(uintptr_t)15;
    if (heap_next + n > heap_end) {
        size_t pages = (n + 65535) / 65536;
        long old = __builtin_wasm_memory_grow(0, pages);
        if (old < 0) return 0;
        heap_next = (uintptr_t)old * 65536;
        heap_end = heap_next + pages * 65536;
    }
    void *p = (void *)heap_next;
    heap_next += n;
    return p;
}

_Noreturn void exit(int status) { __wasi_proc_exit(status); }
