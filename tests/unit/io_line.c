/*
 * io_line.c: what io_getline promises beyond the line format (io.c's
 * test): a line deadline that a peer sending a byte now and then cannot
 * stretch, a line already buffered served whatever the deadline, and the
 * bytes of a line (a password) wiped from the io's buffer once consumed.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "io.h"
#include "iowait.h"
#include "tap.h"

#define CAP	(POP3_LINE_MAX + 2)	/* what popd passes */

static struct io	io;
static char		line[CAP];
static size_t		len;

/* A child that writes s one byte every ms milliseconds. */
static pid_t
trickle(int fd, const char *s, int ms)
{
	pid_t	pid;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid > 0)
		return pid;
	for (; *s != '\0'; s++) {
		if (write(fd, s, 1) != 1)
			_exit(1);
		usleep((useconds_t)ms * 1000);
	}
	_exit(0);
}

static void
test_deadline(void)
{
	long long	t0, ms;
	int		w = pipe_io(&io, 1000), st;
	pid_t		pid;

	/* Each byte within the 1 s wait, the line not within 600 ms. */
	pid = trickle(w, "NOOP and then some more\r\n", 100);
	t0 = iow_now();
	is_int(io_getline(&io, line, sizeof(line), &len, t0 + 600), IO_ERROR,
	    "a byte every 100 ms, 600 ms for the line: IO_ERROR");
	ms = iow_now() - t0;
	is_int(io.error, ETIMEDOUT, "...io.error ETIMEDOUT");
	ok(ms >= 550 && ms < 1000, "...at the deadline, not a wait later");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(w);
	pipe_io_close(&io);

	w = pipe_io(&io, 1000);
	pid = trickle(w, "NOOP\r\n", 20);
	t0 = iow_now();
	is_int(io_getline(&io, line, sizeof(line), &len, t0 + 2000), IO_LINE,
	    "a line that comes whole within its deadline: IO_LINE");
	is_str(line, "NOOP", "...intact");
	waitpid(pid, &st, 0);
	close(w);
	pipe_io_close(&io);

	/* Pipelined: what is here already is served, deadline or not. */
	w = pipe_io(&io, 1000);
	PUT(w, "STAT\r\nLIST\r\n");
	is_int(io_getline(&io, line, sizeof(line), &len, iow_now() + 1000),
	    IO_LINE, "two lines at once: the first");
	is_int(io_getline(&io, line, sizeof(line), &len, iow_now() - 1),
	    IO_LINE, "...the second, buffered, even past its deadline");
	is_str(line, "LIST", "...intact");
	is_int(io_getline(&io, line, sizeof(line), &len, iow_now() - 1),
	    IO_ERROR, "...then nothing more: the deadline holds");
	close(w);
	pipe_io_close(&io);

	/* No deadline (0): only the per-wait timeout, as before. */
	w = pipe_io(&io, 200);
	t0 = iow_now();
	is_int(io_getline(&io, line, sizeof(line), &len, 0), IO_ERROR,
	    "no deadline: the per-wait timeout still ends a silent peer");
	ok(iow_now() - t0 >= 190, "...after it");
	close(w);
	pipe_io_close(&io);
}

/* 1 when the io's buffer holds s anywhere, consumed or not. */
static int
in_rbuf(const char *s)
{
	return memmem(io.rbuf, sizeof(io.rbuf), s, strlen(s)) != NULL;
}

static void
test_wipe(void)
{
	int	w = pipe_io(&io, 1000);

	PUT(w, "PASS hunter2-secret\r\nNOOP\r\n");
	is_int(io_getline(&io, line, sizeof(line), &len, 0), IO_LINE,
	    "PASS and NOOP in one read: PASS");
	is_str(line, "PASS hunter2-secret", "...the line");
	ok(!in_rbuf("hunter2"), "the password is no longer in the buffer");
	ok(!in_rbuf("PASS"), "...nor the command");
	is_int(io_pending(&io), 6, "...NOOP still waits there");
	ok(in_rbuf("NOOP"), "...intact");
	is_int(io_getline(&io, line, sizeof(line), &len, 0), IO_LINE,
	    "NOOP");
	ok(!in_rbuf("NOOP"), "...wiped once read");
	close(w);
	pipe_io_close(&io);

	/* A line in two reads, and an overlong one: wiped all the same. */
	w = pipe_io(&io, 1000);
	PUT(w, "AUTH PLAIN AGFsaWNl");
	PUT(w, "AHNlY3JldA==\r\n");
	is_int(io_getline(&io, line, sizeof(line), &len, 0), IO_LINE,
	    "AUTH PLAIN in pieces");
	ok(!in_rbuf("AHNlY3JldA"), "...its response wiped");
	close(w);
	pipe_io_close(&io);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_deadline();
	test_wipe();
	return done_testing();
}
