/*
 * io.c: the bounded line reader over a pipe, as popd reads fd 0: CRLF and
 * LF lines, the 255-octet bound (RFC 2449), overlong lines consumed and
 * reported once, NUL, EOF mid-line, lines that come in pieces, and the
 * idle timeout.  Writers that need time or more than a pipe holds are
 * child processes.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "io.h"
#include "tap.h"

#define CAP	(POP3_LINE_MAX + 2)	/* what popd passes */

static struct io	io;
static char		line[CAP];
static size_t		len;

/* Writes n bytes of c, in pieces, from a child; returns its pid. */
static pid_t
child_put(int fd, const char *head, size_t n, char c, const char *tail)
{
	char	buf[4096];
	size_t	k;
	pid_t	pid;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid > 0)
		return pid;
	memset(buf, c, sizeof(buf));
	put_fd(fd, head, strlen(head));
	for (; n > 0; n -= k) {
		k = n < sizeof(buf) ? n : sizeof(buf);
		put_fd(fd, buf, k);
	}
	put_fd(fd, tail, strlen(tail));
	_exit(0);
}

static int
getl(void)
{
	memset(line, 'Q', sizeof(line));
	return io_getline(&io, line, sizeof(line), &len, 0);
}

static void
test_terminators(void)
{
	int	w = pipe_io(&io, 2000);

	PUT(w, "USER alice\r\nNOOP\n\r\n\na\rb\r\n\r\r\nLAST");
	is_int(getl(), IO_LINE, "a CRLF line");
	is_str(line, "USER alice", "...its text, without CRLF");
	is_int(len, 10, "...its length");
	is_int(getl(), IO_LINE, "an LF line");
	is_str(line, "NOOP", "...without LF");
	is_int(getl(), IO_LINE, "an empty CRLF line");
	is_str(line, "", "...empty");
	is_int(len, 0, "...length 0");
	is_int(getl(), IO_LINE, "an empty LF line");
	is_int(len, 0, "...length 0 too");
	is_int(getl(), IO_LINE, "a line with a CR inside");
	is_str(line, "a\rb", "...keeps the inner CR");
	is_int(getl(), IO_LINE, "CR CR LF");
	is_str(line, "\r", "...only the CR of CRLF is taken");
	is_int(io_pending(&io), 4, "the partial line is pending");
	close(w);
	is_int(getl(), IO_EOF, "EOF in the middle of a line: IO_EOF");
	ok(io.eof, "...io.eof is set");
	is_int(io.rbytes, 32, "rbytes counts every byte read");
	is_int(getl(), IO_EOF, "and IO_EOF again");
	pipe_io_close(&io);

	w = pipe_io(&io, 2000);
	close(w);
	is_int(getl(), IO_EOF, "EOF before any byte: IO_EOF");
	pipe_io_close(&io);
}

static void
test_bounds(void)
{
	char	buf[1024];
	int	w = pipe_io(&io, 2000);

	memset(buf, 'a', sizeof(buf));
	put_fd(w, buf, 255);
	PUT(w, "\r\n");
	is_int(getl(), IO_LINE, "255 octets + CRLF: a line");
	is_int(len, 255, "...of 255 octets");
	ok(line[0] == 'a' && line[254] == 'a' && line[255] == '\0',
	    "...whole and terminated");

	put_fd(w, buf, 255);
	PUT(w, "\n");
	is_int(getl(), IO_LINE, "255 octets + LF: a line");
	is_int(len, 255, "...of 255 octets");

	put_fd(w, buf, 256);
	PUT(w, "\r\nNEXT\r\n");
	is_int(getl(), IO_LONG, "256 octets + CRLF: IO_LONG");
	is_str(line, "", "...and no text");
	is_int(getl(), IO_LINE, "the next line is read");
	is_str(line, "NEXT", "...intact");

	put_fd(w, buf, 257);
	PUT(w, "\nNEXT\n");
	is_int(getl(), IO_LONG, "257 octets + LF: IO_LONG");
	is_int(getl(), IO_LINE, "...then the next line");
	is_str(line, "NEXT", "...intact");

	put_fd(w, buf, 256);
	PUT(w, "\nNEXT\n");
	/* 255 octets is the bound whatever ends the line, CRLF or LF. */
	is_int(getl(), IO_LONG, "256 octets + LF: IO_LONG");
	if (len != 0 || strcmp(line, "NEXT") != 0)
		getl();
	is_str(line, "NEXT", "...then the next line");

	put_fd(w, buf, 1000);
	PUT(w, "\r\nNO\0OP\r\nX\0");
	put_fd(w, buf, 300);
	PUT(w, "\r\nLAST\r\n");
	is_int(getl(), IO_LONG, "1000 octets: IO_LONG");
	is_int(getl(), IO_BADCHAR, "a NUL in a line: IO_BADCHAR");
	is_int(getl(), IO_LONG, "a NUL in an overlong line: still one answer");
	is_int(getl(), IO_LINE, "then the next line");
	is_str(line, "LAST", "...intact");
	close(w);
	pipe_io_close(&io);
}

/* 70,000 octets, more than a pipe holds: written by a child. */
static void
test_huge(void)
{
	int	w = pipe_io(&io, 5000), st;
	pid_t	pid;

	pid = child_put(w, "", 70000, 'x', "\r\nNEXT\r\n");
	close(w);
	is_int(getl(), IO_LONG, "70,000 octets: IO_LONG, once");
	is_int(getl(), IO_LINE, "...then the next line");
	is_str(line, "NEXT", "...intact");
	is_int(getl(), IO_EOF, "...then EOF");
	waitpid(pid, &st, 0);
	pipe_io_close(&io);

	w = pipe_io(&io, 5000);
	pid = child_put(w, "", 70000, '\0', "\nNEXT\n");
	close(w);
	is_int(getl(), IO_LONG, "70,000 NULs: IO_LONG, once");
	is_int(getl(), IO_LINE, "...then the next line");
	waitpid(pid, &st, 0);
	pipe_io_close(&io);
}

/* A line written one byte at a time, with pauses: one line comes out. */
static void
test_pieces(void)
{
	static const char	msg[] = "USER piecemeal\r\nNOOP\r\n";
	int			w = pipe_io(&io, 5000), st;
	size_t			i;
	pid_t			pid;

	if ((pid = fork()) == 0) {
		for (i = 0; i < sizeof(msg) - 1; i++) {
			put_fd(w, msg + i, 1);
			usleep(2000);
		}
		_exit(0);
	}
	close(w);
	is_int(getl(), IO_LINE, "a line in 16 writes: IO_LINE");
	is_str(line, "USER piecemeal", "...whole, CR and LF apart too");
	is_int(getl(), IO_LINE, "the next one");
	is_str(line, "NOOP", "...whole");
	is_int(getl(), IO_EOF, "then EOF");
	waitpid(pid, &st, 0);
	pipe_io_close(&io);
}

static void
test_timeout(void)
{
	struct timespec	t0, t1;
	long		ms;
	int		w = pipe_io(&io, 200);

	PUT(w, "NO");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(getl(), IO_ERROR, "a silent peer: IO_ERROR");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	is_int(io.error, ETIMEDOUT, "...with io.error ETIMEDOUT");
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(ms >= 190 && ms < 2000, "...after the timeout (200 ms)");
	close(w);
	pipe_io_close(&io);
}

static void
test_write(void)
{
	char	big[2000], got[64];
	int	p[2];
	ssize_t	n;

	if (pipe(p) == -1)
		exit(2);
	io_init(&io, p[0], p[1], 1000);
	io_puts(&io, "+OK ");
	io_printf(&io, "%d %s\r\n", 2, "x");
	is_int(io_pending(&io), 0, "writing leaves nothing to read");
	is_int(io_flush(&io), 0, "io_flush");
	n = read(p[0], got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = '\0';
	is_str(got, "+OK 2 x\r\n", "what was written, in order");
	is_int(io.wbytes, 9, "wbytes counts it");
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(io_printf(&io, "%s", big), -1, "io_printf of more than 1 KB: -1");
	is_int(io.error, EOVERFLOW, "...EOVERFLOW, not a silent cut");
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_terminators();
	test_bounds();
	test_huge();
	test_pieces();
	test_timeout();
	test_write();
	return done_testing();
}
