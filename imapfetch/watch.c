/*
 * watch.c: push mode (see watch.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "iowait.h"
#include "drop.h"
#include "metrics.h"
#include "sync.h"
#include "watch.h"

static volatile sig_atomic_t	 stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* No SA_RESTART: a signal must cut the IDLE wait or a backoff short. */
static void
catch_stop(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
}

/* Sleeps ms, or less when a stop signal comes. */
static void
nap(long long ms)
{
	long long	 end = iow_now() + ms;
	struct timespec	 ts;

	while (!stopping && ms > 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (ms % 1000) * 1000000;
		(void)nanosleep(&ts, NULL);
		ms = end - iow_now();
	}
}

/* The mailbox to IDLE on: INBOX when fetched, else the first. */
static size_t
watched(const struct account *a)
{
	size_t	 i;

	for (i = 0; i < a->nmailboxes; i++)
		if (strcasecmp(a->mailboxes[i], "INBOX") == 0)
			return i;
	return 0;
}

/*
 * Fetches the watched mailbox, and the others too when all is set; the
 * watched one last, so that it is the one selected for the IDLE.
 */
static int
fetch(const struct run *run, const struct account *a, struct conn *c,
    struct drop *md, int all)
{
	struct tally	 t;
	size_t		 i, w = watched(a);
	int		 r = 0;

	memset(&t, 0, sizeof(t));
	for (i = 0; all && i < a->nmailboxes && r == 0 && !stopping; i++)
		if (i != w)
			r = sync_mailbox(run, a, c, &md->dl, md->statefd,
			    a->mailboxes[i], &t);
	/* A mailbox the server refused does not stop the others. */
	if (c->error == 0 && r != EX_CANTCREAT && r != EX_OSERR && !stopping)
		r = ex_worst(r, sync_mailbox(run, a, c, &md->dl, md->statefd,
		    a->mailboxes[w], &t));
	if (t.nnew > 0 && a->on_new != NULL)
		hook_on_new(a, &t);
	/* Each round is a run for the monitoring (sync_mailbox recorded
	 * it): the file must not wait for the watch to end. */
	(void)metrics_write(run->metrics);
	return r;
}

/*
 * A failure outside a fetch (connecting, logging in, IDLE, the lock):
 * counted for every mailbox of the account, as a run that failed there.
 */
static void
failed(const struct run *run, const struct account *a,
    const struct timespec *t0, int code)
{
	metrics_account(run->metrics, a, metrics_since(t0), code);
	(void)metrics_write(run->metrics);
}

/*
 * How the new connection c is watched: *idle when the server has IDLE;
 * with several mailboxes, NOTIFY for the others when it has that too.
 * 0, or an exit code.
 */
static int
how(const struct account *a, struct conn *c, int *idle)
{
	int	 notify = 0, r;

	if (!(*idle = mailimap_has_idle(c->imap))) {
		log_info("%s: the server has no IDLE: looking every %u s",
		    a->name, a->watch_interval);
		return 0;
	}
	if (a->nmailboxes < 2)
		return 0;
	if (!mailimap_has_extension(c->imap, "NOTIFY")) {
		log_info("%s: the server has no NOTIFY: mailboxes other than "
		    "%s looked at every %u s", a->name,
		    a->mailboxes[watched(a)], a->watch_interval);
		return 0;
	}
	if ((r = conn_notify(c, a->mailboxes, a->nmailboxes, &notify)) != 0)
		return r;
	if (notify)
		log_debug("%s: NOTIFY: the other mailboxes too as soon as the "
		    "server tells", a->name);
	return 0;
}

/* One connection, from login to its failure (or a stop). */
static int
session(const struct run *run, const struct account *a, struct drop *md,
    int *connected)
{
	struct conn	 c;
	struct timespec	 t0;
	long long	 next_all;
	int		 r, woken, idle, ms;
	int		 every = (int)a->watch_interval * 1000;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = account_connect(run, a, &c)) != 0) {
		failed(run, a, &t0, r);
		return r;
	}
	*connected = 1;
	if ((r = how(a, &c, &idle)) != 0) {
		failed(run, a, &t0, r);
		conn_close(&c);
		return r;
	}
	r = fetch(run, a, &c, md, 1);
	next_all = iow_now() + every;
	while (r == 0 && !stopping) {
		if (!idle) {
			nap(every);
			r = fetch(run, a, &c, md, 1);
			continue;
		}
		ms = IMAP_IDLE_MAX * 1000;
		if (a->nmailboxes > 1 && next_all - iow_now() < ms)
			ms = next_all - iow_now() > 0 ?
			    (int)(next_all - iow_now()) : 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((r = conn_idle(&c, ms, &stopping, &woken)) != 0) {
			failed(run, a, &t0, r);
			break;
		}
		if (stopping)
			break;
		/* NOTIFY told of another mailbox (which one libetpan does
		 * not keep): all are looked at, each one round trip when
		 * nothing is new. */
		if (iow_now() >= next_all || (woken & IDLE_OTHERS)) {
			r = fetch(run, a, &c, md, 1);
			next_all = iow_now() + every;
		} else
			/* Woken, or the IDLE is renewed: a look at the
			 * mailbox costs one round trip, catches what a
			 * server forgot to say, and keeps the last success
			 * of the metrics fresh. */
			r = fetch(run, a, &c, md, 0);
	}
	conn_close(&c);
	return r;
}

/* Waiting helps with these; not with a refused login or a bad disk. */
static int
transient(int r)
{
	return r == EX_UNAVAILABLE || r == EX_PROTOCOL || r == EX_TEMPFAIL;
}

int
watch_account(const struct run *run, const struct account *a)
{
	struct drop	 md;
	struct timespec	 t0;
	long long	 backoff = 1000, delay;
	int		 r, connected;

	catch_stop();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = drop_open(a, &md)) != 0) {
		failed(run, a, &t0, r);
		return r;
	}
	srandom((unsigned)(getpid() ^ iow_now()));
	while (!stopping) {
		connected = 0;
		r = session(run, a, &md, &connected);
		if (stopping || !transient(r))
			break;
		if (connected)
			backoff = 1000;	/* it worked for a while */
		/* Jitter: many watchers must not come back at once. */
		delay = backoff + random() % (backoff / 2 + 1);
		log_info("%s: reconnecting in %.1f s", a->name,
		    delay / 1000.0);
		nap(delay);
		backoff = backoff * 2 > IMAP_WATCH_BACKOFF_MAX * 1000LL ?
		    IMAP_WATCH_BACKOFF_MAX * 1000LL : backoff * 2;
	}
	drop_close(&md);
	return stopping ? 0 : r;
}
