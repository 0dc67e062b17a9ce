/*
 * popload: a POP3 load client for make bench, and the trivial server that
 * measures its own limit.  Not part of popd; built by the bench target.
 *
 *   popload [-T CAFILE] [-c CLIENTS] [-d SECONDS] [-e COUNT] [-u PREFIX]
 *           [-p PASS] [-w RECORD] session|retr HOST PORT
 *   popload -S RECORD PORT
 *
 * session: each of CLIENTS threads runs sessions back to back for SECONDS:
 * connect, (TLS handshake with -T,) greeting, USER PREFIX<k> (k = 1..CLIENTS,
 * one maildrop each: POP3 locks a maildrop per session), PASS, STAT, UIDL,
 * LIST, QUIT, and reads until the server closes.  A session counts when
 * every answer was +OK and STAT gave COUNT messages (-e); the others are
 * errors.  retr: one session per client that RETRs every message once.
 * -w: the first session's answers go to RECORD, for -S.
 * Prints one line: sessions=.. errors=.. seconds=.. rate=.. bytes=..
 * mbps=.. cpu=.. (the client's own user+system seconds).
 *
 * -S: a server that answers each connection with the recorded bytes, one
 * recorded answer per command line, at once and from one thread (poll), so
 * that popload against it measures popload.
 *
 * Blocking sockets, one thread per client: the server's answer, not our
 * scheduling, sets the pace.  Multi-line answers end at CRLF.CRLF, found by
 * a five-state matcher that needs no look-back across reads.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <tls.h>

#define BUFSZ		(256 * 1024)
#define MAXCLIENTS	64
#define MAXREC		16

struct conn {
	int fd;
	struct tls *tls;
	char *buf;
	size_t off, len;
};

struct opts {
	const char *host, *ca, *prefix, *pass, *record, *mode;
	int port, clients, expect;
	double seconds;
	struct tls_config *tcfg;
};

struct result {
	long sessions, errors;
	long long bytes;
};

static struct opts o;
static atomic_int stop;
static atomic_int recorded;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
conn_open(struct conn *c)
{
	struct sockaddr_in sa;
	int one = 1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(o.port);
	if (inet_pton(AF_INET, o.host, &sa.sin_addr) != 1)
		return -1;
	c->off = c->len = 0;
	c->tls = NULL;
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == -1)
		goto fail;
	if (o.tcfg == NULL)
		return 0;
	if ((c->tls = tls_client()) == NULL ||
	    tls_configure(c->tls, o.tcfg) == -1 ||
	    tls_connect_socket(c->tls, c->fd, o.host) == -1)
		goto fail;
	for (;;) {
		int r = tls_handshake(c->tls);
		if (r == 0)
			return 0;
		if (r != TLS_WANT_POLLIN && r != TLS_WANT_POLLOUT) {
			fprintf(stderr, "popload: handshake: %s\n", tls_error(c->tls));
			goto fail;
		}
	}
fail:
	if (c->tls)
		tls_free(c->tls);
	c->tls = NULL;
	close(c->fd);
	return -1;
}

static void
conn_close(struct conn *c)
{
	if (c->tls) {
		tls_close(c->tls);
		tls_free(c->tls);
	}
	close(c->fd);
}

/* Fills c->buf when it is empty; 0 at end of stream, -1 on error. */
static ssize_t
conn_fill(struct conn *c)
{
	ssize_t n;

	if (c->off < c->len)
		return (ssize_t)(c->len - c->off);
	c->off = c->len = 0;
	for (;;) {
		if (c->tls) {
			n = tls_read(c->tls, c->buf, BUFSZ);
			if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)
				continue;
		} else {
			n = read(c->fd, c->buf, BUFSZ);
			if (n == -1 && errno == EINTR)
				continue;
		}
		break;
	}
	if (n > 0)
		c->len = n;
	return n;
}

static int
conn_write(struct conn *c, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = c->tls ? tls_write(c->tls, s, n) : write(c->fd, s, n);
		if (c->tls && (w == TLS_WANT_POLLIN || w == TLS_WANT_POLLOUT))
			continue;
		if (w == -1 && !c->tls && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= w;
	}
	return 0;
}

/*
 * Reads one answer: its status line into line (at most linesz - 1 bytes
 * kept), and with multi the body up to CRLF.CRLF.  Returns the bytes read,
 * or -1 on a read error or end of stream.  rec: the whole answer is
 * appended to it (the -w record).
 */
static long long
answer(struct conn *c, char *line, size_t linesz, int multi, FILE *rec)
{
	long long total = 0;
	size_t ll = 0;
	int st = 0, done = 0;

	/* The status line. */
	while (!done) {
		char *nl;
		size_t n;

		if (conn_fill(c) <= 0)
			return -1;
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		n = nl ? (size_t)(nl - (c->buf + c->off)) + 1 : c->len - c->off;
		if (ll < linesz - 1) {
			size_t k = n < linesz - 1 - ll ? n : linesz - 1 - ll;
			memcpy(line + ll, c->buf + c->off, k);
			ll += k;
		}
		if (rec)
			fwrite(c->buf + c->off, 1, n, rec);
		c->off += n;
		total += n;
		done = nl != NULL;
	}
	line[ll] = '\0';
	if (!multi || strncmp(line, "+OK", 3) != 0)
		return total;
	/* The body: states count the matched prefix of "\r\n.\r\n", starting
	 * after the status line's CRLF. */
	st = 2;
	while (st != 5) {
		const char *p, *e;

		if (conn_fill(c) <= 0)
			return -1;
		p = c->buf + c->off;
		e = c->buf + c->len;
		while (p < e && st != 5) {
			char ch = *p++;
			if (st == 0) {
				const char *cr = memchr(p - 1, '\r', e - (p - 1));
				if (cr == NULL) {
					p = e;
					continue;
				}
				p = cr + 1;
				st = 1;
				continue;
			}
			switch (st) {
			case 1: st = ch == '\n' ? 2 : ch == '\r' ? 1 : 0; break;
			case 2: st = ch == '.' ? 3 : ch == '\r' ? 1 : 0; break;
			case 3: st = ch == '\r' ? 4 : 0; break;
			case 4: st = ch == '\n' ? 5 : ch == '\r' ? 1 : 0; break;
			}
		}
		if (rec)
			fwrite(c->buf + c->off, 1, p - (c->buf + c->off), rec);
		total += p - (c->buf + c->off);
		c->off = p - c->buf;
	}
	return total;
}

/* Sends cmd and reads its answer; 0 when it was +OK. */
static int
cmd(struct conn *c, const char *s, int multi, char *line, size_t linesz,
    long long *bytes, FILE *rec)
{
	long long n;

	if (rec)
		fputs("\n--popload-answer--\n", rec);
	if (s && conn_write(c, s, strlen(s)) == -1)
		return -1;
	if ((n = answer(c, line, linesz, multi, rec)) < 0)
		return -1;
	*bytes += n;
	return strncmp(line, "+OK", 3) == 0 ? 0 : -1;
}

static int
login(struct conn *c, int k, long long *bytes, FILE *rec, int *count)
{
	char line[512], s[300];

	if (cmd(c, NULL, 0, line, sizeof line, bytes, rec) == -1)
		return -1;
	snprintf(s, sizeof s, "USER %s%d\r\n", o.prefix, k);
	if (cmd(c, s, 0, line, sizeof line, bytes, rec) == -1)
		return -1;
	snprintf(s, sizeof s, "PASS %s\r\n", o.pass);
	if (cmd(c, s, 0, line, sizeof line, bytes, rec) == -1)
		return -1;
	if (cmd(c, "STAT\r\n", 0, line, sizeof line, bytes, rec) == -1)
		return -1;
	*count = atoi(line + 3);
	return o.expect >= 0 && *count != o.expect ? -1 : 0;
}

static int
session(struct conn *c, int k, long long *bytes)
{
	char line[512];
	FILE *rec = NULL;
	int count, r = -1;

	if (o.record && atomic_exchange(&recorded, 1) == 0)
		rec = fopen(o.record, "w");
	if (conn_open(c) == -1)
		goto out;
	if (login(c, k, bytes, rec, &count) == 0 &&
	    cmd(c, "UIDL\r\n", 1, line, sizeof line, bytes, rec) == 0 &&
	    cmd(c, "LIST\r\n", 1, line, sizeof line, bytes, rec) == 0 &&
	    cmd(c, "QUIT\r\n", 0, line, sizeof line, bytes, rec) == 0)
		r = 0;
	/* Until the server closes: its exit is part of the session. */
	while (r == 0 && conn_fill(c) > 0)
		c->off = c->len;
	conn_close(c);
out:
	if (rec)
		fclose(rec);
	return r;
}

static int
retr_all(struct conn *c, int k, long long *bytes, long *msgs)
{
	char line[512], s[64];
	int count, i;

	if (conn_open(c) == -1)
		return -1;
	if (login(c, k, bytes, NULL, &count) == -1)
		goto fail;
	for (i = 1; i <= count; i++) {
		snprintf(s, sizeof s, "RETR %d\r\n", i);
		if (cmd(c, s, 1, line, sizeof line, bytes, NULL) == -1)
			goto fail;
		(*msgs)++;
	}
	if (cmd(c, "QUIT\r\n", 0, line, sizeof line, bytes, NULL) == -1)
		goto fail;
	conn_close(c);
	return 0;
fail:
	conn_close(c);
	return -1;
}

struct worker {
	pthread_t t;
	int k;
	struct result r;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct conn c;

	if ((c.buf = malloc(BUFSZ)) == NULL)
		return NULL;
	if (strcmp(o.mode, "retr") == 0) {
		long msgs = 0;
		if (retr_all(&c, w->k, &w->r.bytes, &msgs) == 0 &&
		    (o.expect < 0 || msgs == o.expect))
			w->r.sessions++;
		else
			w->r.errors++;
	} else {
		while (!atomic_load(&stop)) {
			if (session(&c, w->k, &w->r.bytes) == 0)
				w->r.sessions++;
			else
				w->r.errors++;
		}
	}
	free(c.buf);
	return NULL;
}

static double
cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
client(void)
{
	struct worker w[MAXCLIENTS];
	struct result sum = { 0, 0, 0 };
	double t0, t1, c0;
	int i;

	memset(w, 0, sizeof w);
	c0 = cpu();
	t0 = now();
	for (i = 0; i < o.clients; i++) {
		w[i].k = i + 1;
		if (pthread_create(&w[i].t, NULL, work, &w[i]) != 0)
			return 1;
	}
	if (strcmp(o.mode, "session") == 0) {
		struct timespec ts = { (time_t)o.seconds,
		    (long)((o.seconds - (time_t)o.seconds) * 1e9) };
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		atomic_store(&stop, 1);
	}
	for (i = 0; i < o.clients; i++) {
		pthread_join(w[i].t, NULL);
		sum.sessions += w[i].r.sessions;
		sum.errors += w[i].r.errors;
		sum.bytes += w[i].r.bytes;
	}
	t1 = now() - t0;
	printf("sessions=%ld errors=%ld seconds=%.3f rate=%.2f bytes=%lld "
	    "mbps=%.2f cpu=%.3f\n", sum.sessions, sum.errors, t1,
	    sum.sessions / t1, sum.bytes, sum.bytes / t1 / 1e6, cpu() - c0);
	return sum.errors ? 3 : 0;
}

/* -S: the recorded answers, served from one poll loop. */
struct rec {
	char *a[MAXREC];
	size_t n[MAXREC];
	int count;
};

struct peer {
	int fd, next;		/* next answer to send */
	size_t sent;		/* of answer next - 1 */
	int sending;
};

static int
load_record(const char *path, struct rec *r)
{
	static const char sep[] = "\n--popload-answer--\n";
	char *all, *p, *q;
	size_t len = 0, cap = 1 << 20;
	FILE *f;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL || (all = malloc(cap)) == NULL)
		return -1;
	while ((n = fread(all + len, 1, cap - len, f)) > 0)
		if ((len += n) == cap && (all = realloc(all, cap *= 2)) == NULL)
			return -1;
	fclose(f);
	all[len] = '\0';
	r->count = 0;
	for (p = all; (p = strstr(p, sep)) != NULL && r->count < MAXREC; p = q) {
		p += sizeof sep - 1;
		q = strstr(p, sep);
		if (q == NULL)
			q = all + len;
		r->a[r->count] = p;
		r->n[r->count++] = q - p;
	}
	return r->count > 0 ? 0 : -1;
}

static int
serve(const char *path, int port)
{
	struct pollfd pf[MAXCLIENTS + 1];
	struct peer pe[MAXCLIENTS + 1];
	struct sockaddr_in sa;
	struct rec r;
	char junk[4096];
	int ls, np = 1, one = 1, i;

	if (load_record(path, &r) == -1) {
		fprintf(stderr, "popload: %s: no record\n", path);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) == -1 || listen(ls, 128) == -1) {
		perror("popload: bind");
		return 1;
	}
	pf[0].fd = ls;
	pf[0].events = POLLIN;
	for (;;) {
		if (poll(pf, np, -1) == -1)
			continue;
		if ((pf[0].revents & POLLIN) && np <= MAXCLIENTS) {
			int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
			if (fd != -1) {
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
				pe[np] = (struct peer){ fd, 1, 0, 1 };
				pf[np] = (struct pollfd){ fd, POLLOUT, 0 };
				np++;
			}
		}
		for (i = 1; i < np; i++) {
			struct peer *p = &pe[i];
			int drop = 0;

			if (pf[i].revents & POLLIN) {
				ssize_t n = read(p->fd, junk, sizeof junk);
				if (n <= 0)
					drop = 1;
				/* One answer per command line; no pipelining. */
				else if (memchr(junk, '\n', n) && !p->sending && p->next < r.count) {
					p->next++;
					p->sent = 0;
					p->sending = 1;
				}
			}
			if (!drop && p->sending && (pf[i].revents & (POLLOUT | POLLIN))) {
				const char *a = r.a[p->next - 1];
				ssize_t w = write(p->fd, a + p->sent, r.n[p->next - 1] - p->sent);
				if (w > 0 && (p->sent += w) == r.n[p->next - 1]) {
					p->sending = 0;
					if (p->next == r.count)
						drop = 1;	/* QUIT answered: close */
				} else if (w == -1 && errno != EAGAIN)
					drop = 1;
			}
			if (drop) {
				close(p->fd);
				pe[i] = pe[np - 1];
				pf[i] = pf[np - 1];
				np--;
				i--;
				continue;
			}
			pf[i].events = p->sending ? POLLOUT : POLLIN;
			pf[i].revents = 0;
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: popload [-T cafile] [-c clients] [-d seconds] "
	    "[-e count] [-u prefix] [-p pass] [-w record] session|retr host port\n"
	    "       popload -S record port\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int ch;

	o.prefix = "u";
	o.pass = "secret";
	o.clients = 1;
	o.seconds = 3;
	o.expect = -1;
	while ((ch = getopt(argc, argv, "T:c:d:e:u:p:w:S:")) != -1) {
		switch (ch) {
		case 'T': o.ca = optarg; break;
		case 'c': o.clients = atoi(optarg); break;
		case 'd': o.seconds = atof(optarg); break;
		case 'e': o.expect = atoi(optarg); break;
		case 'u': o.prefix = optarg; break;
		case 'p': o.pass = optarg; break;
		case 'w': o.record = optarg; break;
		case 'S': o.record = optarg; o.mode = "serve"; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (o.mode && strcmp(o.mode, "serve") == 0) {
		if (argc != 1)
			usage();
		return serve(o.record, atoi(argv[0]));
	}
	if (argc != 3 || o.clients < 1 || o.clients > MAXCLIENTS)
		usage();
	o.mode = argv[0];
	o.host = argv[1];
	o.port = atoi(argv[2]);
	if (strcmp(o.mode, "session") != 0 && strcmp(o.mode, "retr") != 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (o.ca) {
		if ((o.tcfg = tls_config_new()) == NULL ||
		    tls_config_set_ca_file(o.tcfg, o.ca) == -1) {
			fprintf(stderr, "popload: %s: cannot load\n", o.ca);
			return 1;
		}
	}
	return client();
}
