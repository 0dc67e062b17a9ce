/*
 * mdorder.c: the order of a listing (maildir.h).  With qsort, sorting was
 * a seventh of a 10000-message scan (glibc's merge sort moves pointers to
 * the 48-byte entries and calls the comparison through a pointer some
 * 130000 times).  Here the times are radix-sorted, on the bits in which
 * they differ only, as an array of indices; only runs of equal times
 * (a batch delivered within one second) are compared, merge-sorted; the
 * entries then move once, along the permutation's cycles.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"
#include "util.h"

#define RADIX_BITS	11
#define RADIX		(1U << RADIX_BITS)
#define INSERTION_MAX	16	/* runs up to this long: insertion sort */

static inline int
order(const struct mdmsg *x, const struct mdmsg *y)
{
	int	c;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if ((c = memcmp(x->path + 4, y->path + 4, x->blen < y->blen ?
	    x->blen : y->blen)) != 0)
		return c;
	if (x->blen != y->blen)
		return x->blen < y->blen ? -1 : 1;
	return strcmp(x->path + 4, y->path + 4);
}

int
maildir_order(const struct mdmsg *x, const struct mdmsg *y)
{
	return order(x, y);
}

/* t as an unsigned number that sorts as t does. */
static uint64_t
tkey(time_t t)
{
	return (uint64_t)(int64_t)t ^ (UINT64_C(1) << 63);
}

/*
 * Sorts the indices a[0..n) stably by (the time's key - lo), of bits
 * significant bits, passing between a and b; the array that holds the
 * result.
 */
static uint32_t *
radix(const struct mdmsg *v, uint32_t *a, uint32_t *b, size_t n,
    uint64_t lo, unsigned bits)
{
	uint32_t	 count[RADIX], *t;
	size_t		 i, sum, c;
	unsigned	 shift, d;

	for (shift = 0; shift < bits; shift += RADIX_BITS) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(tkey(v[a[i]].time) - lo) >> shift &
			    (RADIX - 1)]++;
		for (sum = 0, d = 0; d < RADIX; d++) {
			c = count[d];
			count[d] = (uint32_t)sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			b[count[(tkey(v[a[i]].time) - lo) >> shift &
			    (RADIX - 1)]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	return a;
}

/* Merge-sorts the indices a[0..n) by order(), tmp of n/2 + 1 entries. */
static void
merge_sort(const struct mdmsg *v, uint32_t *a, uint32_t *tmp, size_t n)
{
	size_t		i, j, k, h;
	uint32_t	x;

	if (n <= INSERTION_MAX) {
		for (i = 1; i < n; i++) {
			x = a[i];
			for (j = i; j > 0 && order(&v[a[j - 1]], &v[x]) > 0; j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
		return;
	}
	h = n / 2;
	merge_sort(v, a, tmp, h);
	merge_sort(v, a + h, tmp, n - h);
	if (order(&v[a[h - 1]], &v[a[h]]) <= 0)
		return;
	memcpy(tmp, a, h * sizeof(*a));
	for (i = 0, j = h, k = 0; i < h && j < n; k++)
		a[k] = order(&v[a[j]], &v[tmp[i]]) < 0 ? a[j++] : tmp[i++];
	while (i < h)
		a[k++] = tmp[i++];
}

/* Moves v's entries so that v[k] is the one that was v[r[k]]; r is spent. */
static void
permute(struct mdmsg *v, uint32_t *r, size_t n)
{
	struct mdmsg	t;
	size_t		k, j, nx;

	for (k = 0; k < n; k++) {
		if (r[k] == k)
			continue;
		t = v[k];
		for (j = k; r[j] != k; j = nx) {
			nx = r[j];
			v[j] = v[nx];
			r[j] = (uint32_t)j;
		}
		v[j] = t;
		r[j] = (uint32_t)j;
	}
}

static int
order_q(const void *a, const void *b)
{
	return order(a, b);
}

void
maildir_sort(struct mdmsg *v, size_t n)
{
	uint32_t	*a, *b, *r, *o;
	uint64_t	 lo, hi, k;
	size_t		 i, j;
	unsigned	 bits;

	if (n < 2)
		return;
	if (n > UINT32_MAX) {
		qsort(v, n, sizeof(*v), order_q);
		return;
	}
	a = xreallocarray(NULL, 2 * n, sizeof(*a));
	b = a + n;
	lo = hi = tkey(v[0].time);
	for (i = 0; i < n; i++) {
		a[i] = (uint32_t)i;
		k = tkey(v[i].time);
		lo = k < lo ? k : lo;
		hi = k > hi ? k : hi;
	}
	for (bits = 0; bits < 64 && (hi - lo) >> bits != 0; bits++)
		;
	r = radix(v, a, b, n, lo, bits);
	o = r == a ? b : a;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && v[r[j]].time == v[r[i]].time; j++)
			;
		if (j - i > 1)
			merge_sort(v, r + i, o, j - i);
	}
	permute(v, r, n);
	free(a);
}
