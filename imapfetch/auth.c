/*
 * auth.c: where the secret comes from, and how it is sent.  The secret
 * lives in one stack buffer that is wiped before we return.
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
#include "transport.h"

/* Challenges answered in one AUTHENTICATE: ours take one, and one more
 * brings XOAUTH2's error; a server sending more is not talking SASL. */
#define AUTH_CHALLENGES_MAX	3

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
 * Reads the first line of fd into buf; 0, or -1 (empty, too long, error,
 * or no line by deadline).  deadline (child.h) bounds a pipe; -1: none.
 */
static int
read_line_fd(int fd, char *buf, size_t len, long long deadline)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	size_t		 off = 0;
	ssize_t		 n;
	char		*nl;

	while (off + 1 < len) {
		if (deadline != -1 &&
		    (n = poll(&pfd, 1, child_left(deadline))) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		n = read(fd, buf + off, len - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
		buf[off] = '\0';
		if (memchr(buf, '\n', off) != NULL)
			break;
	}
	buf[off] = '\0';
	if ((nl = strchr(buf, '\n')) == NULL && off + 1 >= len)
		return -1;
	if (nl != NULL)
		*nl = '\0';
	if ((nl = strchr(buf, '\r')) != NULL)
		*nl = '\0';
	return buf[0] == '\0' ? -1 : 0;
}

static int
secret_file(const struct account *a, char *buf, size_t len)
{
	int	 fd, r;

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
	close(fd);
	if (r == -1) {
		log_warnx("%s: imap-password-file %s: no usable first line",
		    a->name, a->imap_password_file);
		return EX_CONFIG;
	}
	return 0;
}

/*
 * Runs cmd with sh -c; its stdout's first line is the secret.  It must
 * have printed it and exited within imap-timeout: one that hangs (a vault
 * that does not answer, a prompt nobody sees) is killed, not waited for
 * with the maildrop locked.  Its stderr is ours, for its own messages.
 */
static int
secret_command(const struct account *a, const char *cmd, char *buf,
    size_t len)
{
	unsigned	 secs = a->imap_timeout ? a->imap_timeout : IMAP_TIMEOUT;
	long long	 deadline = child_deadline(secs);
	pid_t		 pid;
	int		 fd, status, r, w;

	if ((pid = child_start(cmd, &fd, NULL)) == -1) {
		log_warn("%s: password command", a->name);
		return EX_OSERR;
	}
	r = read_line_fd(fd, buf, len, deadline);
	close(fd);
	/* The command itself is not logged: it may hold a token. */
	if ((w = child_wait(pid, deadline, &status)) == -1 &&
	    errno == ETIMEDOUT)
		log_warnx("%s: password command still running after %u s "
		    "(imap-timeout): killed", a->name, secs);
	else if (w == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || r == -1)
		log_warnx("%s: password command failed or printed nothing",
		    a->name);
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
		r = secret_command(a, a->imap_password_command, buf, len);
	else if (a->imap_oauth2_command != NULL)
		r = secret_command(a, a->imap_oauth2_command, buf, len);
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

/* Exit code for a completed, rejected login. */
static int
rejected(struct conn *c, const char *how)
{
	const char	*text = c->imap->imap_response;

	if (text == NULL)
		text = "(no text)";
	/* RFC 5530: the server cannot check credentials right now. */
	if (strncasecmp(text, "[UNAVAILABLE]", 13) == 0) {
		log_warnx("%s: %s: %s: %s", c->what, c->host, how, text);
		return EX_UNAVAILABLE;
	}
	log_warnx("%s: %s: %s rejected: %s", c->what, c->host, how, text);
	return EX_NOPERM;
}

/* The tagged answer to AUTHENTICATE, its line already read. */
static int
auth_result(struct conn *c)
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
		return rejected(c, "AUTHENTICATE");
	c->imap->imap_state = MAILIMAP_STATE_AUTHENTICATED;
	return 0;
}

/*
 * Sends "AUTHENTICATE mech" with ir, in the first line when the server
 * allows SASL-IR, else after its continuation request.  A challenge after
 * ir means failure (XOAUTH2 sends its error so, RFC 7628 3.2.3): an empty
 * line answers it, and the server then says NO.  Without that answer
 * both sides would wait for each other until imap-timeout.
 */
static int
authenticate(struct conn *c, const char *mech, const char *ir)
{
	mailstream	*s = c->imap->imap_stream;
	char		*line;
	int		 sent, round;

	sent = mailimap_has_extension(c->imap, "SASL-IR");
	c->secret = 1;
	if (mailimap_send_current_tag(c->imap) != MAILIMAP_NO_ERROR ||
	    mailstream_write(s, "AUTHENTICATE ", 13) == -1 ||
	    mailstream_write(s, mech, strlen(mech)) == -1 ||
	    (sent && (mailstream_write(s, " ", 1) == -1 ||
	    mailstream_write(s, ir, strlen(ir)) == -1)) ||
	    mailstream_write(s, "\r\n", 2) == -1 ||
	    mailstream_flush(s) == -1)
		goto stream;
	for (round = 0; (line = mailimap_read_line(c->imap)) != NULL &&
	    line[0] == '+'; round++) {
		if (round == AUTH_CHALLENGES_MAX) {
			c->secret = 0;
			c->error = EPROTO;
			log_warnx("%s: %s: AUTHENTICATE: challenges without "
			    "end", c->what, c->host);
			return EX_PROTOCOL;
		}
		if ((!sent && mailstream_write(s, ir, strlen(ir)) == -1) ||
		    mailstream_write(s, "\r\n", 2) == -1 ||
		    mailstream_flush(s) == -1)
			goto stream;
		sent = 1;
	}
	c->secret = 0;
	if (line == NULL)
		goto stream;
	return auth_result(c);
stream:
	c->secret = 0;
	return conn_fail(c, MAILIMAP_ERROR_STREAM, "AUTHENTICATE");
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

static int
login_with(struct conn *c, const struct account *a, const char *secret)
{
	char	 raw[2 * SECRET_MAX + 64], ir[(sizeof(raw) + 2) / 3 * 4 + 1];
	size_t	 ulen = strlen(a->imap_user), slen = strlen(secret), n;
	int	 r;

	if (ulen + slen + 32 > sizeof(raw)) {
		log_warnx("%s: imap-user or secret too long", a->name);
		return EX_CONFIG;
	}
	if (a->imap_oauth2_command != NULL) {
		/* XOAUTH2: "user=U^Aauth=Bearer T^A^A" (Google, Microsoft). */
		n = snprintf(raw, sizeof(raw), "user=%s\001auth=Bearer %s"
		    "\001\001", a->imap_user, secret);
		auth_base64((unsigned char *)raw, n, ir);
		r = authenticate(c, "XOAUTH2", ir);
	} else if (mailimap_has_authentication(c->imap, "PLAIN")) {
		/* RFC 4616: authzid NUL authcid NUL passwd. */
		raw[0] = '\0';
		memcpy(raw + 1, a->imap_user, ulen + 1);
		memcpy(raw + ulen + 2, secret, slen);
		auth_base64((unsigned char *)raw, ulen + 2 + slen, ir);
		r = authenticate(c, "PLAIN", ir);
	} else if (mailimap_has_extension(c->imap, "LOGINDISABLED")) {
		log_warnx("%s: %s offers neither AUTH=PLAIN nor LOGIN",
		    c->what, c->host);
		r = EX_PROTOCOL;
	} else {
		c->secret = 1;
		r = mailimap_login(c->imap, a->imap_user, secret);
		c->secret = 0;
		if (r == MAILIMAP_ERROR_LOGIN)
			r = rejected(c, "LOGIN");
		else if (r != MAILIMAP_NO_ERROR)
			r = conn_fail(c, r, "LOGIN");
	}
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(ir, sizeof(ir));
	wipe_sent(c);
	return r;
}

int
auth_login(struct conn *c, const struct account *a, const char *conffile)
{
	char	 secret[SECRET_MAX + 2];
	int	 r;

	if (c->imap->imap_state == MAILIMAP_STATE_AUTHENTICATED)
		return 0;	/* PREAUTH greeting */
	if ((r = auth_secret(a, conffile, secret, sizeof(secret))) == 0)
		r = login_with(c, a, secret);
	explicit_bzero(secret, sizeof(secret));
	if (r != 0)
		return r;
	/* The capabilities change after login (RFC 3501 7.2.1). */
	return conn_capability(c);
}
