/*
 * scan.h: a second reading of what an IMAP server sends, beside
 * libetpan's parser, that only follows lines and literals.  libetpan keeps
 * a whole response in memory (a line without end, a literal it does not
 * stream), but for the BODY[] literals of a body FETCH, which it hands to
 * our body handler: so a response may hold at most IMAP_RESPONSE_MAX
 * bytes outside those (params.h), and a server cannot make imapfetch grow
 * without bound.
 *
 * A literal is one announced by a line that ends in "{<n>}" CRLF.  It
 * counts as a streamed body only when the line ends in "BODY[] {<n>}",
 * the response began with "* <n> FETCH", and the caller says a body FETCH
 * is under way; any other literal counts in full.  A line that ends
 * without a literal ends the response.
 */
#ifndef IMAPFETCH_SCAN_H
#define IMAPFETCH_SCAN_H

#include <stddef.h>
#include <stdint.h>

struct scan {
	uint64_t	 resp;		/* buffered bytes of this response */
	uint64_t	 lit;		/* literal bytes still to come */
	int		 litbody;	/* ...of a BODY[], streamed to disk */
	int		 fetch;		/* the response is "* n FETCH" */
	size_t		 nline;		/* bytes of the line so far */
	char		 head[24];	/* its first bytes */
	char		 tail[40];	/* its last bytes */
};

/*
 * Follows n more bytes from the server (a zeroed struct scan starts
 * between responses); bodies: a body FETCH is under way.  0, or -1 with
 * errno EMSGSIZE once the response holds more than IMAP_RESPONSE_MAX bytes
 * that libetpan would keep in memory.
 */
int	scan_bytes(struct scan *, int bodies, const char *p, size_t n);

#endif
