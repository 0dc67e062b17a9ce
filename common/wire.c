/*
 * wire.c: the one definition of a message's POP3 form (see wire.h).
 * Both the counter and the encoder work on spans between LFs (memchr), not
 * byte by byte: RETR of a large message is a memcpy-speed loop.
 */
#include <string.h>

#include "wire.h"

void
wire_count_init(struct wire_count *c)
{
	memset(c, 0, sizeof(*c));
}

void
wire_count_update(struct wire_count *c, const void *buf, size_t len)
{
	const unsigned char	*p = buf, *end = p + len, *nl;

	if (len == 0)
		return;
	c->n += len;
	c->raw += len;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl == (const unsigned char *)buf ? !c->prev_cr : nl[-1] != '\r')
			c->n++;
		p = nl + 1;
	}
	c->prev_cr = end[-1] == '\r';
	c->last_lf = end[-1] == '\n';
}

uint64_t
wire_count_final(const struct wire_count *c)
{
	return c->n + (c->raw > 0 && !c->last_lf ? 2 : 0);
}

void
wire_enc_init(struct wire_enc *e)
{
	memset(e, 0, sizeof(*e));
	e->bol = 1;
}

/* Ends the current line: tracks the header/body boundary for TOP. */
static void
wire_enc_eol(struct wire_enc *e)
{
	if (e->in_body)
		e->body_lines++;
	else if (e->line_len == 0 || (e->line_len == 1 && e->line_cr))
		e->in_body = 1;
	e->line_len = 0;
	e->line_cr = 0;
	e->bol = 1;
}

int
wire_enc_update(struct wire_enc *e, const void *buf, size_t len,
    long long limit, wire_sink sink, void *arg)
{
	const unsigned char	*p = buf, *end = p + len, *nl, *stop;

	while (p < end) {
		if (limit >= 0 && e->in_body && e->bol &&
		    e->body_lines >= (unsigned long long)limit)
			return 1;
		if (e->bol && *p == '.' && sink(arg, ".", 1) == -1)
			return -1;
		nl = memchr(p, '\n', (size_t)(end - p));
		stop = nl != NULL ? nl : end;
		if (stop > p) {
			if (sink(arg, p, (size_t)(stop - p)) == -1)
				return -1;
			e->octets += (size_t)(stop - p);
			if (e->line_len == 0)
				e->line_cr = *p == '\r';
			e->line_len += (size_t)(stop - p);
			e->prev_cr = stop[-1] == '\r';
			e->bol = 0;
		}
		e->raw += (size_t)(stop - p);
		e->last_lf = 0;
		if (nl == NULL)
			break;
		if (sink(arg, e->prev_cr ? "\n" : "\r\n",
		    e->prev_cr ? 1 : 2) == -1)
			return -1;
		e->octets += e->prev_cr ? 1 : 2;
		e->raw++;
		e->last_lf = 1;
		e->prev_cr = 0;
		wire_enc_eol(e);
		p = nl + 1;
	}
	if (limit >= 0 && e->in_body && e->bol &&
	    e->body_lines >= (unsigned long long)limit)
		return 1;
	return 0;
}

int
wire_enc_final(struct wire_enc *e, wire_sink sink, void *arg)
{
	if (e->raw > 0 && !e->last_lf) {
		e->octets += 2;
		return sink(arg, "\r\n", 2);
	}
	return 0;
}
