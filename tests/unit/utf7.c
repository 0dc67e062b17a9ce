/*
 * utf7.c: the modified UTF-7 of imapfetch/utf7.h.  The RFC 3501 examples;
 * every code point (so every surrogate pair) round trips, alone and
 * among others; the encoder rejects exactly what RFC 3629's grammar
 * rejects (every string of up to three bytes, and the four-byte edges);
 * the decoder accepts a run exactly when it is the encoder's output
 * (every run of up to four BASE64 characters) and rejects each kind of
 * malformed input.  glibc's "UTF-7-IMAP" iconv converter, when there is
 * one, is the oracle for both directions.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../imapfetch/utf7.h"
#include "tap.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* UTF-8 of cp into buf (5 bytes), written here, not taken from utf7.c. */
static char *
utf8(uint32_t cp, char *buf)
{
	unsigned char	*o = (unsigned char *)buf;

	if (cp < 0x80)
		*o++ = cp;
	else if (cp < 0x800) {
		*o++ = 0xc0 | cp >> 6;
		*o++ = 0x80 | (cp & 0x3f);
	} else if (cp < 0x10000) {
		*o++ = 0xe0 | cp >> 12;
		*o++ = 0x80 | (cp >> 6 & 0x3f);
		*o++ = 0x80 | (cp & 0x3f);
	} else {
		*o++ = 0xf0 | cp >> 18;
		*o++ = 0x80 | (cp >> 12 & 0x3f);
		*o++ = 0x80 | (cp >> 6 & 0x3f);
		*o++ = 0x80 | (cp & 0x3f);
	}
	*o = '\0';
	return buf;
}

/* "&" + the BASE64 of any 16-bit units (surrogates and all) + "-". */
static char *
run_of(const uint16_t *u, size_t n, char *buf)
{
	uint32_t	 bits = 0;
	int		 nbits = 0;
	char		*o = buf;
	size_t		 i;

	*o++ = '&';
	for (i = 0; i < n; i++) {
		bits = bits << 16 | u[i];
		for (nbits += 16; nbits >= 6; nbits -= 6)
			*o++ = b64[bits >> (nbits - 6) & 0x3f];
		bits &= (1U << nbits) - 1;
	}
	if (nbits > 0)
		*o++ = b64[bits << (6 - nbits) & 0x3f];
	*o++ = '-';
	*o = '\0';
	return buf;
}

/* RFC 3629 section 4, as a table: 1 when s is valid UTF-8. */
static int
rfc3629(const unsigned char *s)
{
	unsigned char	 lo, hi;
	int		 n, i;

	while (*s != '\0') {
		lo = 0x80, hi = 0xbf;
		if (*s < 0x80)
			n = 0;
		else if (*s >= 0xc2 && *s <= 0xdf)
			n = 1;
		else if (*s >= 0xe0 && *s <= 0xef) {
			n = 2;
			if (*s == 0xe0)
				lo = 0xa0;
			if (*s == 0xed)
				hi = 0x9f;
		} else if (*s >= 0xf0 && *s <= 0xf4) {
			n = 3;
			if (*s == 0xf0)
				lo = 0x90;
			if (*s == 0xf4)
				hi = 0x8f;
		} else
			return 0;
		s++;
		for (i = 0; i < n; i++, s++) {
			if (*s < (i == 0 ? lo : 0x80) ||
			    *s > (i == 0 ? hi : 0xbf))
				return 0;
		}
	}
	return 1;
}

static iconv_t	 to7 = (iconv_t)-1, from7 = (iconv_t)-1;

/* glibc's conversion of s, or NULL when it refuses it. */
static char *
oracle(iconv_t cd, const char *s, char *out, size_t len)
{
	char	*in = (char *)s, *o = out;
	size_t	 ilen = strlen(s), olen = len - 1;

	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &in, &ilen, &o, &olen) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &o, &olen) == (size_t)-1)
		return NULL;
	*o = '\0';
	return out;
}

static void
rfc_examples(void)
{
	static const char *const pair[][2] = {
		{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
		  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
		{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
		{ "Archiv/\xc3\x9c" "bersicht", "Archiv/&ANw-bersicht" },
		{ "&", "&-" },
		{ "R&D", "R&-D" },
		{ "&&", "&-&-" },
		{ "", "" },
		{ "INBOX", "INBOX" },
		{ "Sent Items", "Sent Items" },
		{ "[Gmail]/Spam", "[Gmail]/Spam" },
		{ "a\"b\\c", "a\"b\\c" },
		{ "-", "-" },
		{ "\t", "&AAk-" },
		{ "\x7f", "&AH8-" },
		{ "\xc3\xa4\xc3\xb6", "&AOQA9g-" },
		{ "\xc3\xa4&\xc3\xb6", "&AOQ-&-&APY-" },
		{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
		{ "x\xf0\x9f\x98\x80\xc3\xa4y", "x&2D3eAADk-y" },
		{ "\xe2\x82\xac-", "&IKw--" },
	};
	char	*e, *d, name[160];
	size_t	 i;

	for (i = 0; i < sizeof(pair) / sizeof(pair[0]); i++) {
		snprintf(name, sizeof(name), "encode \"%s\"", pair[i][1]);
		is_str(e = utf7_encode(pair[i][0]), pair[i][1], name);
		snprintf(name, sizeof(name), "decode \"%s\"", pair[i][1]);
		is_str(d = utf7_decode(pair[i][1]), pair[i][0], name);
		free(e);
		free(d);
	}
}

/* 1 when every byte of s is printable US-ASCII. */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

/*
 * Every code point but the surrogates and U+0000, alone and between
 * others: a printable character, '&', another non-ASCII one (same run),
 * itself.  Checks the round trip and, when there is one, glibc.
 */
static void
round_trips(void)
{
	static const char *const ctx[][2] = {
		{ "", "" }, { "a", "b" }, { "&", "&" }, { "\xc3\xa9", "" },
		{ "", "\xe2\x82\xac" }, { "\t", "\xf0\x90\x80\x80" },
	};
	char		 c[8], s[64], g[128], *e, *d;
	unsigned long	 bad = 0, badg = 0, badgd = 0, n = 0;
	uint32_t	 cp;
	size_t		 k;

	for (cp = 1; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		utf8(cp, c);
		for (k = 0; k < sizeof(ctx) / sizeof(ctx[0]); k++) {
			snprintf(s, sizeof(s), "%s%s%s%s", ctx[k][0], c, c,
			    ctx[k][1]);
			if (k == 0)
				s[strlen(c)] = '\0';	/* alone */
			n++;
			e = utf7_encode(s);
			d = e != NULL ? utf7_decode(e) : NULL;
			if (e == NULL || d == NULL || strcmp(d, s) != 0 ||
			    !printable(e)) {
				if (bad++ < 5)
					printf("# U+%04X: \"%s\" -> \"%s\" -> "
					    "\"%s\"\n", cp, s, e ? e : "NULL",
					    d ? d : "NULL");
			} else if (to7 != (iconv_t)-1) {
				if (oracle(to7, s, g, sizeof(g)) == NULL ||
				    strcmp(g, e) != 0) {
					if (badg++ < 5)
						printf("# U+%04X: glibc "
						    "\"%s\", ours \"%s\"\n", cp,
						    oracle(to7, s, g, sizeof(g))
						    ? g : "refused", e);
				}
				if (oracle(from7, e, g, sizeof(g)) == NULL ||
				    strcmp(g, s) != 0)
					badgd++;
			}
			free(e);
			free(d);
		}
	}
	printf("# %lu strings\n", n);
	is_int(bad, 0, "every code point round trips, alone and among others");
	if (to7 == (iconv_t)-1) {
		printf("ok %d # skip no UTF-7-IMAP in iconv\n", ++tap_n);
		printf("ok %d # skip no UTF-7-IMAP in iconv\n", ++tap_n);
		return;
	}
	is_int(badg, 0, "glibc UTF-7-IMAP encodes every one the same");
	is_int(badgd, 0, "glibc UTF-7-IMAP decodes every encoding back");
}

/* Every string of one to three bytes, and the four-byte edges. */
static void
encoder_rejects(void)
{
	static const unsigned char edge[] = { 0x01, 0x41, 0x7f, 0x80, 0x8f,
	    0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff };
	unsigned char	 s[5];
	unsigned long	 bad = 0, n = 0, valid = 0;
	unsigned	 a, b, c, d;
	char		*e;
	int		 want;

	for (a = 1; a < 256; a++)
		for (b = 0; b < 256; b++)
			for (c = 0; c < (b == 0 ? 1U : 256U); c++) {
				s[0] = a, s[1] = b, s[2] = c, s[3] = '\0';
				want = rfc3629(s);
				e = utf7_encode((char *)s);
				n++;
				valid += want;
				if ((e != NULL) != want ||
				    (e == NULL && errno != EILSEQ)) {
					if (bad++ < 5)
						printf("# %02x %02x %02x: %s\n",
						    a, b, c, e ? "taken" :
						    "refused");
				}
				free(e);
			}
	for (a = 0xf0; a < 0xf8; a++)
		for (b = 0; b < sizeof(edge); b++)
			for (c = 0; c < sizeof(edge); c++)
				for (d = 0; d < sizeof(edge); d++) {
					s[0] = a, s[1] = edge[b];
					s[2] = edge[c], s[3] = edge[d];
					s[4] = '\0';
					want = rfc3629(s);
					e = utf7_encode((char *)s);
					n++;
					if ((e != NULL) != want &&
					    bad++ < 5)
						printf("# %02x %02x %02x "
						    "%02x\n", a, s[1], s[2],
						    s[3]);
					free(e);
				}
	printf("# %lu byte strings, %lu valid\n", n, valid);
	is_int(bad, 0, "the encoder takes exactly the valid UTF-8 (RFC 3629)");
}

/*
 * Every "&" + one to four BASE64 characters + "-": accepted exactly when
 * encoding the result gives it back; and then only runs of three
 * characters (one UTF-16 unit) are, one per character that may be in a
 * run: 65536 less U+0000, the 95 printable ones and 2048 surrogates.
 */
static void
decoder_canonical(void)
{
	char		 s[8], *d, *e;
	unsigned long	 bad = 0, taken[5] = { 0 };
	unsigned	 len, i, j, x;

	for (len = 1; len <= 4; len++) {
		for (x = 0; x < 1U << (6 * len); x++) {
			s[0] = '&';
			for (i = 0, j = x; i < len; i++, j >>= 6)
				s[1 + i] = b64[j & 0x3f];
			s[1 + len] = '-';
			s[2 + len] = '\0';
			if ((d = utf7_decode(s)) == NULL)
				continue;
			taken[len]++;
			e = utf7_encode(d);
			if (e == NULL || strcmp(e, s) != 0)
				if (bad++ < 5)
					printf("# %s taken, but encodes as "
					    "%s\n", s, e ? e : "NULL");
			free(e);
			free(d);
		}
	}
	is_int(bad, 0, "a run is taken only when it is the canonical form");
	is_int(taken[1] + taken[2] + taken[4], 0,
	    "runs of 1, 2 or 4 characters are never canonical");
	is_int(taken[3], 65536 - 1 - 95 - 2048,
	    "runs of 3: one for each character that needs one");
}

static void
decoder_rejects(void)
{
	static const uint16_t units[][3] = {
		{ 0x0061 }, { 0x0026 }, { 0x0020 }, { 0x007e }, { 0x0000 },
		{ 0xd83d }, { 0xde00 }, { 0xde00, 0xd83d }, { 0xd83d, 0x00e9 },
		{ 0xd83d, 0xd83d }, { 0x00e9, 0x0041 }, { 0xd83d, 0x0041 },
	};
	static const size_t nunits[] = { 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2 };
	static const char *const bad[] = {
		"&", "a&", "&A", "&AOk", "&AOk-&AOk-", "&AOk-&AOk", "&-&",
		"&AOl-", "&AOkA-", "&AOkAAA-", "&2D3eAAA-", "&2D3eAB-",
		"&A=-", "&A/-", "&A.-", "&&-", "&AO k-", "&AOk&-",
		"\x1f", "\x7f", "a\tb", "\xc3\xa9", "\x80", "&AOk-\xff",
		"Entw\xc3\xbcrfe", "&ANw-bersicht&",
	};
	static const char *const good[] = {
		"&-", "&--", "-&-", "&AOk-&-", "&-&AOk-", "&AOk--", "a-&-b",
	};
	char	 buf[64], name[96], *d;
	size_t	 i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		run_of(units[i], nunits[i], buf);
		snprintf(name, sizeof(name), "refused: %s (units %04x %04x)",
		    buf, units[i][0], units[i][1]);
		ok((d = utf7_decode(buf)) == NULL && errno == EILSEQ, name);
		free(d);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "refused: \"%s\"", bad[i]);
		ok((d = utf7_decode(bad[i])) == NULL && errno == EILSEQ, name);
		free(d);
		/* What glibc takes that we do not, for the record. */
		if (from7 != (iconv_t)-1 &&
		    oracle(from7, bad[i], buf, sizeof(buf)) != NULL)
			printf("# glibc takes \"%s\"\n", bad[i]);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(name, sizeof(name), "taken: \"%s\"", good[i]);
		ok((d = utf7_decode(good[i])) != NULL, name);
		free(d);
	}
}

int
main(void)
{
	to7 = iconv_open("UTF-7-IMAP", "UTF-8");
	from7 = iconv_open("UTF-8", "UTF-7-IMAP");
	if (to7 == (iconv_t)-1 || from7 == (iconv_t)-1)
		printf("# iconv has no UTF-7-IMAP: no oracle\n");
	rfc_examples();
	round_trips();
	encoder_rejects();
	decoder_canonical();
	decoder_rejects();
	return done_testing();
}
