/*
 * sasl.c: strict base64 (RFC 4648) and AUTH PLAIN messages (RFC 4616):
 * "authzid NUL authcid NUL passwd".  Inputs are encoded here by a tiny
 * encoder of our own, so a decoder bug cannot hide behind a matching one.
 */
#include <stdio.h>
#include <string.h>

#include "../../popd/session.h"
#include "tap.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes len bytes of in into out (NUL-terminated). */
static void
enc(const void *in, size_t len, char *out)
{
	const unsigned char	*p = in;
	size_t			 i;
	unsigned		 v;

	for (i = 0; i + 2 < len; i += 3) {
		v = p[i] << 16 | p[i + 1] << 8 | p[i + 2];
		*out++ = b64[v >> 18];
		*out++ = b64[v >> 12 & 63];
		*out++ = b64[v >> 6 & 63];
		*out++ = b64[v & 63];
	}
	if (len - i == 1) {
		v = p[i] << 16;
		*out++ = b64[v >> 18];
		*out++ = b64[v >> 12 & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (len - i == 2) {
		v = p[i] << 16 | p[i + 1] << 8;
		*out++ = b64[v >> 18];
		*out++ = b64[v >> 12 & 63];
		*out++ = b64[v >> 6 & 63];
		*out++ = '=';
	}
	*out = '\0';
}

static void
dec_is(const char *in, const char *want, long wantlen, const char *what)
{
	unsigned char	out[512];
	char		name[128];
	long		n;

	memset(out, 0xa5, sizeof(out));
	n = base64_decode(in, out, sizeof(out));
	is_int(n, wantlen, what);
	snprintf(name, sizeof(name), "%s: the bytes", what);
	if (wantlen > 0)
		ok(n == wantlen && memcmp(out, want, (size_t)wantlen) == 0,
		    name);
}

static void
dec_bad(const char *in, const char *what)
{
	unsigned char	out[512];

	is_int(base64_decode(in, out, sizeof(out)), -1, what);
}

static void
test_base64(void)
{
	unsigned char	all[256], out[256];
	char		e[400];
	unsigned char	small[3];
	size_t		i;

	dec_is("", "", 0, "empty input: 0 bytes");
	dec_is("YQ==", "a", 1, "one byte, two pads");
	dec_is("YWI=", "ab", 2, "two bytes, one pad");
	dec_is("YWJj", "abc", 3, "three bytes, no pad");
	dec_is("AGFsaWNlAHNlY3JldA==", "\0alice\0secret", 13, "NULs decode");
	dec_is("+/+/", "\xfb\xff\xbf", 3, "'+' is 62 and '/' is 63");

	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	enc(all, sizeof(all), e);
	ok(base64_decode(e, out, sizeof(out)) == 256 &&
	    memcmp(out, all, 256) == 0, "every byte value round-trips");

	/* Bad padding */
	dec_bad("YQ", "no padding");
	dec_bad("YQ=", "short padding");
	dec_bad("YWJjZ", "length not a multiple of 4");
	dec_bad("Y===", "three pads");
	dec_bad("====", "pads only");
	dec_bad("YQ=a", "data after a pad");
	dec_bad("YQ==YQ==", "a pad before the end");
	dec_bad("YWJj=", "a pad after a full group");

	/* Bad characters */
	dec_bad("YW J", "a space");
	dec_bad(" YQ==", "a leading space");
	dec_bad("YWJ\n", "a newline");
	dec_bad("YW-j", "'-' (base64url) is not base64");
	dec_bad("YW_j", "'_' (base64url) is not base64");
	dec_bad("YWJ\x80", "an 8-bit byte");
	dec_bad("YWJ*", "'*'");

	/* The output bound */
	is_int(base64_decode("YWJj", small, 3), 3, "fits exactly");
	is_int(base64_decode("YWJj", small, 2), -1, "one byte too many: -1");
	is_int(base64_decode("YQ==", small, 0), -1, "no room at all: -1");
}

/* Encodes the parts of a PLAIN message (len bytes with NULs). */
static int
plain(const char *msg, size_t len, char *authz, char *authc, char *pass,
    size_t cap)
{
	char	e[1024];

	enc(msg, len, e);
	return sasl_plain_decode(e, authz, authc, pass, cap);
}

#define PLAIN(lit, cap) plain(lit, sizeof(lit) - 1, z, c, p, cap)

static void
test_plain(void)
{
	char	z[POP3_LINE_MAX], c[POP3_LINE_MAX], p[POP3_LINE_MAX];
	char	big[300], e[500];

	is_int(PLAIN("\0alice\0secret", sizeof(z)), 0, "no authzid: valid");
	is_str(z, "", "authzid empty");
	is_str(c, "alice", "authcid");
	is_str(p, "secret", "passwd");

	is_int(PLAIN("alice\0alice\0s3cr\xe9t", sizeof(z)), 0,
	    "with authzid: valid");
	is_str(z, "alice", "authzid");
	is_str(c, "alice", "authcid, with authzid");
	is_str(p, "s3cr\xe9t", "an 8-bit passwd is kept");

	is_int(sasl_plain_decode("AGFsaWNlAHNlY3JldA==", z, c, p, sizeof(z)),
	    0, "the RFC 4616 shape as a client sends it");

	/* Wrong part counts */
	is_int(PLAIN("alice\0secret", sizeof(z)), -1, "two parts: -1");
	is_int(PLAIN("alicesecret", sizeof(z)), -1, "one part: -1");
	is_int(PLAIN("\0alice\0secret\0", sizeof(z)), -1,
	    "four parts (a trailing NUL): -1");
	is_int(PLAIN("a\0b\0c\0d", sizeof(z)), -1, "four parts: -1");
	is_int(sasl_plain_decode("", z, c, p, sizeof(z)), -1,
	    "empty message: -1");

	/* Empty authcid */
	is_int(PLAIN("\0\0secret", sizeof(z)), -1, "empty authcid: -1");
	is_int(PLAIN("alice\0\0secret", sizeof(z)), -1,
	    "authzid but empty authcid: -1");

	/* Bad base64 */
	is_int(sasl_plain_decode("AGFsaWNlAHNlY3JldA", z, c, p, sizeof(z)),
	    -1, "unpadded base64: -1");
	is_int(sasl_plain_decode("AGFsaWNl*HNlY3JldA==", z, c, p, sizeof(z)),
	    -1, "a bad base64 character: -1");

	/* Overlong: a part that does not fit cap, a message over a line */
	is_int(PLAIN("\0alice1\0secret", 7), 0, "parts of cap-1 bytes fit");
	is_str(c, "alice1", "...whole");
	is_int(PLAIN("\0alice12\0secret", 7), -1,
	    "an authcid of cap bytes: -1");
	is_int(PLAIN("\0alice\0secret1", 7), -1, "a passwd of cap bytes: -1");
	is_int(PLAIN("alice12\0alice\0secret", 7), -1,
	    "an authzid of cap bytes: -1");
	memset(big, 'x', sizeof(big));
	big[0] = '\0';
	big[10] = '\0';
	is_int(plain(big, 189, z, c, p, sizeof(z)), 0,
	    "189 bytes (252 base64 octets, one line): valid");
	is_int((long)strlen(p), 178, "...the long passwd whole");
	enc(big, 256, e);
	is_int(sasl_plain_decode(e, z, c, p, sizeof(z)), -1,
	    "256 bytes, more than a line can carry: -1");
}

int
main(void)
{
	test_base64();
	test_plain();
	return done_testing();
}
