/*
 * child.c: sh -c commands with a deadline (see child.h).
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

/* How often child_wait looks: no SIGCHLD handler wakes us earlier. */
#define CHILD_POLL_MS	10

/* In the child, between fork and exec: only async-signal-safe calls but
 * setenv (imapfetch has one thread). */
static void
child_exec(const char *cmd, int out, const char *const env[])
{
	size_t	 i;
	int	 null;

	/* Its own process group: at the deadline the whole group dies, not
	 * only sh (whose children would live on under cron). */
	if (setpgid(0, 0) == -1)
		_exit(127);
	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 ||
	    (out != -1 && dup2(out, STDOUT_FILENO) == -1))
		_exit(127);
	/* dup2 onto itself (our stdout was closed) keeps close-on-exec. */
	if (out == STDOUT_FILENO && fcntl(out, F_SETFD, 0) == -1)
		_exit(127);
	if (null != STDIN_FILENO)
		close(null);
	for (i = 0; env != NULL && env[i] != NULL; i += 2)
		if (setenv(env[i], env[i + 1], 1) == -1)
			_exit(127);
	/* We ignore SIGPIPE; a command writing to a closed pipe should die. */
	signal(SIGPIPE, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

pid_t
child_start(const char *cmd, int *out, const char *const env[])
{
	pid_t	 pid;
	int	 p[2] = { -1, -1 }, saved;

	if (out != NULL && pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		saved = errno;
		if (out != NULL) {
			close(p[0]);
			close(p[1]);
		}
		errno = saved;
		return -1;
	}
	if (pid == 0)
		child_exec(cmd, p[1], env);
	/* Also here: the deadline may come before the child runs at all. */
	(void)setpgid(pid, pid);
	if (out != NULL) {
		close(p[1]);
		*out = p[0];
	}
	return pid;
}

long long
child_deadline(unsigned secs)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	    (long long)secs * 1000;
}

int
child_left(long long deadline)
{
	long long	 left = deadline - child_deadline(0);

	if (left <= 0)
		return 0;
	/* imap-timeout is at most an hour: a day fits an int in any case. */
	return left > 86400000 ? 86400000 : (int)left;
}

int
child_wait(pid_t pid, long long deadline, int *status)
{
	struct timespec	 nap = { 0, CHILD_POLL_MS * 1000000L };
	pid_t		 r;

	for (;;) {
		if ((r = waitpid(pid, status, WNOHANG)) == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
		if (child_left(deadline) == 0)
			break;
		nanosleep(&nap, NULL);
	}
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
	errno = ETIMEDOUT;
	return -1;
}
