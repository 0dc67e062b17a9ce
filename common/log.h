/*
 * log.h: the one logging idiom.  popd logs with syslog(3) only (under inetd
 * fd 2 may be the socket); imapfetch and the -t checks log to stderr.
 * When stderr is systemd's journal (JOURNAL_STREAM), each line starts
 * with its priority as sd-daemon(3) says: "<3>" for warnings, which on
 * stderr report a failure, "<6>" for information.
 */
#ifndef POPD_LOG_H
#define POPD_LOG_H

#include <stdarg.h>

enum log_to { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_FN };

/* ident: program name; verbose: log_debug lines are written too. */
void	log_init(const char *ident, enum log_to to, int verbose);
/*
 * From now on each line (escaped, with its strerror) goes to fn instead,
 * with its syslog(3) priority; the syslog socket is closed.  popd's
 * pre-authentication process: its lines go to the privileged process,
 * which writes them marked as its (priv.c), so that a process a client
 * took over cannot write a line that passes for another's.
 */
void	log_init_fn(void (*fn)(void *arg, int pri, const char *line),
	    void *arg);

void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* log_warnx plus ": strerror(errno)". */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits with code. */
void	fatalx(int code, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatal(int code, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

/*
 * Copies untrusted text (a user name typed by a client) into dst for a log
 * line: at most dstlen-1 bytes, bytes outside 0x21..0x7E become '?'.
 */
void	log_sanitize(char *dst, size_t dstlen, const char *src);

/*
 * Copies src into dst (at most dstlen-1 bytes, always terminated) so that
 * it is safe on a terminal and in a log: valid UTF-8 passes, except C1
 * controls; control bytes, DEL and the bytes of invalid UTF-8 become
 * "\xHH".  Every log line goes through it (text from a server or a
 * client is in many of them).  A sequence that does not fit is dropped
 * whole.
 */
void	log_escape(char *dst, size_t dstlen, const char *src);

#endif
