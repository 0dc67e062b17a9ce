/*
 * imapsink: the network-only limit for make bench.  Logs in, selects
 * INBOX, sends one UID FETCH 1:* BODY.PEEK[] and reads the answer,
 * skipping each literal unread into one buffer; nothing is parsed beyond
 * the literal sizes and nothing is written.  What a fetcher cannot beat on
 * this server and this link.
 *
 *   imapsink [-T CAFILE] HOST PORT USER PASS
 *
 * Prints "messages=N bytes=B"; exits non-zero unless the FETCH ended OK.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tls.h>

#define BUFSZ	(256 * 1024)

static int fd = -1;
static struct tls *tls;
static char buf[BUFSZ];
static size_t off, len;

static int
fill(void)
{
	ssize_t n;

	if (off < len)
		return 1;
	off = len = 0;
	do {
		n = tls ? tls_read(tls, buf, sizeof buf) : read(fd, buf, sizeof buf);
	} while ((tls && (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT)) ||
	    (!tls && n == -1 && errno == EINTR));
	if (n <= 0)
		return 0;
	len = n;
	return 1;
}

static void
put(const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = tls ? tls_write(tls, s, n) : write(fd, s, n);
		if (tls && (w == TLS_WANT_POLLIN || w == TLS_WANT_POLLOUT))
			continue;
		if (w <= 0) {
			fprintf(stderr, "imapsink: write failed\n");
			exit(1);
		}
		s += w;
		n -= w;
	}
}

/* One line (up to LF) into l, truncated to lsz - 1; 0 at end of stream. */
static int
line(char *l, size_t lsz)
{
	size_t ll = 0;

	for (;;) {
		char *nl;
		size_t n, k;

		if (!fill())
			return 0;
		nl = memchr(buf + off, '\n', len - off);
		n = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
		k = n < lsz - 1 - ll ? n : lsz - 1 - ll;
		memcpy(l + ll, buf + off, k);
		ll += k;
		off += n;
		if (nl) {
			l[ll] = '\0';
			return 1;
		}
	}
}

/* Reads to the tagged answer of tag; counts and skips literals. */
static int
until(const char *tag, long *msgs, long long *bytes)
{
	char l[1024];
	size_t tl = strlen(tag);

	while (line(l, sizeof l)) {
		size_t ll = strlen(l);
		if (strncmp(l, tag, tl) == 0 && l[tl] == ' ')
			return strncmp(l + tl + 1, "OK", 2) == 0 ? 0 : -1;
		if (ll >= 3 && l[ll - 1] == '\n' && l[ll - 2] == '\r' && l[ll - 3] == '}') {
			char *b = strrchr(l, '{');
			long long n = b ? atoll(b + 1) : 0;
			*bytes += n;
			(*msgs)++;
			while (n > 0) {
				size_t k;
				if (!fill())
					return -1;
				k = (long long)(len - off) < n ? len - off : (size_t)n;
				off += k;
				n -= k;
			}
		}
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct tls_config *cfg;
	const char *ca = NULL;
	char s[600];
	long msgs = 0, junk = 0;
	long long bytes = 0, jb = 0;
	int one = 1;

	if (argc > 2 && strcmp(argv[1], "-T") == 0) {
		ca = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: imapsink [-T cafile] host port user pass\n");
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		perror("imapsink: connect");
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (ca) {
		if ((cfg = tls_config_new()) == NULL ||
		    tls_config_set_ca_file(cfg, ca) == -1 ||
		    (tls = tls_client()) == NULL || tls_configure(tls, cfg) == -1 ||
		    tls_connect_socket(tls, fd, argv[1]) == -1 ||
		    tls_handshake(tls) == -1) {
			fprintf(stderr, "imapsink: tls: %s\n", tls ? tls_error(tls) : "setup");
			return 1;
		}
	}
	if (!line(s, sizeof s) || strncmp(s, "* OK", 4) != 0)
		return 1;
	snprintf(s, sizeof s, "a LOGIN \"%s\" \"%s\"\r\n", argv[3], argv[4]);
	put(s);
	if (until("a", &junk, &jb) == -1)
		return 1;
	put("b SELECT INBOX\r\n");
	if (until("b", &junk, &jb) == -1)
		return 1;
	put("c UID FETCH 1:* BODY.PEEK[]\r\n");
	if (until("c", &msgs, &bytes) == -1) {
		fprintf(stderr, "imapsink: FETCH failed\n");
		return 1;
	}
	put("d LOGOUT\r\n");
	printf("messages=%ld bytes=%lld\n", msgs, bytes);
	return 0;
}
