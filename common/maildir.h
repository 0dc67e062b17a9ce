/*
 * maildir.h: reading a Maildir the way popd needs it.
 *
 * A message's unique part is its file name up to ':' (the info part).  That
 * is its POP3 UIDL, unless it is longer than POP3_UIDL_MAX or holds a byte
 * outside 0x21..0x7E: then the UIDL is the SHA-256 of the unique part, in
 * hex (64 octets), so that any name maps to a stable, valid UIDL.
 */
#ifndef POPD_MAILDIR_H
#define POPD_MAILDIR_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "limits.h"

struct mdmsg {
	char		*path;		/* "new/NAME" or "cur/NAME", owned */
	time_t		 mtime;
	uint64_t	 size;		/* POP3 (wire) size */
	char		 uidl[POP3_UIDL_MAX + 1];
	unsigned	 in_new:1;	/* lives in new/ */
	unsigned	 sized:1;	/* size came from ",W=" */
};

/*
 * Creates the Maildir at path (and tmp/ new/ cur/ in it, mode 0700) when
 * missing.  0, or -1 with errno.
 */
int	maildir_create(const char *path);

/*
 * Lists new/ and cur/ of the Maildir opened as dirfd, oldest first (mtime,
 * then the unique part of the name), skipping dot files and what is not a
 * regular file (also when it becomes one while we look).  Sizes
 * come from ",W=" when the name has one, else the file is read and counted.
 * A file that vanishes while we scan is skipped.  On success *out is an
 * array of *n entries owned by the caller (maildir_free); returns 0, or -1
 * with errno.
 */
int	maildir_scan(int dirfd, struct mdmsg **out, size_t *n);
void	maildir_free(struct mdmsg *, size_t n);

/*
 * Finds messages that another program moved since the scan (new/ to cur/,
 * or new flags in the info part): for each of the n messages of v, looks
 * in new/ and cur/ for a file with the same unique part and, when there is
 * one, makes v[i]->path its "sub/NAME" (and in_new says which).  One pass
 * over the directories, whatever n.  Returns how many were found, or -1
 * with errno.
 */
long	maildir_relocate(int dirfd, struct mdmsg **v, size_t n);

/* Fills uidl from a file name (a base name, no directory). */
void	maildir_uidl(const char *name, char uidl[POP3_UIDL_MAX + 1]);

/*
 * Parses ",W=<n>" from the unique part of name.  Returns 0 and sets *w, or
 * -1 when there is none or it is malformed.  ",S=" likewise.
 */
int	maildir_name_w(const char *name, uint64_t *w);
int	maildir_name_s(const char *name, uint64_t *s);

/* Counts the wire size of the open file fd from its start.  0 or -1. */
int	maildir_count(int fd, uint64_t *size);

/*
 * Opens path (relative to dirfd) for reading when it is a regular file,
 * without following a symbolic link and without blocking: a FIFO or a
 * device put in the Maildir must not hang the session that holds its lock.
 * Returns a blocking fd, or -1 with errno: ENOENT when it is gone, EINVAL
 * when it is no regular file (a symbolic link, FIFO, socket, device or
 * directory), or open's own.
 */
int	maildir_open_file(int dirfd, const char *path);

#endif
