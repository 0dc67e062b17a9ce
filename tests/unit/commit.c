/*
 * commit.c: the durability worker (imapfetch/commit.h) on a temporary
 * Maildir: batches handed over while the next one is written come back
 * in order, their messages in new/, the state file on disk listing them
 * (pending while the worker runs, delivered after commit_stop); duplicates
 * recorded without a file; a batch whose rename fails comes back with the
 * step and errno, its state entry kept for the next run, and every later
 * batch comes back ECANCELED with its tmp files removed and nothing saved;
 * state_stage writes a copy that nothing reads until state_publish.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../imapfetch/commit.h"
#include "fixture.h"
#include "tap.h"

static char	top[64];		/* the temporary directory */
static char	md[96];			/* top/Maildir */

static void
cleanup(void)
{
	rm_tree(top);
}

/* A batch of n messages with UIDs first, first+1, ...; plus ndups UIDs. */
static struct cbatch *
batch(struct deliver *d, uint32_t first, size_t n, size_t ndups)
{
	struct cbatch	*b;
	struct dmsg	*m;
	char		 text[64];
	size_t		 i;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "Subject: %u\r\n\r\nbody\r\n",
		    (unsigned)(first + i));
		if (deliver_begin(d, &m) == -1 ||
		    deliver_write(m, text, strlen(text)) == -1 ||
		    deliver_finish(m) == -1)
			die("a message");
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		die("calloc");
	deliver_take(d, &b->files);
	if ((b->fuid = calloc(n + 1, sizeof(*b->fuid))) == NULL ||
	    (b->dups = calloc(ndups + 1, sizeof(*b->dups))) == NULL)
		die("calloc");
	for (i = 0; i < b->files.n; i++)
		b->fuid[i] = first + (uint32_t)i;
	for (i = 0; i < ndups; i++)
		b->dups[b->ndups++] = first + (uint32_t)(n + i);
	return b;
}

/* The state of id as on disk. */
static void
load(int sfd, const struct stateid *id, struct state *st)
{
	if (state_load(sfd, id, st) == -1)
		die("state_load");
}

static void
test_batches(void)
{
	struct stateid	 id = { "imap.example.org", 993, "alice", "INBOX" };
	struct deliver	 d;
	struct committer c;
	struct state	 st, disk;
	struct cbatch	*b1, *b2, *got, *next;
	int		 sfd, n;
	uint32_t	 expect;

	if (deliver_open(&d, md, "imapfetch") == -1 ||
	    (sfd = state_dir(md)) == -1)
		die("maildrop");
	memset(&st, 0, sizeof(st));
	st.uidvalidity = 7;
	uidset_add(&st.delivered, 1);		/* from an earlier run */
	is_int(commit_start(&c, &d, sfd, &id, &st), 0, "commit_start");
	b1 = batch(&d, 10, 3, 0);
	commit_push(&c, b1);
	/* The next batch is written while the first is on its way. */
	b2 = batch(&d, 20, 2, 2);
	commit_push(&c, b2);
	got = commit_collect(&c, 1);
	ok(got == b1 && got->next == b2 && b2->next == NULL,
	    "both batches back, in order");
	ok(b1->err == 0 && b2->err == 0, "...without error");
	is_int(count_entries(md, "new"), 5, "their 5 messages in new/");
	is_int(count_entries(md, "tmp"), 0, "tmp/ empty");
	ok(b1->files.v[0]->state == DM_DELIVERED, "DM_DELIVERED");
	load(sfd, &id, &disk);
	ok(disk.uidvalidity == 7 && uidset_has(&disk.delivered, 1) &&
	    uidset_has(&disk.delivered, 10) &&
	    uidset_has(&disk.delivered, 12),
	    "on disk: the earlier UID, the first batch settled");
	n = 0;
	for (size_t i = 0; i < disk.npend; i++)
		n += disk.pend[i].uid == 20 || disk.pend[i].uid == 21;
	ok(disk.npend == 2 && n == 2 && uidset_has(&disk.delivered, 22) &&
	    uidset_has(&disk.delivered, 23),
	    "on disk: the last batch pending, its duplicates delivered");
	state_free(&disk);
	ok(st.npend == 0 && !uidset_has(&st.delivered, 10),
	    "the caller's state is not touched");
	for (; got != NULL; got = next) {
		next = got->next;
		commit_free(got);
	}
	is_int(commit_stop(&c), 0, "commit_stop");
	load(sfd, &id, &disk);
	ok(disk.npend == 0 && uidset_has(&disk.delivered, 20) &&
	    uidset_has(&disk.delivered, 21), "after stop: nothing pending");
	expect = 0;
	for (uint32_t u = 1; u < 30; u++)
		expect += uidset_has(&disk.delivered, u);
	is_int(expect, 8, "after stop: exactly the 8 UIDs delivered");
	state_free(&disk);
	is_int(commit_stop(&c), 0, "a second stop does nothing");
	state_free(&st);
	close(sfd);
	deliver_close(&d);
	rm_tree(md);
}

static void
test_failure(void)
{
	struct stateid	 id = { "imap.example.org", 993, "bob", "INBOX" };
	struct deliver	 d;
	struct committer c;
	struct state	 st, disk;
	struct cbatch	*b1, *b2, *got;
	char		 path[400];
	int		 sfd;

	if (deliver_open(&d, md, "imapfetch") == -1 ||
	    (sfd = state_dir(md)) == -1)
		die("maildrop");
	memset(&st, 0, sizeof(st));
	st.uidvalidity = 9;
	is_int(commit_start(&c, &d, sfd, &id, &st), 0, "commit_start");
	b1 = batch(&d, 1, 2, 0);
	/* Someone removes new/: the renames fail. */
	snprintf(path, sizeof(path), "%s/new", md);
	if (rmdir(path) == -1)
		die("rmdir new");
	commit_push(&c, b1);
	got = commit_collect(&c, 1);
	ok(got == b1 && b1->err == ENOENT &&
	    strstr(b1->what, "rename") != NULL,
	    "a failed rename comes back with its errno and step");
	load(sfd, &id, &disk);
	ok(disk.npend == 2, "the batch stays pending on disk, for the next "
	    "run to finish");
	state_free(&disk);
	is_int(count_entries(md, "tmp"), 2, "its tmp files are kept");
	commit_free(got);
	b2 = batch(&d, 5, 2, 1);
	commit_push(&c, b2);
	got = commit_collect(&c, 1);
	ok(got == b2 && b2->err == ECANCELED, "a later batch: ECANCELED");
	is_int(count_entries(md, "tmp"), 2, "...its tmp files removed");
	commit_free(got);
	is_int(commit_stop(&c), 0, "commit_stop after a failure");
	load(sfd, &id, &disk);
	ok(disk.npend == 2 && !uidset_has(&disk.delivered, 5) &&
	    !uidset_has(&disk.delivered, 7),
	    "nothing saved after the failure");
	state_free(&disk);
	state_free(&st);
	close(sfd);
	deliver_close(&d);
	rm_tree(md);
}

static void
test_stage(void)
{
	struct stateid	 id = { "imap.example.org", 993, "carol", "INBOX" };
	struct state	 st, disk;
	int		 sfd;

	if (mkdir(md, 0700) == -1 || (sfd = state_dir(md)) == -1)
		die("state_dir");
	memset(&st, 0, sizeof(st));
	st.uidvalidity = 3;
	if (state_save(sfd, &id, &st) == -1)
		die("state_save");
	state_add_pending(&st, 4, "1.M1P1Q1_imapfetch.host,S=1,W=2");
	is_int(state_stage(sfd, &id, &st), 0, "state_stage");
	load(sfd, &id, &disk);
	ok(disk.npend == 0, "a staged copy is not read");
	state_free(&disk);
	is_int(state_publish(sfd, &id, 0), 0, "state_publish");
	load(sfd, &id, &disk);
	ok(disk.npend == 1 && disk.pend[0].uid == 4, "published, it is");
	state_free(&disk);
	ok(state_publish(sfd, &id, 1) == -1 && errno == ENOENT,
	    "nothing staged: ENOENT");
	state_add_pending(&st, 5, "1.M1P1Q2_imapfetch.host,S=1,W=2");
	ok(state_stage(sfd, &id, &st) == 0 &&
	    state_publish(sfd, &id, 1) == 0, "stage, publish with sync");
	load(sfd, &id, &disk);
	ok(disk.npend == 2, "...published");
	state_free(&disk);
	state_free(&st);
	close(sfd);
	rm_tree(md);
}

int
main(void)
{
	snprintf(top, sizeof(top), "%s/commit.XXXXXX",
	    getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 40 ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	snprintf(md, sizeof(md), "%s/Maildir", top);
	atexit(cleanup);

	test_batches();
	test_failure();
	test_stage();
	return done_testing();
}
