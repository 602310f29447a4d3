/* wasi-libc has no users: the sqlite3 shell's home-directory lookup finds nothing. */
#ifndef SQLITE_WASI_PWD_H
#define SQLITE_WASI_PWD_H
#include <sys/types.h>
struct passwd {
    char *pw_name;
    char *pw_dir;
};
static inline uid_t getuid(void) { return 0; }
static inline struct passwd *getpwuid(uid_t uid) { (void)uid; return 0; }
#endif
