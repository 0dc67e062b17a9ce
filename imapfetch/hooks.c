/*
 * hooks.c: what imapfetch tells the rest of the system: the on-new
 * command.  (The Prometheus textfile is metrics.c.)
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "child.h"
#include "imapfetch.h"

/*
 * The command gets imap-timeout to finish, like the password command: the
 * run waits for it (to log a failure) with the maildrop still locked, and
 * a hung one must not keep the next runs out forever.
 */
void
hook_on_new(const struct account *a, const struct tally *t)
{
	const char	*env[7];
	char		 n[32];
	unsigned	 secs = a->imap_timeout ? a->imap_timeout : IMAP_TIMEOUT;
	pid_t		 pid;
	int		 status;

	snprintf(n, sizeof(n), "%lu", t->nnew);
	env[0] = "IMAPFETCH_ACCOUNT";
	env[1] = a->name;
	env[2] = "IMAPFETCH_MAILDROP";
	env[3] = a->maildrop;
	env[4] = "IMAPFETCH_NEW";
	env[5] = n;
	env[6] = NULL;
	if ((pid = child_start(a->on_new, NULL, env)) == -1) {
		log_warn("%s: on-new", a->name);
		return;
	}
	if (child_wait(pid, child_deadline(secs), &status) == -1) {
		if (errno == ETIMEDOUT)
			log_warnx("%s: on-new command still running after %u s "
			    "(imap-timeout): killed", a->name, secs);
		else
			log_warn("%s: on-new", a->name);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warnx("%s: on-new command failed (status %d)", a->name,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
