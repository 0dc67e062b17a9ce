/*
 * popd: a POP3 server for one connection on fds 0/1, spawned per connection
 * by systemd (Accept=yes), xinetd or tcpserver.  Options, setup, the fork
 * into the privileged and the pre-authentication process (chan.h).
 */
#include <sys/socket.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "chan.h"
#include "check.h"
#include "io.h"
#include "log.h"
#include "session.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: popd [-ev] [-c file] [--tls]\n"
	    "       popd -t [-c file] [-u user]\n"
	    "       popd -n [-c file]\n"
	    "       popd --hash-password | --version\n");
	exit(EX_USAGE);
}

/*
 * One connection: the channel, then the fork, before the configuration
 * is read, so that the pre-authentication process (net.c) never had a
 * password hash in its memory; the parent (priv.c) reads it.
 */
static int
serve(const char *path, int implicit_tls, int verbose)
{
	char	peer[64];
	int	sv[2], loopback;
	pid_t	pid;

	/* A peer that vanished must cost a failed write, not the process. */
	signal(SIGPIPE, SIG_IGN);
	io_nodelay(0);
	io_nodelay(1);
	peer_lookup(0, peer, sizeof(peer), &loopback);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal(EX_OSERR, "socketpair");
	if ((pid = fork()) == -1)
		fatal(EX_OSERR, "fork");
	if (pid == 0) {
		close(sv[0]);
		net_main(sv[1], peer, loopback,
		    implicit_tls ? NET_TLS : NET_PLAIN, verbose);
	}
	close(sv[1]);
	return priv_main(sv[0], pid, path, peer, loopback,
	    implicit_tls ? NET_TLS : NET_PLAIN, verbose);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "tls", no_argument, NULL, 'T' },
		{ "hash-password", no_argument, NULL, 'H' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*path = CONF_DEFAULT_PATH, *user = POPD_SERVICE_USER;
	int		 ch, test = 0, tls = 0, hash = 0, verbose = 0, dump = 0;
	enum log_to	 to = LOG_TO_SYSLOG;

	while ((ch = getopt_long(argc, argv, "c:ehntu:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'e': to = LOG_TO_STDERR; break;
		case 'n': dump = 1; break;
		case 't': test = 1; break;
		case 'u': user = optarg; break;
		case 'V': puts("popd " POPD_VERSION); return 0;
		case 'v': verbose = 1; break;
		case 'T': tls = 1; break;
		case 'H': hash = 1; break;
		default: usage();
		}
	}
	if (optind != argc || test + hash + dump > 1 ||
	    ((test || hash || dump) && tls))
		usage();
	if (hash || test || dump)
		log_init("popd", LOG_TO_STDERR, verbose);
	if (hash)
		return passwd_hash_main();
	if (test)
		return check_config(path, user);
	if (dump)
		return check_dump(path);
	log_init("popd", to, verbose);
	refuse_root("popd");
	return serve(path, tls, verbose);
}
