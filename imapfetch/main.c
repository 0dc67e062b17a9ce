/*
 * imapfetch: fetch new IMAP mail into the maildrops of popd.conf(5),
 * durably and exactly once, then exit.  See imapfetch(1).
 */
#include <getopt.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "util.h"
#include "imapfetch.h"
#include "jobs.h"
#include "list.h"
#include "metrics.h"
#include "num.h"
#include "utf7.h"
#include "watch.h"

/* What this run does with each account. */
enum mode { M_FETCH, M_LIST, M_CHECK, M_WATCH };

static void
usage(void)
{
	fprintf(stderr, "usage: imapfetch [-nqtv] [-j jobs] [-c file] "
	    "[account ...]\n"
	    "       imapfetch --list [-qv] [-c file] [account ...]\n"
	    "       imapfetch --watch [-qv] [-c file] account\n"
	    "       imapfetch --version\n");
	exit(EX_USAGE);
}

static void
conf_error(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	if (line > 0)
		fprintf(stderr, "imapfetch: %s:%d: %s\n", file, line, msg);
	else
		fprintf(stderr, "imapfetch: %s: %s\n", file, msg);
}

/* Runs one account and records its outcome. */
static int
one(const struct run *run, enum mode mode, const struct account *a,
    struct outcome *o, size_t *n)
{
	if (mode == M_LIST)
		return list_account(run, a);
	memset(&o[*n], 0, sizeof(o[*n]));
	o[*n].acct = a;
	o[*n].code = account_run(run, a, &o[*n].t);
	return o[(*n)++].code;
}

/* The account called name, or NULL after saying why (*worst updated). */
static const struct account *
pick(const struct run *run, const char *name, int *worst)
{
	const struct account	*a;

	if ((a = conf_account(run->conf, name)) == NULL) {
		log_warnx("%s: no such account in %s", name, run->conffile);
		*worst = ex_worst(*worst, EX_USAGE);
	} else if (a->imap_host == NULL) {
		log_warnx("%s: no imap-host in %s", name, run->conffile);
		*worst = ex_worst(*worst, EX_CONFIG);
		a = NULL;
	}
	return a;
}

/*
 * The accounts to fetch: those named, or every one with an imap-host.
 * o has room for one outcome per name or per account.  With -j they are
 * fetched side by side (jobs.h), else one after the other.
 */
static int
run_accounts(const struct run *run, enum mode mode, char **names,
    int nnames, struct outcome *o, size_t *n)
{
	const struct account	*a, **sel;
	size_t			 i, nsel = 0;
	int			 worst = 0, k;

	sel = xcalloc(run->conf->naccounts + (size_t)nnames + 1,
	    sizeof(*sel));
	for (k = 0; k < nnames; k++)
		if ((a = pick(run, names[k], &worst)) != NULL)
			sel[nsel++] = a;
	for (i = 0; nnames == 0 && i < run->conf->naccounts; i++)
		if (run->conf->accounts[i].imap_host != NULL)
			sel[nsel++] = &run->conf->accounts[i];
	if (mode == M_WATCH && nsel == 1)
		worst = ex_worst(worst, watch_account(run, sel[0]));
	else if (mode == M_FETCH && run->jobs > 1 && !run->dryrun) {
		worst = ex_worst(worst, jobs_run(run, sel, nsel, o, run->jobs));
		*n = nsel;
	} else
		for (i = 0; i < nsel; i++)
			worst = ex_worst(worst, one(run, mode, sel[i], o, n));
	free(sel);
	return worst;
}

/*
 * What the configuration parser does not check: every mailbox name must
 * be UTF-8, or it cannot be sent (utf7.h).
 */
static int
check_mailboxes(const struct conf *conf, const char *conffile)
{
	const struct account	*a;
	size_t			 i, k;
	char			*wire;
	int			 r = 0;

	for (i = 0; i < conf->naccounts; i++) {
		a = &conf->accounts[i];
		for (k = 0; a->imap_host != NULL && k < a->nmailboxes; k++) {
			if ((wire = utf7_encode(a->mailboxes[k])) != NULL) {
				free(wire);
				continue;
			}
			fprintf(stderr, "imapfetch: %s: [%s]: mailboxes: a "
			    "name is not valid UTF-8\n", conffile, a->name);
			r = EX_CONFIG;
		}
	}
	return r;
}

/* The options into *run; returns the mode.  Exits on a bad command line. */
static enum mode
options(int argc, char *argv[], struct run *run)
{
	static const struct option longopts[] = {
		{ "list", no_argument, NULL, 'L' },
		{ "watch", no_argument, NULL, 'W' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	enum mode	 mode = M_FETCH;
	uint64_t	 jobs;
	int		 ch, check = 0;

	run->jobs = 1;
	while ((ch = getopt_long(argc, argv, "c:j:nqtv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			run->conffile = optarg;
			break;
		case 'j':
			if (num_parse(optarg, IMAP_JOBS_MAX, &jobs) == -1 ||
			    jobs == 0)
				usage();
			run->jobs = (int)jobs;
			break;
		case 'L':
			mode = M_LIST;
			break;
		case 'W':
			mode = M_WATCH;
			break;
		case 'n':
			run->dryrun = 1;
			break;
		case 'q':
			run->quiet = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			run->verbose = 1;
			break;
		case 'V':
			puts("imapfetch " POPD_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if ((run->quiet && run->verbose) ||
	    (mode != M_FETCH && (run->dryrun || check || run->jobs > 1)) ||
	    (mode == M_WATCH && optind + 1 != argc))
		usage();
	return check ? M_CHECK : mode;
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	struct run	 run;
	struct outcome	*o;
	enum mode	 mode;
	size_t		 n = 0;
	int		 r;

	memset(&run, 0, sizeof(run));
	run.conffile = CONF_DEFAULT_PATH;
	mode = options(argc, argv, &run);
	refuse_root("imapfetch");
	log_init("imapfetch", LOG_TO_STDERR, run.verbose);
	/* A dead server must fail a write, not kill us mid-delivery. */
	signal(SIGPIPE, SIG_IGN);
	memset(&conf, 0, sizeof(conf));
	if (conf_load(&conf, run.conffile, conf_error, NULL) != 0) {
		conf_free(&conf);
		return EX_CONFIG;
	}
	run.conf = &conf;
	/* A run says it for the mailbox alone, and fetches the others. */
	if (mode == M_CHECK)
		r = check_mailboxes(&conf, run.conffile);
	else {
		/* The metrics are those of runs that fetch. */
		if ((mode == M_FETCH && !run.dryrun) || mode == M_WATCH)
			run.metrics = metrics_new(&conf);
		o = xcalloc(conf.naccounts + argc + 1, sizeof(*o));
		r = run_accounts(&run, mode, argv + optind, argc - optind, o,
		    &n);
		(void)metrics_write(run.metrics);
		metrics_free(run.metrics);
		free(o);
	}
	conf_free(&conf);
	return r;
}
