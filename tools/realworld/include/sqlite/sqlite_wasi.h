/* Force-included (-include) when building SQLite 3.40 for wasm32-wasi: wasi-libc has no
 * ownership/permission calls and no advisory locks. A WASI program is a single process, so the
 * locks sqlite takes through fcntl() always succeed (sqlite_wasi.c), and the rest are no-ops. */
#ifndef SQLITE_WASI_H
#define SQLITE_WASI_H
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

int sqlite_wasi_fchmod(int fd, mode_t mode);
int sqlite_wasi_fchown(int fd, uid_t uid, gid_t gid);
uid_t sqlite_wasi_geteuid(void);
int sqlite_wasi_fcntl(int fd, int cmd, ...);
#define fchmod sqlite_wasi_fchmod
#define fchown sqlite_wasi_fchown
#define geteuid sqlite_wasi_geteuid
#define fcntl sqlite_wasi_fcntl

#ifndef F_RDLCK /* wasi-libc has struct flock but not the lock commands */
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#endif
#endif
