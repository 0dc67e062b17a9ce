/* sha256.c: SHA-256 against FIPS 180-2 examples and sha256sum(1). */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "tap.h"

struct vector {
	const char	*in;
	size_t		 repeat;	/* in repeated; 0: in as is */
	const char	*hex;
};

static const struct vector vectors[] = {
	{ "", 0,
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", 0,
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	/* Lengths around the padding boundaries (56 and 64 bytes). */
	{ "x", 55,
	  "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072" },
	{ "x", 56,
	  "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e" },
	{ "x", 63,
	  "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2" },
	{ "x", 64,
	  "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c" },
	{ "x", 65,
	  "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9" },
	{ "x", 119,
	  "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c" },
	{ "x", 120,
	  "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98" },
	{ "a", 1000000,
	  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
};

static char *
expand(const struct vector *v, size_t *len)
{
	char	*s;

	if (v->repeat == 0) {
		*len = strlen(v->in);
		return strdup(v->in);
	}
	*len = v->repeat;
	if ((s = malloc(v->repeat)) != NULL)
		memset(s, v->in[0], v->repeat);
	return s;
}

static void
tohex(const unsigned char md[32], char hex[65])
{
	int	i;

	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Every split of the input into two updates gives the one-shot digest. */
static int
splits_agree(const char *s, size_t len, const char *want)
{
	struct sha256	ctx;
	unsigned char	md[32];
	char		hex[65];
	size_t		i;

	for (i = 0; i <= len; i++) {
		sha256_init(&ctx);
		sha256_update(&ctx, s, i);
		sha256_update(&ctx, s + i, len - i);
		sha256_final(&ctx, md);
		tohex(md, hex);
		if (strcmp(hex, want) != 0)
			return 0;
	}
	return 1;
}

/* Byte by byte, for the buffered path. */
static int
bytewise_agrees(const char *s, size_t len, const char *want)
{
	struct sha256	ctx;
	unsigned char	md[32];
	char		hex[65];
	size_t		i;

	sha256_init(&ctx);
	for (i = 0; i < len; i++)
		sha256_update(&ctx, s + i, 1);
	sha256_final(&ctx, md);
	tohex(md, hex);
	return strcmp(hex, want) == 0;
}

int
main(void)
{
	char	 hex[65];
	char	*s;
	size_t	 i, len;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		if ((s = expand(&vectors[i], &len)) == NULL)
			return 1;
		memset(hex, 'z', sizeof(hex));
		sha256_hex(s, len, hex);
		is_str(hex, vectors[i].hex, "sha256_hex of a known vector");
		ok(hex[64] == '\0', "hex is NUL-terminated");
		if (len <= 200) {
			ok(splits_agree(s, len, vectors[i].hex),
			    "every two-part split gives the same digest");
			ok(bytewise_agrees(s, len, vectors[i].hex),
			    "byte-by-byte updates give the same digest");
		}
		free(s);
	}
	return done_testing();
}
