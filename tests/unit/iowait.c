/*
 * iowait.c: the wait-and-retry rule shared by popd and imapfetch
 * (common/iowait.h), over pipes: a wait times out, a deadline cuts a wait
 * short and is told apart, EAGAIN and TLS_WANT_* wait then retry, other
 * errors fail as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <tls.h>

#include "iowait.h"
#include "fixture.h"
#include "tap.h"

static int	 p[2];

static struct iowait
waiter(int timeout_ms, long long deadline)
{
	struct iowait	 w;

	w.rfd = p[0];
	w.wfd = p[1];
	w.timeout_ms = timeout_ms;
	w.deadline = deadline;
	return w;
}

static void
test_wait(void)
{
	struct iowait	 w;
	long long	 t0, dt;
	int		 r;

	w = waiter(60, 0);
	t0 = iow_now();
	r = iow_wait(&w, p[0], POLLIN);
	dt = iow_now() - t0;
	ok(r == -1 && errno == ETIMEDOUT && dt >= 55,
	    "nothing to read: ETIMEDOUT after the timeout");
	w = waiter(5000, iow_now() + 50);
	t0 = iow_now();
	r = iow_wait(&w, p[0], POLLIN);
	dt = iow_now() - t0;
	ok(r == -1 && errno == ETIME && dt >= 45 && dt < 2000,
	    "a deadline before the timeout: ETIME, at the deadline");
	w = waiter(5000, iow_now() - 1);
	ok(iow_wait(&w, p[0], POLLIN) == -1 && errno == ETIME,
	    "a deadline already past: ETIME at once");
	w = waiter(-1, iow_now() + 40);
	ok(iow_wait(&w, p[0], POLLIN) == -1 && errno == ETIME,
	    "no timeout, a deadline: ETIME");
	if (write(p[1], "x", 1) != 1)
		die("write");
	w = waiter(60, iow_now() + 5000);
	ok(iow_wait(&w, p[0], POLLIN) == 0, "data there: 0");
	ok(iow_wait(&w, p[1], POLLOUT) == 0, "room to write: 0");
}

static void
test_retry(void)
{
	struct iowait	 w = waiter(50, 0);
	char		 c;

	ok(iow_retry(&w, 0, 5, POLLIN) == 0, "5 bytes: a result");
	ok(iow_retry(&w, 0, 0, POLLIN) == 0, "0 (end of file): a result");
	errno = EINTR;
	ok(iow_retry(&w, 0, -1, POLLIN) == 1, "EINTR: try again");
	/* The byte of test_wait is there: EAGAIN waits, then says retry. */
	errno = EAGAIN;
	ok(iow_retry(&w, 0, -1, POLLIN) == 1, "EAGAIN, data there: retry");
	if (read(p[0], &c, 1) != 1)
		die("read");
	errno = EAGAIN;
	ok(iow_retry(&w, 0, -1, POLLIN) == -1 && errno == ETIMEDOUT,
	    "EAGAIN, nothing comes: ETIMEDOUT");
	errno = EBADF;
	ok(iow_retry(&w, 0, -1, POLLIN) == -1 && errno == EBADF,
	    "another error: fails as it is");
	ok(iow_retry(&w, 1, TLS_WANT_POLLOUT, POLLIN) == 1,
	    "TLS_WANT_POLLOUT, room to write: retry");
	ok(iow_retry(&w, 1, TLS_WANT_POLLIN, POLLOUT) == -1 &&
	    errno == ETIMEDOUT, "TLS_WANT_POLLIN, nothing comes: ETIMEDOUT");
	ok(iow_retry(&w, 1, -1, POLLIN) == -1 && errno == EPROTO,
	    "TLS -1: EPROTO");
	ok(iow_retry(&w, 1, 7, POLLIN) == 0, "TLS 7 bytes: a result");
}

int
main(void)
{
	if (pipe2(p, O_NONBLOCK) == -1)
		die("pipe2");
	test_wait();
	test_retry();
	return done_testing();
}
