/*
 * commit.c: the durability worker (commit.h).  One thread, a queue in,
 * a queue out, one lock.  The worker's steps run in the order of sync.h;
 * each waits for the one before it to be on the disk.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "util.h"
#include "commit.h"

/* A copy of st that shares nothing with it. */
static void
state_copy(struct state *dst, const struct state *src)
{
	size_t	 i;

	memset(dst, 0, sizeof(*dst));
	dst->account = src->account != NULL ? xstrdup(src->account) : NULL;
	dst->uidvalidity = src->uidvalidity;
	dst->dedup = src->dedup;
	for (i = 0; i < src->delivered.n; i++)
		uidset_add_range(&dst->delivered, src->delivered.r[i].lo,
		    src->delivered.r[i].hi);
	for (i = 0; i < src->npend; i++)
		state_add_pending(dst, src->pend[i].uid, src->pend[i].name);
}

static void
failed(struct cbatch *b, int err, const char *what)
{
	b->err = err;
	b->what = what;
}

/*
 * Steps 2-3 of sync.h for one batch.  The batch's UIDs join the state as
 * pending only once the messages are durable in tmp/ (else a crash could
 * leave a pending UID whose file never reached the disk: counted as
 * delivered, it would be lost), and the renames come only once that
 * state is durable (else a crash could leave a message in new/ that the
 * state does not know: fetched again, a duplicate).  The new copy of the
 * state is written before the syncfs, which makes it durable with the
 * messages, and published (renamed) after it: one sync call fewer, and
 * its blocks are allocated next to the batch's, before the next batch's.
 */
static void
work(struct committer *c, struct cbatch *b)
{
	size_t	 i;

	if (c->failed) {
		failed(b, ECANCELED, "after an earlier failure, in");
		deliver_drop_batch(c->dl, &b->files);
		return;
	}
	for (i = 0; i < b->files.n; i++)
		state_add_pending(&c->ws, b->fuid[i], b->files.v[i]->name);
	for (i = 0; i < b->ndups; i++)
		uidset_add(&c->ws.delivered, b->dups[i]);
	if (state_stage(c->statefd, c->id, &c->ws) == -1) {
		failed(b, errno, "state file in");
		deliver_drop_batch(c->dl, &b->files);
		return;
	}
	if (deliver_sync_batch(c->dl, &b->files) == -1) {
		failed(b, errno, "syncing the messages in tmp/ of");
		deliver_drop_batch(c->dl, &b->files);
		return;
	}
	/* From here the tmp files may be recorded: never remove them.  If
	 * the state did not reach the disk, the next run removes them.
	 * When the messages were synced file by file (syncfs failed, or
	 * does not report errors), so is the staged copy. */
	if (state_publish(c->statefd, c->id, !c->dl->syncfs) == -1) {
		failed(b, errno, "state file in");
		deliver_free_batch(&b->files);
		return;
	}
	if (b->files.n > 0)
		c->unsettled = 1;
	if (deliver_commit_batch(c->dl, &b->files) == -1) {
		failed(b, errno, "rename into new/ of");
		deliver_free_batch(&b->files);
		return;
	}
	/* Pending and gone from tmp/ is delivered (sync_recover): the next
	 * state written says it plainly. */
	state_settle(&c->ws);
}

static void *
worker(void *arg)
{
	struct committer	*c = arg;
	struct cbatch		*b;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->todo == NULL && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if ((b = c->todo) == NULL)
			break;
		if ((c->todo = b->next) == NULL)
			c->todo_tail = &c->todo;
		b->next = NULL;
		pthread_mutex_unlock(&c->lock);
		work(c, b);
		pthread_mutex_lock(&c->lock);
		if (b->err != 0)
			c->failed = 1;
		*c->done_tail = b;
		c->done_tail = &b->next;
		c->inflight--;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int
commit_start(struct committer *c, struct deliver *dl, int statefd,
    const struct stateid *id, const struct state *st)
{
	pthread_attr_t	 attr;
	sigset_t	 all, old;
	int		 r;

	memset(c, 0, sizeof(*c));
	c->dl = dl;
	c->statefd = statefd;
	c->id = id;
	c->todo_tail = &c->todo;
	c->done_tail = &c->done;
	state_copy(&c->ws, st);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	/* Signals (--watch's SIGTERM) are the main thread's to take. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	r = pthread_create(&c->thread, &attr, worker, c);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		state_free(&c->ws);
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		errno = r;
		return -1;
	}
	c->running = 1;
	return 0;
}

void
commit_push(struct committer *c, struct cbatch *b)
{
	b->next = NULL;
	b->err = 0;
	pthread_mutex_lock(&c->lock);
	while (c->inflight >= IMAP_COMMIT_DEPTH)
		pthread_cond_wait(&c->cond, &c->lock);
	*c->todo_tail = b;
	c->todo_tail = &b->next;
	c->inflight++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

struct cbatch *
commit_collect(struct committer *c, int wait)
{
	struct cbatch	*b;

	pthread_mutex_lock(&c->lock);
	while (wait && c->inflight > 0)
		pthread_cond_wait(&c->cond, &c->lock);
	b = c->done;
	c->done = NULL;
	c->done_tail = &c->done;
	pthread_mutex_unlock(&c->lock);
	return b;
}

int
commit_stop(struct committer *c)
{
	struct cbatch	*b;
	int		 r = 0;

	if (!c->running)
		return 0;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	c->running = 0;
	/* Not collected: durable, and the next run flags them. */
	while ((b = c->done) != NULL) {
		c->done = b->next;
		commit_free(b);
	}
	/* Nothing pending any more: said once, durably. */
	if (!c->failed && c->unsettled)
		r = state_save(c->statefd, c->id, &c->ws);
	state_free(&c->ws);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	return r;
}

void
commit_free(struct cbatch *b)
{
	deliver_free_batch(&b->files);
	free(b->fuid);
	free(b->dups);
	free(b);
}
