/*
 * commit.h: the durability worker.  A thread makes each batch that
 * fetch.c has written into tmp/ durable, in the order of sync.h (steps
 * 2-3), while the main thread already receives the next batch from the
 * network; the main thread flags a batch (step 4) once the worker hands
 * it back durable.
 *
 * Per batch the worker waits for the disk three times, each one a barrier
 * that the next step depends on:
 *	state_stage, syncfs	a new copy of the state file listing the batch
 *			"pending" is written, then one syncfs makes it and
 *			the messages (data, tmp/ entries) durable (deliver.h)
 *	state_publish	the copy renamed over the state file, .imapfetch/
 *			fsync'd (state.h)
 *	rename, fsync(new/)	the messages in new/ (and tmp/ fsync'd)
 * and the main thread flags only what came back from the third.
 *
 * The worker owns its copy of the state (what is on the disk); the
 * caller's struct state is not touched by it, and gets each batch's UIDs
 * as delivered when the batch comes back.  The worker never logs: a
 * failure comes back with the batch (errno and the step).
 */
#ifndef IMAPFETCH_COMMIT_H
#define IMAPFETCH_COMMIT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver.h"
#include "state.h"

/* One batch on its way to the disk. */
struct cbatch {
	struct dbatch	 files;		/* the messages to put in new/ */
	uint32_t	*fuid;		/* UID of each of files.v */
	uint32_t	*dups;		/* UIDs already in the maildrop */
	size_t		 ndups;
	int		 err;		/* errno of the failed step, or 0 */
	const char	*what;		/* which step failed */
	struct cbatch	*next;
};

struct committer {
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct deliver		*dl;
	int			 statefd;
	const struct stateid	*id;
	struct state		 ws;		/* the worker's: as on disk */
	struct cbatch		*todo, **todo_tail;	/* handed over */
	struct cbatch		*done, **done_tail;	/* handed back */
	size_t			 inflight;	/* handed over, not back */
	int			 stop;		/* no more batches */
	int			 failed;	/* a step failed: drop the rest */
	int			 unsettled;	/* the file on disk lists
						 * pending UIDs now delivered */
	int			 running;
};

/*
 * Starts the worker with a copy of st, the state on the disk.  Returns 0
 * or -1 with errno (nothing started).
 */
int	commit_start(struct committer *, struct deliver *, int statefd,
	    const struct stateid *, const struct state *st);

/*
 * Hands b over (it belongs to the worker until it comes back).  Waits
 * while IMAP_COMMIT_DEPTH batches are already on their way.
 */
void	commit_push(struct committer *, struct cbatch *b);

/*
 * The batches handed back since the last call, oldest first (NULL:
 * none); with wait, waits until every batch handed over is back.  A batch
 * with err set did not become durable (its files were removed, or stay
 * recorded as pending for the next run when the state already lists
 * them); every later batch then comes back with err = ECANCELED.
 */
struct cbatch *commit_collect(struct committer *, int wait);

/*
 * Every batch back (the caller collected them), stops the worker, and
 * writes the state once more with nothing pending.  Returns 0 or -1 with
 * errno.  Safe when commit_start failed.
 */
int	commit_stop(struct committer *);

/* Frees a batch handed back (its files are in new/, or dealt with). */
void	commit_free(struct cbatch *);

#endif
