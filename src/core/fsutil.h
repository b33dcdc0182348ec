/*
 * fsutil - small file-system helpers with the durability rules the queue depends on.
 */
#ifndef MX_CORE_FSUTIL_H
#define MX_CORE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with mode; 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);
/* fsync the directory itself (after a create/rename/unlink inside it); 0 or -errno. */
int fs_fsync_dir(const char *dir);
/* fsync the directory that holds path; 0 or -errno. */
int fs_fsync_parent(const char *path);
/*
 * Write len bytes to path atomically and durably: tmp file, fsync, rename, fsync dir.
 * mode as for open(2). 0 or -errno.
 */
int fs_write_atomic(const char *path, const void *p, size_t len, mode_t mode);
/* Read a whole file (at most max bytes) into a malloc'd NUL-terminated buffer; NULL on error. */
char *fs_read_file(const char *path, size_t max, size_t *len);
/* write(2) all of it, retrying on EINTR and short writes; 0 or -errno. */
int fs_write_all(int fd, const void *p, size_t len);

#endif
