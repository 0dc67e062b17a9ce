/*
 * account.c: one account, start to end: lock, finish what an interrupted
 * run left, connect, every mailbox, disconnect.  A dry run only reads
 * what the maildrop has.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "auth.h"
#include "imapfetch.h"
#include "drop.h"
#include "metrics.h"
#include "sync.h"

/* Exit codes from least to most serious; unknown ones rank as software. */
static const int ex_rank[] = {
	0, EX_TEMPFAIL, EX_UNAVAILABLE, EX_PROTOCOL, EX_NOPERM, EX_CANTCREAT,
	EX_IOERR, EX_CONFIG, EX_USAGE, EX_SOFTWARE, EX_OSERR
};

static size_t
rank(int code)
{
	size_t	 i;

	for (i = 0; i < sizeof(ex_rank) / sizeof(ex_rank[0]); i++)
		if (ex_rank[i] == code)
			return i;
	return sizeof(ex_rank) / sizeof(ex_rank[0]);
}

int
ex_worst(int a, int b)
{
	return rank(a) >= rank(b) ? a : b;
}

unsigned
account_port(const struct account *a)
{
	if (a->imap_port != 0)
		return a->imap_port;
	return a->imap_tls == IT_IMPLICIT ? 993 : 143;
}

/* Finishes the pending deliveries of one state file. */
static int
recover_file(const struct account *a, struct deliver *dl, int statefd,
    const char *file)
{
	struct state	 st;
	size_t		 i;
	int		 r;

	if (state_load_file(statefd, file, &st) == -1) {
		log_warn("%s: %s/.imapfetch/%s", a->name, a->maildrop, file);
		return -1;
	}
	for (i = 0; i < st.npend; i++) {
		if ((r = deliver_recover(dl, st.pend[i].name)) == -1) {
			log_warn("%s: finishing delivery of %s", a->name,
			    st.pend[i].name);
			state_free(&st);
			return -1;
		}
		if (r == 0 && deliver_exists(dl, st.pend[i].name) == 0)
			/* Renamed, then taken by a POP3 client; or its tmp
			 * file removed by someone else.  Fetching it again
			 * could deliver it twice: say it, at least. */
			log_warnx("%s: %s: pending, but in neither tmp/ nor "
			    "new/ or cur/: counted as delivered", a->name,
			    st.pend[i].name);
		else
			log_debug("%s: %s: %s", a->name, st.pend[i].name,
			    r == 1 ? "delivery finished" :
			    "was already delivered");
	}
	r = 0;
	if (st.npend > 0) {
		state_settle(&st);
		if ((r = state_save_file(statefd, file, &st)) == -1)
			log_warn("%s: %s/.imapfetch/%s", a->name, a->maildrop,
			    file);
	}
	state_free(&st);
	return r;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t	 ls = strlen(s), lx = strlen(suffix);

	return ls > lx && strcmp(s + ls - lx, suffix) == 0;
}

int
sync_recover(const struct account *a, struct deliver *dl, int statefd)
{
	DIR		*dir;
	struct dirent	*de;
	int		 fd, r = 0, n;

	if ((fd = dup(statefd)) == -1 || (dir = fdopendir(fd)) == NULL) {
		log_warn("%s: %s/.imapfetch", a->name, a->maildrop);
		if (fd != -1)
			close(fd);
		return EX_CANTCREAT;
	}
	while (r == 0 && (de = readdir(dir)) != NULL)
		if (has_suffix(de->d_name, ".state"))
			r = recover_file(a, dl, statefd, de->d_name);
	closedir(dir);
	if (r == -1)
		return EX_CANTCREAT;
	/* Every pending delivery is finished: the rest of ours is debris. */
	if ((n = deliver_clean_tmp(dl, NULL, NULL)) == -1) {
		log_warn("%s: cleaning %s/tmp", a->name, a->maildrop);
		return EX_CANTCREAT;
	}
	if (n > 0)
		log_debug("%s: removed %d tmp files of an interrupted run",
		    a->name, n);
	return 0;
}

int
account_connect(const struct run *run, const struct account *a,
    struct conn *c)
{
	int	 r;

	if ((r = conn_open(c, a, run->verbose)) != 0)
		return r;
	if ((r = auth_login(c, a, run->conffile)) != 0)
		conn_close(c);
	return r;
}

static int
mailboxes(const struct run *run, const struct account *a, struct deliver *dl,
    int statefd, struct tally *t)
{
	struct conn	 c;
	size_t		 i;
	int		 r, worst = 0;

	if ((r = account_connect(run, a, &c)) != 0)
		return r;
	for (i = 0; i < a->nmailboxes; i++) {
		r = sync_mailbox(run, a, &c, dl, statefd, a->mailboxes[i], t);
		worst = ex_worst(worst, r);
		/* A broken connection or a local failure ends the account;
		 * a mailbox the server refused does not. */
		if (c.error != 0 || r == EX_CANTCREAT || r == EX_OSERR)
			break;
	}
	conn_close(&c);
	return worst;
}

/*
 * -n: what the maildrop holds is read, nothing is created, written or
 * locked (a lock taken even for an instant could make a real run give
 * up); a maildrop that is not there yet is said, and the server still
 * asked.
 */
static int
account_plan(const struct run *run, const struct account *a, struct tally *t)
{
	char	 path[4096];
	int	 statefd = -1, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/.imapfetch", a->maildrop)
	    >= sizeof(path)) {
		log_warnx("%s: maildrop %s: name too long", a->name,
		    a->maildrop);
		return EX_CANTCREAT;
	}
	if (access(a->maildrop, F_OK) == -1 && errno == ENOENT) {
		if (!run->quiet)
			log_info("%s: maildrop %s does not exist: a run would "
			    "create it", a->name, a->maildrop);
	} else if ((statefd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 && errno != ENOENT) {
		log_warn("%s: %s", a->name, path);
		return EX_CANTCREAT;
	}
	r = mailboxes(run, a, NULL, statefd, t);
	if (statefd != -1)
		close(statefd);
	return r;
}

int
account_run(const struct run *run, const struct account *a, struct tally *t)
{
	struct drop	 md;
	struct timespec	 t0;
	int		 r;

	if (run->dryrun)
		return account_plan(run, a, t);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = drop_open(a, &md)) == 0) {
		r = mailboxes(run, a, &md.dl, md.statefd, t);
		/* Delivered is delivered, even if a later mailbox failed. */
		if (t->nnew > 0 && a->on_new != NULL)
			hook_on_new(a, t);
		drop_close(&md);
	}
	metrics_account(run->metrics, a, metrics_since(&t0), r);
	return r;
}
