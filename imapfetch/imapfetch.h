/*
 * imapfetch.h: what the parts of imapfetch share.
 *
 * Exit codes (sysexits(3)), documented in imapfetch(1):
 *	0		success, including no new mail
 *	EX_USAGE	bad command line; run as root
 *	EX_CONFIG	configuration error (file, keys, password source)
 *	EX_NOPERM	the server rejected the credentials
 *	EX_UNAVAILABLE	network or server failure: try again later
 *	EX_TEMPFAIL	another imapfetch holds the account's lock
 *	EX_PROTOCOL	TLS failure (untrusted certificate, bad host name) or
 *			a server that does not speak IMAP as required
 *	EX_CANTCREAT	local delivery failure (ENOSPC, permissions)
 *	EX_SOFTWARE	internal error
 * With several accounts the worst code wins (ex_worst).
 */
#ifndef IMAPFETCH_H
#define IMAPFETCH_H

#include <stdint.h>

#include "conf.h"

struct conn;
struct metrics;

/* One run of imapfetch: passed to everything, no globals. */
struct run {
	const struct conf	*conf;
	const char		*conffile;
	int			 verbose;	/* -v: protocol trace too */
	int			 quiet;		/* -q: errors only */
	int			 dryrun;	/* -n: EXAMINE, say what a
						 * run would fetch, change
						 * nothing anywhere */
	int			 jobs;		/* -j: accounts at once */
	struct metrics		*metrics;	/* NULL: no metrics-file */
};

/* Per-mailbox result, for the summary line. */
struct tally {
	unsigned long	 nnew;		/* delivered this run */
	uint64_t	 bytes;
	unsigned long	 skipped;	/* larger than max-message-size */
	unsigned long	 dups;		/* known after a UIDVALIDITY change */
};

/* The worse of two exit codes (see the list above). */
int	ex_worst(int a, int b);

/* The account's IMAP port: imap-port, else 993 or 143 as imap-tls says. */
unsigned account_port(const struct account *);

/*
 * The two steps of a session: connect (conn_open: TCP, TLS, greeting,
 * STARTTLS), then log in (auth_login).  Every connection, the first and a
 * --watch reconnection, goes through here.  Returns 0 with *c open and
 * authenticated, or an exit code with *c released.
 */
int	account_connect(const struct run *, const struct account *,
	    struct conn *c);

/*
 * Fetches every mailbox of one account, adding what it delivered to *t;
 * runs on-new when there was new mail.  Returns 0 or an exit code.
 */
int	account_run(const struct run *, const struct account *, struct tally *);

/* One account's outcome (jobs.h). */
struct outcome {
	const struct account	*acct;
	struct tally		 t;
	int			 code;		/* exit code */
};

/*
 * Runs the account's on-new command with sh -c, IMAPFETCH_ACCOUNT,
 * IMAPFETCH_MAILDROP and IMAPFETCH_NEW in its environment, and kills it
 * after imap-timeout.  A failure is logged; it changes nothing else.
 * hooks.c.
 */
void	hook_on_new(const struct account *, const struct tally *);

#endif
