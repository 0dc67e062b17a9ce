/*
 * state.h: what imapfetch remembers per IMAP account and mailbox, in
 * <maildrop>/.imapfetch/<host>+<port>+<user>+<mailbox>.state, and the
 * per-maildrop lock.
 *
 * A state belongs to one identity: (server, port, user, mailbox).  Several
 * sections may feed one maildrop, and a section's imap-host or imap-user
 * may change: UIDs recorded for one account never make another skip or
 * flag a message, so the identity is in the file name and, checked when
 * loading, in the file.
 *
 * The file is text:
 *	imapfetch-state 2
 *	account <host> <port> <user> <mailbox>	(each %XX-encoded)
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
 * is refused rather than read as a state that forgot UIDs.  Version 1
 * files (no account line, named <mailbox>.state) are read; see
 * state_adopt_legacy.
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
void	uidset_free(struct uidset *);

struct pending {
	uint32_t	 uid;
	char		*name;		/* owned */
};

/* Whose state.  host is compared without case, the rest exactly. */
struct stateid {
	const char	*host;
	unsigned	 port;
	const char	*user;
	const char	*mailbox;
};

struct state {
	char		*account;	/* the encoded identity; NULL: v1 */
	uint32_t	 uidvalidity;	/* 0: never synchronised */
	int		 dedup;		/* after a UIDVALIDITY change */
	struct uidset	 delivered;
	struct pending	*pend;
	size_t		 npend, pcap;
};

/*
 * Reads the state of id from the directory dirfd (.imapfetch).  A missing
 * file is an empty state of id.  Returns 0, or -1 with errno (EINVAL: the
 * file is damaged or names another identity; it is then left alone for a
 * human to look at).
 */
int	state_load(int dirfd, const struct stateid *, struct state *);

/*
 * Replaces id's file durably (see above); st->account, when set, must be
 * id's (state_load sets it).  0 or -1 with errno.
 */
int	state_save(int dirfd, const struct stateid *, struct state *);

/*
 * state_save in two steps, for a caller that makes the new copy durable
 * by other means in between (one syncfs with the messages): state_stage
 * writes the new copy without syncing it; state_publish renames it over
 * the old file and fsyncs the directory.  Between the two the copy must
 * have become durable, or sync be set (then it is fdatasync'd first).
 * 0 or -1 with errno; a copy that fails to publish is removed.
 */
int	state_stage(int dirfd, const struct stateid *, struct state *);
int	state_publish(int dirfd, const struct stateid *, int sync);

/* The same, given the file name in dirfd: whatever identity it holds. */
int	state_load_file(int dirfd, const char *file, struct state *);
int	state_save_file(int dirfd, const char *file, const struct state *);

/*
 * A version 1 file (<mailbox>.state, written before states had an
 * identity) becomes id's state: loaded into *st, saved under id's name,
 * then removed.  The caller knows that id is the only account feeding the
 * maildrop; else the old UIDs could be anybody's and must not be used.
 * *st must be a state (loaded, or zeroed): it is freed when replaced.
 * Returns 1 when it did, 0 when there is no such file (or id already has
 * one), -1 with errno.
 */
int	state_adopt_legacy(int dirfd, const struct stateid *, struct state *);

void	state_add_pending(struct state *, uint32_t uid, const char *name);
/* Moves every pending UID into delivered. */
void	state_settle(struct state *);
void	state_free(struct state *);

/*
 * The state file name for a mailbox (version 1) or an identity: names are
 * encoded so that any IMAP mailbox, host or user name ("a/b", "..", 8-bit,
 * any length) is one safe file name, at most STATE_NAME_MAX + 6 bytes,
 * ending in ".state"; distinct names get distinct files.  The parts of an
 * identity are joined by '+', which an encoding never holds.  len should
 * be at least STATE_NAME_MAX + 7.
 */
#define STATE_NAME_MAX	200	/* longest encoding kept whole */
#define STATE_NAME_KEEP	100	/* ...and the part kept of a longer one */
void	state_filename(const char *mailbox, char *out, size_t len);
void	state_idname(const struct stateid *, char *out, size_t len);

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
