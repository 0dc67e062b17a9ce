/* conf.c: popd.conf(5) parsing: every key, every kind of error. */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"

#define MAXERR	32

struct errs {
	int	n;
	int	line[MAXERR];
	char	file[MAXERR][128];
	char	msg[MAXERR][512];
};

/* An expected error: the line and the whole message. */
struct want {
	int		 line;
	const char	*msg;
};

static void
collect(void *arg, const char *file, int line, const char *msg)
{
	struct errs	*e = arg;

	if (e->n < MAXERR) {
		e->line[e->n] = line;
		snprintf(e->file[e->n], sizeof(e->file[0]), "%s", file);
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	}
	e->n++;
}

static void
dump(const struct errs *e)
{
	int	i;

	for (i = 0; i < e->n && i < MAXERR; i++)
		printf("#   %s:%d: %s\n", e->file[i], e->line[i], e->msg[i]);
}

/* Checks that e holds exactly the errors in w (ended by a NULL msg). */
static void
check_errors(const char *name, int rc, const struct errs *e,
    const struct want *w)
{
	int	i, n;

	for (n = 0; w[n].msg != NULL; n++)
		;
	if (!is_int(e->n, n, name))
		dump(e);
	is_int(rc, e->n, "the return value counts the errors");
	for (i = 0; i < n && i < e->n; i++) {
		is_int(e->line[i], w[i].line, w[i].msg);
		is_str(e->msg[i], w[i].msg, w[i].msg);
	}
}

static void
parse_errors(const char *name, const char *text, const struct want *w)
{
	struct conf	c;
	struct errs	e;
	int		rc;

	memset(&e, 0, sizeof(e));
	rc = conf_parse(&c, "test.conf", text, collect, &e);
	check_errors(name, rc, &e, w);
	conf_free(&c);
}

/* The common case: one error on one line. */
static void
one_error(const char *text, int line, const char *msg)
{
	struct want	w[2] = { { line, msg }, { 0, NULL } };

	parse_errors(msg, text, w);
}

static int
parse_ok(struct conf *c, const char *text)
{
	struct errs	e;
	int		rc;

	memset(&e, 0, sizeof(e));
	rc = conf_parse(c, "test.conf", text, collect, &e);
	if (rc != 0 || e.n != 0)
		dump(&e);
	return rc == 0 && e.n == 0;
}

static const char full[] =
	"# popd.conf: every key once\n"
	"tls-cert = /etc/popd/fullchain.pem   # PEM chain\n"
	"tls-key  = /etc/popd/key.pem\n"
	"tls-ocsp-staple = /etc/popd/ocsp.der\n"
	"metrics-file = /var/lib/prom/imapfetch.prom\n"
	"plaintext-auth = always\n"
	"auth-failure-delay = 5s\n"
	"idle-timeout = 10m\n"
	"max-messages = 500\n"
	"imap-timeout = 2m\n"
	"\n"
	"[alice]\n"
	"password = $y$j9T$abc$def\n"
	"maildrop = /var/lib/popd/alice\n"
	"imap-host = imap.example.com\n"
	"imap-port = 10993\n"
	"imap-tls = starttls\n"
	"imap-user = alice@example.com\n"
	"imap-password-file = /etc/popd/alice.imap\n"
	"imap-ca-file = /etc/popd/ca.pem\n"
	"mailboxes = INBOX,  Junk ,Archive/2024\n"
	"after-fetch = delete\n"
	"max-age-days = 30\n"
	"max-message-size = 50M\n"
	"on-new = /usr/local/bin/notify-new alice\n"
	"max-messages = 20\n"
	"imap-timeout = 30\n"
	"\n"
	"[bob]\n"
	"maildrop = /var/lib/popd/bob\n"
	"imap-host = 127.0.0.1\n"
	"imap-tls = none\n"
	"imap-user = bob\n"
	"imap-password-command = pass show bob\n"
	"after-fetch = none\n"
	"\n"
	"[carol]\n"
	"maildrop=/var/lib/popd/carol\n"
	"imap-host=::1\n"
	"imap-tls=none-i-know\n"
	"imap-user=carol\n"
	"imap-password = \"s3cr#t \\\"q\\\" \\\\\"\n"
	"\n"
	"  [dave]   # indented header, trailing comment\n"
	"\tmaildrop = /var/lib/popd/dave\n"
	"after-fetch = seen\n"
	"imap-host = mail.example.org\n"
	"imap-tls = implicit\n"
	"imap-user = d\n"
	"imap-oauth2-command = oauth2 --user d\n"
	"max-messages = 0\n"
	"[a.B_c@d+e-f]\n"
	"maildrop = /m\n";

static void
test_full(void)
{
	struct conf		 c;
	const struct account	*a;

	ok(parse_ok(&c, full), "a file with every key parses");
	is_str(c.path, "test.conf", "path is the name given");
	is_str(c.tls_cert, "/etc/popd/fullchain.pem", "tls-cert");
	is_str(c.tls_key, "/etc/popd/key.pem", "tls-key");
	is_str(c.tls_ocsp_staple, "/etc/popd/ocsp.der", "tls-ocsp-staple");
	is_str(c.metrics_file, "/var/lib/prom/imapfetch.prom",
	    "metrics-file");
	is_int(c.plaintext_auth, PA_ALWAYS, "plaintext-auth");
	is_int(c.auth_failure_delay, 5, "auth-failure-delay 5s");
	is_int(c.idle_timeout, 600, "idle-timeout 10m");
	is_int(c.max_messages, 500, "global max-messages");
	is_int(c.imap_timeout, 120, "global imap-timeout 2m");
	is_int(c.naccounts, 5, "five sections");

	a = conf_account(&c, "alice");
	ok(a == &c.accounts[0], "alice is the first account");
	if (a == NULL)
		return;
	is_str(a->name, "alice", "name");
	is_int(a->line, 12, "line of [alice]");
	is_str(a->password, "$y$j9T$abc$def", "password");
	is_str(a->maildrop, "/var/lib/popd/alice", "maildrop");
	is_str(a->imap_host, "imap.example.com", "imap-host");
	is_int(a->imap_port, 10993, "imap-port");
	is_int(a->imap_tls, IT_STARTTLS, "imap-tls starttls");
	is_str(a->imap_user, "alice@example.com", "imap-user");
	is_str(a->imap_password_file, "/etc/popd/alice.imap",
	    "imap-password-file");
	is_str(a->imap_ca_file, "/etc/popd/ca.pem", "imap-ca-file");
	is_int(a->nmailboxes, 3, "three mailboxes");
	if (a->nmailboxes == 3) {
		is_str(a->mailboxes[0], "INBOX", "mailbox 1");
		is_str(a->mailboxes[1], "Junk", "mailbox 2, trimmed");
		is_str(a->mailboxes[2], "Archive/2024", "mailbox 3, trimmed");
	}
	is_int(a->after_fetch, AF_DELETE, "after-fetch delete");
	is_int(a->max_age_days, 30, "max-age-days");
	ok(a->max_message_size == 50ULL * 1024 * 1024, "max-message-size 50M");
	is_str(a->on_new, "/usr/local/bin/notify-new alice", "on-new");
	is_int(a->max_messages, 20, "section max-messages overrides");
	is_int(a->imap_timeout, 30, "section imap-timeout overrides");
	ok(a->imap_password_command == NULL && a->imap_oauth2_command == NULL
	    && a->imap_password == NULL, "other secrets unset");

	a = &c.accounts[1];
	is_str(a->name, "bob", "bob");
	ok(a->password == NULL, "no password: no POP3 login");
	is_int(a->imap_tls, IT_NONE, "imap-tls none on loopback");
	is_int(a->imap_port, 0, "imap-port default 0");
	is_str(a->imap_password_command, "pass show bob",
	    "imap-password-command");
	is_int(a->after_fetch, AF_NONE, "after-fetch none");
	is_int(a->max_messages, 500, "max-messages inherited");
	is_int(a->imap_timeout, 120, "imap-timeout inherited");
	is_int(a->nmailboxes, 1, "default mailboxes");
	if (a->nmailboxes == 1)
		is_str(a->mailboxes[0], "INBOX", "default mailbox INBOX");

	a = &c.accounts[2];
	is_str(a->name, "carol", "carol, no blanks around =");
	is_str(a->maildrop, "/var/lib/popd/carol", "maildrop without blanks");
	is_int(a->imap_tls, IT_NONE_I_KNOW, "imap-tls none-i-know");
	is_str(a->imap_host, "::1", "IPv6 imap-host");
	is_str(a->imap_password, "s3cr#t \"q\" \\",
	    "quoted imap-password with # and escapes");

	a = &c.accounts[3];
	is_str(a->name, "dave", "indented header with comment");
	is_int(a->line, 44, "line of [dave]");
	is_str(a->maildrop, "/var/lib/popd/dave", "tab-indented key");
	is_int(a->imap_tls, IT_IMPLICIT, "imap-tls implicit");
	is_int(a->after_fetch, AF_SEEN, "after-fetch seen");
	is_str(a->imap_oauth2_command, "oauth2 --user d", "imap-oauth2-command");
	is_int(a->max_messages, 0, "section max-messages 0");

	ok(conf_account(&c, "a.B_c@d+e-f") == &c.accounts[4],
	    "every name character");
	ok(conf_account(&c, "Alice") == NULL, "lookup is case-sensitive");
	ok(conf_account(&c, "alic") == NULL, "lookup is exact");
	conf_free(&c);
	ok(c.accounts == NULL && c.naccounts == 0 && c.path == NULL &&
	    c.tls_cert == NULL, "conf_free zeroes");
}

static void
test_defaults(void)
{
	struct conf		 c;
	const struct account	*a;

	ok(parse_ok(&c, ""), "an empty file is valid");
	is_int(c.plaintext_auth, PA_TLS_OR_LOOPBACK, "default plaintext-auth");
	is_int(c.auth_failure_delay, POPD_AUTH_DELAY, "default delay");
	is_int(c.idle_timeout, POPD_IDLE_TIMEOUT, "default idle-timeout");
	is_int(c.idle_timeout, 600, "idle-timeout is 600");
	is_int(c.max_messages, POPD_MAX_MESSAGES, "default max-messages");
	is_int(c.imap_timeout, IMAP_TIMEOUT, "default imap-timeout");
	ok(c.tls_cert == NULL && c.tls_key == NULL &&
	    c.tls_ocsp_staple == NULL && c.metrics_file == NULL,
	    "no paths by default");
	is_int(c.naccounts, 0, "no accounts");
	conf_free(&c);

	ok(parse_ok(&c, "[u]\nmaildrop = /m\n"), "a minimal section");
	a = conf_account(&c, "u");
	ok(a != NULL, "found");
	if (a != NULL) {
		ok(a->imap_host == NULL && a->imap_user == NULL &&
		    a->password == NULL && a->on_new == NULL &&
		    a->imap_ca_file == NULL, "optional strings NULL");
		is_int(a->imap_tls, IT_IMPLICIT, "default imap-tls");
		is_int(a->after_fetch, AF_SEEN, "default after-fetch");
		is_int(a->max_age_days, 0, "default max-age-days");
		ok(a->max_message_size == 0, "default max-message-size");
		is_int(a->max_messages, POPD_MAX_MESSAGES,
		    "max-messages from the default");
		is_int(a->imap_timeout, IMAP_TIMEOUT,
		    "imap-timeout from the default");
		is_int(a->nmailboxes, 1, "one default mailbox");
	}
	conf_free(&c);
}

static void
test_syntax(void)
{
	struct conf	c;
	char		line[CONF_LINE_MAX + 64];
	size_t		n;

	ok(parse_ok(&c,
	    "# comment\n"
	    "   # indented comment\n"
	    "\t\n"
	    "\n"
	    "[u]   \n"
	    "maildrop = /a#b\n"
	    "on-new = x\t# comment\n"
	    "imap-user = \"  blanks # kept  \"  # comment\n"
	    "imap-host = h\n"
	    "imap-password-command =#notacomment\n"
	    "mailboxes = \"INBOX\"\n"), "comments, blanks and quotes");
	if (c.naccounts == 1) {
		is_str(c.accounts[0].maildrop, "/a#b", "# inside a value kept");
		is_str(c.accounts[0].on_new, "x", "comment after a tab");
		is_str(c.accounts[0].imap_user, "  blanks # kept  ",
		    "quoted value keeps blanks and #");
		is_str(c.accounts[0].imap_password_command, "#notacomment",
		    "# right after = is a value");
		is_str(c.accounts[0].mailboxes[0], "INBOX", "quoted list");
	}
	conf_free(&c);

	ok(parse_ok(&c, "idle-timeout = 30\r\n\r\n# c\r\n[u]\r\n"
	    "maildrop = /m\r\nimap-host = h\r\nimap-user = \"u\"  \r\n"
	    "imap-password-file = /p\r\n"), "CRLF line endings");
	is_int(c.idle_timeout, 30, "value before CRLF");
	if (c.naccounts == 1) {
		is_str(c.accounts[0].maildrop, "/m", "no CR in a value");
		is_str(c.accounts[0].imap_user, "u", "quoted before CRLF");
	}
	conf_free(&c);

	ok(parse_ok(&c, "[u]\nmaildrop = /m"), "no newline at the end");
	is_int(c.naccounts, 1, "last line read");
	conf_free(&c);

	ok(parse_ok(&c, "[u]\nmaildrop = \"/a\\\\b\\\"c\"\n"), "escapes");
	if (c.naccounts == 1)
		is_str(c.accounts[0].maildrop, "/a\\b\"c", "\\\\ and \\\"");
	conf_free(&c);

	/* A line of exactly CONF_LINE_MAX bytes is fine, one more is not. */
	n = (size_t)snprintf(line, sizeof(line), "[u]\nmaildrop = /m\non-new = ");
	memset(line + n, 'x', CONF_LINE_MAX - 9);
	strcpy(line + n + CONF_LINE_MAX - 9, "\r\n");
	ok(parse_ok(&c, line), "a line of CONF_LINE_MAX bytes");
	if (c.naccounts == 1)
		is_int(strlen(c.accounts[0].on_new), CONF_LINE_MAX - 9,
		    "long value kept whole");
	conf_free(&c);
	memset(line + n, 'x', CONF_LINE_MAX - 8);
	strcpy(line + n + CONF_LINE_MAX - 8, "\nbogus = 1\n");
	{
		struct want w[] = {
			{ 3, "line longer than 4096 bytes" },
			{ 4, "unknown key \"bogus\"" },
			{ 0, NULL }
		};
		parse_errors("an overlong line is an error, not truncated",
		    line, w);
	}
}

static void
test_errors(void)
{
	one_error("foo = 1\n", 1, "unknown key \"foo\"");
	one_error("\n[u]\nmaildrop = /m\nMaildrop = /n\n", 4,
	    "unknown key \"Maildrop\"");
	one_error("[u]\nmaildrop = /m\nmaildrop = /n\n", 3,
	    "duplicate key \"maildrop\"");
	one_error("tls-cert = /c\ntls-key = /k\ntls-cert = /c\n", 3,
	    "duplicate key \"tls-cert\"");
	one_error("[alice]\nmaildrop = /m\n[bob]\nmaildrop = /b\n"
	    "[alice]\nmaildrop = /m\n", 5, "duplicate section [alice]");
	one_error("idle-timeout = 10x\n", 1,
	    "bad value for \"idle-timeout\": \"10x\"");
	one_error("idle-timeout = 5\n", 1,
	    "bad value for \"idle-timeout\": \"5\" (10..86400 seconds)");
	one_error("idle-timeout = 2d\n", 1,
	    "bad value for \"idle-timeout\": \"2d\" (10..86400 seconds)");
	one_error("auth-failure-delay = 3601\n", 1, "bad value for "
	    "\"auth-failure-delay\": \"3601\" (0..3600 seconds)");
	one_error("max-messages = 10000001\n", 1, "bad value for "
	    "\"max-messages\": \"10000001\" (0..10000000)");
	one_error("max-messages = -1\n", 1,
	    "bad value for \"max-messages\": \"-1\"");
	one_error("imap-timeout = 0\n", 1, "bad value for "
	    "\"imap-timeout\": \"0\" (1..3600 seconds)");
	one_error("imap-timeout = 61m\n", 1, "bad value for "
	    "\"imap-timeout\": \"61m\" (1..3600 seconds)");
	one_error("plaintext-auth = never\n", 1, "bad value for "
	    "\"plaintext-auth\": \"never\" (one of tls, tls-or-loopback, "
	    "always)");
	one_error("tls-cert = /c\ntls-key = /k\n[alice]\nmaildrop = /m\n"
	    "tls-cert = /x  # comment\n", 5,
	    "global key \"tls-cert\" inside section [alice]");
	one_error("maildrop = /m\n", 1, "key \"maildrop\" outside a section");
	one_error("[alice]\npassword = $1$x\n", 1,
	    "section [alice] has no maildrop");
	one_error("[alice]\nmaildrop = \n", 2, "empty value for \"maildrop\"");
	one_error("[alice]\nmaildrop = \"\"\n", 2,
	    "empty value for \"maildrop\"");
	one_error("[alice]\nmaildrop = /m\non-new = # only a comment\n", 3,
	    "empty value for \"on-new\"");
	one_error("[.alice]\nmaildrop = /m\n", 1, "bad section name [.alice]");
	one_error("[al ice]\nmaildrop = /m\n", 1, "bad section name [al ice]");
	one_error("[]\nmaildrop = /m\n", 1, "bad section name []");
	one_error("[a/b]\nmaildrop = /m\n", 1, "bad section name [a/b]");
	one_error("[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]"
	    "\nmaildrop = /m\n", 1, "bad section name "
	    "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...]");
	one_error("[alice\nmaildrop = /m\n", 1,
	    "missing \"]\" in section header");
	one_error("[alice] x\nmaildrop = /m\n", 1,
	    "text after section header [alice]");
	one_error("[alice]#x\nmaildrop = /m\n", 1,
	    "text after section header [alice]");
	one_error("[u]\nmaildrop /m\n", 2, "missing \"=\" after \"maildrop\"");
	one_error("[u]\nmaildrop = /m\nmaildrop\n", 3,
	    "missing \"=\" after \"maildrop\"");
	one_error("= x\n", 1, "missing key before \"=\"");
	one_error("[u]\nmaildrop = /m\non-new = \"abc\n", 3,
	    "bad quoting in value of \"on-new\"");
	one_error("[u]\nmaildrop = /m\non-new = \"a\\nb\"\n", 3,
	    "bad quoting in value of \"on-new\"");
	one_error("[u]\nmaildrop = /m\non-new = \"a\" b\n", 3,
	    "bad quoting in value of \"on-new\"");
	one_error("[u]\nmaildrop = /m\non-new = \"a\"# b\n", 3,
	    "bad quoting in value of \"on-new\"");
	one_error("[u]\nmaildrop = /m\non-new = a\x01" "b\n", 3,
	    "control character in value of \"on-new\"");
	one_error("[u]\nmaildrop = /m\non-new = a\rb\n", 3,
	    "control character in value of \"on-new\"");
}

static void
test_values(void)
{
	static const char *const paths[] = {
		"tls-cert", "tls-key", "tls-ocsp-staple", "metrics-file"
	};
	char	text[256], msg[256];
	size_t	i;

	/* tls-cert and tls-key are set first, valid, unless under test. */
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(text, sizeof(text), "tls-cert = %s\ntls-key = %s\n"
		    "%s = %s\n", i == 0 ? "etc/x" : "/c", i == 1 ? "etc/x" :
		    "/k", i < 2 ? "# nothing" : paths[i], "etc/x");
		snprintf(msg, sizeof(msg), "bad value for \"%s\": \"etc/x\" "
		    "(not an absolute path)", paths[i]);
		one_error(text, i < 2 ? (int)i + 1 : 3, msg);
	}
	one_error("[u]\nmaildrop = ~/Maildir\n", 2, "bad value for "
	    "\"maildrop\": \"~/Maildir\" (not an absolute path)");
	one_error("[u]\nmaildrop = /m\nimap-host = h\nimap-user = u\n"
	    "imap-password-file = p\n", 5, "bad value for "
	    "\"imap-password-file\": \"p\" (not an absolute path)");
	one_error("[u]\nmaildrop = /m\nimap-host = h\nimap-user = u\n"
	    "imap-password-file = /p\nimap-ca-file = ca.pem\n", 6,
	    "bad value for \"imap-ca-file\": \"ca.pem\" (not an absolute "
	    "path)");

	one_error("[u]\nmaildrop = /m\npassword = secret\n", 3,
	    "bad value for \"password\" (not a crypt(3) hash: make one with "
	    "popd --hash-password)");
	one_error("[u]\nmaildrop = /m\npassword = \"$1$ab cd\"\n", 3,
	    "bad value for \"password\" (not a crypt(3) hash: make one with "
	    "popd --hash-password)");
	one_error("[u]\nmaildrop = /m\nimap-host = \"imap example.com\"\n"
	    "imap-user = u\nimap-password-file = /p\n", 3,
	    "bad value for \"imap-host\": \"imap example.com\"");
	one_error("[u]\nmaildrop = /m\nimap-host = h/x\nimap-user = u\n"
	    "imap-password-file = /p\n", 3,
	    "bad value for \"imap-host\": \"h/x\"");
	one_error("[u]\nmaildrop = /m\nimap-host = h\nimap-user = u\n"
	    "imap-password-file = /p\nimap-port = 0\n", 6,
	    "bad value for \"imap-port\": \"0\" (1..65535)");
	one_error("[u]\nmaildrop = /m\nimap-host = h\nimap-user = u\n"
	    "imap-password-file = /p\nimap-port = 65536\n", 6,
	    "bad value for \"imap-port\": \"65536\" (1..65535)");
	one_error("[u]\nmaildrop = /m\nimap-host = h\nimap-user = u\n"
	    "imap-password-file = /p\nimap-port = imaps\n", 6,
	    "bad value for \"imap-port\": \"imaps\"");
	one_error("[u]\nmaildrop = /m\nimap-host = h\nimap-user = u\n"
	    "imap-password-file = /p\nimap-tls = ssl\n", 6,
	    "bad value for \"imap-tls\": \"ssl\" (one of implicit, starttls, "
	    "none, none-i-know)");
	one_error("[u]\nmaildrop = /m\nafter-fetch = expunge\n", 3,
	    "bad value for \"after-fetch\": \"expunge\" (one of seen, delete, "
	    "none)");
	one_error("[u]\nmaildrop = /m\nmax-age-days = 36501\n", 3,
	    "bad value for \"max-age-days\": \"36501\" (0..36500)");
	one_error("[u]\nmaildrop = /m\nmax-message-size = 50MB\n", 3,
	    "bad value for \"max-message-size\": \"50MB\"");
	one_error("[u]\nmaildrop = /m\nmax-message-size = 99999999999G\n", 3,
	    "bad value for \"max-message-size\": \"99999999999G\" "
	    "(0..18446744073709551615)");
	one_error("[u]\nmaildrop = /m\nmailboxes = INBOX,,Junk\n", 3,
	    "bad value for \"mailboxes\": \"INBOX,,Junk\" (empty mailbox "
	    "name)");
	one_error("[u]\nmaildrop = /m\nmailboxes = INBOX, \n", 3,
	    "bad value for \"mailboxes\": \"INBOX,\" (empty mailbox name)");
	one_error("[u]\nmaildrop = /m\nmailboxes = \" , INBOX\"\n", 3,
	    "bad value for \"mailboxes\": \" , INBOX\" (empty mailbox name)");
	one_error("[u]\nmaildrop = /m\nmailboxes = ,\n", 3,
	    "bad value for \"mailboxes\": \",\" (empty mailbox name)");
	one_error("[u]\nmaildrop = /m\non-new = "
	    "\"0123456789012345678901234567890123456789012345678901234567890123"
	    "456789\"\nbogus"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "456789 = x\n", 4, "unknown key "
	    "\"bogus01234567890123456789012345678901234567890123456789012345"
	    "678...\"");
	one_error("[u\x01]\nmaildrop = /m\n", 1, "bad section name [u?]");
}

static void
test_imap_checks(void)
{
	static const char *const loopback[] = {
		"localhost", "LocalHost", "127.0.0.1", "127.1.2.3", "::1"
	};
	struct conf	c;
	char		text[256];
	size_t		i;

	one_error("[u]\nmaildrop = /m\nimap-user = u\n", 3,
	    "\"imap-user\" without imap-host in section [u]");
	{
		struct want w[] = {
			{ 3, "\"imap-timeout\" without imap-host in section [u]" },
			{ 5, "\"imap-port\" without imap-host in section [u]" },
			{ 4, "\"imap-password\" without imap-host in section "
			    "[u]" },
			{ 0, NULL }
		};
		/* Reported in key table order, each at its own line. */
		parse_errors("imap-* keys without imap-host",
		    "[u]\nmaildrop = /m\nimap-timeout = 5\n"
		    "imap-password = x\nimap-port = 1\n", w);
	}
	one_error("[u]\nmaildrop = /m\nimap-host = h\n"
	    "imap-password-file = /p\n", 1,
	    "section [u] has imap-host but no imap-user");
	one_error("[u]\nmaildrop = /m\nimap-host = h\nimap-user = u\n", 1,
	    "section [u] needs exactly one of imap-password-file, "
	    "imap-password-command, imap-oauth2-command, imap-password");
	one_error("[u]\nmaildrop = /m\nimap-host = h\nimap-user = u\n"
	    "imap-password-command = c\nimap-oauth2-command = o\n", 1,
	    "section [u] needs exactly one of imap-password-file, "
	    "imap-password-command, imap-oauth2-command, imap-password");
	one_error("[u]\nmaildrop = /m\nimap-host = h\nimap-user = u\n"
	    "imap-password-file = /p\nimap-password = x\n", 1,
	    "section [u] needs exactly one of imap-password-file, "
	    "imap-password-command, imap-oauth2-command, imap-password");
	one_error("[u]\nmaildrop = /m\nimap-host = imap.example.com\n"
	    "imap-tls = none\nimap-user = u\nimap-password-file = /p\n", 4,
	    "imap-tls = none would send the password in clear to "
	    "imap.example.com: use none-i-know to allow it");
	one_error("[u]\nmaildrop = /m\nimap-host = 128.0.0.1\n"
	    "imap-user = u\nimap-password-file = /p\nimap-tls = none\n", 6,
	    "imap-tls = none would send the password in clear to "
	    "128.0.0.1: use none-i-know to allow it");
	one_error("[u]\nmaildrop = /m\nimap-host = ::2\n"
	    "imap-user = u\nimap-password-file = /p\nimap-tls = none\n", 6,
	    "imap-tls = none would send the password in clear to "
	    "::2: use none-i-know to allow it");
	for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		snprintf(text, sizeof(text), "[u]\nmaildrop = /m\n"
		    "imap-host = %s\nimap-user = u\nimap-password-file = /p\n"
		    "imap-tls = none\n", loopback[i]);
		ok(parse_ok(&c, text), "imap-tls = none is fine on loopback");
		conf_free(&c);
	}
	ok(parse_ok(&c, "[u]\nmaildrop = /m\nimap-host = imap.example.com\n"
	    "imap-user = u\nimap-password-file = /p\nimap-tls = none-i-know\n"),
	    "none-i-know to a remote host is accepted");
	conf_free(&c);
}

static void
test_globals(void)
{
	one_error("tls-cert = /c\n[u]\nmaildrop = /m\n", 1,
	    "\"tls-cert\" without \"tls-key\"");
	one_error("\ntls-key = /k\n", 2, "\"tls-key\" without \"tls-cert\"");
	one_error("tls-ocsp-staple = /o\n", 1,
	    "\"tls-ocsp-staple\" without \"tls-cert\"");
}

/* Many errors in one file: all reported, in order, with their lines. */
static void
test_many(void)
{
	static const struct want w[] = {
		{ 2, "unknown key \"colour\"" },
		{ 3, "bad value for \"idle-timeout\": \"forever\"" },
		{ 5, "bad value for \"maildrop\": \"relative\" (not an "
		    "absolute path)" },
		{ 6, "global key \"plaintext-auth\" inside section [alice]" },
		{ 8, "bad section name [-x y]" },
		{ 9, "empty value for \"maildrop\"" },
		{ 10, "duplicate section [alice]" },
		{ 11, "bad value for \"password\" (not a crypt(3) hash: make "
		    "one with popd --hash-password)" },
		{ 13, "section [bob] has no maildrop" },
		{ 0, NULL }
	};
	struct conf	c;
	struct errs	e;
	int		rc;

	memset(&e, 0, sizeof(e));
	rc = conf_parse(&c, "many.conf", "# errors everywhere\n"
	    "colour = blue\n"
	    "idle-timeout = forever\n"
	    "[alice]\n"
	    "maildrop = relative\n"
	    "plaintext-auth = always\n"
	    "\n"
	    "[-x y]\n"
	    "maildrop =\n"
	    "[alice]\n"
	    "password = hunter2\n"
	    "maildrop = /ok\n"
	    "[bob]\n", collect, &e);
	check_errors("all errors are reported", rc, &e, w);
	ok(strcmp(e.file[0], "many.conf") == 0, "the file name is passed");
	ok(strstr(e.msg[7], "hunter2") == NULL, "a password is never shown");
	is_int(c.naccounts, 2, "[alice] and [bob] kept, the others dropped");
	if (c.naccounts == 2)
		ok(c.accounts[0].maildrop == NULL,
		    "the first [alice] is the one kept");
	conf_free(&c);
}

static char tmpdir[] = "/tmp/conf-test.XXXXXX";

static const char *
write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	static char	path[256];
	int		fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) == -1 ||
	    close(fd) == -1) {
		printf("# cannot write %s\n", path);
		return path;
	}
	return path;
}

static int
load(struct conf *c, const char *path, struct errs *e)
{
	memset(e, 0, sizeof(*e));
	return conf_load(c, path, collect, e);
}

static void
test_load(void)
{
	static const char secret[] = "[u]\nmaildrop = /m\nimap-host = h\n"
	    "imap-user = u\nimap-password = \"pa ss\"\n";
	static const char nul[] = "[u]\nmaildrop = /m\non-new = a\x00x\n"
	    "foo = 1\n";
	struct conf	 c;
	struct errs	 e;
	const char	*path;
	char		*big;
	size_t		 i;

	path = write_file("ok.conf", secret, strlen(secret), 0600);
	is_int(load(&c, path, &e), 0, "inline imap-password, mode 0600");
	is_str(c.path, path, "path kept");
	if (c.naccounts == 1)
		is_str(c.accounts[0].imap_password, "pa ss", "secret read");
	conf_free(&c);

	path = write_file("ro.conf", secret, strlen(secret), 0400);
	is_int(load(&c, path, &e), 0, "inline imap-password, mode 0400");
	conf_free(&c);

	path = write_file("open.conf", secret, strlen(secret), 0644);
	is_int(load(&c, path, &e), 1, "inline imap-password, mode 0644");
	is_int(e.line[0], 5, "reported at the imap-password line");
	is_str(e.msg[0], "\"imap-password\" in a file that group or others "
	    "can read: chmod 600 it", "mode message");
	is_str(e.file[0], path, "file name in the error");
	ok(strstr(e.msg[0], "pa ss") == NULL, "the secret is not shown");
	conf_free(&c);

	path = write_file("gx.conf", secret, strlen(secret), 0610);
	is_int(load(&c, path, &e), 1, "group execute bit counts too");
	conf_free(&c);

	path = write_file("open2.conf", "[u]\nmaildrop = /m\n", 18, 0644);
	is_int(load(&c, path, &e), 0, "0644 is fine without inline secrets");
	conf_free(&c);

	path = write_file("nul.conf", nul, sizeof(nul) - 1, 0600);
	is_int(load(&c, path, &e), 2, "NUL byte: an error, parse goes on");
	is_int(e.line[0], 3, "NUL reported at its line");
	is_str(e.msg[0], "NUL byte in line", "NUL message");
	is_int(e.line[1], 4, "next error found after the NUL");
	is_str(e.msg[1], "unknown key \"foo\"", "error after the NUL");
	conf_free(&c);

	is_int(load(&c, "/nonexistent/popd.conf", &e), 1, "missing file");
	is_int(e.line[0], 0, "line 0 for the file as a whole");
	is_str(e.msg[0], "cannot open: No such file or directory",
	    "open error message");
	conf_free(&c);

	is_int(load(&c, tmpdir, &e), 1, "a directory");
	is_str(e.msg[0], "cannot read: Is a directory", "read error message");
	conf_free(&c);

	if ((big = malloc(1024 * 1024 + 1)) == NULL)
		return;
	for (i = 0; i < 1024 * 1024 + 1; i++)
		big[i] = i % 64 == 63 ? '\n' : '#';
	path = write_file("big.conf", big, 1024 * 1024 + 1, 0600);
	is_int(load(&c, path, &e), 1, "a file over 1 MiB");
	is_int(e.line[0], 0, "line 0");
	is_str(e.msg[0], "file too large (over 1048576 bytes)", "size message");
	conf_free(&c);
	path = write_file("big.conf", big, 1024 * 1024, 0600);
	is_int(load(&c, path, &e), 0, "a file of exactly 1 MiB");
	conf_free(&c);
	free(big);

	is_int(conf_parse(&c, "s", secret, collect, &e), 0,
	    "conf_parse skips the mode check");
	conf_free(&c);
}

static void
test_names(void)
{
	ok(conf_valid_name("alice"), "alice");
	ok(conf_valid_name("a"), "one character");
	ok(conf_valid_name("Alice.Smith_1@example.com+pop-3"), "all classes");
	ok(conf_valid_name("a.") && conf_valid_name("-a"), "dot inside, - first");
	ok(conf_valid_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa"), "64 characters");
	ok(!conf_valid_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaa"), "65 characters");
	ok(!conf_valid_name(""), "empty");
	ok(!conf_valid_name(".alice"), "leading dot");
	ok(!conf_valid_name("al ice"), "space");
	ok(!conf_valid_name("a/b"), "slash");
	ok(!conf_valid_name("a:b"), "colon");
	ok(!conf_valid_name("\xc3\xa9"), "non-ASCII");
	ok(!conf_valid_name("a]"), "bracket");
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_full();
	test_defaults();
	test_syntax();
	test_errors();
	test_values();
	test_imap_checks();
	test_globals();
	test_many();
	test_load();
	test_names();
	{
		char cmd[sizeof(tmpdir) + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			printf("# cannot remove %s\n", tmpdir);
	}
	return done_testing();
}
