/*
 * jobs.h: imapfetch -j N, accounts fetched side by side.
 */
#ifndef IMAPFETCH_JOBS_H
#define IMAPFETCH_JOBS_H

#include <stddef.h>

#include "imapfetch.h"

/*
 * Fetches the n accounts of acct, up to jobs at once, each job a process
 * of its own; the accounts that share a maildrop go one after the other
 * in one job (the maildrop's lock would refuse the second).  o[i] gets
 * the outcome of acct[i].  Log lines do not mix: each is one write.
 * Returns the worst exit code.
 */
int	jobs_run(const struct run *, const struct account **acct, size_t n,
	    struct outcome *o, int jobs);

#endif
