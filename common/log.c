/*
 * log.c: one logging idiom for both programs.  popd writes to syslog only,
 * because under inetd fd 2 may be the client's socket.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char	*log_ident = "popd";
static enum log_to	 log_dest = LOG_TO_STDERR;
static int		 log_verbose;

void
log_init(const char *ident, enum log_to to, int verbose)
{
	log_ident = ident;
	log_dest = to;
	log_verbose = verbose;
	if (to == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char	msg[1024];
	int	saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_dest == LOG_TO_SYSLOG) {
		if (with_errno)
			syslog(pri, "%s: %s", msg, strerror(saved));
		else
			syslog(pri, "%s", msg);
	} else {
		if (with_errno)
			fprintf(stderr, "%s: %s: %s\n", log_ident, msg,
			    strerror(saved));
		else
			fprintf(stderr, "%s: %s\n", log_ident, msg);
	}
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
