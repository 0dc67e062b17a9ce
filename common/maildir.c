/*
 * maildir.c: reading a Maildir for popd, after qmail-pop3d's scan of new/
 * and cur/, with every system call checked.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildir.h"
#include "num.h"
#include "sha256.h"
#include "util.h"
#include "wire.h"

int
maildir_create(const char *path)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char	p[4096];
	size_t	i;

	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	for (i = 0; i < 3; i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", path, sub[i]) >=
		    sizeof(p)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdir(p, 0700) == -1 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* Length of the unique part: the name up to the info separator ':'. */
static size_t
unique_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon != NULL ? (size_t)(colon - name) : strlen(name);
}

#define SUFFIX_MARK	",popd,S="

/* Parses decimal digits at p (up to end) into *v; the end of them. */
static const char *
digits(const char *p, const char *end, uint64_t *v)
{
	char	num[24];
	size_t	n = 0;

	while (p + n < end && p[n] >= '0' && p[n] <= '9')
		n++;
	if (n == 0 || n >= sizeof(num))
		return NULL;
	memcpy(num, p, n);
	num[n] = '\0';
	if (num_parse(num, UINT64_MAX / 2, v) == -1)
		return NULL;
	return p + n;
}

/*
 * Finds popd's suffix ",popd,S=<s>,W=<w>" at the end of the unique part
 * (ulen octets) of name.  Its offset, with *s and *w; or ulen when there
 * is none.
 */
static size_t
suffix_at(const char *name, size_t ulen, uint64_t *s, uint64_t *w)
{
	const char	*end = name + ulen, *p, *q, *mark = NULL;

	for (p = name; (p = memchr(p, ',', (size_t)(end - p))) != NULL; p++)
		if ((size_t)(end - p) > sizeof(SUFFIX_MARK) - 1 &&
		    memcmp(p, SUFFIX_MARK, sizeof(SUFFIX_MARK) - 1) == 0)
			mark = p;
	if (mark == NULL)
		return ulen;
	q = digits(mark + sizeof(SUFFIX_MARK) - 1, end, s);
	if (q == NULL || end - q < 4 || memcmp(q, ",W=", 3) != 0 ||
	    digits(q + 3, end, w) != end)
		return ulen;
	return (size_t)(mark - name);
}

size_t
maildir_base_len(const char *name)
{
	uint64_t	s, w;

	return suffix_at(name, unique_len(name), &s, &w);
}

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/*
 * The length of name's UIDL when it is the base as it is, else 0.  Eight
 * bytes at a time (every login checks every name): a byte below 0x21 or
 * above 0x7E sets its high bit in one of the two terms (exact for these
 * bounds, each under 0x80).
 */
size_t
maildir_plain_uidl(const char *name, size_t blen)
{
	uint64_t	w;
	size_t		i = 0;

	if (blen == 0 || blen > POP3_UIDL_MAX)
		return 0;
	for (; i + 8 <= blen; i += 8) {
		memcpy(&w, name + i, 8);
		if ((((w - 0x21 * ONES) & ~w) |
		    ((w + (0x7f - 0x7e) * ONES) | w)) & HIGHS)
			return 0;
	}
	for (; i < blen; i++)
		if ((unsigned char)name[i] < 0x21 ||
		    (unsigned char)name[i] > 0x7e)
			return 0;
	return blen;
}

void
maildir_uidl(const char *name, char uidl[POP3_UIDL_MAX + 1])
{
	size_t	len = maildir_base_len(name);

	if (maildir_plain_uidl(name, len) != 0) {
		memcpy(uidl, name, len);
		uidl[len] = '\0';
		return;
	}
	sha256_hex(name, len, uidl);
}

size_t
maildir_msg_uidl(const struct mdmsg *m, const char **p)
{
	if (m->digest != NULL) {
		*p = m->digest;
		return 64;
	}
	*p = m->path + 4;
	return m->blen;
}

/* m's UIDL when it is a digest: of the base, or (whole) the unique part. */
void
maildir_msg_digest(struct mdmsg *m, int whole)
{
	const char	*name = m->path + 4;

	if (m->digest == NULL)
		m->digest = xmalloc(65);
	sha256_hex(name, whole ? unique_len(name) : m->blen, m->digest);
	m->whole = whole != 0;
}

/*
 * Finds the first ",<key>=" in the unique part (ulen octets); its value
 * must be digits up to the next ',' or the end.
 */
static int
name_field(const char *name, size_t ulen, char key, uint64_t *out)
{
	const char	*p = name, *end = name + ulen;
	uint64_t	 v;

	while ((p = memchr(p, ',', (size_t)(end - p))) != NULL) {
		if (end - p > 3 && p[1] == key && p[2] == '=') {
			p = digits(p + 3, end, &v);
			if (p == NULL || (p != end && *p != ','))
				return -1;
			*out = v;
			return 0;
		}
		p++;
	}
	return -1;
}

/*
 * The sizes a unique part of ulen octets names, and its base's length:
 * what maildir_name_sizes and maildir_base_len say, from one reading of
 * the name (the scan's, once per entry).  0, or -1 (*s, *w undefined).
 */
static int
unique_sizes(const char *name, size_t ulen, size_t *blen, uint64_t *s,
    uint64_t *w)
{
	*blen = suffix_at(name, ulen, s, w);
	if (*blen == ulen && (name_field(name, ulen, 'S', s) == -1 ||
	    name_field(name, ulen, 'W', w) == -1))
		return -1;
	/* LF -> CRLF doubles a byte at most; a last line gets its CRLF. */
	if (*w < *s || *w > 2 * *s + (*s > 0 ? 2 : 0))
		return -1;
	return 0;
}

int
maildir_name_w(const char *name, uint64_t *w)
{
	size_t		ulen = unique_len(name);
	uint64_t	s, v;

	if (suffix_at(name, ulen, &s, &v) < ulen) {
		*w = v;
		return 0;
	}
	return name_field(name, ulen, 'W', w);
}

int
maildir_name_s(const char *name, uint64_t *s)
{
	size_t		ulen = unique_len(name);
	uint64_t	v, w;

	if (suffix_at(name, ulen, &v, &w) < ulen) {
		*s = v;
		return 0;
	}
	return name_field(name, ulen, 'S', s);
}

int
maildir_name_sizes(const char *name, uint64_t *s, uint64_t *w)
{
	size_t	blen;

	return unique_sizes(name, unique_len(name), &blen, s, w);
}

int
maildir_name_time(const char *name, time_t *t)
{
	long long	v = 0;
	size_t		i;

	for (i = 0; name[i] >= '0' && name[i] <= '9'; i++) {
		if (i == 18)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	if (i == 0 || name[i] != '.')
		return -1;
	*t = (time_t)v;
	return 0;
}

int
maildir_count(int fd, uint64_t *size)
{
	struct wire_count	 c;
	char			 buf[POPD_BLOCK];
	ssize_t			 n;

	wire_count_init(&c);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		wire_count_update(&c, buf, (size_t)n);
	}
	*size = wire_count_final(&c);
	return 0;
}

int
maildir_open_file(int dirfd, const char *path, uint64_t *octets)
{
	struct stat	st;
	int		fd, fl, saved;

	/* Most often said here, before anything is opened. */
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	/* It may have been swapped since: no blocking, no following. */
	if ((fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_NOCTTY | O_CLOEXEC)) == -1) {
		if (errno == ELOOP)
			errno = EINVAL;
		return -1;
	}
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	/* Reads of a message may then wait, as on a slow disk they must. */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		goto fail;
	if (octets != NULL)
		*octets = (uint64_t)st.st_size;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Orders base names by their unique parts only. */
static int
cmp_unique(const char *x, const char *y)
{
	size_t	xl = unique_len(x), yl = unique_len(y);
	int	c;

	if ((c = memcmp(x, y, xl < yl ? xl : yl)) != 0)
		return c;
	return xl < yl ? -1 : xl > yl;
}

static const char *
base_name(const char *path)
{
	return strchr(path, '/') + 1;
}

static int
cmp_relocate(const void *a, const void *b)
{
	const struct mdmsg *const *x = a, *const *y = b;

	return cmp_unique(base_name((*x)->path), base_name((*y)->path));
}

static int
cmp_key(const void *key, const void *elt)
{
	const struct mdmsg *const *y = elt;

	return cmp_unique(key, base_name((*y)->path));
}

/* maildir_relocate for one of new/ and cur/. */
static long
relocate_sub(int dirfd, const char *sub, struct mdmsg **v, size_t n)
{
	struct mdmsg	**hit;
	struct dirent	 *de;
	DIR		 *d;
	char		 *p;
	long		  found = 0;
	int		  fd, saved;

	if ((fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (hit = bsearch(de->d_name, v, n,
		    sizeof(*v), cmp_key)) == NULL)
			continue;
		p = xmalloc(strlen(sub) + strlen(de->d_name) + 2);
		sprintf(p, "%s/%s", sub, de->d_name);
		maildir_msg_path(*hit, p);
		(*hit)->in_new = sub[0] == 'n';
		found++;
	}
	saved = errno;
	closedir(d);
	errno = saved;
	return saved != 0 ? -1 : found;
}

long
maildir_relocate(int dirfd, struct mdmsg **v, size_t n)
{
	long	a, b;

	if (n == 0)
		return 0;
	/* Sorted once; a path changed below keeps its unique part. */
	qsort(v, n, sizeof(*v), cmp_relocate);
	if ((a = relocate_sub(dirfd, "new", v, n)) == -1 ||
	    (b = relocate_sub(dirfd, "cur", v, n)) == -1)
		return -1;
	return a + b;
}

/*
 * The scan: the oldest max messages seen so far, kept in a max-heap once
 * there are max of them (its root the newest), so that a newer entry
 * costs one comparison and no allocation, and memory stays bounded by
 * max.  The heap's array becomes the listing itself: no second copy.
 */
struct heap {
	struct mdmsg	*v;
	size_t		 n, max, total;
};

static void
sift_down(struct heap *h, size_t i)
{
	struct mdmsg	t;
	size_t		c;

	for (; (c = 2 * i + 1) < h->n; i = c) {
		if (c + 1 < h->n && maildir_order(&h->v[c + 1], &h->v[c]) > 0)
			c++;
		if (maildir_order(&h->v[c], &h->v[i]) <= 0)
			break;
		t = h->v[i];
		h->v[i] = h->v[c];
		h->v[c] = t;
	}
}

/*
 * A copy of path, in old's memory when it is as long (old freed).  Exact
 * sizes: most Maildirs hold fewer messages than max, and there a path is
 * allocated once; past max, one evicted is reused when it fits.
 */
static char *
keep_path(char *old, const char *path, size_t len)
{
	if (old == NULL || len > strlen(old)) {
		free(old);
		old = xmalloc(len + 1);
	}
	memcpy(old, path, len + 1);
	return old;
}

/*
 * Offers c (its path, of plen octets, not owned yet) to the heap; copies
 * it when kept.
 */
static void
heap_offer(struct heap *h, const struct mdmsg *c, size_t plen)
{
	size_t	 i;
	char	*p;

	h->total++;
	if (h->n == h->max) {
		if (maildir_order(c, &h->v[0]) >= 0)
			return;
		p = keep_path(h->v[0].path, c->path, plen);
		h->v[0] = *c;
		h->v[0].path = p;
		sift_down(h, 0);
		return;
	}
	/* Not full: a plain array, made a heap only when it fills. */
	if (h->n % 1024 == 0)
		h->v = xreallocarray(h->v, h->n + 1024, sizeof(*h->v));
	h->v[h->n] = *c;
	h->v[h->n].path = keep_path(NULL, c->path, plen);
	if (++h->n == h->max)
		for (i = h->n / 2; i-- > 0; )
			sift_down(h, i);
}

/*
 * The entry's time into c->time: the one its name starts with, or its
 * mtime (c->mtime says so).  The type from readdir spares a stat; without
 * it (DT_UNKNOWN) or for the mtime, one fstatat.  1 when it is no
 * message, 0, or -1.
 */
static int
entry_time(int subfd, const struct dirent *de, struct mdmsg *c)
{
	struct stat	st;

	c->mtime = 0;
	if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
		return 1;
	if (de->d_type == DT_REG &&
	    maildir_name_time(de->d_name, &c->time) == 0)
		return 0;
	if (fstatat(subfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 1 : -1;
	if (!S_ISREG(st.st_mode))
		return 1;
	if (maildir_name_time(de->d_name, &c->time) == -1) {
		c->time = st.st_mtime;
		c->mtime = 1;
	}
	return 0;
}

/*
 * Offers the messages of sub (new or cur) to the heap, each name read
 * once: its length, unique part, base and sizes (fill_msg uses them).
 */
static int
scan_sub(int dirfd, const char *sub, struct heap *h)
{
	struct dirent	*de;
	struct mdmsg	 c;
	DIR		*d;
	const char	*colon;
	char		 path[4 + 256 + 1];
	size_t		 len, ulen, blen;
	int		 subfd, rc = 0, r;

	if ((subfd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(subfd)) == NULL) {
		close(subfd);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.in_new = sub[0] == 'n';
	c.path = path;
	memcpy(path, sub, 3);
	path[3] = '/';
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((r = entry_time(subfd, de, &c)) == -1) {
			rc = -1;
			break;
		}
		/* A d_name is at most 255 bytes, and so is its base. */
		len = strnlen(de->d_name, sizeof(path) - 4);
		if (r == 1 || len == sizeof(path) - 4)
			continue;
		memcpy(path + 4, de->d_name, len + 1);
		colon = memchr(de->d_name, ':', len);
		ulen = colon != NULL ? (size_t)(colon - de->d_name) : len;
		c.sized = unique_sizes(de->d_name, ulen, &blen, &c.octets,
		    &c.size) == 0;
		c.blen = (unsigned char)blen;
		heap_offer(h, &c, 4 + len);
	}
	if (de == NULL && errno != 0)
		rc = -1;
	r = errno;
	closedir(d);
	errno = r;
	return rc;
}

/* Counts the file at m->path into m's sizes.  1 if skipped, 0, or -1. */
static int
count_file(int dirfd, struct mdmsg *m)
{
	uint64_t	octets;
	int		fd, rc;

	if ((fd = maildir_open_file(dirfd, m->path, &octets)) == -1)
		return errno == ENOENT || errno == EINVAL ? 1 : -1;
	rc = maildir_count(fd, &m->size);
	close(fd);
	m->octets = octets;
	return rc;
}

/* m's sizes, from its name or counted, and its UIDL.  As count_file. */
static int
fill_msg(int dirfd, struct mdmsg *m)
{
	const char	*name = m->path + 4;
	int		 r;

	if (!m->sized && (r = count_file(dirfd, m)) != 0)
		return r;
	if (maildir_plain_uidl(name, m->blen) == 0)
		maildir_msg_digest(m, 0);
	return 0;
}

int
maildir_same_uidl(const struct mdmsg *a, const struct mdmsg *b)
{
	const char	*p, *q;
	size_t		 n = maildir_msg_uidl(a, &p);

	return n == maildir_msg_uidl(b, &q) && memcmp(p, q, n) == 0;
}

int
maildir_scan(int dirfd, size_t max, struct mdmsg **out, size_t *n,
    size_t *total)
{
	struct heap	 h = { NULL, 0, max, 0 };
	size_t		 i, nv = 0;
	int		 r = 0, saved;

	if (max == 0) {
		errno = EINVAL;
		return -1;
	}
	if (scan_sub(dirfd, "new", &h) == -1 ||
	    scan_sub(dirfd, "cur", &h) == -1)
		goto fail;
	maildir_sort(h.v, h.n);
	for (i = 0; i < h.n; i++) {
		if ((r = fill_msg(dirfd, &h.v[i])) == -1) {
			/* Kept: those before nv, and those from i on (not yet
			 * filled); the ones between were freed. */
			memmove(h.v + nv, h.v + i, (h.n - i) * sizeof(*h.v));
			h.n = nv + (h.n - i);
			goto fail;
		}
		if (r == 1)
			free(h.v[i].path);	/* gone, or no file */
		else
			h.v[nv++] = h.v[i];
	}
	/*
	 * Two files of one base (a copy of a message popd renamed) sort
	 * together when their names start with a time: the later one
	 * answers to the digest of its whole unique part instead.
	 */
	for (i = 1; i < nv; i++)
		if (maildir_same_uidl(&h.v[i], &h.v[i - 1]))
			maildir_msg_digest(&h.v[i], 1);
	/* Grown in steps of 1024: what is not used goes back. */
	*out = xreallocarray(h.v, nv + 1, sizeof(*h.v));
	*n = nv;
	if (total != NULL)
		*total = h.total - (h.n - nv);
	return 0;
fail:
	saved = errno;
	maildir_free(h.v, h.n);
	errno = saved;
	return -1;
}

int
maildir_recount(int fd, struct mdmsg *m)
{
	struct stat	st;

	if (fstat(fd, &st) == -1 || lseek(fd, 0, SEEK_SET) == -1 ||
	    maildir_count(fd, &m->size) == -1)
		return -1;
	m->octets = (uint64_t)st.st_size;
	return 0;
}

int
maildir_settle(int dirfd, struct mdmsg *m)
{
	const char	*name = m->path + 4;
	const char	*info = name + strcspn(name, ":");
	char		 to[4 + 256 + 1];
	int		 len;

	len = snprintf(to, sizeof(to), "%.3s/%.*s" SUFFIX_MARK "%llu,W=%llu%s",
	    m->path, (int)maildir_base_len(name), name,
	    (unsigned long long)m->octets, (unsigned long long)m->size, info);
	if (len < 0 || (size_t)len >= sizeof(to) || len - 4 > 255) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (renameat2(dirfd, m->path, dirfd, to, RENAME_NOREPLACE) == -1)
		return -1;
	maildir_msg_path(m, xstrdup(to));
	m->sized = 1;		/* base and blen unchanged */
	return 0;
}

void
maildir_free(struct mdmsg *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (!v[i].lent)
			free(v[i].path);
		free(v[i].digest);
	}
	free(v);
}

void
maildir_msg_path(struct mdmsg *m, char *path)
{
	if (!m->lent)
		free(m->path);
	m->path = path;
	m->lent = 0;
}
