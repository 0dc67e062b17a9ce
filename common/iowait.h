/*
 * iowait.h: the one rule by which popd's connection (io.c) and imapfetch's
 * IMAP transport wait and retry.  A read or write on a non-blocking fd, or
 * through libtls, that cannot go on now (EAGAIN, EINTR, TLS_WANT_POLLIN,
 * TLS_WANT_POLLOUT) waits with poll() for the fd it needs, at most
 * timeout_ms per wait and never past the deadline, then is tried again.
 * The deadline bounds a whole exchange (a TLS handshake, an IMAP command)
 * that a peer could otherwise stretch by sending a byte per wait.
 *
 * Functions return 0 (or what is said), or -1 with errno: ETIMEDOUT when a
 * wait timed out, ETIME when the deadline passed, EPROTO when libtls
 * failed (tls_error() says why), or poll's own.
 */
#ifndef POPD_IOWAIT_H
#define POPD_IOWAIT_H

#include <sys/types.h>

struct tls;

struct iowait {
	int		 rfd, wfd;
	int		 timeout_ms;	/* per wait; -1: none */
	long long	 deadline;	/* iow_now() time; 0: none */
};

/* Milliseconds on the monotonic clock. */
long long iow_now(void);

/* Waits until fd is ready for events. */
int	iow_wait(const struct iowait *, int fd, short events);

/*
 * After a read or write that returned n (through libtls when tls is set;
 * dir: POLLIN for reads, POLLOUT for writes): 1 when it must be tried
 * again, having waited for what was asked; 0 when n is a result (data, or
 * 0 for end of file); -1 on failure.
 */
int	iow_retry(const struct iowait *, int tls, ssize_t n, short dir);

/*
 * The caller passes the libtls call (tls_handshake, tls_close), so that
 * this file links no libtls: popd loads it only where it is used
 * (tlsload.h).
 */
/* Runs the TLS handshake of t to its end, waiting as it asks. */
int	iow_handshake(const struct iowait *, struct tls *t,
	    int (*handshake)(struct tls *));

/* Sends close_notify, waiting at most timeout_ms for it to go out. */
void	iow_close(const struct iowait *, struct tls *t,
	    int (*closefn)(struct tls *), int timeout_ms);

#endif
