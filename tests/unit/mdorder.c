/*
 * mdorder.c: maildir_sort against the order maildir_order states
 * (maildir.h), on listings built to reach each path of the sort: no
 * entry, one, distinct times over a narrow and over the whole range of
 * time_t (one radix pass, six), negative times, runs of equal times short
 * (insertion) and long (merged), names that differ only after their base
 * or only in their length, and entries already in order or reversed.
 * Each result must be in order and hold every entry once, with its own
 * fields (the entries move whole).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"
#include "tap.h"

static uint64_t	rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Entry i: a name from few letters (many shared prefixes), its base a
 * prefix of it, and size = i to tell the entries apart afterwards. */
static void
make(struct mdmsg *m, size_t i, time_t t, int names)
{
	char	name[40];
	size_t	len, k;

	memset(m, 0, sizeof(*m));
	len = 1 + rnd() % (names ? 12 : 3);
	for (k = 0; k < len; k++)
		name[k] = "ab"[rnd() % 2];
	name[len] = '\0';
	if (rnd() % 4 == 0)
		strcat(name, ":2,S");
	m->path = malloc(strlen(name) + 5);
	if (m->path == NULL)
		abort();
	sprintf(m->path, "%s/%s", rnd() % 2 ? "new" : "cur", name);
	m->blen = (unsigned char)(len - rnd() % len);
	m->time = t;
	m->size = i;
}

static int
by_size(const void *a, const void *b)
{
	const struct mdmsg *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
}

/* Sorts v and checks it; frees it. */
static void
check(struct mdmsg *v, size_t n, const char *what)
{
	struct mdmsg	*w;
	size_t		 i, bad = 0, lost = 0;
	char		 msg[160];

	w = malloc((n + 1) * sizeof(*w));
	if (w == NULL)
		abort();
	memcpy(w, v, n * sizeof(*v));
	maildir_sort(v, n);
	for (i = 1; i < n; i++)
		if (maildir_order(&v[i - 1], &v[i]) > 0)
			bad++;
	snprintf(msg, sizeof(msg), "%s: %zu entries in order (%zu out of "
	    "place)", what, n, bad);
	ok(bad == 0, msg);
	qsort(v, n, sizeof(*v), by_size);
	for (i = 0; i < n; i++)
		if (v[i].size != i || v[i].path != w[i].path ||
		    v[i].time != w[i].time || v[i].blen != w[i].blen)
			lost++;
	snprintf(msg, sizeof(msg), "%s: every entry once, whole", what);
	ok(lost == 0, msg);
	for (i = 0; i < n; i++)
		free(v[i].path);
	free(w);
	free(v);
}

static struct mdmsg *
listing(size_t n)
{
	struct mdmsg	*v = calloc(n + 1, sizeof(*v));

	if (v == NULL)
		abort();
	return v;
}

int
main(void)
{
	struct mdmsg	*v;
	size_t		 i, n;

	check(listing(0), 0, "empty");
	v = listing(1);
	make(&v[0], 0, 5, 1);
	check(v, 1, "one");

	n = 5000;
	v = listing(n);
	for (i = 0; i < n; i++)
		make(&v[i], i, 1700000000 + (time_t)(rnd() % 1000), 1);
	check(v, n, "times within 1000 s (one pass), runs of about 5");

	v = listing(n);
	for (i = 0; i < n; i++)
		make(&v[i], i, (time_t)(rnd() >> 1) * (rnd() % 2 ? 1 : -1),
		    1);
	v[0].time = INT64_MAX;
	v[1].time = INT64_MIN;
	v[2].time = 0;
	v[3].time = -1;
	check(v, n, "times over all of time_t, both ends and 0, -1");

	v = listing(n);
	for (i = 0; i < n; i++)
		make(&v[i], i, 1700000000 + (time_t)(rnd() % 3), 1);
	check(v, n, "three times: runs of over 1600 merged");

	v = listing(n);
	for (i = 0; i < n; i++)
		make(&v[i], i, 42, 0);
	check(v, n, "one time, names of 1-3 letters: ties on the base");

	v = listing(n);
	for (i = 0; i < n; i++)
		make(&v[i], i, 1700000000 + (time_t)i / 7, 1);
	check(v, n, "already in order");

	v = listing(n);
	for (i = 0; i < n; i++)
		make(&v[i], i, 1700000000 - (time_t)i / 7, 1);
	check(v, n, "reversed");

	for (n = 2; n <= 40; n++) {
		v = listing(n);
		for (i = 0; i < n; i++)
			make(&v[i], i, (time_t)(rnd() % 2), 1);
		check(v, n, "small");
	}
	return done_testing();
}
