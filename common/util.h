/* util.h: allocation that cannot silently fail, and small shared helpers. */
#ifndef POPD_UTIL_H
#define POPD_UTIL_H

#include <stddef.h>

/* These exit (EX_OSERR via fatal) when memory is exhausted or n*size overflows. */
void	*xmalloc(size_t);
void	*xcalloc(size_t n, size_t size);
void	*xreallocarray(void *, size_t n, size_t size);
char	*xstrdup(const char *);

/*
 * Refuses to go on as root: prints/logs why and exits EX_USAGE.  Both
 * programs call it first; they run as the maildrop owner.
 */
void	refuse_root(const char *prog);

/* Writes all of buf to fd, retrying on EINTR and short writes.  0 or -1. */
int	write_all(int fd, const void *buf, size_t len);

/* fsync(2) of the directory at path.  0 or -1. */
int	fsync_dir(const char *path);

/* fdatasync(2) of dirfd/name, opened for it (not following a symlink);
 * 0, or -1 with the errno of the open or of fdatasync. */
int	fdatasync_at(int dirfd, const char *name);

/* 1 when the file at fd can be read or written by group or others. */
int	mode_too_open(int fd);

#endif
