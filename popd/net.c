/*
 * net.c: the pre-authentication process.  It is forked before the
 * configuration is read, so no password hash has ever been in its memory;
 * it gets the few settings it needs and the TLS key from the privileged
 * process (chan.h), confines itself (sandbox_net: no file, no socket, no
 * process), then runs the AUTHORIZATION state: greeting, TLS, STLS, CAPA,
 * USER, AUTH PLAIN decoding, the pre-authentication deadlines and caps.
 * A password goes to the privileged process, which checks it and answers.
 *
 * After a login: on a plain connection this process exits and the
 * privileged one serves fds 0/1; under TLS, whose state cannot move, it
 * relays the session's plaintext between the TLS connection and the
 * channel until the privileged process closes it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <tls.h>

#include "chan.h"
#include "conf.h"
#include "iowait.h"
#include "log.h"
#include "proxy.h"
#include "sandbox.h"
#include "session.h"
#include "tlsconf.h"

/* The reply codes the privileged process may send (CHAN_ANSWER). */
static const char *const codes[] = { "IN-USE", "SYS/TEMP", "SYS/PERM" };

/* CHAN_INIT into c (the settings) and a TLS context, when configured. */
static int
init(int chan, struct conf *c, struct tls **ctx, int implicit_tls,
    int *proxy)
{
	static unsigned char	 buf[CHAN_MSG_MAX];
	struct chanmsg		 m;
	struct tls_pem		 p;
	char			 err[256];
	int			 rc = 0;

	chan_msg_init(&m, buf, sizeof(buf));
	if (chan_recv(chan, &m, 0) != CHAN_INIT)
		return -1;	/* priv refused the configuration */
	memset(c, 0, sizeof(*c));
	c->plaintext_auth = chan_get_u32(&m);
	c->idle_timeout = chan_get_u32(&m);
	/* The strings point into buf: libtls copies them. */
	p.cert = (uint8_t *)chan_get_bytes(&m, POPD_PEM_MAX, &p.certlen);
	p.key = (uint8_t *)chan_get_bytes(&m, POPD_PEM_MAX, &p.keylen);
	p.staple = (uint8_t *)chan_get_bytes(&m, POPD_PEM_MAX, &p.staplelen);
	*proxy = chan_get_u32(&m) != 0;
	if (chan_msg_done(&m) == -1 || c->plaintext_auth > PA_ALWAYS) {
		log_warnx("channel: bad INIT message");
		rc = -1;
	} else if (p.certlen > 0 &&
	    (*ctx = tlsconf_server_mem(&p, err, sizeof(err))) == NULL) {
		log_warnx("tls: %s%s", err, implicit_tls ? "" :
		    "; STLS disabled");
		if (implicit_tls)
			rc = -1;
	} else if (p.certlen == 0 && implicit_tls)
		rc = -1;	/* priv said why */
	explicit_bzero(buf, m.len);
	return rc;
}

/*
 * The balancer's PROXY header, before any other byte: the client it names
 * is the one for tls-or-loopback here and for the logs there (CHAN_PEER).
 * 0, or -1 with the reason in s->tls_error.
 */
static int
proxied(struct session *s)
{
	unsigned char		buf[INET6_ADDRSTRLEN + 32];
	struct chanmsg		m;
	struct proxy_hdr	h;

	if (proxy_read(&s->io, &h, iow_now() + PROXY_TIMEOUT * 1000LL) == -1) {
		snprintf(s->tls_error, sizeof(s->tls_error), "%s", h.reason);
		return -1;
	}
	if (h.local)
		return 0;	/* a balancer's own check: its address stays */
	snprintf(s->peer, sizeof(s->peer), "%s", h.addr);
	s->loopback = h.loopback;
	chan_msg_init(&m, buf, sizeof(buf));
	chan_put_str(&m, h.addr, strlen(h.addr));
	chan_put_u32(&m, (uint32_t)h.loopback);
	return chan_send(s->chan, CHAN_PEER, &m);
}

/* The verify hook: asks the privileged process (CHAN_AUTH, CHAN_ANSWER). */
static int
net_verify(struct session *s, const char *user, const char *pass)
{
	unsigned char	 buf[2 * POP3_LINE_MAX + 64];
	char		 code[CHAN_TEXT_MAX + 1], text[CHAN_TEXT_MAX + 1];
	struct chanmsg	 m;
	size_t		 i;
	int		 r;

	/* The replies before this one go out before the privileged
	 * process writes its own. */
	(void)io_flush(&s->io);
	chan_msg_init(&m, buf, sizeof(buf));
	chan_put_str(&m, user, strlen(user));
	chan_put_str(&m, pass, strlen(pass));
	r = chan_send(s->chan, CHAN_AUTH, &m);
	explicit_bzero(buf, sizeof(buf));
	chan_msg_init(&m, buf, sizeof(buf));
	if (r == -1 || chan_recv(s->chan, &m, 0) != CHAN_ANSWER) {
		s->end = "internal error";
		r_err(s, "SYS/TEMP", "Internal error, closing");
		return LOGIN_ABORT;
	}
	r = (int)chan_get_u32(&m);
	chan_get_str(&m, code, CHAN_TEXT_MAX);
	chan_get_str(&m, text, CHAN_TEXT_MAX);
	if (chan_msg_done(&m) == -1 || r < LOGIN_OK || r > LOGIN_REFUSED) {
		s->end = "internal error";
		r_err(s, "SYS/TEMP", "Internal error, closing");
		return LOGIN_ABORT;
	}
	if (r == LOGIN_OK)
		s->state = S_HANDOVER;
	if (r == LOGIN_REFUSED) {
		r_err(s, "SYS/TEMP", "%s", text);
		for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
			if (strcmp(code, codes[i]) == 0)
				s->code = codes[i];
	}
	return r;
}

/* CHAN_HANDOVER or CHAN_END: what the privileged process logs (with
 * the session's line or, session_line 0, only a handshake failure). */
static int
report(struct session *s, uint32_t type, int session_line)
{
	unsigned char	buf[IO_RBUF_SIZE + 2 * POP3_LINE_MAX + 64];
	struct chanmsg	m;
	size_t		n = io_pending(&s->io);
	int		r;

	chan_msg_init(&m, buf, sizeof(buf));
	chan_put_u32(&m, (uint32_t)s->tls);
	chan_put_u64(&m, s->io.rbytes);
	chan_put_u64(&m, s->io.wbytes);
	if (type == CHAN_HANDOVER)
		chan_put_str(&m, s->io.rbuf + s->io.rpos, n);
	else {
		chan_put_str(&m, s->end, strlen(s->end));
		chan_put_str(&m, s->user, strlen(s->user));
		chan_put_str(&m, s->tls_error, strlen(s->tls_error));
		chan_put_u32(&m, (uint32_t)session_line);
	}
	r = chan_send(s->chan, type, &m);
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(s->io.rbuf, sizeof(s->io.rbuf));
	s->io.rpos = s->io.rlen = 0;
	return r;
}

/*
 * The session's plaintext between the TLS connection and the channel,
 * until either ends.  Writes to the client wait as the io does (its
 * timeout); the privileged process keeps the idle timeout of reads.  One
 * direction at a time: a client that pipelines more than the channel's
 * socket buffers hold (hundreds of KB) without reading its replies stalls
 * both ways until a timeout, as it would stall a one-process popd.
 */
static void
relay(struct session *s)
{
	struct io	*io = &s->io;
	unsigned char	 buf[IO_WBUF_SIZE];
	struct pollfd	 pfd[2];
	short		 want = POLLIN;
	ssize_t		 n;

	for (;;) {
		/* What libtls has decrypted already, poll cannot see. */
		while ((n = tls_read(io->tls, buf, sizeof(buf))) > 0) {
			io->rbytes += (size_t)n;
			if (chan_write_all(s->chan, buf, (size_t)n) == -1)
				return;
		}
		if (n != TLS_WANT_POLLIN && n != TLS_WANT_POLLOUT)
			return;		/* the client closed, or failed */
		want = n == TLS_WANT_POLLIN ? POLLIN : POLLOUT;
		pfd[0].fd = want == POLLIN ? io->rfd : io->wfd;
		pfd[0].events = want;
		pfd[1].fd = s->chan;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pfd[1].revents == 0)
			continue;
		if ((n = read(s->chan, buf, sizeof(buf))) == -1 &&
		    (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return;		/* the session is over */
		if (io_write(io, buf, (size_t)n) == -1 || io_flush(io) == -1)
			return;
	}
}

void
net_main(int chan, const char *peer, int loopback, int implicit_tls,
    int verbose)
{
	struct conf	 c;
	struct session	 s;
	struct tls	*ctx = NULL;
	const char	*why = NULL;
	int		 proxy = 0;

	if (init(chan, &c, &ctx, implicit_tls, &proxy) == -1)
		_exit(EX_CONFIG);
	session_init(&s, &c, ctx);
	s.verify = net_verify;
	s.chan = chan;
	s.verbose = verbose;
	s.loopback = loopback;
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	io_init(&s.io, 0, 1, (int)c.idle_timeout * 1000);
	sandbox_net();
	if (proxy && proxied(&s) == -1) {
		s.end = "proxy header refused";
		(void)report(&s, CHAN_END, 0);
		io_close(&s.io);
		_exit(EX_PROTOCOL);
	}
	if (implicit_tls) {
		if (io_start_tls(&s.io, ctx, &why) == -1) {
			/* priv logs why, and no session line (none began). */
			snprintf(s.tls_error, sizeof(s.tls_error), "%s",
			    why != NULL ? why : "unknown error");
			s.end = "tls handshake failed";
			(void)report(&s, CHAN_END, 0);
			io_close(&s.io);
			_exit(EX_PROTOCOL);
		}
		s.tls = 1;
	}
	session_greet(&s);
	session_loop(&s);
	if (s.state == S_HANDOVER) {
		if (report(&s, CHAN_HANDOVER, 1) == 0 && s.tls)
			relay(&s);
	} else {
		io_flush(&s.io);
		(void)report(&s, CHAN_END, 1);
	}
	io_close(&s.io);
	/* _exit: nothing is buffered, and no handler may run here. */
	_exit(0);
}
