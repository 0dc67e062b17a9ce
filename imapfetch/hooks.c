/*
 * hooks.c: what imapfetch tells the rest of the system: the on-new
 * command, and the Prometheus textfile metrics.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "imapfetch.h"

void
hook_on_new(const struct account *a, const struct tally *t)
{
	char	 n[32];
	pid_t	 pid;
	int	 status;

	snprintf(n, sizeof(n), "%lu", t->nnew);
	if ((pid = fork()) == -1) {
		log_warn("%s: on-new", a->name);
		return;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null == -1 || dup2(null, 0) == -1 ||
		    setenv("IMAPFETCH_ACCOUNT", a->name, 1) == -1 ||
		    setenv("IMAPFETCH_MAILDROP", a->maildrop, 1) == -1 ||
		    setenv("IMAPFETCH_NEW", n, 1) == -1)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", a->on_new, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
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

int
hook_metrics(const char *path, const struct outcome *o, size_t n)
{
	char	 tmp[4096];
	FILE	*f;
	int	 fd;

	/* node_exporter reads *.prom files: ours must not end so. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path,
	    (long)getpid()) >= sizeof(tmp) ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644))
	    == -1 || (f = fdopen(fd, "w")) == NULL) {
		log_warn("metrics-file %s", path);
		return -1;
	}
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
	if (fclose(f) == EOF || rename(tmp, path) == -1) {
		log_warn("metrics-file %s", path);
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}
