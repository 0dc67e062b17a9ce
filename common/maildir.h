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
 * then the unique part of the name), skipping dot files and what is not a regular file.  Sizes
 * come from ",W=" when the name has one, else the file is read and counted.
 * A file that vanishes while we scan is skipped.  On success *out is an
 * array of *n entries owned by the caller (maildir_free); returns 0, or -1
 * with errno.
 */
int	maildir_scan(int dirfd, struct mdmsg **out, size_t *n);
void	maildir_free(struct mdmsg *, size_t n);

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

#endif
