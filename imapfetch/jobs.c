/*
 * jobs.c: accounts side by side (see jobs.h).  A job reports each
 * account's outcome to the parent through a pipe, one record per write.
 */
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "jobs.h"
#include "metrics.h"

struct record {
	size_t		 i;		/* index into acct and o */
	int		 code;
	struct tally	 t;
};

struct job {
	pid_t		 pid;
	int		 fd;		/* read end; -1: the slot is free */
};

/* In the child: the accounts of acct's maildrop from first on. */
static void
job_main(const struct run *run, const struct account **acct, size_t n,
    size_t first, int fd)
{
	struct record	 rec;
	size_t		 i;

	for (i = first; i < n; i++) {
		if (strcmp(acct[i]->maildrop, acct[first]->maildrop) != 0)
			continue;
		memset(&rec, 0, sizeof(rec));
		rec.i = i;
		rec.code = account_run(run, acct[i], &rec.t);
		if (write(fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
			_exit(EX_OSERR);
	}
	/* The job's own series, beside those of the other jobs (the parent
	 * records none: it only updates the time of the run). */
	(void)metrics_write(run->metrics);
	_exit(0);
}

/* 1 when an account before first fetches into the same maildrop. */
static int
seen_before(const struct account **acct, size_t first)
{
	size_t	 i;

	for (i = 0; i < first; i++)
		if (strcmp(acct[i]->maildrop, acct[first]->maildrop) == 0)
			return 1;
	return 0;
}

static int
start(const struct run *run, const struct account **acct, size_t n,
    size_t first, struct job *j)
{
	int	 p[2];

	if (pipe(p) == -1)
		return -1;
	fflush(stderr);
	if ((j->pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (j->pid == 0) {
		close(p[0]);
		job_main(run, acct, n, first, p[1]);
	}
	close(p[1]);
	j->fd = p[0];
	return 0;
}

/* Reads one record, or reaps the job at its end of file. */
static void
collect(struct job *j, struct outcome *o, size_t n)
{
	struct record	 rec;
	ssize_t		 r;
	int		 status;

	r = read(j->fd, &rec, sizeof(rec));
	if (r == (ssize_t)sizeof(rec) && rec.i < n) {
		o[rec.i].t = rec.t;
		o[rec.i].code = rec.code;
		return;
	}
	if (r == -1 && errno == EINTR)
		return;
	close(j->fd);
	j->fd = -1;
	while (waitpid(j->pid, &status, 0) == -1 && errno == EINTR)
		;
}

int
jobs_run(const struct run *run, const struct account **acct, size_t n,
    struct outcome *o, int jobs)
{
	struct job	*j = xcalloc((size_t)jobs, sizeof(*j));
	struct pollfd	*pfd = xcalloc((size_t)jobs, sizeof(*pfd));
	size_t		 next = 0, i;
	int		 k, running = 0, worst = 0;

	for (i = 0; i < n; i++) {
		o[i].acct = acct[i];
		/* Unless a job says otherwise: it died. */
		o[i].code = EX_SOFTWARE;
	}
	for (k = 0; k < jobs; k++)
		j[k].fd = -1;
	for (;;) {
		for (k = 0; k < jobs && next < n; k++) {
			if (j[k].fd != -1)
				continue;
			while (next < n && seen_before(acct, next))
				next++;
			if (next == n)
				break;
			if (start(run, acct, n, next++, &j[k]) == -1)
				fatal(EX_OSERR, "fork");
			running++;
		}
		if (running == 0)
			break;
		for (k = 0; k < jobs; k++) {
			pfd[k].fd = j[k].fd;
			pfd[k].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)jobs, -1) == -1 && errno != EINTR)
			fatal(EX_OSERR, "poll");
		for (k = 0; k < jobs; k++)
			if (j[k].fd != -1 && pfd[k].revents != 0) {
				collect(&j[k], o, n);
				running -= j[k].fd == -1;
			}
	}
	for (i = 0; i < n; i++)
		worst = ex_worst(worst, o[i].code);
	free(j);
	free(pfd);
	return worst;
}
