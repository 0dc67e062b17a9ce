/*
 * log.c: one logging idiom for both programs.  popd writes to syslog only,
 * because under inetd fd 2 may be the client's socket.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "utf8.h"

static const char	*log_ident = "popd";
static enum log_to	 log_dest = LOG_TO_STDERR;
static int		 log_verbose;
static int		 log_journal;	/* stderr is systemd's journal */
static void		(*log_fn)(void *, int, const char *);
static void		*log_fn_arg;

/*
 * 1 when fd 2 is the stream systemd's JOURNAL_STREAM names ("dev:ino"):
 * then a "<N>" prefix gives each line its priority in the journal.
 */
static int
stderr_is_journal(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;

	return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 && st.st_dev == (dev_t)dev &&
	    st.st_ino == (ino_t)ino;
}

void
log_init(const char *ident, enum log_to to, int verbose)
{
	log_ident = ident;
	log_dest = to;
	log_verbose = verbose;
	log_journal = to == LOG_TO_STDERR && stderr_is_journal();
	if (to == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_init_fn(void (*fn)(void *, int, const char *), void *arg)
{
	if (log_dest == LOG_TO_SYSLOG)
		closelog();
	log_dest = LOG_TO_FN;
	log_fn = fn;
	log_fn_arg = arg;
}

/*
 * Length of the UTF-8 sequence at p when it may go to a terminal as it
 * is, else 0: not a control, DEL or C1 control (CSI is U+009B).
 */
static size_t
safe_len(const unsigned char *p)
{
	uint32_t	 cp;
	size_t		 n;

	if ((n = utf8_decode(p, &cp)) == 0 || cp < 0x20 || cp == 0x7f ||
	    (cp >= 0x80 && cp < 0xa0))
		return 0;
	return n;
}

void
log_escape(char *dst, size_t dstlen, const char *src)
{
	const unsigned char	*p = (const unsigned char *)src;
	size_t			 o = 0, n;

	if (dstlen == 0)
		return;
	for (; *p != '\0'; p += n) {
		if ((n = safe_len(p)) == 0) {
			if (o + 4 >= dstlen)
				break;
			snprintf(dst + o, dstlen - o, "\\x%02x", *p);
			o += 4;
			n = 1;
			continue;
		}
		if (o + n >= dstlen)
			break;
		memcpy(dst + o, p, n);
		o += n;
	}
	dst[o] = '\0';
}

/*
 * One line on stderr in one write(2): runs of imapfetch -j, or a unit's
 * processes, share the stream, and lines must not mix mid-line.
 */
static void
write_line(int pri, const char *msg, const char *err)
{
	char	 line[8192];
	int	 n = 0;

	/* On stderr a warning is a failure being reported (imapfetch under
	 * a unit): the journal shows it as an error. */
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>",
		    pri == LOG_WARNING ? LOG_ERR : pri);
	n += snprintf(line + n, sizeof(line) - n, "%s: %s%s%s\n", log_ident,
	    msg, err != NULL ? ": " : "", err != NULL ? err : "");
	if (n >= (int)sizeof(line)) {
		n = sizeof(line);
		line[n - 1] = '\n';
	}
	fflush(stderr);
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char	raw[1024], msg[4 * sizeof(raw)];
	int	saved = errno;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(msg, sizeof(msg), raw);
	if (log_dest == LOG_TO_FN) {
		char	line[sizeof(msg) + 128];

		snprintf(line, sizeof(line), "%s%s%s", msg,
		    with_errno ? ": " : "", with_errno ? strerror(saved) : "");
		log_fn(log_fn_arg, pri, line);
	} else if (log_dest == LOG_TO_SYSLOG) {
		if (with_errno)
			syslog(pri, "%s: %s", msg, strerror(saved));
		else
			syslog(pri, "%s", msg);
	} else
		write_line(pri, msg, with_errno ? strerror(saved) : NULL);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 1);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatalx(int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, 0);
	va_end(ap);
	exit(code);
}

void
fatal(int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, 1);
	va_end(ap);
	exit(code);
}

void
log_sanitize(char *dst, size_t dstlen, const char *src)
{
	size_t	i;

	if (dstlen == 0)
		return;
	for (i = 0; i + 1 < dstlen && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c >= 0x21 && c <= 0x7e ? (char)c : '?';
	}
	dst[i] = '\0';
}
