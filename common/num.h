/*
 * num.h: strict number parsing.  "", "+1", "-1", " 1", "1x", "0x10" and
 * values above max are errors: "LIST 4294967297" is not "LIST 1".
 */
#ifndef POPD_NUM_H
#define POPD_NUM_H

#include <stdint.h>

/*
 * Parses s, all of it, as decimal digits into *out.  Leading zeros are
 * allowed.  Returns 0, or -1 with errno EINVAL (not a number) or ERANGE
 * (> max); *out is untouched on error.
 */
int	num_parse(const char *s, uint64_t max, uint64_t *out);

/*
 * A size with an optional suffix K, M or G (powers of 1024): "50M".
 * Same contract as num_parse.
 */
int	num_parse_size(const char *s, uint64_t max, uint64_t *out);

/*
 * A duration in seconds with an optional suffix s, m, h or d: "10m".
 * Same contract as num_parse.
 */
int	num_parse_duration(const char *s, uint64_t max, uint64_t *out);

#endif
