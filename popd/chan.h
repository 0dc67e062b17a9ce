/*
 * chan.h: the channel between popd's two processes, a socketpair made
 * before the configuration is read (priv.c: the privileged side, net.c:
 * the pre-authentication side; sandbox.h says what each may do).
 *
 * Framing: a message is a 4-byte type and a 4-byte length (host order:
 * both ends are one binary), then that many bytes of fields.  A field is
 * a u32, a u64, or a string: a u32 length and its bytes, no NUL.  Every
 * length is checked against the cap the reader gives (CHAN_MSG_MAX for a
 * whole message, the field's own below); a message that is too long,
 * short, or has bytes left over is an error, as is end of file: the
 * reader ends its side.  Nothing here trusts the other side's lengths.
 *
 * The contract, in order:
 *
 *   priv -> net	CHAN_INIT, once, first: u32 plaintext-auth,
 *			u32 idle-timeout; u32 1 when the peer is in
 *			proxy-trusted (its PROXY header must come first),
 *			else 0; u32 1 when STLS is to be offered (a plain
 *			net; TLS is configured), else 0; then the TLS
 *			material read by priv (net may open no file), sent
 *			only to a net that starts TLS (NET_TLS, NET_STLS):
 *			str certificate chain PEM, str key PEM, str OCSP
 *			staple (DER), each at most POPD_PEM_MAX, empty when
 *			not sent, not configured or unreadable; then what a
 *			NET_STLS net takes over from the plain one
 *			(CHAN_STLS; zeros otherwise): u64 bytes in, u64
 *			bytes out, u64 the end of the pre-authentication
 *			time (an iow_now() time; 0: from now), u32 commands
 *			before login, u32 bad commands.  No message
 *			at all (end of file): the configuration is bad, priv
 *			has answered the client; net exits.
 *   net -> priv	CHAN_PEER, at most once, before any other: str the
 *			client's address from a PROXY header (at most
 *			INET6_ADDRSTRLEN), u32 1 when it is a loopback one.
 *			priv logs it from then on, as the client's.
 *   net -> priv	CHAN_AUTH: str user, str password, each at most
 *			POP3_LINE_MAX; for PASS and AUTH PLAIN, after net
 *			has written every reply before it.
 *   priv -> net	CHAN_ANSWER: u32 LOGIN_* (session.h), str response
 *			code and str text (for LOGIN_REFUSED, the maildrop's
 *			[IN-USE] or [SYS/TEMP]: at most CHAN_TEXT_MAX each).
 *			After LOGIN_CLOSE priv takes no further CHAN_AUTH.
 *   net -> priv	CHAN_STLS, from a plain net (NET_PLAIN) that offered
 *			STLS, when the client sent it alone (nothing after
 *			it buffered: that is refused, CVE-2011-0411) and
 *			every earlier reply is out: u64 bytes in, u64 bytes
 *			out, u64 the end of the pre-authentication time, u32
 *			commands before login, u32 bad commands.  net then
 *			exits without a reply: a plain net has no libtls,
 *			and its sandbox forbids loading it.  priv forks a
 *			new net (NET_STLS) on a new channel, which loads
 *			libtls and answers STLS: +OK and the handshake, or
 *			-ERR and the session goes on in plaintext.  The USER
 *			given before is forgotten (RFC 2595 section 4); the
 *			failed logins, counted by priv, are not.  Once per
 *			connection.
 *   net -> priv	after LOGIN_OK: CHAN_HANDOVER: u32 tls, u64 bytes in,
 *			u64 bytes out, str the client's bytes already read
 *			after the login line (at most IO_RBUF_SIZE).  Then,
 *			plain: net exits and priv serves fds 0/1; TLS: the
 *			channel carries the session's plaintext both ways
 *			(net relays it through the TLS connection) until
 *			priv closes it.
 *   net -> priv	or, when the session ends before a login: CHAN_END:
 *			u32 tls, u64 bytes in, u64 bytes out, str why it
 *			ended, str the user named (at most POP3_LINE_MAX),
 *			str why the TLS handshake or the PROXY header
 *			failed (empty: neither; at most 127), u32 1 for a
 *			session line (0: none began, the --tls handshake or
 *			the PROXY header failed): priv writes
 *			the log lines, as the main process, which a
 *			supervisor's journal can still tell apart.
 *   net -> priv	CHAN_LOG, at any time before CHAN_HANDOVER or
 *			CHAN_END: u32 syslog priority, str a line of net's
 *			own log (at most CHAN_LOG_MAX).  net has no other
 *			way to log: priv writes the line after "preauth: ",
 *			at most POPD_PREAUTH_LOG_LINES of them.
 */
#ifndef POPD_CHAN_H
#define POPD_CHAN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "params.h"

enum chan_type {
	CHAN_INIT = 1,
	CHAN_AUTH,
	CHAN_ANSWER,
	CHAN_HANDOVER,
	CHAN_END,
	CHAN_PEER,
	CHAN_STLS,
	CHAN_LOG
};

/*
 * What a pre-authentication process starts with: a plain connection
 * (which may offer STLS), implicit TLS (--tls: the handshake first), or
 * the rest of a plain one whose client sent STLS (the reply first).  Only
 * the last two load libtls.
 */
enum net_mode { NET_PLAIN, NET_TLS, NET_STLS };

/* Longest response code or reply text in CHAN_ANSWER, and end reason. */
#define CHAN_TEXT_MAX	128
/* Longest CHAN_LOG line; a longer one is cut (log.c writes lines of up to
 * 1023 bytes before escaping, plus a strerror). */
#define CHAN_LOG_MAX	1024
/* Longest message: CHAN_INIT with three PEMs is the largest. */
#define CHAN_MSG_MAX	(3 * (POPD_PEM_MAX + 4) + 96)

/* A message being built or read: a buffer and a cursor. */
struct chanmsg {
	unsigned char	*buf;
	size_t		 cap, len, pos;
	int		 bad;		/* a field did not fit or was short */
};

void	chan_msg_init(struct chanmsg *, void *buf, size_t cap);
void	chan_put_u32(struct chanmsg *, uint32_t);
void	chan_put_u64(struct chanmsg *, uint64_t);
void	chan_put_str(struct chanmsg *, const void *, size_t);
/* Each sets m->bad when the field is short or a string over max. */
uint32_t chan_get_u32(struct chanmsg *);
uint64_t chan_get_u64(struct chanmsg *);
/* A string of at most max bytes, in place (*len its length), or NULL
 * with m->bad set. */
const void *chan_get_bytes(struct chanmsg *, size_t max, size_t *len);
/* Copies a string of at most max bytes into dst (cap >= max + 1),
 * NUL-terminated; its length, or 0 with m->bad set. */
size_t	chan_get_str(struct chanmsg *, char *dst, size_t max);
/* 0 when every field was read whole and nothing is left over, else -1. */
int	chan_msg_done(const struct chanmsg *);

/* Sends m (type and length first).  0, or -1 with errno. */
int	chan_send(int fd, uint32_t type, const struct chanmsg *m);
/*
 * Reads one message into m (whose cap bounds it), waiting until deadline
 * (an iow_now() time; 0: none).  Its type, or -1: end of file (errno 0),
 * too long (EMSGSIZE), deadline (ETIMEDOUT), or a read error.
 */
int	chan_recv(int fd, struct chanmsg *m, long long deadline);

/* Writes all of buf to fd (which may be non-blocking).  0 or -1. */
int	chan_write_all(int fd, const void *buf, size_t len);

/*
 * The two ends, forked by main.c once the connection's fds are set up and
 * before the configuration is read.  Each returns (or exits with) popd's
 * exit code.
 */
/* priv.c: the parent.  Reads path, answers net, then runs the session.
 * mode is net's: NET_PLAIN or NET_TLS. */
int	priv_main(int chan, pid_t net, const char *path, const char *peer,
	    int loopback, enum net_mode mode, int verbose);
/* net.c: the child.  Never returns. */
void	net_main(int chan, const char *peer, int loopback, enum net_mode mode,
	    int verbose) __attribute__((noreturn));

#endif
