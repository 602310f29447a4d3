/* wasi-libc has no processes and no temporary-file directory: these fail like POSIX says. */
#include <errno.h>
#include <stdio.h>
int system(const char *cmd) { if (!cmd) return 0; errno = ENOSYS; return -1; }
FILE *tmpfile(void) { errno = ENOSYS; return NULL; }
char *tmpnam(char *s) { (void)s; return NULL; }
