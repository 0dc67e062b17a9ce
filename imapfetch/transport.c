/*
 * transport.c: TCP and libtls under libetpan's IMAP parser, through our
 * own mailstream_low_driver.  Every wait is a poll() bounded by the
 * account's imap-timeout; the socket is non-blocking so that neither
 * connect(), the TLS handshake nor a read can hang past it.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <tls.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "imapfetch.h"
#include "io.h"
#include "iowait.h"
#include "scan.h"
#include "transport.h"
#include "utf7.h"
#include "util.h"

#define TRACE_MAX	200	/* bytes of each read/write shown by -v */

/*
 * What libtls reads comes from here: bytes read from the socket and not
 * yet handed on (params.h says why).
 */
struct tlsbuf {
	size_t		 off, len;
	unsigned char	 data[IMAP_TLS_READ_BUF];
};

/* The wait-and-retry rule of iowait.h, bounded by the command's deadline. */
static struct iowait
waiter(const struct conn *c)
{
	struct iowait	 w;

	w.rfd = w.wfd = c->fd;
	w.timeout_ms = c->timeout_ms;
	w.deadline = c->deadline;
	return w;
}

/* A new command: its deadline starts (params.h). */
static void
deadline_start(struct conn *c)
{
	c->deadline = iow_now() + (long long)c->timeout_ms *
	    IMAP_DEADLINE_FACTOR;
}

/* Waits for events on the socket; 0, or -1 with errno (iowait.h). */
static int
wait_fd(struct conn *c, short events)
{
	struct iowait	 w = waiter(c);

	return iow_wait(&w, c->fd, events);
}

static void
trace(struct conn *c, const char *dir, const void *buf, size_t len)
{
	char	 line[TRACE_MAX + 1];
	size_t	 i, n = len < TRACE_MAX ? len : TRACE_MAX;

	if (!c->verbose)
		return;
	if (c->secret && dir[0] == 'C') {
		log_debug("%s <secret masked, %zu bytes>", dir, len);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = ((const unsigned char *)buf)[i];
		line[i] = (ch >= 0x20 && ch < 0x7f) ? ch : '.';
	}
	line[n] = '\0';
	log_debug("%s %s%s", dir, line, len > n ? "..." : "");
}

/*
 * After a read or write that returned n: 1 when it must be tried again,
 * 0 when n is a result, -1 on failure with c->error set (iow_retry); op
 * names the operation in the log.
 */
static int
conn_retry(struct conn *c, ssize_t n, short dir, const char *op)
{
	struct iowait	 w = waiter(c);
	int		 r;

	/* libtls asks for more after a record without data (a session
	 * ticket, which comes with the greeting): what it wants may be in
	 * the buffer already, and the socket may never say so. */
	if (c->tls != NULL && n == TLS_WANT_POLLIN &&
	    c->tlsbuf->off < c->tlsbuf->len)
		return 1;
	if ((r = iow_retry(&w, c->tls != NULL, n, dir)) != -1)
		return r;
	c->error = errno;
	if (errno == EPROTO) {
		log_warnx("%s: %s: TLS %s: %s", c->what, c->host, op,
		    tls_error(c->tls));
		c->error = EIO;
	}
	return -1;
}

/*
 * libetpan reads through this.  End of file is -1, never 0: libetpan's
 * literal reader loops forever on 0.
 */
static ssize_t
drv_read(mailstream_low *low, void *buf, size_t len)
{
	struct conn	*c = low->data;
	ssize_t		 n;
	int		 r;

	do {
		n = c->tls != NULL ? tls_read(c->tls, buf, len) :
		    read(c->fd, buf, len);
	} while ((r = conn_retry(c, n, POLLIN, "read")) == 1);
	if (r == -1)
		return -1;
	if (n == 0) {
		c->error = ECONNRESET;
		return -1;
	}
	trace(c, "S:", buf, n);
	if (scan_bytes(&c->scan, c->bodies, buf, (size_t)n) == -1) {
		c->error = errno;
		return -1;
	}
	/* Bytes that come earn time: a steady slow link is never cut. */
	c->deadline += (long long)n * 1000 / IMAP_MIN_RATE;
	return n;
}

static ssize_t
drv_write(mailstream_low *low, const void *buf, size_t len)
{
	struct conn	*c = low->data;
	ssize_t		 n;
	int		 r;

	/* We speak: a command (or its continuation) begins. */
	deadline_start(c);
	do {
		n = c->tls != NULL ? tls_write(c->tls, buf, len) :
		    write(c->fd, buf, len);
	} while ((r = conn_retry(c, n, POLLOUT, "write")) == 1);
	if (r == -1)
		return -1;
	trace(c, "C:", buf, n);
	return n;
}

/* The stream is closed by conn_close, which owns the socket and TLS. */
static int
drv_close(mailstream_low *low)
{
	(void)low;
	return 0;
}

static int
drv_get_fd(mailstream_low *low)
{
	return ((struct conn *)low->data)->fd;
}

static void
drv_free(mailstream_low *low)
{
	free(low);
}

static void
drv_cancel(mailstream_low *low)
{
	(void)low;
}

static struct mailstream_cancel *
drv_get_cancel(mailstream_low *low)
{
	(void)low;
	return NULL;
}

static carray *
drv_get_chain(mailstream_low *low)
{
	(void)low;
	return NULL;
}

static int
drv_no_idle(mailstream_low *low)
{
	(void)low;
	return -1;
}

static mailstream_low_driver conn_driver = {
	drv_read, drv_write, drv_close, drv_get_fd, drv_free, drv_cancel,
	drv_get_cancel, drv_get_chain, drv_no_idle, drv_no_idle, drv_no_idle
};

static int
is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return 0;
}

/* One non-blocking connect, bounded by the timeout.  0 or -1. */
static int
connect_one(struct conn *c, const struct addrinfo *ai)
{
	socklen_t	 len = sizeof(c->error);
	int		 saved;

	c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (c->fd == -1)
		return -1;
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS || wait_fd(c, POLLOUT) == -1)
			goto fail;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &c->error,
		    &len) == -1)
			goto fail;
		if (c->error != 0) {
			errno = c->error;
			goto fail;
		}
	}
	/* Small commands answered at once: Nagle would hold each ~40 ms. */
	io_nodelay(c->fd);
	return 0;
fail:
	saved = errno;
	close(c->fd);
	c->fd = -1;
	errno = saved;
	return -1;
}

/*
 * Connects to the first address that answers.  Plaintext to a host that
 * is not loopback is a configuration error unless the config insists.
 */
static int
tcp_connect(struct conn *c, const struct account *a, unsigned port)
{
	struct addrinfo	 hints, *res, *ai;
	char		 serv[16];
	int		 r, plain_refused = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(serv, sizeof(serv), "%u", port);
	if ((r = getaddrinfo(a->imap_host, serv, &hints, &res)) != 0) {
		log_warnx("%s: %s: %s", c->what, a->imap_host, gai_strerror(r));
		return EX_UNAVAILABLE;
	}
	errno = ECONNREFUSED;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (a->imap_tls == IT_NONE && !is_loopback(ai->ai_addr)) {
			plain_refused = 1;
			continue;
		}
		if (connect_one(c, ai) == 0)
			break;
		c->error = errno;
	}
	freeaddrinfo(res);
	if (c->fd != -1)
		return 0;
	if (plain_refused && c->error == 0) {
		log_warnx("%s: imap-tls = none only for a loopback host "
		    "(or say none-i-know)", c->what);
		return EX_CONFIG;
	}
	log_warnx("%s: connect to %s port %u: %s", c->what, a->imap_host,
	    port, strerror(c->error ? c->error : errno));
	return EX_UNAVAILABLE;
}

/*
 * libtls's read callback: serves from the buffer, refilled by one read(2)
 * when empty.  TLS_WANT_POLLIN when the socket has nothing yet (the
 * caller waits, as for tls_read), 0 at end of file, -1 with errno.
 */
static ssize_t
tlsbuf_read(struct tls *t, void *buf, size_t len, void *arg)
{
	struct conn	*c = arg;
	struct tlsbuf	*b = c->tlsbuf;
	ssize_t		 n;

	(void)t;
	if (b->off == b->len) {
		do {
			n = read(c->fd, b->data, sizeof(b->data));
		} while (n == -1 && errno == EINTR);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return TLS_WANT_POLLIN;
		if (n <= 0)
			return n;
		b->off = 0;
		b->len = (size_t)n;
	}
	if (len > b->len - b->off)
		len = b->len - b->off;
	memcpy(buf, b->data + b->off, len);
	b->off += len;
	return (ssize_t)len;
}

/* libtls's write callback: straight to the socket. */
static ssize_t
tlsbuf_write(struct tls *t, const void *buf, size_t len, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	(void)t;
	do {
		n = write(c->fd, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return TLS_WANT_POLLOUT;
	return n;
}

/* TLS on the connected socket, verified against the CA and host name. */
static int
tls_start(struct conn *c, const struct account *a)
{
	struct iowait	 w;

	if ((c->tlscfg = tls_config_new()) == NULL ||
	    (c->tls = tls_client()) == NULL ||
	    (c->tlsbuf = calloc(1, sizeof(*c->tlsbuf))) == NULL) {
		log_warnx("%s: TLS: out of memory", c->what);
		return EX_OSERR;
	}
	if (a->imap_ca_file != NULL &&
	    tls_config_set_ca_file(c->tlscfg, a->imap_ca_file) == -1) {
		log_warnx("%s: imap-ca-file %s: %s", c->what, a->imap_ca_file,
		    tls_config_error(c->tlscfg));
		return EX_CONFIG;
	}
	if (tls_configure(c->tls, c->tlscfg) == -1 ||
	    tls_connect_cbs(c->tls, tlsbuf_read, tlsbuf_write, c,
	    a->imap_host) == -1) {
		log_warnx("%s: TLS: %s", c->what, tls_error(c->tls));
		return EX_SOFTWARE;
	}
	w = waiter(c);
	if (iow_handshake(&w, c->tls, tls_handshake) == 0)
		return 0;
	if (errno == EPROTO) {
		log_warnx("%s: %s: TLS handshake: %s", c->what, c->host,
		    tls_error(c->tls));
		return EX_PROTOCOL;
	}
	log_warnx("%s: %s: TLS handshake: %s", c->what, c->host,
	    strerror(errno));
	return EX_UNAVAILABLE;
}

int
conn_capability(struct conn *c)
{
	struct mailimap_capability_data	*cap = NULL;
	int				 r;

	/* libetpan keeps its own copy for mailimap_has_extension(). */
	if ((r = mailimap_capability(c->imap, &cap)) != MAILIMAP_NO_ERROR)
		return conn_fail(c, r, "CAPABILITY");
	mailimap_capability_data_free(cap);
	return 0;
}

/* STARTTLS (RFC 3501 6.2.1); bytes the server sent early are refused. */
static int
starttls(struct conn *c, const struct account *a)
{
	int	 r;

	if (!mailimap_has_extension(c->imap, "STARTTLS")) {
		log_warnx("%s: %s does not offer STARTTLS", c->what, c->host);
		return EX_PROTOCOL;
	}
	if ((r = mailimap_starttls(c->imap)) != MAILIMAP_NO_ERROR)
		return conn_fail(c, r, "STARTTLS");
	/* Anything buffered now was sent in plaintext before TLS: an
	 * injection attempt (CVE-2011-0411 and kin). */
	if (c->imap->imap_stream->read_buffer_len != 0) {
		log_warnx("%s: %s sent data after STARTTLS", c->what, c->host);
		return EX_PROTOCOL;
	}
	if ((r = tls_start(c, a)) != 0)
		return r;
	/* Capabilities learnt before TLS cannot be trusted. */
	return conn_capability(c);
}

static int
session_start(struct conn *c, const struct account *a)
{
	mailstream_low	*low;
	mailstream	*stream;
	int		 r;

	if ((low = mailstream_low_new(c, &conn_driver)) == NULL ||
	    (stream = mailstream_new(low, 8192)) == NULL ||
	    (c->imap = mailimap_new(0, NULL)) == NULL) {
		log_warnx("%s: out of memory", c->what);
		return EX_OSERR;
	}
	mailimap_set_timeout(c->imap, c->timeout_ms / 1000);
	r = mailimap_connect(c->imap, stream);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_AUTHENTICATED)
		return conn_fail(c, r, "greeting");
	/* PREAUTH forbids STARTTLS (RFC 3501 6.2.1): a stripping attack. */
	if (r == MAILIMAP_NO_ERROR_AUTHENTICATED && a->imap_tls == IT_STARTTLS) {
		log_warnx("%s: %s: PREAUTH greeting: cannot start TLS",
		    c->what, c->host);
		return EX_PROTOCOL;
	}
	if ((c->imap->imap_connection_info == NULL ||
	    c->imap->imap_connection_info->imap_capability == NULL) &&
	    (r = conn_capability(c)) != 0)
		return r;
	if (a->imap_tls == IT_STARTTLS)
		return starttls(c, a);
	return 0;
}

int
conn_open(struct conn *c, const struct account *a, int verbose)
{
	unsigned	 port;
	int		 r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->what = a->name;
	c->verbose = verbose;
	c->timeout_ms = (a->imap_timeout ? a->imap_timeout : IMAP_TIMEOUT) *
	    1000;
	snprintf(c->host, sizeof(c->host), "%s", a->imap_host);
	/* Connect, TLS and greeting make one "command". */
	deadline_start(c);
	port = account_port(a);
	if ((r = tcp_connect(c, a, port)) != 0)
		goto fail;
	if (a->imap_tls == IT_IMPLICIT && (r = tls_start(c, a)) != 0)
		goto fail;
	if ((r = session_start(c, a)) != 0)
		goto fail;
	return 0;
fail:
	conn_close(c);
	return r;
}

void
conn_close(struct conn *c)
{
	struct iowait	 w;

	if (c->imap != NULL) {
		/* LOGOUT only on a healthy connection: after an error the
		 * stream may be mid-literal or already gone.  mailimap_free
		 * sends LOGOUT, and waits for its answer, on any stream it
		 * still has: close that stream first. */
		if (c->error == 0 && c->imap->imap_state != MAILIMAP_STATE_LOGOUT
		    && c->imap->imap_state != MAILIMAP_STATE_DISCONNECTED)
			(void)mailimap_logout(c->imap);
		else if (c->imap->imap_stream != NULL) {
			mailstream_close(c->imap->imap_stream);
			c->imap->imap_stream = NULL;
		}
		mailimap_free(c->imap);
		c->imap = NULL;
	}
	if (c->tls != NULL) {
		w = waiter(c);
		if (c->error == 0)
			iow_close(&w, c->tls, tls_close, 1000);
		tls_free(c->tls);
		c->tls = NULL;
	}
	free(c->tlsbuf);
	c->tlsbuf = NULL;
	if (c->tlscfg != NULL) {
		tls_config_free(c->tlscfg);
		c->tlscfg = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
}

/*
 * Waits until the server sends something, ms pass, or *stop is set.  1:
 * something came (or is already buffered), 0: not, -1: failure (errno).
 */
static int
idle_wait(struct conn *c, int ms, volatile sig_atomic_t *stop)
{
	struct pollfd	 pfd;
	long long	 end = iow_now() + ms, left;
	int		 n;

	/* libetpan may have read it already, with the continuation; or
	 * its TLS record came in the same read(2) as the continuation's. */
	if (c->imap->imap_stream->read_buffer_len > 0 ||
	    (c->tlsbuf != NULL && c->tlsbuf->off < c->tlsbuf->len))
		return 1;
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	while (!*stop && (left = end - iow_now()) > 0) {
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * The tagged answer to cmd, its first line already read: *ok set when it
 * is OK.  0, or an exit code.
 */
static int
answer(struct conn *c, const char *cmd, int *ok)
{
	struct mailimap_response	*rsp = NULL;
	int				 r;

	if ((r = mailimap_parse_response(c->imap, &rsp)) != MAILIMAP_NO_ERROR)
		return conn_fail(c, r, cmd);
	*ok = rsp->rsp_resp_done->rsp_type == MAILIMAP_RESP_DONE_TYPE_TAGGED &&
	    rsp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type
	    == MAILIMAP_RESP_COND_STATE_OK;
	mailimap_response_free(rsp);
	return 0;
}

/* Sends line (a command with its CRLF) under the next tag. */
static int
send_line(struct conn *c, const char *line, const char *cmd)
{
	mailstream	*s = c->imap->imap_stream;
	size_t		 len = strlen(line);

	if (mailimap_send_current_tag(c->imap) != MAILIMAP_NO_ERROR ||
	    mailstream_write(s, line, len) != (ssize_t)len ||
	    mailstream_flush(s) == -1)
		return conn_fail(c, MAILIMAP_ERROR_STREAM, cmd);
	return 0;
}

/*
 * Appends name (UTF-8) to *line (*len bytes) as a quoted string in
 * modified UTF-7, after sep.
 */
static void
add_quoted(char **line, size_t *len, const char *sep, const char *name)
{
	char		*wire = utf7_encode(name), *p;
	const char	*w;

	/* utf7_encode makes printable US-ASCII: only " and \ to escape. */
	*line = xreallocarray(*line, *len + strlen(sep) + 2 * strlen(wire) + 3,
	    1);
	p = *line + *len;
	p = stpcpy(p, sep);
	*p++ = '"';
	for (w = wire; *w != '\0'; w++) {
		if (*w == '"' || *w == '\\')
			*p++ = '\\';
		*p++ = *w;
	}
	*p++ = '"';
	*p = '\0';
	*len = p - *line;
	free(wire);
}

/*
 * 1 when every name is its own wire form: US-ASCII without '&'.  (A name
 * that is not UTF-8 has none; sync_mailbox says so when it comes to it.)
 */
static int
plain_names(char *const *names, size_t n)
{
	size_t	 i;
	char	*wire;
	int	 same = 1;

	for (i = 0; same && i < n; i++) {
		wire = utf7_encode(names[i]);
		same = wire != NULL && strcmp(wire, names[i]) == 0;
		free(wire);
	}
	return same;
}

int
conn_notify(struct conn *c, char *const *names, size_t n, int *on)
{
	/* RFC 5465 8: event-group = "(" filter-mailboxes SP events ")";
	 * MessageNew and MessageExpunge go together (5.2). */
	static const char	 head[] = "NOTIFY SET (selected (MessageNew "
				    "MessageExpunge)) (";
	static const char	 tail[] = " (MessageNew MessageExpunge))\r\n";
	char			*line;
	size_t			 len, i;
	int			 r;

	/* Dovecot (2.3) matches the names of a "mailboxes" filter against
	 * its UTF-8 names, so that one in modified UTF-7 is never told of
	 * (and it tells in UTF-8, in a literal).  With such a name, all
	 * personal mailboxes: a word about one not fetched costs a look at
	 * those fetched. */
	if (plain_names(names, n)) {
		line = xstrdup(head);
		len = sizeof(head) - 1;
		line = xreallocarray(line, len + 12, 1);
		len = stpcpy(line + len, "mailboxes (") - line;
		for (i = 0; i < n; i++)
			add_quoted(&line, &len, i ? " " : "", names[i]);
		line = xreallocarray(line, len + 2, 1);
		len = stpcpy(line + len, ")") - line;
	} else {
		line = xreallocarray(xstrdup(head), sizeof(head) + 9, 1);
		len = stpcpy(line + sizeof(head) - 1, "personal") - line;
	}
	line = xreallocarray(line, len + sizeof(tail), 1);
	memcpy(line + len, tail, sizeof(tail));
	*on = 0;
	if ((r = send_line(c, line, "NOTIFY")) == 0) {
		if (mailimap_read_line(c->imap) == NULL)
			r = conn_fail(c, MAILIMAP_ERROR_STREAM, "NOTIFY");
		else
			r = answer(c, "NOTIFY", on);
	}
	free(line);
	if (r == 0 && !*on)
		log_info("%s: %s: NOTIFY refused (%s): the other mailboxes are "
		    "looked at every watch-interval", c->what, c->host,
		    c->imap->imap_response != NULL ? c->imap->imap_response :
		    "no text");
	return r;
}

/*
 * Sends IDLE and reads up to the server's "+".  Untagged responses before
 * it (libetpan would drop them) set *woken.  0, or an exit code.
 */
static int
idle_start(struct conn *c, int *woken)
{
	const char	*line;
	size_t		 len;
	int		 r, ok, literal = 0;

	if ((r = send_line(c, "IDLE\r\n", "IDLE")) != 0)
		return r;
	while ((line = mailimap_read_line(c->imap)) != NULL) {
		if (literal) {
			/* The rest of a STATUS whose name was a literal. */
			literal = 0;
			continue;
		}
		if (line[0] == '+')
			return 0;
		if (strncmp(line, "* ", 2) != 0)
			break;
		/* News, not a greeting nor a "still here": a server that
		 * says one before each "+" must not make every IDLE a
		 * fetch. */
		if (strncasecmp(line, "* OK", 4) != 0 &&
		    strncasecmp(line, "* NO", 4) != 0 &&
		    strncasecmp(line, "* BAD", 5) != 0)
			*woken |= IDLE_WOKEN;
		if (strncasecmp(line, "* STATUS ", 9) == 0)
			*woken |= IDLE_OTHERS;
		/* A literal: only a mailbox name of a STATUS, which has no
		 * line end; the next line is its bytes and the rest. */
		len = strcspn(line, "\r\n");
		if (len > 0 && line[len - 1] == '}') {
			if (strncasecmp(line, "* STATUS {", 10) != 0)
				break;
			literal = 1;
		}
	}
	if (line == NULL)
		return conn_fail(c, MAILIMAP_ERROR_STREAM, "IDLE");
	/* The tagged answer: IDLE refused. */
	if (line[0] != '*') {
		if ((r = answer(c, "IDLE", &ok)) != 0)
			return r;
		if (!ok)
			return conn_fail(c, MAILIMAP_ERROR_EXTENSION, "IDLE");
	}
	c->error = EPROTO;
	log_warnx("%s: %s: IDLE: unexpected response", c->what, c->host);
	return EX_PROTOCOL;
}

int
conn_idle(struct conn *c, int ms, volatile sig_atomic_t *stop, int *woken)
{
	int	 r, w;

	*woken = 0;
	if ((r = idle_start(c, woken)) != 0)
		return r;
	if (*woken == 0) {
		if ((w = idle_wait(c, ms, stop)) == -1) {
			c->error = errno;
			log_warn("%s: %s: IDLE", c->what, c->host);
			return EX_UNAVAILABLE;
		}
		*woken = w ? IDLE_WOKEN : 0;
	}
	/* DONE even when woken: the server's words are read with its OK. */
	if ((r = mailimap_idle_done(c->imap)) != MAILIMAP_NO_ERROR)
		return conn_fail(c, r, "DONE");
	/* libetpan keeps the last STATUS of the answer it parsed. */
	if (c->imap->imap_response_info != NULL &&
	    c->imap->imap_response_info->rsp_status != NULL)
		*woken |= IDLE_OTHERS | IDLE_WOKEN;
	return 0;
}

int
conn_fail(struct conn *c, int r, const char *cmd)
{
	const char	*text = NULL;

	if (c->imap != NULL && c->imap->imap_response != NULL)
		text = c->imap->imap_response;
	switch (r) {
	case MAILIMAP_ERROR_STREAM:
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
		if (c->error == EMSGSIZE) {
			log_warnx("%s: %s: %s: response too long (over %lu "
			    "bytes outside message bodies)", c->what, c->host,
			    cmd, IMAP_RESPONSE_MAX);
			return EX_PROTOCOL;
		}
		if (c->error == ETIME) {
			log_warnx("%s: %s: %s: no answer within the deadline "
			    "(%d s, more while data comes)", c->what, c->host,
			    cmd, c->timeout_ms / 1000 * IMAP_DEADLINE_FACTOR);
			return EX_UNAVAILABLE;
		}
		if (c->error == 0)
			c->error = EIO;
		log_warnx("%s: %s: %s: %s", c->what, c->host, cmd,
		    strerror(c->error));
		return EX_UNAVAILABLE;
	case MAILIMAP_ERROR_PARSE:
	case MAILIMAP_ERROR_PROTOCOL:
		c->error = EPROTO;
		log_warnx("%s: %s: %s: unexpected response", c->what, c->host,
		    cmd);
		return EX_PROTOCOL;
	case MAILIMAP_ERROR_MEMORY:
		c->error = ENOMEM;
		log_warnx("%s: %s: out of memory", c->what, cmd);
		return EX_OSERR;
	default:
		/* The server answered NO or BAD, or said BYE. */
		log_warnx("%s: %s: %s failed: %s", c->what, c->host, cmd,
		    text != NULL ? text : "(no text)");
		if (r == MAILIMAP_ERROR_FATAL || r == MAILIMAP_ERROR_BAD_STATE)
			c->error = ECONNRESET;
		return EX_UNAVAILABLE;
	}
}
