/*
 * mdcache.c: the listing kept between logins (common/mdcache.h), on a
 * real temporary Maildir.  Kept only when the rules allow (settled
 * directories, every size and time from the names); loaded, it is the
 * scan's listing field for field, digests and twins included; any change
 * of new/ or cur/, another max, every one-bit corruption and every
 * truncation of the file, and paths that a scan could not list (with a
 * right checksum) make it refused.  Paths lent from the listing's block
 * can be replaced and freed.  new/ as a symbolic link is followed, as the
 * scan follows it.  The stamp is moved forward by hand rather
 * than waiting out POPD_LISTING_SETTLE.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildir.h"
#include "mdcache.h"
#include "params.h"
#include "util.h"
#include "fixture.h"
#include "tap.h"

static char	top[64];
static int	dirfd_;

static void
put(const char *path, const char *text)
{
	put_file(top, path, text);
}

/* A stamp of now, POPD_LISTING_SETTLE + 1 s later than it was taken. */
static struct mdstamp
stamp(void)
{
	struct mdstamp	st;

	if (mdcache_stamp(dirfd_, &st) == -1)
		die("mdcache_stamp (is /tmp ext4, XFS, Btrfs or tmpfs?)");
	st.at += POPD_LISTING_SETTLE + 1;
	return st;
}

static int
scan(struct mdmsg **v, size_t *n, size_t *total)
{
	return maildir_scan(dirfd_, 100, v, n, total);
}

/* 1 when the two listings are the same, field for field. */
static int
same(const struct mdmsg *a, size_t na, const struct mdmsg *b, size_t nb)
{
	const char	*p, *q;
	size_t		 i, k;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		k = maildir_msg_uidl(&a[i], &p);
		if (strcmp(a[i].path, b[i].path) != 0 ||
		    a[i].time != b[i].time || a[i].size != b[i].size ||
		    a[i].octets != b[i].octets || a[i].blen != b[i].blen ||
		    a[i].in_new != b[i].in_new || !b[i].sized ||
		    b[i].deleted || b[i].retrieved ||
		    k != maildir_msg_uidl(&b[i], &q) || memcmp(p, q, k) != 0) {
			printf("# entry %zu: %s vs %s\n", i, a[i].path,
			    b[i].path);
			return 0;
		}
	}
	return 1;
}

static char *
slurp(size_t *len)
{
	static char	buf[65536];
	ssize_t		k;
	int		fd;

	if ((fd = openat(dirfd_, MDCACHE_NAME, O_RDONLY)) == -1)
		return NULL;
	k = read(fd, buf, sizeof(buf));
	close(fd);
	if (k <= 0)
		return NULL;
	*len = (size_t)k;
	return buf;
}

/* The bytes of the paths in a file of len bytes for listing v[0..n). */
static size_t
names_len(const struct mdmsg *v, size_t n)
{
	size_t	i, t = 0;

	for (i = 0; i < n; i++)
		t += strlen(v[i].path) + 1;
	return t;
}

/* Seals buf (its two checksums) after a change to its paths. */
static void
seal(char *buf, size_t len, size_t names)
{
	uint64_t	sum[2];
	size_t		hlen = len - 16 - names;

	sum[0] = mdcache_sum(buf, hlen);
	sum[1] = mdcache_sum(buf + hlen, names);
	memcpy(buf + len - 16, sum, 16);
}

static int
parse(const char *buf, size_t len, const struct mdstamp *st)
{
	struct mdmsg	*v;
	size_t		 n, total;

	if (mdcache_parse(buf, len, st, 100, &v, &n, &total) == -1)
		return -1;
	maildir_free(v, n);
	return 0;
}

int
main(void)
{
	struct mdstamp	 st, st2;
	struct mdmsg	*v, *w;
	size_t		 n, nw, total, tw, len, i, names, bad;
	char		*file, *copy, *p, what[128];

	snprintf(top, sizeof(top), "/tmp/popd-unit.XXXXXX");
	if (mkdtemp(top) == NULL || maildir_create(top) == -1 ||
	    (dirfd_ = open(top, O_RDONLY | O_DIRECTORY)) == -1)
		die("maildir");
	put("new/1700000003.C.host,S=6,W=7", "third\n");
	put("new/1700000001.A.host,S=6,W=7", "first\n");
	put("cur/1700000002.B b.host,S=7,W=8:2,S", "second\n");	/* digest */
	put("cur/1700000004.T.host,S=6,W=7:2,", "twin1\n");
	put("cur/1700000004.T.host,S=6,W=7,popd,S=6,W=7:2,S", "twin2\n");

	/* Not settled: a change within POPD_LISTING_SETTLE of the stamp. */
	if (mdcache_stamp(dirfd_, &st) == -1)
		die("mdcache_stamp");
	if (scan(&v, &n, &total) == -1)
		die("scan");
	ok(mdcache_save(dirfd_, &st, 100, v, n, total) == -1 &&
	    faccessat(dirfd_, MDCACHE_NAME, F_OK, 0) == -1,
	    "a stamp taken right after a change: not kept");
	maildir_free(v, n);

	st = stamp();
	if (scan(&v, &n, &total) == -1)
		die("scan");
	ok(v[1].digest != NULL && v[4].digest != NULL && v[4].whole,
	    "the corpus has a digest UIDL and a twin");
	is_int(mdcache_save(dirfd_, &st, 100, v, n, total), 0, "settled: kept");
	if (!is_int(mdcache_load(dirfd_, &st, 100, &w, &nw, &tw), 0,
	    "loaded with the same stamp"))
		return done_testing();
	ok(same(v, n, w, nw) && tw == total, "the scan's listing, field for "
	    "field, UIDLs included");
	ok(w[0].lent && w[n - 1].lent, "its paths lie in its block");
	maildir_msg_path(&w[0], xstrdup("new/1700000001.A.host,S=6,W=7,x"));
	ok(!w[0].lent, "a path replaced is the message's own");
	maildir_free(w, nw);
	ok(mdcache_load(dirfd_, &st, 99, &w, &nw, &tw) == -1,
	    "another max-messages: refused");

	/* Every one-bit corruption and every truncation is refused. */
	if ((file = slurp(&len)) == NULL)
		die("slurp");
	copy = xmalloc(len);
	memcpy(copy, file, len);
	is_int(parse(copy, len, &st), 0, "the file parses as it is");
	for (i = bad = 0; i < len * 8; i++) {
		copy[i / 8] ^= (char)(1 << (i % 8));
		if (parse(copy, len, &st) == 0)
			bad++;
		copy[i / 8] ^= (char)(1 << (i % 8));
	}
	is_int(bad, 0, "each of its bits flipped: refused");
	for (i = bad = 0; i < len; i++)
		if (parse(copy, i, &st) == 0)
			bad++;
	is_int(bad, 0, "each of its truncations: refused");

	/* Right checksums, paths that no scan lists. */
	names = names_len(v, n);
	p = copy + (len - 16 - names);		/* the first path */
	ok(strcmp(p, v[0].path) == 0, "the paths start where computed");
	{
		static const char *const lies[] = {
			"new/.70000001.A.host,S=6,W=7",	/* a dot file */
			"new/1/00000001.A.host,S=6,W=7",	/* a slash */
			"tmp/1700000001.A.host,S=6,W=7",	/* not new/ */
			"cur/1700000001.A.host,S=6,W=7",	/* flag says new */
		};
		for (i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
			memcpy(copy, file, len);
			memcpy(p, lies[i], strlen(lies[i]));
			seal(copy, len, names);
			snprintf(what, sizeof(what), "a path %s: refused",
			    lies[i]);
			ok(parse(copy, len, &st) == -1, what);
		}
		memcpy(copy, file, len);
		p[3] = '\0';		/* "new" and a NUL inside the path */
		seal(copy, len, names);
		ok(parse(copy, len, &st) == -1, "a NUL inside a path: refused");
		memcpy(copy, file, len);
		seal(copy, len, names);
		is_int(parse(copy, len, &st), 0, "resealed as it was: parses");
	}
	free(copy);

	/* Any change of new/ or cur/ makes it stale. */
	put("new/1700000005.D.host,S=6,W=7", "fifth\n");
	st2 = stamp();
	ok(mdcache_load(dirfd_, &st2, 100, &w, &nw, &tw) == -1,
	    "a delivery to new/: refused");
	if (unlinkat(dirfd_, "new/1700000005.D.host,S=6,W=7", 0) == -1)
		die("unlink");
	st2 = stamp();
	ok(mdcache_load(dirfd_, &st2, 100, &w, &nw, &tw) == -1,
	    "the same entries again, later: refused (ctime)");
	if (renameat(dirfd_, "cur/1700000004.T.host,S=6,W=7:2,", dirfd_,
	    "cur/1700000004.T.host,S=6,W=7:2,T") == -1)
		die("rename");
	st2 = stamp();
	ok(mdcache_load(dirfd_, &st2, 100, &w, &nw, &tw) == -1,
	    "new flags on a file in cur/: refused");

	/* new/ a symbolic link: a change in the directory it names. */
	maildir_free(v, n);
	{
		char	link[128];

		snprintf(link, sizeof(link), "%s/new", top);
		if (renameat(dirfd_, "new", dirfd_, "realnew") == -1 ||
		    symlink("realnew", link) == -1)
			die("symlink");
		st = stamp();
		if (scan(&v, &n, &total) == -1)
			die("scan");
		is_int(mdcache_save(dirfd_, &st, 100, v, n, total), 0,
		    "new/ a symbolic link: kept");
		put("realnew/1700000007.L.host,S=6,W=7", "link1\n");
		st2 = stamp();
		ok(mdcache_load(dirfd_, &st2, 100, &w, &nw, &tw) == -1,
		    "a delivery into the directory it names: refused");
		if (unlink(link) == -1 ||
		    renameat(dirfd_, "realnew", dirfd_, "new") == -1)
			die("unlink");
	}

	/* What a scan cannot vouch for is not kept. */
	maildir_free(v, n);
	put("new/noleadingtime.host,S=6,W=7", "mtime\n");
	st = stamp();
	if (scan(&v, &n, &total) == -1)
		die("scan");
	ok(mdcache_save(dirfd_, &st, 100, v, n, total) == -1,
	    "a name without a time (ordered by mtime): not kept");
	maildir_free(v, n);
	if (unlinkat(dirfd_, "new/noleadingtime.host,S=6,W=7", 0) == -1)
		die("unlink");
	put("new/1700000006.U.host", "unsized\n");
	st = stamp();
	if (scan(&v, &n, &total) == -1)
		die("scan");
	ok(mdcache_save(dirfd_, &st, 100, v, n, total) == -1,
	    "a name without sizes (counted): not kept");
	maildir_free(v, n);

	close(dirfd_);
	rm_tree(top);
	return done_testing();
}
