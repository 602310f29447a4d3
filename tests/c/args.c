/* argv, environ and the exit status: prints every argument, then the environment (sorted),
 * then exits with the status named by $EXIT_STATUS (default 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    int n = 0;
    while (environ[n]) n++;
    char **env = malloc(sizeof(char *) * (n + 1));
    memcpy(env, environ, sizeof(char *) * n);
    qsort(env, n, sizeof(char *), cmp);
    for (int i = 0; i < n; i++) printf("env %s\n", env[i]);
    const char *home = getenv("HOME");
    printf("HOME=%s\n", home ? home : "(unset)");
    const char *status = getenv("EXIT_STATUS");
    return status ? atoi(status) : 0;
}
