/*
 * hooks.c: what imapfetch tells the rest of the system: the on-new
 * command, and the Prometheus textfile metrics.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void
metric(FILE *f, const char *name, const char *help, const struct outcome *o,
    size_t n, int which)
{
	size_t	 i;

	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s{account=\"%s\"} ", name, o[i].acct->name);
		if (which == 0)
			fprintf(f, "%d\n", o[i].code);
		else if (which == 1)
			fprintf(f, "%lu\n", o[i].t.nnew);
		else
			fprintf(f, "%llu\n", (unsigned long long)o[i].t.bytes);
	}
}

static void
write_metrics(FILE *f, const struct outcome *o, size_t n)
{
	fprintf(f, "# HELP imapfetch_last_run_timestamp_seconds When "
	    "imapfetch last ran.\n# TYPE imapfetch_last_run_timestamp_seconds"
	    " gauge\nimapfetch_last_run_timestamp_seconds %lld\n",
	    (long long)time(NULL));
	metric(f, "imapfetch_exit_code", "Exit code of the account's last "
	    "run (0: success).", o, n, 0);
	metric(f, "imapfetch_messages_fetched", "Messages delivered by the "
	    "last run.", o, n, 1);
	metric(f, "imapfetch_bytes_fetched", "Bytes delivered by the last "
	    "run.", o, n, 2);
}

int
hook_metrics(const char *path, const struct outcome *o, size_t n)
{
	char	 tmp[4096];
	FILE	*f = NULL;
	int	 fd = -1, saved;

	/* node_exporter reads *.prom files: ours must not end so. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path,
	    (long)getpid()) >= sizeof(tmp)) {
		log_warnx("metrics-file %s: name too long", path);
		return -1;
	}
	/* A fresh file, not a leftover nor a link planted in a directory
	 * that other producers of metrics may share. */
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1 || (f = fdopen(fd, "w")) == NULL)
		goto fail;
	write_metrics(f, o, n);
	/* Whole (an earlier failed flush shows only in ferror) and durable
	 * before it replaces the old file: never half a file, not even
	 * after a crash. */
	if (fflush(f) == EOF || ferror(f) || fsync(fd) == -1)
		goto fail;
	saved = fclose(f);
	f = NULL;
	fd = -1;
	if (saved == EOF || rename(tmp, path) == -1)
		goto fail;
	return 0;
fail:
	saved = errno;
	if (f != NULL)
		fclose(f);
	else if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	errno = saved;
	log_warn("metrics-file %s", path);
	return -1;
}
