/*
 * iowait.c: wait and retry, for plain fds and libtls alike (iowait.h).
 */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include <tls.h>

#include "iowait.h"

long long
iow_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
iow_wait(const struct iowait *w, int fd, short events)
{
	struct pollfd	 pfd;
	long long	 left;
	int		 n, ms;

	pfd.fd = fd;
	pfd.events = events;
	for (;;) {
		ms = w->timeout_ms;
		if (w->deadline != 0) {
			if ((left = w->deadline - iow_now()) <= 0) {
				errno = ETIME;
				return -1;
			}
			if (ms < 0 || left < ms)
				ms = (int)left;
		}
		n = poll(&pfd, 1, ms);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 && ms != w->timeout_ms)
			continue;	/* the deadline: said above */
		if (n == 0)
			errno = ETIMEDOUT;
		return n > 0 ? 0 : -1;
	}
}

/* Waits for what libtls asked with rc. */
static int
wait_tls(const struct iowait *w, int rc)
{
	if (rc == TLS_WANT_POLLIN)
		return iow_wait(w, w->rfd, POLLIN);
	return iow_wait(w, w->wfd, POLLOUT);
}

int
iow_retry(const struct iowait *w, int tls, ssize_t n, short dir)
{
	if (tls) {
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
			return wait_tls(w, (int)n) == -1 ? -1 : 1;
		if (n == -1) {
			errno = EPROTO;
			return -1;
		}
		return 0;
	}
	if (n >= 0)
		return 0;
	if (errno == EINTR)
		return 1;
	if (errno == EAGAIN)
		return iow_wait(w, dir == POLLIN ? w->rfd : w->wfd, dir) == -1 ?
		    -1 : 1;
	return -1;
}

int
iow_handshake(const struct iowait *w, struct tls *t,
    int (*handshake)(struct tls *))
{
	int	 rc;

	while ((rc = handshake(t)) != 0) {
		if (rc != TLS_WANT_POLLIN && rc != TLS_WANT_POLLOUT) {
			errno = EPROTO;
			return -1;
		}
		if (wait_tls(w, rc) == -1)
			return -1;
	}
	return 0;
}

void
iow_close(const struct iowait *w, struct tls *t, int (*closefn)(struct tls *),
    int timeout_ms)
{
	struct iowait	 brief = *w;
	int		 i, rc;

	brief.timeout_ms = timeout_ms;
	for (i = 0; i < 10; i++) {
		rc = closefn(t);
		if (rc != TLS_WANT_POLLIN && rc != TLS_WANT_POLLOUT)
			break;
		if (wait_tls(&brief, rc) == -1)
			break;
	}
}
