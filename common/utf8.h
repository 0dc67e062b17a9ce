/*
 * utf8.h: one reading of UTF-8 (RFC 3629), for the log's escaping, the
 * metrics' label values and imapfetch's mailbox names.
 */
#ifndef POPD_UTF8_H
#define POPD_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length of the sequence at p, its code point in *cp; 0 for anything
 * RFC 3629 forbids: a stray or missing continuation byte, an overlong
 * form, a surrogate, a value above U+10FFFF.  A NUL is no continuation
 * byte, so reading never passes the end of a string (a NUL alone is 1).
 */
size_t	utf8_decode(const unsigned char *p, uint32_t *cp);

/* 1 when the string s is valid UTF-8, else 0. */
int	utf8_valid(const char *s);

#endif
