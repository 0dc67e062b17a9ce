/*
 * state.c: imapfetch's state files (imapfetch/state.h) in a temporary
 * directory: the save/load round trip and the exact text (version 2, with
 * the account line), damaged files (refused with EINVAL and left in place,
 * never a crash), the identity a state belongs to (file names by
 * state_idname, an account line naming another identity refused), version
 * 1 files (read, written back as they were, adopted by state_adopt_legacy),
 * hostile and long mailbox, host and user names, the pending/settle
 * bookkeeping, the directory and the lock.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
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
#include "sha256.h"
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

/* 1 when dfd/file exists (as anything). */
static int
exists(const char *file)
{
	struct stat	 sb;

	return fstatat(dfd, file, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

/* 1 when dfd/file holds exactly text. */
static int
holds(const char *file, const char *text)
{
	static char	 buf[8192];

	return slurp(file, buf, sizeof(buf)) == (ssize_t)strlen(text) &&
	    strcmp(buf, text) == 0;
}

/* Every field zero, the account too: a freed or refused state. */
static int
is_zero(const struct state *st)
{
	return st->account == NULL && st->uidvalidity == 0 &&
	    st->dedup == 0 && st->delivered.n == 0 &&
	    st->delivered.r == NULL && st->npend == 0 && st->pend == NULL;
}

/* Nothing recorded (the account aside): a fresh state. */
static int
is_empty(const struct state *st)
{
	return st->uidvalidity == 0 && st->dedup == 0 &&
	    st->delivered.n == 0 && st->npend == 0;
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
	if (st->account != NULL && (st->account[0] == '\0' ||
	    strchr(st->account, '\n') != NULL))
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

/* The identity most tests use, its file name and its account line. */
static const struct stateid	 ID = { "imap.example.com", 993, "alice",
    "INBOX" };
#define ID_FILE		"imap.example.com+993+alice+INBOX.state"
#define ID_ACCOUNT	"imap.example.com 993 alice INBOX"

#define MAGIC		"imapfetch-state 1\n"
#define V2		"imapfetch-state 2\naccount " ID_ACCOUNT "\n"

#define PEND1	"1717000000.M123456P42Q1_imapfetch.host,S=10,W=11"
#define PEND2	"1717000000.M123456P42Q2_imapfetch.host,S=0,W=0"
#define FULL_BODY \
	"uidvalidity 123456789\n" \
	"delivered 1:10,12,20:30,4294967295\n" \
	"dedup 1\n" \
	"pending 40 " PEND1 "\n" \
	"pending 41 " PEND2 "\n" \
	"end\n"
#define FULL_TEXT	V2 FULL_BODY
#define FULL_TEXT_V1	MAGIC FULL_BODY

/* ID with another mailbox. */
static struct stateid
id_of(const char *mailbox)
{
	struct stateid	 id = ID;

	id.mailbox = mailbox;
	return id;
}

/* The file name of id (static: use before the next call). */
static const char *
idfile(const struct stateid *id)
{
	static char	 out[STATE_NAME_MAX + 64];

	state_idname(id, out, sizeof(out));
	return out;
}

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
	is_int(state_load(dfd, &ID, &st), 0, "missing file: loads");
	ok(is_empty(&st) && st.delivered.r == NULL && st.pend == NULL,
	    "missing file: an empty state");
	is_str(st.account, ID_ACCOUNT, "...of the identity asked for");
	is_int(nentries(), 0, "missing file: nothing created");
	state_free(&st);
	ok(is_zero(&st), "state_free zeroes it, account too");
}

static void
test_roundtrip(void)
{
	struct state	 st, back;
	char		 text[4096], again[4096];

	fill(&st);
	is_int(state_save(dfd, &ID, &st), 0, "save");
	ok(slurp(ID_FILE, text, sizeof(text)) > 0, "saved as " ID_FILE);
	is_str(text, FULL_TEXT, "the text is the documented format, "
	    "version 2 with the account line");
	is_int(nentries(), 1, "no .new file left behind");
	memset(&back, 0x5a, sizeof(back));
	is_int(state_load(dfd, &ID, &back), 0, "load");
	ok(same_state(&st, &back), "uidvalidity, dedup, delivered, pending "
	    "come back");
	is_str(back.account, ID_ACCOUNT, "the account comes back");
	ok(back.pend != NULL && back.pend[0].name != st.pend[0].name,
	    "the loaded names are the state's own copies");
	ok(uidset_has(&back.delivered, UINT32_MAX) &&
	    !uidset_has(&back.delivered, 11) &&
	    uidset_has(&back.delivered, 25), "has() on the loaded set");
	is_int(state_save(dfd, &ID, &back), 0, "save what was loaded");
	slurp(ID_FILE, again, sizeof(again));
	is_str(again, text, "the same text again");
	state_free(&back);
	ok(is_zero(&back), "state_free zeroes");
	state_free(&back);		/* twice is harmless */

	/* Replaced, not edited: the second save wins, still one file. */
	state_settle(&st);
	st.dedup = 0;
	st.uidvalidity = 7;
	is_int(state_save(dfd, &ID, &st), 0, "save over the old file");
	slurp(ID_FILE, text, sizeof(text));
	is_str(text, V2 "uidvalidity 7\n"
	    "delivered 1:10,12,20:30,40:41,4294967295\nend\n",
	    "settled: no dedup, no pending line, 40:41 delivered");
	is_int(state_load(dfd, &ID, &back), 0, "load the new one");
	ok(same_state(&st, &back), "the new one comes back");
	is_int(nentries(), 1, "still one file");
	state_free(&back);
	state_free(&st);

	/* The empty state. */
	is_int(state_save(dfd, &ID, &st), 0, "save an empty state");
	slurp(ID_FILE, text, sizeof(text));
	is_str(text, V2 "uidvalidity 0\nend\n", "empty state text");
	is_int(state_load(dfd, &ID, &back), 0, "load an empty state");
	ok(is_empty(&back), "empty state comes back empty");
	is_str(back.account, ID_ACCOUNT, "...with its account");
	state_free(&back);
	state_free(&st);

	/* state_save_file / state_load_file name the file themselves. */
	fill(&st);
	is_int(state_save(dfd, &ID, &st), 0, "save (account set)");
	is_int(state_save_file(dfd, "other.state", &st), 0,
	    "state_save_file");
	is_int(state_load_file(dfd, "other.state", &back), 0,
	    "state_load_file");
	ok(same_state(&st, &back), "by file name: comes back");
	is_str(back.account, ID_ACCOUNT, "by file name: with the account");
	ok(holds("other.state", FULL_TEXT), "by file name: the same text");
	state_free(&back);
	state_free(&st);
	empty_dir();
}

/* The account line: every part encoded, the host in lower case. */
static void
test_account_text(void)
{
	static const struct stateid	 odd = { "IMAP.Example.COM", 143,
	    "bob smith+x", "Sent/2024 \xe2\x82\xac" };
	static const char		 name[] = "imap.example.com+143+"
	    "bob%20smith%2Bx+Sent%2F2024%20%E2%82%AC.state";
	struct state			 st, back;
	char				 text[4096];

	memset(&st, 0, sizeof(st));
	st.uidvalidity = 3;
	uidset_add(&st.delivered, 9);
	is_str(idfile(&odd), name, "state_idname of an identity with spaces, "
	    "'+', '/', UTF-8 and a capitalised host");
	is_int(state_save(dfd, &odd, &st), 0, "save it");
	slurp(name, text, sizeof(text));
	is_str(text, "imapfetch-state 2\naccount imap.example.com 143 "
	    "bob%20smith%2Bx Sent%2F2024%20%E2%82%AC\nuidvalidity 3\n"
	    "delivered 9\nend\n", "its text: the parts encoded as in the "
	    "file name, spaces between them");
	is_int(state_load(dfd, &odd, &back), 0, "load it back");
	ok(same_state(&st, &back), "...the same state");
	state_free(&back);
	state_free(&st);
	empty_dir();
}

static void
test_large(void)
{
	struct state	 st, back;
	struct stateid	 id = id_of("big");
	size_t		 i;
	char		 name[96];

	memset(&st, 0, sizeof(st));
	srandom(7);
	for (i = 0; i < 5000; i++)
		uidset_add(&st.delivered, 1 + (uint32_t)(random() % 20000));
	for (i = 0; i < 100; i++)
		state_add_pending(&st, 30000 + (uint32_t)i, PEND1);
	st.uidvalidity = UINT32_MAX;
	is_int(state_save(dfd, &id, &st), 0, "save 5000 random UIDs");
	is_int(state_load(dfd, &id, &back), 0, "load them");
	snprintf(name, sizeof(name), "%zu ranges, 100 pending, uidvalidity "
	    "UINT32_MAX come back", st.delivered.n);
	ok(same_state(&st, &back), name);
	state_free(&back);
	state_free(&st);

	/* 100000 ranges on one line: loads (sorted: appended whole). */
	for (i = 0; i < 100000; i++)
		uidset_add(&st.delivered, 1 + 2 * (uint32_t)i);
	is_int(state_save(dfd, &id, &st), 0, "save 100000 ranges");
	is_int(state_load(dfd, &id, &back), 0, "load 100000 ranges");
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

static const struct damaged damaged[] = {
	{ "empty file", "", 0 },
	{ "wrong magic", "imapfetch-state 3\nuidvalidity 1\nend\n", 0 },
	{ "magic version 0", "imapfetch-state 0\nuidvalidity 1\nend\n", 0 },
	{ "magic version 02", "imapfetch-state 02\naccount a 1 b c\n"
	    "uidvalidity 1\nend\n", 0 },
	{ "magic with a trailing space", "imapfetch-state 2 \naccount a 1 b c"
	    "\nuidvalidity 1\nend\n", 0 },
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

/* Damage that only a version 2 file, or its account line, can have. */
static const struct damaged damaged_v2[] = {
	{ "version 2 without an account line",
	    "imapfetch-state 2\nuidvalidity 1\nend\n", 0 },
	{ "version 1 with an account line",
	    MAGIC "account " ID_ACCOUNT "\nuidvalidity 1\nend\n", 0 },
	{ "two account lines", V2 "account " ID_ACCOUNT "\nuidvalidity 1\n"
	    "end\n", 0 },
	{ "two different account lines", V2 "account x 1 y z\n"
	    "uidvalidity 1\nend\n", 0 },
	{ "a second account line, after uidvalidity",
	    V2 "uidvalidity 1\naccount " ID_ACCOUNT "\nend\n", 0 },
	{ "account without value", "imapfetch-state 2\naccount\n"
	    "uidvalidity 1\nend\n", 0 },
	{ "account with an empty value", "imapfetch-state 2\naccount \n"
	    "uidvalidity 1\nend\n", 0 },
	{ "the account after end", "imapfetch-state 2\nuidvalidity 1\nend\n"
	    "account " ID_ACCOUNT "\n", 0 },
	{ "ACCOUNT in capitals", "imapfetch-state 2\nACCOUNT " ID_ACCOUNT
	    "\nuidvalidity 1\nend\n", 0 },
	{ "version 2 without end", V2 "uidvalidity 1\n", 0 },
	{ "version 2 without uidvalidity", V2 "end\n", 0 },
	{ "version 2, the magic line alone", "imapfetch-state 2\n", 0 },
	{ "a NUL in the account line", "imapfetch-state 2\naccount a\0b 1 c d\n"
	    "uidvalidity 1\nend\n", sizeof("imapfetch-state 2\naccount a\0b 1 "
	    "c d\nuidvalidity 1\nend\n") - 1 },
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
		if (r == 0)
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

/* Writes text as x.state and checks that it is refused. */
static void
check_refused(const char *what, const char *text, size_t len)
{
	char	 name[200];

	put("x.state", text, len);
	snprintf(name, sizeof(name), "%s: EINVAL, file left alone", what);
	ok(refused("x.state", text, len), name);
}

static void
test_damaged(void)
{
	char	 name[160], *big, *t;
	size_t	 i, len, ml = strlen(MAGIC);

	for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		len = damaged[i].len ? damaged[i].len : strlen(damaged[i].text);
		check_refused(damaged[i].name, damaged[i].text, len);
		if (len <= ml || memcmp(damaged[i].text, MAGIC, ml) != 0)
			continue;
		/* The same damage in a file that ends as it should, in
		 * version 1 and in version 2. */
		if ((t = malloc(strlen(V2) + len + 8)) == NULL)
			die("malloc");
		memcpy(t, damaged[i].text, len);
		memcpy(t + len, "end\n", 4);
		snprintf(name, sizeof(name), "%s, then end", damaged[i].name);
		check_refused(name, t, len + 4);
		memcpy(t, V2, strlen(V2));
		memcpy(t + strlen(V2), damaged[i].text + ml, len - ml);
		memcpy(t + strlen(V2) + len - ml, "end\n", 4);
		snprintf(name, sizeof(name), "%s, version 2, then end",
		    damaged[i].name);
		check_refused(name, t, strlen(V2) + len - ml + 4);
		free(t);
	}
	for (i = 0; i < sizeof(damaged_v2) / sizeof(damaged_v2[0]); i++)
		check_refused(damaged_v2[i].name, damaged_v2[i].text,
		    damaged_v2[i].len ? damaged_v2[i].len :
		    strlen(damaged_v2[i].text));

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
	{
		struct stateid	 id = id_of("Dir");
		struct state	 st;

		if (mkdirat(dfd, idfile(&id), 0700) == -1)
			die("mkdirat");
		memset(&st, 0, sizeof(st));
		ok(state_load(dfd, &id, &st) == -1 && is_zero(&st),
		    "a directory as state file: load fails");
		st.uidvalidity = 1;
		ok(state_save(dfd, &id, &st) == -1,
		    "a directory as state file: save fails");
		is_int(nentries(), 1, "...and leaves no .new file behind");
		state_free(&st);
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
	if (r == 0)
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

/* Every prefix of text: refused, or loaded if cut after a whole line. */
static void
truncations(const char *text, const char *what)
{
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
	snprintf(name, sizeof(name), "%s: each of the %zu truncations loads "
	    "or fails with EINVAL", what, len);
	is_int(bad, 0, name);
	snprintf(name, sizeof(name), "%s: truncated inside a line: refused "
	    "(%d of %zu prefixes accepted)", what, midline, len);
	ok(midline == 0, name);
}

static void
test_truncated(void)
{
	truncations(FULL_TEXT, "version 2");
	truncations(FULL_TEXT_V1, "version 1");
	ok(try_load(MAGIC, strlen(MAGIC)) == 0,
	    "the magic line alone (no uidvalidity line): refused");
	ok(try_load(V2, strlen(V2)) == 0,
	    "version 2: magic and account lines alone: refused");
	unlinkat(dfd, "f.state", 0);
}

/* Random bytes, then random edits of a good file: EINVAL or a sane state. */
static void
test_garbage(void)
{
	static const char	 alphabet[] = "0123456789:, \n\r\t.-/x";
	static const char *const goods[] = { FULL_TEXT, FULL_TEXT_V1 };
	unsigned char		 buf[512];
	size_t			 i, j, len, edits;
	int			 bad = 0, loaded = 0, r;
	char			 name[160];
	const char		*good;

	srandom(1);
	for (i = 0; i < 300; i++) {
		len = (size_t)random() % 300;
		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)random();
		if (i % 4 == 0 && len >= strlen(MAGIC))
			memcpy(buf, MAGIC, strlen(MAGIC));
		if (i % 4 == 1 && len >= strlen(V2))
			memcpy(buf, V2, strlen(V2));
		if (try_load(buf, len) == -1)
			bad++;
	}
	is_int(bad, 0, "300 random files: each refused with EINVAL or sane");

	bad = 0;
	for (i = 0; i < 4000; i++) {
		good = goods[i % 2];
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
	snprintf(name, sizeof(name), "4000 edited good files (versions 1 and "
	    "2): EINVAL or sane (%d loaded)", loaded);
	is_int(bad, 0, name);

	/* What a C string would stop at. */
	ok(try_load(MAGIC "uidvalidity 5\0junk\nend\n",
	    sizeof(MAGIC "uidvalidity 5\0junk\nend\n") - 1) == 0,
	    "a NUL inside a line: refused");
	ok(try_load("imapfetch-state 1\0junk\nuidvalidity 5\nend\n",
	    sizeof("imapfetch-state 1\0junk\nuidvalidity 5\nend\n") - 1) == 0,
	    "a NUL inside the magic line: refused");
	ok(try_load(MAGIC "uidvalidity 5\ndedup yes\nend\n",
	    strlen(MAGIC "uidvalidity 5\ndedup yes\nend\n")) == 0 &&
	    try_load(MAGIC "uidvalidity 5\ndedup l\nend\n",
	    strlen(MAGIC "uidvalidity 5\ndedup l\nend\n")) == 0,
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

/*
 * 1 when f is a safe state file name: one name of [A-Za-z0-9._%~-] (and
 * '+' for an identity's), not starting with '.', ending in ".state".
 */
static int
safe_name(const char *f, int plus)
{
	size_t	 len = strlen(f);

	if (len == 0 || strchr(f, '/') != NULL || f[0] == '.')
		return 0;
	if (strspn(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._%~-") != len && (!plus || strspn(f,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._%~-+") != len))
		return 0;
	/* sync_recover finds state files by this suffix. */
	return len > 6 && strcmp(f + len - 6, ".state") == 0;
}

/* Bounded: the file and its ".new" copy fit the file system's NAME_MAX,
 * and the name is no longer than state.h says. */
static int
short_enough(const char *f)
{
	static long	 name_max;
	size_t		 len = strlen(f);

	if (name_max == 0 && (name_max = fpathconf(dfd, _PC_NAME_MAX)) <= 0)
		name_max = 255;
	if (strchr(f, '~') != NULL && len > STATE_NAME_KEEP + 39)
		return 0;
	return len <= STATE_NAME_MAX + 6 &&
	    len + strlen(".new") <= (size_t)name_max;
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
			printf("#   two names map to '%.40s...' (%zu bytes)\n",
			    names[i], strlen(names[i]));
			return 0;
		}
	return 1;
}

/*
 * The version 1 file name as the version before identities made it
 * (state.c at the last commit): [A-Za-z0-9_-] and dots not first kept,
 * %XX for the rest; an encoding of more than STATE_NAME_MAX bytes keeps
 * STATE_NAME_KEEP of them, then "~" and the first 32 hex digits of the
 * SHA-256 of the mailbox name.  Legacy files are found by this name.
 */
static void
v1_name(const char *mailbox, char *out, size_t len)
{
	const unsigned char	*p = (const unsigned char *)mailbox;
	char			 enc[STATE_NAME_MAX + 4], hex[65];
	size_t			 o = 0;

	for (; *p != '\0' && o <= STATE_NAME_MAX; p++)
		if (isalnum(*p) && *p < 0x80)
			enc[o++] = (char)*p;
		else if (*p == '_' || *p == '-' || (*p == '.' && o > 0))
			enc[o++] = (char)*p;
		else
			o += (size_t)snprintf(enc + o, 4, "%%%02X", *p);
	if (o <= STATE_NAME_MAX) {
		snprintf(out, len, "%.*s.state", (int)o, enc);
		return;
	}
	sha256_hex(mailbox, strlen(mailbox), hex);
	snprintf(out, len, "%.*s~%.32s.state", STATE_NAME_KEEP, enc, hex);
}

#define NHOSTILE	(sizeof(hostile) / sizeof(hostile[0]))
#define NRANDOM		4000

static void
test_filename(void)
{
	static const char chars[] = "aA.%/_-\xff ";
	char		 out[1024], want[1024], msg[160];
	char		*mbox[NHOSTILE + NRANDOM], *files[NHOSTILE + NRANDOM];
	char		*small, *l1, *l2;
	size_t		 i, j, len, n = 0;
	int		 good = 1, fits = 1, same = 1;

	for (i = 0; i < NHOSTILE; i++) {
		state_filename(hostile[i], out, sizeof(out));
		if (!safe_name(out, 0)) {
			printf("#   '%s' -> '%s'\n", hostile[i], out);
			good = 0;
		}
		mbox[n++] = strdup(hostile[i]);
	}
	ok(good, "hostile names: one file name of [A-Za-z0-9._%-] ending in "
	    ".state, never starting with '.' or with '/'");
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
		good = good && safe_name(out, 0);
		v1_name(mbox[i], want, sizeof(want));
		if (strcmp(out, want) != 0 && same) {
			printf("#   '%s': '%s', was '%s'\n", mbox[i], out,
			    want);
			same = 0;
		}
		files[i] = strdup(out);
	}
	snprintf(msg, sizeof(msg), "%zu different mailboxes (%zu random): "
	    "%zu different safe file names", n, n - NHOSTILE, n);
	ok(good && distinct(files, n), msg);
	ok(same, "...each the name version 1 gave it");
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
	same = 1;
	for (len = 100; len <= 5000; len = len < 1000 ? len + 50 : len * 2) {
		memset(l1, 'a', len);
		l1[len] = '\0';
		state_filename(l1, out, sizeof(out));
		fits = fits && short_enough(out) && safe_name(out, 0);
		v1_name(l1, want, sizeof(want));
		same = same && strcmp(out, want) == 0;
		memset(l1, '/', len);
		state_filename(l1, out, sizeof(out));
		if (!(short_enough(out) && safe_name(out, 0)) && fits)
			printf("#   %zu slashes -> %zu bytes '%.20s...%s'\n",
			    len, strlen(out), out,
			    strlen(out) > 12 ? out + strlen(out) - 12 : out);
		fits = fits && short_enough(out) && safe_name(out, 0);
		v1_name(l1, want, sizeof(want));
		if (strcmp(out, want) != 0 && same)
			printf("#   %zu slashes: '%s', was '%s'\n", len, out,
			    want);
		same = same && strcmp(out, want) == 0;
	}
	ok(fits, "names of 100..5000 bytes: a file name that fits "
	    "NAME_MAX with its .new, still ending in .state");
	ok(same, "...the name version 1 gave it (else a legacy state of a "
	    "long mailbox name is never found)");
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

/* An identity with its canonical form (host in lower case) and name. */
struct named {
	char	*canon;
	char	*name;
};

static int
cmpnamed(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->canon,
	    ((const struct named *)b)->canon);
}

static char *
canon_of(const struct stateid *id)
{
	char	*s, *p;

	/* Lengths first: no separator can be faked. */
	if (asprintf(&s, "%zu:%s|%u|%zu:%s|%zu:%s", strlen(id->host), id->host,
	    id->port, strlen(id->user), id->user, strlen(id->mailbox),
	    id->mailbox) == -1)
		die("asprintf");
	for (p = s; *p != '|'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return s;
}

/* 1 when a and b get the same name; else says what they got. */
static int
same_name(const struct stateid *a, const struct stateid *b)
{
	char	 na[1024], nb[1024];

	state_idname(a, na, sizeof(na));
	state_idname(b, nb, sizeof(nb));
	if (strcmp(na, nb) == 0)
		return 1;
	printf("#   '%.60s...' (%zu bytes)\n#   '%.60s...' (%zu bytes)\n",
	    na, strlen(na), nb, strlen(nb));
	return 0;
}

/* 1 when a and b get different, safe, bounded names. */
static int
apart(const struct stateid *a, const struct stateid *b)
{
	char	 na[1024], nb[1024];

	state_idname(a, na, sizeof(na));
	state_idname(b, nb, sizeof(nb));
	if (strcmp(na, nb) == 0) {
		printf("#   both '%.60s...'\n", na);
		return 0;
	}
	if (!safe_name(na, 1) || !safe_name(nb, 1) || !short_enough(na) ||
	    !short_enough(nb)) {
		printf("#   unsafe or too long: '%s' or '%s'\n", na, nb);
		return 0;
	}
	return 1;
}

#define NIDS	3000

static void
test_idname(void)
{
	static const char	 chars[] = "aA.%+/ \xff_";
	static const unsigned	 ports[] = { 0, 1, 143, 993, 65535,
	    4294967295U };
	struct stateid		 a, b;
	struct named		*ids;
	char			 out[1024], *parts[3], *small, *l, *l2, *lu;
	char			 msg[200];
	char			**names;
	size_t			 i, j, k, n, len, ngroups = 0;
	int			 good, safe = 1, fits = 1, grouped = 1;

	state_idname(&ID, out, sizeof(out));
	is_str(out, ID_FILE, "state_idname: <host>+<port>+<user>+<mailbox>"
	    ".state");

	/* Identities differing in one part. */
	a = ID;
	b = ID;
	b.host = "imap.example.org";
	ok(apart(&a, &b), "another host: another file");
	b = ID;
	b.port = 143;
	ok(apart(&a, &b), "another port: another file");
	b = ID;
	b.user = "alicf";
	ok(apart(&a, &b), "another user: another file");
	b = ID;
	b.mailbox = "Sent";
	ok(apart(&a, &b), "another mailbox: another file");
	b = ID;
	b.user = "Alice";
	ok(apart(&a, &b), "user \"Alice\", not \"alice\": another file");
	b = ID;
	b.mailbox = "inbox";
	ok(apart(&a, &b), "mailbox \"inbox\", not \"INBOX\": another file");
	b = ID;
	b.host = "IMAP.Example.COM";
	ok(same_name(&a, &b), "host \"IMAP.Example.COM\" is "
	    "\"imap.example.com\": the same file");

	/* '+' joins the parts: no way to move it from one to another. */
	a.user = "a+b";
	a.mailbox = "c";
	b = ID;
	b.user = "a";
	b.mailbox = "b+c";
	ok(apart(&a, &b), "user \"a+b\", mailbox \"c\" vs user \"a\", "
	    "mailbox \"b+c\": different files");
	a = b = ID;
	a.user = "a+";
	a.mailbox = "b";
	b.user = "a";
	b.mailbox = "+b";
	ok(apart(&a, &b), "user \"a+\", mailbox \"b\" vs user \"a\", "
	    "mailbox \"+b\": different files");
	a = b = ID;
	a.host = "x+993";
	a.port = 143;
	a.user = "u";
	b.host = "x";
	b.port = 993;
	b.user = "143+u";
	ok(apart(&a, &b), "host \"x+993\", port 143, user \"u\" vs host \"x\","
	    " port 993, user \"143+u\": different files");
	a = b = ID;
	a.user = "a+b";
	b.user = "a%2Bb";
	ok(apart(&a, &b), "user \"a+b\" vs \"a%2Bb\": different files");
	a = b = ID;
	a.user = "";
	a.mailbox = "x";
	b.user = "x";
	b.mailbox = "";
	ok(apart(&a, &b), "user \"\", mailbox \"x\" vs user \"x\", mailbox "
	    "\"\": different files");

	/* Hostile parts. */
	good = 1;
	for (i = 0; i < NHOSTILE; i++)
		for (k = 0; k < 4; k++) {
			a = ID;
			if (k == 0 || k == 3)
				a.host = hostile[i];
			if (k == 1 || k == 3)
				a.user = hostile[i];
			if (k == 2 || k == 3)
				a.mailbox = hostile[i];
			state_idname(&a, out, sizeof(out));
			if (!safe_name(out, 1) || !short_enough(out)) {
				if (good)
					printf("#   '%s' -> '%s'\n", hostile[i],
					    out);
				good = 0;
			}
		}
	ok(good, "hostile hosts, users, mailboxes: one file name of "
	    "[A-Za-z0-9._%+~-], never starting with '.', ending in .state");

	/*
	 * Random identities over a troublesome alphabet, a quarter of them
	 * again with the host in capitals: the same file exactly when the
	 * same identity (host compared without case).
	 */
	if ((ids = calloc(2 * NIDS, sizeof(*ids))) == NULL ||
	    (names = calloc(2 * NIDS, sizeof(*names))) == NULL)
		die("calloc");
	srandom(5);
	for (i = n = 0; i < NIDS; i++) {
		for (k = 0; k < 3; k++) {
			len = (size_t)random() % (k == 0 ? 4 : 5);
			if ((parts[k] = malloc(len + 1)) == NULL)
				die("malloc");
			for (j = 0; j < len; j++)
				parts[k][j] = chars[random() %
				    (sizeof(chars) - 1)];
			parts[k][len] = '\0';
		}
		a.host = parts[0];
		a.port = ports[random() % 6];
		a.user = parts[1];
		a.mailbox = parts[2];
		ids[n].canon = canon_of(&a);
		state_idname(&a, out, sizeof(out));
		ids[n++].name = strdup(out);
		safe = safe && safe_name(out, 1) && short_enough(out);
		if (i % 4 == 0) {
			for (j = 0; parts[0][j] != '\0'; j++)
				if (parts[0][j] >= 'a' && parts[0][j] <= 'z')
					parts[0][j] -= 'a' - 'A';
			ids[n].canon = canon_of(&a);
			state_idname(&a, out, sizeof(out));
			ids[n++].name = strdup(out);
		}
		for (k = 0; k < 3; k++)
			free(parts[k]);
	}
	qsort(ids, n, sizeof(*ids), cmpnamed);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(ids[j].canon, ids[i].canon) ==
		    0; j++)
			if (strcmp(ids[j].name, ids[i].name) != 0 && grouped) {
				printf("#   '%s': '%s' and '%s'\n",
				    ids[i].canon, ids[i].name, ids[j].name);
				grouped = 0;
			}
		names[ngroups++] = ids[i].name;
	}
	snprintf(msg, sizeof(msg), "%zu random identities (%zu different): "
	    "safe, bounded names", n, ngroups);
	ok(safe, msg);
	ok(grouped, "...the same name for the same identity, whatever the "
	    "case of the host");
	ok(distinct(names, ngroups), "...different names for different "
	    "identities");
	/* A version 1 name never is an identity's. */
	good = 1;
	for (i = 0; i < ngroups && good; i++) {
		state_filename(names[i], out, sizeof(out));
		good = bsearch(&(char *){ out }, names, ngroups,
		    sizeof(*names), cmpstr) == NULL;
	}
	ok(good, "...none of them a version 1 file name");
	for (i = 0; i < n; i++) {
		free(ids[i].canon);
		free(ids[i].name);
	}
	free(ids);
	free(names);

	/* Short output buffers: always terminated, never overrun. */
	good = 1;
	a.host = "H/../";
	a.port = 993;
	a.user = "u\xff";
	a.mailbox = "../a.b";
	for (len = 1; len <= 60; len++) {
		if ((small = malloc(len)) == NULL)
			die("malloc");
		state_idname(&a, small, len);
		good = good && memchr(small, '\0', len) != NULL;
		free(small);
	}
	ok(good, "state_idname, buffers of 1..60 bytes: terminated, not "
	    "overrun");

	/* Long parts. */
	if ((l = malloc(5002)) == NULL || (l2 = malloc(5002)) == NULL ||
	    (lu = malloc(5002)) == NULL)
		die("malloc");
	for (len = 50; len <= 5000; len = len < 400 ? len + 50 : len * 2)
		for (k = 0; k < 4; k++) {
			memset(l, k == 3 ? '/' : 'a' + (int)k, len);
			l[len] = '\0';
			a = ID;
			if (k == 0)
				a.host = l;
			else if (k == 1)
				a.user = l;
			else
				a.mailbox = l;
			state_idname(&a, out, sizeof(out));
			if (!(safe_name(out, 1) && short_enough(out)) && fits)
				printf("#   part %zu of %zu bytes: '%s' (%zu "
				    "bytes)\n", k, len, out, strlen(out));
			fits = fits && safe_name(out, 1) && short_enough(out);
		}
	ok(fits, "a host, user or mailbox of 50..5000 bytes: a safe name "
	    "that fits NAME_MAX with its .new (at most STATE_NAME_KEEP + 39 "
	    "bytes once shortened)");

	memset(l, 'a', 300);
	l[300] = '\0';
	a = b = ID;
	a.mailbox = l;
	b.mailbox = l;
	b.user = "bob";
	ok(apart(&a, &b), "long mailbox, users differ: different files");
	b = ID;
	b.mailbox = l;
	b.port = 994;
	ok(apart(&a, &b), "long mailbox, ports differ: different files");
	b = ID;
	b.mailbox = l;
	b.host = "imap.example.org";
	ok(apart(&a, &b), "long mailbox, hosts differ: different files");
	memcpy(l2, l, 301);
	l2[299] = 'b';
	b = ID;
	b.mailbox = l2;
	ok(apart(&a, &b), "300-byte mailboxes differing in the last byte: "
	    "different files");
	snprintf(lu, 5002, "%sx", l);
	a = b = ID;
	a.host = lu;
	a.user = "y";
	b.host = l;
	b.user = "xy";
	ok(apart(&a, &b), "a long host + user \"y\" vs the same host less its "
	    "last byte + user \"xy\": different files");
	a = b = ID;
	a.user = "a+b";
	a.mailbox = l;
	snprintf(l2, 5002, "b+%s", l);
	b.user = "a";
	b.mailbox = l2;
	ok(apart(&a, &b), "user \"a+b\", long mailbox M vs user \"a\", "
	    "mailbox \"b+\" M: different files");
	a = b = ID;
	a.mailbox = l;
	b.mailbox = l;
	b.host = "IMAP.Example.COM";
	ok(same_name(&a, &b), "a long mailbox: host \"IMAP.Example.COM\" is "
	    "still \"imap.example.com\", the same file");
	memset(lu, 'H', 300);
	lu[300] = '\0';
	memset(l2, 'h', 300);
	l2[300] = '\0';
	a = b = ID;
	a.host = lu;
	b.host = l2;
	ok(same_name(&a, &b), "a 300-byte host in capitals and in lower "
	    "case: the same file");
	b = a;
	b.user = "Alice";
	ok(apart(&a, &b), "...but users \"alice\" and \"Alice\": different "
	    "files");
	free(l);
	free(l2);
	free(lu);
}

/* Hostile names through state_save/state_load: one file each, in dfd. */
static void
test_hostile_files(void)
{
	const size_t	 nh = NHOSTILE;
	struct stateid	 id;
	struct state	 st, back;
	char		 out[1024], *lng;
	size_t		 i, k;
	int		 good = 1;
	struct stat	 sb;

	memset(&st, 0, sizeof(st));
	for (k = 0; k < 2; k++) {
		good = 1;
		for (i = 0; i < nh; i++) {
			id = id_of(hostile[i]);
			if (k == 1)
				id.host = id.user = hostile[i];
			st.uidvalidity = 1000 + (uint32_t)(i + k * nh);
			free(st.account);
			st.account = NULL;
			if (state_save(dfd, &id, &st) == -1) {
				printf("#   save '%s': %s\n", hostile[i],
				    strerror(errno));
				good = 0;
			}
		}
		ok(good, k == 0 ? "every hostile mailbox name can be saved" :
		    "every hostile host, user and mailbox can be saved");
		is_int(nentries(), (k + 1) * nh, "one file each in .imapfetch, "
		    "nothing else");
		good = 1;
		for (i = 0; i < nh; i++) {
			id = id_of(hostile[i]);
			if (k == 1)
				id.host = id.user = hostile[i];
			state_idname(&id, out, sizeof(out));
			if (state_load(dfd, &id, &back) == -1 ||
			    back.uidvalidity != 1000 + i + k * nh ||
			    fstatat(dfd, out, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
			    !S_ISREG(sb.st_mode)) {
				if (good)
					printf("#   '%s': %s\n", hostile[i],
					    strerror(errno));
				good = 0;
			}
			state_free(&back);
		}
		ok(good, "each loads back its own uidvalidity from its own "
		    "file");
	}
	ok(top_holds_only_state_dir(), "nothing outside .imapfetch");
	state_free(&st);

	if ((lng = malloc(301)) == NULL)
		die("malloc");
	memset(lng, 'a', 300);
	lng[300] = '\0';
	for (k = 0; k < 2; k++) {
		memset(&st, 0, sizeof(st));
		st.uidvalidity = 77;
		id = id_of(lng);
		if (k == 1) {
			id = ID;
			id.host = id.user = lng;
		}
		errno = 0;
		good = state_save(dfd, &id, &st) == 0 &&
		    state_load(dfd, &id, &back) == 0 && back.uidvalidity == 77;
		if (!good)
			printf("#   %s\n", strerror(errno));
		state_free(&back);
		state_free(&st);
		ok(good, k == 0 ? "a 300-byte mailbox name: save and load" :
		    "a 300-byte host and user: save and load");
	}
	free(lng);
	empty_dir();
}

/* A state belongs to its identity. */
static void
test_identity(void)
{
	static const char	 other_v1[] = MAGIC "uidvalidity 5\n"
	    "delivered 1:3\nend\n";
	struct stateid		 others[5], caps, upper;
	struct state		 st, back;
	char			 text[4096], name[200];
	char			 file[STATE_NAME_MAX + 64];
	size_t			 i;
	int			 r, e;

	memset(&st, 0, sizeof(st));
	st.uidvalidity = 9;
	uidset_add_range(&st.delivered, 1, 100);
	if (state_save(dfd, &ID, &st) == -1 ||
	    slurp(ID_FILE, text, sizeof(text)) <= 0)
		die("save");
	state_free(&st);

	/* ID's text under the names of identities differing in one part. */
	for (i = 0; i < 5; i++)
		others[i] = ID;
	others[0].host = "imap.example.org";
	others[1].port = 143;
	others[2].user = "bob";
	others[3].user = "Alice";
	others[4].mailbox = "Sent";
	for (i = 0; i < 5; i++) {
		snprintf(file, sizeof(file), "%s", idfile(&others[i]));
		put(file, text, strlen(text));
		memset(&back, 0x5a, sizeof(back));
		errno = 0;
		r = state_load(dfd, &others[i], &back);
		e = errno;
		snprintf(name, sizeof(name), "%s's account line in the file of "
		    "%s %u %s %s: -1, EINVAL, nothing loaded", ID_ACCOUNT,
		    others[i].host, others[i].port, others[i].user,
		    others[i].mailbox);
		ok(r == -1 && e == EINVAL && is_zero(&back), name);
		if (r == 0)
			state_free(&back);
		ok(holds(file, text), "...the file left as it was");
		unlinkat(dfd, file, 0);
	}
	ok(holds(ID_FILE, text), "the identity's own file untouched");
	ok(state_load(dfd, &ID, &back) == 0 && back.uidvalidity == 9 &&
	    uidset_has(&back.delivered, 100), "...and it still loads");
	state_free(&back);

	/* A version 1 file under an identity's name. */
	put(ID_FILE, other_v1, strlen(other_v1));
	errno = 0;
	r = state_load(dfd, &ID, &back);
	ok(r == -1 && errno == EINVAL && is_zero(&back), "a version 1 file "
	    "under an identity's name: -1, EINVAL");
	if (r == 0)
		state_free(&back);
	ok(holds(ID_FILE, other_v1), "...the file left as it was");
	empty_dir();

	/* The host is compared without case, the user with. */
	caps = ID;
	caps.host = "IMAP.Example.COM";
	memset(&st, 0, sizeof(st));
	st.uidvalidity = 11;
	is_int(state_save(dfd, &caps, &st), 0, "save as IMAP.Example.COM");
	ok(exists(ID_FILE), "...into " ID_FILE);
	ok(state_load(dfd, &ID, &back) == 0 && back.uidvalidity == 11,
	    "load as imap.example.com: the same state");
	is_str(back.account, ID_ACCOUNT, "...the account in lower case");
	state_free(&back);
	state_free(&st);
	upper = ID;
	upper.user = "ALICE";
	ok(state_load(dfd, &upper, &back) == 0 && is_empty(&back),
	    "load as user ALICE: a fresh state, not alice's");
	state_free(&back);
	is_int(nentries(), 1, "...and no file made for it");
	empty_dir();
}

/* Version 1 files: read by name, written back as version 1. */
static void
test_v1(void)
{
	struct state	 st, want;

	put("old.state", FULL_TEXT_V1, strlen(FULL_TEXT_V1));
	memset(&st, 0x5a, sizeof(st));
	is_int(state_load_file(dfd, "old.state", &st), 0, "state_load_file "
	    "reads a version 1 file");
	ok(st.account == NULL, "...no account");
	fill(&want);
	ok(same_state(&st, &want), "...uidvalidity, dedup, delivered, "
	    "pending");
	state_free(&want);
	is_int(state_save_file(dfd, "old.state", &st), 0, "state_save_file "
	    "writes it back");
	ok(holds("old.state", FULL_TEXT_V1), "...as version 1, byte for "
	    "byte");
	is_int(state_save_file(dfd, "copy.state", &st), 0, "...and under "
	    "another name");
	ok(holds("copy.state", FULL_TEXT_V1), "...the same text");
	state_settle(&st);
	st.uidvalidity = 5;
	is_int(state_save_file(dfd, "old.state", &st), 0, "a changed version "
	    "1 state");
	ok(holds("old.state", MAGIC "uidvalidity 5\n"
	    "delivered 1:10,12,20:30,40:41,4294967295\ndedup 1\nend\n"),
	    "...stays version 1");
	state_free(&st);

	/* A version 2 file by name: any identity. */
	put("any.state", "imapfetch-state 2\naccount other.host 110 x%20y z\n"
	    "uidvalidity 3\nend\n", strlen("imapfetch-state 2\naccount "
	    "other.host 110 x%20y z\nuidvalidity 3\nend\n"));
	ok(state_load_file(dfd, "any.state", &st) == 0 &&
	    st.uidvalidity == 3 && st.account != NULL &&
	    strcmp(st.account, "other.host 110 x%20y z") == 0,
	    "state_load_file reads a version 2 file of any identity");
	is_int(state_save_file(dfd, "any.state", &st), 0, "...and writes it "
	    "back");
	ok(holds("any.state", "imapfetch-state 2\naccount other.host 110 "
	    "x%20y z\nuidvalidity 3\nend\n"), "...byte for byte");
	state_free(&st);
	empty_dir();
}

/* state_adopt_legacy. */
static void
test_adopt(void)
{
	static const char	 ours[] = V2 "uidvalidity 5\ndelivered 7\n"
	    "end\n";
	static const char	 v2other[] = "imapfetch-state 2\naccount "
	    "other.host 993 bob INBOX\nuidvalidity 8\ndelivered 1:9\nend\n";
	struct stateid		 id, sent = id_of("Sent");
	struct state		 st, want, back;
	char			 old[STATE_NAME_MAX + 64], *lng;
	int			 r;

	/* As imapfetch does it: load (nothing), then adopt. */
	put("INBOX.state", FULL_TEXT_V1, strlen(FULL_TEXT_V1));
	if (state_load(dfd, &ID, &st) == -1)
		die("state_load");
	r = state_adopt_legacy(dfd, &ID, &st);
	is_int(r, 1, "a version 1 INBOX.state: adopted (1)");
	fill(&want);
	ok(same_state(&st, &want), "...the loaded state has its UIDs, "
	    "pending and dedup");
	is_str(st.account, ID_ACCOUNT, "...and the identity's account");
	state_free(&want);
	state_free(&st);
	ok(!exists("INBOX.state"), "...the old file is gone");
	ok(holds(ID_FILE, FULL_TEXT), "...the identity's file holds it, "
	    "version 2");
	is_int(nentries(), 1, "...and nothing else is there");
	ok(state_load(dfd, &ID, &back) == 0 && back.uidvalidity == 123456789,
	    "...state_load reads it");
	state_free(&back);
	memset(&st, 0, sizeof(st));
	is_int(state_adopt_legacy(dfd, &ID, &st), 0, "adopt again: 0");
	ok(is_zero(&st), "...nothing loaded");
	empty_dir();

	/* No legacy file. */
	memset(&st, 0, sizeof(st));
	is_int(state_adopt_legacy(dfd, &ID, &st), 0, "no legacy file: 0");
	ok(is_zero(&st), "...nothing loaded");
	is_int(nentries(), 0, "...nothing created");

	/* The identity's file is there already: both left alone. */
	put(ID_FILE, ours, strlen(ours));
	put("INBOX.state", FULL_TEXT_V1, strlen(FULL_TEXT_V1));
	is_int(state_adopt_legacy(dfd, &ID, &st), 0, "the identity has a "
	    "file already: 0");
	ok(is_zero(&st), "...nothing loaded");
	ok(holds(ID_FILE, ours) && holds("INBOX.state", FULL_TEXT_V1),
	    "...both files left as they were");
	empty_dir();

	/* A version 2 file under the legacy name is somebody's state. */
	put("INBOX.state", v2other, strlen(v2other));
	is_int(state_adopt_legacy(dfd, &ID, &st), 0, "a version 2 file named "
	    "INBOX.state: not adopted (0)");
	ok(is_zero(&st), "...nothing loaded");
	ok(holds("INBOX.state", v2other) && !exists(ID_FILE),
	    "...left as it was, no file made for the identity");
	empty_dir();

	/* Another mailbox's legacy file. */
	put("INBOX.state", FULL_TEXT_V1, strlen(FULL_TEXT_V1));
	is_int(state_adopt_legacy(dfd, &sent, &st), 0, "INBOX.state for "
	    "mailbox Sent: 0");
	ok(holds("INBOX.state", FULL_TEXT_V1) && nentries() == 1,
	    "...left alone");
	empty_dir();

	/* A damaged legacy file: an error, left for a human. */
	put("INBOX.state", MAGIC "uidvalidity 5\ndelivered 0\nend\n",
	    strlen(MAGIC "uidvalidity 5\ndelivered 0\nend\n"));
	errno = 0;
	r = state_adopt_legacy(dfd, &ID, &st);
	ok(r == -1 && errno == EINVAL, "a damaged INBOX.state: -1, EINVAL");
	ok(is_zero(&st), "...nothing loaded");
	ok(exists("INBOX.state") && !exists(ID_FILE), "...left in place, no "
	    "file made for the identity");
	empty_dir();

	/* A long mailbox name: found by its version 1 name. */
	if ((lng = malloc(301)) == NULL)
		die("malloc");
	memset(lng, 'm', 300);
	lng[300] = '\0';
	v1_name(lng, old, sizeof(old));
	put(old, FULL_TEXT_V1, strlen(FULL_TEXT_V1));
	id = id_of(lng);
	r = state_adopt_legacy(dfd, &id, &st);
	is_int(r, 1, "a 300-byte mailbox's version 1 file (as version 1 "
	    "named it): adopted");
	ok(st.uidvalidity == 123456789 && !exists(old) &&
	    exists(idfile(&id)), "...its UIDs, under the new name");
	state_free(&st);
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
	test_account_text();
	test_large();
	test_pending();
	test_damaged();
	test_truncated();
	test_garbage();
	test_slow_range();
	test_filename();
	test_idname();
	test_hostile_files();
	test_identity();
	test_v1();
	test_adopt();
	test_dir_lock();
	return done_testing();
}
