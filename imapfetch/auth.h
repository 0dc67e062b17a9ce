/*
 * auth.h: the account's secret and the IMAP login.
 *
 * The secret comes from exactly one of imap-password-file (its first line;
 * the file must not be readable by group or others), imap-password-command
 * or imap-oauth2-command (run with sh -c for each connection; the first line
 * of its standard output; killed when not done within imap-timeout), or
 * imap-password (the configuration file must then be 0600 or 0400).  A
 * secret never reaches a log line or the -v trace, and the buffers that
 * held it are wiped, on failure too.
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
 * Logs in on c: AUTHENTICATE XOAUTH2 with imap-oauth2-command, else
 * AUTHENTICATE PLAIN when offered (in the first line with SASL-IR), else
 * LOGIN.  Refreshes the capabilities afterwards.  Returns 0, EX_NOPERM
 * (credentials rejected) or another exit code.
 */
int	auth_login(struct conn *, const struct account *, const char *conffile);

/* Standard base64 of len bytes into out (4*ceil(len/3)+1 bytes). */
void	auth_base64(const unsigned char *in, size_t len, char *out);

#endif
