/*
 * num.c: strict number parsing.  strtoul(3) accepts blanks, signs, "0x"
 * and wraps negative numbers around; every caller here wants none of that,
 * so the digits are read by hand.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "num.h"

struct suffix {
	char		c;
	uint64_t	mult;
};

static const struct suffix size_suffixes[] = {
	{ 'K', 1024ULL },
	{ 'M', 1024ULL * 1024 },
	{ 'G', 1024ULL * 1024 * 1024 },
	{ '\0', 0 }
};

static const struct suffix duration_suffixes[] = {
	{ 's', 1 },
	{ 'm', 60 },
	{ 'h', 60 * 60 },
	{ 'd', 24 * 60 * 60 },
	{ '\0', 0 }
};

/* Parses the digits s[0..len) into *out without looking at max. */
static int
parse_digits(const char *s, size_t len, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			errno = EINVAL;
			return -1;
		}
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
num_parse(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	v;

	if (parse_digits(s, strlen(s), &v) == -1)
		return -1;
	if (v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

/* Digits followed by at most one of the suffixes in tab. */
static int
parse_suffixed(const char *s, uint64_t max, uint64_t *out,
    const struct suffix *tab)
{
	const struct suffix	*sx;
	uint64_t		 v, mult = 1;
	size_t			 len = strlen(s);

	if (len > 0 && (s[len - 1] < '0' || s[len - 1] > '9')) {
		for (sx = tab; sx->c != '\0'; sx++)
			if (sx->c == s[len - 1])
				break;
		if (sx->c == '\0') {
			errno = EINVAL;
			return -1;
		}
		mult = sx->mult;
		len--;
	}
	if (parse_digits(s, len, &v) == -1)
		return -1;
	if (v > UINT64_MAX / mult || v * mult > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v * mult;
	return 0;
}

int
num_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	return parse_suffixed(s, max, out, size_suffixes);
}

int
num_parse_duration(const char *s, uint64_t max, uint64_t *out)
{
	return parse_suffixed(s, max, out, duration_suffixes);
}
