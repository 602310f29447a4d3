/* A reactor (-mexec-model=reactor): no main; the host calls _initialize, then exports. */
#include <stdio.h>
#include <stdlib.h>

static int base;

__attribute__((constructor)) static void init(void) {
    const char *b = getenv("BASE");
    base = b ? atoi(b) : 100;
}

__attribute__((export_name("add"))) int add(int a, int b) {
    printf("add(%d, %d) with base %d\n", a, b, base);
    fflush(stdout);
    return base + a + b;
}

__attribute__((export_name("quit"))) void quit(int code) { exit(code); }
