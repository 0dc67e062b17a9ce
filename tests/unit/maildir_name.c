/*
 * maildir_name.c: what popd reads from a Maildir file name: the UIDL
 * (RFC 1939 section 7: 1..70 octets in 0x21..0x7E, else a SHA-256) and
 * the ",W=" and ",S=" sizes of the unique part.
 * Expected hashes come from sha256sum(1), not from our own SHA-256.
 */
#include <stdint.h>
#include <string.h>

#include "maildir.h"
#include "tap.h"

#define X10	"xxxxxxxxxx"
#define X70	X10 X10 X10 X10 X10 X10 X10

static void
uidl_is(const char *name, const char *want, const char *what)
{
	char	uidl[POP3_UIDL_MAX + 1];

	memset(uidl, 'z', sizeof(uidl));
	maildir_uidl(name, uidl);
	is_str(uidl, want, what);
}

static void
test_uidl(void)
{
	uidl_is("1700000000.M1P2Q3.host:2,S", "1700000000.M1P2Q3.host",
	    "the unique part, before ':'");
	uidl_is("1700000000.M1P2Q3.host,S=10,W=12:2,", "1700000000.M1P2Q3."
	    "host,S=10,W=12", "sizes are part of the unique part");
	uidl_is("1700000000.M1P2Q3.host", "1700000000.M1P2Q3.host",
	    "a name without ':'");
	uidl_is("a:2,S:x", "a", "only the first ':' counts");
	uidl_is("!~", "!~", "0x21 and 0x7E are valid");
	uidl_is(X70, X70, "70 octets: kept");
	uidl_is(X70 ":2,S", X70, "70 octets before ':': kept");
	uidl_is(X70 "x",
	    "87a1e4c1c92b7b7a7c46433d780de6cc19f9ef34fdb872c875fd6363ab238a56",
	    "71 octets: hashed");
	uidl_is(X70 "x:2,S",
	    "87a1e4c1c92b7b7a7c46433d780de6cc19f9ef34fdb872c875fd6363ab238a56",
	    "71 octets: the hash is of the unique part only");
	uidl_is("a b:2,",
	    "c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2034ae8c38e6fcc6d65",
	    "a space: hashed");
	uidl_is("a\x7f" "b",
	    "4ef992561c6efb5dd9dc8e156a4bf8d702ebceb36dbb86d7223c4438ad6db9fa",
	    "DEL: hashed");
	uidl_is("caf\xc3\xa9:2,S",
	    "850f7dc43910ff890f8879c0ed26fe697c93a067ad93a7d50f466a7028a9bf4e",
	    "8-bit bytes: hashed");
	uidl_is("1700000000.X.host,popd,S=8,W=10:2,S", "1700000000.X.host",
	    "popd's size suffix is not part of the UIDL");
	uidl_is("1700000000.X.host,S=8,W=10", "1700000000.X.host,S=8,W=10",
	    "other sizes are");
	uidl_is("a,S=1,W=9,popd,S=8,W=10", "a,S=1,W=9",
	    "only popd's suffix is left out");
	uidl_is("a,popd,S=8,W=10,b", "a,popd,S=8,W=10,b",
	    "a suffix not at the end is no suffix");
	uidl_is("a,popd,S=8,W=", "a,popd,S=8,W=", "nor a malformed one");
	uidl_is(X70 "x,popd,S=1,W=3:2,S",
	    "87a1e4c1c92b7b7a7c46433d780de6cc19f9ef34fdb872c875fd6363ab238a56",
	    "71 octets before popd's suffix: the hash of the base");
	uidl_is("1700000000.M1P2.host\tx:2,",
	    "113defb44c43fa69c12f9e27c733b01a816f5dcab247f34ea239fda02e70b227",
	    "a tab: hashed");
}

static void
w_is(const char *name, int rc, uint64_t want, const char *what)
{
	uint64_t	w = 0;
	int		r = maildir_name_w(name, &w);

	is_int(r, rc, what);
	if (rc == 0)
		ok(w == want, what);
}

static void
s_is(const char *name, int rc, uint64_t want, const char *what)
{
	uint64_t	s = 0;
	int		r = maildir_name_s(name, &s);

	is_int(r, rc, what);
	if (rc == 0)
		ok(s == want, what);
}

static void
test_sizes(void)
{
	w_is("1700000000.M1P2.host,S=1000,W=1020:2,S", 0, 1020,
	    "W before the info");
	w_is("1700000000.M1P2.host,W=123", 0, 123, "W at the end, no info");
	w_is("1700000000.M1P2.host,W=123,S=100:2,", 0, 123,
	    "W before S");
	w_is("1700000000.M1P2.host,W=0:2,", 0, 0, "W=0");
	w_is("1700000000.M1P2.host,W=1099511627776", 0, 1099511627776ULL,
	    "a W beyond 32 bits");
	w_is("1700000000.M1P2.host:2,S", -1, 0, "no W");
	w_is("1700000000.M1P2.host,S=10:2,S", -1, 0, "S only");
	w_is("1700000000.M1P2.host:2,W=5", -1, 0,
	    "W in the info part does not count");
	w_is("1700000000.M1P2.host,S=1:2,,W=5", -1, 0,
	    "W after ':' does not count");
	w_is("1700000000.M1P2.host,W=:2,S", -1, 0, "empty W");
	w_is("1700000000.M1P2.host,W=", -1, 0, "empty W at the end");
	w_is("1700000000.M1P2.host,W=12x:2,S", -1, 0, "W=12x");
	w_is("1700000000.M1P2.host,W=12x", -1, 0, "W=12x at the end");
	w_is("1700000000.M1P2.host,W=-1:2,", -1, 0, "W=-1");
	w_is("1700000000.M1P2.host,W=+1:2,", -1, 0, "W=+1");
	w_is("1700000000.M1P2.host,W= 1:2,", -1, 0, "W= 1");
	w_is("1700000000.M1P2.host,W=18446744073709551616:2,", -1, 0,
	    "W overflows 64 bits");
	w_is("1700000000.M1P2.host,W=99999999999999999999999:2,", -1, 0,
	    "W far too large");
	w_is("1700000000.M1P2.hostW=5:2,", -1, 0, "W= without a comma");
	w_is("1700000000.M1P2.host,w=5:2,", -1, 0, "lowercase w");
	w_is("", -1, 0, "empty name");

	s_is("1700000000.M1P2.host,S=1000,W=1020:2,S", 0, 1000,
	    "S before W");
	s_is("1700000000.M1P2.host,W=1020,S=1000", 0, 1000, "S at the end");
	s_is("1700000000.M1P2.host:2,S=5", -1, 0, "S in the info part");
	s_is("1700000000.M1P2.host,S=:2,", -1, 0, "empty S");
	s_is("1700000000.M1P2.host,S=1k:2,", -1, 0, "S=1k");
	s_is("1700000000.M1P2.host,S=-1", -1, 0, "S=-1");
	s_is("1700000000.M1P2.host,S=18446744073709551616", -1, 0,
	    "S overflows 64 bits");
}

static void
both_is(const char *name, int rc, uint64_t ws, uint64_t ww, const char *what)
{
	uint64_t	s = 0, w = 0;

	is_int(maildir_name_sizes(name, &s, &w), rc, what);
	if (rc == 0)
		ok(s == ws && w == ww, what);
}

static void
test_both(void)
{
	both_is("1.a,S=10,W=12:2,S", 0, 10, 12, "S and W that agree");
	both_is("1.a,S=10,W=10", 0, 10, 10, "W == S");
	both_is("1.a,S=10,W=22", 0, 10, 22, "W == 2S + 2");
	both_is("1.a,S=10,W=23", -1, 0, 0, "W > 2S + 2");
	both_is("1.a,S=10,W=9", -1, 0, 0, "W < S");
	both_is("1.a,S=0,W=0", 0, 0, 0, "empty");
	both_is("1.a,S=0,W=2", -1, 0, 0, "empty file, W=2");
	both_is("1.a,W=12", -1, 0, 0, "W without S: not trusted");
	both_is("1.a,S=12", -1, 0, 0, "S without W");
	both_is("1.a,S=99,W=5,popd,S=3,W=5", 0, 3, 5, "popd's suffix wins");
	w_is("1.a,W=5,popd,S=3,W=6", 0, 6, "W from popd's suffix");
	s_is("1.a,S=5,popd,S=3,W=6", 0, 3, "S from popd's suffix");
	is_int(maildir_base_len("1.a,popd,S=3,W=6:2,S"), 3, "base length");
	is_int(maildir_base_len("1.a:2,S"), 3, "base length, no suffix");
}

int
main(void)
{
	test_uidl();
	test_sizes();
	test_both();
	return done_testing();
}
