/*
 * proxy.h: the PROXY protocol, v1 (text) and v2 (binary), as HAProxy's
 * proxy-protocol.txt defines them: a TCP balancer in front of popd tells
 * it, before the first byte of the client, who the client is.
 *
 * Policy (the caller's): a peer inside proxy-trusted must send a header,
 * and a connection from it without a valid one is refused; any other peer
 * sends none, and a header from it is just a bad POP3 command.  The
 * address from the header is then the one for the logs, fail2ban and
 * plaintext-auth = tls-or-loopback.
 */
#ifndef POPD_PROXY_H
#define POPD_PROXY_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>

#include "conf.h"
#include "io.h"

struct proxy_hdr {
	int			 version;	/* 1 or 2 */
	/*
	 * 1: the header names no client (v1 UNKNOWN; v2 LOCAL, a balancer's
	 * own health check; v2 PROXY over UNSPEC, UNIX or DGRAM): keep the
	 * socket's own address, src and addr are empty.
	 */
	int			 local;
	/* The client and the address it reached: AF_INET or AF_INET6, an
	 * IPv4-mapped IPv6 address (TCP6 ::ffff:a.b.c.d) made AF_INET. */
	struct sockaddr_storage	 src, dst;
	char			 addr[INET6_ADDRSTRLEN];   /* src, printable */
	int			 loopback;	/* src is 127/8 or ::1 */
	const char		*reason;	/* on -1: why, a static phrase */
};

/*
 * 1 when peer's address (AF_INET, or AF_INET6; an IPv4-mapped IPv6 peer
 * is matched as the IPv4 address it is) is in one of the n networks;
 * 0 otherwise, and for any other family (a pipe, a Unix socket).
 */
int	proxy_trusted(const struct proxy_net *nets, size_t n,
	    const struct sockaddr_storage *peer);

/*
 * Parses the header at the start of buf[0..len): a pure function that
 * reads no byte at or past len, so it can be called again as more bytes
 * arrive.  Returns:
 *   >0  a complete, valid header of that many bytes (what follows it,
 *       the client's own bytes, is not looked at);
 *    0  buf is a valid start of a header and more bytes are needed: all
 *       len bytes belong to the header, which is never longer than
 *       PROXY_V1_MAX (v1) or 16 + PROXY_V2_LEN_MAX (v2), so at most
 *       PROXY_HDR_MAX bytes are ever needed;
 *   -1  not a header, or an invalid one (out->reason says why): decided
 *       as soon as the bytes seen show it, and then for every longer buf.
 * v1 is strict: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" with single
 * spaces, inet_pton(3) addresses of the family named, ports 0..65535 in
 * decimal without sign or leading zero; "PROXY UNKNOWN" and anything
 * printable up to the CRLF.  v2: the signature, version 2, command LOCAL
 * or PROXY, a family and transport the spec defines, a length that holds
 * the family's addresses and at most PROXY_V2_LEN_MAX, TLVs that fill the
 * rest exactly (skipped, not interpreted).
 */
int	proxy_parse(const unsigned char *buf, size_t len,
	    struct proxy_hdr *out);

/*
 * Reads the header from io's socket before anything else (no TLS yet, no
 * byte buffered: io_pending() is 0) and consumes exactly its bytes: the
 * client's first line or TLS ClientHello stays in the socket for io or
 * libtls.  It peeks (recv MSG_PEEK) at what has come, parses, and reads
 * only bytes the parser has placed inside the header.  The header must
 * come whole before deadline (an iow_now() time), and within
 * PROXY_TIMEOUT seconds whatever deadline says.
 * Returns 0 with *out set, or -1 with out->reason set and io->error an
 * errno (EPROTO: an invalid header; ETIMEDOUT; ENOTSOCK: io's fd is not a
 * socket; ECONNRESET: the peer closed first).
 */
int	proxy_read(struct io *io, struct proxy_hdr *out, long long deadline);

#endif
