/* num.c: strict number parsing. */
#include <errno.h>
#include <stdint.h>

#include "num.h"
#include "tap.h"

/* Checks a parse that must succeed with want. */
#define GOOD(fn, s, max, want) do {					\
	uint64_t v_ = 12345;						\
	is_int(fn(s, max, &v_), 0, #fn "(\"" s "\") succeeds");		\
	ok(v_ == (uint64_t)(want), #fn "(\"" s "\") == " #want);	\
} while (0)

/* Checks a parse that must fail with errno e and leave the output alone. */
#define BAD(fn, s, max, e) do {						\
	uint64_t v_ = 12345;						\
	errno = 0;							\
	is_int(fn(s, max, &v_), -1, #fn "(\"" s "\") fails");		\
	is_int(errno, e, #fn "(\"" s "\") sets errno " #e);		\
	ok(v_ == 12345, #fn "(\"" s "\") leaves *out alone");		\
} while (0)

static void
test_parse(void)
{
	GOOD(num_parse, "0", 10, 0);
	GOOD(num_parse, "1", 10, 1);
	GOOD(num_parse, "10", 10, 10);
	GOOD(num_parse, "007", 10, 7);
	GOOD(num_parse, "4294967295", UINT32_MAX, 4294967295U);
	GOOD(num_parse, "18446744073709551615", UINT64_MAX, UINT64_MAX);
	GOOD(num_parse, "00000000000000000000000000042", UINT64_MAX, 42);

	BAD(num_parse, "", 10, EINVAL);
	BAD(num_parse, "+1", 10, EINVAL);
	BAD(num_parse, "-1", 10, EINVAL);
	BAD(num_parse, "-0", 10, EINVAL);
	BAD(num_parse, " 1", 10, EINVAL);
	BAD(num_parse, "1 ", 10, EINVAL);
	BAD(num_parse, "1x", 10, EINVAL);
	BAD(num_parse, "0x10", 100, EINVAL);
	BAD(num_parse, "1.5", 10, EINVAL);
	BAD(num_parse, "1K", 10000, EINVAL);
	BAD(num_parse, "11", 10, ERANGE);
	BAD(num_parse, "1", 0, ERANGE);
	BAD(num_parse, "4294967296", UINT32_MAX, ERANGE);
	BAD(num_parse, "4294967297", UINT32_MAX, ERANGE);
	BAD(num_parse, "18446744073709551616", UINT64_MAX, ERANGE);
	BAD(num_parse, "99999999999999999999999", UINT64_MAX, ERANGE);
}

static void
test_size(void)
{
	GOOD(num_parse_size, "0", UINT64_MAX, 0);
	GOOD(num_parse_size, "100", UINT64_MAX, 100);
	GOOD(num_parse_size, "1K", UINT64_MAX, 1024);
	GOOD(num_parse_size, "50M", UINT64_MAX, 50ULL << 20);
	GOOD(num_parse_size, "2G", UINT64_MAX, 2ULL << 30);
	GOOD(num_parse_size, "0G", UINT64_MAX, 0);
	GOOD(num_parse_size, "1K", 1024, 1024);
	GOOD(num_parse_size, "17179869183G", UINT64_MAX, 17179869183ULL << 30);

	BAD(num_parse_size, "", UINT64_MAX, EINVAL);
	BAD(num_parse_size, "K", UINT64_MAX, EINVAL);
	BAD(num_parse_size, "1T", UINT64_MAX, EINVAL);
	BAD(num_parse_size, "1KB", UINT64_MAX, EINVAL);
	BAD(num_parse_size, "1 K", UINT64_MAX, EINVAL);
	BAD(num_parse_size, "-1K", UINT64_MAX, EINVAL);
	BAD(num_parse_size, "1s", UINT64_MAX, EINVAL);
	BAD(num_parse_size, "1K", 1023, ERANGE);
	BAD(num_parse_size, "17179869184G", UINT64_MAX, ERANGE);
	BAD(num_parse_size, "18446744073709551616", UINT64_MAX, ERANGE);
}

static void
test_duration(void)
{
	GOOD(num_parse_duration, "0", 100, 0);
	GOOD(num_parse_duration, "600", 86400, 600);
	GOOD(num_parse_duration, "30s", 86400, 30);
	GOOD(num_parse_duration, "10m", 86400, 600);
	GOOD(num_parse_duration, "2h", 86400, 7200);
	GOOD(num_parse_duration, "1d", 86400, 86400);

	BAD(num_parse_duration, "", 86400, EINVAL);
	BAD(num_parse_duration, "m", 86400, EINVAL);
	BAD(num_parse_duration, "10x", 86400, EINVAL);
	BAD(num_parse_duration, "10M", 86400, EINVAL);
	BAD(num_parse_duration, "1w", 86400, EINVAL);
	BAD(num_parse_duration, "1ms", 86400, EINVAL);
	BAD(num_parse_duration, " 1m", 86400, EINVAL);
	BAD(num_parse_duration, "-1s", 86400, EINVAL);
	BAD(num_parse_duration, "2d", 86400, ERANGE);
	BAD(num_parse_duration, "86401", 86400, ERANGE);
	BAD(num_parse_duration, "18446744073709551615d", UINT64_MAX, ERANGE);
}

int
main(void)
{
	test_parse();
	test_size();
	test_duration();
	return done_testing();
}
