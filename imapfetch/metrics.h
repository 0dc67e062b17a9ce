/*
 * metrics.h: the metrics-file of popd.conf(5), a Prometheus textfile for
 * the node exporter's textfile collector.  Per account and mailbox
 * (labels account, mailbox):
 *
 *	imapfetch_last_success_timestamp_seconds	gauge; 0: never
 *	imapfetch_last_run_duration_seconds		gauge
 *	imapfetch_messages_fetched_total		counter
 *	imapfetch_bytes_fetched_total			counter
 *	imapfetch_failures_total{kind=...}		counter
 *
 * with kind network, protocol, auth, local, config or tempfail (the exit
 * code of imapfetch.h, each kind always written); per account
 * imapfetch_exit_code; and imapfetch_last_run_timestamp_seconds.
 *
 * The file is the only state: the counters and the last success of each
 * series are read back from it and carried on.  It is read strictly: a
 * file that is not exactly what imapfetch writes (damaged, or another
 * program's) is ignored with a warning, and the counters start again from
 * 0 (Prometheus takes that as a counter reset).  The series of accounts
 * that did not run (imapfetch NAME...) are kept as they were, those of
 * accounts no longer in the configuration dropped; an account that ran
 * (metrics_account) has the series of its configured mailboxes, no
 * others.
 *
 * The file is replaced whole, never edited: a new file in the same
 * directory, fsync, rename, fsync of the directory.  Two imapfetch runs
 * (one per account, imapfetch@.timer) take turns through a flock(2) of
 * the directory while each reads, merges and replaces the file.
 *
 * Every function does nothing when given NULL: without a metrics-file,
 * callers need no test of their own.
 */
#ifndef IMAPFETCH_METRICS_H
#define IMAPFETCH_METRICS_H

#include <time.h>

#include "imapfetch.h"

struct metrics;

/*
 * This run's metrics, for c->metrics_file, which it does not read yet;
 * NULL when c has no metrics-file.  Remembers which sections fetch (have
 * an imap-host): the old series of the others are dropped.
 */
struct metrics	*metrics_new(const struct conf *c);

/*
 * One mailbox of an account is done: what it delivered (t), the seconds
 * it took and its result (0 or an exit code).  The same mailbox again
 * adds up, the worse code winning.  Any case of INBOX is INBOX; bytes
 * that are not UTF-8 become U+FFFD in the label.
 */
void	 metrics_add(struct metrics *, const char *account,
	    const char *mailbox, const struct tally *t, double secs, int code);

/*
 * The account is done, with exit code code after secs seconds.  Each of
 * its mailboxes that metrics_add did not see (the run failed before it:
 * the lock, the connection, the login, a broken connection) gets that
 * code and duration, and nothing delivered.
 */
void	 metrics_account(struct metrics *, const struct account *,
	    double secs, int code);

/*
 * Reads the old file, adds to it what was recorded since the last
 * metrics_write (a long-running imapfetch may call it after each round)
 * and replaces it.  0, or -1 after logging why: the old file is then left
 * as it was, and what was recorded is kept for the next call.
 */
int	 metrics_write(struct metrics *);

void	 metrics_free(struct metrics *);

/* Seconds since t0, a CLOCK_MONOTONIC time. */
double	 metrics_since(const struct timespec *t0);

#endif
