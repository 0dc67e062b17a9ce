/*
 * uidset.c: the UID sets of imapfetch/state.h.  UIDs added in any order
 * must leave sorted, disjoint, non-adjacent ranges; has/max must agree
 * with a plain bitmap filled with the same UIDs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../imapfetch/state.h"
#include "tap.h"

/* The invariant of struct uidset; 1 when it holds. */

/* The highest UID in s, 0 when empty. */
static uint32_t
set_max(const struct uidset *s)
{
	return s->n ? s->r[s->n - 1].hi : 0;
}

static int
well_formed(const struct uidset *s)
{
	size_t	 i;

	if (s->n > s->cap || (s->n > 0 && s->r == NULL))
		return 0;
	for (i = 0; i < s->n; i++) {
		if (s->r[i].lo > s->r[i].hi)
			return 0;
		if (i > 0 && (uint64_t)s->r[i - 1].hi + 1 >= s->r[i].lo)
			return 0;
	}
	return 1;
}

/* 1 when s is exactly the ranges lo0,hi0, lo1,hi1, ... (n of them). */
static int
ranges_are(const struct uidset *s, size_t n, const uint32_t *want)
{
	size_t	 i;

	if (s->n != n)
		return 0;
	for (i = 0; i < n; i++)
		if (s->r[i].lo != want[2 * i] || s->r[i].hi != want[2 * i + 1])
			return 0;
	return 1;
}

static void
dump(const struct uidset *s)
{
	size_t	 i;

	printf("#   set:");
	for (i = 0; i < s->n; i++)
		printf(" %u:%u", s->r[i].lo, s->r[i].hi);
	printf("\n");
}

static void
test_empty(void)
{
	struct uidset	 s;

	memset(&s, 0, sizeof(s));
	is_int(s.n, 0, "empty: no ranges");
	is_int(set_max(&s), 0, "empty: max is 0");
	ok(!uidset_has(&s, 0), "empty: 0 is not in it");
	ok(!uidset_has(&s, 1), "empty: 1 is not in it");
	ok(!uidset_has(&s, UINT32_MAX), "empty: UINT32_MAX is not in it");
	uidset_free(&s);
	ok(s.r == NULL && s.n == 0 && s.cap == 0, "free of an empty set");
}

static void
test_merge(void)
{
	static const uint32_t	 one[] = { 5, 5 };
	static const uint32_t	 two[] = { 5, 5, 7, 7 };
	static const uint32_t	 joined[] = { 5, 7 };
	static const uint32_t	 grown[] = { 4, 8 };
	static const uint32_t	 three[] = { 1, 1, 4, 8, 10, 10 };
	static const uint32_t	 nine[] = { 1, 1, 4, 10 };
	static const uint32_t	 all[] = { 1, 10 };
	struct uidset		 s;

	memset(&s, 0, sizeof(s));
	uidset_add(&s, 5);
	ok(ranges_are(&s, 1, one), "one UID is one range");
	ok(uidset_has(&s, 5) && !uidset_has(&s, 4) && !uidset_has(&s, 6),
	    "has: only that UID");
	uidset_add(&s, 7);
	ok(ranges_are(&s, 2, two), "a gap keeps two ranges");
	uidset_add(&s, 6);
	ok(ranges_are(&s, 1, joined), "filling the gap joins them");
	uidset_add(&s, 4);
	uidset_add(&s, 8);
	ok(ranges_are(&s, 1, grown), "adjacent below and above extend it");
	uidset_add(&s, 6);
	uidset_add(&s, 4);
	uidset_add(&s, 8);
	ok(ranges_are(&s, 1, grown), "UIDs already in it change nothing");
	uidset_add(&s, 10);
	uidset_add(&s, 1);
	ok(ranges_are(&s, 3, three), "ranges before and after");
	is_int(set_max(&s), 10, "max is the last range's end");
	uidset_add(&s, 9);
	ok(ranges_are(&s, 2, nine), "9 joins 4:8 and 10");
	uidset_add(&s, 3);
	uidset_add(&s, 2);
	if (!ok(ranges_are(&s, 1, all), "descending fills join all"))
		dump(&s);
	ok(well_formed(&s), "well formed");
	uidset_free(&s);
	ok(s.r == NULL && s.n == 0 && s.cap == 0, "free empties the set");
	uidset_add(&s, 3);
	ok(s.n == 1 && uidset_has(&s, 3), "a freed set can be used again");
	uidset_free(&s);
}

/* 1..n in a few orders: always one range 1:n. */
static void
test_orders(void)
{
	struct uidset	 s;
	uint32_t	 i, n = 1000;
	int		 good;

	memset(&s, 0, sizeof(s));
	for (i = n; i >= 1; i--)
		uidset_add(&s, i);
	ok(s.n == 1 && s.r[0].lo == 1 && s.r[0].hi == n,
	    "descending 1000..1 is one range");
	uidset_free(&s);

	for (i = 1; i <= n; i += 2)
		uidset_add(&s, i);
	good = s.n == n / 2 && well_formed(&s);
	for (i = 2; i <= n; i += 2)
		uidset_add(&s, i);
	ok(good && s.n == 1 && s.r[0].lo == 1 && s.r[0].hi == n,
	    "odd then even: 500 ranges, then one");
	uidset_free(&s);

	/* From both ends towards the middle. */
	for (i = 0; i < n / 2; i++) {
		uidset_add(&s, 1 + i);
		uidset_add(&s, n - i);
	}
	ok(s.n == 1 && s.r[0].lo == 1 && s.r[0].hi == n,
	    "outside in: one range");
	uidset_free(&s);
}

static void
test_extremes(void)
{
	static const uint32_t	 lohi[] = { 0, 0, UINT32_MAX, UINT32_MAX };
	static const uint32_t	 top[] = { UINT32_MAX - 2, UINT32_MAX };
	static const uint32_t	 bottom[] = { 0, 2 };
	static const uint32_t	 both[] = { 0, 2, UINT32_MAX - 2, UINT32_MAX };
	struct uidset		 s;

	memset(&s, 0, sizeof(s));
	uidset_add(&s, 0);
	ok(s.n == 1 && uidset_has(&s, 0) && !uidset_has(&s, 1),
	    "0 alone");
	is_int(set_max(&s), 0, "max of {0} is 0 (as for the empty set)");
	uidset_add(&s, UINT32_MAX);
	ok(ranges_are(&s, 2, lohi), "0 then UINT32_MAX: two ranges");
	ok(uidset_has(&s, UINT32_MAX) && !uidset_has(&s, UINT32_MAX - 1) &&
	    !uidset_has(&s, 1), "has at both ends");
	ok(set_max(&s) == UINT32_MAX, "max is UINT32_MAX");
	uidset_free(&s);

	uidset_add(&s, UINT32_MAX);
	uidset_add(&s, UINT32_MAX - 2);
	uidset_add(&s, UINT32_MAX - 1);
	ok(ranges_are(&s, 1, top), "the top three join up to UINT32_MAX");
	uidset_add(&s, 1);
	uidset_add(&s, 2);
	uidset_add(&s, 0);
	if (!ok(ranges_are(&s, 2, both), "0:2 below UINT32_MAX-2:UINT32_MAX"))
		dump(&s);
	uidset_free(&s);

	uidset_add(&s, 2);
	uidset_add(&s, 0);
	uidset_add(&s, 1);
	ok(ranges_are(&s, 1, bottom), "2, 0, 1: one range 0:2");
	uidset_free(&s);

	/*
	 * The first range ends at UINT32_MAX: "hi + 1 == uid" wraps to 0 in
	 * 32 bits and 0 is glued onto it as its new end (lo > hi).
	 */
	uidset_add(&s, UINT32_MAX);
	uidset_add(&s, 0);
	ok(ranges_are(&s, 2, lohi) && uidset_has(&s, 0) &&
	    uidset_has(&s, UINT32_MAX) && set_max(&s) == UINT32_MAX,
	    "UINT32_MAX then 0: two ranges, both UIDs in the set");
	uidset_free(&s);
	uidset_add(&s, UINT32_MAX - 1);
	uidset_add(&s, UINT32_MAX);
	uidset_add(&s, 0);
	ok(s.n == 2 && well_formed(&s) && uidset_has(&s, 0),
	    "UINT32_MAX-1:UINT32_MAX then 0: well formed, 0 in it");
	uidset_free(&s);
}

static uint32_t
rnd32(void)
{
	return (uint32_t)random() << 16 ^ (uint32_t)random();
}

/*
 * Random UIDs from two windows, [1, W] and [UINT32_MAX - W + 1,
 * UINT32_MAX], against a bitmap per window.  0 stays out: it is not an
 * IMAP UID and its wrap-around case has its own test above.
 */
#define W	2048

static int
check_window(const struct uidset *s, const unsigned char *bits, uint32_t base)
{
	uint32_t	 i;

	for (i = 0; i < W; i++)
		if (!!uidset_has(s, base + i) != bits[i]) {
			printf("#   UID %u: has %d, want %d\n", base + i,
			    uidset_has(s, base + i), bits[i]);
			return 0;
		}
	return 1;
}

static void
test_random(void)
{
	static const int	 density[] = { 1, 5, 25, 50, 90, 100, 200 };
	unsigned char		 low[W], high[W];
	const uint32_t		 hbase = UINT32_MAX - W + 1;
	struct uidset		 s;
	uint32_t		 uid, want_max, i;
	size_t			 round, k, adds, nranges;
	int			 good;
	char			 name[128];

	srandom(20240601);
	memset(&s, 0, sizeof(s));
	for (round = 0; round < sizeof(density) / sizeof(density[0]); round++) {
		memset(low, 0, sizeof(low));
		memset(high, 0, sizeof(high));
		good = 1;
		want_max = 0;
		adds = (size_t)density[round] * 2 * W / 100;
		for (k = 0; k < adds && good; k++) {
			i = rnd32() % W;
			if (round % 2 == 1 && rnd32() % 4 == 0) {
				uid = hbase + i;
				high[i] = 1;
			} else {
				uid = 1 + i;
				low[i] = 1;
			}
			if (uid > want_max)
				want_max = uid;
			uidset_add(&s, uid);
			good = uidset_has(&s, uid) && well_formed(&s) &&
			    set_max(&s) == want_max;
		}
		good = good && check_window(&s, low, 1) &&
		    check_window(&s, high, hbase);
		/* The ranges are exactly the runs of the bitmaps. */
		nranges = 0;
		for (i = 0; i < W; i++) {
			nranges += low[i] && (i == 0 || !low[i - 1]);
			nranges += high[i] && (i == 0 || !high[i - 1]);
		}
		good = good && s.n == nranges;
		snprintf(name, sizeof(name), "random: %zu adds over 2x%d UIDs "
		    "agree with a bitmap (%zu ranges)", adds, W, nranges);
		if (!ok(good, name))
			dump(&s);
		uidset_free(&s);
	}
}

int
main(void)
{
	test_empty();
	test_merge();
	test_orders();
	test_extremes();
	test_random();
	return done_testing();
}
