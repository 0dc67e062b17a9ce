/*
 * scan.c: the server's bytes as the transport sees them, lines and
 * literals, followed on their own to bound what libetpan keeps in memory.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "params.h"
#include "scan.h"

/* 1 when s starts with "* <number> FETCH", in any case. */
static int
is_fetch(const char *s, size_t n)
{
	size_t	 i = 2;

	if (n < 2 || s[0] != '*' || s[1] != ' ')
		return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i > 2 && n - i >= 7 && strncasecmp(s + i, " FETCH ", 7) == 0;
}

/*
 * The line just ended (tail holds its last bytes, LF included): a literal
 * follows when it ends with "{<n>}" CRLF, and that literal is a message
 * body streamed to disk only for "BODY[] {<n>}" in a FETCH response while
 * a body FETCH is under way.  Else the response is over.
 */
static void
line_end(struct scan *s, int bodies)
{
	size_t		 t = s->nline < sizeof(s->tail) ? s->nline :
			    sizeof(s->tail), i, brace;
	uint64_t	 n = 0;

	if (s->resp == s->nline)	/* the first line of a response */
		s->fetch = is_fetch(s->head, s->nline < sizeof(s->head) ?
		    s->nline : sizeof(s->head));
	s->nline = 0;
	if (t < 5 || memcmp(s->tail + t - 3, "}\r\n", 3) != 0)
		goto over;
	for (i = t - 4; i > 0 && s->tail[i] >= '0' && s->tail[i] <= '9'; i--)
		;
	if (s->tail[i] != '{' || i == t - 4 || t - 4 - i > 10)
		goto over;
	for (brace = i++; s->tail[i] != '}'; i++)
		n = n * 10 + (uint64_t)(s->tail[i] - '0');
	if (n > UINT32_MAX)
		goto over;
	s->lit = n;
	s->litbody = bodies && s->fetch && brace >= 7 &&
	    strncasecmp(s->tail + brace - 7, "BODY[] ", 7) == 0;
	return;
over:
	s->resp = 0;
	s->fetch = 0;
}

int
scan_bytes(struct scan *s, int bodies, const char *p, size_t n)
{
	const char	*lf;
	size_t		 k, t;

	while (n > 0) {
		if (s->lit > 0) {
			k = n < s->lit ? n : (size_t)s->lit;
			s->lit -= k;
			if (!s->litbody)
				s->resp += k;
		} else {
			lf = memchr(p, '\n', n);
			k = lf != NULL ? (size_t)(lf - p) + 1 : n;
			if (s->nline < sizeof(s->head))
				memcpy(s->head + s->nline, p, k < sizeof(s->head) -
				    s->nline ? k : sizeof(s->head) - s->nline);
			t = k < sizeof(s->tail) ? k : sizeof(s->tail);
			memmove(s->tail, s->tail + t, sizeof(s->tail) - t);
			memcpy(s->tail + sizeof(s->tail) - t, p + k - t, t);
			s->nline += k;
			s->resp += k;
			/* Before line_end: it starts the next response at 0. */
			if (s->resp > IMAP_RESPONSE_MAX) {
				errno = EMSGSIZE;
				return -1;
			}
			if (lf != NULL) {
				/* line_end wants the tail at the start. */
				t = s->nline < sizeof(s->tail) ? s->nline :
				    sizeof(s->tail);
				memmove(s->tail, s->tail + sizeof(s->tail) - t,
				    t);
				line_end(s, bodies);
			}
		}
		if (s->resp > IMAP_RESPONSE_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		p += k;
		n -= k;
	}
	return 0;
}
