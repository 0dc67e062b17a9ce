/*
 * metrics.c: imapfetch's Prometheus textfile (imapfetch/metrics.h) in a
 * temporary directory: the exact text of a first file; runs merged
 * (counters carried, the last success kept through a failure, failures
 * by kind); a run of some accounts keeping the others' series byte for
 * byte; sections and mailboxes gone from the configuration dropped; the
 * mailboxes a failed account never reached; INBOX in any case; label
 * values escaped and read back (quote, backslash, newline, UTF-8, bytes
 * that are not UTF-8); damaged and foreign files ignored with one warning
 * (and every cut and many corruptions of a good file: never a crash, and
 * what is written next is always read back); imapfetch 0.1's file; the
 * file's mode; planted links; concurrent writers (the directory lock);
 * many series; NULL.  promtool check metrics, when installed, reads the
 * files too.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "../../imapfetch/imapfetch.h"
#include "../../imapfetch/metrics.h"
#include "fixture.h"
#include "tap.h"

static char	 top[64];		/* the temporary directory */
static char	 path[256];		/* top/m.prom */
static char	*no_box[] = { "INBOX" };
static char	*two_box[] = { "INBOX", "Work" };
static struct account	 accts[4];
static struct conf	 conf;

static void
cleanup(void)
{
	rm_tree(top);
}

/* The configuration: alice (INBOX, Work), bob (INBOX), carol (no IMAP). */
static void
setup_conf(void)
{
	memset(accts, 0, sizeof(accts));
	memset(&conf, 0, sizeof(conf));
	strcpy(accts[0].name, "alice");
	accts[0].imap_host = "h";
	accts[0].mailboxes = two_box;
	accts[0].nmailboxes = 2;
	strcpy(accts[1].name, "bob");
	accts[1].imap_host = "h";
	accts[1].mailboxes = no_box;
	accts[1].nmailboxes = 1;
	strcpy(accts[2].name, "carol");
	conf.accounts = accts;
	conf.naccounts = 3;
	conf.metrics_file = path;
}

/* The file at p, whole (NUL-terminated; allocated), or NULL. */
static char *
slurp(const char *p)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(p, O_RDONLY)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || (buf = malloc((size_t)st.st_size + 1)) ==
	    NULL || (n = read(fd, buf, (size_t)st.st_size)) == -1)
		die(p);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void
put(const char *p, const char *text, size_t len)
{
	int	 fd;

	unlink(p);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, text, len) != (ssize_t)len || close(fd) == -1)
		die(p);
}

/* stderr goes to a file between cap_begin and cap_end (which returns it). */
static int	 cap_saved = -1;
static char	 cap_path[128];

static void
cap_begin(void)
{
	int	 fd;

	fflush(stderr);
	snprintf(cap_path, sizeof(cap_path), "%s/stderr", top);
	if ((cap_saved = dup(2)) == -1 || (fd = open(cap_path, O_WRONLY |
	    O_CREAT | O_TRUNC, 0600)) == -1 || dup2(fd, 2) == -1)
		die("stderr");
	close(fd);
}

static char *
cap_end(void)
{
	char	*s;

	fflush(stderr);
	if (dup2(cap_saved, 2) == -1)
		die("stderr");
	close(cap_saved);
	s = slurp(cap_path);
	unlink(cap_path);
	return s;
}

static int
nlines(const char *s)
{
	int	 n = 0;

	for (; s != NULL && *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* The value of the sample "key " at the start of a line of text, or -1. */
static long long
val(const char *text, const char *key)
{
	const char	*p = text;
	size_t		 n = strlen(key);

	for (; p != NULL; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

/* The value of metric for account and mailbox (and kind) in the file. */
static long long
get(const char *metric, const char *account, const char *mailbox,
    const char *kind)
{
	char		 key[512];
	char		*text = slurp(path);
	long long	 v;

	if (kind != NULL)
		snprintf(key, sizeof(key), "%s{account=\"%s\",mailbox=\"%s\","
		    "kind=\"%s\"}", metric, account, mailbox, kind);
	else if (mailbox != NULL)
		snprintf(key, sizeof(key), "%s{account=\"%s\",mailbox=\"%s\"}",
		    metric, account, mailbox);
	else
		snprintf(key, sizeof(key), "%s{account=\"%s\"}", metric,
		    account);
	v = val(text, key);
	free(text);
	return v;
}

#define MSGS(a, b)	get("imapfetch_messages_fetched_total", a, b, NULL)
#define BYTES(a, b)	get("imapfetch_bytes_fetched_total", a, b, NULL)
#define LASTOK(a, b)	get("imapfetch_last_success_timestamp_seconds", a, b, \
			    NULL)
#define FAILS(a, b, k)	get("imapfetch_failures_total", a, b, k)
#define CODE(a)		get("imapfetch_exit_code", a, NULL, NULL)

static struct tally
tally(unsigned long nnew, uint64_t bytes)
{
	struct tally	 t;

	memset(&t, 0, sizeof(t));
	t.nnew = nnew;
	t.bytes = bytes;
	return t;
}

/* The account ran: each of its mailboxes delivered t, or failed. */
static void
ran(struct metrics *m, const struct account *a, const struct tally *t,
    int code)
{
	size_t	 i;

	for (i = 0; i < a->nmailboxes; i++)
		metrics_add(m, a->name, a->mailboxes[i], t, 0.5, code);
	metrics_account(m, a, 1, code);
}

/* One run of alice and/or bob, whose mailboxes each delivered n messages
 * of 100 bytes or failed with code; stderr captured into *err. */
static int
run(int ran_alice, int ran_bob, unsigned long n, int code, char **err)
{
	struct metrics	*m;
	struct tally	 t = tally(n, 100 * n);
	int		 r;

	cap_begin();
	m = metrics_new(&conf);
	if (ran_alice)
		ran(m, &accts[0], &t, code);
	if (ran_bob)
		ran(m, &accts[1], &t, code);
	r = metrics_write(m);
	metrics_free(m);
	*err = cap_end();
	return r;
}

/* promtool check metrics < path, when promtool is installed. */
static void
promtool(const char *name)
{
	char	 cmd[512];

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		printf("ok %d # skip %s: promtool not installed\n", ++tap_n,
		    name);
		return;
	}
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s >&2", path);
	ok(system(cmd) == 0, name);
}

#define FAIL(a, b, k, v) \
	"imapfetch_failures_total{account=\"" a "\",mailbox=\"" b "\",kind=\"" \
	k "\"} " v "\n"

static const char first_text[] =
"# HELP imapfetch_last_run_timestamp_seconds When imapfetch last ran.\n"
"# TYPE imapfetch_last_run_timestamp_seconds gauge\n"
"imapfetch_last_run_timestamp_seconds %1$lld\n"
"# HELP imapfetch_exit_code Exit code of the account's last run (0: success).\n"
"# TYPE imapfetch_exit_code gauge\n"
"imapfetch_exit_code{account=\"alice\"} 0\n"
"imapfetch_exit_code{account=\"bob\"} 69\n"
"# HELP imapfetch_last_success_timestamp_seconds When the mailbox was last "
"fetched without an error (0: never).\n"
"# TYPE imapfetch_last_success_timestamp_seconds gauge\n"
"imapfetch_last_success_timestamp_seconds{account=\"alice\",mailbox=\"INBOX\"}"
" %1$lld\n"
"imapfetch_last_success_timestamp_seconds{account=\"alice\",mailbox=\"Work\"}"
" %1$lld\n"
"imapfetch_last_success_timestamp_seconds{account=\"bob\",mailbox=\"INBOX\"}"
" 0\n"
"# HELP imapfetch_last_run_duration_seconds Seconds the last run spent on "
"the mailbox.\n"
"# TYPE imapfetch_last_run_duration_seconds gauge\n"
"imapfetch_last_run_duration_seconds{account=\"alice\",mailbox=\"INBOX\"} "
"1.500\n"
"imapfetch_last_run_duration_seconds{account=\"alice\",mailbox=\"Work\"} "
"0.250\n"
"imapfetch_last_run_duration_seconds{account=\"bob\",mailbox=\"INBOX\"} "
"0.500\n"
"# HELP imapfetch_messages_fetched_total Messages delivered into the "
"maildrop.\n"
"# TYPE imapfetch_messages_fetched_total counter\n"
"imapfetch_messages_fetched_total{account=\"alice\",mailbox=\"INBOX\"} 3\n"
"imapfetch_messages_fetched_total{account=\"alice\",mailbox=\"Work\"} 2\n"
"imapfetch_messages_fetched_total{account=\"bob\",mailbox=\"INBOX\"} 0\n"
"# HELP imapfetch_bytes_fetched_total Bytes of the messages delivered into "
"the maildrop.\n"
"# TYPE imapfetch_bytes_fetched_total counter\n"
"imapfetch_bytes_fetched_total{account=\"alice\",mailbox=\"INBOX\"} 300\n"
"imapfetch_bytes_fetched_total{account=\"alice\",mailbox=\"Work\"} 200\n"
"imapfetch_bytes_fetched_total{account=\"bob\",mailbox=\"INBOX\"} 0\n"
"# HELP imapfetch_failures_total Runs that failed for the mailbox, by kind "
"of failure.\n"
"# TYPE imapfetch_failures_total counter\n"
FAIL("alice", "INBOX", "network", "0")
FAIL("alice", "INBOX", "protocol", "0")
FAIL("alice", "INBOX", "auth", "0")
FAIL("alice", "INBOX", "local", "0")
FAIL("alice", "INBOX", "config", "0")
FAIL("alice", "INBOX", "tempfail", "0")
FAIL("alice", "Work", "network", "0")
FAIL("alice", "Work", "protocol", "0")
FAIL("alice", "Work", "auth", "0")
FAIL("alice", "Work", "local", "0")
FAIL("alice", "Work", "config", "0")
FAIL("alice", "Work", "tempfail", "0")
FAIL("bob", "INBOX", "network", "1")
FAIL("bob", "INBOX", "protocol", "0")
FAIL("bob", "INBOX", "auth", "0")
FAIL("bob", "INBOX", "local", "0")
FAIL("bob", "INBOX", "config", "0")
FAIL("bob", "INBOX", "tempfail", "0");

/*
 * First run: alice's INBOX 3 (twice: 1 + 2, 1.5 s in all), Work 2; bob
 * never connected (69).  carol fetches nothing: no series.
 */
static void
test_first(void)
{
	struct metrics	*m;
	struct tally	 t1 = tally(1, 100), t2 = tally(2, 200);
	char		 want[8192], *got, *err;
	long long	 now;
	time_t		 t0 = time(NULL);

	unlink(path);
	cap_begin();
	m = metrics_new(&conf);
	metrics_add(m, "alice", "INBOX", &t1, 1.0, 0);
	metrics_add(m, "alice", "inbox", &t2, 0.5, 0);
	metrics_add(m, "alice", "Work", &t2, 0.25, 0);
	metrics_account(m, &accts[0], 2.0, 0);
	metrics_account(m, &accts[1], 0.5, EX_UNAVAILABLE);
	is_int(metrics_write(m), 0, "first file written");
	metrics_free(m);
	err = cap_end();
	is_str(err, "", "no old file: no warning");
	got = slurp(path);
	now = val(got, "imapfetch_last_run_timestamp_seconds");
	ok(now >= t0 && now <= time(NULL), "the last run: now");
	snprintf(want, sizeof(want), first_text, now);
	is_str(got, want, "the first file, exactly");
	promtool("the first file: promtool check metrics");
	free(got);
	free(err);
}

/* Two more runs: counters carried, failures by kind, last success kept. */
static void
test_merge(void)
{
	char		*text, *p, *err;

	is_int(run(1, 1, 4, 0, &err), 0, "second run");
	is_str(err, "", "second run: no warning");
	is_int(MSGS("alice", "INBOX"), 7, "messages carried: 3 + 4");
	is_int(BYTES("alice", "INBOX"), 700, "bytes carried: 300 + 400");
	is_int(MSGS("bob", "INBOX"), 4, "bob: 0 + 4");
	is_int(FAILS("bob", "INBOX", "network"), 1, "bob: failures carried");
	ok(LASTOK("bob", "INBOX") >= time(NULL) - 5, "bob: a last success");
	is_int(CODE("bob"), 0, "bob: exit code 0");
	free(err);

	/* A known last success for alice/Work, to see it kept. */
	text = slurp(path);
	p = strstr(text, "mailbox=\"Work\"} ");
	memcpy(p + strlen("mailbox=\"Work\"} "), "1234567890", 10);
	put(path, text, strlen(text));
	free(text);
	is_int(run(1, 0, 0, EX_PROTOCOL, &err), 0, "third run: alice fails");
	is_int(LASTOK("alice", "Work"), 1234567890,
	    "a failed run keeps the last success");
	is_int(FAILS("alice", "Work", "protocol"), 1, "a protocol failure");
	is_int(FAILS("alice", "INBOX", "protocol"), 1, "on each mailbox");
	is_int(FAILS("alice", "INBOX", "network"), 0, "of its kind only");
	is_int(MSGS("alice", "INBOX"), 7, "no messages: the counter stays");
	is_int(CODE("alice"), EX_PROTOCOL, "alice: exit code 76");
	promtool("merged: promtool check metrics");
	free(err);
}

/* Lines of text that mention account a, in order (allocated). */
static char *
lines_of(const char *text, const char *a)
{
	char		 needle[64];
	char		*out = calloc(1, strlen(text) + 1);
	const char	*p, *e;

	snprintf(needle, sizeof(needle), "{account=\"%s\"", a);
	for (p = text; *p != '\0'; p = e + 1) {
		e = strchr(p, '\n');
		if (memmem(p, (size_t)(e - p), needle, strlen(needle)) != NULL)
			strncat(out, p, (size_t)(e - p + 1));
	}
	return out;
}

/* imapfetch bob: alice's series stay byte for byte. */
static void
test_partial(void)
{
	char	*before, *after, *a0, *a1, *err;
	int	 k;

	before = slurp(path);
	for (k = 0; k < 2; k++) {
		is_int(run(0, 1, 1, k ? EX_NOPERM : EX_TEMPFAIL, &err), 0,
		    "a run of bob alone");
		free(err);
	}
	after = slurp(path);
	a0 = lines_of(before, "alice");
	a1 = lines_of(after, "alice");
	ok(strlen(a0) > 500, "alice has series");
	is_str(a1, a0, "a run of bob alone: alice's series as they were");
	is_int(FAILS("bob", "INBOX", "tempfail"), 1, "bob: a tempfail");
	is_int(FAILS("bob", "INBOX", "auth"), 1, "bob: an auth failure");
	is_int(MSGS("bob", "INBOX"), 6, "bob: what failed runs delivered "
	    "counts");
	is_int(CODE("bob"), EX_NOPERM, "bob: the last exit code");
	free(before);
	free(after);
	free(a0);
	free(a1);
}

/* A section, or a mailbox, gone from the configuration: its series too. */
static void
test_gone(void)
{
	char	*err, *text;

	conf.naccounts = 1;		/* bob is gone */
	accts[0].nmailboxes = 1;	/* so is alice's Work */
	is_int(run(0, 0, 0, 0, &err), 0, "a run of nothing");
	free(err);
	ok(CODE("bob") == -1 && MSGS("bob", "INBOX") == -1,
	    "a section gone: its series dropped, even when it did not run");
	ok(MSGS("alice", "Work") == 6, "alice did not run: Work kept");
	is_int(run(1, 0, 0, 0, &err), 0, "a run of alice");
	free(err);
	ok(MSGS("alice", "Work") == -1 && MSGS("alice", "INBOX") == 7,
	    "alice ran: her mailbox no longer fetched dropped");
	text = slurp(path);
	ok(strstr(text, "\"Work\"") == NULL, "no line of it left");
	free(text);
	setup_conf();
}

/*
 * A connection that broke in INBOX: the mailboxes after it get the
 * account's code; INBOX in any case is one series.
 */
static void
test_fill(void)
{
	static char	*boxes[] = { "inbox", "Archive", "Inbox" };
	struct metrics	*m;
	struct tally	 t = tally(1, 10);
	char		*err;

	unlink(path);
	strcpy(accts[3].name, "dave");
	accts[3].imap_host = "h";
	accts[3].mailboxes = boxes;
	accts[3].nmailboxes = 3;
	conf.naccounts = 4;
	cap_begin();
	m = metrics_new(&conf);
	metrics_add(m, "dave", "INBOX", &t, 1, EX_UNAVAILABLE);
	metrics_account(m, &accts[3], 3, EX_UNAVAILABLE);
	is_int(metrics_write(m), 0, "a broken connection");
	metrics_free(m);
	err = cap_end();
	free(err);
	is_int(MSGS("dave", "INBOX"), 1, "INBOX: what it delivered");
	is_int(FAILS("dave", "INBOX", "network"), 1, "INBOX: failed once");
	is_int(FAILS("dave", "Archive", "network"), 1,
	    "Archive, never reached: failed too");
	is_int(MSGS("dave", "Archive"), 0, "Archive: nothing delivered");
	ok(MSGS("dave", "inbox") == -1 && MSGS("dave", "Inbox") == -1,
	    "inbox and Inbox are INBOX");
	is_int(get("imapfetch_last_run_duration_seconds", "dave", "Archive",
	    NULL), 3, "Archive: the account's duration");
	setup_conf();
}

/* Label values: escaped, valid UTF-8, read back as the same series. */
static void
test_escape(void)
{
	static const char *const names[] = {
		"a\"b\\c\nd", "Entw\xc3\xbcrfe", "bad \xff\xc3(", "\\n\\\"",
		"\xf0\x9f\x93\xa8 mail"
	};
	static const char *const labels[] = {
		"a\\\"b\\\\c\\nd", "Entw\xc3\xbcrfe",
		"bad \xef\xbf\xbd\xef\xbf\xbd(", "\\\\n\\\\\\\"",
		"\xf0\x9f\x93\xa8 mail"
	};
	struct metrics	*m;
	struct tally	 t = tally(1, 1);
	char		*err;
	size_t		 i;
	int		 k;

	unlink(path);
	for (k = 0; k < 2; k++) {
		cap_begin();
		m = metrics_new(&conf);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			metrics_add(m, "alice", names[i], &t, 0, 0);
		metrics_write(m);
		metrics_free(m);
		err = cap_end();
		is_str(err, "", "hostile names: no warning, written or read");
		free(err);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		is_int(MSGS("alice", labels[i]), 2,
		    "a hostile name: escaped, read back, carried");
	promtool("hostile names: promtool check metrics");
}

/* What must be read back as damaged: one warning, counters from 0. */
static const struct damage {
	const char	*find;		/* in the good file */
	const char	*repl;
	const char	*name;
} damages[] = {
	{ "} 7\n", "} 7", "a newline missing" },
	{ "} 7\n", "} 7\ngarbage\n", "a garbage line" },
	{ "} 7\n", "} 7\n\n", "an empty line" },
	{ "} 7\n", "} 7\n# a comment\n", "a comment of another kind" },
	{ "} 7\n", "} 7\r\n", "CRLF" },
	{ "} 7\n", "} -7\n", "a negative counter" },
	{ "} 7\n", "} 7e0\n", "an exponent" },
	{ "} 7\n", "} 7.0\n", "a fraction in a counter" },
	{ "} 7\n", "} 99999999999999999999\n", "beyond 64 bits" },
	{ "} 7\n", "} 7 1700000000\n", "a timestamp" },
	{ "} 7\n", "} 0x7\n", "hexadecimal" },
	{ "} 7\n", "}  7\n", "two blanks" },
	{ "} 7\n", "}\n", "no value" },
	{ "mailbox=\"INBOX\"} 7", "mailbox=\"IN\\tBOX\"} 7",
	    "an escape the format does not have" },
	{ "mailbox=\"INBOX\"} 7", "mailbox=\"IN\xff" "BOX\"} 7",
	    "a label value not UTF-8" },
	{ "mailbox=\"INBOX\"} 7", "mailbox=\"\"} 7", "an empty label value" },
	{ "mailbox=\"INBOX\"} 7", "mailbox=\"INBOX} 7", "an open quote" },
	{ "mailbox=\"INBOX\"} 7", "mailbox=\"INBOX\",x=\"y\"} 7",
	    "another label" },
	{ ",mailbox=\"INBOX\"} 7", "} 7", "a label missing" },
	{ "{account=\"alice\",mailbox=\"INBOX\"} 7",
	    "{mailbox=\"INBOX\",account=\"alice\"} 7",
	    "labels in another order" },
	{ "kind=\"auth\"", "kind=\"cosmic\"", "an unknown kind" },
	{ "{account=\"bob\"} 77", "{account=\"bob\"} 256",
	    "an exit code > 255" },
	{ "_total counter", "_total gauge", "a counter declared a gauge" },
	{ "# TYPE imapfetch_bytes_fetched_total counter\n",
	    "# TYPE imapfetch_bytes_fetched_total counter\n"
	    "# TYPE imapfetch_bytes_fetched_total counter\n", "TYPE twice" },
	{ "# TYPE imapfetch_bytes_fetched_total counter\n", "",
	    "a sample before its TYPE" },
	{ "# HELP imapfetch_exit_code", "# HELP node_exit_code",
	    "another program's metric" },
	{ "imapfetch_last_run_timestamp_seconds 1",
	    "imapfetch_last_run_timestamp_seconds 1\n"
	    "imapfetch_last_run_timestamp_seconds 1", "a sample twice" },
	{ "imapfetch_exit_code{account=\"bob\"} 77\n",
	    "imapfetch_exit_code{account=\"bob\"} 77\n"
	    "imapfetch_exit_code{account=\"bob\"} 77\n", "an exit code twice" },
	{ "kind=\"tempfail\"} 0\n", "kind=\"tempfail\"} 0\n"
	    "imapfetch_failures_total{account=\"alice\",mailbox=\"INBOX\","
	    "kind=\"network\"} 0\n", "a series twice, apart" },
};

/* The good file: alice 7 messages in INBOX, bob exit code 77. */
static char *
good_file(void)
{
	char	*err;

	unlink(path);
	run(1, 1, 7, 0, &err);
	free(err);
	run(0, 1, 0, EX_NOPERM, &err);
	free(err);
	return slurp(path);
}

/* good with find replaced by repl (or cut there), as the file. */
static void
put_damaged(const char *good, const struct damage *d)
{
	const char	*p = strstr(good, d->find);
	char		*s;
	size_t		 n, lf, lr;

	if (p == NULL)
		die(d->find);
	n = (size_t)(p - good);
	lf = strlen(d->find);
	lr = strlen(d->repl);
	s = malloc(strlen(good) + lr + 1);
	memcpy(s, good, n);
	memcpy(s + n, d->repl, lr);
	memcpy(s + n + lr, p + lf, strlen(p + lf) + 1);
	put(path, s, n + lr + strlen(p + lf));
	free(s);
}

static void
test_damaged(void)
{
	char	*good = good_file(), *err;
	size_t	 i;

	put(path, good, strlen(good));
	run(1, 0, 1, 0, &err);
	ok(*err == '\0' && MSGS("alice", "INBOX") == 8, "the good file, "
	    "read back: 7 + 1, no warning");
	free(err);
	for (i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
		put_damaged(good, &damages[i]);
		printf("# %s\n", damages[i].name);
		is_int(run(1, 0, 1, 0, &err), 0, "damaged: written");
		if (!ok(nlines(err) == 1 && strstr(err, "metrics-file") &&
		    strstr(err, "ignored"), "damaged: one warning"))
			printf("#   %s", err);
		free(err);
		ok(MSGS("alice", "INBOX") == 1 && CODE("bob") == -1,
		    "damaged: counters from 0, the others' series gone");
		run(1, 0, 1, 0, &err);
		ok(*err == '\0' && MSGS("alice", "INBOX") == 2,
		    "damaged: what replaced it is read back");
		free(err);
	}
	memcpy(good + 10, "\0", 1);
	put(path, good, strlen(good + 11) + 11);
	good[10] = 'P';		/* "# HELP imapfetch" */
	run(1, 0, 1, 0, &err);
	ok(nlines(err) == 1 && strstr(err, "ignored") != NULL &&
	    MSGS("alice", "INBOX") == 1, "a NUL byte: a warning, from 0");
	free(err);
	put(path, good, strlen(good) - 1);
	run(1, 0, 1, 0, &err);
	ok(nlines(err) == 1 && strstr(err, "ignored") != NULL &&
	    MSGS("alice", "INBOX") == 1, "cut short: a warning, from 0");
	free(err);
	put(path, "", 0);
	run(1, 0, 1, 0, &err);
	ok(*err == '\0' && MSGS("alice", "INBOX") == 1,
	    "an empty file: no series, no warning");
	free(err);
	free(good);
}

/*
 * Every cut of a good file, and bytes changed anywhere: never a crash,
 * always a file written that is read back without a warning.  Thousands
 * of runs, each with two fsyncs: in tmpfs when there is one.
 */
static void
test_fuzz(void)
{
	static const char	 bytes[] = { '\0', '"', '\\', '\n', '{', '9',
	    ' ', '\xff' };
	char			 shm[64] = "/dev/shm/metrics-test.XXXXXX";
	char			*good = good_file(), *s, *err;
	size_t			 len = strlen(good), i, b;
	int			 bad = 0, r;

	if (mkdtemp(shm) != NULL)
		snprintf(path, sizeof(path), "%s/m.prom", shm);
	s = malloc(len + 1);
	for (i = 0; i <= len; i++) {
		put(path, good, i);
		r = run(1, 0, 1, 0, &err);
		free(err);
		run(1, 0, 0, 0, &err);
		bad += r != 0 || *err != '\0';
		free(err);
	}
	ok(bad == 0, "every cut of a good file: handled");
	for (i = 0, bad = 0; i < len; i += 3)
		for (b = 0; b < sizeof(bytes); b++) {
			memcpy(s, good, len);
			s[i] = bytes[b];
			put(path, s, len);
			r = run(i % 2, 1, 1, 0, &err);
			free(err);
			run(1, 1, 0, 0, &err);
			bad += r != 0 || *err != '\0';
			free(err);
		}
	ok(bad == 0, "bytes changed all over a good file: handled");
	free(s);
	free(good);
	if (strncmp(path, shm, strlen(shm)) == 0)
		rm_tree(shm);
	snprintf(path, sizeof(path), "%s/m.prom", top);
}

/* imapfetch 0.1's file: ours, read without a warning; its gauges go. */
static void
test_legacy(void)
{
	static const char old[] =
	    "# HELP imapfetch_last_run_timestamp_seconds When imapfetch last "
	    "ran.\n"
	    "# TYPE imapfetch_last_run_timestamp_seconds gauge\n"
	    "imapfetch_last_run_timestamp_seconds 1700000000\n"
	    "# HELP imapfetch_exit_code Exit code of the account's last run "
	    "(0: success).\n"
	    "# TYPE imapfetch_exit_code gauge\n"
	    "imapfetch_exit_code{account=\"bob\"} 69\n"
	    "imapfetch_exit_code{account=\"alice\"} 0\n"
	    "# HELP imapfetch_messages_fetched Messages delivered by the last "
	    "run.\n"
	    "# TYPE imapfetch_messages_fetched gauge\n"
	    "imapfetch_messages_fetched{account=\"bob\"} 0\n"
	    "imapfetch_messages_fetched{account=\"alice\"} 3\n"
	    "# HELP imapfetch_bytes_fetched Bytes delivered by the last run.\n"
	    "# TYPE imapfetch_bytes_fetched gauge\n"
	    "imapfetch_bytes_fetched{account=\"bob\"} 0\n"
	    "imapfetch_bytes_fetched{account=\"alice\"} 1234\n";
	char	*err, *text;

	put(path, old, sizeof(old) - 1);
	run(1, 0, 1, 0, &err);
	is_str(err, "", "imapfetch 0.1's file: no warning");
	is_int(CODE("bob"), 69, "imapfetch 0.1's file: bob's code kept");
	is_int(MSGS("alice", "INBOX"), 1, "its gauges are not counters");
	text = slurp(path);
	ok(strstr(text, "imapfetch_messages_fetched{") == NULL &&
	    strstr(text, "imapfetch_bytes_fetched{") == NULL,
	    "its gauges are gone");
	free(text);
	free(err);
}

/* The mode: 0644 whatever the umask, or the old file's. */
static void
test_mode(void)
{
	struct stat	 st;
	mode_t		 old = umask(077);
	char		*err;

	unlink(path);
	run(1, 0, 0, 0, &err);
	free(err);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
	    "umask 077: 0644 all the same (the node exporter reads it)");
	chmod(path, 0640);
	run(1, 0, 0, 0, &err);
	free(err);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640,
	    "the old file's mode is kept (0640)");
	umask(old);
}

/* Links: the file's or our temporary file's name; a FIFO; a directory. */
static void
test_links(void)
{
	char		 victim[160], tmp[320], *err, *text;
	struct stat	 st;

	snprintf(victim, sizeof(victim), "%s/victim", top);
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	put(victim, "precious\n", 9);
	unlink(path);
	if (symlink(victim, tmp) == -1)
		die("symlink");
	is_int(run(1, 0, 1, 0, &err), 0, "a link as our temporary file");
	free(err);
	text = slurp(victim);
	is_str(text, "precious\n", "its target untouched");
	free(text);
	ok(lstat(tmp, &st) == -1 && errno == ENOENT, "no temporary file left");
	unlink(path);
	if (symlink(victim, path) == -1)
		die("symlink");
	is_int(run(1, 0, 1, 0, &err), 0, "a link as the file");
	ok(nlines(err) == 1, "a link as the file: a warning");
	free(err);
	text = slurp(victim);
	is_str(text, "precious\n", "its target neither read nor written");
	free(text);
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "the link replaced");
	unlink(path);
	if (mkfifo(path, 0644) == -1)
		die("mkfifo");
	is_int(run(1, 0, 1, 0, &err), 0, "a FIFO as the file: no hang");
	ok(nlines(err) == 1, "a FIFO: a warning");
	free(err);
	unlink(path);
	if (mkdir(path, 0755) == -1)
		die("mkdir");
	is_int(run(1, 0, 1, 0, &err), -1, "a directory as the file: -1");
	ok(nlines(err) >= 1, "a directory: said");
	free(err);
	rmdir(path);
	unlink(victim);
}

/*
 * Writers at once (imapfetch@alice and @bob): each child runs one
 * account ROUNDS times; with the directory lock no run is lost.
 */
#define WRITERS		4
#define ROUNDS		50
static void
test_concurrent(void)
{
	static char	*box[] = { "INBOX" };
	struct account	 many[WRITERS];
	struct conf	 c = conf;
	struct metrics	*m;
	struct tally	 t = tally(1, 1);
	pid_t		 pid[WRITERS];
	char		 name[16];
	int		 i, k, status, all = 1;

	memset(many, 0, sizeof(many));
	for (i = 0; i < WRITERS; i++) {
		snprintf(many[i].name, sizeof(many[i].name), "w%d", i);
		many[i].imap_host = "h";
		many[i].mailboxes = box;
		many[i].nmailboxes = 1;
	}
	c.accounts = many;
	c.naccounts = WRITERS;
	unlink(path);
	fflush(stdout);
	for (i = 0; i < WRITERS; i++) {
		if ((pid[i] = fork()) == -1)
			die("fork");
		if (pid[i] > 0)
			continue;
		for (k = 0; k < ROUNDS; k++) {
			m = metrics_new(&c);
			metrics_add(m, many[i].name, "INBOX", &t, 0, 0);
			metrics_account(m, &many[i], 0, 0);
			if (metrics_write(m) != 0)
				_exit(1);
			metrics_free(m);
		}
		_exit(0);
	}
	for (i = 0; i < WRITERS; i++)
		if (waitpid(pid[i], &status, 0) == -1 || status != 0)
			all = 0;
	ok(all, "writers at once: each wrote");
	for (i = 0, all = 1; i < WRITERS; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		if (MSGS(name, "INBOX") != ROUNDS) {
			printf("#   %s: %lld of %d\n", name,
			    MSGS(name, "INBOX"), ROUNDS);
			all = 0;
		}
	}
	ok(all, "writers at once: no run lost");
}

/* Many mailboxes: written and read back, quickly. */
static void
test_many(void)
{
	enum { N = 5000 };
	static char	*boxes[N];
	struct metrics	*m;
	struct tally	 t = tally(1, 1);
	char		*err, *text;
	time_t		 t0 = time(NULL);
	int		 i, k;

	for (i = 0; i < N; i++) {
		boxes[i] = malloc(16);
		snprintf(boxes[i], 16, "box%05d", i);
	}
	accts[0].mailboxes = boxes;
	accts[0].nmailboxes = N;
	unlink(path);
	for (k = 0; k < 2; k++) {
		cap_begin();
		m = metrics_new(&conf);
		for (i = 0; i < N; i++)
			metrics_add(m, "alice", boxes[i], &t, 0, 0);
		metrics_account(m, &accts[0], 0, 0);
		metrics_write(m);
		metrics_free(m);
		err = cap_end();
		free(err);
	}
	text = slurp(path);
	is_int(nlines(text), 3 + 3 + 5 * 2 + N * 10,
	    "many mailboxes: every series");
	free(text);
	ok(MSGS("alice", "box00000") == 2 && MSGS("alice", "box04999") == 2,
	    "many mailboxes: read back");
	ok(time(NULL) - t0 < 20, "many mailboxes: in seconds");
	for (i = 0; i < N; i++)
		free(boxes[i]);
	setup_conf();
}

/*
 * One struct metrics written again and again (a long-running imapfetch):
 * each write adds what came since the last one; a failed write keeps it
 * for the next.
 */
static void
test_rewrite(void)
{
	struct metrics	*m;
	struct tally	 t = tally(2, 20);
	char		 dir[160], *err;
	int		 r1, r2, r3, r4;

	snprintf(dir, sizeof(dir), "%s/later", top);
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	cap_begin();
	m = metrics_new(&conf);
	metrics_add(m, "alice", "INBOX", &t, 1, 0);
	metrics_account(m, &accts[0], 1, 0);
	r1 = metrics_write(m);
	if (mkdir(dir, 0755) == -1)
		die(dir);
	r2 = metrics_write(m);
	r3 = metrics_write(m);
	metrics_add(m, "alice", "INBOX", &t, 1, EX_UNAVAILABLE);
	r4 = metrics_write(m);
	metrics_free(m);
	err = cap_end();
	ok(r1 == -1 && r2 == 0 && r3 == 0 && r4 == 0, "written again and again");
	is_int(nlines(err), 1, "one warning: the failed write");
	free(err);
	is_int(MSGS("alice", "INBOX"), 4, "each round added once");
	is_int(FAILS("alice", "INBOX", "network"), 1, "its failure once");
	is_int(MSGS("alice", "Work"), 0, "what the first round did, kept");
	snprintf(path, sizeof(path), "%s/m.prom", top);
}

static void
test_null(void)
{
	struct conf	 c = conf;
	struct tally	 t = tally(1, 1);

	c.metrics_file = NULL;
	ok(metrics_new(&c) == NULL, "no metrics-file: NULL");
	metrics_add(NULL, "a", "b", &t, 1, 0);
	metrics_account(NULL, &accts[0], 1, 0);
	is_int(metrics_write(NULL), 0, "NULL: nothing done");
	metrics_free(NULL);
}

static void
test_nodir(void)
{
	char	 p[192];
	char	*err;

	snprintf(p, sizeof(p), "%s/none/m.prom", top);
	conf.metrics_file = p;
	is_int(run(1, 0, 0, 0, &err), -1, "no such directory: -1");
	ok(nlines(err) == 1 && strstr(err, "metrics-file") != NULL,
	    "no such directory: said");
	free(err);
	conf.metrics_file = path;
}

int
main(void)
{
	snprintf(top, sizeof(top), "/tmp/metrics-test.XXXXXX");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/m.prom", top);
	log_init("imapfetch", LOG_TO_STDERR, 0);
	setup_conf();

	test_first();
	test_merge();
	test_partial();
	test_gone();
	test_fill();
	test_escape();
	test_damaged();
	test_fuzz();
	test_legacy();
	test_mode();
	test_links();
	test_concurrent();
	test_many();
	test_rewrite();
	test_null();
	test_nodir();
	return done_testing();
}
