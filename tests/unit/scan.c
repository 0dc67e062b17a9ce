/*
 * scan.c: imapfetch/scan.h, the second reading of the server's bytes that
 * bounds what one IMAP response may make libetpan keep in memory.  Each
 * case is a byte stream and a verdict: passes (every scan_bytes returns 0)
 * or fails (-1, EMSGSIZE).  The verdict must not depend on how the bytes
 * arrive: each stream is fed whole, byte by byte, in chunks of many sizes,
 * and split in two at every position that can matter (every position of a
 * short stream; of a long one, every position near a boundary between its
 * parts, where the lines and literal markers are, and some at random).
 * Streams of several megabytes are built from repeated 64 KB blocks; the
 * 20 MB ones are never held in memory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "../../imapfetch/scan.h"
#include "fixture.h"
#include "tap.h"

#define KB		1024ULL
#define MB		(1024ULL * 1024)
#define MAX		((uint64_t)IMAP_RESPONSE_MAX)
#define BLK		65536
#define FLAT_MAX	(16 * MB)	/* held whole up to this size */

static char	xblk[BLK];		/* 'x', no LF */
static char	bodyblk[BLK];		/* message text that looks like IMAP */

struct part {
	const char	*p;
	size_t		 len;
	uint64_t	 reps;
};

struct stream {
	struct part	 part[64];
	size_t		 n;
	char		*own[64];	/* strings to free */
	size_t		 nown;
	uint64_t	 total;
	uint64_t	 mark[64];	/* where each added piece starts */
	size_t		 nmark;
	char		*flat;		/* the whole stream, when small */
};

static void
put_part(struct stream *st, const char *p, size_t len, uint64_t reps)
{
	if (st->n == sizeof(st->part) / sizeof(st->part[0]))
		die("too many parts");
	if (len == 0 || reps == 0)
		return;
	st->part[st->n].p = p;
	st->part[st->n].len = len;
	st->part[st->n++].reps = reps;
	st->total += len * reps;
}

static void
mark(struct stream *st)
{
	if (st->nmark < sizeof(st->mark) / sizeof(st->mark[0]))
		st->mark[st->nmark++] = st->total;
}

/* Appends printf text. */
static void
addf(struct stream *st, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		die("vasprintf");
	va_end(ap);
	if (st->nown == sizeof(st->own) / sizeof(st->own[0]))
		die("too many strings");
	st->own[st->nown++] = s;
	mark(st);
	put_part(st, s, strlen(s), 1);
}

/* Appends len bytes of the repeated block blk. */
static void
add_run(struct stream *st, const char *blk, uint64_t len)
{
	mark(st);
	put_part(st, blk, BLK, len / BLK);
	put_part(st, blk, (size_t)(len % BLK), 1);
}

/* Appends an untagged line of exactly len bytes, CRLF included. */
static void
add_line(struct stream *st, uint64_t len)
{
	addf(st, "* OK ");
	add_run(st, xblk, len - 7);
	addf(st, "\r\n");
}

/* The whole stream in one buffer, when small enough. */
static void
flatten(struct stream *st)
{
	size_t		 i, o = 0;
	uint64_t	 r;

	if (st->total > FLAT_MAX)
		return;
	if ((st->flat = malloc(st->total + 1)) == NULL)
		die("malloc");
	for (i = 0; i < st->n; i++)
		for (r = 0; r < st->part[i].reps; r++) {
			memcpy(st->flat + o, st->part[i].p, st->part[i].len);
			o += st->part[i].len;
		}
}

static void
stream_free(struct stream *st)
{
	size_t	 i;

	for (i = 0; i < st->nown; i++)
		free(st->own[i]);
	free(st->flat);
	memset(st, 0, sizeof(*st));
}

static uint64_t	fail_at;	/* where the last failed feed stopped */

/*
 * Feeds the stream to a zeroed struct scan in calls that end at every
 * multiple of chunk (0: no such end) and at every cut (sorted), and, when
 * it is not held whole, at the ends of its parts.  Returns 0 when every
 * call returned 0, 1 when one failed with EMSGSIZE, 2 for another errno.
 */
static int
feed(const struct stream *st, int bodies, uint64_t chunk,
    const uint64_t *cuts, size_t ncuts)
{
	struct scan	 sc;
	struct part	 whole;
	const struct part *parts = st->part;
	size_t		 np = st->n, i, ci = 0;
	uint64_t	 pos = 0, r, left, step;
	const char	*p;

	memset(&sc, 0, sizeof(sc));
	fail_at = 0;
	if (st->flat != NULL) {
		whole.p = st->flat;
		whole.len = st->total;
		whole.reps = 1;
		parts = &whole;
		np = 1;
	}
	for (i = 0; i < np; i++)
		for (r = 0; r < parts[i].reps; r++) {
			p = parts[i].p;
			left = parts[i].len;
			while (left > 0) {
				step = left;
				if (chunk > 0 && chunk - pos % chunk < step)
					step = chunk - pos % chunk;
				while (ci < ncuts && cuts[ci] <= pos)
					ci++;
				if (ci < ncuts && cuts[ci] - pos < step)
					step = cuts[ci] - pos;
				errno = 0;
				if (scan_bytes(&sc, bodies, p, (size_t)step) ==
				    -1) {
					fail_at = pos + step;
					return errno == EMSGSIZE ? 1 : 2;
				}
				p += step;
				pos += step;
				left -= step;
			}
		}
	return 0;
}

static const char *
verdict(int v)
{
	return v == 0 ? "passes" : v == 1 ? "fails (EMSGSIZE)" :
	    "fails with another errno";
}

/* "passes", or "fails (EMSGSIZE) at byte N": for diagnostics. */
static const char *
outcome(int v)
{
	static char	 buf[80];

	if (v == 0)
		return "passes";
	snprintf(buf, sizeof(buf), "%s at byte %llu", verdict(v),
	    (unsigned long long)fail_at);
	return buf;
}

static int
cmpu64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The split positions worth trying: all of a short stream; else every
 * position within 24 bytes of the start, the end and each mark, and 24 at
 * random.  Returns how many (sorted, unique) are in *out (malloc'd).
 */
static size_t
positions(const struct stream *st, uint64_t **out)
{
	uint64_t	*v, c;
	size_t		 n = 0, cap, i, j;
	int64_t		 d;

	cap = st->total <= 4096 ? st->total + 1 : 49 * (st->nmark + 2) + 24;
	if ((v = malloc(cap * sizeof(*v))) == NULL)
		die("malloc");
	if (st->total <= 4096) {
		for (c = 0; c <= st->total; c++)
			v[n++] = c;
		*out = v;
		return n;
	}
	for (i = 0; i < st->nmark + 2; i++) {
		c = i < st->nmark ? st->mark[i] : i == st->nmark ? 0 :
		    st->total;
		for (d = -24; d <= 24; d++)
			if ((int64_t)c + d >= 0 &&
			    (uint64_t)((int64_t)c + d) <= st->total)
				v[n++] = (uint64_t)((int64_t)c + d);
	}
	for (i = 0; i < 24; i++)
		v[n++] = ((uint64_t)random() << 31 ^ (uint64_t)random()) %
		    (st->total + 1);
	qsort(v, n, sizeof(*v), cmpu64);
	for (i = j = 0; i < n; i++)
		if (j == 0 || v[i] != v[j - 1])
			v[j++] = v[i];
	*out = v;
	return j;
}

/*
 * Feeds st every way and reports four checks: whole, byte by byte, in
 * chunks, split in two; want is 0 (passes) or 1 (fails, EMSGSIZE).
 */
static void
check(struct stream *st, int bodies, int want, const char *what)
{
	static const uint64_t	 small[] = { 2, 3, 5, 7, 16, 39, 40, 41, 63,
	    64, 4095, 4096, 65537 };
	static const uint64_t	 large[] = { 7, 40, 4095, 65537, MB + 3 };
	const uint64_t		*sizes = st->total > MB ? large : small;
	size_t			 nsizes = st->total > MB ?
				    sizeof(large) / sizeof(large[0]) :
				    sizeof(small) / sizeof(small[0]);
	uint64_t		*pos, cut;
	size_t			 npos, i;
	char			 name[300];
	int			 v, good;

	flatten(st);
	snprintf(name, sizeof(name), "%s, bodies=%d: %s, fed %s", what,
	    bodies, verdict(want), st->flat != NULL ? "whole" :
	    "in its 64 KB blocks");
	v = feed(st, bodies, 0, NULL, 0);
	if (!ok(v == want, name))
		printf("#   got: %s (stream of %llu bytes)\n", outcome(v),
		    (unsigned long long)st->total);

	snprintf(name, sizeof(name), "%s, bodies=%d: %s, byte by byte", what,
	    bodies, verdict(want));
	v = feed(st, bodies, 1, NULL, 0);
	if (!ok(v == want, name))
		printf("#   got: %s\n", outcome(v));

	good = 1;
	for (i = 0; i < nsizes && good; i++)
		if ((v = feed(st, bodies, sizes[i], NULL, 0)) != want) {
			printf("#   in chunks of %llu: %s\n",
			    (unsigned long long)sizes[i], outcome(v));
			good = 0;
		}
	snprintf(name, sizeof(name), "%s, bodies=%d: %s, in chunks of %s",
	    what, bodies, verdict(want), st->total > MB ?
	    "7, 40, 4095, 65537, 1 MB + 3" : "2..65537");
	ok(good, name);

	good = 1;
	npos = positions(st, &pos);
	for (i = 0; i < npos && good; i++) {
		cut = pos[i];
		if ((v = feed(st, bodies, 0, &cut, 1)) != want) {
			printf("#   split at %llu: %s\n",
			    (unsigned long long)cut, outcome(v));
			good = 0;
		}
	}
	snprintf(name, sizeof(name), "%s, bodies=%d: %s, split in two at "
	    "each of %zu positions", what, bodies, verdict(want), npos);
	ok(good, name);
	free(pos);
}

/* A FETCH of one 20 MB body: streamed with bodies=1 only. */
static void
test_body(void)
{
	struct stream	 st;

	memset(&st, 0, sizeof(st));
	addf(&st, "* 1 FETCH (UID 7 BODY[] {%llu}\r\n", 20 * MB);
	add_run(&st, bodyblk, 20 * MB);
	addf(&st, ")\r\nA3 OK UID FETCH completed\r\n");
	check(&st, 1, 0, "FETCH BODY[] literal of 20 MB");
	check(&st, 0, 1, "FETCH BODY[] literal of 20 MB");
	stream_free(&st);

	/* A long first line: the FETCH is told by its start, the BODY[]
	 * by its end. */
	addf(&st, "* 4294967295 FETCH (UID 123456 FLAGS (\\Seen \\Answered) "
	    "INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE %llu "
	    "BODY[] {%llu}\r\n", 20 * MB, 20 * MB);
	add_run(&st, bodyblk, 20 * MB);
	addf(&st, " UID 123456)\r\n");
	check(&st, 1, 0, "FETCH with a 140-byte line before a 20 MB BODY[]");
	stream_free(&st);

	/* Lower case, mixed case. */
	addf(&st, "* 1 fetch (uid 7 body[] {%llu}\r\n", 20 * MB);
	add_run(&st, bodyblk, 20 * MB);
	addf(&st, ")\r\n* 2 Fetch (Uid 8 Body[] {%llu}\r\n", 10 * MB);
	add_run(&st, bodyblk, 10 * MB);
	addf(&st, ")\r\n");
	check(&st, 1, 0, "lower-case fetch/body[], mixed-case Fetch/Body[]");
	check(&st, 0, 1, "lower-case fetch/body[]");
	stream_free(&st);
}

/* One line, no literal. */
static void
test_lines(void)
{
	struct stream	 st;

	memset(&st, 0, sizeof(st));
	add_line(&st, MAX + 1);
	check(&st, 1, 1, "a line of IMAP_RESPONSE_MAX+1 bytes (CRLF counted)");
	stream_free(&st);

	add_line(&st, MAX + MB);
	check(&st, 1, 1, "a line of IMAP_RESPONSE_MAX + 1 MB");
	stream_free(&st);

	add_line(&st, MAX);
	check(&st, 1, 0, "a line of IMAP_RESPONSE_MAX bytes");
	stream_free(&st);

	add_line(&st, MAX - 100);
	check(&st, 1, 0, "a line of IMAP_RESPONSE_MAX-100 bytes");
	stream_free(&st);

	addf(&st, "* OK ");
	add_run(&st, xblk, MAX - 4);
	check(&st, 1, 1, "IMAP_RESPONSE_MAX+1 bytes and no end of line");
	stream_free(&st);

	add_line(&st, MAX - 100);
	add_line(&st, MAX - 100);
	addf(&st, "A1 OK done\r\n");
	check(&st, 0, 0, "two lines of IMAP_RESPONSE_MAX-100 bytes");
	stream_free(&st);
}

/* Many responses of 1 MB each: the count starts again at each. */
static void
test_many(void)
{
	struct stream	 st;
	int		 i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < 12; i++)
		add_line(&st, MB);
	check(&st, 0, 0, "12 responses of 1 MB (lines)");
	stream_free(&st);

	for (i = 0; i < 12; i++) {
		addf(&st, "* %d FETCH (UID %d RFC822.HEADER {%llu}\r\n",
		    i + 1, i + 1, MB);
		add_run(&st, bodyblk, MB);
		addf(&st, ")\r\n");
	}
	addf(&st, "A2 OK done\r\n");
	check(&st, 1, 0, "12 responses of a 1 MB header literal each");
	stream_free(&st);

	/* The same literals in one response: counted together. */
	addf(&st, "* 1 FETCH (UID 1 BODY[HEADER] {%llu}\r\n", MB);
	add_run(&st, bodyblk, MB);
	for (i = 1; i < 12; i++) {
		addf(&st, " BODY[%d] {%llu}\r\n", i, MB);
		add_run(&st, bodyblk, MB);
	}
	addf(&st, ")\r\n");
	check(&st, 1, 1, "one response of 12 non-body literals of 1 MB");
	stream_free(&st);
}

/* Literals that libetpan keeps in memory, even during a body FETCH. */
static void
test_nonbody(void)
{
	static const char *const heads[] = {
		"* 1 FETCH (RFC822 ",
		"* 1 FETCH (UID 3 BODY[HEADER] ",
		"* 1 FETCH (BODY[]<0> ",
		"* 1 FETCH (BODY[TEXT] ",
		"* 1 FETCH (RFC822.TEXT ",
		"* 1 FETCH (BODY[1] ",
		"* 1 FETCH (BINARY[] ",
		"* OK [ALERT] ",
		"* SEARCH ",
		"* 1 FETCH (UID 3 BODY[] NIL X-ATTR ",
	};
	struct stream	 st;
	char		 name[200];
	size_t		 i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		addf(&st, "%s{%llu}\r\n", heads[i], MAX + 1);
		add_run(&st, bodyblk, MAX + 1);
		addf(&st, ")\r\n");
		snprintf(name, sizeof(name), "\"%s{IMAP_RESPONSE_MAX+1}\"",
		    heads[i]);
		check(&st, 1, 1, name);
		stream_free(&st);
	}
	addf(&st, "* 1 FETCH (RFC822 {%llu}\r\n", MAX / 2);
	add_run(&st, bodyblk, MAX / 2);
	addf(&st, ")\r\n");
	check(&st, 1, 0, "\"* 1 FETCH (RFC822 {IMAP_RESPONSE_MAX/2}\"");
	stream_free(&st);

	/* Counted with the line after it, a line that ends the response. */
	addf(&st, "* 1 FETCH (RFC822.HEADER {%llu}\r\n", MAX - 1000);
	add_run(&st, bodyblk, MAX - 1000);
	addf(&st, " UID 5 X-A ");
	add_run(&st, xblk, 2000);
	addf(&st, ")\r\n");
	check(&st, 1, 1, "a non-body literal of MAX-1000 bytes, then a line "
	    "of 2000 bytes that ends the response");
	stream_free(&st);
}

/* BODY[] is a streamed body only in a FETCH response. */
static void
test_not_fetch(void)
{
	static const char *const heads[] = {
		"* OK BODY[] ",
		"* 1 FETCHX (BODY[] ",
		"* FETCH (BODY[] ",
		"* x FETCH (BODY[] ",
		"A1 FETCH (BODY[] ",
		"* 1 EXPUNGE BODY[] ",
		"* OK [x] * 1 FETCH (BODY[] ",
		"+ * 1 FETCH (BODY[] ",
	};
	struct stream	 st;
	char		 name[200];
	size_t		 i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		addf(&st, "%s{4000000000}\r\n", heads[i]);
		add_run(&st, xblk, 9 * MB);
		snprintf(name, sizeof(name), "\"%s{4000000000}\" then 9 MB "
		    "without CRLF", heads[i]);
		check(&st, 1, 1, name);
		stream_free(&st);
	}
	addf(&st, "* 1 FETCH (BODY[] {4000000000}\r\n");
	add_run(&st, xblk, 9 * MB);
	check(&st, 1, 0, "\"* 1 FETCH (BODY[] {4000000000}\" then 9 MB "
	    "without CRLF");
	stream_free(&st);
}

/*
 * What is not a literal marker: (a) after "BODY[] " in a body FETCH, 9 MB
 * without CRLF are then a line, not a body; (b) a 5 MB line ending in it
 * ends its response, so a 5 MB line after it is a response of its own.
 */
static void
test_markers(void)
{
	static const char *const bad[] = {
		"{12345678901}", "{00000000001}", "{99999999999999999999}",
		"{}", "{12x4}", "{4294967296}", "{9999999999}", "{-5}",
		"{+5}", "{ 5}", "{5 }", "{5}}", "5}", "{5", "{5}x",
		"{0x10}",
	};
	static const char *const good[] = {
		"{9437184}", "{4294967295}", "{1000000000}", "{0009437184}",
	};
	struct stream	 st;
	char		 name[200];
	size_t		 i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		addf(&st, "* 1 FETCH (UID 1 BODY[] %s\r\n", bad[i]);
		add_run(&st, xblk, 9 * MB);
		snprintf(name, sizeof(name), "\"BODY[] %s\" is no literal: "
		    "9 MB after it are a line", bad[i]);
		check(&st, 1, 1, name);
		stream_free(&st);

		addf(&st, "* OK ");
		add_run(&st, xblk, 5 * MB);
		addf(&st, " %s\r\n", bad[i]);
		add_line(&st, 5 * MB);
		snprintf(name, sizeof(name), "a 5 MB line ending in \"%s\" "
		    "ends its response", bad[i]);
		check(&st, 0, 0, name);
		stream_free(&st);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		addf(&st, "* 1 FETCH (UID 1 BODY[] %s\r\n", good[i]);
		add_run(&st, xblk, 9 * MB);
		snprintf(name, sizeof(name), "\"BODY[] %s\" is a literal: "
		    "9 MB of body", good[i]);
		check(&st, 1, 0, name);
		stream_free(&st);
	}
	/* The control of (b): a real literal continues the response. */
	addf(&st, "* OK ");
	add_run(&st, xblk, 5 * MB);
	addf(&st, " {5}\r\nhello");
	add_line(&st, 5 * MB);
	check(&st, 0, 1, "a 5 MB line ending in \"{5}\" goes on after the "
	    "literal");
	stream_free(&st);
}

/* After a body literal, ")" CRLF ends the response; a new one starts. */
static void
test_reset(void)
{
	struct stream	 st;
	int		 i, close;

	memset(&st, 0, sizeof(st));
	for (close = 1; close >= 0; close--) {
		for (i = 1; i <= 2; i++) {
			addf(&st, "* %d FETCH (UID %d BODY[HEADER] {%llu}\r\n",
			    i, i, 5 * MB);
			add_run(&st, bodyblk, 5 * MB);
			addf(&st, " BODY[] {%llu}\r\n", 20 * MB);
			add_run(&st, bodyblk, 20 * MB);
			if (close || i == 2)
				addf(&st, ")\r\n");
		}
		addf(&st, "A4 OK done\r\n");
		check(&st, 1, !close, close ?
		    "two FETCHes of 5 MB header + 20 MB body each" :
		    "the same without the first \")\" CRLF: one response");
		stream_free(&st);
	}

	for (close = 1; close >= 0; close--) {
		addf(&st, "* 1 FETCH (UID 1 BODY[] {%llu}\r\n", 20 * MB);
		add_run(&st, bodyblk, 20 * MB);
		addf(&st, " BODY[HEADER] {%llu}\r\n", 5 * MB);
		add_run(&st, bodyblk, 5 * MB);
		if (close)
			addf(&st, ")\r\n");
		add_line(&st, 5 * MB);
		check(&st, 1, !close, close ?
		    "body, 5 MB header, \")\" CRLF, then a 5 MB line" :
		    "body, 5 MB header, then a 5 MB line in the same "
		    "response");
		stream_free(&st);
	}
}

int
main(void)
{
	static const char	 text[] = "Received: from x\r\n"
	    "* 1 FETCH (BODY[] {4000000000}\r\n"
	    "A1 OK done\r\n"
	    "* OK [ALERT] {99}\r\n"
	    ")\r\n"
	    "{12}\r\n"
	    "\r\n"
	    "body text\n";
	size_t			 i;

	memset(xblk, 'x', sizeof(xblk));
	for (i = 0; i < sizeof(bodyblk); i++)
		bodyblk[i] = text[i % (sizeof(text) - 1)];
	srandom(11);
	test_body();
	test_lines();
	test_many();
	test_nonbody();
	test_not_fetch();
	test_markers();
	test_reset();
	return done_testing();
}
