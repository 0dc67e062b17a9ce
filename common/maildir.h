/*
 * maildir.h: reading a Maildir the way popd needs it.
 *
 * A message's unique part is its file name up to ':' (the info part).
 * Its base is the unique part without the size suffix that popd adds
 * (",popd,S=<s>,W=<w>" at its end, see maildir_settle), so the base of a
 * file is the same before and after popd names its sizes.  The POP3 UIDL
 * is the base, unless it is longer than POP3_UIDL_MAX or holds a byte
 * outside 0x21..0x7E: then it is the SHA-256 of the base, in hex (64
 * octets), so that any name maps to a stable, valid UIDL.
 *
 * Sizes come from the name when it has both ",S=" (bytes on disk) and
 * ",W=" (POP3 size) and they agree (S <= W <= 2S + 2: only LF -> CRLF and
 * a final CRLF make the wire size grow); popd's own suffix, when there is
 * one, wins over fields earlier in the name.  A name with ",W=" but no
 * ",S=" is not trusted: without ",S=" the file could not be checked before
 * it is sent, so it is counted like a name with neither.
 */
#ifndef POPD_MAILDIR_H
#define POPD_MAILDIR_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "params.h"

struct mdmsg {
	char		*path;		/* "new/NAME" or "cur/NAME", owned */
	char		*digest;	/* the UIDL when it is a digest, owned;
					 * NULL: the UIDL is the name's base */
	time_t		 time;		/* the name's delivery time, else mtime */
	uint64_t	 size;		/* POP3 (wire) size */
	uint64_t	 octets;	/* bytes on disk, as st_size must say */
	unsigned char	 blen;		/* length of the name's base */
	unsigned	 in_new:1;	/* lives in new/ */
	unsigned	 sized:1;	/* sizes came from the name, unread */
	unsigned	 mtime:1;	/* time is the file's mtime, not the name's */
	unsigned	 whole:1;	/* digest is of the whole unique part */
	unsigned	 lent:1;	/* path lies in the array's own block
					 * (mdcache.h), not freed alone */
	/* A POP3 session's marks, here so that popd keeps the scan's array
	 * as it is (no second copy at login); maildir_scan clears them. */
	unsigned	 deleted:1;
	unsigned	 retrieved:1;
};

/*
 * Creates the Maildir at path (and tmp/ new/ cur/ in it, mode 0700) when
 * missing.  0, or -1 with errno.
 */
int	maildir_create(const char *path);

/*
 * Lists the oldest max (> 0) messages of new/ and cur/ of the Maildir
 * opened as dirfd, oldest first: by the delivery time that starts a
 * name (its leading seconds, as "1700000000.M1P2.host"; mtime for a name
 * that does not start so), then by the base, then by the whole name.
 * Skips dot files and what is not a regular file.  A name that starts
 * with a time costs no system call when the file system gives the entry's
 * type; memory is bounded by max, whatever the Maildir holds.  Sizes come
 * from the name (see above), else the file is opened and counted (sized
 * is 0: maildir_settle can name them).  A file that vanishes while we
 * scan is skipped.  When two listed files of one base sort together, the
 * second gets maildir_msg_digest(m, 1), so that UIDLs stay unique.  On success
 * *out is an array of *n entries owned by the caller (maildir_free), and
 * *total (when not NULL) is how many messages there were; returns 0, or
 * -1 with errno.
 */
int	maildir_scan(int dirfd, size_t max, struct mdmsg **out, size_t *n,
	    size_t *total);
void	maildir_free(struct mdmsg *, size_t n);

/*
 * The listing's order (mdorder.c): oldest first by time; equal times by
 * the base, which never changes (the whole name would let RETR's
 * new/NAME -> cur/NAME:2,S or popd's size suffix reorder the next
 * session's list: "a:2,S" sorts after "a0"), then by the whole name.
 * maildir_order is <0, 0 or >0 as x comes before, with or after y;
 * maildir_sort puts v[0..n) in that order, in place, with 8n bytes of
 * scratch memory and comparisons only between entries of equal time.
 */
int	maildir_order(const struct mdmsg *x, const struct mdmsg *y);
void	maildir_sort(struct mdmsg *v, size_t n);

/*
 * Renames m's file in its directory so that its name carries m's sizes:
 * BASE,popd,S=<octets>,W=<size>[:INFO], without replacing a file that
 * exists.  The base and so the UIDL do not change.  The caller holds the
 * maildrop's lock.  0 (m->path is the new name), or -1 with errno
 * (EEXIST: a file has that name already; ENAMETOOLONG; rename's own).
 */
int	maildir_settle(int dirfd, struct mdmsg *m);

/*
 * Counts m's file again from fd (opened by maildir_open_file, read from
 * its start) into m->size and m->octets.  0, or -1 with errno.
 */
int	maildir_recount(int fd, struct mdmsg *m);

/*
 * Finds messages that another program moved since the scan (new/ to cur/,
 * or new flags in the info part): for each of the n messages of v, looks
 * in new/ and cur/ for a file with the same unique part and, when there is
 * one, makes v[i]->path its "sub/NAME" (and in_new says which).  One pass
 * over the directories, whatever n.  Returns how many were found, or -1
 * with errno.
 */
long	maildir_relocate(int dirfd, struct mdmsg **v, size_t n);

/*
 * m's UIDL: returns its length (1 to POP3_UIDL_MAX) and points *p at its
 * bytes, which are not NUL-terminated (the name's base, or the digest).
 * A message costs its name and 48 bytes, not a copy of its UIDL.
 */
size_t	maildir_msg_uidl(const struct mdmsg *m, const char **p);

/* 1 when a and b answer to the same UIDL, else 0. */
int	maildir_same_uidl(const struct mdmsg *a, const struct mdmsg *b);

/* Fills uidl from a file name (a base name, no directory). */
void	maildir_uidl(const char *name, char uidl[POP3_UIDL_MAX + 1]);

/* Makes path (allocated, now m's) m's path, freeing the old one. */
void	maildir_msg_path(struct mdmsg *m, char *path);

/*
 * Gives m a digest UIDL, the SHA-256 of its name in hex: of its whole
 * unique part (whole: a second file with the same base as another, a
 * copy of a file that popd renamed), or of its base (a name whose base
 * cannot be a UIDL).
 */
void	maildir_msg_digest(struct mdmsg *m, int whole);

/* blen when the first blen bytes of name can be a UIDL as they are
 * (1..POP3_UIDL_MAX octets in 0x21..0x7E), else 0. */
size_t	maildir_plain_uidl(const char *name, size_t blen);

/* Length of the base of name (a file name, no directory). */
size_t	maildir_base_len(const char *name);

/*
 * Parses ",W=<n>" from the unique part of name: popd's suffix when there
 * is one, else the first ",W=".  Returns 0 and sets *w, or -1 when there
 * is none or it is malformed.  ",S=" likewise.
 */
int	maildir_name_w(const char *name, uint64_t *w);
int	maildir_name_s(const char *name, uint64_t *s);

/*
 * Both sizes from name, when it has both and they agree (see above):
 * 0, else -1.
 */
int	maildir_name_sizes(const char *name, uint64_t *s, uint64_t *w);

/*
 * The delivery time that starts name: 1 to 18 digits then '.'.  0 and
 * *t, or -1 when name does not start so.
 */
int	maildir_name_time(const char *name, time_t *t);

/* Counts the wire size of the open file fd from where it is.  0 or -1. */
int	maildir_count(int fd, uint64_t *size);

/*
 * Opens path (relative to dirfd) for reading when it is a regular file,
 * without following a symbolic link and without blocking: a FIFO or a
 * device put in the Maildir must not hang the session that holds its lock.
 * Returns a blocking fd and, when octets is not NULL, its size in bytes;
 * or -1 with errno: ENOENT when it is gone, EINVAL when it is no regular
 * file (a symbolic link, FIFO, socket, device or directory), or open's own.
 */
int	maildir_open_file(int dirfd, const char *path, uint64_t *octets);

#endif
