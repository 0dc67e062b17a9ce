/*
 * session.h: one POP3 session, passed to every handler (no globals).
 *
 * A handler checks its arguments and state and returns an outcome with a
 * reply text (r_ok/r_err); the one dispatcher in session.c writes the reply.
 * A multi-line answer (LIST, RETR, ...) sets s->body: the dispatcher calls
 * it after the +OK line and ends it with the "." line.
 */
#ifndef POPD_SESSION_H
#define POPD_SESSION_H

#include <stdint.h>

#include "conf.h"
#include "io.h"
#include "params.h"
#include "maildir.h"

/* S_HANDOVER: the pre-authentication process saw a login succeed and
 * hands the session to the privileged one (net.c).  S_STLS: the client
 * sent STLS, which another process answers (chan.h CHAN_STLS). */
enum state { S_AUTH, S_TRANS, S_HANDOVER, S_STLS, S_DONE };

/* How a login attempt ended: the verify hook's result (and chan.h's) */
#define LOGIN_OK	0	/* authenticated, the maildrop open */
#define LOGIN_FAIL	1	/* wrong user or password */
#define LOGIN_CLOSE	2	/* wrong, and the last try */
#define LOGIN_REFUSED	3	/* right, but the maildrop: reply set */
#define LOGIN_ABORT	4	/* cannot be checked: reply set, end */

/* Handler outcomes */
#define POP_OK		0	/* +OK reply (and body, if set) */
#define POP_ERR		1	/* -ERR reply */
#define POP_CLOSE		2	/* -ERR reply, then end the session */
#define POP_BYE		3	/* +OK reply, then end the session */
#define POP_FAIL		4	/* I/O failed mid-reply: end without a word */
#define POP_NONE		5	/* no reply here (login handed over, STLS) */

struct session {
	struct io		 io;
	const struct conf	*conf;
	int			 stls;		/* STLS may be offered */
	enum state		 state;
	int			 tls;		/* the session is under TLS */
	char			 peer[64];	/* remote address, for logs */
	int			 loopback;	/* the peer is this host */

	/* AUTHORIZATION */
	char			 user[POP3_LINE_MAX + 1];	/* from USER */
	int			 have_user;
	int			 auth_failures;
	long long		 preauth_deadline;	/* iow_now() time */
	unsigned		 preauth_commands;
	const struct account	*acct;		/* set once authenticated */
	/*
	 * Checks a login, LOGIN_*: auth_verify here (the default), or
	 * net.c's, which asks the privileged process over chan.
	 */
	int			(*verify)(struct session *, const char *user,
				    const char *pass);
	int			 chan;

	/* TRANSACTION: the snapshot taken at login */
	int			 mdfd, lockfd;
	struct mdmsg		*msgs;
	size_t			 nmsgs;		/* listed (max-messages) */
	size_t			 nall;		/* scanned */

	/* the reply being built */
	char			 reply[256];
	const char		*code;		/* RFC 2449/3206 code or NULL */
	int			 (*body)(struct session *);
	size_t			 arg_msg;	/* message index for body */
	int			 arg_fd;	/* ...opened by the handler */
	long long		 arg_lines;	/* TOP lines; -1: whole */

	/* for the session's log line */
	int			 bad_commands;
	unsigned		 nretr, ndele;	/* RETRs; files removed */
	unsigned long long	 retr_bytes;	/* octets of RETRs, as LIST counts */
	const char		*end;		/* why it ended */
	char			 tls_error[128];	/* why TLS or PROXY failed */
	int			 verbose;
};

struct command {
	const char	*name;
	int		(*fn)(struct session *, char *arg);
};

extern const struct command auth_commands[];	/* auth.c */
extern const struct command trans_commands[];	/* trans.c */

/* session.c */
/* Sets up a session; the pre-authentication time starts now. */
void	session_init(struct session *, const struct conf *);
/* Greets, runs the session to its end and logs it (one process).  0. */
int	session_run(struct session *);
/* Queues the greeting. */
void	session_greet(struct session *);
/* Reads and answers commands while the state is S_AUTH or S_TRANS. */
void	session_loop(struct session *);
/* Flushes, closes the maildrop and the connection, logs the session. */
void	session_end(struct session *);
/* Writes the reply of handler outcome r; 0, or -1: the session ends. */
int	session_reply(struct session *, int r);
int	r_ok(struct session *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	r_err(struct session *, const char *code, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* Sends "+ " and reads the client's answer into buf.  IO_* result. */
int	session_challenge(struct session *, char *buf, size_t cap);
/*
 * After a read that ended with r (IO_EOF or IO_ERROR): records why the
 * session ends and, when the client timed out, queues the -ERR that says
 * so.  Returns POP_FAIL.
 */
int	session_read_failed(struct session *, int r);
/* Writes the capability list for the current state. */
int	capa_body(struct session *);
/* CAPA, the one command of both states. */
int	cmd_capa(struct session *, char *);
/* 1 when USER/PASS/AUTH may be used now (plaintext-auth policy). */
int	session_plain_ok(const struct session *);

/* auth.c */
/*
 * Checks user and password against s->conf (passwd_check); on success
 * opens the maildrop (s->acct, the snapshot), on failure logs the
 * fail2ban line, waits auth-failure-delay and counts.  LOGIN_*.
 */
int	auth_verify(struct session *, const char *user, const char *pass);
/* After LOGIN_OK: TRANSACTION state, and the "+OK N messages" reply. */
int	auth_welcome(struct session *);

/* maildrop.c: the maildrop's side of a session.  It logs what went
 * wrong and returns a status; trans.c chooses the reply. */
enum md_status {
	MD_OK,
	MD_IN_USE,	/* another session holds the maildrop */
	MD_SYS_TEMP,	/* a system call failed (logged) */
	MD_GONE,	/* the message's file is gone (moved or removed) */
	MD_NOT_FILE,	/* it is no longer a regular file (logged) */
	MD_CHANGED	/* its size on disk is not the listed one (logged) */
};
/* Opens, locks and scans the account's maildrop: the oldest max-messages
 * (POPD_MESSAGES_CAP when 0), other tools' names given their sizes.
 * MD_OK, MD_IN_USE or MD_SYS_TEMP (then nothing is held). */
enum md_status	maildrop_open(struct session *);
/* Applies DELE (following a message another program moved since login)
 * and new/ -> cur/ moves; unlocks.  Number of failures, each logged. */
int	maildrop_commit(struct session *);
/* Unlocks and frees without changing anything. */
void	maildrop_close(struct session *);
/* Opens message i for reading into *fd, checking that its size on disk is
 * the one listed (else it is renamed with its true sizes for the next
 * session).  MD_OK, MD_GONE, MD_NOT_FILE, MD_CHANGED or MD_SYS_TEMP. */
enum md_status	maildrop_open_msg(struct session *, size_t i, int *fd);
/* RETR of message i sent wire octets where LIST said another size: its
 * ",S=" was right and its ",W=" lied, which only sending it shows.
 * Renamed with the size it sent (logged), so that the next session lists
 * it right; this one keeps its listing. */
void	maildrop_wire_size(struct session *, size_t i, uint64_t wire);

/* trans.c */
/* Enters the TRANSACTION state's maildrop (maildrop_open): POP_OK, or
 * POP_ERR with the reply set ([IN-USE], [SYS/TEMP]). */
int	trans_begin(struct session *);

/* passwd.c */
/* 1 when password matches the crypt(3) hash; a NULL hash costs a yescrypt
 * and fails.  The comparison does not leak where it differs. */
int	passwd_verify(const char *hash, const char *password);
/*
 * 1 when password is account a's (a NULL, or without a password: never).
 * The work does not depend on a: one crypt(3) for each method and cost
 * among c's password hashes, with a's own hash in its class and the
 * class's first hash in the others.  So a failed login costs the same
 * for an unknown user as for a known one, whatever their hashes.
 */
int	passwd_check(const struct conf *c, const struct account *a,
	    const char *password);
/*
 * Length of the part of hash that names its method and cost ("$y$j9T$",
 * "$2b$12$", "$6$rounds=N$", "$6$"); the whole hash when the method is not
 * known, so that such a hash is a class of its own.
 */
size_t	passwd_cost_prefix(const char *hash);
/* How many methods and costs c's password hashes use (popd -t says). */
size_t	passwd_classes(const struct conf *c);
/* popd --hash-password: reads a password, prints its yescrypt hash. */
int	passwd_hash_main(void);

/* sasl.c */
/* Decodes an AUTH PLAIN response: base64 "authzid NUL authcid NUL passwd".
 * Returns 0 with the three parts in out (caller's buffers of cap bytes
 * each), or -1 when malformed. */
int	sasl_plain_decode(const char *b64, char *authz, char *authc,
	    char *pass, size_t cap);
/* Strict RFC 4648 base64 (no whitespace, padding required).  Decoded
 * length, or -1. */
long	base64_decode(const char *in, unsigned char *out, size_t cap);

/* peer.c */
/* The remote address of fd (or REMOTE_ADDR / TCPREMOTEIP when fd is not a
 * socket) into buf; *loopback is 1 for 127/8, ::1, or no network peer. */
void	peer_lookup(int fd, char *buf, size_t len, int *loopback);

#endif
