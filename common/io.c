/*
 * io.c: a buffered connection over fds 0/1, plain or TLS (libtls).
 *
 * Sockets and pipes are switched to non-blocking mode so that every wait is
 * a poll() with the idle timeout: a blocking read or write would let a
 * silent peer hold the process forever.  libtls may ask for POLLIN while
 * writing and POLLOUT while reading (renegotiation, TLS 1.3 tickets), so
 * both loops honour TLS_WANT_POLLIN and TLS_WANT_POLLOUT.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "iowait.h"
#include "tlsload.h"

/* close_notify is a courtesy: wait this long at most for it to go out. */
#define IO_CLOSE_TIMEOUT_MS	1000

static void
set_nonblock(int fd)
{
	struct stat	st;
	int		fl;

	if (fstat(fd, &st) == -1 || !(S_ISSOCK(st.st_mode) ||
	    S_ISFIFO(st.st_mode)))
		return;
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void
io_init(struct io *io, int rfd, int wfd, int timeout_ms)
{
	memset(io, 0, sizeof(*io));
	io->rfd = rfd;
	io->wfd = wfd;
	io->timeout_ms = timeout_ms;
	set_nonblock(rfd);
	if (wfd != rfd)
		set_nonblock(wfd);
}

void
io_nodelay(int fd)
{
	int	one = 1;

	/* Fails with ENOTSOCK or EOPNOTSUPP on pipes and Unix sockets. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* The wait-and-retry rule of iowait.h for this io, bounded by deadline. */
static struct iowait
io_waiter(const struct io *io, long long deadline)
{
	struct iowait	 w;

	w.rfd = io->rfd;
	w.wfd = io->wfd;
	w.timeout_ms = io->timeout_ms;
	w.deadline = deadline;
	return w;
}

/*
 * After a read or write that returned n: 1 to try again, 0 when n is a
 * result, -1 on failure with io->error set (iow_retry).
 */
static int
io_retry(struct io *io, ssize_t n, short dir, long long deadline)
{
	struct iowait	 w = io_waiter(io, deadline);
	int		 r;

	if ((r = iow_retry(&w, io->tls != NULL, n, dir)) == -1)
		/* To the session a line past its deadline is idle too. */
		io->error = errno == ETIME ? ETIMEDOUT : errno;
	return r;
}

/*
 * Reads what is there into rbuf, waiting until deadline at most (0: only
 * the io's timeout).  >0 bytes, 0 at EOF, -1 on error.
 */
static ssize_t
io_fill(struct io *io, long long deadline)
{
	ssize_t	n;
	int	r;

	io->rpos = io->rlen = 0;
	do {
		n = io->tls != NULL ?
		    io->tlsfn->read(io->tls, io->rbuf, sizeof(io->rbuf)) :
		    read(io->rfd, io->rbuf, sizeof(io->rbuf));
	} while ((r = io_retry(io, n, POLLIN, deadline)) == 1);
	if (r == -1)
		return -1;
	if (n == 0)
		io->eof = 1;
	io->rlen = (size_t)n;
	io->rbytes += (size_t)n;
	return n;
}

int
io_getline(struct io *io, char *buf, size_t cap, size_t *lenp,
    long long deadline)
{
	size_t		 len = 0, n, chunk;
	unsigned char	*p, *nl;
	int		 toolong = 0, bad = 0;
	ssize_t		 r;

	*lenp = 0;
	buf[0] = '\0';
	for (;;) {
		if (io->rpos == io->rlen) {
			/* Also for a peer that never lets read() block. */
			if (deadline != 0 && iow_now() >= deadline) {
				io->error = ETIMEDOUT;
				return IO_ERROR;
			}
			if ((r = io_fill(io, deadline)) == 0)
				return IO_EOF;
			if (r == -1)
				return IO_ERROR;
		}
		p = io->rbuf + io->rpos;
		n = io->rlen - io->rpos;
		nl = memchr(p, '\n', n);
		chunk = nl != NULL ? (size_t)(nl - p) : n;
		if (memchr(p, '\0', chunk) != NULL)
			bad = 1;
		if (!toolong && len + chunk < cap) {
			memcpy(buf + len, p, chunk);
			len += chunk;
		} else
			toolong = 1;
		if (nl != NULL)
			chunk++;
		explicit_bzero(p, chunk);
		io->rpos += chunk;
		if (nl != NULL)
			break;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	/* The bound is on the line, whether CRLF or a bare LF ends it. */
	if (toolong || len > cap - 2) {
		buf[0] = '\0';
		return IO_LONG;
	}
	buf[len] = '\0';
	*lenp = len;
	return bad ? IO_BADCHAR : IO_LINE;
}

int
io_preload(struct io *io, const void *buf, size_t len)
{
	if (len > sizeof(io->rbuf) - io->rlen)
		return -1;
	memmove(io->rbuf, io->rbuf + io->rpos, io->rlen - io->rpos);
	io->rlen -= io->rpos;
	io->rpos = 0;
	memcpy(io->rbuf + io->rlen, buf, len);
	io->rlen += len;
	return 0;
}

size_t
io_pending(const struct io *io)
{
	return io->rlen - io->rpos;
}

/* Writes len bytes from p to the peer, now.  0 or -1. */
static int
io_send(struct io *io, const unsigned char *p, size_t len)
{
	ssize_t	n;
	int	r;

	while (len > 0) {
		n = io->tls != NULL ? io->tlsfn->write(io->tls, p, len) :
		    write(io->wfd, p, len);
		if ((r = io_retry(io, n, POLLOUT, 0)) == 1)
			continue;
		if (r == -1)
			return -1;
		p += n;
		len -= (size_t)n;
		io->wbytes += (size_t)n;
	}
	return 0;
}

int
io_flush(struct io *io)
{
	if (io->error)
		return -1;
	if (io->wlen > 0 && io_send(io, io->wbuf, io->wlen) == -1)
		return -1;
	io->wlen = 0;
	return 0;
}

int
io_write(struct io *io, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 n;

	if (io->error)
		return -1;
	while (len > 0) {
		if (io->wlen == sizeof(io->wbuf) && io_flush(io) == -1)
			return -1;
		n = sizeof(io->wbuf) - io->wlen;
		if (n > len)
			n = len;
		memcpy(io->wbuf + io->wlen, p, n);
		io->wlen += n;
		p += n;
		len -= n;
	}
	return 0;
}

int
io_puts(struct io *io, const char *s)
{
	return io_write(io, s, strlen(s));
}

int
io_printf(struct io *io, const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		io->error = EOVERFLOW;
		return -1;
	}
	return io_write(io, buf, (size_t)n);
}

int
io_start_tls(struct io *io, const struct tlsfn *fn, struct tls *ctx,
    const char **errstr)
{
	struct iowait	 w;
	long long	 limit;

	explicit_bzero(io->rbuf, io->rlen);
	io->rpos = io->rlen = 0;
	io->wlen = 0;
	/*
	 * The whole handshake, not each wait, is bounded: a client that
	 * trickles one byte at a time must not stretch it.  A shorter idle
	 * timeout bounds it too, so that an admin's limit holds here as well.
	 */
	limit = TLS_HANDSHAKE_TIMEOUT * 1000LL;
	if (io->timeout_ms >= 0 && io->timeout_ms < limit)
		limit = io->timeout_ms;
	io->tlsfn = fn;
	if (fn->accept_fds(ctx, &io->tls, io->rfd, io->wfd) == -1) {
		*errstr = fn->error(ctx);
		io->error = EPROTO;
		return -1;
	}
	w = io_waiter(io, iow_now() + limit);
	if (iow_handshake(&w, io->tls, fn->handshake) == 0)
		return 0;
	io->error = errno;
	if (errno == EPROTO) {
		if ((*errstr = fn->error(io->tls)) == NULL)
			*errstr = "handshake failed";
	} else if (errno == ETIMEDOUT || errno == ETIME) {
		io->error = ETIMEDOUT;
		*errstr = "handshake timed out";
	} else
		*errstr = strerror(errno);
	return -1;
}

void
io_close(struct io *io)
{
	struct iowait	 w = io_waiter(io, 0);

	if (io->tls == NULL)
		return;
	/*
	 * close_notify, unless the connection already failed: a peer that
	 * stopped reading would only make us wait again.  Bounded by a short
	 * timeout, not the idle one: nothing useful is left to say.
	 */
	if (!io->error)
		iow_close(&w, io->tls, io->tlsfn->close,
		    IO_CLOSE_TIMEOUT_MS);
	io->tlsfn->free(io->tls);
	io->tls = NULL;
}
