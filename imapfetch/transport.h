/*
 * transport.h: an IMAP session (libetpan's parser and commands) over our
 * own connection: TCP with connect/read/write timeouts, TLS by libtls with
 * certificate and host name verification.  libetpan's own TLS and socket
 * drivers are never used (they do not verify certificates, and spin on EOF
 * inside a literal); COMPRESS is never sent.
 *
 * Functions returning int return 0 on success, else an exit code from
 * sysexits(3) after logging why (see imapfetch.h for their meaning).
 */
#ifndef IMAPFETCH_TRANSPORT_H
#define IMAPFETCH_TRANSPORT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <libetpan/libetpan.h>

#include "scan.h"

struct account;
struct tls;
struct tls_config;
struct tlsbuf;

struct conn {
	mailimap		*imap;		/* NULL: not connected */
	struct tls		*tls;		/* NULL: plain */
	struct tls_config	*tlscfg;
	struct tlsbuf		*tlsbuf;	/* read-ahead under libtls */
	int			 fd;
	int			 timeout_ms;
	int			 error;		/* errno of the last failure */
	const char		*what;		/* "alice": for messages */
	char			 host[256];
	int			 verbose;
	int			 secret;	/* mask what is being sent */
	int			 bodies;	/* a body FETCH is under way */
	long long		 deadline;	/* monotonic ms; see params.h */
	struct scan		 scan;
};

/*
 * Connects to the account's server as imap-tls says, reads the greeting,
 * does STARTTLS when asked (with CAPABILITY before and after), and stops:
 * the session is not authenticated (unless the greeting was PREAUTH).
 * Logging in is the caller's next step (auth_login, auth.h), so that a
 * reconnection goes through the same two steps.  On failure everything is
 * released.
 */
int	conn_open(struct conn *, const struct account *, int verbose);

/* LOGOUT (best effort), then frees everything.  Safe to call twice. */
void	conn_close(struct conn *);

/* Asks the server for its capabilities again (after TLS, after login). */
int	conn_capability(struct conn *);

/*
 * NOTIFY SET (RFC 5465): new and expunged messages of the selected
 * mailbox, and of the n mailboxes of names (UTF-8), are to be told while
 * the connection IDLEs: "* n EXISTS" for the selected one, "* STATUS" for
 * the others.  Returns 0 with *on set when the server took it (0 when it
 * refused it: the reason is logged), or an exit code.
 */
int	conn_notify(struct conn *, char *const *names, size_t n, int *on);

/* What woke an IDLE (conn_idle's *woken): bits. */
#define IDLE_WOKEN	1	/* the server spoke */
#define IDLE_OTHERS	2	/* of another mailbox (a NOTIFY STATUS) */

/*
 * IDLE (RFC 2177) on the selected mailbox: conn_idle sends IDLE and
 * waits, at most ms milliseconds, for the server to say something (new
 * mail), or for *stop to be set by a signal; then sends DONE and reads the
 * answer.  What the server says before its "+" counts too.  Returns 0
 * (*woken: IDLE_ bits, 0 when nothing came), or an exit code; with *stop
 * set, 0.
 */
int	conn_idle(struct conn *, int ms, volatile sig_atomic_t *stop,
	    int *woken);

/*
 * Exit code for a libetpan error r returned by command cmd, logging it
 * with the server's text when there is one.  A response over
 * IMAP_RESPONSE_MAX is a protocol error (EX_PROTOCOL), a command past its
 * deadline a temporary one (EX_UNAVAILABLE).
 */
int	conn_fail(struct conn *, int r, const char *cmd);

#endif
