/*
 * conf.c: popd.conf(5).
 *
 * One table says, for every key, where it may appear, how its value is
 * checked and where it is stored; the parser knows keys by name only for
 * the checks that span several keys (check_section, check_globals).
 * Errors never stop the parse: an administrator fixing a file wants to see
 * all of them at once.  Secrets (password, imap-password) are never copied
 * into a message.
 */
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "num.h"
#include "util.h"

/* Longest piece of file text quoted in an error message. */
#define SHOW_MAX	64

#define BLANKS		" \t"

enum scope { SC_GLOBAL = 1, SC_SECTION = 2, SC_BOTH = 3 };

/* The types stored as a char * come first (see is_string). */
enum type {
	T_STRING,	/* any text */
	T_PATH,		/* an absolute path */
	T_HOST,		/* a host name or IP literal */
	T_HASH,		/* a crypt(3) hash; never shown */
	T_SECRET,	/* an inline secret; never shown */
	T_UINT,		/* a number in min..max */
	T_DURATION,	/* seconds, with an optional s/m/h/d */
	T_SIZE,		/* bytes, with an optional K/M/G */
	T_ENUM,		/* one of choices, stored as its index */
	T_LIST,		/* mailboxes: a comma-separated list */
	T_NETS		/* proxy-trusted: networks, comma-separated */
};

enum key_id {
	K_TLS_CERT, K_TLS_KEY, K_TLS_OCSP_STAPLE, K_METRICS_FILE,
	K_PLAINTEXT_AUTH, K_AUTH_FAILURE_DELAY, K_IDLE_TIMEOUT,
	K_MAX_MESSAGES, K_IMAP_TIMEOUT, K_WATCH_INTERVAL, K_PROXY_TRUSTED,
	K_PASSWORD, K_MAILDROP, K_IMAP_HOST, K_IMAP_PORT, K_IMAP_TLS,
	K_IMAP_USER, K_IMAP_PASSWORD_FILE, K_IMAP_PASSWORD_COMMAND,
	K_IMAP_OAUTH2_COMMAND, K_IMAP_PASSWORD, K_IMAP_CA_FILE, K_MAILBOXES,
	K_FETCH, K_AFTER_FETCH, K_MAX_AGE_DAYS, K_MAX_MESSAGE_SIZE, K_ON_NEW,
	NKEYS
};

struct key {
	const char		*name;
	enum scope		 scope;
	enum type		 type;
	size_t			 goff;		/* in struct conf, or NOFF */
	size_t			 aoff;		/* in struct account, or NOFF */
	uint64_t		 min, max;	/* numbers */
	const char *const	*choices;	/* T_ENUM, in enum order */
};

#define NOFF	((size_t)-1)
#define is_string(t)	((t) <= T_SECRET)
#define G(f)	offsetof(struct conf, f)
#define A(f)	offsetof(struct account, f)

static const char *const plaintext_auth_names[] = {
	"tls", "tls-or-loopback", "always", NULL
};
static const char *const imap_tls_names[] = {
	"implicit", "starttls", "none", "none-i-know", NULL
};
static const char *const fetch_names[] = {
	"unseen", "all", NULL
};
static const char *const after_fetch_names[] = {
	"seen", "delete", "none", NULL
};

/* T_ENUM values are stored through an unsigned *. */
_Static_assert(sizeof(enum plaintext_auth) == sizeof(unsigned) &&
    sizeof(enum imap_tls) == sizeof(unsigned) &&
    sizeof(enum after_fetch) == sizeof(unsigned) &&
    sizeof(enum fetch_what) == sizeof(unsigned), "enum size");

static const struct key keys[NKEYS] = {
	[K_TLS_CERT] = { "tls-cert", SC_GLOBAL, T_PATH, G(tls_cert), NOFF },
	[K_TLS_KEY] = { "tls-key", SC_GLOBAL, T_PATH, G(tls_key), NOFF },
	[K_TLS_OCSP_STAPLE] = { "tls-ocsp-staple", SC_GLOBAL, T_PATH,
	    G(tls_ocsp_staple), NOFF },
	[K_METRICS_FILE] = { "metrics-file", SC_GLOBAL, T_PATH,
	    G(metrics_file), NOFF },
	[K_PLAINTEXT_AUTH] = { "plaintext-auth", SC_GLOBAL, T_ENUM,
	    G(plaintext_auth), NOFF, 0, 0, plaintext_auth_names },
	[K_AUTH_FAILURE_DELAY] = { "auth-failure-delay", SC_GLOBAL,
	    T_DURATION, G(auth_failure_delay), NOFF, 0, 3600 },
	/* RFC 1939 wants 10 minutes; below 10 s no client could type. */
	[K_IDLE_TIMEOUT] = { "idle-timeout", SC_GLOBAL, T_DURATION,
	    G(idle_timeout), NOFF, 10, 86400 },
	[K_MAX_MESSAGES] = { "max-messages", SC_BOTH, T_UINT,
	    G(max_messages), A(max_messages), 0, 10000000 },
	[K_IMAP_TIMEOUT] = { "imap-timeout", SC_BOTH, T_DURATION,
	    G(imap_timeout), A(imap_timeout), 1, 3600 },
	[K_WATCH_INTERVAL] = { "watch-interval", SC_BOTH, T_DURATION,
	    G(watch_interval), A(watch_interval), 1, 86400 },
	[K_PROXY_TRUSTED] = { "proxy-trusted", SC_GLOBAL, T_NETS,
	    G(proxy_trusted), NOFF },
	[K_PASSWORD] = { "password", SC_SECTION, T_HASH, NOFF, A(password) },
	[K_MAILDROP] = { "maildrop", SC_SECTION, T_PATH, NOFF, A(maildrop) },
	[K_IMAP_HOST] = { "imap-host", SC_SECTION, T_HOST, NOFF,
	    A(imap_host) },
	[K_IMAP_PORT] = { "imap-port", SC_SECTION, T_UINT, NOFF,
	    A(imap_port), 1, 65535 },
	[K_IMAP_TLS] = { "imap-tls", SC_SECTION, T_ENUM, NOFF, A(imap_tls),
	    0, 0, imap_tls_names },
	[K_IMAP_USER] = { "imap-user", SC_SECTION, T_STRING, NOFF,
	    A(imap_user) },
	[K_IMAP_PASSWORD_FILE] = { "imap-password-file", SC_SECTION, T_PATH,
	    NOFF, A(imap_password_file) },
	[K_IMAP_PASSWORD_COMMAND] = { "imap-password-command", SC_SECTION,
	    T_STRING, NOFF, A(imap_password_command) },
	[K_IMAP_OAUTH2_COMMAND] = { "imap-oauth2-command", SC_SECTION,
	    T_STRING, NOFF, A(imap_oauth2_command) },
	[K_IMAP_PASSWORD] = { "imap-password", SC_SECTION, T_SECRET, NOFF,
	    A(imap_password) },
	[K_IMAP_CA_FILE] = { "imap-ca-file", SC_SECTION, T_PATH, NOFF,
	    A(imap_ca_file) },
	[K_MAILBOXES] = { "mailboxes", SC_SECTION, T_LIST, NOFF,
	    A(mailboxes) },
	[K_FETCH] = { "fetch", SC_SECTION, T_ENUM, NOFF, A(fetch), 0, 0,
	    fetch_names },
	[K_AFTER_FETCH] = { "after-fetch", SC_SECTION, T_ENUM, NOFF,
	    A(after_fetch), 0, 0, after_fetch_names },
	[K_MAX_AGE_DAYS] = { "max-age-days", SC_SECTION, T_UINT, NOFF,
	    A(max_age_days), 0, 36500 },
	[K_MAX_MESSAGE_SIZE] = { "max-message-size", SC_SECTION, T_SIZE,
	    NOFF, A(max_message_size), 0, UINT64_MAX },
	[K_ON_NEW] = { "on-new", SC_SECTION, T_STRING, NOFF, A(on_new) },
};

/* With imap-host, exactly one of these says how to log in. */
static const enum key_id secret_keys[] = {
	K_IMAP_PASSWORD_FILE, K_IMAP_PASSWORD_COMMAND, K_IMAP_OAUTH2_COMMAND,
	K_IMAP_PASSWORD
};
#define NSECRETS	(sizeof(secret_keys) / sizeof(secret_keys[0]))

struct parser {
	struct conf	*c;
	const char	*file;
	conf_errfn	 errfn;
	void		*arg;
	int		 nerr;
	int		 private;	/* group and others cannot read the file */
	int		 line;
	int		 nsections;	/* headers seen so far */
	int		 gline[NKEYS];	/* line of each global key, 0: unset */
	int		 insection;
	int		 keep;		/* acct goes into c->accounts */
	struct account	 acct;		/* the section being read */
	int		 aline[NKEYS];	/* line of each key in it */
};

static void	perr(struct parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
perr(struct parser *p, int line, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->nerr++;
	if (p->errfn != NULL)
		p->errfn(p->arg, p->file, line, msg);
}

/* File text for a message: printable ASCII only, cut at SHOW_MAX. */
static const char *
show(const char *s, char buf[SHOW_MAX + 4])
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i < SHOW_MAX; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i] != '\0')
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/* "bad value" with an optional hint; secrets are not shown. */
static int
bad(struct parser *p, const struct key *k, const char *val, const char *hint)
{
	char	sv[SHOW_MAX + 4], h[160] = "";

	if (hint != NULL)
		snprintf(h, sizeof(h), " (%s)", hint);
	if (k->type == T_HASH || k->type == T_SECRET)
		perr(p, p->line, "bad value for \"%s\"%s", k->name, h);
	else
		perr(p, p->line, "bad value for \"%s\": \"%s\"%s", k->name,
		    show(val, sv), h);
	return -1;
}

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

int
conf_valid_name(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > CONF_NAME_MAX || s[0] == '.')
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._@+-") == n;
}

const struct account *
conf_account(const struct conf *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->naccounts; i++)
		if (strcmp(c->accounts[i].name, name) == 0)
			return &c->accounts[i];
	return NULL;
}

/* A host name or IP literal: no blanks, brackets, slashes or controls. */
static int
valid_host(const char *s)
{
	size_t	n = strlen(s);

	return n <= 253 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789.-_:%") == n;
}

static int
is_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

static int
set_number(struct parser *p, const struct key *k, void *field,
    const char *val)
{
	uint64_t	v;
	char		hint[64];
	int		r;

	if (k->type == T_SIZE)
		r = num_parse_size(val, k->max, &v);
	else if (k->type == T_DURATION)
		r = num_parse_duration(val, k->max, &v);
	else
		r = num_parse(val, k->max, &v);
	if (r == -1 && errno == EINVAL)
		return bad(p, k, val, NULL);
	if (r == -1 || v < k->min) {
		snprintf(hint, sizeof(hint), "%llu..%llu%s",
		    (unsigned long long)k->min, (unsigned long long)k->max,
		    k->type == T_DURATION ? " seconds" : "");
		return bad(p, k, val, hint);
	}
	if (k->type == T_SIZE)
		*(uint64_t *)field = v;
	else
		*(unsigned *)field = (unsigned)v;
	return 0;
}

static int
set_enum(struct parser *p, const struct key *k, void *field, const char *val)
{
	char	hint[128];
	size_t	i, len;

	for (i = 0; k->choices[i] != NULL; i++)
		if (strcmp(val, k->choices[i]) == 0) {
			*(unsigned *)field = (unsigned)i;
			return 0;
		}
	len = (size_t)snprintf(hint, sizeof(hint), "one of");
	for (i = 0; k->choices[i] != NULL && len < sizeof(hint); i++)
		len += (size_t)snprintf(hint + len, sizeof(hint) - len, "%s%s",
		    i ? ", " : " ", k->choices[i]);
	return bad(p, k, val, hint);
}

/* "INBOX, Junk": items trimmed, none empty. */
static int
set_list(struct parser *p, const struct key *k, const char *val)
{
	struct account	*a = &p->acct;
	const char	*s = val, *e;
	char		*item;
	size_t		 n;

	for (;;) {
		s += strspn(s, BLANKS);
		e = s + strcspn(s, ",");
		n = (size_t)(e - s);
		while (n > 0 && blank(s[n - 1]))
			n--;
		if (n == 0)
			break;
		item = xmalloc(n + 1);
		memcpy(item, s, n);
		item[n] = '\0';
		a->mailboxes = xreallocarray(a->mailboxes, a->nmailboxes + 1,
		    sizeof(*a->mailboxes));
		a->mailboxes[a->nmailboxes++] = item;
		if (*e == '\0')
			return 0;
		s = e + 1;
	}
	while (a->nmailboxes > 0)
		free(a->mailboxes[--a->nmailboxes]);
	free(a->mailboxes);
	a->mailboxes = NULL;
	return bad(p, k, val, "empty mailbox name");
}

/* Leading and trailing blanks of [s, s + n) dropped; its new length. */
static size_t
trim(const char **s, size_t n)
{
	while (n > 0 && blank(**s))
		(*s)++, n--;
	while (n > 0 && blank((*s)[n - 1]))
		n--;
	return n;
}

/*
 * "10.0.0.0/8, 2001:db8::/32": every item a network, none empty, at most
 * PROXY_TRUSTED_MAX.  The hint names the item at fault.
 */
static int
set_nets(struct parser *p, const struct key *k, const char *val)
{
	struct conf	*c = p->c;
	const char	*s = val, *e, *why;
	char		 item[CONF_LINE_MAX + 1], si[SHOW_MAX + 4], hint[160];
	size_t		 n;

	c->nproxy_trusted = 0;
	for (;; s = e + 1) {
		e = s + strcspn(s, ",");
		n = trim(&s, (size_t)(e - s));
		memcpy(item, s, n);
		item[n] = '\0';
		if (n == 0)
			why = "empty item";
		else if (c->nproxy_trusted == PROXY_TRUSTED_MAX)
			why = "too many networks";
		else if (proxy_net_parse(item,
		    &c->proxy_trusted[c->nproxy_trusted], &why) == 0)
			why = NULL;
		if (why != NULL) {
			c->nproxy_trusted = 0;
			snprintf(hint, sizeof(hint), "\"%s\": %s",
			    show(item, si), why);
			return bad(p, k, val, hint);
		}
		c->nproxy_trusted++;
		if (*e == '\0')
			return 0;
	}
}

/* Checks val for key k and stores it at field. */
static int
set_value(struct parser *p, const struct key *k, void *field,
    const char *val)
{
	switch (k->type) {
	case T_PATH:
		if (val[0] != '/')
			return bad(p, k, val, "not an absolute path");
		break;
	case T_HOST:
		if (!valid_host(val))
			return bad(p, k, val, NULL);
		break;
	case T_HASH:
		/* DES hashes and plain text are refused: "$id$" only. */
		if (val[0] != '$' || strpbrk(val, BLANKS) != NULL)
			return bad(p, k, val, "not a crypt(3) hash: make one "
			    "with popd --hash-password");
		break;
	case T_SECRET:
		if (!p->private)
			perr(p, p->line, "\"%s\" in a file that group or others "
			    "can read: chmod 600 it", k->name);
		break;
	case T_UINT:
	case T_DURATION:
	case T_SIZE:
		return set_number(p, k, field, val);
	case T_ENUM:
		return set_enum(p, k, field, val);
	case T_LIST:
		return set_list(p, k, val);
	case T_NETS:
		return set_nets(p, k, val);
	case T_STRING:
		break;
	}
	*(char **)field = xstrdup(val);
	return 0;
}

static void
set_key(struct parser *p, enum key_id id, const char *val)
{
	const struct key	*k = &keys[id];
	int			*seen;
	void			*field;
	const char		*s;

	if (p->insection && k->scope == SC_GLOBAL) {
		perr(p, p->line, "global key \"%s\" inside section [%s]",
		    k->name, p->acct.name);
		return;
	}
	if (!p->insection && k->scope == SC_SECTION) {
		perr(p, p->line, "key \"%s\" outside a section", k->name);
		return;
	}
	seen = p->insection ? p->aline : p->gline;
	if (seen[id] != 0) {
		perr(p, p->line, "duplicate key \"%s\"", k->name);
		return;
	}
	seen[id] = p->line;
	if (*val == '\0') {
		perr(p, p->line, "empty value for \"%s\"", k->name);
		return;
	}
	for (s = val; *s != '\0'; s++)
		if ((*s > 0 && *s < 0x20 && *s != '\t') || *s == 0x7f) {
			perr(p, p->line, "control character in value of "
			    "\"%s\"", k->name);
			return;
		}
	if (p->insection)
		field = (char *)&p->acct + k->aoff;
	else
		field = (char *)p->c + k->goff;
	set_value(p, k, field, val);
}

/*
 * Copies the value that follows '=' into out: quoted ("...", with \" and
 * \\) or bare, where a '#' after a blank starts a comment.  Blanks around
 * it are dropped.  0, or -1 when the quoting is broken.
 */
static int
parse_value(const char *s, char *out)
{
	size_t	i, n = 0, end;

	i = strspn(s, BLANKS);
	if (s[i] != '"') {
		for (end = i; s[end] != '\0'; end++)
			if (s[end] == '#' && end > 0 && blank(s[end - 1]))
				break;
		while (end > i && blank(s[end - 1]))
			end--;
		memcpy(out, s + i, end - i);
		out[end - i] = '\0';
		return 0;
	}
	for (i++; s[i] != '"'; i++) {
		if (s[i] == '\0')
			return -1;
		if (s[i] == '\\' && s[i + 1] != '"' && s[i + 1] != '\\')
			return -1;
		if (s[i] == '\\')
			i++;
		out[n++] = s[i];
	}
	out[n] = '\0';
	i++;
	end = i + strspn(s + i, BLANKS);
	if (s[end] == '\0' || (s[end] == '#' && end > i))
		return 0;
	return -1;
}

static int
find_key(const char *name)
{
	int	id;

	for (id = 0; id < NKEYS; id++)
		if (strcmp(name, keys[id].name) == 0)
			return id;
	return -1;
}

/*
 * A known key on a broken line still counts as given, so that its section
 * is not also reported as lacking it.
 */
static void
syntax_error(struct parser *p, int id, const char *msg, const char *key)
{
	char	sk[SHOW_MAX + 4];

	perr(p, p->line, msg, show(key, sk));
	if (id != -1)
		(p->insection ? p->aline : p->gline)[id] = p->line;
}

static void
parse_assign(struct parser *p, char *l)
{
	char	 val[CONF_LINE_MAX + 1], sk[SHOW_MAX + 4];
	char	*eq;
	size_t	 klen = strcspn(l, BLANKS "=");
	int	 id;

	eq = l + klen + strspn(l + klen, BLANKS);
	if (*eq != '=')
		eq = NULL;
	else if (klen == 0) {
		perr(p, p->line, "missing key before \"=\"");
		return;
	}
	l[klen] = '\0';
	id = find_key(l);
	if (eq == NULL)
		syntax_error(p, id, "missing \"=\" after \"%s\"", l);
	else if (id == -1)
		perr(p, p->line, "unknown key \"%s\"", show(l, sk));
	else if (parse_value(eq + 1, val) == -1)
		syntax_error(p, id, "bad quoting in value of \"%s\"", l);
	else
		set_key(p, id, val);
	explicit_bzero(val, sizeof(val));
}

/* The cross checks of one section, run when it ends. */
static void
check_section(struct parser *p)
{
	const struct account	*a = &p->acct;
	const int		*al = p->aline;
	size_t			 i, n;
	int			 id;

	if (al[K_MAILDROP] == 0)
		perr(p, a->line, "section [%s] has no maildrop", a->name);
	if (al[K_IMAP_HOST] == 0) {
		for (id = 0; id < NKEYS; id++)
			if (al[id] != 0 && id != K_IMAP_HOST &&
			    strncmp(keys[id].name, "imap-", 5) == 0)
				perr(p, al[id], "\"%s\" without imap-host in "
				    "section [%s]", keys[id].name, a->name);
		return;
	}
	if (al[K_IMAP_USER] == 0)
		perr(p, a->line, "section [%s] has imap-host but no imap-user",
		    a->name);
	for (i = n = 0; i < NSECRETS; i++)
		n += al[secret_keys[i]] != 0;
	if (n != 1)
		perr(p, a->line, "section [%s] needs exactly one of "
		    "imap-password-file, imap-password-command, "
		    "imap-oauth2-command, imap-password", a->name);
	if (a->imap_tls == IT_NONE && a->imap_host != NULL &&
	    !is_loopback(a->imap_host))
		perr(p, al[K_IMAP_TLS], "imap-tls = none would send the "
		    "password in clear to %s: use none-i-know to allow it",
		    a->imap_host);
}

static void
check_globals(struct parser *p)
{
	const int	*gl = p->gline;

	if (gl[K_TLS_CERT] != 0 && gl[K_TLS_KEY] == 0)
		perr(p, gl[K_TLS_CERT], "\"tls-cert\" without \"tls-key\"");
	if (gl[K_TLS_KEY] != 0 && gl[K_TLS_CERT] == 0)
		perr(p, gl[K_TLS_KEY], "\"tls-key\" without \"tls-cert\"");
	if (gl[K_TLS_OCSP_STAPLE] != 0 && gl[K_TLS_CERT] == 0)
		perr(p, gl[K_TLS_OCSP_STAPLE],
		    "\"tls-ocsp-staple\" without \"tls-cert\"");
}

static void
account_free(struct account *a)
{
	size_t	i;
	int	id;

	if (a->imap_password != NULL)
		explicit_bzero(a->imap_password, strlen(a->imap_password));
	for (id = 0; id < NKEYS; id++)
		if (keys[id].aoff != NOFF && is_string(keys[id].type))
			free(*(char **)((char *)a + keys[id].aoff));
	for (i = 0; i < a->nmailboxes; i++)
		free(a->mailboxes[i]);
	free(a->mailboxes);
	memset(a, 0, sizeof(*a));
}

static void
end_section(struct parser *p)
{
	struct conf	*c = p->c;
	struct account	*a = &p->acct;

	if (!p->insection)
		return;
	check_section(p);
	if (a->nmailboxes == 0) {
		a->mailboxes = xmalloc(sizeof(*a->mailboxes));
		a->mailboxes[0] = xstrdup("INBOX");
		a->nmailboxes = 1;
	}
	if (p->keep) {
		c->accounts = xreallocarray(c->accounts, c->naccounts + 1,
		    sizeof(*c->accounts));
		c->accounts[c->naccounts++] = *a;
		memset(a, 0, sizeof(*a));
	} else
		account_free(a);
	p->insection = 0;
}

/*
 * A section with a bad or duplicate name is still read, so that its
 * errors are reported too, and then dropped.
 */
static void
begin_section(struct parser *p, const char *name, int reported)
{
	struct account	*a = &p->acct;
	char		 sn[SHOW_MAX + 4];

	end_section(p);
	if (p->nsections++ == 0)
		check_globals(p);
	memset(a, 0, sizeof(*a));
	memset(p->aline, 0, sizeof(p->aline));
	p->insection = 1;
	p->keep = 1;
	snprintf(a->name, sizeof(a->name), "%s", show(name, sn));
	a->line = p->line;
	a->max_messages = p->c->max_messages;
	a->imap_timeout = p->c->imap_timeout;
	a->watch_interval = p->c->watch_interval;
	a->imap_tls = IT_IMPLICIT;
	a->after_fetch = AF_SEEN;
	if (reported)
		p->keep = 0;
	else if (!conf_valid_name(name)) {
		perr(p, p->line, "bad section name [%s]", show(name, sn));
		p->keep = 0;
	} else if (conf_account(p->c, name) != NULL) {
		perr(p, p->line, "duplicate section [%s]", name);
		p->keep = 0;
	}
}

static void
parse_section(struct parser *p, char *l)
{
	char	*rb, *rest, sn[SHOW_MAX + 4];

	if ((rb = strchr(l, ']')) == NULL) {
		perr(p, p->line, "missing \"]\" in section header");
		begin_section(p, l + 1, 1);
		return;
	}
	*rb = '\0';
	rest = rb + 1 + strspn(rb + 1, BLANKS);
	if (*rest != '\0' && !(*rest == '#' && rest > rb + 1))
		perr(p, p->line, "text after section header [%s]",
		    show(l + 1, sn));
	begin_section(p, l + 1, 0);
}

static void
parse_line(struct parser *p, const char *s, size_t n)
{
	char	 buf[CONF_LINE_MAX + 1];
	char	*l;

	memcpy(buf, s, n);
	buf[n] = '\0';
	l = buf + strspn(buf, BLANKS);
	if (*l == '[')
		parse_section(p, l);
	else if (*l != '\0' && *l != '#')
		parse_assign(p, l);
	explicit_bzero(buf, n);
}

static void
parse_text(struct parser *p, const char *text, size_t len)
{
	const char	*s = text, *end = text + len, *nl;
	size_t		 n;

	while (s < end) {
		p->line++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		n = (size_t)(nl - s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (memchr(s, '\0', n) != NULL)
			perr(p, p->line, "NUL byte in line");
		else if (n > CONF_LINE_MAX)
			perr(p, p->line, "line longer than %d bytes",
			    CONF_LINE_MAX);
		else
			parse_line(p, s, n);
		s = nl < end ? nl + 1 : end;
	}
	end_section(p);
	if (p->nsections == 0)
		check_globals(p);
}

static void
conf_init(struct conf *c, struct parser *p, const char *path,
    conf_errfn err, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->path = xstrdup(path);
	c->plaintext_auth = PA_TLS_OR_LOOPBACK;
	c->auth_failure_delay = POPD_AUTH_DELAY;
	c->idle_timeout = POPD_IDLE_TIMEOUT;
	c->max_messages = POPD_MAX_MESSAGES;
	c->imap_timeout = IMAP_TIMEOUT;
	c->watch_interval = IMAP_WATCH_INTERVAL;

	memset(p, 0, sizeof(*p));
	p->c = c;
	p->file = path;
	p->errfn = err;
	p->arg = arg;
	p->private = 1;
}

int
conf_parse(struct conf *c, const char *name, const char *text,
    conf_errfn err, void *arg)
{
	struct parser	p;

	conf_init(c, &p, name, err, arg);
	parse_text(&p, text, strlen(text));
	return p.nerr;
}

/* Reads all of fd into *buf (*len bytes); -1 with EFBIG past the cap. */
static int
read_all(int fd, char **buf, size_t *len)
{
	char	*b = NULL;
	size_t	 cap = 0, n = 0;
	ssize_t	 r;

	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8192;
			b = xreallocarray(b, cap, 1);
		}
		if ((r = read(fd, b + n, cap - n)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0) {
			*buf = b;
			*len = n;
			return 0;
		}
		n += (size_t)r;
		if (n > CONF_FILE_MAX) {
			errno = EFBIG;
			break;
		}
	}
	explicit_bzero(b, n);
	free(b);
	return -1;
}

int
conf_load(struct conf *c, const char *path, conf_errfn err, void *arg)
{
	struct parser	 p;
	struct stat	 st;
	char		*buf;
	size_t		 len;
	int		 fd;

	conf_init(c, &p, path, err, arg);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		perr(&p, 0, "cannot open: %s", strerror(errno));
		return p.nerr;
	}
	if (fstat(fd, &st) == -1 || read_all(fd, &buf, &len) == -1) {
		if (errno == EFBIG)
			perr(&p, 0, "file too large (over %d bytes)",
			    CONF_FILE_MAX);
		else
			perr(&p, 0, "cannot read: %s", strerror(errno));
		close(fd);
		return p.nerr;
	}
	close(fd);
	p.private = (st.st_mode & (S_IRWXG | S_IRWXO)) == 0;
	parse_text(&p, buf, len);
	explicit_bzero(buf, len);
	free(buf);
	return p.nerr;
}

/* The prefix: 1..3 decimal digits, no sign, no leading zero, <= max. */
static int
parse_prefix(const char *s, unsigned max, unsigned *out)
{
	size_t		 n = strlen(s);
	unsigned	 v = 0;

	if (n == 0 || n > 3 || strspn(s, "0123456789") != n ||
	    (n > 1 && s[0] == '0'))
		return -1;
	for (; *s != '\0'; s++)
		v = v * 10 + (unsigned)(*s - '0');
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
proxy_net_parse(const char *s, struct proxy_net *out, const char **why)
{
	static const unsigned char	 mapped[12] = { [10] = 0xff, [11] = 0xff };
	char				 a[INET6_ADDRSTRLEN + 1];
	const char			*slash = strchr(s, '/');
	size_t				 alen, i, octets;
	unsigned			 bits;

	memset(out, 0, sizeof(*out));
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	*why = "not an IPv4 or IPv6 address";
	if (alen == 0 || alen >= sizeof(a))
		return -1;
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, a, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -1;
	bits = out->family == AF_INET ? 32 : 128;
	out->prefix = bits;
	*why = out->family == AF_INET ? "prefix length not 0..32" :
	    "prefix length not 0..128";
	if (slash != NULL && parse_prefix(slash + 1, bits, &out->prefix) == -1)
		return -1;
	octets = bits / 8;
	for (i = 0; i < octets; i++)
		if (out->addr[i] & (i * 8 >= out->prefix ? 0xff :
		    i * 8 + 8 > out->prefix ?
		    0xff >> (out->prefix - i * 8) : 0)) {
			*why = "address bits set past the prefix length";
			return -1;
		}
	/* ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are matched as IPv4. */
	if (out->family == AF_INET6 && out->prefix >= 96 &&
	    memcmp(out->addr, mapped, sizeof(mapped)) == 0) {
		out->family = AF_INET;
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->prefix -= 96;
	}
	*why = NULL;
	return 0;
}

void
proxy_net_format(const struct proxy_net *n, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	if (inet_ntop(n->family, n->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, n->prefix);
}

/* One value as the parser reads it back: quoted when it must be. */
static void
dump_string(FILE *f, const char *v)
{
	size_t	 n = strlen(v);

	if (n > 0 && strpbrk(v, "#\"\\") == NULL && !blank(v[0]) &&
	    !blank(v[n - 1])) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', f);
		fputc(*v, f);
	}
	fputc('"', f);
}

/* mailboxes = a, b: the value is quoted whole, as the parser reads it. */
static void
dump_list(FILE *f, const struct key *k, const struct account *a)
{
	char	*v = NULL;
	size_t	 i, len = 0;
	FILE	*m;

	if ((m = open_memstream(&v, &len)) == NULL)
		return;
	for (i = 0; i < a->nmailboxes; i++)
		fprintf(m, "%s%s", i ? ", " : "", a->mailboxes[i]);
	if (fclose(m) == 0) {
		fprintf(f, "%s = ", k->name);
		dump_string(f, v);
		fputc('\n', f);
	}
	free(v);
}

/* proxy-trusted = a, b: the networks as proxy_net_parse reads them. */
static void
dump_nets(FILE *f, const struct key *k, const struct conf *c)
{
	char	buf[INET6_ADDRSTRLEN + 8];
	size_t	i;

	if (c->nproxy_trusted == 0)
		return;
	fprintf(f, "%s = ", k->name);
	for (i = 0; i < c->nproxy_trusted; i++) {
		proxy_net_format(&c->proxy_trusted[i], buf, sizeof(buf));
		fprintf(f, "%s%s", i ? ", " : "", buf);
	}
	fputc('\n', f);
}

/* One key (field: where its value is), when set. */
static void
dump_key(FILE *f, const struct key *k, const char *field)
{
	unsigned	 u;

	if (is_string(k->type)) {
		if ((field = *(char *const *)field) == NULL)
			return;
		fprintf(f, "%s = ", k->name);
		if (k->type == T_HASH || k->type == T_SECRET)
			fputs("(hidden)", f);
		else
			dump_string(f, field);
		fputc('\n', f);
		return;
	}
	if (k->type == T_SIZE) {
		fprintf(f, "%s = %llu\n", k->name,
		    (unsigned long long)*(const uint64_t *)field);
		return;
	}
	u = *(const unsigned *)field;
	if (k->type == T_ENUM)
		fprintf(f, "%s = %s\n", k->name, k->choices[u]);
	else if (u >= k->min)		/* 0 below min: unset (imap-port) */
		fprintf(f, "%s = %u\n", k->name, u);
}

void
conf_dump(const struct conf *c, FILE *f)
{
	const struct account	*a;
	size_t			 i, k;

	for (k = 0; k < NKEYS; k++)
		if (keys[k].type == T_NETS)
			dump_nets(f, &keys[k], c);
		else if (keys[k].goff != NOFF)
			dump_key(f, &keys[k], (const char *)c + keys[k].goff);
	for (i = 0; i < c->naccounts; i++) {
		a = &c->accounts[i];
		fprintf(f, "\n[%s]\n", a->name);
		for (k = 0; k < NKEYS; k++) {
			if (keys[k].aoff == NOFF || (a->imap_host == NULL &&
			    strncmp(keys[k].name, "imap-", 5) == 0 &&
			    k != K_IMAP_TIMEOUT))
				continue;
			if (a->imap_host == NULL && k == K_WATCH_INTERVAL)
				continue;
			if (a->imap_host == NULL && (k == K_MAILBOXES ||
			    k == K_FETCH || k == K_AFTER_FETCH ||
			    k == K_MAX_AGE_DAYS || k == K_MAX_MESSAGE_SIZE ||
			    k == K_IMAP_TIMEOUT))
				continue;
			if (keys[k].type == T_LIST)
				dump_list(f, &keys[k], a);
			else
				dump_key(f, &keys[k],
				    (const char *)a + keys[k].aoff);
		}
	}
}

void
conf_free(struct conf *c)
{
	size_t	i;
	int	id;

	for (id = 0; id < NKEYS; id++)
		if (keys[id].goff != NOFF && is_string(keys[id].type))
			free(*(char **)((char *)c + keys[id].goff));
	for (i = 0; i < c->naccounts; i++)
		account_free(&c->accounts[i]);
	free(c->accounts);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
