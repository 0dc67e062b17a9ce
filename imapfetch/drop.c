/*
 * drop.c: lock the maildrop and finish what a killed run left (see
 * maildrop.h).
 */
#include <errno.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "conf.h"
#include "drop.h"
#include "state.h"
#include "sync.h"

int
drop_open(const struct account *a, struct drop *md)
{
	int	 r;

	md->statefd = md->lockfd = -1;
	if (deliver_open(&md->dl, a->maildrop, "imapfetch") == -1) {
		log_warn("%s: maildrop %s", a->name, a->maildrop);
		return EX_CANTCREAT;
	}
	if ((md->statefd = state_dir(a->maildrop)) == -1) {
		log_warn("%s: %s/.imapfetch", a->name, a->maildrop);
		r = EX_CANTCREAT;
	} else if ((md->lockfd = state_lock(md->statefd)) == -1) {
		if (errno == EWOULDBLOCK) {
			log_warnx("%s: already running (lock %s/.imapfetch/"
			    "lock held)", a->name, a->maildrop);
			r = EX_TEMPFAIL;
		} else {
			log_warn("%s: lock %s/.imapfetch/lock", a->name,
			    a->maildrop);
			r = EX_CANTCREAT;
		}
	} else if ((r = sync_recover(a, &md->dl, md->statefd)) == 0)
		return 0;
	drop_close(md);
	return r;
}

void
drop_close(struct drop *md)
{
	deliver_close(&md->dl);
	if (md->lockfd != -1)
		close(md->lockfd);
	if (md->statefd != -1)
		close(md->statefd);
	md->statefd = md->lockfd = -1;
}
