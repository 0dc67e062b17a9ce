/*
 * net.c: the pre-authentication process.  It is forked before the
 * configuration is read, so no password hash has ever been in its memory;
 * it gets the few settings it needs and the TLS key from the privileged
 * process (chan.h), confines itself (sandbox_net: no file, no socket, no
 * process), then runs the AUTHORIZATION state: greeting, TLS, STLS, CAPA,
 * USER, AUTH PLAIN decoding, the pre-authentication deadlines and caps.
 * Only a net that starts TLS (--tls, or the one priv forks when a plain
 * net's client sends STLS) loads libtls, before its sandbox: a plain
 * session never maps libssl or libcrypto.  It has no log of its own: its
 * lines go over the channel (CHAN_LOG) and priv writes them, marked.
 * A password goes to the privileged process, which checks it and answers.
 *
 * After a login: on a plain connection this process exits and the
 * privileged one serves fds 0/1; under TLS, whose state cannot move, it
 * relays the session's plaintext between the TLS connection and the
 * channel until the privileged process closes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "chan.h"
#include "conf.h"
#include "iowait.h"
#include "log.h"
#include "proxy.h"
#include "sandbox.h"
#include "session.h"
#include "tlsconf.h"
#include "tlsload.h"

/* The channel for log lines (CHAN_LOG); -1 once it carries no more
 * messages (after CHAN_HANDOVER or CHAN_END): lines are then dropped. */
static int	logchan = -1;

/* log.h's hook: this process has no syslog socket of its own. */
static void
log_to_priv(void *arg, int pri, const char *line)
{
	unsigned char	buf[CHAN_LOG_MAX + 16];
	struct chanmsg	m;

	(void)arg;
	if (logchan == -1)
		return;
	chan_msg_init(&m, buf, sizeof(buf));
	chan_put_u32(&m, (uint32_t)pri);
	chan_put_str(&m, line, strnlen(line, CHAN_LOG_MAX));
	(void)chan_send(logchan, CHAN_LOG, &m);
}

/*
 * fd 2 may be a log too (the journal under systemd, s6-log under -e): this
 * process writes no line there, and one a client took over must not
 * either.  Not in a sanitizer's build, whose reports go there and which
 * the tests read.
 */
static void
quiet_stderr(void)
{
#ifndef __SANITIZE_ADDRESS__
	int	fd;

	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1) {
		close(STDERR_FILENO);
		return;
	}
	if (fd != STDERR_FILENO) {
		(void)dup2(fd, STDERR_FILENO);
		close(fd);
	}
#endif
}

/* The reply codes the privileged process may send (CHAN_ANSWER). */
static const char *const codes[] = { "IN-USE", "SYS/TEMP", "SYS/PERM" };

/* What CHAN_INIT says besides the settings (chan.h). */
struct netinit {
	int			 proxy;		/* a PROXY header comes first */
	int			 stls;		/* offer STLS */
	const struct tlsfn	*fn;		/* libtls, when loaded */
	struct tls		*ctx;		/* NULL: no TLS */
	unsigned long long	 in, out;	/* a NET_STLS net's carry */
	long long		 deadline;
	uint32_t		 commands, bad;
};

/*
 * CHAN_INIT into c and ni, and for a net that starts TLS, libtls and a
 * server context: here, before the sandbox, as dlopen opens files.  0, or
 * -1: end now (a NET_STLS net without TLS goes on in plaintext instead).
 */
static int
init(int chan, struct conf *c, struct netinit *ni, enum net_mode mode)
{
	static unsigned char	 buf[CHAN_MSG_MAX];
	struct chanmsg		 m;
	struct tls_pem		 p;
	char			 err[256];
	int			 rc = 0;

	memset(ni, 0, sizeof(*ni));
	chan_msg_init(&m, buf, sizeof(buf));
	if (chan_recv(chan, &m, 0) != CHAN_INIT)
		return -1;	/* priv refused the configuration */
	memset(c, 0, sizeof(*c));
	c->plaintext_auth = chan_get_u32(&m);
	c->idle_timeout = chan_get_u32(&m);
	ni->proxy = chan_get_u32(&m) != 0;
	ni->stls = chan_get_u32(&m) != 0;
	/* The strings point into buf: libtls copies them. */
	p.cert = (uint8_t *)chan_get_bytes(&m, POPD_PEM_MAX, &p.certlen);
	p.key = (uint8_t *)chan_get_bytes(&m, POPD_PEM_MAX, &p.keylen);
	p.staple = (uint8_t *)chan_get_bytes(&m, POPD_PEM_MAX, &p.staplelen);
	ni->in = chan_get_u64(&m);
	ni->out = chan_get_u64(&m);
	ni->deadline = (long long)chan_get_u64(&m);
	ni->commands = chan_get_u32(&m);
	ni->bad = chan_get_u32(&m);
	if (chan_msg_done(&m) == -1 || c->plaintext_auth > PA_ALWAYS) {
		log_warnx("channel: bad INIT message");
		rc = -1;
	} else if (mode != NET_PLAIN && p.certlen > 0) {
		if ((ni->fn = tlsload(err, sizeof(err))) == NULL ||
		    (ni->ctx = tlsconf_server_mem(ni->fn, &p, err,
		    sizeof(err))) == NULL)
			log_warnx("tls: %s%s", err, mode == NET_STLS ?
			    "; STLS refused" : "");
	}
	/* Without a context --tls cannot go on (priv said why when it
	 * sent no certificate); STLS can, in plaintext. */
	if (mode == NET_TLS && ni->ctx == NULL)
		rc = -1;
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

	logchan = -1;		/* the last message; then maybe plaintext */
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
		while ((n = io->tlsfn->read(io->tls, buf, sizeof(buf))) > 0) {
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

/* CHAN_STLS: the client asked for TLS, which a new net answers. */
static int
hand_stls(struct session *s)
{
	unsigned char	buf[64];
	struct chanmsg	m;

	chan_msg_init(&m, buf, sizeof(buf));
	chan_put_u64(&m, s->io.rbytes);
	chan_put_u64(&m, s->io.wbytes);
	chan_put_u64(&m, (uint64_t)s->preauth_deadline);
	chan_put_u32(&m, s->preauth_commands);
	chan_put_u32(&m, (uint32_t)s->bad_commands);
	return chan_send(s->chan, CHAN_STLS, &m);
}

/* The handshake, under --tls or after STLS.  0, or -1 with why recorded. */
static int
start_tls(struct session *s, const struct netinit *ni)
{
	const char	*why = NULL;

	if (io_start_tls(&s->io, ni->fn, ni->ctx, &why) == -1) {
		snprintf(s->tls_error, sizeof(s->tls_error), "%s",
		    why != NULL ? why : "unknown error");
		s->end = "tls handshake failed";
		return -1;
	}
	s->tls = 1;
	return 0;
}

/*
 * The STLS reply, for the plain net that could not give it.  0: go on
 * (under TLS, or in plaintext when TLS cannot be had), -1: the handshake
 * failed and the session is over.
 */
static int
answer_stls(struct session *s, const struct netinit *ni)
{
	if (ni->ctx == NULL) {
		io_puts(&s->io, "-ERR STLS not available\r\n");
		return 0;
	}
	if (io_puts(&s->io, "+OK Begin TLS negotiation\r\n") == -1 ||
	    io_flush(&s->io) == -1) {
		s->end = "write error";
		return -1;
	}
	return start_tls(s, ni);
}

void
net_main(int chan, const char *peer, int loopback, enum net_mode mode,
    int verbose)
{
	struct conf	 c;
	struct session	 s;
	struct netinit	 ni;

	logchan = chan;
	log_init_fn(log_to_priv, NULL);
	quiet_stderr();
	if (init(chan, &c, &ni, mode) == -1)
		_exit(EX_CONFIG);
	session_init(&s, &c);
	s.verify = net_verify;
	s.chan = chan;
	s.verbose = verbose;
	s.loopback = loopback;
	s.stls = mode == NET_PLAIN && ni.stls;
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	io_init(&s.io, 0, 1, (int)c.idle_timeout * 1000);
	if (mode == NET_STLS) {
		/* The same session: its counts and deadline go on. */
		s.io.rbytes = ni.in;
		s.io.wbytes = ni.out;
		if (ni.deadline != 0 && ni.deadline < s.preauth_deadline)
			s.preauth_deadline = ni.deadline;
		s.preauth_commands = ni.commands;
		s.bad_commands = (int)ni.bad;
	}
	sandbox_net();
	if (ni.proxy && proxied(&s) == -1) {
		s.end = "proxy header refused";
		(void)report(&s, CHAN_END, 0);
		io_close(&s.io);
		_exit(EX_PROTOCOL);
	}
	if (mode == NET_TLS && start_tls(&s, &ni) == -1) {
		/* priv logs why, and no session line (none began). */
		(void)report(&s, CHAN_END, 0);
		io_close(&s.io);
		_exit(EX_PROTOCOL);
	}
	if (mode != NET_STLS)
		session_greet(&s);
	if (mode != NET_STLS || answer_stls(&s, &ni) == 0)
		session_loop(&s);
	else
		s.state = S_DONE;
	if (s.state == S_STLS) {
		/* Every reply before STLS goes out before the new net's. */
		if (io_flush(&s.io) == 0) {
			(void)hand_stls(&s);
			_exit(0);
		}
		s.end = "write error";
	}
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
