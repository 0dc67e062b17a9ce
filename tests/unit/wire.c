/*
 * wire.c: the POP3 wire form of a message (common/wire.h).
 *
 * Named cases first, then every message over the alphabet { a . CR LF }
 * up to 7 bytes, each encoded whole, byte by byte and split in two at
 * every position, against ref_encode: the contract of wire.h written as
 * plainly as possible over a whole message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "tap.h"

struct buf {
	char	*p;
	size_t	 len, cap;
	int	 fail;		/* the sink refuses everything */
};

static int
sink(void *arg, const void *data, size_t len)
{
	struct buf	*b = arg;

	if (b->fail)
		return -1;
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

/* 1 when b holds exactly the len bytes at want. */
static int
same(const struct buf *b, const char *want, size_t len)
{
	return b->len == len && (len == 0 || memcmp(b->p, want, len) == 0);
}

/*
 * The contract: LF not after CR becomes CRLF, a '.' starting a line gets
 * another (when stuff), a CRLF ends a non-empty message not ending in LF.
 * With limit >= 0 the output stops after the first empty line (LF or
 * CRLF alone) and limit lines after it.  Returns the output length.
 */
static size_t
ref_encode(const char *in, size_t len, long long limit, int stuff, char *out)
{
	size_t		i, o = 0, bol = 0;
	uint64_t	body = 0;
	int		in_body = 0;

	for (i = 0; i < len; i++) {
		if (stuff && i == bol && in[i] == '.')
			out[o++] = '.';
		if (in[i] != '\n') {
			out[o++] = in[i];
			continue;
		}
		if (i == 0 || in[i - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
		if (in_body)
			body++;
		else if (i == bol || (i == bol + 1 && in[bol] == '\r'))
			in_body = 1;
		bol = i + 1;
		if (limit >= 0 && in_body && body >= (uint64_t)limit)
			return o;
	}
	if (len > 0 && in[len - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

/* Lines of in that start with '.': the dots that stuffing adds. */
static size_t
stuffed_dots(const char *in, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++)
		if (in[i] == '.' && (i == 0 || in[i - 1] == '\n'))
			n++;
	return n;
}

/*
 * Encodes in, cut at the positions cuts[0..ncuts) (ascending), the way
 * popd does: blocks until update returns 1, then final unless stopped.
 * Returns 0, or -1 when update or final failed.
 */
static uint64_t enc_octets;	/* e.octets of the last encode() */

static int
encode(const char *in, size_t len, long long limit, const size_t *cuts,
    size_t ncuts, struct buf *out)
{
	struct wire_enc	e;
	size_t		i, pos = 0, next;
	int		r;

	out->len = 0;
	wire_enc_init(&e);
	for (i = 0; i <= ncuts; i++) {
		next = i < ncuts ? cuts[i] : len;
		r = wire_enc_update(&e, in + pos, next - pos, limit, sink, out);
		enc_octets = e.octets;
		if (r == 1)
			return 0;
		if (r != 0)
			return -1;
		pos = next;
	}
	r = wire_enc_final(&e, sink, out);
	enc_octets = e.octets;
	return r == 0 ? 0 : -1;
}

static uint64_t
count(const char *in, size_t len, const size_t *cuts, size_t ncuts)
{
	struct wire_count	c;
	size_t			i, pos = 0, next;

	wire_count_init(&c);
	for (i = 0; i <= ncuts; i++) {
		next = i < ncuts ? cuts[i] : len;
		wire_count_update(&c, in + pos, next - pos);
		pos = next;
	}
	return wire_count_final(&c);
}

static void
show(const char *what, const char *s, size_t len)
{
	size_t	i;

	printf("#   %s: \"", what);
	for (i = 0; i < len; i++)
		if (s[i] == '\r')
			printf("\\r");
		else if (s[i] == '\n')
			printf("\\n");
		else
			putchar(s[i]);
	printf("\"\n");
}

/* Encodes in whole and checks the output against want. */
static void
enc_is(const char *in, long long limit, const char *want, const char *name)
{
	struct buf	out = { NULL, 0, 0, 0 };
	size_t		len = strlen(in);

	if (!ok(encode(in, len, limit, NULL, 0, &out) == 0 &&
	    same(&out, want, strlen(want)), name)) {
		show("input", in, len);
		show("got", out.p ? out.p : "", out.len);
		show("want", want, strlen(want));
	}
	free(out.p);
}

static void
count_is(const char *in, uint64_t want, const char *name)
{
	is_int(count(in, strlen(in), NULL, 0), want, name);
}

static void
test_named(void)
{
	enc_is("", -1, "", "empty message: nothing");
	count_is("", 0, "empty message: size 0");
	enc_is("a\nb\n", -1, "a\r\nb\r\n", "LF becomes CRLF");
	count_is("a\nb\n", 6, "LF counts 2");
	enc_is("a\r\nb\r\n", -1, "a\r\nb\r\n", "CRLF kept");
	count_is("a\r\nb\r\n", 6, "CRLF counts 2");
	enc_is("a\rb\n", -1, "a\rb\r\n", "bare CR kept");
	count_is("a\rb\n", 5, "bare CR counts 1");
	enc_is("abc", -1, "abc\r\n", "CRLF added at the end");
	count_is("abc", 5, "owed CRLF counted");
	enc_is("abc\r", -1, "abc\r\r\n", "a final CR is not a line end");
	count_is("abc\r", 6, "final CR then owed CRLF");
	enc_is("\n", -1, "\r\n", "one LF");
	enc_is("\r", -1, "\r\r\n", "one CR");
	enc_is("\n\n\r\n", -1, "\r\n\r\n\r\n", "empty lines");
	enc_is("\r\r\n", -1, "\r\r\n", "CR then CRLF");

	enc_is(".\n", -1, "..\r\n", "a dot line is stuffed");
	enc_is(".", -1, "..\r\n", "a lone dot without LF is stuffed");
	enc_is("a\n.b\n..c\n", -1, "a\r\n..b\r\n...c\r\n",
	    "dots at line starts stuffed");
	enc_is("a.\nb.c\n", -1, "a.\r\nb.c\r\n", "dots inside lines kept");
	enc_is("a\r.b\n", -1, "a\r.b\r\n", "no stuffing after a bare CR");
	enc_is("a\r\n.\r\n", -1, "a\r\n..\r\n", "dot after CRLF stuffed");
	count_is("a\n.b\n..c\n", 12, "stuffing dots not counted");

	enc_is("H: 1\nH: 2\n\nb1\nb2\nb3\n", 0, "H: 1\r\nH: 2\r\n\r\n",
	    "TOP 0: headers and the blank line");
	enc_is("H: 1\nH: 2\n\nb1\nb2\nb3\n", 2,
	    "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n", "TOP 2");
	enc_is("H: 1\nH: 2\n\nb1\nb2\nb3\n", 3,
	    "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", "TOP 3 = all");
	enc_is("H: 1\nH: 2\n\nb1\nb2\nb3", 5,
	    "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n",
	    "TOP beyond the end: all, CRLF owed");
	enc_is("H: 1\r\n\r\nb1\r\nb2\r\n", 1, "H: 1\r\n\r\nb1\r\n",
	    "TOP on CRLF input");
	enc_is("H: 1\n\n.b1\n.b2\n", 1, "H: 1\r\n\r\n..b1\r\n",
	    "TOP stuffs dots");
	enc_is("H: 1\n\n\n\nb\n", 1, "H: 1\r\n\r\n\r\n",
	    "empty body lines count");
	enc_is("H: 1\nH: 2\n", 0, "H: 1\r\nH: 2\r\n",
	    "headers only, no blank line: all");
	enc_is("H: 1\nH: 2", 0, "H: 1\r\nH: 2\r\n",
	    "headers only, no final LF: all, CRLF owed");
	enc_is("\nbody\n", 0, "\r\n", "TOP 0 of a message without headers");
	enc_is("H: 1\n\rx\n\nb\n", 0, "H: 1\r\n\rx\r\n\r\n",
	    "a line of CR and text is not the blank line");
	enc_is("H: 1\n\r\r\n\nb\n", 0, "H: 1\r\n\r\r\n\r\n",
	    "CR CR LF is not the blank line");
}

/* After TOP stops, final has nothing to add: the output ended in CRLF. */
static void
test_stop(void)
{
	static const char	msg[] = "H: 1\n\nb1\nb2\n";
	struct wire_enc		e;
	struct buf		out = { NULL, 0, 0, 0 };

	wire_enc_init(&e);
	is_int(wire_enc_update(&e, msg, strlen(msg), 1, sink, &out), 1,
	    "update returns 1 when TOP is done");
	is_int(wire_enc_final(&e, sink, &out), 0, "final after a stop");
	ok(same(&out, "H: 1\r\n\r\nb1\r\n", 12),
	    "final after a stop adds nothing");

	wire_enc_init(&e);
	out.len = 0;
	is_int(wire_enc_update(&e, msg, 6, 0, sink, &out), 1,
	    "TOP 0 done at the blank line");
	wire_enc_init(&e);
	out.len = 0;
	is_int(wire_enc_update(&e, msg, strlen(msg), -1, sink, &out), 0,
	    "RETR: update asks for more");
	out.fail = 1;
	wire_enc_init(&e);
	is_int(wire_enc_update(&e, msg, strlen(msg), -1, sink, &out), -1,
	    "a failing sink: update returns -1");
	wire_enc_init(&e);
	out.fail = 0;
	is_int(wire_enc_update(&e, "abc", 3, -1, sink, &out), 0, "abc");
	out.fail = 1;
	is_int(wire_enc_final(&e, sink, &out), -1,
	    "a failing sink: final returns -1");
	free(out.p);
}

/* Checks one message in every way; returns 0 or prints and returns -1. */
static int
check_one(const char *in, size_t len, long long limit, struct buf *out,
    char *want)
{
	size_t	wlen, cut[8], i, ncut;

	wlen = ref_encode(in, len, limit, 1, want);
	/* Whole, then split once at every position, then byte by byte. */
	for (i = 0; i <= len + 1; i++) {
		ncut = 0;
		if (i <= len)
			cut[ncut++] = i;
		else
			for (ncut = 0; ncut + 1 < len && ncut < 8; ncut++)
				cut[ncut] = ncut + 1;
		if (encode(in, len, limit, cut, ncut, out) == 0 &&
		    same(out, want, wlen))
			continue;
		printf("#   limit %lld, %zu cuts, first at %zu\n", limit,
		    ncut, ncut ? cut[0] : 0);
		show("input", in, len);
		show("got", out->p, out->len);
		show("want", want, wlen);
		return -1;
	}
	return 0;
}

/* The size, whole and split anywhere, is the output less stuffing. */
static int
check_count(const char *in, size_t len, struct buf *out, char *want)
{
	size_t		i, wlen;
	uint64_t	n;

	wlen = ref_encode(in, len, -1, 0, want);
	if (encode(in, len, -1, NULL, 0, out) == -1)
		return -1;
	for (i = 0; i <= len; i++) {
		n = count(in, len, &i, 1);
		/* e.octets, which popd checks RETR against, agrees too. */
		if (n == wlen && n == out->len - stuffed_dots(in, len) &&
		    n == enc_octets)
			continue;
		printf("#   split at %zu: count %llu, want %zu\n", i,
		    (unsigned long long)n, wlen);
		show("input", in, len);
		return -1;
	}
	return 0;
}

static void
test_exhaustive(void)
{
	static const char	alpha[] = "a.\r\n";
	static const long long	limits[] = { -1, 0, 1, 2 };
	struct buf		out = { NULL, 0, 0, 0 };
	char			in[8], want[32];
	size_t			len, i, l, k, bad_enc[4] = { 0 }, bad_count = 0;
	unsigned long		v, nv;

	for (len = 0; len <= 7; len++) {
		for (nv = 1, i = 0; i < len; i++)
			nv *= 4;
		for (v = 0; v < nv; v++) {
			for (k = v, i = 0; i < len; i++, k /= 4)
				in[i] = alpha[k % 4];
			for (l = 0; l < 4; l++)
				if (bad_enc[l] == 0 &&
				    check_one(in, len, limits[l], &out, want) == -1)
					bad_enc[l]++;
			if (bad_count == 0 &&
			    check_count(in, len, &out, want) == -1)
				bad_count++;
		}
	}
	ok(bad_enc[0] == 0, "RETR of every short message, every split");
	ok(bad_enc[1] == 0, "TOP 0 of every short message, every split");
	ok(bad_enc[2] == 0, "TOP 1 of every short message, every split");
	ok(bad_enc[3] == 0, "TOP 2 of every short message, every split");
	ok(bad_count == 0,
	    "wire_count = encoder output less stuffing dots, every split");
	free(out.p);
}

/* A large message in random blocks: the state crosses many boundaries. */
static void
test_large(void)
{
	static const char	alpha[] = "ab.\r\n\n\n";
	struct buf		out = { NULL, 0, 0, 0 };
	size_t			len = 200000, i, ncut, cut[64], wlen;
	char			*in, *want;
	int			round, good = 1, good_count = 1;

	if ((in = malloc(len)) == NULL || (want = malloc(2 * len + 2)) == NULL)
		abort();
	srand(1939);
	for (round = 0; round < 20; round++) {
		for (i = 0; i < len; i++)
			in[i] = alpha[rand() % (int)(sizeof(alpha) - 1)];
		for (ncut = 0; ncut < 64; ncut++)
			cut[ncut] = (size_t)rand() % len;
		for (i = 1; i < ncut; i++)	/* insertion sort */
			for (wlen = i; wlen > 0 && cut[wlen - 1] > cut[wlen];
			    wlen--) {
				size_t t = cut[wlen];
				cut[wlen] = cut[wlen - 1];
				cut[wlen - 1] = t;
			}
		wlen = ref_encode(in, len, round % 2 ? -1 : round, 1, want);
		if (encode(in, len, round % 2 ? -1 : round, cut, ncut,
		    &out) == -1 || !same(&out, want, wlen))
			good = 0;
		if (round % 2 && count(in, len, cut, ncut) !=
		    out.len - stuffed_dots(in, len))
			good_count = 0;
	}
	ok(good, "large random messages in random blocks");
	ok(good_count, "their sizes");
	free(in);
	free(want);
	free(out.p);
}

int
main(void)
{
	test_named();
	test_stop();
	test_exhaustive();
	test_large();
	return done_testing();
}
