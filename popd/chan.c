/*
 * chan.c: the channel's framing and fields (chan.h).  Both processes read
 * with the same bounded code; a peer that dies is end of file.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "iowait.h"

void
chan_msg_init(struct chanmsg *m, void *buf, size_t cap)
{
	m->buf = buf;
	m->cap = cap;
	m->len = m->pos = 0;
	m->bad = 0;
}

static void
put(struct chanmsg *m, const void *p, size_t n)
{
	if (m->bad || n > m->cap - m->len) {
		m->bad = 1;
		return;
	}
	if (n == 0)
		return;		/* p may be NULL: an unset TLS file */
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

void
chan_put_u32(struct chanmsg *m, uint32_t v)
{
	put(m, &v, sizeof(v));
}

void
chan_put_u64(struct chanmsg *m, uint64_t v)
{
	put(m, &v, sizeof(v));
}

void
chan_put_str(struct chanmsg *m, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		m->bad = 1;
		return;
	}
	chan_put_u32(m, (uint32_t)n);
	put(m, p, n);
}

/* The next n bytes, or NULL (m->bad set) when fewer are left. */
static const unsigned char *
get(struct chanmsg *m, size_t n)
{
	const unsigned char	*p;

	if (m->bad || n > m->len - m->pos) {
		m->bad = 1;
		return NULL;
	}
	p = m->buf + m->pos;
	m->pos += n;
	return p;
}

uint32_t
chan_get_u32(struct chanmsg *m)
{
	const unsigned char	*p = get(m, sizeof(uint32_t));
	uint32_t		 v = 0;

	if (p != NULL)
		memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t
chan_get_u64(struct chanmsg *m)
{
	const unsigned char	*p = get(m, sizeof(uint64_t));
	uint64_t		 v = 0;

	if (p != NULL)
		memcpy(&v, p, sizeof(v));
	return v;
}

const void *
chan_get_bytes(struct chanmsg *m, size_t max, size_t *len)
{
	uint32_t	n = chan_get_u32(m);

	*len = 0;
	if (n > max) {
		m->bad = 1;
		return NULL;
	}
	*len = n;
	return get(m, n);
}

size_t
chan_get_str(struct chanmsg *m, char *dst, size_t max)
{
	const unsigned char	*p;
	uint32_t		 n = chan_get_u32(m);

	dst[0] = '\0';
	if (n > max) {
		m->bad = 1;
		return 0;
	}
	if ((p = get(m, n)) == NULL)
		return 0;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return n;
}

int
chan_msg_done(const struct chanmsg *m)
{
	return m->bad || m->pos != m->len ? -1 : 0;
}

/* Waits for fd to be ready; -1 with ETIMEDOUT past deadline (0: none). */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd	pfd = { fd, events, 0 };
	long long	left;
	int		n;

	for (;;) {
		left = -1;
		if (deadline != 0 && (left = deadline - iow_now()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if ((n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX :
		    (int)left)) > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

int
chan_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && wait_fd(fd, POLLOUT, 0) == 0)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes.  0, or -1: end of file (errno 0) or error. */
static int
read_full(int fd, void *buf, size_t len, long long deadline)
{
	unsigned char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if (wait_fd(fd, POLLIN, deadline) == -1)
			return -1;
		if ((n = read(fd, p, len)) == 0) {
			errno = 0;
			return -1;
		}
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
chan_send(int fd, uint32_t type, const struct chanmsg *m)
{
	uint32_t	hdr[2];

	if (m->bad || m->len > CHAN_MSG_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	hdr[0] = type;
	hdr[1] = (uint32_t)m->len;
	if (chan_write_all(fd, hdr, sizeof(hdr)) == -1)
		return -1;
	return chan_write_all(fd, m->buf, m->len);
}

int
chan_recv(int fd, struct chanmsg *m, long long deadline)
{
	uint32_t	hdr[2];

	m->len = m->pos = 0;
	m->bad = 0;
	if (read_full(fd, hdr, sizeof(hdr), deadline) == -1)
		return -1;
	if (hdr[1] > m->cap || hdr[1] > CHAN_MSG_MAX || hdr[0] > INT32_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (read_full(fd, m->buf, hdr[1], deadline) == -1)
		return -1;
	m->len = hdr[1];
	return (int)hdr[0];
}
