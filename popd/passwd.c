/*
 * passwd.c: crypt(3) password hashes (libxcrypt: yescrypt, bcrypt,
 * sha512-crypt, ...).  Plaintext passwords are never stored, so APOP, which
 * needs them, is not offered.
 */
#include <crypt.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "params.h"
#include "log.h"
#include "session.h"
#include "util.h"

/*
 * Used when no section has a password (no POP3 login at all), so that a
 * failure still costs a crypt(3): yescrypt at the default cost, which is
 * what --hash-password makes.
 */
#define DUMMY_HASH \
	"$y$j9T$22LHYYNjd.WCMkUxMzjQ1.$RL4xK4C6ySBby82AKUzCw6BASZnS638jAQ3HgIDDU.A"

/* Compares without leaking the position of the first difference. */
static int
same(const char *a, const char *b)
{
	size_t		la = strlen(a), lb = strlen(b), i;
	unsigned char	d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int
passwd_verify(const char *hash, const char *password)
{
	struct crypt_data	*cd;
	const char		*out;
	int			 match;

	cd = xcalloc(1, sizeof(*cd));
	out = crypt_rn(password, hash != NULL ? hash : DUMMY_HASH, cd,
	    sizeof(*cd));
	/* A failed crypt returns NULL or a string starting with '*'. */
	match = hash != NULL && out != NULL && out[0] != '*' &&
	    same(out, hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return match;
}

/* Length of the "$id$" field of hash from offset off: through its '$'. */
static size_t
field_end(const char *hash, size_t off)
{
	const char	*d = strchr(hash + off, '$');

	return d != NULL ? (size_t)(d - hash) + 1 : strlen(hash);
}

size_t
passwd_cost_prefix(const char *hash)
{
	/* yescrypt, gost-yescrypt: "$y$<params>$salt$hash" */
	if (strncmp(hash, "$y$", 3) == 0 || strncmp(hash, "$gy$", 4) == 0)
		return field_end(hash, hash[1] == 'y' ? 3 : 4);
	/* bcrypt: "$2b$NN$" then salt and hash with no '$' between */
	if (strncmp(hash, "$2", 2) == 0 && hash[2] != '\0' &&
	    strchr("abxy", hash[2]) != NULL && hash[3] == '$' &&
	    isdigit((unsigned char)hash[4]) &&
	    isdigit((unsigned char)hash[5]) && hash[6] == '$')
		return 7;
	/* sha512-crypt, sha256-crypt: "$6$[rounds=N$]salt$hash" */
	if (strncmp(hash, "$6$", 3) == 0 || strncmp(hash, "$5$", 3) == 0)
		return strncmp(hash + 3, "rounds=", 7) == 0 ?
		    field_end(hash, 3) : 3;
	/* md5-crypt: a fixed cost */
	if (strncmp(hash, "$1$", 3) == 0)
		return 3;
	/* Anything else: a class of its own, which is never wrong. */
	return strlen(hash);
}

/* 1 when hashes a and b have the same method and cost. */
static int
same_cost(const char *a, const char *b)
{
	size_t	n = passwd_cost_prefix(a);

	return n == passwd_cost_prefix(b) && strncmp(a, b, n) == 0;
}

/*
 * Fills rep (room for c->naccounts) with the first hash of each method
 * and cost among c's, in file order.  Returns how many.
 */
static size_t
classes(const struct conf *c, const char **rep)
{
	const char	*h;
	size_t		 i, j, k = 0;

	for (i = 0; i < c->naccounts; i++) {
		if ((h = c->accounts[i].password) == NULL)
			continue;
		for (j = 0; j < k && !same_cost(rep[j], h); j++)
			;
		if (j == k)
			rep[k++] = h;
	}
	return k;
}

size_t
passwd_classes(const struct conf *c)
{
	const char	**rep;
	size_t		  k;

	rep = xcalloc(c->naccounts + 1, sizeof(*rep));
	k = classes(c, rep);
	free(rep);
	return k;
}

int
passwd_check(const struct conf *c, const struct account *a,
    const char *password)
{
	const char	*mine = a != NULL ? a->password : NULL, *h, **rep;
	size_t		 j, k;
	int		 match = 0;

	rep = xcalloc(c->naccounts + 1, sizeof(*rep));
	if ((k = classes(c, rep)) == 0)
		k = 1;			/* rep[0] NULL: the dummy */
	/* a's own hash in its class, the first one in the others. */
	for (j = 0; j < k; j++) {
		h = rep[j];
		if (mine != NULL && h != NULL && same_cost(mine, h))
			h = mine;
		if (passwd_verify(h, password) && mine != NULL && h == mine)
			match = 1;
	}
	free(rep);
	return match;
}

/* Reads one line from fd 0 into buf, without echo on a terminal. */
static int
read_secret(const char *prompt, char *buf, size_t cap)
{
	struct termios	 old, noecho;
	int		 tty = isatty(0), ok;
	size_t		 len;

	if (tty) {
		fputs(prompt, stderr);
		if (tcgetattr(0, &old) == -1)
			return -1;
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &noecho);
	}
	ok = fgets(buf, (int)cap, stdin) != NULL;
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!ok)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (len == cap - 1)
		return -1;		/* too long: refuse, never truncate */
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return 0;
}

int
passwd_hash_main(void)
{
	char			 pw[POPD_PASSWORD_MAX + 2];
	char			 again[POPD_PASSWORD_MAX + 2];
	char			 salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data	*cd;
	const char		*out;

	if (read_secret("Password: ", pw, sizeof(pw)) == -1)
		fatalx(1, "no password read (or longer than %d bytes, the "
		    "most a POP3 PASS line holds)", POPD_PASSWORD_MAX);
	if (pw[0] == '\0')
		fatalx(1, "empty password refused");
	if (isatty(0)) {
		if (read_secret("Again: ", again, sizeof(again)) == -1 ||
		    strcmp(pw, again) != 0)
			fatalx(1, "passwords do not match");
		explicit_bzero(again, sizeof(again));
	}
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		fatal(1, "crypt_gensalt");
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_rn(pw, salt, cd, sizeof(*cd));
	explicit_bzero(pw, sizeof(pw));
	if (out == NULL || out[0] == '*')
		fatal(1, "crypt");
	printf("%s\n", out);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
