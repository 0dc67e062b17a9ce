/*
 * deliver.c: durable Maildir delivery.  The order of operations is the
 * contract (see deliver.h): data durable in tmp/, then the caller records
 * its intent, then rename into new/ and fsync new/.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "params.h"
#include "util.h"

/* Makes dirfd/name when missing (*made then set); returns its fd. */
static int
open_subdir(int dirfd, const char *name, int *made)
{
	if (mkdirat(dirfd, name, 0700) == 0)
		*made = 1;
	else if (errno != EEXIST)
		return -1;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * fsync of the directory holding path.  A directory just made is durable
 * only once its parent is: else a crash could lose new/ with the messages
 * a state file already says are delivered, and flagged on the server.
 */
static int
fsync_parent(const char *path)
{
	char	 dir[4096];
	char	*slash;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	while ((slash = strrchr(dir, '/')) != NULL && slash[1] == '\0' &&
	    slash != dir)
		*slash = '\0';		/* "drop/" is "drop" */
	if ((slash = strrchr(dir, '/')) == NULL)
		return fsync_dir(".");
	if (slash == dir)
		slash[1] = '\0';	/* "/drop": "/" */
	else
		*slash = '\0';
	return fsync_dir(dir);
}

/* Maildir host part: '/' and ':' would break the name (Maildir spec). */
static void
set_host(struct deliver *d)
{
	char	 h[64];
	size_t	 i, o = 0;

	if (gethostname(h, sizeof(h)) == -1)
		snprintf(h, sizeof(h), "localhost");
	h[sizeof(h) - 1] = '\0';
	for (i = 0; h[i] != '\0' && o + 5 < sizeof(d->host); i++) {
		if (h[i] == '/' || h[i] == ':' || h[i] == ',' ||
		    (unsigned char)h[i] <= 0x20 || (unsigned char)h[i] >= 0x7f)
			o += snprintf(d->host + o, sizeof(d->host) - o, "\\%03o",
			    (unsigned char)h[i]);
		else
			d->host[o++] = h[i];
	}
	d->host[o] = '\0';
}

/*
 * 1 when syncfs(2) reports write-back errors: Linux 5.8 and later (commit
 * 735e4ae5ba28, "vfs: track per-sb writeback errors and report them to
 * syncfs").  Before, it returned 0 whatever happened to the data.
 */
static int
syncfs_reports(void)
{
	struct utsname	 u;
	unsigned	 major, minor;

	if (uname(&u) == -1 || strcmp(u.sysname, "Linux") != 0 ||
	    sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major > 5 || (major == 5 && minor >= 8);
}

int
deliver_open(struct deliver *d, const char *path, const char *marker)
{
	int	 saved, made = 0, top = 0;

	memset(d, 0, sizeof(*d));
	d->dirfd = d->tmpfd = d->newfd = -1;
	if (strlen(marker) == 0 || strlen(marker) >= sizeof(d->marker) ||
	    strspn(marker, "abcdefghijklmnopqrstuvwxyz0123456789") !=
	    strlen(marker)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(d->marker, sizeof(d->marker), "%s", marker);
	set_host(d);
	d->syncfs = syncfs_reports();
	if (mkdir(path, 0700) == 0)
		top = 1;
	else if (errno != EEXIST)
		return -1;
	if ((d->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;
	if ((d->tmpfd = open_subdir(d->dirfd, "tmp", &made)) == -1 ||
	    (d->newfd = open_subdir(d->dirfd, "new", &made)) == -1)
		goto fail;
	if (mkdirat(d->dirfd, "cur", 0700) == 0)
		made = 1;
	else if (errno != EEXIST)
		goto fail;
	if ((made && fsync(d->dirfd) == -1) || (top && fsync_parent(path) == -1))
		goto fail;
	return 0;
fail:
	saved = errno;
	deliver_close(d);
	errno = saved;
	return -1;
}

void
deliver_close(struct deliver *d)
{
	deliver_abort(d);
	free(d->msgs);
	d->msgs = NULL;
	d->cap = 0;
	if (d->newfd != -1)
		close(d->newfd);
	if (d->tmpfd != -1)
		close(d->tmpfd);
	if (d->dirfd != -1)
		close(d->dirfd);
	d->dirfd = d->tmpfd = d->newfd = -1;
}

int
deliver_begin(struct deliver *d, struct dmsg **out)
{
	struct dmsg	*m;
	struct timeval	 tv;

	if (d->nmsgs == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->msgs = xreallocarray(d->msgs, d->cap, sizeof(*d->msgs));
	}
	m = xcalloc(1, sizeof(*m));
	gettimeofday(&tv, NULL);
	snprintf(m->unique, sizeof(m->unique), "%lld.M%06ldP%ldQ%lu_%s.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	    ++d->seq, d->marker, d->host);
	m->fd = openat(d->tmpfd, m->unique,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (m->fd == -1) {
		free(m);
		return -1;
	}
	m->state = DM_WRITING;
	wire_count_init(&m->wc);
	d->msgs[d->nmsgs++] = m;
	*out = m;
	return 0;
}

/* Writes out the bytes held in m->buf. */
static int
flush_buf(struct dmsg *m)
{
	if (m->blen > 0 && write_all(m->fd, m->buf, m->blen) == -1)
		return -1;
	m->blen = 0;
	return 0;
}

int
deliver_write(struct dmsg *m, const void *buf, size_t len)
{
	if (m->state != DM_WRITING) {
		errno = EBADF;
		return -1;
	}
	wire_count_update(&m->wc, buf, len);
	m->size += len;
	if (m->blen + len > DELIVER_WRITE_BUF && flush_buf(m) == -1)
		return -1;
	if (len >= DELIVER_WRITE_BUF)
		return write_all(m->fd, buf, len);
	if (m->buf == NULL)
		m->buf = xmalloc(DELIVER_WRITE_BUF);
	memcpy(m->buf + m->blen, buf, len);
	m->blen += len;
	return 0;
}

int
deliver_finish(struct dmsg *m)
{
	int	 r = 0, saved = 0;

	if (m->state != DM_WRITING) {
		errno = EBADF;
		return -1;
	}
	if (flush_buf(m) == -1) {
		saved = errno;
		r = -1;
	}
	free(m->buf);
	m->buf = NULL;
	/*
	 * No write-back is started here (sync_file_range): that costs the
	 * thread that reads the network block allocation and I/O submission,
	 * and measured slower than leaving it all to the batch's syncfs,
	 * which another thread waits for.  NFS reports a failed write at the
	 * latest here.
	 */
	if (close(m->fd) == -1 && r == 0) {
		saved = errno;
		r = -1;
	}
	m->fd = -1;
	if (r == -1) {
		errno = saved;
		return -1;
	}
	snprintf(m->name, sizeof(m->name), "%s,S=%" PRIu64 ",W=%" PRIu64,
	    m->unique, m->size, wire_count_final(&m->wc));
	m->state = DM_WRITTEN;
	return 0;
}

int
deliver_drop(struct deliver *d, struct dmsg *m)
{
	free(m->buf);
	m->buf = NULL;
	m->blen = 0;
	if (m->fd != -1) {
		close(m->fd);
		m->fd = -1;
	}
	if (m->state == DM_WRITING || m->state == DM_WRITTEN) {
		m->state = DM_DROPPED;
		if (unlinkat(d->tmpfd, m->unique, 0) == -1 && errno != ENOENT)
			return -1;
	}
	m->state = DM_DROPPED;
	return 0;
}

/*
 * fdatasync of one message, reopened by name: the fallback when syncfs
 * does not report errors.  A write-back error nobody has been told of yet
 * is reported to a later opener too (Linux before 4.13 kept it in the
 * mapping; 4.16 and later report it once to whoever asks first; 4.13 to
 * 4.15 do not).
 */
static int
sync_one(const struct deliver *d, const struct dmsg *m)
{
	return fdatasync_at(d->tmpfd, m->unique);
}

/*
 * The data and the tmp/ entries of v[0..n) durable.  syncfs writes back
 * every dirty inode of the file system and commits its journal, so the
 * data, the inodes and the tmp/ entries are all on the disk when it
 * returns 0; it costs one journal commit however many files.
 *
 * Its error is the file system's, not these files': any write-back error
 * since the last call, another program's file or the next batch's (being
 * written meanwhile) as much as these.  So after one, these are checked
 * file by file, and syncfs is never trusted again: the error it reported
 * may belong to files a later call is asked about, and it will not
 * report it twice.  fdatasync reports a file's own error, even to a later
 * opener, as long as nobody has seen it.
 */
static int
sync_msgs(struct deliver *d, struct dmsg *const *v, size_t n)
{
	size_t	 i;

	if (d->syncfs) {
		if (syncfs(d->tmpfd) == 0)
			return 0;
		d->syncfs = 0;
	}
	for (i = 0; i < n; i++)
		if (v[i]->state == DM_WRITTEN && sync_one(d, v[i]) == -1)
			return -1;
	return fsync(d->tmpfd);
}

int
deliver_sync_tmp(struct deliver *d)
{
	return sync_msgs(d, d->msgs, d->nmsgs);
}

/* Renames the DM_WRITTEN ones of v[0..n) into new/; fsyncs new/, tmp/. */
static int
commit_msgs(const struct deliver *d, struct dmsg *const *v, size_t n)
{
	struct dmsg	*m;
	size_t		 i;
	int		 moved = 0;

	for (i = 0; i < n; i++) {
		m = v[i];
		if (m->state != DM_WRITTEN)
			continue;
		if (renameat(d->tmpfd, m->unique, d->newfd, m->name) == -1)
			return -1;
		m->state = DM_DELIVERED;
		moved = 1;
	}
	if (!moved)
		return 0;
	if (fsync(d->newfd) == -1)
		return -1;
	/* The tmp/ entries are gone: make that durable too, so that a
	 * crash cannot bring back a name that is also in new/ (on ext4 the
	 * journal commit of new/ covered it already: no second commit). */
	return fsync(d->tmpfd);
}

int
deliver_commit(struct deliver *d)
{
	return commit_msgs(d, d->msgs, d->nmsgs);
}

void
deliver_take(struct deliver *d, struct dbatch *b)
{
	size_t	 i, j = 0, k = 0;

	b->v = xreallocarray(NULL, d->nmsgs ? d->nmsgs : 1, sizeof(*b->v));
	for (i = 0; i < d->nmsgs; i++) {
		if (d->msgs[i]->state == DM_WRITTEN)
			b->v[k++] = d->msgs[i];
		else
			d->msgs[j++] = d->msgs[i];
	}
	d->nmsgs = j;
	b->n = k;
}

int
deliver_sync_batch(struct deliver *d, struct dbatch *b)
{
	return sync_msgs(d, b->v, b->n);
}

int
deliver_commit_batch(const struct deliver *d, struct dbatch *b)
{
	return commit_msgs(d, b->v, b->n);
}

void
deliver_drop_batch(const struct deliver *d, struct dbatch *b)
{
	size_t	 i;

	for (i = 0; i < b->n; i++)
		if (b->v[i]->state == DM_WRITTEN)
			(void)unlinkat(d->tmpfd, b->v[i]->unique, 0);
	deliver_free_batch(b);
}

void
deliver_free_batch(struct dbatch *b)
{
	size_t	 i;

	for (i = 0; i < b->n; i++)
		free(b->v[i]);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

void
deliver_abort(struct deliver *d)
{
	size_t	 i;

	for (i = 0; i < d->nmsgs; i++)
		(void)deliver_drop(d, d->msgs[i]);
	deliver_reset(d);
}

void
deliver_release(struct deliver *d)
{
	size_t	 i;

	for (i = 0; i < d->nmsgs; i++) {
		if (d->msgs[i]->fd != -1)
			close(d->msgs[i]->fd);
		free(d->msgs[i]->buf);
		free(d->msgs[i]);
	}
	d->nmsgs = 0;
}

void
deliver_reset(struct deliver *d)
{
	size_t	 i, j = 0;

	/* Entries still in tmp/ stay registered, so abort can remove them. */
	for (i = 0; i < d->nmsgs; i++) {
		if (d->msgs[i]->state == DM_DELIVERED ||
		    d->msgs[i]->state == DM_DROPPED)
			free(d->msgs[i]);
		else
			d->msgs[j++] = d->msgs[i];
	}
	d->nmsgs = j;
}

int
deliver_recover(struct deliver *d, const char *name)
{
	char	 unique[DELIVER_NAME_MAX];
	char	*p;

	if ((size_t)snprintf(unique, sizeof(unique), "%s", name) >=
	    sizeof(unique) ||
	    (p = strstr(unique, ",S=")) == NULL) {
		errno = EINVAL;
		return -1;
	}
	*p = '\0';
	if (renameat(d->tmpfd, unique, d->newfd, name) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fsync(d->newfd) == -1 || fsync(d->tmpfd) == -1)
		return -1;
	return 1;
}

/*
 * 1 when name is one of our tmp files: "..._<marker>.<host>", written on
 * this host.  Another host sharing the Maildir (NFS) may be writing its
 * own at this moment: those are never ours to remove.
 */
static int
is_ours(const struct deliver *d, const char *name)
{
	char	 tag[sizeof(d->marker) + sizeof(d->host) + 2];
	size_t	 nl = strlen(name), tl;

	tl = (size_t)snprintf(tag, sizeof(tag), "_%s.%s", d->marker, d->host);
	return name[0] != '.' && nl > tl && strcmp(name + nl - tl, tag) == 0;
}

int
deliver_clean_tmp(struct deliver *d,
    int (*keep)(void *arg, const char *unique), void *arg)
{
	DIR		*dir;
	struct dirent	*de;
	int		 fd, n = 0, saved;

	if ((fd = dup(d->tmpfd)) == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(dir);
	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (!is_ours(d, de->d_name))
			continue;
		if (keep != NULL && keep(arg, de->d_name))
			continue;
		if (unlinkat(d->tmpfd, de->d_name, 0) == -1 && errno != ENOENT)
			goto fail;
		n++;
	}
	if (errno != 0)
		goto fail;
	closedir(dir);
	return n;
fail:
	saved = errno;
	closedir(dir);
	errno = saved;
	return -1;
}

/* 1 when directory sub of the Maildir has an entry whose unique part
 * (up to ':') equals name. */
static int
dir_has(struct deliver *d, const char *sub, const char *name)
{
	DIR		*dir;
	struct dirent	*de;
	size_t		 len = strlen(name);
	int		 fd, found = 0, saved;

	if ((fd = openat(d->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
	    == -1)
		return errno == ENOENT ? 0 : -1;
	if ((dir = fdopendir(fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, name, len) == 0 &&
		    (de->d_name[len] == '\0' || de->d_name[len] == ':')) {
			found = 1;
			break;
		}
	}
	saved = errno;
	closedir(dir);
	if (!found && saved != 0) {
		errno = saved;
		return -1;
	}
	return found;
}

int
deliver_exists(struct deliver *d, const char *name)
{
	int	 r;

	if ((r = dir_has(d, "new", name)) != 0)
		return r;
	return dir_has(d, "cur", name);
}
