/* The functions sqlite_wasi.h renames (see there). */
#include <stdarg.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

/* This file is compiled with the same flags, sqlite_wasi.h force-included: undo its renames. */
#undef fchmod
#undef fchown
#undef geteuid
#undef fcntl

#ifndef F_RDLCK
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#endif

int sqlite_wasi_fchmod(int fd, mode_t mode) { (void)fd; (void)mode; return 0; }
int sqlite_wasi_fchown(int fd, uid_t uid, gid_t gid) { (void)fd; (void)uid; (void)gid; return 0; }
uid_t sqlite_wasi_geteuid(void) { return 0; }

int sqlite_wasi_fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (cmd == F_GETLK) { ((struct flock *)arg)->l_type = F_UNLCK; return 0; }
    if (cmd == F_SETLK || cmd == F_SETLKW) return 0;
    return fcntl(fd, cmd, (int)(long)arg);
}

/* The shell's .system/.shell/.once -e and writefile's chmod: no processes, no permissions. */
#include <errno.h>
#include <sys/stat.h>
int chmod(const char *path, mode_t mode) { (void)path; (void)mode; return 0; }
int system(const char *cmd) { if (!cmd) return 0; errno = ENOSYS; return -1; }
