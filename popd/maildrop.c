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
#include "mdcache.h"
#include "session.h"
#include "util.h"

#define LOCK_NAME	".popd.lock"

static enum md_status
lock_maildrop(struct session *s)
{
	s->lockfd = openat(s->mdfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (s->lockfd == -1) {
		log_warn("%s/%s", s->acct->maildrop, LOCK_NAME);
		return MD_SYS_TEMP;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			return MD_IN_USE;
		log_warn("%s: flock", s->acct->maildrop);
		return MD_SYS_TEMP;
	}
	return MD_OK;
}

/* 1 when a message other than i has i's UIDL. */
static int
uidl_taken(const struct session *s, size_t i)
{
	size_t	j;

	for (j = 0; j < s->nmsgs; j++)
		if (j != i && maildir_same_uidl(&s->msgs[j], &s->msgs[i]))
			return 1;
	return 0;
}

/*
 * Messages that popd had to count (other tools' names, without ",S=" and
 * ",W=") get their sizes in their name, under the lock, so that the next
 * login reads them from the directory alone.  A failure costs only that:
 * the session serves the sizes it counted.
 */
static void
settle_names(struct session *s)
{
	struct mdmsg	*m;
	size_t		 i;
	char		 was[4 + 256 + 1];

	for (i = 0; i < s->nmsgs; i++) {
		m = &s->msgs[i];
		if (m->sized)
			continue;
		snprintf(was, sizeof(was), "%s", m->path);
		if (maildir_settle(s->mdfd, m) == 0)
			continue;
		log_warn("%s/%s: naming its size", s->acct->maildrop, was);
		/* Its new name is another file's, which may have its UIDL
		 * too (one rare case: a linear search). */
		if (errno == EEXIST && uidl_taken(s, i))
			maildir_msg_digest(m, 1);
	}
}

/*
 * The listing: the one kept from the last scan when new/ and cur/ have not
 * changed since (mdcache.h), else a scan, kept for the next login.
 */
static enum md_status
snapshot(struct session *s)
{
	struct mdstamp	 st;
	struct mdmsg	*v;
	size_t		 n, cap, total;
	int		 stamped;

	cap = s->acct->max_messages > 0 ? s->acct->max_messages :
	    POPD_MESSAGES_CAP;
	stamped = mdcache_stamp(s->mdfd, &st) == 0;
	if (stamped && mdcache_load(s->mdfd, &st, cap, &v, &n, &total) == 0)
		log_debug("%s: listing kept from the last scan",
		    s->acct->maildrop);
	else {
		if (maildir_scan(s->mdfd, cap, &v, &n, &total) == -1) {
			log_warn("%s: scan", s->acct->maildrop);
			return MD_SYS_TEMP;
		}
		/* Before settle_names renames: then it is not kept. */
		if (stamped && mdcache_save(s->mdfd, &st, cap, v, n,
		    total) == 0)
			log_debug("%s: listing kept for the next login",
			    s->acct->maildrop);
	}
	if (total > n)
		log_info("%s: listing the oldest %zu of %zu messages",
		    s->acct->maildrop, n, total);
	s->nall = s->nmsgs = n;
	s->msgs = v;
	settle_names(s);
	return MD_OK;
}

enum md_status
maildrop_open(struct session *s)
{
	const char	*path = s->acct->maildrop;
	enum md_status	 r;

	if (maildir_create(path) == -1) {
		log_warn("%s: create", path);
		return MD_SYS_TEMP;
	}
	if ((s->mdfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return MD_SYS_TEMP;
	}
	if ((r = lock_maildrop(s)) != MD_OK || (r = snapshot(s)) != MD_OK) {
		maildrop_close(s);
		return r;
	}
	return MD_OK;
}

/*
 * Renames m's file so that its name says now's sizes (now: m's copy, its
 * path its own), unless it says them already (a second RETR); m takes
 * now's path.  This session keeps its listing.
 */
static void
name_sizes(struct session *s, struct mdmsg *m, struct mdmsg *now)
{
	uint64_t	ns, nw;

	if ((maildir_name_sizes(now->path + 4, &ns, &nw) == -1 ||
	    ns != now->octets || nw != now->size) &&
	    maildir_settle(s->mdfd, now) == -1)
		log_warn("%s/%s: naming its size", s->acct->maildrop, m->path);
	maildir_msg_path(m, now->path);
}

/* A copy of m whose path is its own, for name_sizes. */
static struct mdmsg
copy_msg(const struct mdmsg *m)
{
	struct mdmsg	now = *m;

	now.path = xstrdup(m->path);
	now.lent = 0;
	return now;
}

/*
 * The file no longer has the size listed at login: its name lied, or it
 * was changed since.  Counted again and renamed, so that the next session
 * lists what it holds; this one keeps its listing (and refuses to send).
 */
static void
resettle(struct session *s, struct mdmsg *m, int fd, uint64_t octets)
{
	struct mdmsg	 now = copy_msg(m);

	log_warnx("%s/%s: %llu bytes on disk, listed as %llu: not sent",
	    s->acct->maildrop, m->path, (unsigned long long)octets,
	    (unsigned long long)m->octets);
	if (maildir_recount(fd, &now) == -1) {
		log_warn("%s/%s: read", s->acct->maildrop, m->path);
		free(now.path);
		return;
	}
	name_sizes(s, m, &now);
}

void
maildrop_wire_size(struct session *s, size_t i, uint64_t wire)
{
	struct mdmsg	*m = &s->msgs[i];
	struct mdmsg	 now = copy_msg(m);

	log_warnx("%s/%s: sent %llu octets, LIST said %llu",
	    s->acct->maildrop, m->path, (unsigned long long)wire,
	    (unsigned long long)m->size);
	now.size = wire;
	name_sizes(s, m, &now);
}

enum md_status
maildrop_open_msg(struct session *s, size_t i, int *fd)
{
	struct mdmsg	*m = &s->msgs[i];
	uint64_t	 octets;

	if ((*fd = maildir_open_file(s->mdfd, m->path, &octets)) == -1) {
		if (errno == ENOENT)
			return MD_GONE;
		if (errno == EINVAL) {
			log_warnx("%s/%s: not a regular file",
			    s->acct->maildrop, m->path);
			return MD_NOT_FILE;
		}
		log_warn("%s/%s: open", s->acct->maildrop, m->path);
		return MD_SYS_TEMP;
	}
	/* One comparison: the bytes sent must be what LIST said. */
	if (octets != m->octets) {
		resettle(s, m, *fd, octets);
		close(*fd);
		*fd = -1;
		return MD_CHANGED;
	}
	return MD_OK;
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
	struct mdmsg	 *m;
	size_t		  i, nmoved = 0;
	int		  failed = 0, changed = 0;

	moved = xcalloc(s->nmsgs + 1, sizeof(*moved));
	for (i = 0; i < s->nmsgs; i++) {
		m = &s->msgs[i];
		if (m->deleted) {
			if (unlinkat(s->mdfd, m->path, 0) == 0) {
				s->ndele++;
				changed = 1;
			} else if (errno == ENOENT)
				moved[nmoved++] = m;
			else {
				log_warn("%s/%s: unlink", s->acct->maildrop,
				    m->path);
				failed++;
			}
		} else if (m->retrieved && m->in_new) {
			/* Gone from new/: another program moved it on. */
			if (move_to_cur(s, m->path) == -1 &&
			    errno != ENOENT) {
				log_warn("%s/%s: rename", s->acct->maildrop,
				    m->path);
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
	maildir_free(s->msgs, s->nall);
	s->msgs = NULL;
	s->nmsgs = s->nall = 0;
	if (s->lockfd != -1)
		close(s->lockfd);	/* releases the flock */
	if (s->mdfd != -1)
		close(s->mdfd);
	s->lockfd = s->mdfd = -1;
}
