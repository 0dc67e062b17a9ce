/*
 * trans.c: the TRANSACTION state (RFC 1939 section 5) over the snapshot
 * taken at login.  Nothing here changes the maildrop: DELE only marks, and
 * QUIT hands the marks to maildrop_commit (the UPDATE state).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "num.h"
#include "session.h"
#include "wire.h"

/*
 * Splits arg into at most max space-separated words.  Returns the count,
 * or -1 when there are more or an empty word (two spaces).
 */
static int
split(char *arg, char **argv, int max)
{
	char	*p = arg;
	int	 n = 0, i;

	if (*arg == '\0')
		return 0;
	for (;;) {
		if (n == max)
			return -1;
		argv[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	for (i = 0; i < n; i++)
		if (*argv[i] == '\0')
			return -1;
	return n;
}

/* Parses a message number; sets *i to its index, or the reply. */
static int
msgno(struct session *s, const char *arg, size_t *i)
{
	uint64_t	n;

	if (num_parse(arg, UINT32_MAX, &n) == -1)
		return r_err(s, NULL, "Invalid message number");
	if (n == 0 || n > s->nmsgs)
		return r_err(s, NULL, "No such message");
	if (s->msgs[n - 1].deleted)
		return r_err(s, NULL, "Message %llu is deleted",
		    (unsigned long long)n);
	*i = (size_t)(n - 1);
	return POP_OK;
}

/* Parses "[msg]" for LIST and UIDL: 0 args or 1.  POP_OK or the reply. */
static int
opt_msg(struct session *s, char *arg, size_t *i, int *one)
{
	char	*argv[1];
	int	 n;

	if ((n = split(arg, argv, 1)) == -1)
		return r_err(s, NULL, "Syntax error");
	*one = n == 1;
	return n == 1 ? msgno(s, argv[0], i) : POP_OK;
}

static void
stat_totals(const struct session *s, size_t *count, uint64_t *octets)
{
	size_t	i;

	*count = 0;
	*octets = 0;
	for (i = 0; i < s->nmsgs; i++)
		if (!s->msgs[i].deleted) {
			(*count)++;
			*octets += s->msgs[i].size;
		}
}

static int
cmd_stat(struct session *s, char *arg)
{
	size_t		count;
	uint64_t	octets;

	if (*arg != '\0')
		return r_err(s, NULL, "STAT takes no argument");
	stat_totals(s, &count, &octets);
	return r_ok(s, "%zu %llu", count, (unsigned long long)octets);
}

/* Writes v in decimal at to (20 bytes at most); returns the length. */
static size_t
dec(char *to, uint64_t v)
{
	char	 d[20], *p = d + sizeof(d);
	size_t	 n;

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	n = (size_t)(d + sizeof(d) - p);
	memcpy(to, p, n);
	return n;
}

/*
 * One listing line, "N VALUE\r\n": VALUE is m's UIDL, or num when m is
 * NULL.  By hand, not io_printf: a client's UIDL and LIST over 2000
 * messages are 4000 lines, and vsnprintf's were 0.09 ms of a 3.9 ms
 * session (CPU, crypt(3) included).
 */
static void
list_line(struct io *io, size_t n, uint64_t num, const struct mdmsg *m)
{
	char		 line[20 + 1 + POP3_UIDL_MAX + 2];
	const char	*uidl;
	size_t		 len, k;

	len = dec(line, n);
	line[len++] = ' ';
	if (m != NULL) {
		k = maildir_msg_uidl(m, &uidl);	/* at most POP3_UIDL_MAX */
		memcpy(line + len, uidl, k);
		len += k;
	} else
		len += dec(line + len, num);
	line[len++] = '\r';
	line[len++] = '\n';
	io_write(io, line, len);
}

static int
list_body(struct session *s)
{
	size_t	i;

	for (i = 0; i < s->nmsgs; i++)
		if (!s->msgs[i].deleted)
			list_line(&s->io, i + 1, s->msgs[i].size, NULL);
	return s->io.error ? -1 : 0;
}

static int
uidl_body(struct session *s)
{
	size_t	i;

	for (i = 0; i < s->nmsgs; i++)
		if (!s->msgs[i].deleted)
			list_line(&s->io, i + 1, 0, &s->msgs[i]);
	return s->io.error ? -1 : 0;
}

static int
cmd_list(struct session *s, char *arg)
{
	size_t		i = 0, count;
	uint64_t	octets;
	int		one, r;

	if ((r = opt_msg(s, arg, &i, &one)) != POP_OK)
		return r;
	if (one)
		return r_ok(s, "%zu %llu", i + 1,
		    (unsigned long long)s->msgs[i].size);
	stat_totals(s, &count, &octets);
	s->body = list_body;
	return r_ok(s, "%zu messages (%llu octets)", count,
	    (unsigned long long)octets);
}

static int
cmd_uidl(struct session *s, char *arg)
{
	const char	*uidl;
	size_t		 i = 0, k;
	int		 one, r;

	if ((r = opt_msg(s, arg, &i, &one)) != POP_OK)
		return r;
	if (one) {
		k = maildir_msg_uidl(&s->msgs[i], &uidl);
		return r_ok(s, "%zu %.*s", i + 1, (int)k, uidl);
	}
	s->body = uidl_body;
	return r_ok(s, "Unique-ID listing follows");
}

static int
sink_io(void *arg, const void *buf, size_t len)
{
	return io_write(arg, buf, len);
}

/*
 * Streams message s->arg_msg (TOP: s->arg_lines body lines) in blocks: one
 * pass of LF -> CRLF and dot-stuffing, never the whole message in memory.
 * After the +OK line an error can only end the connection.
 */
static int
msg_body(struct session *s)
{
	struct mdmsg		*m = &s->msgs[s->arg_msg];
	struct wire_enc		 e;
	unsigned char		 buf[POPD_BLOCK];
	ssize_t			 n;
	int			 fd = s->arg_fd, r = 0;

	s->arg_fd = -1;
	wire_enc_init(&e);
	while (r == 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("%s: read", m->path);
			r = -1;
			break;
		}
		r = wire_enc_update(&e, buf, (size_t)n, s->arg_lines, sink_io,
		    &s->io);
	}
	close(fd);
	if (r == -1 || wire_enc_final(&e, sink_io, &s->io) == -1)
		return -1;
	if (s->arg_lines < 0) {
		/*
		 * can_open checked the size on disk; left: a ",W=" wrong
		 * although ",S=" is right, or a file rewritten in place
		 * to the same length since.
		 */
		if (e.octets != m->size)
			maildrop_wire_size(s, s->arg_msg, e.octets);
		s->nretr++;
		s->retr_bytes += e.octets;
		m->retrieved = 1;
	}
	return 0;
}

/*
 * The reply to a maildrop status other than MD_OK, message i (0-based) or
 * none (SIZE_MAX).  RFC 3206: [IN-USE] when another session holds the
 * maildrop; [SYS/TEMP] for what a later try may not meet (a message whose
 * size changed is renamed for the next session), [SYS/PERM] for what it
 * will.
 */
static int
md_reply(struct session *s, enum md_status st, size_t i)
{
	switch (st) {
	case MD_IN_USE:
		return r_err(s, "IN-USE", "Maildrop is in use by another "
		    "session");
	case MD_GONE:
		return r_err(s, NULL, "Message %zu has vanished", i + 1);
	case MD_NOT_FILE:
		return r_err(s, "SYS/PERM", "Message %zu is not a regular file",
		    i + 1);
	case MD_CHANGED:
		return r_err(s, "SYS/TEMP", "Message %zu changed since login; "
		    "log in again", i + 1);
	case MD_OK:
	case MD_SYS_TEMP:
		break;
	}
	if (i == SIZE_MAX)
		return r_err(s, "SYS/TEMP", "Cannot open maildrop");
	return r_err(s, "SYS/TEMP", "Cannot open message %zu", i + 1);
}

int
trans_begin(struct session *s)
{
	enum md_status	st;

	if ((st = maildrop_open(s)) != MD_OK)
		return md_reply(s, st, SIZE_MAX);
	return POP_OK;
}

/*
 * Opens message i into s->arg_fd before "+OK" is promised; msg_body
 * closes it.  The file holds the octets that LIST said, or it is refused.
 */
static int
can_open(struct session *s, size_t i)
{
	enum md_status	st;

	if ((st = maildrop_open_msg(s, i, &s->arg_fd)) != MD_OK)
		return md_reply(s, st, i);
	return POP_OK;
}

static int
cmd_retr(struct session *s, char *arg)
{
	char	*argv[1];
	size_t	 i;
	int	 r;

	if (split(arg, argv, 1) != 1)
		return r_err(s, NULL, "Syntax: RETR msg");
	if ((r = msgno(s, argv[0], &i)) != POP_OK || (r = can_open(s, i)) != POP_OK)
		return r;
	s->arg_msg = i;
	s->arg_lines = -1;
	s->body = msg_body;
	return r_ok(s, "%llu octets", (unsigned long long)s->msgs[i].size);
}

static int
cmd_top(struct session *s, char *arg)
{
	char		*argv[2];
	size_t		 i;
	uint64_t	 lines;
	int		 r;

	if (split(arg, argv, 2) != 2)
		return r_err(s, NULL, "Syntax: TOP msg n");
	if ((r = msgno(s, argv[0], &i)) != POP_OK)
		return r;
	/* Any count beyond a message's lines means all of them (fetchmail
	 * asks for 99999999); only what is not a number is refused. */
	if (num_parse(argv[1], UINT64_MAX, &lines) == -1)
		return r_err(s, NULL, "Invalid line count");
	if (lines > LLONG_MAX)
		lines = LLONG_MAX;
	if ((r = can_open(s, i)) != POP_OK)
		return r;
	s->arg_msg = i;
	s->arg_lines = (long long)lines;
	s->body = msg_body;
	return r_ok(s, "Top of message follows");
}

static int
cmd_dele(struct session *s, char *arg)
{
	char	*argv[1];
	size_t	 i;
	int	 r;

	if (split(arg, argv, 1) != 1)
		return r_err(s, NULL, "Syntax: DELE msg");
	if ((r = msgno(s, argv[0], &i)) != POP_OK)
		return r;
	s->msgs[i].deleted = 1;
	return r_ok(s, "Message %zu deleted", i + 1);
}

static int
cmd_rset(struct session *s, char *arg)
{
	size_t		i, count;
	uint64_t	octets;

	if (*arg != '\0')
		return r_err(s, NULL, "RSET takes no argument");
	for (i = 0; i < s->nmsgs; i++)
		s->msgs[i].deleted = 0;
	stat_totals(s, &count, &octets);
	return r_ok(s, "%zu messages (%llu octets)", count,
	    (unsigned long long)octets);
}

static int
cmd_noop(struct session *s, char *arg)
{
	if (*arg != '\0')
		return r_err(s, NULL, "NOOP takes no argument");
	return r_ok(s, "%s", "");
}

static int
cmd_quit(struct session *s, char *arg)
{
	int	failed;

	(void)arg;
	failed = maildrop_commit(s);
	if (failed > 0) {
		s->end = "quit, update failed";
		r_err(s, "SYS/TEMP", "%d messages could not be updated", failed);
		return POP_CLOSE;
	}
	s->end = "quit";
	r_ok(s, "popd signing off");
	return POP_BYE;
}

const struct command trans_commands[] = {
	{ "STAT", cmd_stat },
	{ "LIST", cmd_list },
	{ "UIDL", cmd_uidl },
	{ "RETR", cmd_retr },
	{ "TOP",  cmd_top },
	{ "DELE", cmd_dele },
	{ "RSET", cmd_rset },
	{ "NOOP", cmd_noop },
	{ "CAPA", cmd_capa },
	{ "QUIT", cmd_quit },
	{ NULL, NULL }
};
