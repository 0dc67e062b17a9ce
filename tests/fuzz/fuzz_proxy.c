/*
 * fuzz_proxy.c: the PROXY protocol header (popd/proxy.h) and the networks
 * of proxy-trusted (common/conf.h).
 *
 * - proxy_parse reads no byte past len (ASan: libFuzzer's buffer is the
 *   input's exact size) and returns -1 with a reason, 0 only while fewer
 *   bytes than the longest header have come, or a length <= len and <=
 *   PROXY_HDR_MAX (107 for v1).
 * - Prefixes, as a socket delivers them: 0 up to the header's length,
 *   then that same length for every longer prefix; or 0, then -1 for the
 *   same reason for every longer prefix.  Never a header at one length and
 *   a refusal at another.
 * - A header that names a client, written again as v1 and as v2, parses
 *   back to the same addresses, ports and printable address.
 * - The input as a network: when proxy_net_parse takes it, the formatted
 *   network parses back the same, holds its own address (an IPv4 one its
 *   IPv4-mapped form too) and its last host, but not the address with
 *   the prefix's last bit flipped.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "proxy.h"

static const unsigned char v2sig[12] = "\r\n\r\n\0\r\nQUIT\n";

static const unsigned char *
addr_of(const struct sockaddr_storage *ss, size_t *len, unsigned *port)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family == AF_INET) {
		*len = 4;
		*port = ntohs(sin->sin_port);
		return (const unsigned char *)&sin->sin_addr;
	}
	CHECK(ss->ss_family == AF_INET6, "family %d", ss->ss_family);
	*len = 16;
	*port = ntohs(sin6->sin6_port);
	return sin6->sin6_addr.s6_addr;
}

/* a as 16 octets, IPv4-mapped when it has 4. */
static const unsigned char *
mapped(const unsigned char *a, size_t len, unsigned char out[16])
{
	if (len == 16)
		return a;
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, a, 4);
	return out;
}

static void
same(const struct proxy_hdr *a, const struct proxy_hdr *b, const char *how)
{
	CHECK(!b->local && b->src.ss_family == a->src.ss_family &&
	    memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	    memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0 &&
	    strcmp(a->addr, b->addr) == 0 && a->loopback == b->loopback,
	    "%s: %s came back as %s", how, a->addr, b->addr);
}

/* h names a client: as v1 and as v2 it reads back the same. */
static void
reserialise(const struct proxy_hdr *h)
{
	unsigned char		 buf[128], ms[16], md[16];
	char			 s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	const unsigned char	*sa, *da;
	struct proxy_hdr	 h2;
	size_t			 slen, dlen, n;
	unsigned		 sport, dport;
	int			 r;

	sa = addr_of(&h->src, &slen, &sport);
	da = addr_of(&h->dst, &dlen, &dport);
	CHECK(inet_ntop(slen == 4 ? AF_INET : AF_INET6, sa, s, sizeof(s)),
	    "inet_ntop");
	CHECK(strcmp(s, h->addr) == 0, "addr %s is not src %s", h->addr, s);
	/* TCP6 with one address IPv4-mapped: each is made IPv4 alone. */
	if (slen != dlen) {
		sa = mapped(sa, slen, ms);
		da = mapped(da, dlen, md);
		slen = dlen = 16;
	}
	CHECK(inet_ntop(slen == 4 ? AF_INET : AF_INET6, sa, s, sizeof(s)) &&
	    inet_ntop(slen == 4 ? AF_INET : AF_INET6, da, d, sizeof(d)),
	    "inet_ntop");

	n = (size_t)snprintf((char *)buf, sizeof(buf), "PROXY %s %s %s %u %u"
	    "\r\n", slen == 4 ? "TCP4" : "TCP6", s, d, sport, dport);
	CHECK(n <= PROXY_V1_MAX, "v1 of %zu bytes", n);
	r = proxy_parse(buf, n, &h2);
	CHECK(r == (int)n, "v1 %.*s: %d (%s)", (int)n - 2, buf, r,
	    h2.reason ? h2.reason : "-");
	same(h, &h2, "v1");

	memcpy(buf, v2sig, 12);
	buf[12] = 0x21;
	buf[13] = slen == 4 ? 0x11 : 0x21;
	buf[14] = 0;
	buf[15] = (unsigned char)(2 * slen + 4);
	memcpy(buf + 16, sa, slen);
	memcpy(buf + 16 + slen, da, slen);
	buf[16 + 2 * slen] = (unsigned char)(sport >> 8);
	buf[17 + 2 * slen] = (unsigned char)sport;
	buf[18 + 2 * slen] = (unsigned char)(dport >> 8);
	buf[19 + 2 * slen] = (unsigned char)dport;
	n = 20 + 2 * slen;
	r = proxy_parse(buf, n, &h2);
	CHECK(r == (int)n, "v2: %d (%s)", r, h2.reason ? h2.reason : "-");
	same(h, &h2, "v2");
}

/* The result for buf[0..len), with its basic promises checked. */
static int
parse(const uint8_t *data, size_t len, struct proxy_hdr *h)
{
	int	r;

	r = proxy_parse(data, len, h);
	CHECK(r >= -1 && r <= (int)len && r <= PROXY_HDR_MAX,
	    "%d for %zu bytes", r, len);
	CHECK(r != -1 || h->reason != NULL, "no reason");
	CHECK(r != 0 || len < PROXY_HDR_MAX, "needs more after %zu", len);
	CHECK(r <= 0 || h->version == 2 || r <= PROXY_V1_MAX,
	    "v1 of %d bytes", r);
	CHECK(r != 0 || len < PROXY_V1_MAX || data[0] != 'P',
	    "v1 needs more after %zu", len);
	CHECK(r <= 0 || h->local || h->addr[0] != '\0', "no address");
	return r;
}

/* Prefixes at deterministic pseudo-random lengths, and at the edges. */
static void
check_prefixes(const uint8_t *data, size_t size, int full,
    const char *reason)
{
	struct proxy_hdr	h;
	struct chunker		ch;
	size_t			k, step;
	int			r, seen = 0;

	if (full > 0) {
		CHECK(parse(data, (size_t)full, &h) == full, "at its length");
		CHECK(parse(data, (size_t)full - 1, &h) == 0, "one byte short");
	}
	chunker_init(&ch, data, size);
	for (k = 0; k < size; k += step) {
		r = parse(data, k, &h);
		if (full > 0)
			CHECK(r == (k < (size_t)full ? 0 : full),
			    "prefix %zu: %d, whole: %d", k, r, full);
		else if (full == 0)
			CHECK(r == 0, "prefix %zu: %d, whole: 0", k, r);
		else if (r == -1) {
			CHECK(strcmp(h.reason, reason) == 0, "prefix %zu: %s, "
			    "whole: %s", k, h.reason, reason);
			seen = 1;
		} else
			CHECK(r == 0 && !seen, "prefix %zu: %d after -1", k, r);
		step = chunker_next(&ch, size - k, 64);
	}
}

static void
flip(unsigned char *a, unsigned bit)
{
	a[bit / 8] ^= (unsigned char)(0x80 >> (bit % 8));
}

/* The input as one network of proxy-trusted. */
static void
check_net(const uint8_t *data, size_t size)
{
	struct proxy_net	 n, n2;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	const char		*why;
	char			 s[80], f[80];
	unsigned char		*a;
	unsigned		 bits;

	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (proxy_net_parse(s, &n, &why) == -1) {
		CHECK(why != NULL, "no reason");
		return;
	}
	bits = n.family == AF_INET ? 32 : 128;
	CHECK(n.prefix <= bits, "prefix %u", n.prefix);
	proxy_net_format(&n, f, sizeof(f));
	CHECK(proxy_net_parse(f, &n2, &why) == 0 &&
	    memcmp(&n, &n2, sizeof(n)) == 0, "%s formatted as %s", s, f);
	memset(&ss, 0, sizeof(ss));
	if (n.family == AF_INET) {
		ss.ss_family = AF_INET;
		memcpy(&sin->sin_addr, n.addr, 4);
	} else {
		ss.ss_family = AF_INET6;
		memcpy(&sin6->sin6_addr, n.addr, 16);
	}
	CHECK(proxy_trusted(&n, 1, &ss) == 1, "%s does not hold itself", f);
	a = n.family == AF_INET ? (unsigned char *)&sin->sin_addr :
	    sin6->sin6_addr.s6_addr;
	if (n.prefix > 0) {
		flip(a, n.prefix - 1);
		CHECK(proxy_trusted(&n, 1, &ss) == 0, "%s holds an outsider",
		    f);
		flip(a, n.prefix - 1);
	}
	if (n.prefix < bits) {
		flip(a, bits - 1);
		CHECK(proxy_trusted(&n, 1, &ss) == 1, "%s: not all its hosts",
		    f);
	}
	if (n.family == AF_INET) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = AF_INET6;
		sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(sin6->sin6_addr.s6_addr + 12, n.addr, 4);
		CHECK(proxy_trusted(&n, 1, &ss) == 1, "%s: not its mapped form",
		    f);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr	h;
	char			reason[128];
	int			r;

	r = parse(data, size, &h);
	snprintf(reason, sizeof(reason), "%s", r == -1 ? h.reason : "");
	if (r > 0 && !h.local)
		reserialise(&h);
	check_prefixes(data, size, r, reason);
	check_net(data, size);
	return 0;
}
