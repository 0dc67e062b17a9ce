/*
 * drop.h: a maildrop opened for fetching: the Maildir (made when
 * missing), .imapfetch/ and its lock held, and the deliveries an
 * interrupted run left pending finished.
 */
#ifndef IMAPFETCH_DROP_H
#define IMAPFETCH_DROP_H

#include "deliver.h"

struct account;

struct drop {
	struct deliver	 dl;
	int		 statefd;	/* .imapfetch/ */
	int		 lockfd;
};

/*
 * Opens the account's maildrop.  Returns 0, EX_TEMPFAIL when another
 * imapfetch holds the lock ("already running"), or EX_CANTCREAT; logs why.
 */
int	drop_open(const struct account *, struct drop *);

/* Releases the lock and closes everything; safe after a failed open. */
void	drop_close(struct drop *);

#endif
