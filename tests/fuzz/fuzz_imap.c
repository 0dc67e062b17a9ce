/*
 * fuzz_imap.c: imapfetch's readers of what a server sends.
 *
 * - scan_bytes (imapfetch/scan.h), with and without a body FETCH under
 *   way: the same verdict and the same position (response bytes, literal
 *   left, its kind, the line) whether the bytes come whole or in random
 *   blocks; a literal never announces more than UINT32_MAX.
 * - msgkey_update/msgkey_final (imapfetch/msgkey.h) on the input as a
 *   message: the same keys in any block sizes; the digest key is "d:" and
 *   the SHA-256 of the bytes; an id key is "m:<size>:<id>" with a
 *   non-empty id holding no CR or LF.
 * - utf7_encode/utf7_decode (imapfetch/utf7.h) on the input up to its
 *   first NUL: encode refuses exactly what is not UTF-8 (RFC 3629), else
 *   gives printable US-ASCII that decodes back; what decode accepts is
 *   UTF-8 that encodes back to the same bytes (one wire form per name).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "params.h"
#include "msgkey.h"
#include "scan.h"
#include "sha256.h"
#include "utf7.h"

static void
check_scan(const uint8_t *data, size_t size, int bodies)
{
	struct scan	 a, b;
	struct chunker	 ch;
	size_t		 i, k;
	int		 ra, rb = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ra = scan_bytes(&a, bodies, (const char *)data, size);
	chunker_init(&ch, data, size);
	for (i = 0; i < size && rb == 0; i += k) {
		k = chunker_next(&ch, size - i, 64);
		rb = scan_bytes(&b, bodies, (const char *)data + i, k);
	}
	CHECK(ra == rb, "scan_bytes %d whole, %d in blocks", ra, rb);
	if (ra != 0)
		return;
	CHECK(a.resp == b.resp && a.lit == b.lit && a.litbody == b.litbody &&
	    a.fetch == b.fetch && a.nline == b.nline, "scan state differs: "
	    "resp %" PRIu64 "/%" PRIu64 " lit %" PRIu64 "/%" PRIu64
	    " litbody %d/%d fetch %d/%d nline %zu/%zu", a.resp, b.resp,
	    a.lit, b.lit, a.litbody, b.litbody, a.fetch, b.fetch, a.nline,
	    b.nline);
	CHECK(a.lit <= UINT32_MAX && a.resp <= IMAP_RESPONSE_MAX,
	    "literal or response too large");
	CHECK(!a.litbody || bodies, "a body literal without a body FETCH");
}

static void
check_msgkey(const uint8_t *data, size_t size)
{
	struct msgkey	 k;
	struct msgkeys	 a, b;
	struct chunker	 ch;
	char		 hex[65], pre[32];
	size_t		 i, n;

	msgkey_init(&k);
	msgkey_update(&k, data, size);
	msgkey_final(&k, &a);
	msgkey_init(&k);
	chunker_init(&ch, data, size);
	for (i = 0; i < size; i += n) {
		n = chunker_next(&ch, size - i, 64);
		msgkey_update(&k, data + i, n);
	}
	msgkey_final(&k, &b);
	CHECK(strcmp(a.digest, b.digest) == 0 && strcmp(a.id, b.id) == 0,
	    "keys differ with block sizes: %s / %s", a.id, b.id);
	sha256_hex(data, size, hex);
	CHECK(strncmp(a.digest, "d:", 2) == 0 && strcmp(a.digest + 2, hex) == 0,
	    "digest key %s", a.digest);
	if (a.id[0] != '\0') {
		n = (size_t)snprintf(pre, sizeof(pre), "m:%zu:", size);
		CHECK(strncmp(a.id, pre, n) == 0 && a.id[n] != '\0' &&
		    strpbrk(a.id, "\r\n") == NULL, "id key %s", a.id);
	}
}

/* 1 when s is UTF-8 by RFC 3629: shortest forms, no surrogates, <= U+10FFFF. */
static int
is_utf8(const unsigned char *s)
{
	unsigned	cp, min;
	int		n, i;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0)
			n = 1, cp = *s & 0x1f, min = 0x80;
		else if ((*s & 0xf0) == 0xe0)
			n = 2, cp = *s & 0x0f, min = 0x800;
		else if ((*s & 0xf8) == 0xf0)
			n = 3, cp = *s & 0x07, min = 0x10000;
		else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += n + 1;
	}
	return 1;
}

static void
check_utf7(const uint8_t *data, size_t size)
{
	char	*s, *e, *d;
	size_t	 i;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	errno = 0;
	e = utf7_encode(s);
	CHECK((e != NULL) == is_utf8((const unsigned char *)s),
	    "utf7_encode %s UTF-8", e != NULL ? "took non-" : "refused");
	if (e == NULL)
		CHECK(errno == EILSEQ, "utf7_encode errno %d", errno);
	else {
		for (i = 0; e[i] != '\0'; i++)
			CHECK(e[i] >= 0x20 && e[i] <= 0x7e, "utf7_encode gave "
			    "byte %02x", (unsigned char)e[i]);
		d = utf7_decode(e);
		CHECK(d != NULL && strcmp(d, s) == 0, "utf7_decode(%s) is "
		    "not the name encoded", e);
		free(d);
		free(e);
	}
	if ((d = utf7_decode(s)) != NULL) {
		CHECK(is_utf8((const unsigned char *)d), "utf7_decode(%s) "
		    "is not UTF-8", s);
		e = utf7_encode(d);
		CHECK(e != NULL && strcmp(e, s) == 0, "utf7_decode accepted "
		    "%s, which encodes as %s", s, e != NULL ? e : "(null)");
		free(e);
		free(d);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_scan(data, size, 0);
	check_scan(data, size, 1);
	check_msgkey(data, size);
	check_utf7(data, size);
	return 0;
}
