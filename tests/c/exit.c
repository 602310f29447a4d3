/* Ways to end: `exit N`, `return N`, `abort`, `trap` (unreachable), `_Exit N`, `oob` (an
 * out-of-bounds store), and output that must be flushed by exit(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "return";
    int n = argc > 2 ? atoi(argv[2]) : 0;
    printf("ending with %s %d\n", how, n);  /* buffered: exit() must flush it */
    if (strcmp(how, "exit") == 0) exit(n);
    if (strcmp(how, "_Exit") == 0) { fflush(stdout); _Exit(n); }
    if (strcmp(how, "abort") == 0) { fflush(stdout); abort(); }
    if (strcmp(how, "trap") == 0) { fflush(stdout); __builtin_trap(); }
    if (strcmp(how, "oob") == 0) {
        fflush(stdout);
        volatile int *p = (int *)(uintptr_t)0xFFFFFFF0u;
        *p = 1;
    }
    return n;
}
