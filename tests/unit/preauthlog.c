/*
 * preauthlog.c: the log lines of popd's pre-authentication process
 * (chan.h CHAN_LOG), as the privileged one writes them.  A forked child
 * plays a net that a client took over: it sends lines that imitate the
 * privileged process's own (fail2ban's "auth failed", the session line),
 * one with a newline and a terminal escape in it, and more than
 * POPD_PREAUTH_LOG_LINES.  The real priv_main must write each after
 * "preauth: ", on one line, escaped, the ones past the cap counted in one
 * line; and a malformed CHAN_LOG ends the connection.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "../../popd/chan.h"
#include "log.h"
#include "params.h"
#include "fixture.h"
#include "tap.h"

/* sha512-crypt of "secret": priv_main refuses a config without a hash. */
#define HASH	"$6$preauthlog$2oQLM/jRUblRjsyDH9dueSDpASjybXbeoYSrbOHBzIlFNN" \
		"34rLMB8WnWKuokb/Qjb.QpVuORV/z0oD1BMyui//"

static char	dir[64], conf[128], logpath[128];

static void
say(int fd, int pri, const char *line)
{
	unsigned char	buf[CHAN_LOG_MAX + 16];
	struct chanmsg	m;

	chan_msg_init(&m, buf, sizeof(buf));
	chan_put_u32(&m, (uint32_t)pri);
	chan_put_str(&m, line, strlen(line));
	if (chan_send(fd, CHAN_LOG, &m) == -1)
		_exit(3);
}

/* The lying net: INIT, then lines, then (bad == 0) an END, or a CHAN_LOG
 * with a byte left over. */
static void
net(int fd, int extra, int bad)
{
	static unsigned char	buf[CHAN_MSG_MAX];
	struct chanmsg		m;
	char			line[64];
	int			i;

	chan_msg_init(&m, buf, sizeof(buf));
	if (chan_recv(fd, &m, 0) != CHAN_INIT)
		_exit(2);
	say(fd, LOG_WARNING, "auth failed user=x addr=203.0.113.7");
	say(fd, LOG_INFO, "session user=alice addr=203.0.113.7 tls=no");
	say(fd, LOG_WARNING, "one\nauth failed user=y addr=203.0.113.8\x1b[2J");
	for (i = 0; i < extra; i++) {
		snprintf(line, sizeof(line), "filler %d", i);
		say(fd, LOG_INFO, line);
	}
	chan_msg_init(&m, buf, 64);
	if (bad) {
		chan_put_u32(&m, LOG_INFO);
		chan_put_str(&m, "x", 1);
		chan_put_u32(&m, 0);
		(void)chan_send(fd, CHAN_LOG, &m);
		_exit(0);
	}
	chan_put_u32(&m, 0);
	chan_put_u64(&m, 0);
	chan_put_u64(&m, 0);
	chan_put_str(&m, "eof", 3);
	chan_put_str(&m, "", 0);
	chan_put_str(&m, "", 0);
	chan_put_u32(&m, 0);
	(void)chan_send(fd, CHAN_END, &m);
	_exit(0);
}

/* priv_main against the lying net, its stderr in logpath; the log's text. */
static char *
run(int extra, int bad)
{
	static char	text[65536];
	int		sv[2], fd, saved;
	ssize_t		n;
	pid_t		pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair");
	fflush(stdout);
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		close(sv[0]);
		net(sv[1], extra, bad);
	}
	close(sv[1]);
	if ((fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1)
		die(logpath);
	log_init("popd", LOG_TO_STDERR, 0);
	(void)priv_main(sv[0], pid, conf, "192.0.2.1", 0, NET_PLAIN, 0);
	if (dup2(saved, STDERR_FILENO) == -1)
		die("dup2");
	close(saved);
	if ((n = pread(fd, text, sizeof(text) - 1, 0)) == -1)
		die("pread");
	text[n] = '\0';
	close(fd);
	return text;
}

static int
count(const char *text, const char *prefix)
{
	const char	*p;
	size_t		 k = strlen(prefix);
	int		 n = 0;

	for (p = text; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncmp(p, prefix, k) == 0)
			n++;
		if (strchr(p, '\n') == NULL)
			break;
	}
	return n;
}

int
main(void)
{
	char	*t;
	FILE	*f;

	snprintf(dir, sizeof(dir), "/tmp/popd-unit.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(conf, sizeof(conf), "%s/popd.conf", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	if ((f = fopen(conf, "w")) == NULL ||
	    fprintf(f, "[alice]\npassword = %s\nmaildrop = %s/alice\n",
	    HASH, dir) < 0 || fclose(f) == EOF || chmod(conf, 0600) == -1)
		die(conf);

	t = run(0, 0);
	is_int(count(t, "popd: preauth: "), 3, "each of net's lines is "
	    "written after \"preauth: \"");
	is_int(count(t, "popd: auth failed"), 0, "none passes for the "
	    "privileged process's auth failure line (fail2ban's)");
	is_int(count(t, "popd: session "), 0, "none for its session line");
	ok(strstr(t, "popd: preauth: one\\x0aauth failed user=y "
	    "addr=203.0.113.8\\x1b[2J\n") != NULL, "a newline and an escape "
	    "in a line are escaped, on one line");
	is_int(count(t, "auth failed user=y"), 0, "so no line starts with "
	    "what followed the newline");

	t = run(POPD_PREAUTH_LOG_LINES + 7, 0);
	is_int(count(t, "popd: preauth: filler "), POPD_PREAUTH_LOG_LINES - 3,
	    "lines past POPD_PREAUTH_LOG_LINES are not written");
	ok(strstr(t, "popd: preauth: 10 more lines not logged "
	    "addr=192.0.2.1\n") != NULL, "they are counted in one line");

	t = run(0, 1);
	ok(strstr(t, "channel: bad LOG message addr=192.0.2.1\n") != NULL,
	    "a malformed CHAN_LOG is refused, logged");
	is_int(count(t, "popd: preauth: "), 3, "the lines before it are "
	    "written");

	rm_tree(dir);
	return done_testing();
}
