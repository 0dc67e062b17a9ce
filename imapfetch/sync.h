/*
 * sync.h: one mailbox, fetched once.  The order of a batch is the whole
 * point of imapfetch (DESIGN.md, STYLE habit 7):
 *
 *   1. UID FETCH BODY.PEEK[] streams each body into tmp/ (close)
 *   2. a new copy of the state file lists the batch as "pending"; one
 *      syncfs makes it, the bodies and tmp/ durable; the copy is renamed
 *      over the state file, .imapfetch/ fsync'd
 *   3. rename into new/, fsync new/ (and tmp/)
 *   4. only then UID STORE +FLAGS.SILENT (\Seen) (or \Deleted + expunge)
 * Steps 2-3 run in the durability worker (commit.h) while the main
 * thread receives the next batch (step 1); step 4 comes between two
 * FETCHes, for every batch the worker has handed back.  The next state
 * file written lists the batch "delivered" (a pending UID whose tmp/ file
 * is gone is delivered, sync_recover).
 *
 * Sizes are those of the bytes received (max-message-size, the batch cap),
 * never only what the server announced.
 *
 * A kill at any point loses nothing (the server still has the message
 * unseen, or it is in new/ and the state says so) and duplicates nothing
 * (UIDs in the state are flagged next time, never fetched again).
 *
 * Functions return 0 or an exit code (imapfetch.h) after logging why.
 */
#ifndef IMAPFETCH_SYNC_H
#define IMAPFETCH_SYNC_H

#include <stdint.h>

#include "imapfetch.h"
#include "commit.h"
#include "deliver.h"
#include "msgkey.h"
#include "state.h"
#include "transport.h"

/* One mailbox being synchronised. */
struct mbox {
	const struct run	*run;
	const struct account	*acct;
	struct conn		*conn;
	struct deliver		*dl;
	struct committer	*cm;		/* while fetching */
	int			 statefd;	/* .imapfetch/ */
	const char		*name;
	struct stateid		 id;		/* whose state st is */
	struct state		 st;
	struct msgindex		 idx;		/* when st.dedup */
	struct tally		 t;
	unsigned long		 total;		/* to fetch this run */
	struct want		*work;		/* to fetch, in batches */
	size_t			 nwork, wcap;
	int			 tty;		/* show progress */
};

/* A message to fetch: its UID and RFC822.SIZE. */
struct want {
	uint32_t	 uid;
	uint32_t	 size;
};

/* Synchronises mailbox name of the account over c; adds to *sum. */
int	sync_mailbox(const struct run *, const struct account *, struct conn *,
	    struct deliver *, int statefd, const char *name, struct tally *sum);

/*
 * Fetches w[0..n) in one UID FETCH (step 1 above) and hands what came to
 * mb->cm (steps 2-3).  Messages that came larger than their RFC822.SIZE
 * said and no longer fit the batch are added to mb->work again (a later
 * batch fetches them; a batch's first message always fits).  fetch.c.
 */
int	fetch_batch(struct mbox *, const struct want *w, size_t n);

/*
 * Takes the batches mb->cm has made durable (with wait: all of them),
 * adds them to mb->st and mb->t, and flags them (step 4) unless one of
 * them failed or the connection is broken.  fetch.c.
 */
int	fetch_flag(struct mbox *, int wait);

/* Adds one message to mb->work.  sync.c. */
void	work_add(struct mbox *, const struct want *);

/*
 * Flags uids on the server as after-fetch says (\Seen, or \Deleted and
 * expunge; nothing for none).  sync.c.
 */
int	sync_flag(struct mbox *, const uint32_t *uids, size_t n);

/*
 * Finishes the deliveries an interrupted run left "pending" in every state
 * file of the maildrop, then removes the tmp files nobody will finish.
 * Runs before connecting.  account.c.
 */
int	sync_recover(const struct account *, struct deliver *, int statefd);

#endif
