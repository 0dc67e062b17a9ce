/*
 * mdcache.c: the listing kept between logins (mdcache.h says when it is
 * used).  The file, in host order (one machine writes and reads it):
 *
 *   struct hdr: magic, the stamp, max, total, n, bytes of paths
 *   n struct rec: time, sizes, path length, base length, flags
 *   the paths, each "new/NAME" or "cur/NAME" and a NUL, in listing order
 *   u64 mdcache_sum of header and records, u64 mdcache_sum of the paths
 *
 * Loaded, the paths are read straight into the tail of the listing's own
 * allocation (lent): one block, no allocation per message.
 */
#include <sys/stat.h>
#include <sys/vfs.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdcache.h"
#include "params.h"
#include "util.h"

#define MAGIC		"popd listing v1\n"
#define TMP_NAME	MDCACHE_NAME ".tmp"

#define F_NEW		1	/* in new/ */
#define F_DIGEST	2	/* its UIDL is a digest... */
#define F_WHOLE		4	/* ...of its whole unique part */

struct hdr {
	char		magic[16];
	struct mdstamp	st;
	uint64_t	max, total, n, names;
};

struct rec {
	int64_t		time;
	uint64_t	size, octets;
	uint32_t	plen;		/* without the NUL */
	uint8_t		blen, flags, pad[2];
};

/* Longest path with its NUL: "new/" and a 255-byte name. */
#define PATH_MAX_NUL	(4 + 255 + 1)

uint64_t
mdcache_sum(const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	uint64_t		 h[4] = { 1, 2, 3, 4 }, w = len;
	size_t			 i;

	/* Four lanes of multiply-xorshift: 0.1 ms for 10000 messages. */
	for (; len >= 32; p += 32, len -= 32)
		for (i = 0; i < 4; i++) {
			memcpy(&w, p + 8 * i, 8);
			h[i] = (h[i] ^ w) * 0x9e3779b97f4a7c15ULL;
			h[i] ^= h[i] >> 31;
		}
	for (; len > 0; p++, len--)
		h[0] = (h[0] ^ *p) * 0x100000001b3ULL;
	for (i = 0; i < 4; i++)
		w = (w ^ h[i]) * 0xff51afd7ed558ccdULL ^ (w >> 29);
	return w;
}

/* 1 when both directories' last change is POPD_LISTING_SETTLE s or more
 * before the stamp was taken. */
static int
settled(const struct mdstamp *st)
{
	int64_t	t;
	int	i;

	for (i = 0; i < 2; i++) {
		if (st->ctime[i] > INT64_MAX - POPD_LISTING_SETTLE)
			return 0;
		t = st->ctime[i] + POPD_LISTING_SETTLE;
		if (st->at < t || (st->at == t && st->at_ns < st->ctime_ns[i]))
			return 0;
	}
	return 1;
}

/* 1 for a file system that keeps directory times locally. */
static int
local(const struct statfs *fs)
{
	switch ((unsigned long)fs->f_type) {
	case EXT4_SUPER_MAGIC:	/* also ext2 and ext3 */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
		return 1;
	}
	return 0;
}

int
mdcache_stamp(int dirfd, struct mdstamp *st)
{
	static const char *const sub[2] = { "new", "cur" };
	struct statfs	 fs;
	struct stat	 sb;
	struct timespec	 now;
	int		 i, fd, r;

	memset(st, 0, sizeof(*st));
	/* The time first: a change after it cannot look older. */
	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		return -1;
	st->at = now.tv_sec;
	st->at_ns = now.tv_nsec;
	for (i = 0; i < 2; i++) {
		/*
		 * What the scan opens: a symbolic link followed (its own
		 * times never change), and each directory's own file
		 * system (one may be a mount point).
		 */
		if ((fd = openat(dirfd, sub[i], O_PATH | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			return -1;
		r = fstatfs(fd, &fs) == 0 && local(&fs) ? fstat(fd, &sb) : -1;
		close(fd);
		if (r == -1)
			return -1;
		st->dev[i] = sb.st_dev;
		st->ino[i] = sb.st_ino;
		st->size[i] = (uint64_t)sb.st_size;
		st->mtime[i] = sb.st_mtim.tv_sec;
		st->mtime_ns[i] = sb.st_mtim.tv_nsec;
		st->ctime[i] = sb.st_ctim.tv_sec;
		st->ctime_ns[i] = sb.st_ctim.tv_nsec;
	}
	return 0;
}

/* 1 when the stamps name the same directories, unchanged. */
static int
same_dirs(const struct mdstamp *a, const struct mdstamp *b)
{
	int	i;

	for (i = 0; i < 2; i++)
		if (a->dev[i] != b->dev[i] || a->ino[i] != b->ino[i] ||
		    a->size[i] != b->size[i] || a->mtime[i] != b->mtime[i] ||
		    a->mtime_ns[i] != b->mtime_ns[i] ||
		    a->ctime[i] != b->ctime[i] ||
		    a->ctime_ns[i] != b->ctime_ns[i])
			return 0;
	return 1;
}

/* The header's word on st and max: 0 when the listing is for them. */
static int
check_hdr(const struct hdr *h, const struct mdstamp *st, size_t max)
{
	if (memcmp(h->magic, MAGIC, sizeof(h->magic)) != 0 ||
	    !same_dirs(&h->st, st) || !settled(&h->st) || h->max != max ||
	    h->n > max || h->total < h->n ||
	    h->names > h->n * PATH_MAX_NUL)
		return -1;
	return 0;
}

/*
 * Fills v[0..n) from the n records at recs and the paths at names (len
 * bytes, in the same block as v): every path a name the scan could have
 * listed, in the order of the records, using all the bytes; then the
 * digests.  0, or -1 (no digest made yet).
 */
static int
fill(struct mdmsg *v, const unsigned char *recs, size_t n, char *names,
    size_t len)
{
	struct mdmsg	*m;
	struct rec	 r;
	size_t		 i, off = 0;
	char		*p;

	for (i = 0; i < n; i++) {
		memcpy(&r, recs + i * sizeof(r), sizeof(r));
		m = &v[i];
		p = names + off;
		if (r.plen < 5 || r.plen >= PATH_MAX_NUL ||
		    len - off < (size_t)r.plen + 1 || p[r.plen] != '\0' ||
		    memcmp(p, r.flags & F_NEW ? "new/" : "cur/", 4) != 0 ||
		    p[4] == '.' || memchr(p + 4, '/', r.plen - 4) != NULL ||
		    memchr(p, '\0', r.plen) != NULL ||
		    r.blen == 0 || r.blen > r.plen - 4 ||
		    (r.flags & ~(F_NEW | F_DIGEST | F_WHOLE)) != 0 ||
		    (!(r.flags & F_DIGEST) &&
		    maildir_plain_uidl(p + 4, r.blen) == 0))
			return -1;
		memset(m, 0, sizeof(*m));
		m->path = p;
		m->lent = 1;
		m->time = (time_t)r.time;
		m->size = r.size;
		m->octets = r.octets;
		m->blen = r.blen;
		m->in_new = (r.flags & F_NEW) != 0;
		m->sized = 1;
		off += (size_t)r.plen + 1;
	}
	if (off != len)
		return -1;
	for (i = 0; i < n; i++) {
		memcpy(&r, recs + i * sizeof(r), sizeof(r));
		if (r.flags & F_DIGEST)
			maildir_msg_digest(&v[i], (r.flags & F_WHOLE) != 0);
	}
	return 0;
}

/* The listing's block: n + 1 entries, then names bytes. */
static struct mdmsg *
block(size_t n, size_t names)
{
	return xmalloc((n + 1) * sizeof(struct mdmsg) + names);
}

int
mdcache_parse(const void *buf, size_t len, const struct mdstamp *st,
    size_t max, struct mdmsg **out, size_t *n, size_t *total)
{
	const unsigned char	*b = buf;
	struct hdr		 h;
	struct mdmsg		*v;
	uint64_t		 sum[2];
	size_t			 head;

	if (len < sizeof(h) + sizeof(sum))
		return -1;
	memcpy(&h, b, sizeof(h));
	if (check_hdr(&h, st, max) == -1)
		return -1;
	head = sizeof(h) + (size_t)h.n * sizeof(struct rec);
	if (len != head + (size_t)h.names + sizeof(sum))
		return -1;
	memcpy(sum, b + head + h.names, sizeof(sum));
	if (sum[0] != mdcache_sum(b, head) ||
	    sum[1] != mdcache_sum(b + head, (size_t)h.names))
		return -1;
	v = block((size_t)h.n, (size_t)h.names);
	memcpy(v + h.n + 1, b + head, (size_t)h.names);
	if (fill(v, b + sizeof(h), (size_t)h.n, (char *)(v + h.n + 1),
	    (size_t)h.names) == -1) {
		free(v);
		return -1;
	}
	*out = v;
	*n = (size_t)h.n;
	*total = (size_t)h.total;
	return 0;
}

/* Reads len bytes at off.  0, or -1 (a short file too). */
static int
read_at(int fd, void *buf, size_t len, off_t off)
{
	unsigned char	*p = buf;
	ssize_t		 k;

	while (len > 0) {
		if ((k = pread(fd, p, len, off)) == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
		off += k;
	}
	return 0;
}

int
mdcache_load(int dirfd, const struct mdstamp *st, size_t max,
    struct mdmsg **out, size_t *n, size_t *total)
{
	struct stat	 sb;
	struct hdr	 h;
	struct mdmsg	*v = NULL;
	unsigned char	*head = NULL;
	uint64_t	 sum[2];
	size_t		 hlen;
	char		*names;
	int		 fd, rc = -1;

	if ((fd = openat(dirfd, MDCACHE_NAME, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    read_at(fd, &h, sizeof(h), 0) == -1 ||
	    check_hdr(&h, st, max) == -1)
		goto out;
	hlen = sizeof(h) + (size_t)h.n * sizeof(struct rec);
	if ((uint64_t)sb.st_size != hlen + h.names + sizeof(sum))
		goto out;
	/* Header and records aside; the paths straight into the block. */
	head = xmalloc(hlen);
	v = block((size_t)h.n, (size_t)h.names);
	names = (char *)(v + h.n + 1);
	if (read_at(fd, head, hlen, 0) == -1 ||
	    read_at(fd, names, (size_t)h.names, (off_t)hlen) == -1 ||
	    read_at(fd, sum, sizeof(sum), (off_t)(hlen + h.names)) == -1 ||
	    memcmp(head, &h, sizeof(h)) != 0 ||
	    sum[0] != mdcache_sum(head, hlen) ||
	    sum[1] != mdcache_sum(names, (size_t)h.names) ||
	    fill(v, head + sizeof(h), (size_t)h.n, names,
	    (size_t)h.names) == -1)
		goto out;
	*out = v;
	*n = (size_t)h.n;
	*total = (size_t)h.total;
	v = NULL;
	rc = 0;
out:
	free(v);
	free(head);
	close(fd);
	return rc;
}

int
mdcache_save(int dirfd, const struct mdstamp *st, size_t max,
    const struct mdmsg *v, size_t n, size_t total)
{
	struct hdr	 h;
	struct rec	 r;
	unsigned char	*buf;
	uint64_t	 sum[2];
	size_t		 i, names = 0, hlen, len, off;
	int		 fd, rc;

	if (!settled(st) || n > max || total < n)
		return -1;
	for (i = 0; i < n; i++) {
		if (!v[i].sized || v[i].mtime)
			return -1;
		names += strlen(v[i].path) + 1;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MAGIC, sizeof(h.magic));
	h.st = *st;
	h.max = max;
	h.total = total;
	h.n = n;
	h.names = names;
	hlen = sizeof(h) + n * sizeof(r);
	len = hlen + names + sizeof(sum);
	buf = xmalloc(len);
	memcpy(buf, &h, sizeof(h));
	off = hlen;
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.time = (int64_t)v[i].time;
		r.size = v[i].size;
		r.octets = v[i].octets;
		r.plen = (uint32_t)strlen(v[i].path);
		r.blen = v[i].blen;
		r.flags = (v[i].in_new ? F_NEW : 0) |
		    (v[i].digest != NULL ? F_DIGEST : 0) |
		    (v[i].digest != NULL && v[i].whole ? F_WHOLE : 0);
		memcpy(buf + sizeof(h) + i * sizeof(r), &r, sizeof(r));
		memcpy(buf + off, v[i].path, (size_t)r.plen + 1);
		off += (size_t)r.plen + 1;
	}
	sum[0] = mdcache_sum(buf, hlen);
	sum[1] = mdcache_sum(buf + hlen, names);
	memcpy(buf + off, sum, sizeof(sum));
	/* No fsync: a torn file is refused, and costs only a scan. */
	rc = -1;
	if ((fd = openat(dirfd, TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) != -1) {
		rc = write_all(fd, buf, len);
		if (close(fd) == -1)
			rc = -1;
		if (rc == 0)
			rc = renameat(dirfd, TMP_NAME, dirfd, MDCACHE_NAME);
		if (rc == -1)
			(void)unlinkat(dirfd, TMP_NAME, 0);
	}
	free(buf);
	return rc;
}
