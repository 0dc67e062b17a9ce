/*
 * popd: a POP3 server for one connection on fds 0/1, spawned per connection
 * by systemd (Accept=yes), xinetd or tcpserver.  Options, setup, one call.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <tls.h>

#include "check.h"
#include "conf.h"
#include "confload.h"
#include "log.h"
#include "session.h"
#include "tlsconf.h"
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

static void
err_syslog(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	if (line > 0)
		log_warnx("%s:%d: %s", file, line, msg);
	else
		log_warnx("%s: %s", file, msg);
}

/* Greets with an error and ends: the client must not hang on us. */
static int
refuse(struct io *io, const char *why)
{
	io_puts(io, "-ERR [SYS/TEMP] ");
	io_puts(io, why);
	io_puts(io, "\r\n");
	io_flush(io);
	return EX_TEMPFAIL;
}

/* popd --tls: the handshake comes before the greeting.  0, or -1 logged. */
static int
handshake(struct session *s)
{
	const char	*why = NULL;

	if (io_start_tls(&s->io, s->tls_ctx, &why) == -1) {
		log_warnx("tls handshake failed addr=%s: %s", s->peer,
		    why != NULL ? why : "unknown error");
		io_close(&s->io);
		return -1;
	}
	s->tls = 1;
	return 0;
}

static int
serve(const char *path, int implicit_tls, int verbose)
{
	struct conf	 c;
	struct session	 s;
	struct tls	*ctx = NULL;
	char		 err[256];
	int		 rc = EX_CONFIG;

	/* A peer that vanished must cost a failed write, not the process. */
	signal(SIGPIPE, SIG_IGN);
	io_nodelay(0);
	io_nodelay(1);
	if (confload(&c, path, geteuid(), err_syslog, NULL) != 0) {
		/* Under --tls the client awaits a handshake: say nothing. */
		if (!implicit_tls) {
			io_init(&s.io, 0, 1, 10000);
			rc = refuse(&s.io, "Server configuration error");
		}
		goto done;
	}
	/* Key and chain are read now, before the first client byte. */
	if ((c.tls_cert != NULL || implicit_tls) &&
	    (ctx = tlsconf_server(&c, err, sizeof(err))) == NULL) {
		log_warnx("tls: %s%s", err, implicit_tls ? "" : "; STLS disabled");
		if (implicit_tls)
			goto done;
	}
	session_init(&s, &c, ctx);
	s.verbose = verbose;
	io_init(&s.io, 0, 1, (int)c.idle_timeout * 1000);
	peer_lookup(0, s.peer, sizeof(s.peer), &s.loopback);
	if (implicit_tls && handshake(&s) == -1)
		rc = EX_PROTOCOL;
	else
		rc = session_run(&s);
done:
	tls_free(ctx);
	conf_free(&c);
	return rc;
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
