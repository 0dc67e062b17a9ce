/*
 * wire.h: how a stored message looks on the POP3 wire.
 *
 * The octets RETR sends (before dot-stuffing and the final "." line) are the
 * file's bytes with every LF not preceded by CR turned into CRLF, plus a CRLF
 * when the file is not empty and does not end with LF.  A bare CR passes as
 * it is.  LIST/STAT sizes, ",W=" in file names and RETR all use this one
 * definition, so they cannot disagree.
 */
#ifndef POPD_WIRE_H
#define POPD_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Counts wire octets incrementally: init, update per block, final. */
struct wire_count {
	uint64_t	n;		/* octets so far */
	uint64_t	raw;		/* file bytes so far */
	int		prev_cr;	/* last byte seen was CR */
	int		last_lf;	/* last byte seen was LF */
};

void		wire_count_init(struct wire_count *);
void		wire_count_update(struct wire_count *, const void *, size_t);
/* The total wire size, the final CRLF included when owed. */
uint64_t	wire_count_final(const struct wire_count *);

/*
 * Converts a stream for RETR/TOP: LF -> CRLF, dot-stuffing, and a count of
 * lines for TOP.  Output goes to a sink; the state carries over blocks.
 */
struct wire_enc {
	int		prev_cr;
	int		bol;		/* at the beginning of a line */
	int		in_body;	/* the header/body blank line was passed */
	uint64_t	line_len;	/* bytes of the current line so far */
	int		line_cr;	/* ...and the first of them was CR */
	uint64_t	body_lines;	/* body lines fully sent */
	uint64_t	raw;		/* input bytes consumed */
	uint64_t	octets;		/* sent, not counting stuffed dots */
	int		last_lf;
};

/* sink: writes len bytes; returns 0, or -1 to stop (the error is kept). */
typedef int (*wire_sink)(void *arg, const void *buf, size_t len);

void	wire_enc_init(struct wire_enc *);

/*
 * Encodes len bytes of the message.  With limit >= 0 (TOP), stops after the
 * headers, the blank line and limit body lines: returns 1 then (the caller
 * stops reading), 0 to ask for more, -1 when the sink failed.
 */
int	wire_enc_update(struct wire_enc *, const void *, size_t,
	    long long limit, wire_sink, void *arg);

/* Writes the CRLF owed by a message not ending in LF; 0 or -1. */
int	wire_enc_final(struct wire_enc *, wire_sink, void *arg);

#endif
