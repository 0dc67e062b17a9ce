/*
 * io.h: one buffered connection over a pair of fds, plain or TLS.
 * Plain and TLS sessions share the same bounded line reader and writer, so
 * the POP3 code never knows which it is talking over.
 *
 * Every read and write waits with poll() for at most timeout_ms; a peer that
 * stops reading or writing cannot hold a process forever.
 */
#ifndef POPD_IO_H
#define POPD_IO_H

#include <stddef.h>

#include "params.h"

struct tls;
struct tlsfn;

struct io {
	int		 rfd, wfd;
	struct tls	*tls;		/* NULL: plain; owned by the io */
	const struct tlsfn *tlsfn;	/* libtls, when tls is set */
	int		 timeout_ms;	/* per read/write wait; -1: none */
	unsigned char	 rbuf[IO_RBUF_SIZE];
	size_t		 rpos, rlen;	/* unread bytes: rbuf[rpos..rlen) */
	unsigned char	 wbuf[IO_WBUF_SIZE];
	size_t		 wlen;
	int		 eof;		/* the peer closed its side */
	int		 error;		/* errno of the failure, or ETIMEDOUT */
	unsigned long long rbytes, wbytes;	/* totals, for the log */
};

/* io_getline results */
#define IO_LINE		0	/* a line; NUL-terminated, terminator removed */
#define IO_LONG		1	/* longer than the buffer: consumed to its LF */
#define IO_BADCHAR	2	/* held a NUL: consumed, not usable */
#define IO_EOF		3	/* end of input, possibly after a partial line */
#define IO_ERROR	4	/* read error or timeout; io->error says which */

/* Sets up a plain connection on rfd/wfd. */
void	io_init(struct io *, int rfd, int wfd, int timeout_ms);

/*
 * Reads one line into buf (cap bytes) and strips LF or CRLF.  A line of
 * more than cap - 2 octets (room is kept for the CR and the NUL) is read
 * and dropped up to its LF: the caller answers it once.  Returns one of
 * IO_* above; *len is the length.
 *
 * deadline (an iow_now() time; 0: none) bounds the whole line, not each
 * wait: when it passes before the LF, IO_ERROR with io->error ETIMEDOUT,
 * so that a client sending a byte now and then cannot stretch one line
 * for ever.  The bytes of the line are wiped from the io's buffer as they
 * are consumed (a password must not outlive its line); wiping buf is the
 * caller's.
 */
int	io_getline(struct io *, char *buf, size_t cap, size_t *len,
	    long long deadline);

/*
 * Puts len bytes (at most IO_RBUF_SIZE) in the read buffer as if they
 * had been read but not counted: the client's bytes another process read
 * before it handed the connection over.  0, or -1 when they do not fit.
 */
int	io_preload(struct io *, const void *, size_t len);

/* Bytes received but not yet consumed (the STLS injection check). */
size_t	io_pending(const struct io *);

/* Buffers len bytes; flushes when the buffer fills.  0 or -1. */
int	io_write(struct io *, const void *, size_t);
int	io_puts(struct io *, const char *);
int	io_printf(struct io *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Writes out everything buffered.  0 or -1 (io->error set). */
int	io_flush(struct io *);

/*
 * Server side TLS on the io's fds with ctx (a configured tls server),
 * through fn (tlsload.h), which the io keeps for its reads and writes.
 * Discards (and wipes) any buffered plaintext, so call it only when
 * io_pending() is 0.
 * The whole handshake may take TLS_HANDSHAKE_TIMEOUT seconds, or the io's
 * timeout when that is shorter.  Returns 0, or -1 with io->error set and a
 * one-line message in *errstr (static, or owned by the io's TLS context:
 * valid until io_close).
 */
int	io_start_tls(struct io *, const struct tlsfn *fn, struct tls *ctx,
	    const char **errstr);

/*
 * Frees the TLS context if any, after a close_notify (bounded to a second)
 * when the connection has not failed.  Does not close the fds.
 */
void	io_close(struct io *);

/* Sets TCP_NODELAY on fd when it is a TCP socket; ignores other fds. */
void	io_nodelay(int fd);

#endif
