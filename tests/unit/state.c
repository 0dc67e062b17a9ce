/*
 * state.c: imapfetch's per-mailbox state file (imapfetch/state.h) in a
 * temporary directory: the save/load round trip and the exact text, damaged
 * files (refused with EINVAL and left in place, never a crash), hostile
 * mailbox names, the pending/settle bookkeeping, the directory and the lock.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../imapfetch/state.h"
#include "fixture.h"
#include "tap.h"

static char	top[64];		/* the temporary directory */
static int	dfd = -1;		/* top/.imapfetch */

static void
cleanup(void)
{
	if (dfd != -1)
		close(dfd);
	rm_tree(top);
}

/* Writes len bytes as dfd/file. */
static void
put(const char *file, const void *buf, size_t len)
{
	int	 fd;

	if ((fd = openat(dfd, file, O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
	    -1 || write(fd, buf, len) != (ssize_t)len || close(fd) == -1)
		die(file);
}

/* Reads dfd/file into buf (NUL-terminated); its length, or -1. */
static ssize_t
slurp(const char *file, char *buf, size_t cap)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(dfd, file, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Entries of dfd, "." and ".." aside. */
static int
nentries(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, n = 0;

	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL)
		die("fdopendir");
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* 1 when top holds .imapfetch and nothing else. */
static int
top_holds_only_state_dir(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0, other = 0;

	if ((d = opendir(top)) == NULL)
		die(top);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		other += strcmp(de->d_name, ".imapfetch") != 0;
	}
	closedir(d);
	return n == 1 && other == 0;
}

/* Removes every entry of dfd. */
static void
empty_dir(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;

	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL)
		die("fdopendir");
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			if (unlinkat(dfd, de->d_name, 0) == -1 &&
			    unlinkat(dfd, de->d_name, AT_REMOVEDIR) == -1)
				die(de->d_name);
	closedir(d);
}

static int
is_zero(const struct state *st)
{
	return st->uidvalidity == 0 && st->dedup == 0 &&
	    st->delivered.n == 0 && st->delivered.r == NULL &&
	    st->npend == 0 && st->pend == NULL;
}

/* The invariants a loaded state must have, whatever the file said. */
static int
sane(const struct state *st)
{
	const struct uidset	*s = &st->delivered;
	size_t			 i;

	for (i = 0; i < s->n; i++)
		if (s->r[i].lo > s->r[i].hi || s->r[i].lo == 0 ||
		    (i > 0 && (uint64_t)s->r[i - 1].hi + 1 >= s->r[i].lo))
			return 0;
	for (i = 0; i < st->npend; i++)
		if (st->pend[i].uid == 0 || st->pend[i].name == NULL ||
		    strchr(st->pend[i].name, '/') != NULL ||
		    st->pend[i].name[0] == '.')
			return 0;
	return st->npend <= st->pcap;
}

static int
same_state(const struct state *a, const struct state *b)
{
	size_t	 i;

	if (a->uidvalidity != b->uidvalidity || !a->dedup != !b->dedup ||
	    a->delivered.n != b->delivered.n || a->npend != b->npend)
		return 0;
	for (i = 0; i < a->delivered.n; i++)
		if (a->delivered.r[i].lo != b->delivered.r[i].lo ||
		    a->delivered.r[i].hi != b->delivered.r[i].hi)
			return 0;
	for (i = 0; i < a->npend; i++)
		if (a->pend[i].uid != b->pend[i].uid ||
		    strcmp(a->pend[i].name, b->pend[i].name) != 0)
			return 0;
	return 1;
}

#define PEND1	"1717000000.M123456P42Q1_imapfetch.host,S=10,W=11"
#define PEND2	"1717000000.M123456P42Q2_imapfetch.host,S=0,W=0"
#define FULL_TEXT \
	"imapfetch-state 1\n" \
	"uidvalidity 123456789\n" \
	"delivered 1:10,12,20:30,4294967295\n" \
	"dedup 1\n" \
	"pending 40 " PEND1 "\n" \
	"pending 41 " PEND2 "\n" \
	"end\n"

static void
fill(struct state *st)
{
	uint32_t	 u;

	memset(st, 0, sizeof(*st));
	st->uidvalidity = 123456789;
	st->dedup = 1;
	for (u = 30; u >= 20; u--)
		uidset_add(&st->delivered, u);
	uidset_add(&st->delivered, UINT32_MAX);
	uidset_add(&st->delivered, 12);
	for (u = 1; u <= 10; u++)
		uidset_add(&st->delivered, u);
	state_add_pending(st, 40, PEND1);
	state_add_pending(st, 41, PEND2);
}

static void
test_missing(void)
{
	struct state	 st;

	memset(&st, 0xa5, sizeof(st));
	errno = 0;
	is_int(state_load(dfd, "INBOX", &st), 0, "missing file: loads");
	ok(is_zero(&st), "missing file: an empty state");
	is_int(nentries(), 0, "missing file: nothing created");
	state_free(&st);
}

static void
test_roundtrip(void)
{
	struct state	 st, back;
	char		 text[4096], again[4096];

	fill(&st);
	is_int(state_save(dfd, "INBOX", &st), 0, "save");
	ok(slurp("INBOX.state", text, sizeof(text)) > 0, "saved as INBOX.state");
	is_str(text, FULL_TEXT, "the text is the documented format");
	is_int(nentries(), 1, "no INBOX.state.new left behind");
	memset(&back, 0x5a, sizeof(back));
	is_int(state_load(dfd, "INBOX", &back), 0, "load");
	ok(same_state(&st, &back), "uidvalidity, dedup, delivered, pending "
	    "come back");
	ok(back.pend != NULL && back.pend[0].name != st.pend[0].name,
	    "the loaded names are the state's own copies");
	ok(uidset_has(&back.delivered, UINT32_MAX) &&
	    !uidset_has(&back.delivered, 11) &&
	    uidset_has(&back.delivered, 25), "has() on the loaded set");
	is_int(state_save(dfd, "INBOX", &back), 0, "save what was loaded");
	slurp("INBOX.state", again, sizeof(again));
	is_str(again, text, "the same text again");
	state_free(&back);
	ok(is_zero(&back), "state_free zeroes");
	state_free(&back);		/* twice is harmless */

	/* Replaced, not edited: the second save wins, still one file. */
	state_settle(&st);
	st.dedup = 0;
	st.uidvalidity = 7;
	is_int(state_save(dfd, "INBOX", &st), 0, "save over the old file");
	slurp("INBOX.state", text, sizeof(text));
	is_str(text, "imapfetch-state 1\nuidvalidity 7\n"
	    "delivered 1:10,12,20:30,40:41,4294967295\nend\n",
	    "settled: no dedup, no pending line, 40:41 delivered");
	is_int(state_load(dfd, "INBOX", &back), 0, "load the new one");
	ok(same_state(&st, &back), "the new one comes back");
	is_int(nentries(), 1, "still one file");
	state_free(&back);
	state_free(&st);

	/* The empty state. */
	is_int(state_save(dfd, "INBOX", &st), 0, "save an empty state");
	slurp("INBOX.state", text, sizeof(text));
	is_str(text, "imapfetch-state 1\nuidvalidity 0\nend\n",
	    "empty state text");
	is_int(state_load(dfd, "INBOX", &back), 0, "load an empty state");
	ok(is_zero(&back), "empty state comes back empty");
	state_free(&back);

	/* state_save_file / state_load_file name the file themselves. */
	fill(&st);
	is_int(state_save_file(dfd, "other.state", &st), 0, "state_save_file");
	is_int(state_load_file(dfd, "other.state", &back), 0,
	    "state_load_file");
	ok(same_state(&st, &back), "by file name: comes back");
	state_free(&back);
	state_free(&st);
	empty_dir();
}

static void
test_large(void)
{
	struct state	 st, back;
	size_t		 i;
	char		 name[96];

	memset(&st, 0, sizeof(st));
	srandom(7);
	for (i = 0; i < 5000; i++)
		uidset_add(&st.delivered, 1 + (uint32_t)(random() % 20000));
	for (i = 0; i < 100; i++)
		state_add_pending(&st, 30000 + (uint32_t)i, PEND1);
	st.uidvalidity = UINT32_MAX;
	is_int(state_save(dfd, "big", &st), 0, "save 5000 random UIDs");
	is_int(state_load(dfd, "big", &back), 0, "load them");
	snprintf(name, sizeof(name), "%zu ranges, 100 pending, uidvalidity "
	    "UINT32_MAX come back", st.delivered.n);
	ok(same_state(&st, &back), name);
	state_free(&back);
	state_free(&st);

	/* 100000 ranges on one line: loads (sorted: appended whole). */
	for (i = 0; i < 100000; i++)
		uidset_add(&st.delivered, 1 + 2 * (uint32_t)i);
	is_int(state_save(dfd, "big", &st), 0, "save 100000 ranges");
	is_int(state_load(dfd, "big", &back), 0, "load 100000 ranges");
	ok(same_state(&st, &back), "100000 ranges come back");
	state_free(&back);
	state_free(&st);
	empty_dir();
}

static void
test_pending(void)
{
	struct state	 st;
	char		 buf[64];
	size_t		 i;
	int		 good;

	memset(&st, 0, sizeof(st));
	snprintf(buf, sizeof(buf), "%s", PEND1);
	state_add_pending(&st, 9, buf);
	memset(buf, 'x', sizeof(buf) - 1);
	ok(st.npend == 1 && st.pend[0].uid == 9 &&
	    strcmp(st.pend[0].name, PEND1) == 0,
	    "add_pending copies the name");
	for (i = 0; i < 40; i++)
		state_add_pending(&st, 100 + (uint32_t)i, PEND2);
	good = st.npend == 41;
	for (i = 0; i < 40 && good; i++)
		good = st.pend[1 + i].uid == 100 + i &&
		    strcmp(st.pend[1 + i].name, PEND2) == 0;
	ok(good, "41 pending, in the order added");
	ok(!uidset_has(&st.delivered, 9), "pending is not delivered");

	uidset_add(&st.delivered, 100);		/* already delivered too */
	state_settle(&st);
	is_int(st.npend, 0, "settle empties pending");
	good = uidset_has(&st.delivered, 9);
	for (i = 0; i < 40 && good; i++)
		good = uidset_has(&st.delivered, 100 + (uint32_t)i);
	ok(good, "settle: every pending UID is delivered");
	ok(st.delivered.n == 2 && st.delivered.r[1].lo == 100 &&
	    st.delivered.r[1].hi == 139, "settle: ranges 9, 100:139");
	state_settle(&st);
	ok(st.npend == 0 && st.delivered.n == 2, "settle again: no change");
	state_add_pending(&st, 7, PEND1);
	ok(st.npend == 1 && st.pend[0].uid == 7, "pending again after settle");
	state_free(&st);
	ok(is_zero(&st), "state_free with pending: zeroed");
}

struct damaged {
	const char	*name;
	const char	*text;
	size_t		 len;		/* 0: strlen */
};

#define MAGIC	"imapfetch-state 1\n"

static const struct damaged damaged[] = {
	{ "empty file", "", 0 },
	{ "wrong magic", "imapfetch-state 2\nuidvalidity 1\n", 0 },
	{ "magic with CRLF", "imapfetch-state 1\r\nuidvalidity 1\r\n", 0 },
	{ "no magic", "uidvalidity 1\n", 0 },
	{ "garbage", "\x7f" "ELF\x02\x01\x01", 0 },
	{ "uidvalidity without value", MAGIC "uidvalidity\n", 0 },
	{ "uidvalidity empty value", MAGIC "uidvalidity \n", 0 },
	{ "uidvalidity 2^32", MAGIC "uidvalidity 4294967296\n", 0 },
	{ "uidvalidity 30 digits", MAGIC
	    "uidvalidity 999999999999999999999999999999\n", 0 },
	{ "uidvalidity negative", MAGIC "uidvalidity -1\n", 0 },
	{ "uidvalidity trailing garbage", MAGIC "uidvalidity 12x\n", 0 },
	{ "uidvalidity hex", MAGIC "uidvalidity 0x10\n", 0 },
	{ "uidvalidity two spaces", MAGIC "uidvalidity  1\n", 0 },
	{ "delivered 0", MAGIC "uidvalidity 1\ndelivered 0\n", 0 },
	{ "delivered 0:5", MAGIC "uidvalidity 1\ndelivered 0:5\n", 0 },
	{ "delivered hi < lo", MAGIC "uidvalidity 1\ndelivered 5:3\n", 0 },
	{ "delivered 2^32", MAGIC "uidvalidity 1\ndelivered 4294967296\n", 0 },
	{ "delivered hi 2^32", MAGIC "uidvalidity 1\ndelivered 1:4294967296\n",
	    0 },
	{ "delivered lo:", MAGIC "uidvalidity 1\ndelivered 1:\n", 0 },
	{ "delivered :hi", MAGIC "uidvalidity 1\ndelivered :5\n", 0 },
	{ "delivered a:b:c", MAGIC "uidvalidity 1\ndelivered 1:2:3\n", 0 },
	{ "delivered word", MAGIC "uidvalidity 1\ndelivered all\n", 0 },
	{ "delivered without value", MAGIC "uidvalidity 1\ndelivered\n", 0 },
	{ "pending without name", MAGIC "uidvalidity 1\npending 5\n", 0 },
	{ "pending uid 0", MAGIC "uidvalidity 1\npending 0 " PEND1 "\n", 0 },
	{ "pending uid 2^32", MAGIC "uidvalidity 1\npending 4294967296 "
	    PEND1 "\n", 0 },
	{ "pending uid word", MAGIC "uidvalidity 1\npending x " PEND1 "\n", 0 },
	{ "pending name with /", MAGIC "uidvalidity 1\npending 5 ../x,S=1\n",
	    0 },
	{ "pending name ..", MAGIC "uidvalidity 1\npending 5 ..\n", 0 },
	{ "pending name .hidden", MAGIC "uidvalidity 1\npending 5 .x,S=1\n",
	    0 },
	{ "unknown keyword", MAGIC "uidvalidity 1\nhighestmodseq 5\n", 0 },
	{ "keyword in capitals", MAGIC "UIDVALIDITY 1\n", 0 },
	{ "a line without a space", MAGIC "uidvalidity 1\ngarbage\n", 0 },
	{ "a line starting with a space", MAGIC " uidvalidity 1\n", 0 },
};

/* Loads dfd/file: 0 when refused with EINVAL, left in place, st zeroed. */
static int
refused(const char *file, const char *text, size_t len)
{
	struct state	 st;
	char		*back;
	int		 r, e, same;

	memset(&st, 0x5a, sizeof(st));
	errno = 0;
	r = state_load_file(dfd, file, &st);
	e = errno;
	if (r != -1 || e != EINVAL) {
		printf("#   %s: got %d errno %d\n", file, r, e);
		state_free(&st);
		return 0;
	}
	if (!is_zero(&st)) {
		printf("#   %s: state not zeroed\n", file);
		return 0;
	}
	if ((back = malloc(len + 2)) == NULL)
		die("malloc");
	same = slurp(file, back, len + 2) == (ssize_t)len &&
	    memcmp(back, text, len) == 0;
	free(back);
	if (!same)
		printf("#   %s: not left as it was\n", file);
	return same;
}

static void
test_damaged(void)
{
	char	 name[160], *big;
	size_t	 i, len;

	for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		len = damaged[i].len ? damaged[i].len : strlen(damaged[i].text);
		put("x.state", damaged[i].text, len);
		snprintf(name, sizeof(name), "%s: EINVAL, file left alone",
		    damaged[i].name);
		ok(refused("x.state", damaged[i].text, len), name);
	}

	/* A megabyte line, garbage or digits. */
	len = 1024 * 1024;
	if ((big = malloc(len + 64)) == NULL)
		die("malloc");
	memcpy(big, MAGIC, strlen(MAGIC));
	memset(big + strlen(MAGIC), 'a', len);
	put("x.state", big, strlen(MAGIC) + len);
	ok(refused("x.state", big, strlen(MAGIC) + len),
	    "a 1 MB line without a space: EINVAL");
	memcpy(big + strlen(MAGIC), "delivered ", 10);
	memset(big + strlen(MAGIC) + 10, '7', len - 10);
	put("x.state", big, strlen(MAGIC) + len);
	ok(refused("x.state", big, strlen(MAGIC) + len),
	    "a 1 MB number: EINVAL");
	free(big);

	/* A directory where the file should be. */
	unlinkat(dfd, "x.state", 0);
	if (mkdirat(dfd, "Dir.state", 0700) == -1)
		die("mkdirat");
	{
		struct state	 st;

		memset(&st, 0, sizeof(st));
		ok(state_load(dfd, "Dir", &st) == -1 && is_zero(&st),
		    "a directory as state file: load fails");
		st.uidvalidity = 1;
		ok(state_save(dfd, "Dir", &st) == -1,
		    "a directory as state file: save fails");
		is_int(nentries(), 1, "...and leaves no .new file behind");
	}
	empty_dir();
}

/*
 * Text loaded as a state file: 0 refused with EINVAL, 1 loaded (and sane),
 * -1 anything else (reported).
 */
static int
try_load(const void *text, size_t len)
{
	struct state	 st;
	int		 r;

	put("f.state", text, len);
	errno = 0;
	r = state_load_file(dfd, "f.state", &st);
	if (r == -1 && errno == EINVAL && is_zero(&st))
		return 0;
	if (r == 0 && sane(&st)) {
		state_free(&st);
		return 1;
	}
	printf("#   load returned %d errno %d%s\n", r, errno,
	    r == 0 ? " and an insane state" : "");
	state_free(&st);
	return -1;
}

/* "#   accepted: '...'" with LF shown as \n, on one line. */
static void
diag_prefix(const char *text, size_t k)
{
	size_t	 i;

	printf("#   accepted: '");
	for (i = 0; i < k; i++)
		printf(text[i] == '\n' ? "\\n" : "%c", text[i]);
	printf("'\n");
}

static void
test_truncated(void)
{
	static const char	 text[] = FULL_TEXT;
	size_t			 k, len = strlen(text);
	int			 r, bad = 0, midline = 0;
	char			 name[160];

	for (k = 0; k < len; k++) {
		r = try_load(text, k);
		if (r == -1) {
			printf("#   prefix of %zu bytes\n", k);
			bad++;
		}
		/* Cut inside a line: the saver ends every line with LF. */
		if (r == 1 && k > 0 && text[k - 1] != '\n') {
			if (midline < 3)
				diag_prefix(text, k);
			midline++;
		}
	}
	snprintf(name, sizeof(name), "each of the %zu truncations loads or "
	    "fails with EINVAL", len);
	is_int(bad, 0, name);
	snprintf(name, sizeof(name), "truncated inside a line: refused "
	    "(%d of %zu prefixes accepted)", midline, len);
	ok(midline == 0, name);
	ok(try_load(MAGIC, strlen(MAGIC)) == 0,
	    "the magic line alone (no uidvalidity line): refused");
	unlinkat(dfd, "f.state", 0);
}

/* Random bytes, then random edits of a good file: EINVAL or a sane state. */
static void
test_garbage(void)
{
	static const char	 good[] = FULL_TEXT;
	static const char	 alphabet[] = "0123456789:, \n\r\t.-/x";
	unsigned char		 buf[512];
	size_t			 i, j, len, edits;
	int			 bad = 0, loaded = 0, r;
	char			 name[160];

	srandom(1);
	for (i = 0; i < 300; i++) {
		len = (size_t)random() % 300;
		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)random();
		if (i % 2 == 0 && len >= strlen(MAGIC))
			memcpy(buf, MAGIC, strlen(MAGIC));
		if (try_load(buf, len) == -1)
			bad++;
	}
	is_int(bad, 0, "300 random files: each refused with EINVAL or sane");

	bad = 0;
	for (i = 0; i < 3000; i++) {
		len = strlen(good);
		memcpy(buf, good, len);
		for (edits = 1 + (size_t)random() % 3; edits > 0; edits--) {
			j = (size_t)random() % len;
			switch (random() % 4) {
			case 0:		/* replace a byte */
				buf[j] = (unsigned char)alphabet[random() %
				    (sizeof(alphabet) - 1)];
				break;
			case 1:		/* any byte, NUL too */
				buf[j] = (unsigned char)random();
				break;
			case 2:		/* delete one */
				memmove(buf + j, buf + j + 1, len - j - 1);
				len--;
				break;
			default:	/* insert a digit */
				if (len + 1 >= sizeof(buf))
					break;
				memmove(buf + j + 1, buf + j, len - j);
				buf[j] = (unsigned char)('0' + random() % 10);
				len++;
			}
		}
		if ((r = try_load(buf, len)) == -1)
			bad++;
		loaded += r == 1;
	}
	snprintf(name, sizeof(name), "3000 edited good files: EINVAL or sane "
	    "(%d loaded)", loaded);
	is_int(bad, 0, name);

	/* What a C string would stop at. */
	ok(try_load(MAGIC "uidvalidity 5\0junk\n",
	    sizeof(MAGIC "uidvalidity 5\0junk\n") - 1) == 0,
	    "a NUL inside a line: refused");
	ok(try_load("imapfetch-state 1\0junk\nuidvalidity 5\n",
	    sizeof("imapfetch-state 1\0junk\nuidvalidity 5\n") - 1) == 0,
	    "a NUL inside the magic line: refused");
	ok(try_load(MAGIC "uidvalidity 5\ndedup yes\n",
	    strlen(MAGIC "uidvalidity 5\ndedup yes\n")) == 0 &&
	    try_load(MAGIC "uidvalidity 5\ndedup l\n",
	    strlen(MAGIC "uidvalidity 5\ndedup l\n")) == 0,
	    "dedup with a value other than 0 or 1: refused");
	unlinkat(dfd, "f.state", 0);
}

/*
 * A full range after a smaller one: parse_ranges adds it one UID at a
 * time (4 billion adds, tens of seconds; the line can repeat it).  The
 * child gets 1 second; any sane load takes microseconds.
 */
static void
test_slow_range(void)
{
	static const char	 text[] = MAGIC "uidvalidity 1\n"
	    "delivered 5,1:4294967295\n";
	struct state		 st;
	pid_t			 pid;
	int			 status, r;

	put("slow.state", text, strlen(text));
	fflush(stdout);
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		alarm(1);
		r = state_load_file(dfd, "slow.state", &st);
		if (r == -1)
			_exit(errno == EINVAL ? 0 : 3);
		_exit(st.delivered.n == 1 && st.delivered.r[0].lo == 1 &&
		    st.delivered.r[0].hi == UINT32_MAX ? 0 : 4);
	}
	if (waitpid(pid, &status, 0) == -1)
		die("waitpid");
	if (WIFSIGNALED(status))
		printf("#   child killed by signal %d\n", WTERMSIG(status));
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "delivered 5,1:4294967295: loaded (as 1:4294967295) or EINVAL "
	    "within 1 s");
	unlinkat(dfd, "slow.state", 0);
}

/*
 * The names a hostile server (or a user) can give a mailbox.  Not "":
 * the configuration refuses it (it would be ".state", which sync_recover's
 * suffix test does not take for a state file).
 */
static const char *const hostile[] = {
	"INBOX", "inbox", "../../etc/passwd", "a/b", "a%2Fb", "a_b", "a.b",
	".", "..", "...", ".hidden", "/", "//", "a/", "/a", "a\\b",
	"a b", "a\tb", "a\nb", "\x01", "\x7f", "%", "%25", "%2525",
	"\xff\xfe\x80", "\xc3\xbf", "%FF", "\xd0\x92\xd1\x85\xd0\xbe\xd0\xb4",
	"Entw&APw-rfe", "INBOX.Sent", "INBOX/Sent", "lock", "x.state",
	"x.state.new", "-rf", "*", "a:b", "a,b", "state",
};

/* Checks one file name from state_filename; 1 when safe. */
static int
safe_name(const char *f)
{
	size_t	 len = strlen(f);

	if (len == 0 || strchr(f, '/') != NULL || strcmp(f, ".") == 0 ||
	    strcmp(f, "..") == 0)
		return 0;
	if (strspn(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._%~-") != len)
		return 0;
	/* sync_recover finds state files by this suffix. */
	return len > 6 && strcmp(f + len - 6, ".state") == 0;
}

/* Bounded: the file and its ".new" copy fit the file system's NAME_MAX. */
static int
short_enough(const char *f)
{
	static long	 name_max;

	if (name_max == 0 && (name_max = fpathconf(dfd, _PC_NAME_MAX)) <= 0)
		name_max = 255;
	return strlen(f) + strlen(".new") <= (size_t)name_max;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when the n names are pairwise different (sorts them). */
static int
distinct(char **names, size_t n)
{
	size_t	 i;

	qsort(names, n, sizeof(*names), cmpstr);
	for (i = 1; i < n; i++)
		if (strcmp(names[i - 1], names[i]) == 0) {
			printf("#   two mailboxes map to '%.40s...' (%zu bytes)\n",
			    names[i], strlen(names[i]));
			return 0;
		}
	return 1;
}

#define NHOSTILE	(sizeof(hostile) / sizeof(hostile[0]))
#define NRANDOM		4000

static void
test_filename(void)
{
	static const char chars[] = "aA.%/_-\xff ";
	char		 out[1024], msg[160];
	char		*mbox[NHOSTILE + NRANDOM], *files[NHOSTILE + NRANDOM];
	char		*small, *l1, *l2;
	size_t		 i, j, len, n = 0;
	int		 good = 1, fits = 1;

	for (i = 0; i < NHOSTILE; i++) {
		state_filename(hostile[i], out, sizeof(out));
		if (!safe_name(out)) {
			printf("#   '%s' -> '%s'\n", hostile[i], out);
			good = 0;
		}
		mbox[n++] = strdup(hostile[i]);
	}
	ok(good, "hostile names: one file name of [A-Za-z0-9._%-] ending in "
	    ".state, never '.', '..' or with '/'");
	state_filename("INBOX", out, sizeof(out));
	is_str(out, "INBOX.state", "INBOX is INBOX.state");

	/* Random short names over a troublesome alphabet: all distinct. */
	srandom(3);
	for (i = 0; i < NRANDOM; i++) {
		len = 1 + (size_t)random() % 6;
		if ((mbox[n] = malloc(len + 1)) == NULL)
			die("malloc");
		for (j = 0; j < len; j++)
			mbox[n][j] = chars[random() % (sizeof(chars) - 1)];
		mbox[n++][len] = '\0';
	}
	/* The same mailbox twice is one file, of course: keep one. */
	qsort(mbox, n, sizeof(*mbox), cmpstr);
	for (i = j = 1; i < n; i++)
		if (strcmp(mbox[i], mbox[j - 1]) != 0)
			mbox[j++] = mbox[i];
		else
			free(mbox[i]);
	n = j;
	good = 1;
	for (i = 0; i < n; i++) {
		state_filename(mbox[i], out, sizeof(out));
		good = good && safe_name(out);
		files[i] = strdup(out);
	}
	snprintf(msg, sizeof(msg), "%zu different mailboxes (%zu random): "
	    "%zu different safe file names", n, n - NHOSTILE, n);
	ok(good && distinct(files, n), msg);
	for (i = 0; i < n; i++) {
		free(files[i]);
		free(mbox[i]);
	}

	/* Short output buffers: always terminated, never overrun. */
	good = 1;
	for (len = 1; len <= 40; len++) {
		if ((small = malloc(len)) == NULL)
			die("malloc");
		state_filename("../\xff/a.b", small, len);
		good = good && memchr(small, '\0', len) != NULL;
		free(small);
	}
	ok(good, "buffers of 1..40 bytes: terminated, not overrun");

	/* Very long names. */
	if ((l1 = malloc(5001)) == NULL || (l2 = malloc(5001)) == NULL)
		die("malloc");
	for (len = 100; len <= 5000; len = len < 1000 ? len + 50 : len * 2) {
		memset(l1, 'a', len);
		l1[len] = '\0';
		state_filename(l1, out, sizeof(out));
		fits = fits && short_enough(out) && safe_name(out);
		memset(l1, '/', len);
		state_filename(l1, out, sizeof(out));
		if (!(short_enough(out) && safe_name(out)) && fits)
			printf("#   %zu slashes -> %zu bytes '%.20s...%s'\n",
			    len, strlen(out), out,
			    strlen(out) > 12 ? out + strlen(out) - 12 : out);
		fits = fits && short_enough(out) && safe_name(out);
	}
	ok(fits, "names of 100..5000 bytes: a file name that fits "
	    "NAME_MAX with its .new, still ending in .state");
	memset(l1, 'a', 2000);
	memcpy(l2, l1, 2000);
	strcpy(l1 + 2000, "1");
	strcpy(l2 + 2000, "2");
	state_filename(l1, out, sizeof(out));
	files[0] = strdup(out);
	state_filename(l2, out, sizeof(out));
	files[1] = strdup(out);
	ok(distinct(files, 2), "two 2001-byte names differing in the "
	    "last byte: different files");
	free(files[0]);
	free(files[1]);
	free(l1);
	free(l2);
}

/* Hostile names through state_save/state_load: one file each, in dfd. */
static void
test_hostile_files(void)
{
	const size_t	 nh = NHOSTILE;
	struct state	 st, back;
	char		 out[1024], *lng;
	size_t		 i;
	int		 good = 1;
	struct stat	 sb;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < nh; i++) {
		st.uidvalidity = 1000 + (uint32_t)i;
		if (state_save(dfd, hostile[i], &st) == -1) {
			printf("#   save '%s': %s\n", hostile[i],
			    strerror(errno));
			good = 0;
		}
	}
	ok(good, "every hostile name can be saved");
	is_int(nentries(), nh, "one file each in .imapfetch, nothing else");
	good = 1;
	for (i = 0; i < nh; i++) {
		state_filename(hostile[i], out, sizeof(out));
		if (state_load(dfd, hostile[i], &back) == -1 ||
		    back.uidvalidity != 1000 + i ||
		    fstatat(dfd, out, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(sb.st_mode))
			good = 0;
		state_free(&back);
	}
	ok(good, "each loads back its own uidvalidity from its own file");
	ok(top_holds_only_state_dir(), "nothing outside .imapfetch");

	if ((lng = malloc(301)) == NULL)
		die("malloc");
	memset(lng, 'a', 300);
	lng[300] = '\0';
	st.uidvalidity = 77;
	errno = 0;
	good = state_save(dfd, lng, &st) == 0 &&
	    state_load(dfd, lng, &back) == 0 && back.uidvalidity == 77;
	if (!good)
		printf("#   %s\n", strerror(errno));
	state_free(&back);
	ok(good, "a 300-byte mailbox name: save and load");
	free(lng);
	empty_dir();
}

static void
test_dir_lock(void)
{
	struct stat	 sb;
	char		 path[128];
	int		 fd, l1, l2, l3;

	snprintf(path, sizeof(path), "%s/m", top);
	if (mkdir(path, 0700) == -1)
		die(path);
	fd = state_dir(path);
	ok(fd != -1, "state_dir creates .imapfetch");
	ok(fd != -1 && fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    (sb.st_mode & 07777) == 0700, "...a directory, mode 0700");
	if (fd != -1)
		close(fd);
	fd = state_dir(path);
	ok(fd != -1, "state_dir again opens it");
	l1 = state_lock(fd);
	ok(l1 != -1, "state_lock takes the lock");
	errno = 0;
	l2 = state_lock(fd);
	ok(l2 == -1 && errno == EWOULDBLOCK,
	    "a second state_lock: -1, EWOULDBLOCK");
	if (l2 != -1)
		close(l2);
	if (l1 != -1)
		close(l1);
	l3 = state_lock(fd);
	ok(l3 != -1, "once released it can be taken again");
	if (l3 != -1)
		close(l3);
	close(fd);
	snprintf(path, sizeof(path), "%s/nonexistent/deeper", top);
	ok(state_dir(path) == -1, "state_dir of a missing maildrop fails");
}

int
main(void)
{
	char	 path[128];

	snprintf(top, sizeof(top), "%s/state.XXXXXX",
	    getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 40 ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/.imapfetch", top);
	if (mkdir(path, 0700) == -1 ||
	    (dfd = open(path, O_RDONLY | O_DIRECTORY)) == -1)
		die(path);
	if (chdir(top) == -1)
		die(top);

	test_missing();
	test_roundtrip();
	test_large();
	test_pending();
	test_damaged();
	test_truncated();
	test_garbage();
	test_slow_range();
	test_filename();
	test_hostile_files();
	test_dir_lock();
	return done_testing();
}
