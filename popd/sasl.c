/* sasl.c: AUTH PLAIN (RFC 4616) responses and strict base64 (RFC 4648). */
#include <string.h>

#include "session.h"

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *in, unsigned char *out, size_t cap)
{
	size_t		len = strlen(in), i, o = 0;
	int		v[4], k, pad;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad || (v[k] = b64val((unsigned char)in[i + k])) < 0)
				return -1;	/* data after '=' or a bad byte */
		}
		if (o + 3 - (size_t)pad > cap)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	return (long)o;
}

int
sasl_plain_decode(const char *b64, char *authz, char *authc, char *pass,
    size_t cap)
{
	unsigned char	 buf[POP3_LINE_MAX];
	char		*part[3];
	long		 n;
	size_t		 i, start = 0, k = 0;

	part[0] = authz;
	part[1] = authc;
	part[2] = pass;
	/* The password passes through buf: wiped on every way out. */
	if ((n = base64_decode(b64, buf, sizeof(buf))) < 0)
		goto fail;
	for (i = 0; i <= (size_t)n; i++) {
		if (i < (size_t)n && buf[i] != '\0')
			continue;
		if (k == 3 || i - start >= cap)
			goto fail;
		memcpy(part[k], buf + start, i - start);
		part[k++][i - start] = '\0';
		start = i + 1;
	}
	explicit_bzero(buf, sizeof(buf));
	return k == 3 && authc[0] != '\0' ? 0 : -1;
fail:
	explicit_bzero(buf, sizeof(buf));
	return -1;
}
