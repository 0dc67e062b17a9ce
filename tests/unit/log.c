/*
 * log.c: log_escape (common/log.h), the one filter every log line goes
 * through: text that passes unchanged, bytes that become "\xHH", against
 * a reference written from the Unicode table of well-formed UTF-8 (not
 * from log.c); then output buffers of every small size, exactly that big
 * (ASan) and fenced (a canary), always terminated, never cut inside an
 * escape or a UTF-8 sequence; then a log line on stderr.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "fixture.h"
#include "tap.h"

/*
 * The reference: the units of the escaped text of s, in order: a valid
 * UTF-8 character that is no control (C0, DEL, C1), or one byte as
 * "\xHH".  Well-formed UTF-8 by table 3-7 of the Unicode standard.
 */
struct unit {
	char	 text[5];
	size_t	 len;
};

static size_t
ref_seqlen(const unsigned char *p)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;		/* overlong below U+0800 */
	else if (p[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;		/* overlong below U+10000 */
	else if (p[0] == 0xf4)
		hi = 0x8f;		/* beyond U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static size_t
ref_units(const char *s, struct unit *u, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0, len;

	while (*p != '\0' && n < max) {
		len = ref_seqlen(p);
		if (len == 1 && (*p < 0x20 || *p == 0x7f))
			len = 0;
		if (len == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			len = 0;	/* U+0080..U+009F: C1 controls */
		if (len == 0) {
			snprintf(u[n].text, sizeof(u[n].text), "\\x%02x", *p);
			u[n++].len = 4;
			p++;
		} else {
			memcpy(u[n].text, p, len);
			u[n].text[len] = '\0';
			u[n++].len = len;
			p += len;
		}
	}
	return n;
}

#define MAXUNITS	4096

/* The whole reference escape of s (out: room for 4 * strlen + 1). */
static void
ref_escape(const char *s, char *out)
{
	static struct unit	 u[MAXUNITS];
	size_t			 n, i, o = 0;

	n = ref_units(s, u, MAXUNITS);
	for (i = 0; i < n; i++) {
		memcpy(out + o, u[i].text, u[i].len);
		o += u[i].len;
	}
	out[o] = '\0';
}

/* Prints s on one line, every byte outside 0x20..0x7e as \xHH. */
static void
diag_bytes(const char *what, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	printf("#   %s: '", what);
	for (; *p != '\0'; p++)
		printf(*p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x", *p);
	printf("'\n");
}

/* log_escape into a big buffer; 1 when it gives want. */
static int
escapes_to(const char *in, const char *want)
{
	char	 out[1024];

	memset(out, 'Z', sizeof(out));
	log_escape(out, sizeof(out), in);
	if (strcmp(out, want) == 0)
		return 1;
	diag_bytes("in  ", in);
	diag_bytes("got ", out);
	diag_bytes("want", want);
	return 0;
}

struct ecase {
	const char	*name;
	const char	*in;
	const char	*out;
};

static const struct ecase ecases[] = {
	{ "ASCII", "Hello, world: OK [ALERT] ~{}|`'\"",
	    "Hello, world: OK [ALERT] ~{}|`'\"" },
	{ "empty", "", "" },
	{ "a backslash is text", "a\\x1b\\", "a\\x1b\\" },
	{ "ESC [2J", "\x1b[2J", "\\x1b[2J" },
	{ "ESC in the middle", "a\x1b]0;title\x07z", "a\\x1b]0;title\\x07z" },
	{ "bell", "\a", "\\x07" },
	{ "CR", "x\ry", "x\\x0dy" },
	{ "LF", "x\ny", "x\\x0ay" },
	{ "CRLF", "line\r\n", "line\\x0d\\x0a" },
	{ "TAB", "a\tb", "a\\x09b" },
	{ "0x01 and 0x1f", "\x01\x1f", "\\x01\\x1f" },
	{ "DEL", "a\x7f" "b", "a\\x7fb" },
	{ "space and tilde pass", " ~", " ~" },
	{ "0x9b alone (8-bit CSI)", "\x9b" "2J", "\\x9b2J" },
	{ "a lone continuation byte", "a\x80z", "a\\x80z" },
	{ "0xff, 0xfe", "\xff\xfe", "\\xff\\xfe" },
	{ "0xc0, 0xc1 leads", "\xc0\xc1", "\\xc0\\xc1" },
	{ "UTF-8 C1 CSI U+009B", "\xc2\x9b" "2J", "\\xc2\\x9b2J" },
	{ "UTF-8 U+0080", "\xc2\x80", "\\xc2\\x80" },
	{ "UTF-8 U+009F", "\xc2\x9f", "\\xc2\\x9f" },
	{ "U+00A0 passes", "\xc2\xa0", "\xc2\xa0" },
	{ "overlong /, 2 bytes", "\xc0\xaf", "\\xc0\\xaf" },
	{ "overlong /, 3 bytes", "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },
	{ "overlong /, 4 bytes", "\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf" },
	{ "overlong U+07FF in 3 bytes", "\xe0\x9f\xbf", "\\xe0\\x9f\\xbf" },
	{ "overlong ESC, 2 bytes", "\xc0\x9b", "\\xc0\\x9b" },
	{ "surrogate U+D800", "\xed\xa0\x80", "\\xed\\xa0\\x80" },
	{ "surrogate U+DFFF", "\xed\xbf\xbf", "\\xed\\xbf\\xbf" },
	{ "U+D7FF passes", "\xed\x9f\xbf", "\xed\x9f\xbf" },
	{ "U+E000 passes", "\xee\x80\x80", "\xee\x80\x80" },
	{ "U+110000", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
	{ "0xf5 lead", "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80" },
	{ "U+10FFFF passes", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
	{ "U+0800 passes", "\xe0\xa0\x80", "\xe0\xa0\x80" },
	{ "U+10000 passes", "\xf0\x90\x80\x80", "\xf0\x90\x80\x80" },
	{ "u umlaut", "\xc3\xbc", "\xc3\xbc" },
	{ "euro", "\xe2\x82\xac", "\xe2\x82\xac" },
	{ "G clef", "\xf0\x9d\x84\x9e", "\xf0\x9d\x84\x9e" },
	{ "text with all three", "Gr\xc3\xbc\xc3\x9f" "e 5\xe2\x82\xac "
	    "\xf0\x9d\x84\x9e!", "Gr\xc3\xbc\xc3\x9f" "e 5\xe2\x82\xac "
	    "\xf0\x9d\x84\x9e!" },
	{ "truncated 2-byte at the end", "ab\xc3", "ab\\xc3" },
	{ "truncated 3-byte at the end", "ab\xe2\x82", "ab\\xe2\\x82" },
	{ "truncated 4-byte at the end", "ab\xf0\x9d\x84",
	    "ab\\xf0\\x9d\\x84" },
	{ "truncated, then ASCII", "\xe2\x82z", "\\xe2\\x82z" },
	{ "truncated, then a valid one", "\xf0\x9d\xc3\xbc",
	    "\\xf0\\x9d\xc3\xbc" },
	{ "a lead, then ESC", "\xc3\x1b", "\\xc3\\x1b" },
	{ "latin-1 text", "caf\xe9 na\xefve", "caf\\xe9 na\\xefve" },
};

static void
test_cases(void)
{
	char	 name[160], ref[1024];
	size_t	 i;
	int	 agree = 1;

	for (i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		snprintf(name, sizeof(name), "%s", ecases[i].name);
		ok(escapes_to(ecases[i].in, ecases[i].out), name);
		/* The table and the reference say the same. */
		ref_escape(ecases[i].in, ref);
		if (strcmp(ref, ecases[i].out) != 0) {
			printf("#   reference disagrees with the table: %s\n",
			    ecases[i].name);
			agree = 0;
		}
	}
	ok(agree, "the test's reference escaper agrees with the table");
}

/* Every 2-, 3- and 4-byte lead with a range of second bytes. */
static void
test_all_pairs(void)
{
	char		 in[8], ref[64];
	unsigned	 a, b;
	int		 good = 1, bad = 0;

	for (a = 1; a < 256; a++)
		for (b = 1; b < 256; b++) {
			in[0] = (char)a;
			in[1] = (char)b;
			in[2] = '\x80';
			in[3] = '\x80';
			in[4] = 'z';
			in[5] = '\0';
			ref_escape(in, ref);
			if (!escapes_to(in, ref)) {
				good = 0;
				if (++bad >= 5)
					goto out;
			}
		}
out:
	ok(good, "every byte pair (then 80 80 z) as the Unicode table says");
}

/* 1 when out is safe: no C0, DEL or C1, and well-formed UTF-8. */
static int
safe_text(const char *out)
{
	const unsigned char	*p = (const unsigned char *)out;
	size_t			 len;

	while (*p != '\0') {
		len = ref_seqlen(p);
		if (len == 0 || (len == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    (len == 2 && p[0] == 0xc2 && p[1] < 0xa0))
			return 0;
		p += len;
	}
	return 1;
}

/* Random strings, biased to what goes wrong: against the reference. */
static void
test_random(void)
{
	static const unsigned char	 pick[] = { 0x1b, 0x07, 0x0a, 0x0d,
	    0x7f, 0x80, 0x9b, 0xbf, 0xc0, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed,
	    0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x90, 0x8f, 'a', ' ', '\\' };
	char				 in[64], out[512], ref[512];
	size_t				 i, j, len;
	int				 good = 1, safe = 1;

	srandom(8);
	for (i = 0; i < 200000; i++) {
		len = (size_t)random() % 24;
		for (j = 0; j < len; j++) {
			in[j] = (char)(random() % 3 == 0 ? 1 + random() % 255 :
			    pick[random() % sizeof(pick)]);
			if (in[j] == '\0')
				in[j] = 'x';
		}
		in[len] = '\0';
		log_escape(out, sizeof(out), in);
		ref_escape(in, ref);
		if (strcmp(out, ref) != 0 && good) {
			diag_bytes("in  ", in);
			diag_bytes("got ", out);
			diag_bytes("want", ref);
			good = 0;
		}
		safe = safe && safe_text(out);
	}
	ok(good, "200000 random strings: as the reference says");
	ok(safe, "...and the output is always well-formed UTF-8 without "
	    "controls");
}

static const char *const small_inputs[] = {
	"plain ASCII text of some length",
	"\x1b[2J\x1b[2J\x1b[2J\x1b[2J\x1b[2J",
	"a\xc3\xbc" "b\xe2\x82\xac" "c\xf0\x9d\x84\x9e" "d",
	"\xf0\x9d\x84\x9e\xf0\x9d\x84\x9e\xf0\x9d\x84\x9e\xf0\x9d\x84\x9e",
	"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
	"x\xc2\x9by\xed\xa0\x80z\xff\xe2\x82",
	"\x07\x07\x07\x07\x07\x07\x07\x07\x07",
	"ab\x1b" "cd\xc3\xbc" "ef\x7f" "gh\xf0\x9d\x84\x9e" "ij",
};

/*
 * Output buffers of 1..20 bytes: malloc'd to exactly that size (ASan sees
 * any overrun), and again with a canary behind them.  The output must be
 * the reference's first units, as many as fit with the NUL.
 */
static void
test_small(void)
{
	struct unit	 u[MAXUNITS];
	char		*buf, name[200];
	size_t		 i, len, n, k, o, need;
	int		 term, fence, prefix, maximal;

	for (i = 0; i < sizeof(small_inputs) / sizeof(small_inputs[0]); i++) {
		n = ref_units(small_inputs[i], u, MAXUNITS);
		term = fence = prefix = maximal = 1;
		for (len = 1; len <= 20; len++) {
			if ((buf = malloc(len)) == NULL)
				die("malloc");
			memset(buf, 'Z', len);
			log_escape(buf, len, small_inputs[i]);
			term = term && memchr(buf, '\0', len) != NULL;
			free(buf);

			if ((buf = malloc(len + 16)) == NULL)
				die("malloc");
			memset(buf, 'Z', len + 16);
			log_escape(buf, len, small_inputs[i]);
			for (o = len; o < len + 16; o++)
				fence = fence && buf[o] == 'Z';
			if (memchr(buf, '\0', len) == NULL) {
				free(buf);
				continue;
			}
			/* A prefix of whole units... */
			for (k = 0, o = 0; k < n && strncmp(buf + o,
			    u[k].text, u[k].len) == 0 && o + u[k].len <
			    len; k++)
				o += u[k].len;
			if (buf[o] != '\0') {
				if (prefix)
					printf("#   size %zu: not whole units "
					    "at byte %zu\n", len, o);
				prefix = 0;
			}
			/* ...and no fewer than fit. */
			need = k < n ? u[k].len : 0;
			if (buf[o] == '\0' && k < n && o + need + 1 <= len) {
				if (maximal)
					printf("#   size %zu: stopped at %zu "
					    "though %zu more fit\n", len, o,
					    need);
				maximal = 0;
			}
			free(buf);
		}
		snprintf(name, sizeof(name), "input %zu, buffers of 1..20 "
		    "bytes: always terminated", i + 1);
		ok(term, name);
		snprintf(name, sizeof(name), "input %zu: never writes past "
		    "the buffer", i + 1);
		ok(fence, name);
		snprintf(name, sizeof(name), "input %zu: whole escapes and "
		    "whole UTF-8 sequences only", i + 1);
		ok(prefix, name);
		snprintf(name, sizeof(name), "input %zu: as many as fit",
		    i + 1);
		ok(maximal, name);
	}

	/* dstlen 0: nothing written at all. */
	{
		char	 c = 'Z';

		log_escape(&c, 0, "\x1b[2J");
		ok(c == 'Z', "dstlen 0: nothing written");
	}
}

/* A log line on stderr: escaped, one line. */
static void
test_log_line(void)
{
	char	 path[64], buf[512];
	int	 fd, saved;
	ssize_t	 n;

	snprintf(path, sizeof(path), "/tmp/logtest.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		die("mkstemp");
	unlink(path);
	fflush(stderr);
	if ((saved = dup(2)) == -1 || dup2(fd, 2) == -1)
		die("dup2");
	log_init("logtest", LOG_TO_STDERR, 0);
	log_warnx("server said: %s", "\x1b[2J\xc2\x9b" "31m\r\nfake: line");
	errno = ENOENT;
	log_warn("mailbox %s", "a\x07\xe2\x82\xac");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) == -1)
		die("pread");
	buf[n] = '\0';
	close(fd);
	is_str(buf, "logtest: server said: \\x1b[2J\\xc2\\x9b31m\\x0d\\x0a"
	    "fake: line\n"
	    "logtest: mailbox a\\x07\xe2\x82\xac: No such file or directory\n",
	    "log_warnx/log_warn lines on stderr are escaped");
}

/*
 * Under a unit whose stderr is the journal (JOURNAL_STREAM names fd 2),
 * each line carries its priority: "<3>" for warnings (failures being
 * reported), "<6>" for information; elsewhere no prefix.
 */
static void
test_journal(void)
{
	char		 path[64], buf[512], js[64];
	struct stat	 st;
	int		 fd, saved, round;
	ssize_t		 n;

	for (round = 0; round < 2; round++) {
		snprintf(path, sizeof(path), "/tmp/logtest.XXXXXX");
		if ((fd = mkstemp(path)) == -1 || fstat(fd, &st) == -1)
			die("mkstemp");
		unlink(path);
		/* Round 1: JOURNAL_STREAM names another file. */
		snprintf(js, sizeof(js), "%llu:%llu",
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino + round);
		setenv("JOURNAL_STREAM", js, 1);
		fflush(stderr);
		if ((saved = dup(2)) == -1 || dup2(fd, 2) == -1)
			die("dup2");
		log_init("logtest", LOG_TO_STDERR, 0);
		log_warnx("cannot connect");
		log_info("alice/INBOX: 0 new");
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) == -1)
			die("pread");
		buf[n] = '\0';
		close(fd);
		if (round == 0)
			is_str(buf, "<3>logtest: cannot connect\n"
			    "<6>logtest: alice/INBOX: 0 new\n",
			    "stderr is the journal: <3> for warnings, <6> for "
			    "information");
		else
			is_str(buf, "logtest: cannot connect\n"
			    "logtest: alice/INBOX: 0 new\n",
			    "JOURNAL_STREAM names another file: no prefix");
	}
	unsetenv("JOURNAL_STREAM");
}

int
main(void)
{
	test_cases();
	test_all_pairs();
	test_random();
	test_small();
	test_log_line();
	test_journal();
	return done_testing();
}
