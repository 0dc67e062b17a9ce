/*
 * maildrop.c: the session's hold on a Maildir: lock, snapshot, UPDATE.
 *
 * One session per maildrop: an exclusive flock(2) on <maildrop>/.popd.lock,
 * taken at login.  QUIT applies the changes, makes them durable and drops
 * the lock before "+OK" is sent, so a client that logs in again right after
 * QUIT finds the maildrop free and already updated: no race.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "util.h"

#define LOCK_NAME	".popd.lock"

static int
lock_maildrop(struct session *s)
{
	s->lockfd = openat(s->mdfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (s->lockfd == -1) {
		log_warn("%s/%s", s->acct->maildrop, LOCK_NAME);
		return r_err(s, "SYS/TEMP", "Cannot lock maildrop");
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			return r_err(s, "IN-USE", "Maildrop is in use by "
			    "another session");
		log_warn("%s: flock", s->acct->maildrop);
		return r_err(s, "SYS/TEMP", "Cannot lock maildrop");
	}
	return POP_OK;
}

static int
snapshot(struct session *s)
{
	struct mdmsg	*v;
	size_t		 n, i, cap;

	if (maildir_scan(s->mdfd, &v, &n) == -1) {
		log_warn("%s: scan", s->acct->maildrop);
		return r_err(s, "SYS/TEMP", "Cannot read maildrop");
	}
	s->nall = n;
	s->msgs = xcalloc(n, sizeof(*s->msgs));
	for (i = 0; i < n; i++)
		s->msgs[i].md = v[i];
	free(v);		/* the paths now belong to s->msgs */
	cap = s->acct->max_messages;
	s->nmsgs = cap > 0 && n > cap ? cap : n;
	return POP_OK;
}

int
maildrop_open(struct session *s)
{
	const char	*path = s->acct->maildrop;
	int		 r;

	if (maildir_create(path) == -1) {
		log_warn("%s: create", path);
		return r_err(s, "SYS/TEMP", "Cannot open maildrop");
	}
	if ((s->mdfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return r_err(s, "SYS/TEMP", "Cannot open maildrop");
	}
	if ((r = lock_maildrop(s)) != POP_OK || (r = snapshot(s)) != POP_OK) {
		maildrop_close(s);
		return r;
	}
	return POP_OK;
}

int
maildrop_open_msg(struct session *s, size_t i)
{
	return maildir_open_file(s->mdfd, s->msgs[i].md.path);
}

/*
 * The name of a message read from new/ as it goes to cur/: the seen flag
 * added to its info, whose flags stay in ASCII order (Maildir spec).
 */
static int
seen_name(const char *name, char *to, size_t len)
{
	const char	*info = strchr(name, ':');
	size_t		 u, f;
	int		 n;

	if (info == NULL)
		n = snprintf(to, len, "cur/%s:2,S", name);
	else if (strncmp(info, ":2,", 3) != 0 || strchr(info + 3, 'S') != NULL)
		n = snprintf(to, len, "cur/%s", name);	/* nothing to add */
	else {
		u = (size_t)(info - name) + 3;		/* up to the flags */
		f = strspn(info + 3, "ABCDEFGHIJKLMNOPQR");
		n = snprintf(to, len, "cur/%.*s%.*sS%s", (int)u, name,
		    (int)f, info + 3, info + 3 + f);
	}
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
move_to_cur(struct session *s, const char *path)
{
	char	to[4096];

	if (seen_name(path + 4, to, sizeof(to)) == -1)
		return -1;
	return renameat(s->mdfd, path, s->mdfd, to);
}

static int
sync_sub(struct session *s, const char *sub)
{
	int	fd, rc;

	if ((fd = openat(s->mdfd, sub, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * The DELE'd messages whose file was gone at QUIT (v, n): another program
 * may have moved them since login (new/ to cur/, flags added).  Followed
 * by their unique part; what is found is removed, what is not is gone
 * already.  Returns the failures, logged.
 */
static int
remove_moved(struct session *s, struct mdmsg **v, size_t n, int *changed)
{
	size_t	i;
	int	failed = 0;

	if (n == 0)
		return 0;
	if (maildir_relocate(s->mdfd, v, n) == -1) {
		log_warn("%s: looking for %zu moved messages",
		    s->acct->maildrop, n);
		return (int)n;
	}
	for (i = 0; i < n; i++) {
		if (unlinkat(s->mdfd, v[i]->path, 0) == 0) {
			s->ndele++;
			*changed = 1;
		} else if (errno != ENOENT) {
			log_warn("%s/%s: unlink", s->acct->maildrop,
			    v[i]->path);
			failed++;
		}
	}
	return failed;
}

int
maildrop_commit(struct session *s)
{
	struct mdmsg	**moved;
	struct msg	 *m;
	size_t		  i, nmoved = 0;
	int		  failed = 0, changed = 0;

	moved = xcalloc(s->nmsgs + 1, sizeof(*moved));
	for (i = 0; i < s->nmsgs; i++) {
		m = &s->msgs[i];
		if (m->deleted) {
			if (unlinkat(s->mdfd, m->md.path, 0) == 0) {
				s->ndele++;
				changed = 1;
			} else if (errno == ENOENT)
				moved[nmoved++] = &m->md;
			else {
				log_warn("%s/%s: unlink", s->acct->maildrop,
				    m->md.path);
				failed++;
			}
		} else if (m->retrieved && m->md.in_new) {
			/* Gone from new/: another program moved it on. */
			if (move_to_cur(s, m->md.path) == -1 &&
			    errno != ENOENT) {
				log_warn("%s/%s: rename", s->acct->maildrop,
				    m->md.path);
				failed++;
				continue;
			}
			changed = 1;
		}
	}
	failed += remove_moved(s, moved, nmoved, &changed);
	free(moved);
	/* The changes are durable before the client hears "+OK". */
	if (changed && (sync_sub(s, "new") == -1 || sync_sub(s, "cur") == -1)) {
		log_warn("%s: fsync", s->acct->maildrop);
		failed++;
	}
	maildrop_close(s);
	return failed;
}

void
maildrop_close(struct session *s)
{
	size_t	i;

	if (s->arg_fd != -1) {
		close(s->arg_fd);
		s->arg_fd = -1;
	}
	for (i = 0; i < s->nall; i++)
		free(s->msgs[i].md.path);
	free(s->msgs);
	s->msgs = NULL;
	s->nmsgs = s->nall = 0;
	if (s->lockfd != -1)
		close(s->lockfd);	/* releases the flock */
	if (s->mdfd != -1)
		close(s->mdfd);
	s->lockfd = s->mdfd = -1;
}
