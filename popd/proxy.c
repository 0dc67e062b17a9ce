/*
 * proxy.c: the PROXY protocol header (proxy.h), parsed by a pure function
 * that is told only the bytes that have come, and read from the socket so
 * that not one byte of the client's own is taken.
 *
 * Why peek: popd --tls hands the socket to libtls, which reads the
 * ClientHello from the fd itself; a byte of it read into io's buffer would
 * be lost.  So the reader peeks, and reads only what the parser has placed
 * inside the header: a prefix that needs more bytes lies wholly inside it,
 * so it is taken at once and the next peek waits for new bytes instead of
 * seeing the same ones again.  A balancer sends the header in one segment:
 * one peek and one read.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>

#include "iowait.h"
#include "proxy.h"

/* Section 2.2: "\r\n\r\n\0\r\nQUIT\n" (a server without PROXY quits). */
static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* ::ffff:0:0/96, IPv4-mapped IPv6 addresses. */
static const unsigned char mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1
#define V2_AF_UNSPEC	0x0
#define V2_AF_INET	0x1
#define V2_AF_INET6	0x2
#define V2_AF_UNIX	0x3
#define V2_STREAM	0x1
#define V2_DGRAM	0x2

static int
fail(struct proxy_hdr *out, const char *why)
{
	out->reason = why;
	return -1;
}

static size_t
min(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* a (4 or 16 octets) as a sockaddr; an IPv4-mapped one as IPv4. */
static void
set_addr(struct sockaddr_storage *ss, int family, const unsigned char *a,
    unsigned port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	/* memcmp: a may be anywhere in a header, unaligned. */
	if (family == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		a += 12;
	}
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		sin->sin_port = htons((uint16_t)port);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		sin6->sin6_port = htons((uint16_t)port);
	}
}

/* out->src printable, and whether it is this host. */
static void
describe(struct proxy_hdr *out)
{
	const struct sockaddr_in	*sin = (const void *)&out->src;
	const struct sockaddr_in6	*sin6 = (const void *)&out->src;

	if (out->src.ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, out->addr, sizeof(out->addr));
		out->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, out->addr,
		    sizeof(out->addr));
		out->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
}

/* A v1 port: 0..65535, decimal, no sign, no leading zero. */
static int
v1_port(const char *s, unsigned *port)
{
	size_t		 n = strlen(s);
	unsigned	 v = 0;

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n ||
	    (n > 1 && s[0] == '0'))
		return -1;
	for (; *s != '\0'; s++)
		v = v * 10 + (unsigned)(*s - '0');
	if (v > 65535)
		return -1;
	*port = v;
	return 0;
}

/* The fields of a whole v1 line (CRLF removed): 0 or -1. */
static int
v1_fields(char *line, struct proxy_hdr *out)
{
	unsigned char	 src[16], dst[16];
	char		*f[6], *p = line;
	unsigned	 sport, dport;
	size_t		 nf;
	int		 family;

	if (strncmp(line, "PROXY UNKNOWN", 13) == 0 &&
	    (line[13] == '\0' || line[13] == ' ')) {
		/* Section 2.1: what follows UNKNOWN is to be ignored. */
		out->local = 1;
		return 0;
	}
	for (nf = 0; p != NULL && nf < 6; nf++) {
		f[nf] = p;
		if ((p = strchr(p, ' ')) != NULL)
			*p++ = '\0';
		if (*f[nf] == '\0')
			return fail(out, "v1: empty field (a space too many)");
	}
	if (nf != 6 || p != NULL)
		return fail(out, "v1: not 6 fields");
	if (strcmp(f[1], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		family = AF_INET6;
	else
		return fail(out, "v1: protocol not TCP4, TCP6 or UNKNOWN");
	if (inet_pton(family, f[2], src) != 1)
		return fail(out, "v1: bad source address");
	if (inet_pton(family, f[3], dst) != 1)
		return fail(out, "v1: bad destination address");
	if (v1_port(f[4], &sport) == -1)
		return fail(out, "v1: bad source port");
	if (v1_port(f[5], &dport) == -1)
		return fail(out, "v1: bad destination port");
	set_addr(&out->src, family, src, sport);
	set_addr(&out->dst, family, dst, dport);
	describe(out);
	return 0;
}

/*
 * v1: printable ASCII up to the first CRLF, within PROXY_V1_MAX octets.
 * Each byte is judged as it comes, so garbage fails before the line ends.
 */
static int
parse_v1(const unsigned char *buf, size_t len, struct proxy_hdr *out)
{
	char	 line[PROXY_V1_MAX + 1];
	size_t	 n = min(len, PROXY_V1_MAX), i;

	out->version = 1;
	if (memcmp(buf, "PROXY ", min(n, 6)) != 0)
		return fail(out, "not a PROXY header");
	for (i = 0; i < n; i++) {
		if (buf[i] == '\r') {
			if (i + 1 == n)
				break;
			if (buf[i + 1] != '\n')
				return fail(out, "v1: CR without LF");
			memcpy(line, buf, i);
			line[i] = '\0';
			return v1_fields(line, out) == -1 ? -1 : (int)i + 2;
		}
		if (buf[i] == '\n')
			return fail(out, "v1: LF without CR");
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return fail(out, "v1: control or non-ASCII byte");
	}
	if (n == PROXY_V1_MAX)
		return fail(out, "v1: no CRLF within 107 bytes");
	return 0;
}

/* Octets of the address block of a v2 family. */
static size_t
v2_addrlen(unsigned fam)
{
	switch (fam) {
	case V2_AF_INET:
		return 12;
	case V2_AF_INET6:
		return 36;
	case V2_AF_UNIX:
		return 216;
	default:
		return 0;
	}
}

/* TLVs (type, 16-bit length, value) must fill buf[off..end) exactly. */
static int
v2_tlvs(const unsigned char *buf, size_t off, size_t end,
    struct proxy_hdr *out)
{
	size_t	vlen;

	while (off < end) {
		if (end - off < 3)
			return fail(out, "v2: truncated TLV");
		vlen = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (vlen > end - off - 3)
			return fail(out, "v2: TLV longer than the header");
		off += 3 + vlen;
	}
	return 0;
}

/* The addresses of a whole v2 PROXY header (16 + dlen octets). */
static int
v2_addresses(const unsigned char *buf, size_t dlen, struct proxy_hdr *out)
{
	unsigned	 fam = buf[13] >> 4, tr = buf[13] & 0xf;
	const unsigned char *a = buf + 16;
	size_t		 alen = v2_addrlen(fam), al;

	if (fam == V2_AF_UNSPEC) {
		/* The balancer knows nothing of the client: the spec says to
		 * ignore the block, whose layout is not defined. */
		out->local = 1;
		return 0;
	}
	if (v2_tlvs(buf, 16 + alen, 16 + dlen, out) == -1)
		return -1;
	if (tr != V2_STREAM || fam == V2_AF_UNIX) {
		out->local = 1;
		return 0;
	}
	al = fam == V2_AF_INET ? 4 : 16;
	set_addr(&out->src, fam == V2_AF_INET ? AF_INET : AF_INET6, a,
	    (unsigned)a[2 * al] << 8 | a[2 * al + 1]);
	set_addr(&out->dst, fam == V2_AF_INET ? AF_INET : AF_INET6, a + al,
	    (unsigned)a[2 * al + 2] << 8 | a[2 * al + 3]);
	describe(out);
	return 0;
}

/*
 * v2: the signature, then version/command, family/transport and length,
 * each checked as soon as its octet has come.
 */
static int
parse_v2(const unsigned char *buf, size_t len, struct proxy_hdr *out)
{
	unsigned	 cmd, fam, tr;
	size_t		 dlen;

	out->version = 2;
	if (memcmp(buf, v2sig, min(len, sizeof(v2sig))) != 0)
		return fail(out, "not a PROXY header");
	if (len < 13)
		return 0;
	if (buf[12] >> 4 != 2)
		return fail(out, "v2: version not 2");
	if ((cmd = buf[12] & 0xf) > V2_CMD_PROXY)
		return fail(out, "v2: command not LOCAL or PROXY");
	if (len < 14)
		return 0;
	fam = buf[13] >> 4;
	tr = buf[13] & 0xf;
	/* LOCAL: "the family ... is ignored"; PROXY: only defined values. */
	if (cmd == V2_CMD_PROXY && (fam > V2_AF_UNIX || tr > V2_DGRAM))
		return fail(out, "v2: unknown family or transport");
	if (len < 16)
		return 0;
	dlen = (size_t)buf[14] << 8 | buf[15];
	if (dlen > PROXY_V2_LEN_MAX)
		return fail(out, "v2: length over the limit");
	if (cmd == V2_CMD_PROXY && dlen < v2_addrlen(fam))
		return fail(out, "v2: length too short for the addresses");
	if (len < 16 + dlen)
		return 0;
	if (cmd == V2_CMD_LOCAL)
		out->local = 1;
	else if (v2_addresses(buf, dlen, out) == -1)
		return -1;
	return (int)(16 + dlen);
}

int
proxy_parse(const unsigned char *buf, size_t len, struct proxy_hdr *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	if (buf[0] == 'P')
		return parse_v1(buf, len, out);
	if (buf[0] == '\r')
		return parse_v2(buf, len, out);
	return fail(out, "not a PROXY header");
}

/* The first prefix bits of a and b are the same. */
static int
prefix_match(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	size_t	 whole = prefix / 8;
	unsigned rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	return rest == 0 ||
	    ((a[whole] ^ b[whole]) & (0xff00 >> rest) & 0xff) == 0;
}

int
proxy_trusted(const struct proxy_net *nets, size_t n,
    const struct sockaddr_storage *peer)
{
	const struct sockaddr_in	*sin = (const void *)peer;
	const struct sockaddr_in6	*sin6 = (const void *)peer;
	const unsigned char		*a;
	int				 family = AF_INET;
	size_t				 i;

	if (peer->ss_family == AF_INET)
		a = (const unsigned char *)&sin->sin_addr;
	else if (peer->ss_family != AF_INET6)
		return 0;
	else if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		a = sin6->sin6_addr.s6_addr + 12;
	else {
		a = sin6->sin6_addr.s6_addr;
		family = AF_INET6;
	}
	for (i = 0; i < n; i++)
		if (nets[i].family == family &&
		    prefix_match(a, nets[i].addr, nets[i].prefix))
			return 1;
	return 0;
}

/* Takes n bytes that a peek has shown are there.  0 or -1. */
static int
take(int fd, unsigned char *p, size_t n)
{
	ssize_t	r;

	while (n > 0) {
		if ((r = recv(fd, p, n, MSG_DONTWAIT)) == -1 && errno == EINTR)
			continue;
		if (r == 0)
			errno = ECONNRESET;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* io->error and out->reason for a failed read; returns -1. */
static int
read_failed(struct io *io, struct proxy_hdr *out, int error, size_t have)
{
	io->error = error;
	if (error == ETIMEDOUT || error == ETIME) {
		io->error = ETIMEDOUT;
		out->reason = have ? "PROXY header not complete in time" :
		    "no PROXY header in time";
	} else if (error == ECONNRESET)
		out->reason = have ? "connection closed inside the PROXY "
		    "header" : "connection closed before a PROXY header";
	else if (error == ENOTSOCK)
		out->reason = "not a socket";
	else
		out->reason = strerror(error);
	return -1;
}

int
proxy_read(struct io *io, struct proxy_hdr *out, long long deadline)
{
	unsigned char	 buf[PROXY_HDR_MAX];
	struct iowait	 w = { io->rfd, io->wfd, io->timeout_ms, deadline };
	long long	 limit = iow_now() + PROXY_TIMEOUT * 1000LL;
	size_t		 have = 0, n;
	ssize_t		 got;
	int		 r;

	memset(out, 0, sizeof(*out));
	if (io->tls != NULL || io_pending(io) != 0)
		return read_failed(io, out, EINVAL, 0);
	if (deadline == 0 || deadline > limit)
		w.deadline = limit;
	for (;;) {
		got = recv(io->rfd, buf + have, sizeof(buf) - have,
		    MSG_PEEK | MSG_DONTWAIT);
		if (got == 0) {
			io->eof = 1;
			return read_failed(io, out, ECONNRESET, have);
		}
		if (got < 0) {
			if (iow_retry(&w, 0, got, POLLIN) == -1)
				return read_failed(io, out, errno, have);
			continue;
		}
		if ((r = proxy_parse(buf, have + (size_t)got, out)) == -1) {
			io->error = EPROTO;
			return -1;
		}
		/* A prefix that needs more is all header: take it whole. */
		n = r > 0 ? (size_t)r - have : (size_t)got;
		if (take(io->rfd, buf + have, n) == -1)
			return read_failed(io, out, errno, have);
		have += n;
		io->rbytes += n;
		if (r > 0)
			return 0;
	}
}
