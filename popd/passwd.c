/*
 * passwd.c: crypt(3) password hashes (libxcrypt: yescrypt, bcrypt,
 * sha512-crypt, ...).  Plaintext passwords are never stored, so APOP, which
 * needs them, is not offered.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "limits.h"
#include "log.h"
#include "session.h"
#include "util.h"

/*
 * Checked when the user is unknown or has no password, so that a failure
 * costs the same time either way (yescrypt at the default cost, which is
 * what --hash-password makes).
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
	char			 pw[SECRET_MAX], again[SECRET_MAX];
	char			 salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data	*cd;
	const char		*out;

	if (read_secret("Password: ", pw, sizeof(pw)) == -1)
		fatalx(1, "no password read (or longer than %d bytes)",
		    SECRET_MAX - 2);
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
