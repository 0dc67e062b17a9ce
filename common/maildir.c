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

void
maildir_uidl(const char *name, char uidl[POP3_UIDL_MAX + 1])
{
	size_t	len = unique_len(name), i;
	char	hex[65];

	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x21 ||
		    (unsigned char)name[i] > 0x7e)
			break;
	if (len > 0 && len <= POP3_UIDL_MAX && i == len) {
		memcpy(uidl, name, len);
		uidl[len] = '\0';
		return;
	}
	sha256_hex(name, len, hex);
	memcpy(uidl, hex, 65);
}

/* Finds ",<key>=<digits>" in the unique part of name. */
static int
name_field(const char *name, char key, uint64_t *out)
{
	size_t		 len = unique_len(name), n;
	const char	*p = name, *end = name + len;
	char		 num[24];

	while ((p = memchr(p, ',', (size_t)(end - p))) != NULL) {
		if (end - p > 3 && p[1] == key && p[2] == '=') {
			p += 3;
			n = strcspn(p, ",:");
			if (p + n > end)
				n = (size_t)(end - p);
			if (n == 0 || n >= sizeof(num))
				return -1;
			memcpy(num, p, n);
			num[n] = '\0';
			return num_parse(num, UINT64_MAX / 2, out);
		}
		p++;
	}
	return -1;
}

int
maildir_name_w(const char *name, uint64_t *w)
{
	return name_field(name, 'W', w);
}

int
maildir_name_s(const char *name, uint64_t *s)
{
	return name_field(name, 'S', s);
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
maildir_open_file(int dirfd, const char *path)
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
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Fills m for the regular file sub/name; 1 if skipped, 0, or -1. */
static int
scan_one(int subfd, const char *sub, const char *name, struct mdmsg *m)
{
	struct stat	st;
	int		fd, rc;

	if (fstatat(subfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 1 : -1;
	if (!S_ISREG(st.st_mode))
		return 1;
	memset(m, 0, sizeof(*m));
	m->mtime = st.st_mtime;
	m->in_new = sub[0] == 'n';
	if (maildir_name_w(name, &m->size) == 0)
		m->sized = 1;
	else {
		if ((fd = maildir_open_file(subfd, name)) == -1)
			return errno == ENOENT || errno == EINVAL ? 1 : -1;
		rc = maildir_count(fd, &m->size);
		close(fd);
		if (rc == -1)
			return -1;
	}
	maildir_uidl(name, m->uidl);
	m->path = xmalloc(strlen(sub) + 1 + strlen(name) + 1);
	strcpy(m->path, sub);
	strcat(m->path, "/");
	strcat(m->path, name);
	return 0;
}

/* Appends the messages of sub (new or cur) to *v. */
static int
scan_sub(int dirfd, const char *sub, struct mdmsg **v, size_t *n,
    size_t *cap)
{
	struct dirent	*de;
	DIR		*d;
	int		 subfd, rc = 0, r;

	if ((subfd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(subfd)) == NULL) {
		close(subfd);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == MAILDIR_MAX_ENTRIES) {
			errno = E2BIG;
			rc = -1;
			break;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*v = xreallocarray(*v, *cap, sizeof(**v));
		}
		if ((r = scan_one(subfd, sub, de->d_name, &(*v)[*n])) == -1) {
			rc = -1;
			break;
		}
		if (r == 0)
			(*n)++;
	}
	if (de == NULL && errno != 0)
		rc = -1;
	r = errno;
	closedir(d);
	errno = r;
	return rc;
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
		free((*hit)->path);
		(*hit)->path = xmalloc(strlen(sub) + strlen(de->d_name) + 2);
		sprintf((*hit)->path, "%s/%s", sub, de->d_name);
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
 * Oldest first; equal mtimes by the unique part of the name, which never
 * changes: the whole name would let RETR's new/NAME -> cur/NAME:2,S move
 * reorder the next session's list ("a:2,S" sorts after "a0").
 */
static int
cmp_msg(const void *a, const void *b)
{
	const struct mdmsg *x = a, *y = b;
	const char *xn = base_name(x->path), *yn = base_name(y->path);
	int	c;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	if ((c = cmp_unique(xn, yn)) != 0)
		return c;
	return strcmp(xn, yn);
}

int
maildir_scan(int dirfd, struct mdmsg **out, size_t *n)
{
	struct mdmsg	*v = NULL;
	size_t		 nv = 0, cap = 0;
	int		 saved;

	if (scan_sub(dirfd, "new", &v, &nv, &cap) == -1 ||
	    scan_sub(dirfd, "cur", &v, &nv, &cap) == -1) {
		saved = errno;
		maildir_free(v, nv);
		errno = saved;
		return -1;
	}
	if (nv > 0)
		qsort(v, nv, sizeof(*v), cmp_msg);
	*out = v;
	*n = nv;
	return 0;
}

void
maildir_free(struct mdmsg *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}
