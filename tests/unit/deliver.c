/*
 * deliver.c: durable Maildir delivery (common/deliver.h) in a temporary
 * Maildir: the name in new/ (UNIQUE as documented, ",S=" the bytes, ",W="
 * the wire size of common/wire.h computed here byte by byte), the bytes
 * themselves, tmp/ emptied by commit, abort and drop; a partial commit;
 * recover of a pending name; clean_tmp removing only our marker's files;
 * exists in new/ and cur/; batches taken out of the registry, synced and
 * committed (by syncfs and by the fdatasync fallback) while the registry
 * goes on writing, and dropped.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "maildir.h"
#include "fixture.h"
#include "tap.h"

#define MARKER	"test"

static char	top[64];		/* the temporary directory */
static char	md[96];			/* top/Maildir */

static void
cleanup(void)
{
	rm_tree(top);
}

/* Removes the Maildir: the next test starts without one. */
static void
remove_md(void)
{
	rm_tree(md);
}

/* 1 when md/sub/name exists. */
static int
present(const char *sub, const char *name)
{
	char		 p[400];
	struct stat	 sb;

	snprintf(p, sizeof(p), "%s/%s/%s", md, sub, name);
	return lstat(p, &sb) == 0;
}

/* 1 when md/sub/name holds exactly the len bytes at want. */
static int
holds(const char *sub, const char *name, const void *want, size_t len)
{
	char		 p[400], *buf;
	ssize_t		 n;
	int		 fd, same;

	snprintf(p, sizeof(p), "%s/%s/%s", md, sub, name);
	if ((fd = open(p, O_RDONLY)) == -1)
		return 0;
	if ((buf = malloc(len + 1)) == NULL)
		die("malloc");
	n = read(fd, buf, len + 1);
	close(fd);
	same = n == (ssize_t)len && memcmp(buf, want, len) == 0;
	free(buf);
	return same;
}

/* Creates md/sub/name with a few bytes. */
static void
mkfile(const char *sub, const char *name)
{
	char	 p[400];
	int	 fd;

	snprintf(p, sizeof(p), "%s/%s/%s", md, sub, name);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, "x\n", 2) != 2 || close(fd) == -1)
		die(p);
}

static void
move(const char *from, const char *to)
{
	char	 a[400], b[400];

	snprintf(a, sizeof(a), "%s/%s", md, from);
	snprintf(b, sizeof(b), "%s/%s", md, to);
	if (rename(a, b) == -1)
		die(a);
}

/*
 * 1 when unique is "<sec>.M<usec>P<pid>Q<seq>_<marker>.<host>" with sec
 * within [t0, now], usec six digits, our pid, the given seq.
 */
static int
unique_ok(const struct deliver *d, const char *unique, time_t t0,
    unsigned long seq)
{
	long long	 sec;
	long		 pid;
	unsigned long	 q;
	char		 usec[8], rest[DELIVER_UNIQUE_MAX + 2];
	struct timeval	 now;
	int		 n = -1;

	if (sscanf(unique, "%lld.M%6[0-9]P%ldQ%lu_%n", &sec, usec, &pid, &q,
	    &n) != 4 || n == -1) {
		printf("#   '%s': not <sec>.M<usec>P<pid>Q<seq>_\n", unique);
		return 0;
	}
	snprintf(rest, sizeof(rest), "%s.%s", d->marker, d->host);
	/* gettimeofday, as deliver.c: time(2) reads a coarser clock that
	 * may still say the last second. */
	gettimeofday(&now, NULL);
	if (sec < (long long)t0 - 1 || sec > (long long)now.tv_sec ||
	    strlen(usec) != 6 || pid != (long)getpid() || q != seq ||
	    strcmp(unique + n, rest) != 0) {
		printf("#   '%s': sec %lld usec %s pid %ld seq %lu rest '%s'\n",
		    unique, sec, usec, pid, q, unique + n);
		return 0;
	}
	return 1;
}

static void
test_open(void)
{
	static const char *const	 bad[] = { "", "Test", "a-b", "a.b",
	    "a_b", "a/b", "0123456789abcdef" };
	struct deliver			 d;
	struct stat			 sb;
	char				 p[160], name[80];
	size_t				 i;
	int				 good = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		snprintf(name, sizeof(name), "marker '%s': EINVAL", bad[i]);
		ok(deliver_open(&d, md, bad[i]) == -1 && errno == EINVAL, name);
		deliver_close(&d);
	}
	ok(count_entries(md, "") == -1, "a refused marker creates nothing");
	snprintf(p, sizeof(p), "%s/no/such/dir", top);
	ok(deliver_open(&d, p, MARKER) == -1, "a path whose parent is "
	    "missing: -1");
	deliver_close(&d);
	deliver_close(&d);
	ok(1, "deliver_close after a failed open, twice: harmless");

	ok(deliver_open(&d, "/nonexistent-dir/x", "0123456789abcde") == -1 &&
	    errno == ENOENT, "a 15-character marker is accepted (ENOENT "
	    "after it)");
	ok(deliver_open(&d, md, MARKER) == 0, "deliver_open creates the "
	    "Maildir");
	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", md,
		    (const char *[]){ "", "tmp", "new", "cur" }[i]);
		good = good && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    (sb.st_mode & 07777) == 0700;
	}
	ok(good, "Maildir, tmp/, new/, cur/: directories, mode 0700");
	ok(strcmp(d.marker, MARKER) == 0, "the marker is kept");
	ok(d.host[0] != '\0' && strpbrk(d.host, "/:,") == NULL,
	    "the host part has no '/', ':' or ','");
	for (i = 0; d.host[i] != '\0'; i++)
		good = good && (unsigned char)d.host[i] > 0x20 &&
		    (unsigned char)d.host[i] < 0x7f;
	ok(good, "...and no space, control or 8-bit byte");
	deliver_close(&d);
	deliver_close(&d);
	ok(d.dirfd == -1 && d.tmpfd == -1 && d.newfd == -1,
	    "deliver_close closes, twice is harmless");
	ok(deliver_open(&d, md, MARKER) == 0, "deliver_open of an existing "
	    "Maildir");
	deliver_close(&d);
}

/* Writes msg in chunks of up to chunk bytes (0: one write). */
static int
write_chunks(struct dmsg *m, const unsigned char *msg, size_t len,
    size_t chunk)
{
	size_t	 off = 0, n;

	if (len == 0)
		return deliver_write(m, msg, 0);
	while (off < len) {
		n = chunk ? 1 + (size_t)random() % chunk : len;
		if (n > len - off)
			n = len - off;
		if (deliver_write(m, msg + off, n) == -1)
			return -1;
		off += n;
	}
	return 0;
}

struct body {
	const char	*name;
	const char	*bytes;
	size_t		 len;
};

#define B(name, lit)	{ name, lit, sizeof(lit) - 1 }

static const struct body bodies[] = {
	B("empty", ""),
	B("one byte", "a"),
	B("LF", "a\n"),
	B("CRLF", "a\r\n"),
	B("bare CR", "\r"),
	B("a lone LF", "\n"),
	B("mixed", "From: x\nSubject: y\r\n\nline\r\nlast"),
	B("CR CR LF", "x\r\r\n"),
	B("NUL bytes", "a\0b\0\n\0"),
	B("dots", ".\n..\r\n.x"),
};

static void
test_commit(void)
{
	const size_t	 nb = sizeof(bodies) / sizeof(bodies[0]);
	struct deliver	 d;
	struct dmsg	*m[sizeof(bodies) / sizeof(bodies[0]) + 1];
	unsigned char	*big;
	char		 want[DELIVER_NAME_MAX + 32], msg[160];
	const unsigned char *p;
	size_t		 i, len, biglen = 300 * 1024;
	uint64_t	 w, s;
	time_t		 t0 = time(NULL);
	int		 good;

	if ((big = malloc(biglen)) == NULL)
		die("malloc");
	srandom(11);
	for (i = 0; i < biglen; i++)
		big[i] = (unsigned char)"a\r\n.\n\0"[random() % 6];
	if (deliver_open(&d, md, MARKER) == -1)
		die("deliver_open");

	for (i = 0; i <= nb; i++) {
		p = i < nb ? (const unsigned char *)bodies[i].bytes : big;
		len = i < nb ? bodies[i].len : biglen;
		snprintf(msg, sizeof(msg), "%s: begin, write, finish",
		    i < nb ? bodies[i].name : "300 KB in random chunks");
		good = deliver_begin(&d, &m[i]) == 0 &&
		    m[i]->state == DM_WRITING && present("tmp", m[i]->unique) &&
		    write_chunks(m[i], p, len, i < nb ? 1 : 65536) == 0 &&
		    deliver_finish(m[i]) == 0 && m[i]->state == DM_WRITTEN &&
		    m[i]->fd == -1;
		ok(good, msg);
		snprintf(want, sizeof(want), "%s,S=%zu,W=%" PRIu64,
		    m[i]->unique, len, ref_wire(p, len));
		snprintf(msg, sizeof(msg), "%s: name is UNIQUE,S=%zu,W=%" PRIu64,
		    i < nb ? bodies[i].name : "300 KB", len, ref_wire(p, len));
		is_str(m[i]->name, want, msg);
		ok(m[i]->size == len && wire_count_final(&m[i]->wc) ==
		    ref_wire(p, len), "size and wire count kept");
		ok(unique_ok(&d, m[i]->unique, t0, i + 1), "UNIQUE is "
		    "<sec>.M<usec>P<pid>Q<seq>_<marker>.<host>");
		ok(strpbrk(m[i]->name, "/:") == NULL, "no '/' or ':' in the "
		    "name");
		ok(maildir_name_s(m[i]->name, &s) == 0 && s == len &&
		    maildir_name_w(m[i]->name, &w) == 0 &&
		    w == ref_wire(p, len), "popd reads the same S= and W=");
	}
	is_int(count_entries(md, "tmp"), nb + 1, "all in tmp/ before the commit");
	is_int(count_entries(md, "new"), 0, "nothing in new/ yet");
	is_int(deliver_sync_tmp(&d), 0, "deliver_sync_tmp");
	is_int(deliver_commit(&d), 0, "deliver_commit");
	is_int(count_entries(md, "tmp"), 0, "tmp/ empty after the commit");
	is_int(count_entries(md, "new"), nb + 1, "every message in new/");
	good = 1;
	for (i = 0; i <= nb; i++) {
		p = i < nb ? (const unsigned char *)bodies[i].bytes : big;
		len = i < nb ? bodies[i].len : biglen;
		good = good && m[i]->state == DM_DELIVERED &&
		    holds("new", m[i]->name, p, len);
	}
	ok(good, "DM_DELIVERED, and new/ holds the bytes written");
	is_int(deliver_commit(&d), 0, "a second commit has nothing to do");

	/* popd lists them with the W= size. */
	{
		struct mdmsg	*list;
		size_t		 n = 0, j;
		int		 r;

		r = maildir_scan(d.dirfd, 1000, &list, &n, NULL);
		good = r == 0 && n == nb + 1;
		for (j = 0; good && j < n; j++) {
			for (i = 0; i <= nb; i++)
				if (strcmp(list[j].path + 4, m[i]->name) == 0)
					break;
			good = i <= nb && list[j].sized &&
			    list[j].size == ref_wire(i < nb ?
			    (const unsigned char *)bodies[i].bytes : big,
			    i < nb ? bodies[i].len : biglen);
		}
		ok(good, "maildir_scan lists each with its wire size");
		if (r == 0)
			maildir_free(list, n);
	}

	/* Writes after the end are refused. */
	errno = 0;
	ok(deliver_write(m[0], "x", 1) == -1 && errno == EBADF,
	    "write after commit: EBADF");
	errno = 0;
	ok(deliver_finish(m[0]) == -1 && errno == EBADF,
	    "finish after commit: EBADF");

	deliver_reset(&d);
	is_int(d.nmsgs, 0, "reset forgets delivered messages");
	is_int(count_entries(md, "new"), nb + 1, "...and leaves new/ alone");

	/* Many in a row: every UNIQUE different (the sequence number). */
	good = 1;
	for (i = 0; i < 200 && good; i++) {
		good = deliver_begin(&d, &m[0]) == 0 &&
		    deliver_write(m[0], "x\n", 2) == 0 &&
		    deliver_finish(m[0]) == 0;
	}
	ok(good && d.nmsgs == 200 && count_entries(md, "tmp") == 200,
	    "200 messages begun in a row: 200 tmp files");
	is_int(deliver_commit(&d), 0, "commit them");
	is_int(count_entries(md, "new"), nb + 1 + 200, "200 more in new/, none lost to "
	    "a name clash");
	deliver_close(&d);
	free(big);
	remove_md();
}

static void
test_abort_drop(void)
{
	struct deliver	 d;
	struct dmsg	*a, *b, *c, *e;

	if (deliver_open(&d, md, MARKER) == -1)
		die("deliver_open");
	deliver_begin(&d, &a);
	deliver_write(a, "delivered\n", 10);
	deliver_finish(a);
	is_int(deliver_commit(&d), 0, "commit one");
	deliver_begin(&d, &b);
	deliver_write(b, "writing\n", 8);		/* left DM_WRITING */
	deliver_begin(&d, &c);
	deliver_write(c, "written\n", 8);
	deliver_finish(c);				/* DM_WRITTEN */
	deliver_begin(&d, &e);
	is_int(count_entries(md, "tmp"), 3, "three in tmp/");

	is_int(deliver_drop(&d, e), 0, "drop a message being written");
	ok(e->state == DM_DROPPED && e->fd == -1 && !present("tmp", e->unique),
	    "...its tmp file is gone");
	errno = 0;
	ok(deliver_write(e, "x", 1) == -1 && errno == EBADF,
	    "write after drop: EBADF");
	is_int(deliver_drop(&d, e), 0, "drop twice: 0");
	is_int(deliver_drop(&d, a), 0, "drop a delivered message: 0");
	ok(present("new", a->name), "...it stays in new/");

	deliver_abort(&d);
	is_int(count_entries(md, "tmp"), 0, "abort: tmp/ empty (writing and written)");
	is_int(count_entries(md, "new"), 1, "abort: new/ keeps the delivered one");
	is_int(d.nmsgs, 0, "abort: the registry is empty");
	ok(deliver_begin(&d, &b) == 0 && deliver_write(b, "y\n", 2) == 0 &&
	    deliver_finish(b) == 0 && deliver_commit(&d) == 0 &&
	    count_entries(md, "new") == 2, "after abort, deliveries go on");

	/* deliver_close aborts. */
	deliver_begin(&d, &b);
	deliver_write(b, "z\n", 2);
	deliver_close(&d);
	is_int(count_entries(md, "tmp"), 0, "deliver_close removes unfinished tmp files");
	is_int(count_entries(md, "new"), 2, "...and no more");
	remove_md();
}

/* A commit that fails halfway: earlier ones delivered, later ones kept. */
static void
test_partial_commit(void)
{
	struct deliver	 d;
	struct dmsg	*m[3];
	char		 p[400];
	int		 i;

	if (deliver_open(&d, md, MARKER) == -1)
		die("deliver_open");
	for (i = 0; i < 3; i++) {
		deliver_begin(&d, &m[i]);
		deliver_write(m[i], "m\n", 2);
		deliver_finish(m[i]);
	}
	snprintf(p, sizeof(p), "%s/tmp/%s", md, m[1]->unique);
	if (unlink(p) == -1)
		die(p);
	errno = 0;
	ok(deliver_commit(&d) == -1 && errno == ENOENT,
	    "commit with the second tmp file gone: -1, ENOENT");
	ok(m[0]->state == DM_DELIVERED && present("new", m[0]->name),
	    "the first was renamed: DM_DELIVERED");
	ok(m[1]->state == DM_WRITTEN && m[2]->state == DM_WRITTEN,
	    "the second and third: still DM_WRITTEN");
	ok(present("tmp", m[2]->unique) && !present("new", m[2]->name),
	    "the third is still in tmp/");
	deliver_reset(&d);
	is_int(d.nmsgs, 2, "reset keeps the two not delivered");
	deliver_abort(&d);
	ok(count_entries(md, "tmp") == 0 && count_entries(md, "new") == 1,
	    "abort removes the third; new/ keeps the first");
	deliver_close(&d);
	remove_md();
}

static int
keep_one(void *arg, const char *unique)
{
	return strcmp(unique, (const char *)arg) == 0;
}

static void
test_recover_clean(void)
{
	struct deliver	 d;
	struct dmsg	*a, *b, *c;
	char		 na[DELIVER_NAME_MAX], nb[DELIVER_NAME_MAX];
	char		 ub[DELIVER_UNIQUE_MAX], uc[DELIVER_UNIQUE_MAX];
	char		 name[DELIVER_NAME_MAX + 16], longname[400];
	int		 good;

	if (deliver_open(&d, md, MARKER) == -1)
		die("deliver_open");
	/* A run that recorded three as pending, then died before commit. */
	deliver_begin(&d, &a);
	deliver_write(a, "pending one\n", 12);
	deliver_finish(a);
	deliver_begin(&d, &b);
	deliver_write(b, "pending two\n", 12);
	deliver_finish(b);
	deliver_begin(&d, &c);
	deliver_write(c, "half", 4);			/* never finished */
	is_int(deliver_sync_tmp(&d), 0, "sync_tmp");
	snprintf(na, sizeof(na), "%s", a->name);
	snprintf(nb, sizeof(nb), "%s", b->name);
	snprintf(ub, sizeof(ub), "%s", b->unique);
	snprintf(uc, sizeof(uc), "%s", c->unique);
	deliver_release(&d);
	is_int(d.nmsgs, 0, "release empties the registry");
	is_int(count_entries(md, "tmp"), 3, "...and leaves the files in tmp/");
	deliver_close(&d);
	is_int(count_entries(md, "tmp"), 3, "close after release removes nothing");

	/* The next run. */
	if (deliver_open(&d, md, MARKER) == -1)
		die("deliver_open");
	is_int(deliver_recover(&d, na), 1, "recover a pending name: 1");
	ok(holds("new", na, "pending one\n", 12) && count_entries(md, "tmp") == 2,
	    "...moved to new/ under its recorded name, bytes intact");
	is_int(deliver_recover(&d, na), 0, "recover it again: 0");
	is_int(count_entries(md, "new"), 1, "...nothing more in new/");
	errno = 0;
	ok(deliver_recover(&d, "1.M2P3Q4_test.host") == -1 && errno == EINVAL,
	    "a name without ,S=: -1, EINVAL");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname + 300, ",S=1", 4);
	errno = 0;
	ok(deliver_recover(&d, longname) == -1 && errno == EINVAL,
	    "a name longer than DELIVER_NAME_MAX: -1, EINVAL");

	/* clean_tmp: ours only (our marker, this host), and not what
	 * keep() keeps. */
	snprintf(name, sizeof(name), "1.M1P1Q1_" MARKER ".%s", d.host);
	mkfile("tmp", name);				/* ours */
	mkfile("tmp", "1.M1P1Q1_" MARKER ".otherhost");	/* another host's */
	mkfile("tmp", "1.M1P1Q1_other.host");		/* another marker */
	mkfile("tmp", "1.M1P1Q1_x" MARKER ".host");
	mkfile("tmp", "1.M1P1Q1_" MARKER "x.host");
	mkfile("tmp", "1.M1P1Q1." MARKER ".host");
	mkfile("tmp", "1.M1P1Q1.host");			/* another MDA */
	mkfile("tmp", "._" MARKER ".host");		/* a dot file */
	is_int(count_entries(md, "tmp"), 10, "tmp/: two of ours pending, one of ours, "
	    "seven others");
	is_int(deliver_clean_tmp(&d, keep_one, ub), 2, "clean_tmp removes 2 "
	    "(one kept by keep())");
	ok(present("tmp", ub) && !present("tmp", uc) && !present("tmp", name),
	    "kept the one keep() asked for; removed ours");
	ok(present("tmp", "1.M1P1Q1_" MARKER ".otherhost"),
	    "another host's file (same marker) is left alone");
	good = present("tmp", "1.M1P1Q1_other.host") &&
	    present("tmp", "1.M1P1Q1_x" MARKER ".host") &&
	    present("tmp", "1.M1P1Q1_" MARKER "x.host") &&
	    present("tmp", "1.M1P1Q1." MARKER ".host") &&
	    present("tmp", "1.M1P1Q1.host") &&
	    present("tmp", "._" MARKER ".host");
	ok(good, "files without our marker are left alone");
	is_int(deliver_recover(&d, nb), 1, "the kept one can still be "
	    "recovered");
	is_int(deliver_clean_tmp(&d, NULL, NULL), 0, "clean_tmp again: 0");
	is_int(count_entries(md, "tmp"), 7, "seven others left");
	is_int(count_entries(md, "new"), 2, "two recovered in new/");

	/* exists: the unique part up to ':' in new/ or cur/. */
	is_int(deliver_exists(&d, na), 1, "exists: in new/");
	snprintf(name, sizeof(name), "new/%s", nb);
	snprintf(longname, sizeof(longname), "cur/%s:2,S", nb);
	move(name, longname);
	is_int(deliver_exists(&d, nb), 1, "exists: in cur/ with :2,S");
	snprintf(name, sizeof(name), "%.*s", (int)(strlen(nb) - 1), nb);
	is_int(deliver_exists(&d, name), 0, "a prefix of a name: 0");
	snprintf(name, sizeof(name), "%sx", na);
	is_int(deliver_exists(&d, name), 0, "a name plus a byte: 0");
	is_int(deliver_exists(&d, ub), 0, "the UNIQUE alone (no sizes): 0");
	is_int(deliver_exists(&d, "1.M1P1Q1_other.host"), 0,
	    "in tmp/ only: 0");
	is_int(deliver_exists(&d, "nothing"), 0, "nowhere: 0");
	move(longname, "cur/plain");
	is_int(deliver_exists(&d, "plain"), 1, "in cur/ without info: 1");
	/* A recorded pending whose message a POP3 client already took. */
	is_int(deliver_recover(&d, nb), 0, "recover what is in cur/ or "
	    "gone: 0");
	is_int(count_entries(md, "new"), 1, "...and nothing appears in new/");
	deliver_close(&d);
	remove_md();
}

/* Begins a message holding text; finishes it when finish is set. */
static struct dmsg *
one(struct deliver *d, const char *text, int finish)
{
	struct dmsg	*m;

	if (deliver_begin(d, &m) == -1 ||
	    deliver_write(m, text, strlen(text)) == -1 ||
	    (finish && deliver_finish(m) == -1))
		die("one message");
	return m;
}

/* One round of test_batch, with syncfs or with the fallback. */
static void
batch_round(int use_syncfs)
{
	struct deliver	 d;
	struct dbatch	 b, e;
	struct dmsg	*a1, *a2, *c, *x, *n1, *f1;
	char		 an1[DELIVER_NAME_MAX], an2[DELIVER_NAME_MAX];
	char		 un1[DELIVER_UNIQUE_MAX], uf1[DELIVER_UNIQUE_MAX];
	const char	*how = use_syncfs ? "syncfs" : "fdatasync";
	char		 msg[160];

	if (deliver_open(&d, md, MARKER) == -1)
		die("deliver_open");
	d.syncfs = use_syncfs;
	a1 = one(&d, "first\n", 1);
	a2 = one(&d, "second\n", 1);
	x = one(&d, "dropped\n", 1);
	c = one(&d, "still being written", 0);
	if (deliver_drop(&d, x) == -1)
		die("deliver_drop");
	snprintf(an1, sizeof(an1), "%s", a1->name);
	snprintf(an2, sizeof(an2), "%s", a2->name);
	deliver_take(&d, &b);
	snprintf(msg, sizeof(msg), "%s: take moves the written ones only",
	    how);
	ok(b.n == 2 && b.v[0] == a1 && b.v[1] == a2, msg);
	/* The next batch goes on in the registry meanwhile. */
	n1 = one(&d, "next batch\n", 1);
	snprintf(un1, sizeof(un1), "%s", n1->unique);
	snprintf(msg, sizeof(msg), "%s: deliver_sync_batch", how);
	is_int(deliver_sync_batch(&d, &b), 0, msg);
	snprintf(msg, sizeof(msg), "%s: deliver_commit_batch", how);
	is_int(deliver_commit_batch(&d, &b), 0, msg);
	ok(holds("new", an1, "first\n", 6) && holds("new", an2, "second\n", 7),
	    "the batch is in new/, byte for byte");
	ok(a1->state == DM_DELIVERED && a2->state == DM_DELIVERED,
	    "...DM_DELIVERED");
	ok(present("tmp", c->unique) && present("tmp", un1) &&
	    count_entries(md, "tmp") == 2, "the registry's messages stay in tmp/");
	deliver_free_batch(&b);
	ok(b.n == 0 && b.v == NULL, "free_batch empties it");
	is_int(count_entries(md, "new"), 2, "freeing a committed batch removes nothing");

	/* A batch dropped: its tmp files go, the registry's stay. */
	f1 = one(&d, "to drop\n", 1);
	snprintf(uf1, sizeof(uf1), "%s", f1->unique);
	if (deliver_finish(c) == -1)
		die("deliver_finish");
	deliver_take(&d, &e);
	ok(e.n == 3, "the second take has the three written since");
	deliver_drop_batch(&d, &e);
	ok(!present("tmp", un1) && !present("tmp", uf1) &&
	    count_entries(md, "tmp") == 0 && e.n == 0, "drop_batch removes its tmp files");
	is_int(count_entries(md, "new"), 2, "...and nothing in new/");
	deliver_close(&d);
	remove_md();
}

static void
test_batch(void)
{
	batch_round(1);
	batch_round(0);
}

int
main(void)
{
	snprintf(top, sizeof(top), "%s/deliver.XXXXXX",
	    getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 40 ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	snprintf(md, sizeof(md), "%s/Maildir", top);
	atexit(cleanup);

	test_open();
	test_commit();
	test_abort_drop();
	test_partial_commit();
	test_recover_clean();
	test_batch();
	return done_testing();
}
