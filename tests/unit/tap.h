/* tap.h: the Test Anything Protocol for the C unit tests, header only. */
#ifndef POPD_TAP_H
#define POPD_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), #cond, __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long long)(got), (long long)(want), \
	__FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, \
	__VA_ARGS__)

static inline int
tap_ok(int pass, const char *expr, const char *file, int line,
    const char *name, ...)
{
	tap_n++;
	printf("%sok %d - %s\n", pass ? "" : "not ", tap_n, name);
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d: %s\n", file, line, expr);
	}
	return pass;
}

static inline int
tap_is_int(long long got, long long want, const char *file, int line,
    const char *name, ...)
{
	int pass = got == want;

	if (!tap_ok(pass, "is_int", file, line, name))
		printf("#   got %lld, want %lld\n", got, want);
	return pass;
}

static inline int
tap_is_str(const char *got, const char *want, const char *file, int line,
    const char *name, ...)
{
	int pass = got != NULL && want != NULL ? strcmp(got, want) == 0 :
	    got == want;

	if (!tap_ok(pass, "is_str", file, line, name))
		printf("#   got '%s', want '%s'\n", got ? got : "(null)",
		    want ? want : "(null)");
	return pass;
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

#endif
