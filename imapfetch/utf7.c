/*
 * utf7.c: modified UTF-7 (RFC 3501 5.1.3), both ways, strictly.  See
 * utf7.h.  UTF-16 goes through a bit accumulator: a unit is 16 bits in,
 * a BASE64 character 6 bits out.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "utf7.h"
#include "utf8.h"

/* RFC 2045 BASE64 with ',' instead of '/' (RFC 3501 5.1.3). */
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

#define PRINTABLE(c)	((c) >= 0x20 && (c) <= 0x7e)
#define HI_SURROGATE(u)	((u) >= 0xd800 && (u) <= 0xdbff)
#define LO_SURROGATE(u)	((u) >= 0xdc00 && (u) <= 0xdfff)

/* The encoder's output and its open BASE64 run, if any. */
struct enc {
	char		*o;		/* next byte */
	uint32_t	 bits;		/* the low nbits are pending */
	int		 nbits;		/* 0-4 between units */
	int		 open;		/* after '&' */
};

static void
put_unit(struct enc *e, uint32_t u)
{
	if (!e->open) {
		*e->o++ = '&';
		e->open = 1;
	}
	e->bits = e->bits << 16 | u;
	e->nbits += 16;
	while (e->nbits >= 6) {
		e->nbits -= 6;
		*e->o++ = b64[e->bits >> e->nbits & 0x3f];
	}
	e->bits &= (1U << e->nbits) - 1;
}

/* Ends the run: the last bits padded with zeros, then '-'. */
static void
close_run(struct enc *e)
{
	if (!e->open)
		return;
	if (e->nbits > 0)
		*e->o++ = b64[e->bits << (6 - e->nbits) & 0x3f];
	*e->o++ = '-';
	e->bits = 0;
	e->nbits = e->open = 0;
}

/* The code point at *p, which moves past it; -1 for what RFC 3629 forbids. */
static int
utf8_next(const unsigned char **p, uint32_t *cp)
{
	size_t	 n;

	if ((n = utf8_decode(*p, cp)) == 0)
		return -1;
	*p += n;
	return 0;
}

char *
utf7_encode(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	struct enc		 e;
	uint32_t		 cp;
	char			*out;

	/* Worst case: one byte, a control character, is "&AAk-". */
	out = xreallocarray(NULL, strlen(s) + 1, 5);
	memset(&e, 0, sizeof(e));
	e.o = out;
	while (*p != '\0') {
		if (utf8_next(&p, &cp) == -1) {
			free(out);
			errno = EILSEQ;
			return NULL;
		}
		if (PRINTABLE(cp)) {
			close_run(&e);
			*e.o++ = (char)cp;
			if (cp == '&')
				*e.o++ = '-';
		} else if (cp < 0x10000)
			put_unit(&e, cp);
		else {
			put_unit(&e, 0xd800 + ((cp - 0x10000) >> 10));
			put_unit(&e, 0xdc00 + ((cp - 0x10000) & 0x3ff));
		}
	}
	close_run(&e);
	*e.o = '\0';
	return out;
}

static int
b64_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

static char *
put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80)
		*o++ = (char)cp;
	else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/*
 * Decodes the BASE64 run that starts at s (after its '&') into *o.
 * Returns its closing '-', or NULL when the run is not one utf7_encode
 * would write.
 */
static const char *
decode_run(const char *s, char **o)
{
	uint32_t	 bits = 0, hi = 0, u;
	int		 nbits = 0, v, n;

	for (n = 0; *s != '-'; s++, n++) {
		if ((v = b64_value(*s)) == -1)
			return NULL;
		bits = bits << 6 | (uint32_t)v;
		if ((nbits += 6) < 16)
			continue;
		nbits -= 16;
		u = bits >> nbits & 0xffff;
		bits &= (1U << nbits) - 1;
		if (LO_SURROGATE(u)) {
			if (hi == 0)
				return NULL;
			*o = put_utf8(*o, 0x10000 + ((hi - 0xd800) << 10 |
			    (u - 0xdc00)));
			hi = 0;
		} else if (hi != 0 || u == 0 || PRINTABLE(u))
			return NULL;
		else if (HI_SURROGATE(u))
			hi = u;
		else
			*o = put_utf8(*o, u);
	}
	/* Empty ("&-" is '&'), a pair cut short, a character too many, or
	 * padding bits set: each another spelling of some name. */
	if (n == 0 || hi != 0 || nbits >= 6 || bits != 0)
		return NULL;
	return s;
}

char *
utf7_decode(const char *s)
{
	char	*out, *o;

	/* A run of n characters yields at most 9n/8 bytes. */
	out = o = xreallocarray(NULL, strlen(s) + 1, 2);
	while (*s != '\0') {
		if (!PRINTABLE((unsigned char)*s))
			goto bad;
		if (*s != '&')
			*o++ = *s++;
		else if (s[1] == '-') {
			*o++ = '&';
			s += 2;
		} else {
			if ((s = decode_run(s + 1, &o)) == NULL)
				goto bad;
			/* "-&" splits what is one run in the canonical form. */
			if (*++s == '&' && s[1] != '-')
				goto bad;
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	errno = EILSEQ;
	return NULL;
}
