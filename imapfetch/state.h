/*
 * state.h: what imapfetch remembers per mailbox, in
 * <maildrop>/.imapfetch/<mailbox>.state, and the per-maildrop lock.
 *
 * The file is text:
 *	imapfetch-state 1
 *	uidvalidity <n>
 *	delivered <lo>[:<hi>][,<lo>[:<hi>]...]
 *	pending <uid> <new/ name>
 *	dedup 1
 *	end
 * "delivered" lists the UIDs (of this UIDVALIDITY) whose message is in
 * the maildrop or was (a POP3 client may have deleted it since): they are
 * never fetched again, only flagged.  "pending" lists UIDs whose message
 * was durable in tmp/ when the line was written but may not have reached
 * new/: the next run finishes them (deliver_recover) before anything else.
 * "dedup" says the UIDVALIDITY changed and the mailbox has not been fully
 * synchronised since: until it is, what the maildrop already holds (by
 * Message-ID or digest) is not delivered again.  "end" comes last: a file
 * cut short (a damaged disk; the rename below never shows a partial file)
 * is refused rather than read as a state that forgot UIDs.
 *
 * The file is replaced, never edited: written to a new file, fdatasync'd,
 * renamed over the old one, and the directory fsync'd (isync's order).
 * Nothing here follows a symbolic link: .imapfetch, the lock or a state
 * file that is one is an error (ELOOP); a leftover new copy is replaced.
 */
#ifndef IMAPFETCH_STATE_H
#define IMAPFETCH_STATE_H

#include <stddef.h>
#include <stdint.h>

struct uidrange {
	uint32_t	 lo, hi;
};

/* A set of UIDs as sorted, disjoint, non-adjacent ranges. */
struct uidset {
	struct uidrange	*r;
	size_t		 n, cap;
};

void	uidset_add(struct uidset *, uint32_t uid);
void	uidset_add_range(struct uidset *, uint32_t lo, uint32_t hi);
int	uidset_has(const struct uidset *, uint32_t uid);
uint32_t uidset_max(const struct uidset *);	/* 0 when empty */
void	uidset_free(struct uidset *);

struct pending {
	uint32_t	 uid;
	char		*name;		/* owned */
};

struct state {
	uint32_t	 uidvalidity;	/* 0: never synchronised */
	int		 dedup;		/* after a UIDVALIDITY change */
	struct uidset	 delivered;
	struct pending	*pend;
	size_t		 npend, pcap;
};

/*
 * Reads the state of mailbox from the directory dirfd (.imapfetch).  A
 * missing file is an empty state.  Returns 0, or -1 with errno (EINVAL: the
 * file is damaged; it is then left alone for a human to look at).
 */
int	state_load(int dirfd, const char *mailbox, struct state *);

/* Replaces the file durably (see above).  0 or -1 with errno. */
int	state_save(int dirfd, const char *mailbox, const struct state *);

/* The same, given the file name in dirfd rather than the mailbox. */
int	state_load_file(int dirfd, const char *file, struct state *);
int	state_save_file(int dirfd, const char *file, const struct state *);

void	state_add_pending(struct state *, uint32_t uid, const char *name);
/* Moves every pending UID into delivered. */
void	state_settle(struct state *);
void	state_free(struct state *);

/*
 * The state file name for a mailbox: names are encoded so that any IMAP
 * mailbox name ("a/b", "..", 8-bit, any length) is one safe file name, at
 * most STATE_NAME_KEEP + 39 bytes, ending in ".state"; distinct mailboxes
 * get distinct names.  len should be at least STATE_NAME_MAX + 7.
 */
#define STATE_NAME_MAX	200	/* longest encoding kept whole */
#define STATE_NAME_KEEP	100	/* ...and the part kept of a longer one */
void	state_filename(const char *mailbox, char *out, size_t len);

/*
 * Opens (creating) <maildrop>/.imapfetch, 0700.  Returns its fd or -1.
 */
int	state_dir(const char *maildrop);

/*
 * Takes the non-blocking lock <dir>/lock.  Returns the lock's fd (keep it
 * open for the run), or -1 with errno EWOULDBLOCK when another process
 * holds it, or another errno.
 */
int	state_lock(int dirfd);

#endif
