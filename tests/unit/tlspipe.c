/*
 * tlspipe.c: popd's TLS over two pipes, no network.  popd/popd runs as a
 * child with a pipe as fd 0 and another as fd 1, as inetd would give it a
 * socket; this side is a libtls client on the other ends
 * (tls_connect_fds) that verifies popd's certificate.  Covered: implicit
 * TLS (--tls), STLS, STLS with a pipelined command (which must not run),
 * STLS forgetting a plaintext USER, a plaintext client on --tls, and
 * io_nodelay.  The certificate is made here with openssl(1).
 *
 * popd refuses root: as root the child becomes the user "popdtest" (made
 * by tests/lib.sh), and the test is skipped when that user is missing.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tls.h>

#include "io.h"
#include "tap.h"

#define TUSER	"popdtest"
/* The message in the maildrop, and what RETR must send for it. */
#define MSG	"Subject: pipes\n\nline one\n.starts with a dot\n"
#define MSG_WIRE "Subject: pipes\r\n\r\nline one\r\n..starts with a dot\r\n"

static char		 dir[] = "/tmp/tlspipe.XXXXXX";
static uid_t		 uid = (uid_t)-1;	/* popd's, when we are root */
static gid_t		 gid = (gid_t)-1;

/* A popd child and our ends of its pipes. */
struct child {
	pid_t		 pid;
	int		 rfd, wfd;	/* we read its fd 1, write its fd 0 */
	struct tls	*tls;		/* NULL: plaintext */
	char		 buf[8192];
	size_t		 len;
};

/* "how: what", a test name (tap.h's names are not formats). */
static const char *
N(const char *how, const char *what)
{
	static char	name[128];

	snprintf(name, sizeof(name), "%s: %s", how, what);
	return name;
}

static void
die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Writes a file in dir, owned by popd's user. */
static void
put_file(const char *name, const char *text, mode_t mode)
{
	char	path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF || chmod(path, mode) == -1)
		die(path);
	if (uid != (uid_t)-1 && chown(path, uid, gid) == -1)
		die(path);
}

/* A key and a self-signed certificate for localhost: also the client's CA. */
static int
make_cert(void)
{
	char	cmd[1024];

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec "
	    "-pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
	    "-addext subjectAltName=DNS:localhost -keyout %s/key.pem "
	    "-out %s/cert.pem 2>/dev/null", dir, dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s/key.pem", dir);
	if (uid != (uid_t)-1 && chown(cmd, uid, gid) == -1)
		return -1;
	return 0;
}

/* The directory, certificate, maildrop and popd.conf. */
static int
setup(void)
{
	const char	*sub[] = { "alice", "alice/tmp", "alice/new",
			    "alice/cur" };
	char		 path[256], conf[1024], *hash;
	size_t		 i;

	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1)
		die("mkdtemp");
	if (uid != (uid_t)-1 && chown(dir, uid, gid) == -1)
		die("chown");
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
		if (mkdir(path, 0700) == -1 ||
		    (uid != (uid_t)-1 && chown(path, uid, gid) == -1))
			die(path);
	}
	put_file("alice/new/1700000000.M1P1.tlspipe", MSG, 0600);
	if ((hash = crypt("secret", "$6$tlspipe$")) == NULL || *hash == '*')
		die("crypt");
	snprintf(conf, sizeof(conf), "auth-failure-delay = 0\n"
	    "tls-cert = %s/cert.pem\ntls-key = %s/key.pem\n"
	    "plaintext-auth = tls\n\n[alice]\npassword = %s\n"
	    "maildrop = %s/alice\n", dir, dir, hash, dir);
	put_file("popd.conf", conf, 0600);
	snprintf(conf, sizeof(conf), "auth-failure-delay = 0\n"
	    "tls-cert = %s/cert.pem\ntls-key = %s/key.pem\n\n"
	    "[alice]\npassword = %s\nmaildrop = %s/alice\n", dir, dir, hash,
	    dir);
	put_file("loopback.conf", conf, 0600);
	return make_cert();
}

/* Starts popd -c dir/CONF [--tls] on two fresh pipes; log in dir/log. */
static void
start(struct child *c, const char *cf, int implicit)
{
	char	path[256], conf[256], log[256];
	int	in[2], out[2], fd;

	memset(c, 0, sizeof(*c));
	if (pipe(in) == -1 || pipe(out) == -1)
		die("pipe");
	if ((c->pid = fork()) == -1)
		die("fork");
	if (c->pid == 0) {
		snprintf(path, sizeof(path), "%s", getenv("POPD") != NULL ?
		    getenv("POPD") : "popd/popd");
		snprintf(conf, sizeof(conf), "%s/%s", dir, cf);
		snprintf(log, sizeof(log), "%s/log", dir);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1 ||
		    dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1 ||
		    dup2(fd, 2) == -1)
			_exit(126);
		closefrom(3);
		if (uid != (uid_t)-1 && (setgroups(0, NULL) == -1 ||
		    setgid(gid) == -1 || setuid(uid) == -1))
			_exit(126);
		execl(path, "popd", "-e", "-c", conf,
		    implicit ? "--tls" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->rfd = out[0];
	c->wfd = in[1];
}

/* Our client side of TLS on the child's pipes, verifying its certificate. */
static int
client_tls(struct child *c)
{
	struct tls_config	*cfg;
	char			 ca[256];
	int			 rc;

	snprintf(ca, sizeof(ca), "%s/cert.pem", dir);
	if ((cfg = tls_config_new()) == NULL ||
	    tls_config_set_ca_file(cfg, ca) == -1 ||
	    (c->tls = tls_client()) == NULL ||
	    tls_configure(c->tls, cfg) == -1 ||
	    tls_connect_fds(c->tls, c->rfd, c->wfd, "localhost") == -1)
		rc = -1;
	else
		rc = tls_handshake(c->tls);	/* blocking fds: no WANT_* */
	if (rc == -1 && c->tls != NULL)
		printf("# tls: %s\n", tls_error(c->tls));
	tls_config_free(cfg);
	return rc;
}

/* Sends s as one write (so that popd reads it at once). */
static int
send_str(struct child *c, const char *s)
{
	size_t	len = strlen(s);

	if (c->tls != NULL)
		return tls_write(c->tls, s, len) == (ssize_t)len ? 0 : -1;
	return write(c->wfd, s, len) == (ssize_t)len ? 0 : -1;
}

/* One reply line into line (CRLF removed); -1 at EOF or error. */
static int
get_line(struct child *c, char *line, size_t cap)
{
	char	*nl;
	ssize_t	 n;

	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->buf))
			return -1;
		n = c->tls != NULL ? tls_read(c->tls, c->buf + c->len,
		    sizeof(c->buf) - c->len) : read(c->rfd, c->buf + c->len,
		    sizeof(c->buf) - c->len);
		/* TLS 1.3 tickets come after the handshake: libtls says so. */
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
			continue;
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	*nl = '\0';
	snprintf(line, cap, "%.*s", (int)(nl - c->buf) -
	    (nl > c->buf && nl[-1] == '\r'), c->buf);
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	return 0;
}

/* Sends cmd, returns the first reply line in line ("" at EOF). */
static const char *
ask(struct child *c, const char *cmd, char *line, size_t cap)
{
	line[0] = '\0';
	if (send_str(c, cmd) == -1 || get_line(c, line, cap) == -1)
		line[0] = '\0';
	return line;
}

/* The lines of a multi-line body, each with CRLF, up to ".". */
static void
get_body(struct child *c, char *out, size_t cap)
{
	char	line[1024];
	size_t	n = 0;

	out[0] = '\0';
	while (get_line(c, line, sizeof(line)) == 0 && strcmp(line, ".") != 0)
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s\r\n",
		    line);
}

/* Closes our ends and reaps popd; its exit status, or -1. */
static int
finish(struct child *c)
{
	int	status;

	if (c->tls != NULL) {
		tls_close(c->tls);
		tls_free(c->tls);
	}
	close(c->rfd);
	close(c->wfd);
	if (waitpid(c->pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* After the greeting or STLS: login and RETR over TLS. */
static void
session(struct child *c, const char *how)
{
	char	line[1024], body[4096];

	is_str(tls_conn_version(c->tls), "TLSv1.3", N(how, "TLS 1.3"));
	ask(c, "CAPA\r\n", line, sizeof(line));
	get_body(c, body, sizeof(body));
	ok(strstr(body, "\r\nUSER\r\n") != NULL, N(how, "CAPA has USER"));
	ok(strstr(body, "SASL PLAIN\r\n") != NULL, N(how, "CAPA has SASL"));
	ok(strstr(body, "STLS") == NULL, N(how, "CAPA lacks STLS"));
	is_str(ask(c, "USER alice\r\n", line, sizeof(line)), "+OK Send PASS",
	    N(how, "USER"));
	ok(strncmp(ask(c, "PASS secret\r\n", line, sizeof(line)), "+OK", 3)
	    == 0, N(how, "PASS"));
	ok(strncmp(ask(c, "RETR 1\r\n", line, sizeof(line)), "+OK", 3) == 0,
	    N(how, "RETR"));
	get_body(c, body, sizeof(body));
	is_str(body, MSG_WIRE, N(how, "RETR sends the message"));
	is_str(ask(c, "QUIT\r\n", line, sizeof(line)), "+OK popd signing off",
	    N(how, "QUIT"));
	ok(get_line(c, line, sizeof(line)) == -1, N(how, "then EOF"));
}

static void
test_implicit(void)
{
	struct child	c;
	char		line[256];

	start(&c, "popd.conf", 1);
	if (!ok(client_tls(&c) == 0, "--tls: handshake, certificate verified")) {
		finish(&c);
		return;
	}
	get_line(&c, line, sizeof(line));
	is_str(line, "+OK popd ready", "--tls: greeting under TLS");
	session(&c, "--tls");
	is_int(finish(&c), 0, "--tls: popd exits 0");
}

static void
test_stls(void)
{
	struct child	c;
	char		line[256], body[4096];

	start(&c, "popd.conf", 0);
	get_line(&c, line, sizeof(line));
	is_str(line, "+OK popd ready", "STLS: plaintext greeting");
	ask(&c, "CAPA\r\n", line, sizeof(line));
	get_body(&c, body, sizeof(body));
	ok(strstr(body, "STLS\r\n") != NULL, "STLS: advertised before TLS");
	ok(strstr(body, "USER") == NULL && strstr(body, "SASL") == NULL,
	    "STLS: plaintext-auth = tls hides USER and SASL");
	ok(strncmp(ask(&c, "USER alice\r\n", line, sizeof(line)),
	    "-ERR [AUTH] ", 12) == 0, "STLS: USER refused before TLS");
	is_str(ask(&c, "STLS\r\n", line, sizeof(line)),
	    "+OK Begin TLS negotiation", "STLS: +OK");
	if (ok(client_tls(&c) == 0, "STLS: handshake, certificate verified"))
		session(&c, "STLS");
	is_int(finish(&c), 0, "STLS: popd exits 0");
}

/* CVE-2011-0411: a command sent with STLS must not run under TLS. */
static void
test_stls_injection(void)
{
	struct child	c;
	char		line[256];

	start(&c, "popd.conf", 0);
	get_line(&c, line, sizeof(line));
	is_str(ask(&c, "STLS\r\nCAPA\r\n", line, sizeof(line)),
	    "-ERR Data after STLS, closing", "STLS + pipelined CAPA refused");
	ok(get_line(&c, line, sizeof(line)) == -1,
	    "STLS + pipelined CAPA: nothing more, connection closed");
	finish(&c);
}

/* RFC 2595 section 4: USER given in plaintext is forgotten by STLS. */
static void
test_stls_forgets(void)
{
	struct child	c;
	char		line[256];

	start(&c, "loopback.conf", 0);
	get_line(&c, line, sizeof(line));
	is_str(ask(&c, "USER alice\r\n", line, sizeof(line)), "+OK Send PASS",
	    "tls-or-loopback: USER in plaintext from a pipe");
	ask(&c, "STLS\r\n", line, sizeof(line));
	if (ok(client_tls(&c) == 0, "tls-or-loopback: STLS handshake"))
		is_str(ask(&c, "PASS secret\r\n", line, sizeof(line)),
		    "-ERR USER first", "STLS forgot the plaintext USER");
	finish(&c);
}

/* Lines of popd's log holding s. */
static int
log_count(const char *s)
{
	char	path[256], line[1024];
	FILE	*f;
	int	n = 0;

	snprintf(path, sizeof(path), "%s/log", dir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, s) != NULL;
	fclose(f);
	return n;
}

/* Not TLS at all: popd logs one line and exits, it does not hang. */
static void
test_garbage(void)
{
	struct child	c;
	char		line[256];

	start(&c, "popd.conf", 1);
	send_str(&c, "USER alice\r\nPASS secret\r\n");
	ok(get_line(&c, line, sizeof(line)) == -1,
	    "--tls, plaintext client: closed without a word");
	is_int(finish(&c), 76, "--tls, plaintext client: exit EX_PROTOCOL");
	is_int(log_count("tls handshake failed"), 1,
	    "--tls, plaintext client: one log line");
}

/* popd calls io_nodelay(0) and (1): small replies must not wait for
 * Nagle's algorithm under TLS, where each reply is one record. */
static void
test_nodelay(void)
{
	struct sockaddr_in	sin;
	socklen_t		sl = sizeof(sin);
	int			l, c, a, on = 0, p[2];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &sl) == -1 ||
	    (c = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (a = accept(l, NULL, NULL)) == -1)
		die("tcp");
	io_nodelay(a);
	sl = sizeof(on);
	ok(getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &on, &sl) == 0 && on,
	    "io_nodelay sets TCP_NODELAY on a TCP socket");
	if (pipe(p) == -1)
		die("pipe");
	io_nodelay(p[0]);
	ok(fcntl(p[0], F_GETFD) != -1, "io_nodelay leaves a pipe alone");
	close(p[0]);
	close(p[1]);
	close(a);
	close(c);
	close(l);
}

/* The user popd runs as: ourselves, or popdtest when we are root. */
static int
pick_user(void)
{
	struct passwd	*pw;

	if (getuid() != 0)
		return 0;
	if ((pw = getpwnam(TUSER)) == NULL)
		return -1;
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	return 0;
}

int
main(void)
{
	char	cmd[300];

	signal(SIGPIPE, SIG_IGN);
	/* A hung popd must fail the test, not stall the suite. */
	alarm(30);
	if (pick_user() == -1) {
		printf("1..0 # SKIP running as root without user %s\n", TUSER);
		return 0;
	}
	if (setup() == -1) {
		printf("1..0 # SKIP openssl(1) could not make a certificate\n");
		return 0;
	}
	test_implicit();
	test_stls();
	test_stls_injection();
	test_stls_forgets();
	test_garbage();
	test_nodelay();
	if (tap_failed) {
		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s/log", dir);
		if (system(cmd) != 0)
			printf("# no log in %s\n", dir);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
