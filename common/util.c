/* util.c: allocation that cannot silently fail, and small shared helpers. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n ? n : 1)) == NULL)
		fatal(EX_OSERR, "malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		fatal(EX_OSERR, "calloc");
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t size)
{
	void	*p;

	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		fatal(EX_OSERR, "reallocarray");
	}
	if ((p = realloc(old, n * size != 0 ? n * size : 1)) == NULL)
		fatal(EX_OSERR, "realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal(EX_OSERR, "strdup");
	return p;
}

void
refuse_root(const char *prog)
{
	if (getuid() != 0 && geteuid() != 0)
		return;
	fatalx(EX_USAGE, "%s must not run as root: run it as the maildrop "
	    "owner", prog);
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Opens dirfd/name read-only with flags and calls sync on it. */
static int
sync_file(int dirfd, const char *name, int flags, int (*sync)(int))
{
	int	fd, rc, saved;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | flags)) == -1)
		return -1;
	rc = sync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
fsync_dir(const char *path)
{
	return sync_file(AT_FDCWD, path, O_DIRECTORY, fsync);
}

int
fdatasync_at(int dirfd, const char *name)
{
	return sync_file(dirfd, name, O_NOFOLLOW, fdatasync);
}

int
mode_too_open(int fd)
{
	struct stat	st;

	if (fstat(fd, &st) == -1)
		return 1;
	return (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
}
