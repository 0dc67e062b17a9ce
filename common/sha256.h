/* sha256.h: FIPS 180-4 SHA-256, for UIDLs of odd names and message digests. */
#ifndef POPD_SHA256_H
#define POPD_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t	h[8];
	uint64_t	len;		/* bytes hashed so far */
	unsigned char	buf[64];
	size_t		nbuf;
};

void	sha256_init(struct sha256 *);
void	sha256_update(struct sha256 *, const void *, size_t);
void	sha256_final(struct sha256 *, unsigned char out[32]);
/* hex must hold 65 bytes: 64 lowercase hex digits and a NUL. */
void	sha256_hex(const void *data, size_t len, char hex[65]);

#endif
