/*
 * fuzz_mdcache.c: the listing kept between logins, as mdcache_parse reads
 * it (common/mdcache.h).  The input is the file; the harness reads the
 * stamp and max from where the header keeps them and seals the input
 * with the right checksums (the layout of mdcache.c's comment), so that
 * the fuzzer gets past them to the records and paths.
 *
 * - A listing parsed has at most max entries and total >= n; each path
 *   is "new/NAME" or "cur/NAME" as the in_new flag says, NAME no dot file
 *   and no '/'; its base is within NAME; its UIDL is 1..70 octets.
 * - Every listing can be freed, a path replaced first (ASan, LSan).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mdcache.h"

#define MAGIC_LEN	16

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct mdstamp	 st;
	struct mdmsg	*v;
	uint64_t	 max, names, sum[2];
	size_t		 n, total, i, at = MAGIC_LEN + sizeof(st), hlen;
	unsigned char	*buf;
	const char	*u;

	if (len < at + 4 * 8 + sizeof(sum))
		return 0;
	memcpy(&st, data + MAGIC_LEN, sizeof(st));
	memcpy(&max, data + at, 8);
	memcpy(&names, data + at + 24, 8);
	if (max > 1000000)
		max %= 1000000;
	buf = malloc(len);
	memcpy(buf, data, len);
	if (names <= len - sizeof(sum) - at) {
		hlen = len - sizeof(sum) - (size_t)names;
		sum[0] = mdcache_sum(buf, hlen);
		sum[1] = mdcache_sum(buf + hlen, (size_t)names);
		memcpy(buf + len - sizeof(sum), sum, sizeof(sum));
	}
	if (mdcache_parse(buf, len, &st, (size_t)max, &v, &n, &total) == 0) {
		CHECK(n <= max && total >= n, "n %zu max %zu total %zu", n,
		    (size_t)max, total);
		for (i = 0; i < n; i++) {
			CHECK(memcmp(v[i].path, v[i].in_new ? "new/" : "cur/",
			    4) == 0, "path %s", v[i].path);
			CHECK(v[i].path[4] != '.' && v[i].path[4] != '\0' &&
			    strchr(v[i].path + 4, '/') == NULL, "name %s",
			    v[i].path);
			CHECK(v[i].blen >= 1 && v[i].blen <=
			    strlen(v[i].path + 4), "blen %u of %s",
			    v[i].blen, v[i].path);
			CHECK(maildir_msg_uidl(&v[i], &u) >= 1 &&
			    maildir_msg_uidl(&v[i], &u) <= POP3_UIDL_MAX,
			    "uidl of %s", v[i].path);
		}
		if (n > 0)
			maildir_msg_path(&v[0], strdup("new/1.x"));
		maildir_free(v, n);
	}
	free(buf);
	return 0;
}
