/*
 * maildir_order.c: the login scan of a real temporary Maildir as DESIGN.md
 * states it: oldest first by the delivery time that starts a name (mtime
 * only for a name without one), the oldest max kept whatever the Maildir
 * holds, sizes from the name only when ",S=" and ",W=" agree, and
 * maildir_settle naming a counted message's sizes without changing its
 * UIDL or its place in the order.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildir.h"
#include "fixture.h"
#include "tap.h"

static char	top[64];
static int	dirfd_;

/* Writes the string body to top/path with mtime t. */
static void
mkfile(const char *path, const char *body, time_t t)
{
	char		p[512];
	struct timespec	ts[2];
	int		fd;

	snprintf(p, sizeof(p), "%s/%s", top, path);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, body, strlen(body)) != (ssize_t)strlen(body) ||
	    close(fd) == -1)
		die(p);
	ts[0].tv_sec = ts[1].tv_sec = t;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, p, ts, 0) == -1)
		die("utimensat");
}

static void
fresh(void)
{
	if (dirfd_ > 0)
		close(dirfd_);
	rm_tree(top);
	if (maildir_create(top) == -1 ||
	    (dirfd_ = open(top, O_RDONLY | O_DIRECTORY)) == -1)
		die("maildir_create");
}

static void
test_time(void)
{
	static const char *const want[] = {
		"cur/notime-old:2,S",		/* mtime 1600000000 */
		"new/1700000100.B.host",	/* mtime is newest of all */
		"cur/1700000200.A.host:2,S",
		"new/1700000200.A0.host",
		"new/notime-mid",		/* mtime 1700000250 */
		"cur/1700000300.C.host,popd,S=2,W=3:2,",
		"new/1700000300.C0.host",
	};
	char		 ubuf[POP3_UIDL_MAX + 1];
	struct mdmsg	*v;
	size_t		 n, i, total;

	fresh();
	mkfile("new/1700000100.B.host", "b", 1800000000);
	mkfile("cur/1700000200.A.host:2,S", "a", 1600000000);
	mkfile("new/1700000200.A0.host", "a0", 1600000000);
	mkfile("new/notime-mid", "m", 1700000250);
	mkfile("cur/notime-old:2,S", "o", 1600000000);
	/* The base decides a tie: popd's suffix does not move a message. */
	mkfile("new/1700000300.C0.host", "c0", 1);
	mkfile("cur/1700000300.C.host,popd,S=2,W=3:2,", "c\n", 1);
	if (!is_int(maildir_scan(dirfd_, 100, &v, &n, &total), 0, "scan"))
		return;
	is_int(n, 7, "7 messages");
	is_int(total, 7, "...of 7");
	for (i = 0; i < n && i < 7; i++)
		is_str(v[i].path, want[i], want[i]);
	if (n == 7) {
		is_int(v[1].time, 1700000100, "the name's time, not mtime");
		is_int(v[4].time, 1700000250, "mtime for a name without one");
		is_str(fixture_uidl(&v[5], ubuf), "1700000300.C.host",
		    "UIDL: the base");
	}
	maildir_free(v, n);
	ok(maildir_scan(dirfd_, 0, &v, &n, NULL) == -1 && errno == EINVAL,
	    "max 0: EINVAL");
}

static void
test_time_names(void)
{
	time_t	t = 0;

	ok(maildir_name_time("1700000000.M1P2.host", &t) == 0 &&
	    t == 1700000000, "seconds before '.'");
	ok(maildir_name_time("0.x", &t) == 0 && t == 0, "0.x is time 0");
	ok(maildir_name_time("123456789012345678.x", &t) == 0,
	    "18 digits");
	ok(maildir_name_time("1234567890123456789.x", &t) == -1,
	    "19 digits: no time");
	ok(maildir_name_time("1700000000", &t) == -1, "no '.': no time");
	ok(maildir_name_time(".1700000000", &t) == -1, "no digits");
	ok(maildir_name_time("17x.host", &t) == -1, "17x.host");
	ok(maildir_name_time("", &t) == -1, "empty");
}

/* Entries in random order; the oldest max come back, in order. */
static void
test_cap(void)
{
	struct mdmsg	*v;
	unsigned	 seed = 7, order[300], k, tmp;
	size_t		 n, i, total;
	char		 p[64];
	int		 good = 1;

	fresh();
	for (k = 0; k < 300; k++)
		order[k] = k;
	for (k = 299; k > 0; k--) {
		seed = seed * 1103515245 + 12345;
		i = (seed >> 16) % (k + 1);
		tmp = order[k];
		order[k] = order[i];
		order[i] = tmp;
	}
	for (k = 0; k < 300; k++) {
		/* Two per second: the tie goes by the base. */
		snprintf(p, sizeof(p), "%s/%u.M%03uP1.h,S=1,W=3",
		    order[k] % 3 ? "new" : "cur", 1700000000 + order[k] / 2,
		    order[k]);
		mkfile(p, "x", 1);
	}
	if (!is_int(maildir_scan(dirfd_, 25, &v, &n, &total), 0,
	    "scan of 300 with max 25"))
		return;
	is_int(n, 25, "25 listed");
	is_int(total, 300, "...of 300");
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%u.M%03zuP1.h,S=1,W=3",
		    1700000000 + (unsigned)i / 2, i);
		good &= strcmp(v[i].path + 4, p) == 0 && v[i].sized;
	}
	ok(good, "the 25 oldest, oldest first, sizes from the names");
	maildir_free(v, n);
	if (is_int(maildir_scan(dirfd_, 1, &v, &n, NULL), 0, "max 1")) {
		ok(n == 1 && strcmp(v[0].path + 4,
		    "1700000000.M000P1.h,S=1,W=3") == 0, "...the oldest");
		maildir_free(v, n);
	}
}

static void
test_trust(void)
{
	static const struct {
		const char	*name, *body;
		int		 sized;
		uint64_t	 size;
	} t[] = {
		{ "1.a,S=3,W=5", "a\nb", 1, 5 },	/* as the name says */
		{ "2.b,W=5", "a\nb", 0, 6 },		/* W alone: counted */
		{ "3.c,S=3", "a\nb", 0, 6 },		/* S alone: counted */
		{ "4.d,S=17,W=5", "a\nb", 0, 6 },	/* W < S: a lie */
		{ "5.e,S=1,W=5", "a\nb", 0, 6 },	/* W > 2S + 2 */
		{ "6.f,S=0,W=0", "", 1, 0 },
		{ "7.g,S=0,W=2", "", 0, 0 },
		/* popd's suffix wins over a lie before it */
		{ "8.h,S=17,W=5,popd,S=3,W=6", "a\nb", 1, 6 },
		/* not popd's suffix (not at the end): plain fields */
		{ "9.i,popd,S=3,W=7,x", "a\nb", 1, 7 },
		/* malformed: the first ",W=" is empty */
		{ "10.j,popd,S=3,W=", "a\nb", 0, 6 },
	};
	struct mdmsg	*v;
	size_t		 n, i;
	char		 p[128];

	fresh();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(p, sizeof(p), "new/%s", t[i].name);
		mkfile(p, t[i].body, 1);
	}
	if (!is_int(maildir_scan(dirfd_, 100, &v, &n, NULL), 0, "scan"))
		return;
	if (!is_int(n, sizeof(t) / sizeof(t[0]), "all listed")) {
		maildir_free(v, n);
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s: %s, %llu octets", t[i].name,
		    t[i].sized ? "from the name" : "counted",
		    (unsigned long long)t[i].size);
		ok(strcmp(v[i].path + 4, t[i].name) == 0 &&
		    v[i].sized == t[i].sized && v[i].size == t[i].size, p);
		if (!v[i].sized)
			is_int(v[i].octets, strlen(t[i].body),
			    "...and its octets are its length");
	}
	maildir_free(v, n);
}

static void
test_settle(void)
{
	struct mdmsg	*v, m;
	char		 uidl[POP3_UIDL_MAX + 1], ubuf[POP3_UIDL_MAX + 1];
	char		 p[512];
	size_t		 n;
	int		 fd;

	fresh();
	mkfile("cur/1700000000.X.host:2,RS", "one\ntwo\n", 1);
	mkfile("new/1700000001.Y.host,S=5,W=1", "12345", 1);
	if (!is_int(maildir_scan(dirfd_, 100, &v, &n, NULL), 0, "scan") ||
	    !is_int(n, 2, "two"))
		return;
	ok(!v[0].sized && v[0].size == 10 && v[0].octets == 8,
	    "a name without sizes: counted, 10 octets");
	snprintf(uidl, sizeof(uidl), "%s", fixture_uidl(&v[0], ubuf));
	is_int(maildir_settle(dirfd_, &v[0]), 0, "maildir_settle");
	is_str(v[0].path, "cur/1700000000.X.host,popd,S=8,W=10:2,RS",
	    "...names the sizes, keeps the info");
	ok(v[0].sized, "...sized now");
	is_int(maildir_settle(dirfd_, &v[1]), 0, "a lying name settled");
	is_str(v[1].path, "new/1700000001.Y.host,S=5,W=1,popd,S=5,W=7",
	    "...popd's suffix after the lie");
	maildir_free(v, n);

	if (!is_int(maildir_scan(dirfd_, 100, &v, &n, NULL), 0, "rescan") ||
	    !is_int(n, 2, "two"))
		return;
	ok(v[0].sized && v[0].size == 10 && v[0].octets == 8,
	    "the next scan reads the sizes from the name");
	is_str(fixture_uidl(&v[0], ubuf), uidl, "the UIDL did not change");
	is_str(fixture_uidl(&v[0], ubuf), "1700000000.X.host",
	    "...it is the base");
	ok(v[1].sized && v[1].size == 7, "popd's suffix wins over the lie");
	is_str(fixture_uidl(&v[1], ubuf), "1700000001.Y.host,S=5,W=1",
	    "...same UIDL");

	/* Changed again: the old suffix is replaced, not stacked. */
	snprintf(p, sizeof(p), "%s/%s", top, v[0].path);
	mkfile(v[0].path, "one\n", 1);
	if ((fd = maildir_open_file(dirfd_, v[0].path, NULL)) == -1)
		die(p);
	m = v[0];
	m.path = strdup(v[0].path);
	ok(maildir_recount(fd, &m) == 0 && m.size == 5 && m.octets == 4,
	    "maildir_recount: 4 octets, 5 on the wire");
	close(fd);
	is_int(maildir_settle(dirfd_, &m), 0, "settled again");
	is_str(m.path, "cur/1700000000.X.host,popd,S=4,W=5:2,RS",
	    "...one suffix, the new sizes");
	free(m.path);

	/* A name taken: never replaced. */
	mkfile("new/1700000002.Z.host", "z", 1);
	mkfile("new/1700000002.Z.host,popd,S=1,W=3", "other", 1);
	m = v[1];
	m.path = strdup("new/1700000002.Z.host");
	m.octets = 1;
	m.size = 3;
	errno = 0;
	ok(maildir_settle(dirfd_, &m) == -1 && errno == EEXIST,
	    "a name taken: EEXIST");
	is_str(m.path, "new/1700000002.Z.host", "...the path unchanged");
	free(m.path);
	maildir_free(v, n);
}

int
main(void)
{
	snprintf(top, sizeof(top), "/tmp/popd-unit.XXXXXX");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	test_time_names();
	test_time();
	test_cap();
	test_trust();
	test_settle();
	close(dirfd_);
	rm_tree(top);
	return done_testing();
}
