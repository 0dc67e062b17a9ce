/*
 * proxy.c: the PROXY protocol (HAProxy's proxy-protocol.txt).  Valid v1
 * and v2 headers of every kind, each fed byte by byte too; every
 * malformed header we could think of, refused as soon as its bytes show
 * it; proxy-trusted networks parsed strictly and matched; and proxy_read
 * over a socket, taking the header and not one byte after it.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "iowait.h"
#include "../../popd/proxy.h"
#include "tap.h"

/* A literal with its length (it may hold NULs). */
#define LIT(s)	(const unsigned char *)(s), sizeof(s) - 1

#define SIG	"\r\n\r\n\0\r\nQUIT\n"

/* A test name with printf arguments (tap.h prints names as they are). */
static char	 nm[256];
#define NAME(...)	(snprintf(nm, sizeof(nm), __VA_ARGS__), nm)

static unsigned
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static const char *
ntop(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void	*a = ss->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return "-";
	return inet_ntop(ss->ss_family, a, buf, (socklen_t)len);
}

/*
 * Every shorter prefix of buf[0..hlen) needs more bytes; buf, whole or
 * with what follows, gives the same header of hlen bytes.
 */
static int
incremental(const unsigned char *buf, size_t len, size_t hlen)
{
	struct proxy_hdr	h;
	size_t			k;

	for (k = 0; k < hlen; k++)
		if (proxy_parse(buf, k, &h) != 0) {
			printf("#   prefix of %zu: not 0\n", k);
			return 0;
		}
	for (k = hlen; k <= len; k++)
		if (proxy_parse(buf, k, &h) != (int)hlen) {
			printf("#   prefix of %zu: not %zu\n", k, hlen);
			return 0;
		}
	return 1;
}

/*
 * A valid header of hlen bytes in buf (len: with what follows): version,
 * client address (NULL: local) and ports as given, byte by byte too.
 */
static void
valid(const char *name, const unsigned char *buf, size_t len, size_t hlen,
    int version, const char *src, unsigned sport, const char *dst,
    unsigned dport)
{
	struct proxy_hdr	h;
	char			a[INET6_ADDRSTRLEN], what[160];
	int			r;

	r = proxy_parse(buf, len, &h);
	snprintf(what, sizeof(what), "%s: %zu bytes", name, hlen);
	if (!is_int(r, hlen, what))
		printf("#   reason: %s\n", h.reason ? h.reason : "-");
	if (r <= 0)
		return;
	snprintf(what, sizeof(what), "%s: version %d", name, version);
	is_int(h.version, version, what);
	if (src == NULL) {
		snprintf(what, sizeof(what), "%s: local, no address", name);
		ok(h.local && h.addr[0] == '\0' && h.src.ss_family == 0, what);
	} else {
		snprintf(what, sizeof(what), "%s: client %s", name, src);
		is_str(h.addr, src, what);
		snprintf(what, sizeof(what), "%s: sockaddr and ports", name);
		ok(!h.local && strcmp(ntop(&h.src, a, sizeof(a)), src) == 0 &&
		    port_of(&h.src) == sport && port_of(&h.dst) == dport &&
		    strcmp(ntop(&h.dst, a, sizeof(a)), dst) == 0, what);
	}
	snprintf(what, sizeof(what), "%s: byte by byte", name);
	ok(incremental(buf, len, hlen), what);
}

/*
 * buf is refused: no prefix gives a header, and from the first prefix
 * that is refused on, every longer one is, for the same reason.
 */
static void
invalid(const char *name, const unsigned char *buf, size_t len,
    const char *reason)
{
	struct proxy_hdr	h;
	const char		*first = NULL;
	size_t			k;
	int			r, good = 1;

	for (k = 0; k <= len; k++) {
		r = proxy_parse(buf, k, &h);
		if (r > 0 || (first != NULL && (r != -1 ||
		    strcmp(h.reason, first) != 0)) ||
		    (r == -1 && h.reason == NULL)) {
			printf("#   prefix of %zu: %d\n", k, r);
			good = 0;
		}
		if (r == -1 && first == NULL)
			first = h.reason;
	}
	if (!ok(good && first != NULL && strcmp(first, reason) == 0,
	    NAME("refused: %s", name)))
		printf("#   reason: %s, want %s\n", first ? first : "none",
		    reason);
}

static void
test_v1(void)
{
	static const char	max[] = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	static const char	tcp6max[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n";
	struct proxy_hdr	h;

	valid("v1 TCP4", LIT("PROXY TCP4 192.0.2.1 198.51.100.2 56324 110"
	    "\r\nCAPA\r\n"), 45, 1, "192.0.2.1", 56324, "198.51.100.2", 110);
	valid("v1 TCP6", LIT("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n"),
	    44, 1, "2001:db8::1", 1, "2001:db8::2", 65535);
	valid("v1 TCP6 mapped", LIT("PROXY TCP6 ::ffff:192.0.2.9 "
	    "::ffff:10.0.0.1 1000 995\r\n"), 54, 1, "192.0.2.9", 1000,
	    "10.0.0.1", 995);
	valid("v1 ports 0", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 0 0\r\n"), 32, 1,
	    "1.2.3.4", 0, "5.6.7.8", 0);
	valid("v1 TCP6 longest", (const unsigned char *)tcp6max,
	    sizeof(tcp6max) - 1, sizeof(tcp6max) - 1, 1,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
	valid("v1 UNKNOWN", LIT("PROXY UNKNOWN\r\nUSER a\r\n"), 15, 1, NULL,
	    0, NULL, 0);
	is_int(sizeof(max) - 1, PROXY_V1_MAX, "the spec's longest line is 107");
	valid("v1 UNKNOWN, 107 bytes", (const unsigned char *)max,
	    sizeof(max) - 1, PROXY_V1_MAX, 1, NULL, 0, NULL, 0);
	valid("v1 UNKNOWN and anything", LIT("PROXY UNKNOWN what ever\r\n"),
	    25, 1, NULL, 0, NULL, 0);

	proxy_parse(LIT("PROXY TCP4 127.0.0.5 127.0.0.1 1 110\r\n"), &h);
	ok(h.loopback, "v1: 127.0.0.5 is loopback");
	proxy_parse(LIT("PROXY TCP6 ::1 ::1 1 110\r\n"), &h);
	ok(h.loopback, "v1: ::1 is loopback");
	proxy_parse(LIT("PROXY TCP6 ::ffff:127.0.0.1 ::1 1 110\r\n"), &h);
	ok(h.loopback && strcmp(h.addr, "127.0.0.1") == 0,
	    "v1: ::ffff:127.0.0.1 is 127.0.0.1, loopback");
	proxy_parse(LIT("PROXY TCP4 192.0.2.1 127.0.0.1 1 110\r\n"), &h);
	ok(!h.loopback, "v1: 192.0.2.1 is not loopback");

	invalid("v1 LF without CR", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
	    "v1: LF without CR");
	invalid("v1 CR without LF", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"),
	    "v1: CR without LF");
	invalid("v1 CR CR LF", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n"),
	    "v1: CR without LF");
	invalid("v1 two spaces", LIT("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	    "v1: empty field (a space too many)");
	invalid("v1 two spaces later", LIT("PROXY TCP4 1.2.3.4  5.6.7.8 1 2"
	    "\r\n"), "v1: empty field (a space too many)");
	invalid("v1 trailing space", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"),
	    "v1: not 6 fields");
	invalid("v1 tab", LIT("PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n"),
	    "v1: control or non-ASCII byte");
	invalid("v1 NUL", LIT("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"),
	    "v1: control or non-ASCII byte");
	invalid("v1 8-bit byte", LIT("PROXY UNKNOWN \xc3\xa9\r\n"),
	    "v1: control or non-ASCII byte");
	invalid("v1 lower case", LIT("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	    "not a PROXY header");
	invalid("v1 PROXZ", LIT("PROXZ TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	    "not a PROXY header");
	invalid("v1 no space after PROXY", LIT("PROXYTCP4\r\n"),
	    "not a PROXY header");
	invalid("v1 PROXY alone", LIT("PROXY\r\n"), "not a PROXY header");
	invalid("v1 PROXY and a space", LIT("PROXY \r\n"),
	    "v1: empty field (a space too many)");
	invalid("v1 tcp4", LIT("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"),
	    "v1: protocol not TCP4, TCP6 or UNKNOWN");
	invalid("v1 UDP4", LIT("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	    "v1: protocol not TCP4, TCP6 or UNKNOWN");
	invalid("v1 UNKNOWNX", LIT("PROXY UNKNOWNX\r\n"),
	    "v1: not 6 fields");
	invalid("v1 TCP4 alone", LIT("PROXY TCP4\r\n"), "v1: not 6 fields");
	invalid("v1 five fields", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"),
	    "v1: not 6 fields");
	invalid("v1 seven fields", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"),
	    "v1: not 6 fields");
	invalid("v1 TCP4 with IPv6", LIT("PROXY TCP4 ::1 ::1 1 2\r\n"),
	    "v1: bad source address");
	invalid("v1 TCP6 with IPv4", LIT("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"),
	    "v1: bad source address");
	invalid("v1 three octets", LIT("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"),
	    "v1: bad source address");
	invalid("v1 octet 256", LIT("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"),
	    "v1: bad source address");
	invalid("v1 octet with a leading zero",
	    LIT("PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n"), "v1: bad source address");
	invalid("v1 five octets", LIT("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"),
	    "v1: bad source address");
	invalid("v1 host name", LIT("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"),
	    "v1: bad source address");
	invalid("v1 IPv6 zone", LIT("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"),
	    "v1: bad source address");
	invalid("v1 bad destination", LIT("PROXY TCP4 1.2.3.4 5.6.7 1 2\r\n"),
	    "v1: bad destination address");
	invalid("v1 port 65536", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"),
	    "v1: bad source port");
	invalid("v1 port 99999", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n"),
	    "v1: bad source port");
	invalid("v1 port 123456", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n"),
	    "v1: bad source port");
	invalid("v1 port -1", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"),
	    "v1: bad source port");
	invalid("v1 port +1", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"),
	    "v1: bad source port");
	invalid("v1 port 080", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n"),
	    "v1: bad source port");
	invalid("v1 port 00", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n"),
	    "v1: bad source port");
	invalid("v1 port 0x10", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n"),
	    "v1: bad source port");
	invalid("v1 port 1a", LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2a\r\n"),
	    "v1: bad destination port");
	invalid("v1 destination port 65536",
	    LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"),
	    "v1: bad destination port");
}

/* A line of n bytes before its CRLF: "PROXY UNKNOWN" and x's. */
static void
test_v1_length(void)
{
	unsigned char	buf[300];
	size_t		n;

	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	n = PROXY_V1_MAX - 2;
	memcpy(buf + n, "\r\n", 2);
	valid("v1 105 + CRLF", buf, n + 2, n + 2, 1, NULL, 0, NULL, 0);
	memset(buf + n, 'x', 2);
	memcpy(buf + n + 1, "\r\n", 2);
	invalid("v1 106 + CRLF", buf, n + 3, "v1: no CRLF within 107 bytes");
	memset(buf + 14, 'x', sizeof(buf) - 14);
	invalid("v1 no CRLF at all", buf, sizeof(buf),
	    "v1: no CRLF within 107 bytes");
	invalid("v1 CR as the 107th byte", (memcpy(buf + 106, "\r\n", 2), buf),
	    108, "v1: no CRLF within 107 bytes");
}

/* A v2 header: signature, the two octets, length, body. */
static size_t
v2(unsigned char *buf, unsigned vc, unsigned ft, const void *body,
    size_t blen)
{
	memcpy(buf, SIG, 12);
	buf[12] = (unsigned char)vc;
	buf[13] = (unsigned char)ft;
	buf[14] = (unsigned char)(blen >> 8);
	buf[15] = (unsigned char)blen;
	memcpy(buf + 16, body, blen);
	return 16 + blen;
}

static void
test_v2(void)
{
	static const unsigned char	in4[] = { 192, 0, 2, 1, 198, 51, 100, 2,
					    0xdc, 0x04, 0, 110 };
	static const unsigned char	in6[36] = {
		0x20, 0x01, 0x0d, 0xb8, [15] = 1,
		0x20, 0x01, 0x0d, 0xb8, [31] = 2,
		0x30, 0x39, 0x03, 0xe3
	};
	static const unsigned char	mapped6[36] = {
		[10] = 0xff, 0xff, 203, 0, 113, 7,
		[26] = 0xff, 0xff, 10, 0, 0, 1,
		0, 1, 0, 110
	};
	unsigned char			buf[PROXY_HDR_MAX + 64], body[2200];
	size_t				n;

	n = v2(buf, 0x21, 0x11, in4, sizeof(in4));
	memcpy(buf + n, "\x16\x03\x01", 3);
	valid("v2 PROXY TCP4", buf, n + 3, 28, 2, "192.0.2.1", 56324,
	    "198.51.100.2", 110);
	n = v2(buf, 0x21, 0x21, in6, sizeof(in6));
	valid("v2 PROXY TCP6", buf, n, 52, 2, "2001:db8::1", 12345,
	    "2001:db8::2", 995);
	n = v2(buf, 0x21, 0x21, mapped6, sizeof(mapped6));
	valid("v2 PROXY TCP6 mapped", buf, n, 52, 2, "203.0.113.7", 1,
	    "10.0.0.1", 110);
	n = v2(buf, 0x20, 0x00, "", 0);
	memcpy(buf + n, "USER a\r\n", 8);
	valid("v2 LOCAL", buf, n + 8, 16, 2, NULL, 0, NULL, 0);
	n = v2(buf, 0x20, 0x11, in4, sizeof(in4));
	valid("v2 LOCAL with addresses", buf, n, 28, 2, NULL, 0, NULL, 0);
	n = v2(buf, 0x20, 0xff, "abc", 3);
	valid("v2 LOCAL ignores the family", buf, n, 19, 2, NULL, 0, NULL, 0);
	n = v2(buf, 0x21, 0x00, "", 0);
	valid("v2 PROXY UNSPEC", buf, n, 16, 2, NULL, 0, NULL, 0);
	n = v2(buf, 0x21, 0x00, "xyz", 3);
	valid("v2 PROXY UNSPEC, a block skipped", buf, n, 19, 2, NULL, 0,
	    NULL, 0);
	n = v2(buf, 0x21, 0x12, in4, sizeof(in4));
	valid("v2 PROXY UDP4 keeps the socket's", buf, n, 28, 2, NULL, 0,
	    NULL, 0);
	n = v2(buf, 0x21, 0x10, in4, sizeof(in4));
	valid("v2 PROXY INET UNSPEC transport keeps the socket's", buf, n, 28,
	    2, NULL, 0, NULL, 0);
	memset(body, 0, 216);
	n = v2(buf, 0x21, 0x31, body, 216);
	valid("v2 PROXY UNIX keeps the socket's", buf, n, 232, 2, NULL, 0,
	    NULL, 0);

	/* TLVs: a NOOP of 2, an AUTHORITY, an empty one, all skipped. */
	memcpy(body, in4, 12);
	memcpy(body + 12, "\x04\x00\x02zz\x02\x00\x0bpop.example\x05\x00\x00",
	    22);
	n = v2(buf, 0x21, 0x11, body, 34);
	valid("v2 TLVs skipped", buf, n, 50, 2, "192.0.2.1", 56324,
	    "198.51.100.2", 110);
	/* The longest: one TLV filling PROXY_V2_LEN_MAX. */
	memset(body + 12, 0, sizeof(body) - 12);
	body[12] = 0x04;
	body[13] = (PROXY_V2_LEN_MAX - 15) >> 8;
	body[14] = (PROXY_V2_LEN_MAX - 15) & 0xff;
	n = v2(buf, 0x21, 0x11, body, PROXY_V2_LEN_MAX);
	valid("v2 of the longest length", buf, n, PROXY_HDR_MAX, 2,
	    "192.0.2.1", 56324, "198.51.100.2", 110);

	n = v2(buf, 0x21, 0x11, in4, sizeof(in4));
	buf[11] = '\r';
	invalid("v2 bad signature", buf, n, "not a PROXY header");
	buf[11] = '\n';
	buf[4] = 'x';
	invalid("v2 bad signature early", buf, n, "not a PROXY header");
	invalid("a bare CRLF", LIT("\r\nUSER a\r\n"), "not a PROXY header");
	n = v2(buf, 0x11, 0x11, in4, sizeof(in4));
	invalid("v2 version 1", buf, n, "v2: version not 2");
	n = v2(buf, 0x31, 0x11, in4, sizeof(in4));
	invalid("v2 version 3", buf, n, "v2: version not 2");
	n = v2(buf, 0x01, 0x11, in4, sizeof(in4));
	invalid("v2 version 0", buf, n, "v2: version not 2");
	n = v2(buf, 0x22, 0x11, in4, sizeof(in4));
	invalid("v2 command 2", buf, n, "v2: command not LOCAL or PROXY");
	n = v2(buf, 0x2f, 0x11, in4, sizeof(in4));
	invalid("v2 command 15", buf, n, "v2: command not LOCAL or PROXY");
	n = v2(buf, 0x21, 0x41, in4, sizeof(in4));
	invalid("v2 family 4", buf, n, "v2: unknown family or transport");
	n = v2(buf, 0x21, 0xf1, in4, sizeof(in4));
	invalid("v2 family 15", buf, n, "v2: unknown family or transport");
	n = v2(buf, 0x21, 0x13, in4, sizeof(in4));
	invalid("v2 transport 3", buf, n, "v2: unknown family or transport");
	n = v2(buf, 0x21, 0x11, in4, 11);
	invalid("v2 INET, length 11", buf, n,
	    "v2: length too short for the addresses");
	n = v2(buf, 0x21, 0x21, in6, 35);
	invalid("v2 INET6, length 35", buf, n,
	    "v2: length too short for the addresses");
	n = v2(buf, 0x21, 0x21, in4, 12);
	invalid("v2 INET6 with an INET block", buf, n,
	    "v2: length too short for the addresses");
	n = v2(buf, 0x21, 0x31, body, 215);
	invalid("v2 UNIX, length 215", buf, n,
	    "v2: length too short for the addresses");
	memset(body, 0, sizeof(body));
	n = v2(buf, 0x21, 0x11, body, PROXY_V2_LEN_MAX + 1);
	invalid("v2 over the length limit", buf, n,
	    "v2: length over the limit");
	buf[14] = buf[15] = 0xff;
	invalid("v2 length 65535, refused at 16 bytes", buf, 16,
	    "v2: length over the limit");
	n = v2(buf, 0x20, 0x00, body, PROXY_V2_LEN_MAX + 1);
	invalid("v2 LOCAL over the length limit", buf, n,
	    "v2: length over the limit");

	memcpy(body, in4, 12);
	memcpy(body + 12, "\x04\x00", 2);
	n = v2(buf, 0x21, 0x11, body, 14);
	invalid("v2 TLV header cut", buf, n, "v2: truncated TLV");
	memcpy(body + 12, "\x04\x00\x03zz", 5);
	n = v2(buf, 0x21, 0x11, body, 17);
	invalid("v2 TLV value past the length", buf, n,
	    "v2: TLV longer than the header");
	memcpy(body + 12, "\x04\xff\xffzz", 5);
	n = v2(buf, 0x21, 0x11, body, 17);
	invalid("v2 TLV of length 65535", buf, n,
	    "v2: TLV longer than the header");
	memcpy(body + 12, "\x04\x00\x00\x01", 4);
	n = v2(buf, 0x21, 0x11, body, 16);
	invalid("v2 one byte after the TLVs", buf, n, "v2: truncated TLV");
	n = v2(buf, 0x21, 0x11, in4, sizeof(in4));
	ok(proxy_parse(buf, 27, &(struct proxy_hdr){ 0 }) == 0,
	    "v2 one byte short needs more");
	invalid("neither v1 nor v2", LIT("USER alice\r\n"), "not a PROXY header");
	invalid("a TLS ClientHello", LIT("\x16\x03\x01\x02\x00\x01"),
	    "not a PROXY header");
}

/* proxy_net_parse of s: ok, and formatted back as want. */
static void
net_ok(const char *s, const char *want)
{
	struct proxy_net	 n;
	const char		*why = "x";
	char			 buf[64] = "";

	if (proxy_net_parse(s, &n, &why) == 0)
		proxy_net_format(&n, buf, sizeof(buf));
	if (!ok(why == NULL && strcmp(buf, want) == 0, NAME("network %s is %s", s,
	    want)))
		printf("#   got '%s' (%s)\n", buf, why ? why : "ok");
}

static void
net_bad(const char *s, const char *reason)
{
	struct proxy_net	 n;
	const char		*why = NULL;
	int			 r;

	r = proxy_net_parse(s, &n, &why);
	if (!ok(r == -1 && why != NULL && strcmp(why, reason) == 0,
	    NAME("network \"%s\" refused", s)))
		printf("#   got %d (%s)\n", r, why ? why : "no reason");
}

static void
test_nets(void)
{
	net_ok("10.0.0.0/8", "10.0.0.0/8");
	net_ok("192.0.2.1", "192.0.2.1/32");
	net_ok("192.0.2.1/32", "192.0.2.1/32");
	net_ok("192.0.2.128/25", "192.0.2.128/25");
	net_ok("0.0.0.0/0", "0.0.0.0/0");
	net_ok("::/0", "::/0");
	net_ok("2001:db8::/32", "2001:db8::/32");
	net_ok("2001:DB8::/32", "2001:db8::/32");
	net_ok("::1", "::1/128");
	net_ok("::1/128", "::1/128");
	net_ok("fe80::/10", "fe80::/10");
	net_ok("::ffff:10.0.0.0/104", "10.0.0.0/8");
	net_ok("::ffff:192.0.2.1", "192.0.2.1/32");
	net_ok("::ffff:0:0/96", "0.0.0.0/0");
	net_ok("::/96", "::/96");
	net_ok("fe80::/9", "fe80::/9");

	net_bad("10.0.0.1/8", "address bits set past the prefix length");
	net_bad("192.0.2.129/25", "address bits set past the prefix length");
	net_bad("1.0.0.0/0", "address bits set past the prefix length");
	net_bad("::1/127", "address bits set past the prefix length");
	net_bad("fe80::/8", "address bits set past the prefix length");
	net_bad("10.0.0.0/33", "prefix length not 0..32");
	net_bad("::/129", "prefix length not 0..128");
	net_bad("10.0.0.0/1000", "prefix length not 0..32");
	net_bad("10.0.0.0/", "prefix length not 0..32");
	net_bad("10.0.0.0/08", "prefix length not 0..32");
	net_bad("10.0.0.0/+8", "prefix length not 0..32");
	net_bad("10.0.0.0/-8", "prefix length not 0..32");
	net_bad("10.0.0.0/8/8", "prefix length not 0..32");
	net_bad("10.0.0.0/8 ", "prefix length not 0..32");
	net_bad("10.0.0.0/0x8", "prefix length not 0..32");
	net_bad("2001:db8::/32x", "prefix length not 0..128");
	net_bad("/8", "not an IPv4 or IPv6 address");
	net_bad("", "not an IPv4 or IPv6 address");
	net_bad("10.0.0.0 /8", "not an IPv4 or IPv6 address");
	net_bad("010.0.0.0/8", "not an IPv4 or IPv6 address");
	net_bad("10.0.0/8", "not an IPv4 or IPv6 address");
	net_bad("10/8", "not an IPv4 or IPv6 address");
	net_bad("localhost", "not an IPv4 or IPv6 address");
	net_bad("fe80::1%eth0", "not an IPv4 or IPv6 address");
	net_bad("[::1]/128", "not an IPv4 or IPv6 address");
	net_bad("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	    "not an IPv4 or IPv6 address");
}

static struct sockaddr_storage
peer(const char *s)
{
	struct sockaddr_storage	 ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, s,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		ss.ss_family = AF_UNIX;
	return ss;
}

/* 1 when the peer s is in the network list (one network or a few). */
static int
in(const char *s, const char *n1, const char *n2)
{
	struct proxy_net	 nets[2];
	struct sockaddr_storage	 ss = peer(s);
	const char		*why;
	size_t			 n = 0;

	if (proxy_net_parse(n1, &nets[n++], &why) == -1 ||
	    (n2 != NULL && proxy_net_parse(n2, &nets[n++], &why) == -1)) {
		printf("#   bad network in the test\n");
		return -1;
	}
	return proxy_trusted(nets, n, &ss);
}

static void
test_trusted(void)
{
	struct sockaddr_storage	ss = peer("10.0.0.1");

	ok(in("10.1.2.3", "10.0.0.0/8", NULL) == 1, "10.1.2.3 in 10/8");
	ok(in("11.0.0.1", "10.0.0.0/8", NULL) == 0, "11.0.0.1 not in 10/8");
	ok(in("9.255.255.255", "10.0.0.0/8", NULL) == 0,
	    "9.255.255.255 not in 10/8");
	ok(in("::ffff:10.1.2.3", "10.0.0.0/8", NULL) == 1,
	    "mapped ::ffff:10.1.2.3 in 10/8");
	ok(in("::ffff:11.1.2.3", "10.0.0.0/8", NULL) == 0,
	    "mapped ::ffff:11.1.2.3 not in 10/8");
	ok(in("::ffff:10.1.2.3", "::ffff:10.0.0.0/104", NULL) == 1,
	    "mapped peer in a mapped network");
	ok(in("10.1.2.3", "::ffff:10.0.0.0/104", NULL) == 1,
	    "IPv4 peer in a mapped network");
	ok(in("192.0.2.200", "192.0.2.128/25", NULL) == 1, ".200 in .128/25");
	ok(in("192.0.2.100", "192.0.2.128/25", NULL) == 0,
	    ".100 not in .128/25");
	ok(in("192.0.2.1", "192.0.2.1/32", NULL) == 1, "/32: the host");
	ok(in("192.0.2.2", "192.0.2.1", NULL) == 0, "/32: not its neighbour");
	ok(in("203.0.113.9", "0.0.0.0/0", NULL) == 1, "/0 holds every IPv4");
	ok(in("2001:db8::1", "0.0.0.0/0", NULL) == 0, "IPv4 /0 holds no IPv6");
	ok(in("2001:db8::1", "::/0", NULL) == 1, "::/0 holds every IPv6");
	ok(in("203.0.113.9", "::/0", NULL) == 0, "::/0 holds no IPv4");
	ok(in("::ffff:203.0.113.9", "::/0", NULL) == 0,
	    "::/0 holds no mapped IPv4 either");
	ok(in("2001:db8:1::5", "2001:db8::/32", NULL) == 1,
	    "2001:db8:1::5 in 2001:db8::/32");
	ok(in("2001:db9::5", "2001:db8::/32", NULL) == 0,
	    "2001:db9::5 not in 2001:db8::/32");
	ok(in("::1", "::1/128", NULL) == 1, "/128: the host");
	ok(in("::2", "::1", NULL) == 0, "/128: not its neighbour");
	ok(in("fe80::1", "fe80::/10", NULL) == 1, "fe80::1 in fe80::/10");
	ok(in("fec0::1", "fe80::/10", NULL) == 0, "fec0::1 not in fe80::/10");
	ok(in("2001:db8::1", "10.0.0.0/8", "2001:db8::/32") == 1,
	    "the second network of two");
	ok(in("/run/sock", "0.0.0.0/0", "::/0") == 0,
	    "a Unix socket is never trusted");
	ok(proxy_trusted(NULL, 0, &ss) == 0, "no networks: nobody");
}

struct errs {
	int	n;
	int	line;
	char	msg[512];
};

static void
collect(void *arg, const char *file, int line, const char *msg)
{
	struct errs	*e = arg;

	(void)file;
	if (e->n++ == 0) {
		e->line = line;
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	}
}

/* text's only error is msg on line. */
static void
conf_bad(const char *name, const char *text, int line, const char *msg,
    size_t kept)
{
	struct conf	c;
	struct errs	e = { 0 };

	conf_parse(&c, "t.conf", text, collect, &e);
	if (!ok(e.n == 1 && e.line == line && strcmp(e.msg, msg) == 0,
	    NAME("conf: %s", name)))
		printf("#   %d errors, first line %d: %s\n", e.n, e.line, e.msg);
	ok(c.nproxy_trusted == kept, NAME("conf: %s: %zu networks kept", name,
	    kept));
	conf_free(&c);
}

static void
test_conf(void)
{
	struct conf	 c, c2;
	struct errs	 e = { 0 };
	char		*dump = NULL, text[8192];
	size_t		 dlen = 0, i, n;
	FILE		*f;

	conf_parse(&c, "t.conf", "proxy-trusted = 127.0.0.0/8, ::1 ,"
	    "10.0.0.0/8\n", collect, &e);
	ok(e.n == 0 && c.nproxy_trusted == 3, "conf: three networks");
	f = open_memstream(&dump, &dlen);
	conf_dump(&c, f);
	fclose(f);
	ok(strstr(dump, "proxy-trusted = 127.0.0.0/8, ::1/128, 10.0.0.0/8\n")
	    != NULL, "conf_dump shows them");
	conf_parse(&c2, "dump", dump, collect, &e);
	ok(e.n == 0 && c2.nproxy_trusted == 3 && memcmp(c.proxy_trusted,
	    c2.proxy_trusted, sizeof(c.proxy_trusted)) == 0,
	    "the dump reads back the same");
	conf_free(&c2);
	conf_free(&c);
	free(dump);

	conf_parse(&c, "t.conf", "", collect, &e);
	dump = NULL;
	f = open_memstream(&dump, &dlen);
	conf_dump(&c, f);
	fclose(f);
	ok(c.nproxy_trusted == 0 && strstr(dump, "proxy-trusted") == NULL,
	    "off by default, and the dump says nothing");
	conf_free(&c);
	free(dump);

	conf_bad("host bits", "# x\nproxy-trusted = 10.0.0.1/8\n", 2,
	    "bad value for \"proxy-trusted\": \"10.0.0.1/8\" (\"10.0.0.1/8\": "
	    "address bits set past the prefix length)", 0);
	conf_bad("the item at fault named",
	    "proxy-trusted = 10.0.0.0/8, 2001:db8::/129\n", 1,
	    "bad value for \"proxy-trusted\": \"10.0.0.0/8, 2001:db8::/129\" "
	    "(\"2001:db8::/129\": prefix length not 0..128)", 0);
	conf_bad("empty item", "proxy-trusted = 10.0.0.0/8,, ::1\n", 1,
	    "bad value for \"proxy-trusted\": \"10.0.0.0/8,, ::1\" (\"\": "
	    "empty item)", 0);
	conf_bad("trailing comma", "proxy-trusted = 10.0.0.0/8,\n", 1,
	    "bad value for \"proxy-trusted\": \"10.0.0.0/8,\" (\"\": "
	    "empty item)", 0);
	conf_bad("a name", "proxy-trusted = balancer.example\n", 1,
	    "bad value for \"proxy-trusted\": \"balancer.example\" "
	    "(\"balancer.example\": not an IPv4 or IPv6 address)", 0);
	conf_bad("empty", "proxy-trusted =\n", 1,
	    "empty value for \"proxy-trusted\"", 0);
	conf_bad("duplicate", "proxy-trusted = ::1\nproxy-trusted = ::1\n", 2,
	    "duplicate key \"proxy-trusted\"", 1);
	conf_bad("in a section", "[alice]\nmaildrop = /tmp/a\n"
	    "proxy-trusted = ::1\n", 3,
	    "global key \"proxy-trusted\" inside section [alice]", 0);

	n = (size_t)snprintf(text, sizeof(text), "proxy-trusted = ");
	for (i = 0; i < PROXY_TRUSTED_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s10.0.%zu.0/24",
		    i ? ", " : "", i);
	memset(&e, 0, sizeof(e));
	conf_parse(&c, "t.conf", text, collect, &e);
	ok(e.n == 0 && c.nproxy_trusted == PROXY_TRUSTED_MAX,
	    NAME("conf: %d networks", PROXY_TRUSTED_MAX));
	conf_free(&c);
	snprintf(text + n, sizeof(text) - n, ", 10.1.0.0/16");
	memset(&e, 0, sizeof(e));
	conf_parse(&c, "t.conf", text, collect, &e);
	ok(e.n == 1 && strstr(e.msg, "(\"10.1.0.0/16\": too many networks)"),
	    "conf: one more is too many");
	conf_free(&c);
}

/* An io on one end of a socket pair; the other end is returned. */
static int
sock_io(struct io *io)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		perror("socketpair");
		exit(2);
	}
	io_init(io, sv[0], sv[0], 5000);
	return sv[1];
}

/* From a child: buf in pieces of one byte, 2 ms apart; then tail. */
static pid_t
trickle(int fd, const unsigned char *buf, size_t len, const char *tail)
{
	pid_t	pid;
	size_t	i;

	if ((pid = fork()) == -1) {
		perror("fork");
		exit(2);
	}
	if (pid > 0)
		return pid;
	for (i = 0; i < len; i++) {
		if (write(fd, buf + i, 1) != 1)
			_exit(1);
		usleep(2000);
	}
	if (write(fd, tail, strlen(tail)) != (ssize_t)strlen(tail))
		_exit(1);
	_exit(0);
}

/* What is left in the socket, without waiting long. */
static size_t
rest(int fd, char *buf, size_t cap)
{
	ssize_t	n;
	size_t	have = 0;

	while (have < cap - 1 && iow_wait(&(struct iowait){ fd, fd, 200, 0 },
	    fd, POLLIN) == 0 && (n = read(fd, buf + have, cap - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	return have;
}

static void
test_read(void)
{
#define H1	"PROXY TCP4 192.0.2.1 198.51.100.2 5 110\r\n"
	static const char	 h1[] = H1;
	static const unsigned char h2[] = SIG "\x21\x11\x00\x0c"
	    "\xc0\x00\x02\x07\x0a\x00\x00\x01\x00\x05\x00\x6e";
	struct io		 io;
	struct proxy_hdr	 h;
	char			 line[300], left[64];
	size_t			 len;
	long long		 t0;
	int			 peerfd, st, p[2];
	pid_t			 pid;

	peerfd = sock_io(&io);
	if (write(peerfd, H1 "CAPA\r\nQUIT\r\n", sizeof(h1) - 1 + 12) < 0)
		exit(2);
	ok(proxy_read(&io, &h, 0) == 0 && strcmp(h.addr, "192.0.2.1") == 0,
	    "read: v1 and two lines in one write");
	is_int(io_pending(&io), 0, "read: nothing of the client's buffered");
	ok(io_getline(&io, line, sizeof(line), &len, 0) == IO_LINE &&
	    strcmp(line, "CAPA") == 0, "read: then the first line, whole");
	is_int(io.rbytes, sizeof(h1) - 1 + 12, "read: rbytes counts the header");
	close(peerfd);
	close(io.rfd);

	peerfd = sock_io(&io);
	pid = trickle(peerfd, (const unsigned char *)h1, sizeof(h1) - 1,
	    "\x16\x03\x01");
	ok(proxy_read(&io, &h, 0) == 0 && strcmp(h.addr, "192.0.2.1") == 0,
	    "read: v1 one byte at a time");
	waitpid(pid, &st, 0);
	ok(rest(io.rfd, left, sizeof(left)) == 3 &&
	    memcmp(left, "\x16\x03\x01", 3) == 0,
	    "read: the ClientHello after it stays in the socket");
	close(peerfd);
	close(io.rfd);

	peerfd = sock_io(&io);
	pid = trickle(peerfd, h2, sizeof(h2) - 1, "USER a\r\n");
	ok(proxy_read(&io, &h, 0) == 0 && strcmp(h.addr, "192.0.2.7") == 0 &&
	    port_of(&h.src) == 5, "read: v2 one byte at a time");
	waitpid(pid, &st, 0);
	ok(rest(io.rfd, left, sizeof(left)) == 8 &&
	    strcmp(left, "USER a\r\n") == 0, "read: the line after it stays");
	close(peerfd);
	close(io.rfd);

	peerfd = sock_io(&io);
	if (write(peerfd, "USER alice\r\n", 12) < 0)
		exit(2);
	ok(proxy_read(&io, &h, 0) == -1 && io.error == EPROTO &&
	    strcmp(h.reason, "not a PROXY header") == 0,
	    "read: no header, refused");
	close(peerfd);
	close(io.rfd);

	peerfd = sock_io(&io);
	if (write(peerfd, h1, 20) < 0)
		exit(2);
	t0 = iow_now();
	ok(proxy_read(&io, &h, iow_now() + 300) == -1 &&
	    io.error == ETIMEDOUT && strcmp(h.reason,
	    "PROXY header not complete in time") == 0,
	    "read: half a header, then silence: the deadline");
	ok(iow_now() - t0 >= 290 && iow_now() - t0 < 2000,
	    NAME("read: the deadline held (%lld ms)", iow_now() - t0));
	close(peerfd);
	close(io.rfd);

	peerfd = sock_io(&io);
	t0 = iow_now();
	ok(proxy_read(&io, &h, iow_now() + 3600 * 1000LL) == -1 &&
	    io.error == ETIMEDOUT && strcmp(h.reason,
	    "no PROXY header in time") == 0 &&
	    iow_now() - t0 >= PROXY_TIMEOUT * 1000 - 10 &&
	    iow_now() - t0 < PROXY_TIMEOUT * 1000 + 2000,
	    "read: a later deadline is cut to PROXY_TIMEOUT");
	close(peerfd);
	close(io.rfd);

	peerfd = sock_io(&io);
	if (write(peerfd, h1, 20) < 0)
		exit(2);
	close(peerfd);
	ok(proxy_read(&io, &h, 0) == -1 && io.error == ECONNRESET &&
	    strcmp(h.reason, "connection closed inside the PROXY header") == 0,
	    "read: the peer closes mid-header");
	close(io.rfd);

	if (pipe(p) == -1)
		exit(2);
	io_init(&io, p[0], p[0], 1000);
	if (write(p[1], h1, sizeof(h1) - 1) < 0)
		exit(2);
	ok(proxy_read(&io, &h, 0) == -1 && io.error == ENOTSOCK,
	    "read: a pipe is no socket");
	close(p[0]);
	close(p[1]);

	peerfd = sock_io(&io);
	if (write(peerfd, "x\r\n" "PROXY UNKNOWN\r\n", 18) < 0)
		exit(2);
	io_getline(&io, line, sizeof(line), &len, 0);
	ok(proxy_read(&io, &h, 0) == -1 && io.error == EINVAL,
	    "read: refused once io has buffered bytes");
	close(peerfd);
	close(io.rfd);
}

int
main(void)
{
	test_v1();
	test_v1_length();
	test_v2();
	test_nets();
	test_trusted();
	test_conf();
	test_read();
	return done_testing();
}
