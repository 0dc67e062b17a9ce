/*
 * child.h: the commands imapfetch runs with sh -c (imap-password-command,
 * imap-oauth2-command, on-new), bounded in time.  A command that hangs
 * must not hang the run, which holds the maildrop's lock: at its deadline
 * it is killed.
 */
#ifndef IMAPFETCH_CHILD_H
#define IMAPFETCH_CHILD_H

#include <sys/types.h>

/*
 * Starts "/bin/sh -c cmd" in a process group of its own, with standard
 * input from /dev/null and SIGPIPE as by default.  With out != NULL its
 * standard output is a pipe, whose read end *out the caller closes; else
 * it shares ours.  env: name, value, name, value, ..., NULL, added to
 * its environment (env may be NULL).
 * Returns the pid, or -1 with errno.
 */
pid_t	child_start(const char *cmd, int *out, const char *const env[]);

/* A deadline secs seconds from now, on the monotonic clock (ms). */
long long child_deadline(unsigned secs);

/* Milliseconds left before deadline, 0 once it has passed (for poll). */
int	child_left(long long deadline);

/*
 * Waits for pid until deadline, then kills its whole process group
 * (SIGKILL); either way it is reaped.  Returns 0 with its wait status in
 * *status, or -1 with errno: ETIMEDOUT when it had to be killed.
 */
int	child_wait(pid_t pid, long long deadline, int *status);

#endif
