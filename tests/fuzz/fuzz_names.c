/*
 * fuzz_names.c: what popd reads from a Maildir file name, the wire-size
 * counter, and strict numbers.
 *
 * - maildir_uidl: always 1..70 octets in 0x21..0x7E; the base (the
 *   unique part without popd's ",popd,S=<s>,W=<w>" suffix) itself when it
 *   is one, else the SHA-256 hex of it (maildir.h).
 * - popd's rename (maildir_settle: base + suffix + info) keeps the UIDL,
 *   and the sizes it wrote are read back; maildir_name_sizes gives both
 *   only when S <= W <= 2S + 2; maildir_name_time is the leading digits
 *   before a '.'.
 * - maildir_name_s/_w on the input as a name: a value found is at most
 *   UINT64_MAX / 2 and is written after ",S=" / ",W=" in the unique part;
 *   on a name built as imapfetch builds them (UNIQUE,S=<s>,W=<w>[:2,FL]),
 *   exactly s and w come back.
 * - wire_count: the same total in any block sizes, equal to the octets
 *   counted one byte at a time (wire.h).
 * - num_parse: 0 exactly for 1..n decimal digits of value <= max.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "maildir.h"
#include "num.h"
#include "sha256.h"
#include "wire.h"

static void
check_uidl(const char *name)
{
	char	 uidl[POP3_UIDL_MAX + 1], hex[65];
	size_t	 ulen = maildir_base_len(name), len, i;
	int	 plain = ulen > 0 && ulen <= POP3_UIDL_MAX;

	for (i = 0; i < ulen; i++)
		if ((unsigned char)name[i] < 0x21 ||
		    (unsigned char)name[i] > 0x7e)
			plain = 0;
	maildir_uidl(name, uidl);
	len = strlen(uidl);
	CHECK(len >= 1 && len <= POP3_UIDL_MAX, "uidl length %zu", len);
	for (i = 0; i < len; i++)
		CHECK(uidl[i] >= 0x21 && uidl[i] <= 0x7e, "uidl byte %02x",
		    (unsigned char)uidl[i]);
	if (plain)
		CHECK(len == ulen && memcmp(uidl, name, len) == 0,
		    "uidl %s is not the unique part", uidl);
	else {
		sha256_hex(name, ulen, hex);
		CHECK(strcmp(uidl, hex) == 0, "uidl %s is not the digest", uidl);
	}
}

/* The value parsed for key is written after ",K=" in the unique part. */
static void
check_field(const char *name, char key, int r, uint64_t v)
{
	char		 pat[4] = { ',', key, '=', '\0' }, num[32];
	const char	*p;
	size_t		 ulen = strcspn(name, ":");
	int		 found = 0;

	if (r != 0)
		return;
	CHECK(v <= UINT64_MAX / 2, "%c=%" PRIu64 " too large", key, v);
	snprintf(num, sizeof(num), "%" PRIu64, v);
	for (p = name; (p = strstr(p, pat)) != NULL && p < name + ulen; p++) {
		const char *d = p + 3;

		/* leading zeros, then v's digits, then the end of the field */
		d += strspn(d, "0");
		if (v != 0 && strncmp(d, num, strlen(num)) == 0)
			d += strlen(num);
		else if (v != 0 || d == p + 3)
			continue;
		if (*d == ',' || *d == ':' || *d == '\0')
			found = 1;
	}
	CHECK(found, "%c=%" PRIu64 " is not in the name", key, v);
}

/* The name maildir_settle gives name: base, popd's suffix, info. */
static void
check_settle(const char *name, const uint8_t *data, size_t size)
{
	char		*to, uidl[POP3_UIDL_MAX + 1], uidl2[POP3_UIDL_MAX + 1];
	const char	*info = name + strcspn(name, ":");
	size_t		 blen = maildir_base_len(name), len;
	uint64_t	 s = 0, w, gs, gw;

	CHECK(blen <= strcspn(name, ":"), "base longer than the unique part");
	if (size >= 8)
		memcpy(&s, data, 8);
	s %= UINT64_MAX / 4;
	w = s == 0 ? 0 : s + s / 3 + (size & 1);
	len = blen + strlen(info) + 64;
	if ((to = malloc(len)) == NULL)
		abort();
	snprintf(to, len, "%.*s,popd,S=%" PRIu64 ",W=%" PRIu64 "%s",
	    (int)blen, name, s, w, info);
	maildir_uidl(name, uidl);
	maildir_uidl(to, uidl2);
	CHECK(strcmp(uidl, uidl2) == 0, "UIDL %s became %s in %s", uidl,
	    uidl2, to);
	CHECK(maildir_base_len(to) == blen, "base of %s", to);
	CHECK(maildir_name_sizes(to, &gs, &gw) == 0 && gs == s && gw == w,
	    "sizes of %s", to);
	free(to);
}

static void
check_sizes_time(const char *name)
{
	uint64_t	s, w, fs, fw;
	time_t		t;
	size_t		n = strspn(name, "0123456789");

	if (maildir_name_sizes(name, &s, &w) == 0) {
		CHECK(w >= s && w <= 2 * s + (s > 0 ? 2 : 0), "S=%" PRIu64
		    " W=%" PRIu64 " disagree", s, w);
		CHECK(maildir_name_s(name, &fs) == 0 && fs == s &&
		    maildir_name_w(name, &fw) == 0 && fw == w, "sizes differ");
	}
	if (maildir_name_time(name, &t) == 0)
		CHECK(n >= 1 && n <= 18 && name[n] == '.' &&
		    (uint64_t)t == strtoull(name, NULL, 10), "time of %s", name);
	else
		CHECK(n == 0 || n > 18 || name[n] != '.', "no time in %s",
		    name);
}

/* A name as imapfetch makes it, from the input: the sizes must come back. */
static void
check_built(const uint8_t *data, size_t size)
{
	char		 name[512], uniq[128];
	uint64_t	 s, w, gs, gw;
	size_t		 i, n = 0;

	if (size < 17)
		return;
	memcpy(&s, data, 8);
	memcpy(&w, data + 8, 8);
	s %= UINT64_MAX / 2 + 1;
	w = data[16] & 1 ? w % (UINT64_MAX / 2 + 1) : w % 100000;
	for (i = 17; i < size && n < sizeof(uniq) - 1; i++)
		if (data[i] != ',' && data[i] != ':' && data[i] != '/' &&
		    data[i] != '\0')
			uniq[n++] = (char)data[i];
	uniq[n] = '\0';
	snprintf(name, sizeof(name), "%s,S=%" PRIu64 ",W=%" PRIu64 "%s",
	    uniq, s, w, data[16] & 2 ? ":2,FS" : "");
	CHECK(maildir_name_s(name, &gs) == 0 && gs == s, "S of %s", name);
	CHECK(maildir_name_w(name, &gw) == 0 && gw == w, "W of %s", name);
	check_uidl(name);
}

static void
check_wire(const uint8_t *data, size_t size)
{
	struct wire_count	 c;
	struct chunker		 ch;
	uint64_t		 ref = 0;
	size_t			 i, k;

	for (i = 0; i < size; i++)
		ref += data[i] == '\n' && (i == 0 || data[i - 1] != '\r') ?
		    2 : 1;
	if (size > 0 && data[size - 1] != '\n')
		ref += 2;
	wire_count_init(&c);
	wire_count_update(&c, data, size);
	CHECK(wire_count_final(&c) == ref, "whole: %" PRIu64 " != %" PRIu64,
	    wire_count_final(&c), ref);
	chunker_init(&ch, data, size);
	wire_count_init(&c);
	for (i = 0; i < size; i += k) {
		k = chunker_next(&ch, size - i, 64);
		wire_count_update(&c, data + i, k);
	}
	CHECK(wire_count_final(&c) == ref, "blocks: %" PRIu64 " != %" PRIu64,
	    wire_count_final(&c), ref);
}

static void
check_num(const char *s)
{
	static const uint64_t	 maxes[] = { 0, 1, 100, UINT32_MAX,
				    UINT64_MAX / 2, UINT64_MAX };
	uint64_t		 v, ref;
	size_t			 i, j, len = strlen(s);
	int			 ok, r;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		ok = len > 0 && strspn(s, "0123456789") == len;
		ref = 0;
		for (j = 0; ok && j < len; j++) {
			if ((uint64_t)(s[j] - '0') > maxes[i] ||
			    ref > (maxes[i] - (uint64_t)(s[j] - '0')) / 10)
				ok = 0;
			ref = ref * 10 + (uint64_t)(s[j] - '0');
		}
		v = 12345;
		errno = 0;
		r = num_parse(s, maxes[i], &v);
		CHECK(r == (ok ? 0 : -1), "num_parse(\"%s\", %" PRIu64
		    ") = %d", s, maxes[i], r);
		CHECK(ok ? v == ref : v == 12345 && (errno == EINVAL ||
		    errno == ERANGE), "num_parse value or errno");
		v = 12345;
		if (num_parse_size(s, maxes[i], &v) == 0)
			CHECK(v <= maxes[i], "num_parse_size > max");
		else
			CHECK(v == 12345, "num_parse_size touched *out");
		v = 12345;
		if (num_parse_duration(s, maxes[i], &v) == 0)
			CHECK(v <= maxes[i], "num_parse_duration > max");
		else
			CHECK(v == 12345, "num_parse_duration touched *out");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*name;
	uint64_t	 v;

	if ((name = malloc(size + 1)) == NULL)
		abort();
	memcpy(name, data, size);
	name[size] = '\0';
	check_uidl(name);
	check_field(name, 'S', maildir_name_s(name, &v), v);
	check_field(name, 'W', maildir_name_w(name, &v), v);
	check_sizes_time(name);
	check_settle(name, data, size);
	if (size <= 64)
		check_num(name);
	check_built(data, size);
	check_wire(data, size);
	free(name);
	return 0;
}
