/*
 * auth.c: where the secret comes from, and how it is sent.  The secret
 * lives in one stack buffer, and the SASL messages built from it in heap
 * buffers sized for them; all are wiped before we return.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "util.h"
#include "auth.h"
#include "child.h"
#include "imapfetch.h"
#include "transport.h"

/* Challenges answered in one AUTHENTICATE: ours take one, and one more
 * brings the OAuth2 error; a server sending more is not talking SASL. */
#define AUTH_CHALLENGES_MAX	3

/* Dovecot takes a SASL response of up to 8192 bytes of base64 (its
 * LOGIN_MAX_AUTH_BUF_SIZE) and drops the connection on a longer one,
 * without a word: a token over about 6 KB.  Others may do the same. */
#define SASL_RESPONSE_COMMON	8192

void
auth_base64(const unsigned char *in, size_t len, char *out)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t			 i;
	unsigned long		 v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = b64[(v >> 6) & 63];
		*out++ = b64[v & 63];
	}
	if (i < len) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < len)
			v |= in[i + 1] << 8;
		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

/*
 * Reads the first line of fd into buf; 0, or -1 with errno: EMSGSIZE for
 * a line that does not fit, ENODATA for an empty one, ETIMEDOUT for none
 * by deadline (child.h; -1: none, for a file).
 */
static int
read_line_fd(int fd, char *buf, size_t len, long long deadline)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	size_t		 off = 0;
	ssize_t		 n;
	char		*nl = NULL;

	while (nl == NULL && off + 1 < len) {
		if (deadline != -1 &&
		    (n = poll(&pfd, 1, child_left(deadline))) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		n = read(fd, buf + off, len - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		nl = memchr(buf + off, '\n', n);
		off += n;
	}
	buf[off] = '\0';
	if (nl == NULL && off + 1 >= len) {
		errno = EMSGSIZE;
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		errno = ENODATA;
		return -1;
	}
	return 0;
}

/* Logs why the first line of what (a file, a command) was refused. */
static void
line_refused(const struct account *a, const char *what, int e)
{
	if (e == EMSGSIZE)
		log_warnx("%s: %s: first line over %d bytes (too long)",
		    a->name, what, SECRET_MAX);
	else if (e == ENODATA)
		log_warnx("%s: %s: nothing read, or an empty first line",
		    a->name, what);
	else
		log_warnx("%s: %s: %s", a->name, what, strerror(e));
}

static int
secret_file(const struct account *a, char *buf, size_t len)
{
	char	 what[CONF_LINE_MAX + 32];
	int	 fd, r, e;

	if ((fd = open(a->imap_password_file, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s: imap-password-file %s", a->name,
		    a->imap_password_file);
		return EX_CONFIG;
	}
	if (mode_too_open(fd)) {
		close(fd);
		log_warnx("%s: imap-password-file %s: readable by group or "
		    "others; refused", a->name, a->imap_password_file);
		return EX_CONFIG;
	}
	r = read_line_fd(fd, buf, len, -1);
	e = errno;
	close(fd);
	if (r == -1) {
		snprintf(what, sizeof(what), "imap-password-file %s",
		    a->imap_password_file);
		line_refused(a, what, e);
		return EX_CONFIG;
	}
	return 0;
}

/*
 * Runs cmd (the value of key what) with sh -c; its stdout's first line is
 * the secret.  It must have printed it and exited within imap-timeout:
 * one that hangs (a vault that does not answer, a prompt nobody sees) is
 * killed, not waited for with the maildrop locked.  Its stderr is ours,
 * for its own messages.
 */
static int
secret_command(const struct account *a, const char *what, const char *cmd,
    char *buf, size_t len)
{
	unsigned	 secs = a->imap_timeout ? a->imap_timeout : IMAP_TIMEOUT;
	long long	 deadline = child_deadline(secs);
	pid_t		 pid;
	int		 fd, status, r, w, e;

	if ((pid = child_start(cmd, &fd, NULL)) == -1) {
		log_warn("%s: %s", a->name, what);
		return EX_OSERR;
	}
	r = read_line_fd(fd, buf, len, deadline);
	e = errno;
	close(fd);
	/* The command itself is not logged: it may hold a token.  One that
	 * printed too much dies of SIGPIPE: say what it printed, first. */
	if ((w = child_wait(pid, deadline, &status)) == -1 &&
	    errno == ETIMEDOUT)
		log_warnx("%s: %s still running after %u s (imap-timeout): "
		    "killed", a->name, what, secs);
	else if (r == -1 && e == EMSGSIZE)
		line_refused(a, what, e);
	else if (w == -1 || !WIFEXITED(status))
		log_warnx("%s: %s failed", a->name, what);
	else if (WEXITSTATUS(status) != 0)
		log_warnx("%s: %s failed (exit status %d)", a->name, what,
		    WEXITSTATUS(status));
	else if (r == -1)
		line_refused(a, what, e);
	else
		return 0;
	return EX_CONFIG;
}

static int
secret_inline(const struct account *a, const char *conffile, char *buf,
    size_t len)
{
	struct stat	 st;

	if (stat(conffile, &st) == -1 || (st.st_mode & 077) != 0) {
		log_warnx("%s: imap-password inline needs %s to be 0600 or "
		    "0400", a->name, conffile);
		return EX_CONFIG;
	}
	if (strlen(a->imap_password) >= len) {
		log_warnx("%s: imap-password too long", a->name);
		return EX_CONFIG;
	}
	memcpy(buf, a->imap_password, strlen(a->imap_password) + 1);
	return 0;
}

int
auth_secret(const struct account *a, const char *conffile, char *buf,
    size_t len)
{
	int	 r;

	if (a->imap_password_file != NULL)
		r = secret_file(a, buf, len);
	else if (a->imap_password_command != NULL)
		r = secret_command(a, "imap-password-command",
		    a->imap_password_command, buf, len);
	else if (a->imap_oauth2_command != NULL)
		r = secret_command(a, "imap-oauth2-command",
		    a->imap_oauth2_command, buf, len);
	else if (a->imap_password != NULL)
		r = secret_inline(a, conffile, buf, len);
	else {
		log_warnx("%s: no imap-password-file, imap-password-command, "
		    "imap-oauth2-command or imap-password", a->name);
		r = EX_CONFIG;
	}
	/* A refused line (too long, no end) may still be most of it. */
	if (r != 0)
		explicit_bzero(buf, len);
	return r;
}

int
auth_refusal_temporary(const char *code, const char *text)
{
	/* What servers say when one user has too many connections: none
	 * of them with a response code that says so (Gmail's comes with
	 * [ALERT], which libetpan keeps apart; Dovecot uses [LIMIT]). */
	static const char *const	 busy[] = {
		"too many simultaneous connections",
		"too many connections",
		"maximum number of connections",
	};
	size_t				 i;

	if (code != NULL && (strcasecmp(code, "UNAVAILABLE") == 0 ||
	    strcasecmp(code, "LIMIT") == 0 || strcasecmp(code, "INUSE") == 0))
		return 1;
	for (i = 0; text != NULL && i < sizeof(busy) / sizeof(busy[0]); i++)
		if (strcasestr(text, busy[i]) != NULL)
			return 1;
	return 0;
}

/*
 * Exit code for a completed, rejected login: cmd (and mech) answered NO.
 * libetpan moves a response code it does not know (RFC 5530's) out of
 * the text, into imap_response_info.  UNAVAILABLE: the server cannot
 * check credentials right now (Dovecot says so when its OAuth2
 * introspection endpoint does not answer); LIMIT, INUSE or the words of
 * a connection limit: too many connections of this user (another
 * client, a watcher reconnecting before the server noticed the old
 * connection was gone).  Both are for later, not wrong credentials:
 * EX_UNAVAILABLE, which --watch waits out.
 */
static int
rejected(struct conn *c, const char *cmd, const char *mech)
{
	const char	*text = c->imap->imap_response, *code = NULL;
	char		 how[64];

	if (c->imap->imap_response_info != NULL)
		code = c->imap->imap_response_info->rsp_atom;
	if (text == NULL)
		text = "(no text)";
	snprintf(how, sizeof(how), "%s%s%s", cmd, mech != NULL ? " " : "",
	    mech != NULL ? mech : "");
	if (auth_refusal_temporary(code, text)) {
		log_warnx("%s: %s: %s: %s%s%s%s (temporary: try again later)",
		    c->what, c->host, how, code != NULL ? "[" : "",
		    code != NULL ? code : "", code != NULL ? "] " : "", text);
		return EX_UNAVAILABLE;
	}
	if (code != NULL)
		log_warnx("%s: %s: %s rejected: [%s] %s", c->what, c->host,
		    how, code, text);
	else
		log_warnx("%s: %s: %s rejected: %s", c->what, c->host, how,
		    text);
	return EX_NOPERM;
}

/* The tagged answer to AUTHENTICATE mech, its line already read. */
static int
auth_result(struct conn *c, const char *mech)
{
	struct mailimap_response	*rsp = NULL;
	int				 r, ok;

	if ((r = mailimap_parse_response(c->imap, &rsp)) != MAILIMAP_NO_ERROR)
		return conn_fail(c, r, "AUTHENTICATE");
	ok = rsp->rsp_resp_done->rsp_type == MAILIMAP_RESP_DONE_TYPE_TAGGED &&
	    rsp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type
	    == MAILIMAP_RESP_COND_STATE_OK;
	mailimap_response_free(rsp);
	if (!ok)
		return rejected(c, "AUTHENTICATE", mech);
	c->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	return 0;
}

/*
 * Writes the n strings of v to the stream (not flushed); 0 or -1.  A
 * failed write that had sent part of a long string returns a short count.
 */
static int
put(mailstream *s, const char *const *v, size_t n)
{
	size_t	 i, len;

	for (i = 0; i < n; i++)
		if ((len = strlen(v[i])) != 0 &&
		    mailstream_write(s, v[i], len) != (ssize_t)len)
			return -1;
	return 0;
}

/*
 * Sends "AUTHENTICATE mech" with ir (base64), in the first line when the
 * server allows SASL-IR (RFC 4959), else after its continuation request.
 * A challenge after ir means failure: XOAUTH2 and OAUTHBEARER send their
 * error so (RFC 7628 3.2.3), and the mechanism's ack (base64, or "" for
 * an empty line) answers it; the server then says NO.  Without that
 * answer both sides would wait for each other until imap-timeout.  A long
 * ir is not copied: libetpan writes what does not fit its buffer straight
 * to the connection.
 */
static int
authenticate(struct conn *c, const char *mech, const char *ir,
    const char *ack)
{
	mailstream	*s = c->imap->imap_stream;
	const char	*cmd[] = { "AUTHENTICATE ", mech, " ", ir, "\r\n" };
	const char	*more[] = { ir, "\r\n" }, *nak[] = { ack, "\r\n" };
	char		*line;
	int		 sent, round, r;

	sent = mailimap_has_extension(c->imap, "SASL-IR");
	if (!sent)
		cmd[2] = cmd[3] = "";
	c->secret = 1;
	if (mailimap_send_current_tag(c->imap) != MAILIMAP_NO_ERROR ||
	    put(s, cmd, 5) == -1 || mailstream_flush(s) == -1)
		goto stream;
	for (round = 0; (line = mailimap_read_line(c->imap)) != NULL &&
	    line[0] == '+'; round++) {
		if (round == AUTH_CHALLENGES_MAX) {
			c->secret = 0;
			c->error = EPROTO;
			log_warnx("%s: %s: AUTHENTICATE %s: challenges without "
			    "end", c->what, c->host, mech);
			return EX_PROTOCOL;
		}
		if (put(s, sent ? nak : more, 2) == -1 ||
		    mailstream_flush(s) == -1)
			goto stream;
		sent = 1;
	}
	c->secret = 0;
	if (line == NULL)
		goto stream;
	return auth_result(c, mech);
stream:
	c->secret = 0;
	r = conn_fail(c, MAILIMAP_ERROR_STREAM, "AUTHENTICATE");
	if (strlen(ir) > SASL_RESPONSE_COMMON && c->error != ETIME &&
	    c->error != ETIMEDOUT)
		log_warnx("%s: %s: AUTHENTICATE %s: connection lost after a "
		    "%zu-byte response: over the server's limit? (Dovecot "
		    "takes %d)", c->what, c->host, mech, strlen(ir),
		    SASL_RESPONSE_COMMON);
	return r;
}

/*
 * One SASL exchange: msg (len bytes, raw) is the client's first response
 * to mech; ack as for authenticate().  The base64 copy is wiped.
 */
static int
sasl_exchange(struct conn *c, const char *mech, const char *msg,
    size_t len, const char *ack)
{
	size_t	 blen = (len + 2) / 3 * 4 + 1;
	char	*ir = xmalloc(blen);
	int	 r;

	auth_base64((const unsigned char *)msg, len, ir);
	r = authenticate(c, mech, ir, ack);
	explicit_bzero(ir, blen);
	free(ir);
	return r;
}

/* Joins the n strings of v into a new string of *lenp bytes. */
static char *
join(const char *const *v, size_t n, size_t *lenp)
{
	size_t	 i, len = 0, l;
	char	*out, *p;

	for (i = 0; i < n; i++)
		len += strlen(v[i]);
	p = out = xmalloc(len + 1);
	for (i = 0; i < n; i++) {
		l = strlen(v[i]);
		memcpy(p, v[i], l);
		p += l;
	}
	*p = '\0';
	*lenp = len;
	return out;
}

int
auth_bearer_ok(const char *t)
{
	size_t	 n;

	/* RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
	 * "~" / "+" / "/" ) *"=" */
	n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~+/");
	if (n == 0)
		return 0;
	return t[n + strspn(t + n, "=")] == '\0';
}

/* user as an RFC 5801 saslname: "," and "=" become =2C and =3D. */
static char *
saslname(const char *user)
{
	char	*name, *p;

	p = name = xmalloc(3 * strlen(user) + 1);
	for (; *user != '\0'; user++) {
		if (*user == ',' || *user == '=') {
			memcpy(p, *user == ',' ? "=2C" : "=3D", 3);
			p += 3;
		} else
			*p++ = *user;
	}
	*p = '\0';
	return name;
}

char *
auth_oauthbearer(const char *user, const char *host, unsigned port,
    const char *token, size_t *lenp)
{
	char		 num[16], *name = saslname(user), *msg;
	/* RFC 7628 3.1: gs2-header kvsep *(kvpair) kvsep. */
	const char	*v[] = { "n,a=", name, ",\001host=", host, "\001port=",
			    num, "\001auth=Bearer ", token, "\001\001" };

	snprintf(num, sizeof(num), "%u", port);
	msg = join(v, 9, lenp);
	free(name);
	return msg;
}

char *
auth_xoauth2(const char *user, const char *token, size_t *lenp)
{
	const char	*v[] = { "user=", user, "\001auth=Bearer ", token,
			    "\001\001" };

	return join(v, 5, lenp);
}

/*
 * OAuth2 with the access token: OAUTHBEARER (RFC 7628) when the server
 * offers it, else XOAUTH2 (Google's and Microsoft's older mechanism).
 * Their error challenge is answered by a lone ^A ("AQ==", RFC 7628
 * 3.2.3), or for XOAUTH2 by an empty line (as Google documents).
 */
static int
login_oauth2(struct conn *c, const struct account *a, const char *token)
{
	const char	*mech;
	char		*msg;
	size_t		 len;
	int		 r;

	if (!auth_bearer_ok(token)) {
		log_warnx("%s: imap-oauth2-command: its first line is not an "
		    "access token (RFC 6750 characters only)", a->name);
		return EX_CONFIG;
	}
	if (mailimap_has_authentication(c->imap, "OAUTHBEARER")) {
		mech = "OAUTHBEARER";
		msg = auth_oauthbearer(a->imap_user, c->host, account_port(a),
		    token, &len);
	} else if (mailimap_has_authentication(c->imap, "XOAUTH2")) {
		mech = "XOAUTH2";
		msg = auth_xoauth2(a->imap_user, token, &len);
	} else {
		log_warnx("%s: %s offers neither AUTH=OAUTHBEARER nor "
		    "AUTH=XOAUTH2", c->what, c->host);
		return EX_PROTOCOL;
	}
	r = sasl_exchange(c, mech, msg, len,
	    strcmp(mech, "OAUTHBEARER") == 0 ? "AQ==" : "");
	explicit_bzero(msg, len);
	free(msg);
	return r;
}

/* AUTHENTICATE PLAIN (RFC 4616): authzid NUL authcid NUL passwd. */
static int
login_plain(struct conn *c, const struct account *a, const char *secret)
{
	size_t	 ulen = strlen(a->imap_user), slen = strlen(secret);
	size_t	 len = ulen + slen + 2;
	char	*msg = xmalloc(len);
	int	 r;

	msg[0] = '\0';
	memcpy(msg + 1, a->imap_user, ulen + 1);
	memcpy(msg + ulen + 2, secret, slen);
	r = sasl_exchange(c, "PLAIN", msg, len, "");
	explicit_bzero(msg, len);
	free(msg);
	return r;
}

/* LOGIN, for servers without AUTH=PLAIN. */
static int
login_login(struct conn *c, const struct account *a, const char *secret)
{
	int	 r;

	if (mailimap_has_extension(c->imap, "LOGINDISABLED")) {
		log_warnx("%s: %s offers neither AUTH=PLAIN nor LOGIN",
		    c->what, c->host);
		return EX_PROTOCOL;
	}
	c->secret = 1;
	r = mailimap_login(c->imap, a->imap_user, secret);
	c->secret = 0;
	if (r == MAILIMAP_ERROR_LOGIN)
		return rejected(c, "LOGIN", NULL);
	if (r != MAILIMAP_NO_ERROR)
		return conn_fail(c, r, "LOGIN");
	return 0;
}

/*
 * libetpan builds each command in its stream's write buffer and leaves it
 * there once sent: the login line (the secret, or its base64) would stay
 * in memory, and in a core dump, for the whole session, as only its first
 * bytes are overwritten by the next command.
 */
static void
wipe_sent(struct conn *c)
{
	mailstream	*s = c->imap->imap_stream;

	if (s != NULL && s->write_buffer != NULL)
		explicit_bzero(s->write_buffer, s->buffer_max_size);
}

int
auth_login(struct conn *c, const struct account *a, const char *conffile)
{
	char	 secret[SECRET_MAX + 2];
	int	 r;

	if (c->imap->imap_state == MAILIMAP_STATE_AUTHENTICATED)
		return 0;	/* PREAUTH greeting */
	if ((r = auth_secret(a, conffile, secret, sizeof(secret))) == 0) {
		if (a->imap_oauth2_command != NULL)
			r = login_oauth2(c, a, secret);
		else if (mailimap_has_authentication(c->imap, "PLAIN"))
			r = login_plain(c, a, secret);
		else
			r = login_login(c, a, secret);
		wipe_sent(c);
	}
	explicit_bzero(secret, sizeof(secret));
	if (r != 0)
		return r;
	/* The capabilities change after login (RFC 3501 7.2.1). */
	return conn_capability(c);
}
