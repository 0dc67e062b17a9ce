/*
 * fixture.h: what the unit tests that touch files share: a way out, removal
 * of a temporary tree, the wire size of a message computed the slow,
 * obvious way (to check common/wire.c against), and an io reading a pipe
 * as popd reads fd 0, a count of a directory's entries, a message's UIDL
 * as a string.  Header only.
 */
#ifndef POPD_FIXTURE_H
#define POPD_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "maildir.h"

/* A test that cannot set itself up stops: exit 2, no TAP plan. */
static inline void
die(const char *what)
{
	perror(what);
	exit(2);
}

static inline int
fixture_rm(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* m's UIDL, NUL-terminated, in buf. */
static inline const char *
fixture_uidl(const struct mdmsg *m, char buf[POP3_UIDL_MAX + 1])
{
	const char	*p;
	size_t		 n = maildir_msg_uidl(m, &p);

	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* Removes path and everything below it, following no link. */
static inline void
rm_tree(const char *path)
{
	nftw(path, fixture_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* The wire size by the words of wire.h, one byte at a time. */
static inline uint64_t
ref_wire(const unsigned char *p, size_t len)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			n++;		/* the CR added before a bare LF */
		n++;
	}
	if (len > 0 && p[len - 1] != '\n')
		n += 2;			/* the CRLF owed at the end */
	return n;
}

/*
 * Sets io up to read a fresh pipe (its writes go to /dev/null); returns
 * the pipe's write end, for the test to play the client with.
 */
static inline int
pipe_io(struct io *io, int timeout_ms)
{
	int	p[2], null;

	if (pipe(p) == -1 || (null = open("/dev/null", O_WRONLY)) == -1)
		die("pipe");
	io_init(io, p[0], null, timeout_ms);
	return p[1];
}

static inline void
pipe_io_close(struct io *io)
{
	close(io->rfd);
	close(io->wfd);
}

/* Writes n bytes to fd, whole, or stops the test. */
static inline void
put_fd(int fd, const void *buf, size_t n)
{
	if (write(fd, buf, n) != (ssize_t)n)
		die("write");
}

/* Writes text to the file dir/path (mode 0600), made or emptied first,
 * or stops the test. */
static inline void
put_file(const char *dir, const char *path, const char *text)
{
	char	p[512];
	int	fd;

	snprintf(p, sizeof(p), "%s/%s", dir, path);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		die(p);
	put_fd(fd, text, strlen(text));
	if (close(fd) == -1)
		die(p);
}

/* Entries of dir/sub, "." and ".." aside; -1 when it cannot be read. */
static inline int
count_entries(const char *dir, const char *sub)
{
	char		 p[4096];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

#define PUT(fd, lit)	put_fd(fd, lit, sizeof(lit) - 1)

#endif
