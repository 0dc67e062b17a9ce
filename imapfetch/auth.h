/*
 * auth.h: the account's secret and the IMAP login.
 *
 * The secret comes from exactly one of imap-password-file (its first line;
 * the file must not be readable by group or others), imap-password-command
 * or imap-oauth2-command (run with sh -c for each connection; the first line
 * of its standard output; killed when not done within imap-timeout), or
 * imap-password (the configuration file must then be 0600 or 0400); at
 * most SECRET_MAX bytes (params.h), never truncated.  A secret never
 * reaches a log line or the -v trace, and the buffers that held it are
 * wiped, on failure too.
 */
#ifndef IMAPFETCH_AUTH_H
#define IMAPFETCH_AUTH_H

#include <stddef.h>

struct account;
struct conn;

/*
 * Fills buf (len bytes) with the secret, NUL-terminated, without its line
 * end.  Returns 0 or EX_CONFIG (after logging why).
 */
int	auth_secret(const struct account *, const char *conffile,
	    char *buf, size_t len);

/*
 * Logs in on c.  With imap-oauth2-command: AUTHENTICATE OAUTHBEARER (RFC
 * 7628) when the server offers it, else XOAUTH2; a refused token is
 * EX_NOPERM at once (the server's error challenge is answered, RFC 7628
 * 3.2.3).  Else AUTHENTICATE PLAIN when offered, else LOGIN.  A SASL
 * response goes in the first line with SASL-IR, else after the "+".
 * Refreshes the capabilities afterwards.  Returns 0, EX_NOPERM
 * (credentials rejected) or another exit code.
 */
int	auth_login(struct conn *, const struct account *, const char *conffile);

/*
 * 1 when a login the server refused with response code code (RFC 5530:
 * UNAVAILABLE, LIMIT, INUSE; NULL: none) and text should be tried again
 * later rather than taken as wrong credentials: the server cannot check
 * them now, or has too many connections of this user (Gmail's "Too many
 * simultaneous connections", Dovecot's "Maximum number of connections").
 */
int	auth_refusal_temporary(const char *code, const char *text);

/* Standard base64 of len bytes into out (4*ceil(len/3)+1 bytes). */
void	auth_base64(const unsigned char *in, size_t len, char *out);

/* 1 when t is an RFC 6750 bearer token (b64token), else 0. */
int	auth_bearer_ok(const char *t);

/*
 * The client's message (before base64) for SASL OAUTHBEARER, RFC 7628
 * 3.1: "n,a=USER,^Ahost=HOST^Aport=PORT^Aauth=Bearer TOKEN^A^A", USER
 * escaped as RFC 5801 says; or for XOAUTH2: "user=USER^Aauth=Bearer
 * TOKEN^A^A".  The token must pass auth_bearer_ok (no ^A can slip in).
 * Returns a new NUL-terminated string of *lenp bytes, which the caller
 * wipes (explicit_bzero) and frees; exits EX_OSERR out of memory.
 */
char	*auth_oauthbearer(const char *user, const char *host, unsigned port,
	    const char *token, size_t *lenp);
char	*auth_xoauth2(const char *user, const char *token, size_t *lenp);

#endif
