/*
 * maildir.c: maildir_create and maildir_scan on a real temporary Maildir:
 * the order (the name's delivery time, else mtime; then the base), what is
 * skipped (dot files, directories, FIFOs, symbolic links, tmp/), ",S=" and
 * ",W=" trusted only together, the oldest max kept, maildir_settle keeping
 * the UIDL, counted sizes equal to the wire rule of common/wire.h,
 * computed here byte by byte, and a file that cannot be read failing the
 * scan with all it held freed (the ASan build's leak check says so).
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildir.h"
#include "fixture.h"
#include "tap.h"

static char	top[64];

/* Writes len bytes to top/path with mtime t (0: leave it). */
static void
mkfile(const char *path, const void *buf, size_t len, time_t t)
{
	char		p[256];
	struct timespec	ts[2];
	int		fd;

	snprintf(p, sizeof(p), "%s/%s", top, path);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || close(fd) == -1)
		die(p);
	if (t != 0) {
		ts[0].tv_sec = ts[1].tv_sec = t;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, p, ts, 0) == -1)
			die("utimensat");
	}
}

#define MKFILE(path, lit, t)	mkfile(path, lit, sizeof(lit) - 1, t)

/* top/sub, in a static buffer (one at a time). */
static const char *
topsub(const char *sub)
{
	static char	p[256];

	snprintf(p, sizeof(p), "%s/%s", top, sub);
	return p;
}

static void
cleanup(void)
{
	rm_tree(top);
}

static int
scan(struct mdmsg **v, size_t *n)
{
	int	fd, r;

	if ((fd = open(top, O_RDONLY | O_DIRECTORY)) == -1)
		die(top);
	r = maildir_scan(fd, 1000, v, n, NULL);
	close(fd);
	return r;
}

static void
test_create(void)
{
	struct stat	st;
	char		p[128];

	is_int(maildir_create(top), 0, "maildir_create on an empty directory");
	snprintf(p, sizeof(p), "%s/new", top);
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 077) == 0, "new/ made, private");
	snprintf(p, sizeof(p), "%s/cur", top);
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "cur/ made");
	snprintf(p, sizeof(p), "%s/tmp", top);
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "tmp/ made");
	is_int(maildir_create(top), 0, "maildir_create again: 0");
}

static void
test_empty(void)
{
	struct mdmsg	*v = NULL;
	size_t		 n = 99;

	is_int(scan(&v, &n), 0, "an empty Maildir scans");
	is_int(n, 0, "...with no message");
	maildir_free(v, n);
}

static void
test_order(void)
{
	static const char *const want[] = {
		"new/z", "cur/c:2,S", "new/a", "cur/a0:2,S", "new/b:2,",
		"cur/d:2,S", "new/d0",
		"cur/w,S=1,W=4:2,S", "cur/bad,W=:2,S", "cur/big"
	};
	static const char *const uidl[] = {
		"z", "c", "a", "a0", "b", "d", "d0", "w,S=1,W=4", "bad,W=", "big"
	};
	char		 ubuf[POP3_UIDL_MAX + 1];
	struct mdmsg	*v;
	size_t		 n, i;
	char		 p[128], q[128], name[64];
	static unsigned char	big[70000];

	MKFILE("new/b:2,", "B\n", 1700000200);
	MKFILE("new/a", "A\r\n", 1700000200);
	MKFILE("cur/a0:2,S", "A0\n", 1700000200);
	MKFILE("cur/c:2,S", "C", 1700000100);
	MKFILE("new/z", "", 1700000050);
	/* Ties go by the unique part: "d" before "d0", though "d0" < "d:". */
	MKFILE("new/d0", "D0\n", 1700000250);
	MKFILE("cur/d:2,S", "D\n", 1700000250);
	MKFILE("cur/w,S=1,W=4:2,S", "x", 1700000300);
	MKFILE("cur/bad,W=:2,S", "a\nb\n", 1700000400);
	/* CR as byte 65535, LF as 65536: a pair split by the read blocks. */
	memset(big, 'x', sizeof(big));
	big[65535] = '\r';
	big[65536] = '\n';
	big[100] = '\n';
	mkfile("cur/big", big, sizeof(big), 1700000500);
	/* Not messages */
	MKFILE("new/.hidden", "H\n", 1);
	MKFILE("cur/.x:2,S", "H\n", 1);
	MKFILE("tmp/t", "T\n", 1);
	snprintf(p, sizeof(p), "%s/new/dir", top);
	if (mkdir(p, 0700) == -1)
		die(p);
	snprintf(p, sizeof(p), "%s/new/fifo", top);
	if (mkfifo(p, 0600) == -1)
		die(p);
	snprintf(p, sizeof(p), "%s/new/link", top);
	snprintf(q, sizeof(q), "%s/cur/c:2,S", top);
	if (symlink(q, p) == -1)
		die(p);
	snprintf(p, sizeof(p), "%s/cur/dangling:2,S", top);
	if (symlink("/nonexistent/x", p) == -1)
		die(p);

	if (!is_int(scan(&v, &n), 0, "maildir_scan"))
		return;
	is_int(n, 10, "10 messages: no dot file, directory, FIFO, link, tmp/");
	for (i = 0; i < n && i < 10; i++) {
		snprintf(name, sizeof(name), "message %zu is %s", i + 1,
		    want[i]);
		is_str(v[i].path, want[i], name);
		snprintf(name, sizeof(name), "...UIDL %s", uidl[i]);
		is_str(fixture_uidl(&v[i], ubuf), uidl[i], name);
	}
	if (n != 10) {
		maildir_free(v, n);
		return;
	}
	is_int(v[0].time, 1700000050, "mtime is the time of a name without one");
	ok(v[0].in_new && !v[1].in_new && v[4].in_new && !v[5].in_new &&
	    v[6].in_new, "in_new says where the file is");
	is_int(v[0].size, 0, "empty file: 0");
	is_int(v[1].size, 3, "no final newline: \"C\" + CRLF");
	is_int(v[2].size, 3, "CRLF stays CRLF");
	is_int(v[3].size, 4, "LF counts as CRLF");
	is_int(v[7].size, 4, ",S= and ,W= are trusted, the file not read");
	is_int(v[7].octets, 1, "...octets from ,S=");
	ok(v[7].sized && !v[8].sized, "sized says where the size came from");
	is_int(v[8].octets, 4, "a counted file's octets are its size");
	is_int(v[8].size, 6, "a malformed ,W= is ignored: counted");
	is_int(v[9].size, ref_wire(big, sizeof(big)),
	    "CRLF split across read blocks counts once");
	is_int(v[9].size, 70000 + 1 + 2, "...70000 + one CR + the owed CRLF");
	maildir_free(v, n);

	snprintf(p, sizeof(p), "%s/cur", top);
	snprintf(q, sizeof(q), "%s/cur.away", top);
	if (rename(p, q) == -1)
		die("rename");
	errno = 0;
	ok(scan(&v, &n) == -1 && errno == ENOENT, "no cur/: -1, ENOENT");
	if (rename(q, p) == -1)
		die("rename");
}

/* Counted sizes against the reference, over many shapes of content. */
static void
test_sizes(void)
{
	static const char *const shapes[] = {
		"", "\n", "\r", "\r\n", "\n\n", "\r\r", "\r\r\n", "\n\r",
		"a", "a\n", "a\r\n", "a\rb", "a\rb\n", ".\n", "..\r\n.",
		"x\n\ny", "\r\n\n\r\n\n", "\xff\xfe\n\x80", "no newline at all",
	};
	struct mdmsg	*v;
	unsigned char	 buf[3000];
	unsigned	 seed = 1;
	size_t		 n, i, k, len, bad = 0;
	char		 name[64];

	/* A fresh Maildir for each batch: only these files. */
	cleanup();
	if (maildir_create(top) == -1)
		die("maildir_create");
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		snprintf(name, sizeof(name), "new/shape%02zu", i);
		mkfile(name, shapes[i], strlen(shapes[i]), 1000 + (time_t)i);
	}
	/* Random CR/LF/dot-heavy files. */
	for (i = 0; i < 40; i++) {
		len = i < 30 ? i * 97 % sizeof(buf) : sizeof(buf);
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245 + 12345;
			buf[k] = "\r\n.a"[(seed >> 16) & 3];
		}
		snprintf(name, sizeof(name), "cur/rand%02zu", i);
		mkfile(name, buf, len, 2000 + (time_t)i);
	}
	if (!is_int(scan(&v, &n), 0, "scan of the size corpus"))
		return;
	is_int(n, 19 + 40, "every file listed");
	for (i = 0; i < n && i < 19; i++) {
		if (v[i].size != ref_wire((const unsigned char *)shapes[i],
		    strlen(shapes[i]))) {
			printf("# %s: %llu\n", v[i].path,
			    (unsigned long long)v[i].size);
			bad++;
		}
	}
	ok(bad == 0, "19 shapes: counted size == the wire rule");
	bad = 0;
	seed = 1;
	for (i = 19; i < n; i++) {
		len = i - 19 < 30 ? (i - 19) * 97 % sizeof(buf) : sizeof(buf);
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245 + 12345;
			buf[k] = "\r\n.a"[(seed >> 16) & 3];
		}
		if (v[i].size != ref_wire(buf, len))
			bad++;
	}
	ok(bad == 0, "40 random CR/LF files: counted size == the wire rule");
	maildir_free(v, n);
}

/*
 * In a child without root's power over permissions (nobody, when we are
 * root): a message between others that cannot be opened fails the whole
 * scan with EACCES.  Before it, one was filled (with a digest: a space in
 * its name), after it one was not yet; the child exits with the scan's
 * verdict, through exit(3) so that LeakSanitizer checks what it left.
 */
static void
test_unreadable(void)
{
	struct mdmsg	*v;
	size_t		 n;
	pid_t		 pid;
	int		 status;

	cleanup();
	if (maildir_create(top) == -1 || chmod(top, 0755) == -1)
		die("maildir_create");
	MKFILE("new/1700000001.A B.host", "a\n", 0);
	MKFILE("new/1700000002.B.host", "b\n", 0);
	MKFILE("cur/1700000003.C.host", "c\n", 0);
	if (chmod(top, 0755) == -1 || chmod(topsub("new"), 0755) == -1 ||
	    chmod(topsub("cur"), 0755) == -1 ||
	    chmod(topsub("new/1700000002.B.host"), 0) == -1)
		die("chmod");
	fflush(stdout);		/* the child's exit(3) must not print it again */
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
		    setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1))
			_exit(3);
		/* LeakSanitizer must be able to read this process. */
		prctl(PR_SET_DUMPABLE, 1);
		exit(scan(&v, &n) == -1 && errno == EACCES ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) == -1)
		die("waitpid");
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	    0, "an unreadable message fails the scan (EACCES), nothing leaked");
	if (chmod(topsub("new/1700000002.B.host"), 0600) == -1)
		die("chmod");
	if (is_int(scan(&v, &n), 0, "readable again: the scan lists it"))
		maildir_free(v, n);
	is_int(n, 3, "all three");
}

int
main(void)
{
	snprintf(top, sizeof(top), "/tmp/popd-unit.XXXXXX");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	test_create();
	test_empty();
	test_order();
	test_sizes();
	test_unreadable();
	cleanup();
	return done_testing();
}
