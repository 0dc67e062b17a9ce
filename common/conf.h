/*
 * conf.h: popd.conf(5), the one configuration file of popd and imapfetch.
 *
 * Grammar (DESIGN.md): "key = value" lines, '#' comments (at the start of a
 * line or after white space), global keys first, then one [NAME] section per
 * POP3 user.  A value may be double-quoted ("a # b", with \" and \\) so that
 * it can hold '#' or leading/trailing blanks.  Unknown keys, duplicate keys,
 * duplicate sections and bad values are errors naming file, line and key.
 */
#ifndef POPD_CONF_H
#define POPD_CONF_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#include "params.h"

enum plaintext_auth { PA_TLS, PA_TLS_OR_LOOPBACK, PA_ALWAYS };
enum imap_tls { IT_IMPLICIT, IT_STARTTLS, IT_NONE, IT_NONE_I_KNOW };
enum fetch_what { FW_UNSEEN, FW_ALL };
enum after_fetch { AF_SEEN, AF_DELETE, AF_NONE };

/*
 * A network of proxy-trusted: family AF_INET (4 octets of addr used) or
 * AF_INET6 (16), in network order, with every bit past prefix zero.
 */
struct proxy_net {
	int		 family;
	unsigned char	 addr[16];
	unsigned	 prefix;
};

/* One [NAME] section: a POP3 user, its maildrop and its IMAP account. */
struct account {
	char		 name[CONF_NAME_MAX + 1];
	int		 line;			/* line of the [NAME] header */
	char		*password;		/* crypt(3) hash; NULL: no POP3 login */
	char		*maildrop;		/* absolute path; required */
	unsigned	 max_messages;		/* 0: no cap (default: global) */

	/* imapfetch; imap_host == NULL: no IMAP account for this user */
	char		*imap_host;
	unsigned	 imap_port;		/* 0: 993 implicit, 143 otherwise */
	enum imap_tls	 imap_tls;		/* default IT_IMPLICIT */
	char		*imap_user;		/* required with imap-host */
	char		*imap_password_file;	/* exactly one of these four */
	char		*imap_password_command;	/*   with imap-host */
	char		*imap_oauth2_command;
	char		*imap_password;		/* inline: file must be 0600/0400 */
	char		*imap_ca_file;		/* NULL: system store */
	unsigned	 imap_timeout;		/* seconds (default: global) */
	unsigned	 watch_interval;	/* seconds (default: global) */
	char	       **mailboxes;		/* default { "INBOX" } */
	size_t		 nmailboxes;
	enum fetch_what	 fetch;			/* default FW_UNSEEN */
	enum after_fetch after_fetch;		/* default AF_SEEN */
	unsigned	 max_age_days;		/* 0: no SINCE */
	uint64_t	 max_message_size;	/* bytes; 0: no limit */
	char		*on_new;		/* command run after new mail */
};

struct conf {
	char		*path;
	/* global keys */
	char		*tls_cert;		/* PEM chain */
	char		*tls_key;
	char		*tls_ocsp_staple;
	char		*metrics_file;
	enum plaintext_auth plaintext_auth;	/* default PA_TLS_OR_LOOPBACK */
	unsigned	 auth_failure_delay;	/* seconds, default POPD_AUTH_DELAY */
	unsigned	 idle_timeout;		/* seconds, default POPD_IDLE_TIMEOUT */
	unsigned	 max_messages;		/* default POPD_MAX_MESSAGES */
	unsigned	 imap_timeout;		/* default IMAP_TIMEOUT */
	unsigned	 watch_interval;	/* default IMAP_WATCH_INTERVAL */
	/* popd: peers that must send a PROXY header; none by default */
	struct proxy_net proxy_trusted[PROXY_TRUSTED_MAX];
	size_t		 nproxy_trusted;

	struct account	*accounts;		/* in file order */
	size_t		 naccounts;
};

/*
 * Called once per error with the file name, the line (0: the file as a
 * whole) and a message that names the key.
 */
typedef void (*conf_errfn)(void *arg, const char *file, int line,
    const char *msg);

/*
 * Reads and checks the file at path into *c (which the caller owns and
 * frees with conf_free, whatever the result).  Every error is passed to
 * err; parsing goes on after an error so that all are reported.
 * Returns 0 when the file is valid, else the number of errors (an
 * unreadable file is one error).
 */
int	conf_load(struct conf *c, const char *path, conf_errfn err, void *arg);

/* Same as conf_load, from a string (for tests); name is used in errors. */
int	conf_parse(struct conf *c, const char *name, const char *text,
	    conf_errfn err, void *arg);

/* The section called name, or NULL.  Exact, case-sensitive match. */
const struct account *conf_account(const struct conf *c, const char *name);

/* 1 when s is a valid section NAME (see above), else 0. */
int	conf_valid_name(const char *s);

/*
 * Writes the effective configuration to f as a popd.conf(5) that reads
 * back the same: every key with its value, defaults included; a section
 * without imap-host shows no IMAP keys.  Password hashes and inline
 * secrets show as "(hidden)".
 */
void	conf_dump(const struct conf *c, FILE *f);

/*
 * Parses one network of proxy-trusted: "ADDRESS/PREFIX", or an ADDRESS
 * alone for that host (/32, /128).  Strict: an address inet_pton(3)
 * takes, a prefix of decimal digits without sign or leading zero, no
 * more than the family's bits, and no bit set in the address past it
 * ("10.1.0.0/8" is refused: a typo must not widen the trust).  An
 * IPv4-mapped IPv6 network of prefix 96 or more is stored as the IPv4
 * network it is.  0, or -1 with *why (a static phrase).
 */
int	proxy_net_parse(const char *s, struct proxy_net *out,
	    const char **why);

/* Writes n as proxy_net_parse reads it back ("10.0.0.0/8") into buf. */
void	proxy_net_format(const struct proxy_net *n, char *buf, size_t len);

/* Frees everything conf_load allocated; *c is zeroed. */
void	conf_free(struct conf *c);

#endif
