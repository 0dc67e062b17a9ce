/*
 * imapfetch: fetch new IMAP mail into the maildrops of popd.conf(5),
 * durably and exactly once, then exit.  See imapfetch(1).
 */
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

static void
usage(void)
{
	fprintf(stderr, "usage: imapfetch [-tqv] [-c file] [account ...]\n"
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
one(const struct run *run, const struct account *a, struct outcome *o,
    size_t *n)
{
	memset(&o[*n], 0, sizeof(o[*n]));
	o[*n].acct = a;
	o[*n].code = account_run(run, a, &o[*n].t);
	return o[(*n)++].code;
}

/*
 * The accounts to fetch: those named, or every one with an imap-host.
 * o has room for one outcome per name or per account.
 */
static int
run_accounts(const struct run *run, char **names, int nnames,
    struct outcome *o, size_t *n)
{
	const struct account	*a;
	size_t			 i;
	int			 worst = 0, k;

	for (k = 0; k < nnames; k++) {
		if ((a = conf_account(run->conf, names[k])) == NULL) {
			log_warnx("%s: no such account in %s", names[k],
			    run->conffile);
			worst = ex_worst(worst, EX_USAGE);
		} else if (a->imap_host == NULL) {
			log_warnx("%s: no imap-host in %s", names[k],
			    run->conffile);
			worst = ex_worst(worst, EX_CONFIG);
		} else
			worst = ex_worst(worst, one(run, a, o, n));
	}
	if (nnames > 0)
		return worst;
	for (i = 0; i < run->conf->naccounts; i++) {
		a = &run->conf->accounts[i];
		if (a->imap_host != NULL)
			worst = ex_worst(worst, one(run, a, o, n));
	}
	return worst;
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	struct run	 run;
	struct outcome	*o;
	size_t		 n = 0;
	int		 ch, check = 0, r;

	memset(&run, 0, sizeof(run));
	run.conffile = CONF_DEFAULT_PATH;
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		puts("imapfetch " POPD_VERSION);
		return 0;
	}
	while ((ch = getopt(argc, argv, "c:qtv")) != -1) {
		switch (ch) {
		case 'c':
			run.conffile = optarg;
			break;
		case 'q':
			run.quiet = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'v':
			run.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (run.quiet && run.verbose)
		usage();
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
	r = 0;
	if (!check) {
		o = xcalloc(conf.naccounts + argc + 1, sizeof(*o));
		r = run_accounts(&run, argv + optind, argc - optind, o, &n);
		if (conf.metrics_file != NULL)
			(void)hook_metrics(conf.metrics_file, o, n);
		free(o);
	}
	conf_free(&conf);
	return r;
}
