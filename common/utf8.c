/*
 * utf8.c: UTF-8 as RFC 3629 has it (see utf8.h).
 */
#include "utf8.h"

size_t
utf8_decode(const unsigned char *p, uint32_t *cp)
{
	static const uint32_t	 least[] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t		 c = p[0];
	size_t			 n, i;

	if (c < 0x80)
		n = 1;
	else if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

int
utf8_valid(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 n;

	for (; *p != '\0'; p += n)
		if ((n = utf8_decode(p, &cp)) == 0)
			return 0;
	return 1;
}
