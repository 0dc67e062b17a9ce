/*
 * session.c: the one dispatcher.  Reads a bounded line, finds the command
 * in the table of the current state, runs its handler and writes the reply
 * the handler asked for.  Replies are flushed only when no further command
 * line is already buffered, so pipelined commands get their replies in few
 * writes (RFC 2449 PIPELINING).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "iowait.h"
#include "log.h"
#include "session.h"

void
session_init(struct session *s, const struct conf *conf)
{
	unsigned	preauth = POPD_PREAUTH_TIMEOUT;

	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->state = S_AUTH;
	s->mdfd = s->lockfd = s->arg_fd = -1;
	s->chan = -1;
	s->verify = auth_verify;
	s->end = "eof";
	/* An admin's shorter idle-timeout bounds the login phase too. */
	if (conf->idle_timeout < preauth)
		preauth = conf->idle_timeout;
	s->preauth_deadline = iow_now() + preauth * 1000LL;
}

int
r_ok(struct session *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->reply, sizeof(s->reply), fmt, ap);
	va_end(ap);
	s->code = NULL;
	return POP_OK;
}

int
r_err(struct session *s, const char *code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->reply, sizeof(s->reply), fmt, ap);
	va_end(ap);
	s->code = code;
	return POP_ERR;
}

int
session_plain_ok(const struct session *s)
{
	switch (s->conf->plaintext_auth) {
	case PA_ALWAYS:
		return 1;
	case PA_TLS_OR_LOOPBACK:
		return s->tls || s->loopback;
	default:
		return s->tls;
	}
}

int
capa_body(struct session *s)
{
	struct io	*io = &s->io;
	int		 auth = s->state == S_AUTH;

	io_puts(io, "TOP\r\nUIDL\r\n");
	if (auth && session_plain_ok(s))
		io_puts(io, "USER\r\nSASL PLAIN\r\n");
	io_puts(io, "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
	    "EXPIRE NEVER\r\n");
	if (auth && s->stls && !s->tls)
		io_puts(io, "STLS\r\n");
	return io_puts(io, "IMPLEMENTATION popd\r\n");
}

int
cmd_capa(struct session *s, char *arg)
{
	(void)arg;
	s->body = capa_body;
	return r_ok(s, "Capability list follows");
}

/*
 * When the next line must have come whole: idle-timeout from now, and
 * before login no later than the end of the pre-authentication time.
 */
static long long
line_deadline(const struct session *s)
{
	long long	d = iow_now() + s->conf->idle_timeout * 1000LL;

	if (s->state == S_AUTH && s->preauth_deadline < d)
		d = s->preauth_deadline;
	return d;
}

int
session_challenge(struct session *s, char *buf, size_t cap)
{
	size_t	len;

	if (io_puts(&s->io, "+ \r\n") == -1 || io_flush(&s->io) == -1)
		return IO_ERROR;
	return io_getline(&s->io, buf, cap, &len, line_deadline(s));
}

int
session_read_failed(struct session *s, int r)
{
	int	login;

	if (r == IO_EOF || s->io.error != ETIMEDOUT) {
		s->end = r == IO_EOF ? "eof" : "read error";
		return POP_FAIL;
	}
	login = s->state == S_AUTH && iow_now() >= s->preauth_deadline;
	s->end = login ? "login timeout" : "idle timeout";
	/* A short wait: the peer may not read at all. */
	s->io.timeout_ms = 1000;
	s->io.error = 0;
	io_puts(&s->io, login ? "-ERR Login timeout, closing\r\n" :
	    "-ERR Idle timeout, closing\r\n");
	return POP_FAIL;
}

static const struct command *
lookup(const struct command *t, const char *name)
{
	for (; t->name != NULL; t++)
		if (strcasecmp(t->name, name) == 0)
			return t;
	return NULL;
}

int
session_reply(struct session *s, int r)
{
	struct io	*io = &s->io;

	if (r == POP_FAIL)
		return -1;
	if (r == POP_NONE)
		return 0;
	if (r == POP_OK || r == POP_BYE)
		io_printf(io, "+OK%s%s\r\n", s->reply[0] ? " " : "", s->reply);
	else if (s->code != NULL)
		io_printf(io, "-ERR [%s] %s\r\n", s->code, s->reply);
	else
		io_printf(io, "-ERR %s\r\n", s->reply);
	if (r == POP_OK && s->body != NULL) {
		if (s->body(s) == -1) {
			s->end = io->error ? "write error" : "read error";
			return -1;
		}
		io_puts(io, ".\r\n");
	}
	if (io->error) {
		s->end = "write error";
		return -1;
	}
	return r == POP_CLOSE || r == POP_BYE ? -1 : 0;
}

/* Counts a bad command; the session ends after too many. */
static int
bad_command(struct session *s, const char *why)
{
	int	r;

	r = r_err(s, NULL, "%s", why);
	if (++s->bad_commands >= POPD_BAD_COMMANDS) {
		s->end = "too many bad commands";
		r = r_err(s, NULL, "%s; too many errors, closing", why);
		return POP_CLOSE;
	}
	return r;
}

static int
dispatch(struct session *s, char *line)
{
	const struct command	*c;
	char			*arg;
	size_t			 n;

	arg = line + strcspn(line, " ");
	n = (size_t)(arg - line);
	if (*arg == ' ')
		*arg++ = '\0';
	if (n == 0 || n > 4)
		return bad_command(s, "Unknown command");
	if ((c = lookup(s->state == S_AUTH ? auth_commands : trans_commands,
	    line)) == NULL) {
		if (lookup(s->state == S_AUTH ? trans_commands : auth_commands,
		    line) != NULL)
			return bad_command(s, "Command not valid in this state");
		return bad_command(s, "Unknown command");
	}
	if (s->verbose) {
		char	safe[64];

		log_sanitize(safe, sizeof(safe), line);
		log_debug("command %s%s", safe, *arg ? " ..." : "");
	}
	s->body = NULL;
	s->code = NULL;
	s->reply[0] = '\0';
	return c->fn(s, arg);
}

/*
 * Before login every command counts, valid or not: a client that loops on
 * CAPA or USER without ever logging in is cut off as one sending garbage
 * is.  1 when this one is over the cap (the reply is set).
 */
static int
preauth_exhausted(struct session *s)
{
	if (s->state != S_AUTH ||
	    ++s->preauth_commands <= POPD_PREAUTH_COMMANDS)
		return 0;
	s->end = "too many commands before login";
	r_err(s, NULL, "Too many commands before login, closing");
	return 1;
}

/* Handles one io_getline result; -1 when the session is over. */
static int
step(struct session *s, int r, char *line)
{
	if (r == IO_EOF || r == IO_ERROR)
		return session_reply(s, session_read_failed(s, r));
	if (preauth_exhausted(s))
		return session_reply(s, POP_CLOSE);
	if (r == IO_LONG)
		return session_reply(s, bad_command(s, "Line too long"));
	if (r == IO_BADCHAR)
		return session_reply(s, bad_command(s,
		    "Invalid character in command"));
	return session_reply(s, dispatch(s, line));
}

static void
session_log(struct session *s)
{
	char	user[CONF_NAME_MAX + 1];

	if (s->tls_error[0] != '\0')
		log_warnx("tls handshake failed addr=%s: %s", s->peer,
		    s->tls_error);
	log_sanitize(user, sizeof(user), s->acct != NULL ? s->acct->name :
	    s->user[0] != '\0' ? s->user : "-");
	log_info("session user=%s addr=%s tls=%s auth=%s retr=%u dele=%u "
	    "bytes=%llu in=%llu out=%llu end=%s", user, s->peer,
	    s->tls ? "yes" : "no", s->acct != NULL ? "ok" : "no", s->nretr,
	    s->ndele, s->retr_bytes, s->io.rbytes, s->io.wbytes, s->end);
}

/*
 * A whole command line is already buffered.  A partial line is not: the
 * client may be waiting for our replies before it sends the rest, so
 * holding them back until its LF comes could stall it.
 */
static int
line_buffered(const struct io *io)
{
	return memchr(io->rbuf + io->rpos, '\n', io->rlen - io->rpos) != NULL;
}

void
session_greet(struct session *s)
{
	io_puts(&s->io, "+OK popd ready\r\n");
}

void
session_loop(struct session *s)
{
	char	line[POP3_LINE_MAX + 2];
	size_t	len;
	int	r;

	while (s->state == S_AUTH || s->state == S_TRANS) {
		if (!line_buffered(&s->io) && io_flush(&s->io) == -1) {
			s->end = "write error";
			s->state = S_DONE;
			break;
		}
		r = io_getline(&s->io, line, sizeof(line), &len,
		    line_deadline(s));
		if (step(s, r, line) == -1)
			s->state = S_DONE;
		explicit_bzero(line, sizeof(line));
	}
}

void
session_end(struct session *s)
{
	io_flush(&s->io);
	if (s->mdfd != -1)
		maildrop_close(s);
	io_close(&s->io);
	session_log(s);
}

int
session_run(struct session *s)
{
	session_greet(s);
	session_loop(s);
	session_end(s);
	return 0;
}
