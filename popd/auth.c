/*
 * auth.c: the AUTHORIZATION state (RFC 1939 section 4, RFC 5034, RFC 2595).
 *
 * An unknown user and a wrong password get the same answer after the same
 * work (passwd_check: one crypt(3) per hash method and cost in the
 * configuration, whoever the user is) and the same delay, so neither
 * timing nor text tells which names exist.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "session.h"

/* RFC 2595 section 4: no plaintext login where the policy wants TLS. */
static int
refuse_plain(struct session *s)
{
	return r_err(s, "AUTH", "Plaintext authentication requires TLS%s",
	    s->stls && !s->tls ? " (use STLS)" : "");
}

static int
cmd_quit(struct session *s, char *arg)
{
	(void)arg;
	s->end = "quit";
	r_ok(s, "popd signing off");
	return POP_BYE;
}

static int
cmd_user(struct session *s, char *arg)
{
	if (!session_plain_ok(s))
		return refuse_plain(s);
	if (*arg == '\0')
		return r_err(s, NULL, "USER needs a name");
	/* The line reader bounds arg; strlcpy-like copy keeps it safe. */
	snprintf(s->user, sizeof(s->user), "%s", arg);
	s->have_user = 1;
	return r_ok(s, "Send PASS");
}

int
auth_verify(struct session *s, const char *user, const char *pass)
{
	const struct account	*a;
	char			 safe[CONF_NAME_MAX + 1];

	a = conf_valid_name(user) ? conf_account(s->conf, user) : NULL;
	if (passwd_check(s->conf, a, pass)) {
		s->acct = a;
		if (trans_begin(s) != POP_OK) {
			s->acct = NULL;
			return LOGIN_REFUSED;
		}
		return LOGIN_OK;
	}
	log_sanitize(safe, sizeof(safe), user);
	/* Fixed format for fail2ban: "auth failed user=X addr=Y". */
	log_warnx("auth failed user=%s addr=%s", safe, s->peer);
	if (s->conf->auth_failure_delay > 0)
		sleep(s->conf->auth_failure_delay);
	return ++s->auth_failures >= POPD_AUTH_TRIES ? LOGIN_CLOSE :
	    LOGIN_FAIL;
}

int
auth_welcome(struct session *s)
{
	s->state = S_TRANS;
	return r_ok(s, "%s has %zu messages", s->acct->name, s->nmsgs);
}

/* The common end of PASS and AUTH PLAIN. */
static int
login(struct session *s, const char *user, const char *pass)
{
	int	r;

	s->have_user = 0;
	/* Kept for the session's log line (AUTH PLAIN has no USER). */
	if (user != s->user)
		snprintf(s->user, sizeof(s->user), "%s", user);
	switch ((r = s->verify(s, s->user, pass))) {
	case LOGIN_OK:
		/* Handed over: the privileged process answers. */
		return s->state == S_HANDOVER ? POP_NONE : auth_welcome(s);
	case LOGIN_REFUSED:
		return POP_ERR;
	case LOGIN_ABORT:
		return POP_CLOSE;
	case LOGIN_CLOSE:
		s->end = "too many auth failures";
		r_err(s, "AUTH", "Authentication failed, closing");
		return POP_CLOSE;
	default:
		return r_err(s, "AUTH", "Authentication failed");
	}
}

static int
cmd_pass(struct session *s, char *arg)
{
	int	r;

	if (!session_plain_ok(s))
		return refuse_plain(s);
	if (!s->have_user)
		return r_err(s, NULL, "USER first");
	r = login(s, s->user, arg);
	explicit_bzero(arg, strlen(arg));
	return r;
}

/* AUTH PLAIN [initial-response]: RFC 5034 and RFC 4616. */
static int
auth_plain(struct session *s, char *ir)
{
	char	line[POP3_LINE_MAX + 2];
	char	authz[POP3_LINE_MAX], authc[POP3_LINE_MAX];
	char	pass[POP3_LINE_MAX];
	int	r;

	if (ir == NULL) {
		if ((r = session_challenge(s, line, sizeof(line))) != IO_LINE) {
			explicit_bzero(line, sizeof(line));
			if (r == IO_LONG || r == IO_BADCHAR)
				return r_err(s, NULL, "Invalid response");
			return session_read_failed(s, r);
		}
		ir = line;
	}
	if (strcmp(ir, "*") == 0)
		return r_err(s, NULL, "Authentication cancelled");
	if (strcmp(ir, "=") == 0)
		ir = "";
	if (sasl_plain_decode(ir, authz, authc, pass, sizeof(pass)) == -1) {
		r = r_err(s, NULL, "Invalid PLAIN response");
	} else if (authz[0] != '\0' && strcmp(authz, authc) != 0) {
		/* No proxy logins: authorize only as oneself. */
		r = login(s, authc, "\001never a password\001");
	} else
		r = login(s, authc, pass);
	explicit_bzero(line, sizeof(line));
	explicit_bzero(pass, sizeof(pass));
	return r;
}

static int
mech_list(struct session *s)
{
	return io_puts(&s->io, "PLAIN\r\n");
}

static int
cmd_auth(struct session *s, char *arg)
{
	char	*mech = arg, *ir;

	if (!session_plain_ok(s))
		return refuse_plain(s);
	if (*arg == '\0') {
		/* Not in RFC 5034, but clients probe this way. */
		s->body = mech_list;
		return r_ok(s, "Methods follow");
	}
	ir = strchr(arg, ' ');
	if (ir != NULL)
		*ir++ = '\0';
	if (strcasecmp(mech, "PLAIN") != 0)
		return r_err(s, NULL, "Unsupported mechanism");
	return auth_plain(s, ir);
}

static int
cmd_stls(struct session *s, char *arg)
{
	(void)arg;
	if (!s->stls || s->tls)
		return r_err(s, NULL, "STLS not available");
	/*
	 * Bytes after STLS were sent before the handshake, so in plaintext:
	 * running them under TLS would let a man in the middle inject
	 * commands (CVE-2011-0411).  Refuse, and close.
	 */
	if (io_pending(&s->io) > 0) {
		s->end = "data after STLS";
		r_err(s, NULL, "Data after STLS, closing");
		return POP_CLOSE;
	}
	/* The process that loads libtls answers (net.c, chan.h). */
	s->state = S_STLS;
	return POP_NONE;
}

const struct command auth_commands[] = {
	{ "USER", cmd_user },
	{ "PASS", cmd_pass },
	{ "AUTH", cmd_auth },
	{ "CAPA", cmd_capa },
	{ "STLS", cmd_stls },
	{ "QUIT", cmd_quit },
	{ NULL, NULL }
};
