/*
 * priv.c: the privileged process, popd's first one.  It reads the
 * configuration (every user's password hash) and the TLS files, sends the
 * pre-authentication process only what it needs (chan.h), then checks
 * the logins it forwards: passwd_check, the fail2ban line, the delay, the
 * count of failures, the maildrop opened and locked.  After a login it
 * wipes the hashes, confines itself to the one maildrop (sandbox_session)
 * and runs the TRANSACTION state: on fds 0/1, or over the channel when
 * the pre-authentication process relays TLS.  It writes the session's one
 * log line, and ends after the pre-authentication process, so that a
 * supervisor sees the connection end when the last byte has gone.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

#include "chan.h"
#include "confload.h"
#include "iowait.h"
#include "log.h"
#include "proxy.h"
#include "sandbox.h"
#include "session.h"
#include "tlsconf.h"

/* The end reasons net may report (session.c, auth.c, net.c): what it
 * says goes into the log only when it is one of these. */
static const char *const ends[] = {
	"eof", "read error", "write error", "login timeout", "idle timeout",
	"too many bad commands", "too many commands before login", "quit",
	"too many auth failures", "data after STLS", "tls handshake failed",
	"internal error", "proxy header refused",
};

static void
err_syslog(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	if (line > 0)
		log_warnx("%s:%d: %s", file, line, msg);
	else
		log_warnx("%s: %s", file, msg);
}

/* Waits for net; its exit code, or EX_SOFTWARE when it was killed. */
static int
reap(pid_t net, const char *peer)
{
	int	status;

	while (waitpid(net, &status, 0) == -1)
		if (errno != EINTR)
			return EX_SOFTWARE;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_warnx("pre-authentication process killed by signal %d addr=%s",
	    WTERMSIG(status), peer);
	return EX_SOFTWARE;
}

/* 1 when the peer is a balancer in proxy-trusted: a PROXY header first. */
static int
behind_proxy(const struct conf *c)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	return c->nproxy_trusted > 0 &&
	    getpeername(0, (struct sockaddr *)&ss, &sl) == 0 &&
	    proxy_trusted(c->proxy_trusted, c->nproxy_trusted, &ss);
}

/* What a NET_STLS net takes over from the plain one (chan.h CHAN_STLS). */
struct carry {
	uint64_t	in, out, deadline;
	uint32_t	commands, bad;
};

/*
 * Whether to offer STLS: tls-cert and tls-key set and readable.  The
 * files are read only when a client asks (a plain session opens none of
 * them); two access checks here keep a missing or unreadable file from
 * being offered and then refused, and put it in the log.
 */
static int
stls_ready(const struct conf *c)
{
	const char	*f[2] = { c->tls_cert, c->tls_key };
	size_t		 i;

	if (f[0] == NULL || f[1] == NULL)
		return 0;
	for (i = 0; i < 2; i++)
		if (faccessat(AT_FDCWD, f[i], R_OK, AT_EACCESS) == -1) {
			log_warnx("tls: %s: %s; STLS not offered", f[i],
			    strerror(errno));
			return 0;
		}
	return 1;
}

/* CHAN_INIT: the settings net needs; TLS material only to a net that
 * starts TLS.  0 or -1. */
static int
send_init(int chan, const struct conf *c, enum net_mode mode,
    const struct carry *k)
{
	static unsigned char	 buf[CHAN_MSG_MAX];
	struct chanmsg		 m;
	struct tls_pem		 p = { NULL, NULL, NULL, 0, 0, 0 };
	char			 err[256];
	int			 r;

	/* Read here, as net can open no file.  Before the first byte. */
	if (mode != NET_PLAIN && tlsconf_read(c, &p, err, sizeof(err)) == -1) {
		log_warnx("tls: %s%s", err, mode == NET_STLS ?
		    "; STLS refused" : "");
		if (mode == NET_TLS)
			return -1;
	}
	chan_msg_init(&m, buf, sizeof(buf));
	chan_put_u32(&m, (uint32_t)c->plaintext_auth);
	chan_put_u32(&m, c->idle_timeout);
	chan_put_u32(&m, (uint32_t)(mode != NET_STLS && behind_proxy(c)));
	chan_put_u32(&m, (uint32_t)(mode == NET_PLAIN && stls_ready(c)));
	chan_put_str(&m, p.cert, p.certlen);
	chan_put_str(&m, p.key, p.keylen);
	chan_put_str(&m, p.staple, p.staplelen);
	chan_put_u64(&m, k->in);
	chan_put_u64(&m, k->out);
	chan_put_u64(&m, k->deadline);
	chan_put_u32(&m, k->commands);
	chan_put_u32(&m, k->bad);
	r = chan_send(chan, CHAN_INIT, &m);
	explicit_bzero(buf, m.len);
	tlsconf_pem_free(&p);
	return r;
}

/* CHAN_AUTH: checks the login, answers.  The LOGIN_* result, or -1. */
static int
serve_auth(struct session *s, struct chanmsg *m)
{
	char		 user[POP3_LINE_MAX + 1], pass[POP3_LINE_MAX + 1];
	unsigned char	 abuf[2 * CHAN_TEXT_MAX + 64];
	struct chanmsg	 a;
	int		 r = -1;

	chan_get_str(m, user, POP3_LINE_MAX);
	chan_get_str(m, pass, POP3_LINE_MAX);
	if (chan_msg_done(m) == -1)
		log_warnx("channel: bad AUTH message addr=%s", s->peer);
	else
		r = auth_verify(s, user, pass);
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(m->buf, m->len);
	if (r == -1)
		return -1;
	chan_msg_init(&a, abuf, sizeof(abuf));
	chan_put_u32(&a, (uint32_t)r);
	if (r == LOGIN_REFUSED && s->code != NULL) {
		chan_put_str(&a, s->code, strnlen(s->code, CHAN_TEXT_MAX));
		chan_put_str(&a, s->reply, strnlen(s->reply, CHAN_TEXT_MAX));
	} else {
		chan_put_str(&a, "", 0);
		chan_put_str(&a, "", 0);
	}
	if (chan_send(s->chan, CHAN_ANSWER, &a) == -1)
		return -1;
	return r;
}

/* CHAN_END: the session's log line for a connection without a login. */
static void
log_end(struct session *s, struct chanmsg *m)
{
	char	 end[CHAN_TEXT_MAX + 1];
	size_t	 i;
	uint32_t line;

	s->tls = chan_get_u32(m) != 0;
	s->io.rbytes = chan_get_u64(m);
	s->io.wbytes = chan_get_u64(m);
	chan_get_str(m, end, CHAN_TEXT_MAX);
	chan_get_str(m, s->user, POP3_LINE_MAX);
	chan_get_str(m, s->tls_error, sizeof(s->tls_error) - 1);
	line = chan_get_u32(m);
	s->end = "?";
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (strcmp(end, ends[i]) == 0)
			s->end = ends[i];
	if (chan_msg_done(m) == -1) {
		log_warnx("channel: bad END message addr=%s", s->peer);
		return;
	}
	if (line)
		session_end(s);
	else if (strcmp(s->end, "proxy header refused") == 0)
		/* The balancer's address: fail2ban's filter must not ban it. */
		log_warnx("PROXY header refused addr=%s: %s", s->peer,
		    s->tls_error);
	else if (s->tls_error[0] != '\0')
		log_warnx("tls handshake failed addr=%s: %s", s->peer,
		    s->tls_error);
}

/*
 * CHAN_LOG: a line of net's, written after "preauth: " so that no line
 * net makes up can pass for one of this process's (fail2ban's filter
 * reads those); at most POPD_PREAUTH_LOG_LINES, the rest only counted.
 * 0, or -1 for a malformed message.
 */
static int
net_log(struct session *s, struct chanmsg *m, unsigned *lines)
{
	char		line[CHAN_LOG_MAX + 1];
	uint32_t	pri;

	pri = chan_get_u32(m);
	chan_get_str(m, line, CHAN_LOG_MAX);
	if (chan_msg_done(m) == -1) {
		log_warnx("channel: bad LOG message addr=%s", s->peer);
		return -1;
	}
	if ((*lines)++ >= POPD_PREAUTH_LOG_LINES)
		return 0;
	if (pri == LOG_DEBUG)
		log_debug("preauth: %s", line);
	else if (pri == LOG_INFO)
		log_info("preauth: %s", line);
	else
		log_warnx("preauth: %s", line);
	return 0;
}

/* CHAN_PEER: the client a balancer's PROXY header named.  0 or -1. */
static int
take_peer(struct session *s, struct chanmsg *m)
{
	char	addr[INET6_ADDRSTRLEN + 1];

	chan_get_str(m, addr, INET6_ADDRSTRLEN);
	s->loopback = chan_get_u32(m) != 0;
	if (chan_msg_done(m) == -1 || addr[strspn(addr,
	    "0123456789abcdefABCDEF.:")] != '\0' || addr[0] == '\0') {
		log_warnx("channel: bad PEER message addr=%s", s->peer);
		return -1;
	}
	log_debug("PROXY from %s: client %s", s->peer, addr);
	snprintf(s->peer, sizeof(s->peer), "%s", addr);
	return 0;
}

/* Every password hash and inline secret of c, wiped: a session needs none. */
static void
wipe_secrets(struct conf *c)
{
	struct account	*a;
	size_t		 i;

	for (i = 0; i < c->naccounts; i++) {
		a = &c->accounts[i];
		if (a->password != NULL)
			explicit_bzero(a->password, strlen(a->password));
		if (a->imap_password != NULL)
			explicit_bzero(a->imap_password,
			    strlen(a->imap_password));
	}
}

/*
 * CHAN_HANDOVER: the session goes on here, confined to its maildrop.
 * Returns when it is over.
 */
static void
take_over(struct session *s, struct conf *c, struct chanmsg *m, pid_t *net)
{
	unsigned long long	 in, out;
	const void		*rest;
	size_t			 n;
	int			 tls;

	tls = chan_get_u32(m) != 0;
	in = chan_get_u64(m);
	out = chan_get_u64(m);
	rest = chan_get_bytes(m, IO_RBUF_SIZE, &n);
	if (chan_msg_done(m) == -1) {
		log_warnx("channel: bad HANDOVER message addr=%s", s->peer);
		s->end = "internal error";
		session_end(s);
		return;
	}
	/* Plain: the connection is ours now, net exits; TLS: it relays. */
	if (tls)
		io_init(&s->io, s->chan, s->chan, (int)c->idle_timeout * 1000);
	else {
		io_init(&s->io, 0, 1, (int)c->idle_timeout * 1000);
		close(s->chan);
		s->chan = -1;
		(void)reap(*net, s->peer);
		*net = -1;
	}
	(void)io_preload(&s->io, rest, n);
	explicit_bzero(m->buf, m->len);
	s->tls = tls;
	s->io.rbytes = in;
	s->io.wbytes = out;
	wipe_secrets(c);
	sandbox_session(s->acct->maildrop);
	session_reply(s, auth_welcome(s));
	session_loop(s);
	session_end(s);
}

/*
 * CHAN_STLS: the plain net has exited, leaving the STLS reply to a new
 * net that loads libtls, forked here on a new channel.  This process has
 * read the configuration, so the child wipes every hash of it first, as
 * the session does after a login (wipe_secrets), then forgets it: what it
 * needs comes in its CHAN_INIT.  0, or -1 (logged).
 */
static int
restart_tls(struct session *s, struct conf *c, struct chanmsg *m, pid_t *net)
{
	struct carry	k;
	int		sv[2];
	pid_t		pid;

	k.in = chan_get_u64(m);
	k.out = chan_get_u64(m);
	k.deadline = chan_get_u64(m);
	k.commands = chan_get_u32(m);
	k.bad = chan_get_u32(m);
	if (chan_msg_done(m) == -1) {
		log_warnx("channel: bad STLS message addr=%s", s->peer);
		return -1;
	}
	close(s->chan);
	s->chan = -1;
	(void)reap(*net, s->peer);
	*net = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair addr=%s", s->peer);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork addr=%s", s->peer);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		wipe_secrets(c);
		conf_free(c);
		net_main(sv[1], s->peer, s->loopback, NET_STLS, s->verbose);
	}
	close(sv[1]);
	s->chan = sv[0];
	*net = pid;
	return send_init(s->chan, c, NET_STLS, &k);
}

int
priv_main(int chan, pid_t net, const char *path, const char *peer,
    int loopback, enum net_mode mode, int verbose)
{
	static unsigned char	 buf[IO_RBUF_SIZE + 2 * POP3_LINE_MAX + 64];
	static const struct carry none;
	struct chanmsg		 m;
	struct conf		 c;
	struct session		 s;
	long long		 deadline;
	unsigned		 lines = 0;
	int			 type, r, rc, proxied = 0;

	if (confload(&c, path, geteuid(), err_syslog, NULL) != 0) {
		/* Under --tls the client awaits a handshake: say nothing. */
		if (mode == NET_PLAIN) {
			io_init(&s.io, 0, 1, 10000);
			io_puts(&s.io, "-ERR [SYS/TEMP] Server configuration "
			    "error\r\n");
			io_flush(&s.io);
		}
		close(chan);
		reap(net, peer);
		conf_free(&c);
		return mode == NET_TLS ? EX_CONFIG : EX_TEMPFAIL;
	}
	session_init(&s, &c);
	s.chan = chan;
	s.verbose = verbose;
	s.loopback = loopback;
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	/* The fds are net's until a plain handover; io counts its bytes. */
	io_init(&s.io, -1, -1, 0);
	/* net keeps its own deadlines; this bounds a net that would not. */
	deadline = iow_now() + 1000LL * (POPD_PREAUTH_TIMEOUT +
	    TLS_HANDSHAKE_TIMEOUT + POPD_AUTH_TRIES * c.auth_failure_delay +
	    POPD_PREAUTH_SLACK);
	rc = send_init(chan, &c, mode, &none) == -1 ? EX_CONFIG : 0;
	chan_msg_init(&m, buf, sizeof(buf));
	while (rc == 0) {
		if ((type = chan_recv(s.chan, &m, deadline)) == CHAN_LOG) {
			if (net_log(&s, &m, &lines) == -1)
				break;
			continue;
		}
		if (type == CHAN_AUTH &&
		    s.auth_failures < POPD_AUTH_TRIES && s.acct == NULL) {
			if ((r = serve_auth(&s, &m)) == -1)
				break;
			continue;
		}
		if (type == CHAN_PEER && !proxied && s.acct == NULL &&
		    s.auth_failures == 0 && mode != NET_STLS) {
			proxied = 1;
			if (take_peer(&s, &m) == -1)
				break;
			continue;
		}
		if (type == CHAN_STLS && mode == NET_PLAIN && s.acct == NULL &&
		    c.tls_cert != NULL && c.tls_key != NULL) {
			mode = NET_STLS;
			if (restart_tls(&s, &c, &m, &net) == -1)
				break;
			continue;
		}
		if (type == CHAN_HANDOVER && s.acct != NULL) {
			take_over(&s, &c, &m, &net);
		} else if (type == CHAN_END && s.acct == NULL)
			log_end(&s, &m);
		else if (type == -1 && errno == ETIMEDOUT) {
			log_warnx("pre-authentication process overran its "
			    "deadlines addr=%s", peer);
			kill(net, SIGKILL);
		} else if (type == -1 && errno != 0)
			log_warn("channel: addr=%s", peer);
		else if (type != -1)
			log_warnx("channel: unexpected message %d addr=%s",
			    type, peer);
		break;
	}
	if (s.mdfd != -1)
		maildrop_close(&s);
	if (s.chan != -1)
		close(s.chan);
	r = net != -1 ? reap(net, peer) : 0;
	if (lines > POPD_PREAUTH_LOG_LINES)
		log_warnx("preauth: %u more lines not logged addr=%s",
		    lines - POPD_PREAUTH_LOG_LINES, s.peer);
	conf_free(&c);
	return rc != 0 ? rc : r;
}
