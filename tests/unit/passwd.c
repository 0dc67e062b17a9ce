/*
 * passwd.c: passwd_verify over the crypt(3) schemes popd accepts
 * (yescrypt, bcrypt, sha512-crypt), with hashes made here by libxcrypt,
 * and the failures: a wrong password, no hash, a hash crypt(3) rejects.
 */
#include <crypt.h>
#include <stdio.h>
#include <string.h>

#include "../../popd/session.h"
#include "tap.h"

/* A fresh hash of password with prefix ("$y$", "$2b$", "$6$"), or NULL. */
static const char *
make_hash(const char *prefix, const char *password, char *out, size_t cap)
{
	static struct crypt_data	cd;
	char				salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char			*h;

	if (crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return NULL;
	memset(&cd, 0, sizeof(cd));
	if ((h = crypt_rn(password, salt, &cd, sizeof(cd))) == NULL ||
	    h[0] == '*' || strlen(h) >= cap)
		return NULL;
	strcpy(out, h);
	return out;
}

static void
scheme(const char *prefix, const char *label)
{
	char		buf[CRYPT_OUTPUT_SIZE], name[128];
	const char	*h;

	h = make_hash(prefix, "correct horse", buf, sizeof(buf));
	snprintf(name, sizeof(name), "%s: libxcrypt makes a %s hash", label,
	    prefix);
	if (!ok(h != NULL && strncmp(h, prefix, strlen(prefix)) == 0, name))
		return;
	snprintf(name, sizeof(name), "%s: the right password", label);
	ok(passwd_verify(h, "correct horse"), name);
	snprintf(name, sizeof(name), "%s: a wrong password fails", label);
	ok(!passwd_verify(h, "correct horsf"), name);
	snprintf(name, sizeof(name), "%s: a prefix of it fails", label);
	ok(!passwd_verify(h, "correct"), name);
	snprintf(name, sizeof(name), "%s: the empty password fails", label);
	ok(!passwd_verify(h, ""), name);
	snprintf(name, sizeof(name), "%s: the hash itself is no password",
	    label);
	ok(!passwd_verify(h, h), name);
}

int
main(void)
{
	char	buf[CRYPT_OUTPUT_SIZE], bad[CRYPT_OUTPUT_SIZE];
	const char *h;

	scheme("$y$", "yescrypt");
	scheme("$2b$", "bcrypt");
	scheme("$6$", "sha512-crypt");

	/* 8-bit and long passwords are compared whole. */
	h = make_hash("$y$", "p\xe4ss w\xf6rd", buf, sizeof(buf));
	ok(h != NULL && passwd_verify(h, "p\xe4ss w\xf6rd"),
	    "an 8-bit password with a space");
	ok(h != NULL && !passwd_verify(h, "pass word"), "...not its ASCII cousin");

	/* A tampered hash: one character of the digest changed. */
	h = make_hash("$6$", "secret", buf, sizeof(buf));
	if (h != NULL) {
		strcpy(bad, h);
		bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'a' ? 'b' : 'a';
		ok(passwd_verify(h, "secret") && !passwd_verify(bad, "secret"),
		    "a changed digest fails");
		bad[strlen(bad) - 5] = '\0';
		ok(!passwd_verify(bad, "secret"), "a truncated hash fails");
	}

	/* No hash (unknown user): fails, whatever the password. */
	ok(!passwd_verify(NULL, "secret"), "NULL hash fails");
	ok(!passwd_verify(NULL, ""), "NULL hash, empty password fails");
	ok(!passwd_verify(NULL,
	    "$y$j9T$22LHYYNjd.WCMkUxMzjQ1.$RL4xK4C6ySBby82AKUzCw6BASZnS638jAQ3HgIDDU.A"),
	    "NULL hash, not even with the dummy hash as password");

	/* Hashes crypt(3) refuses: its "*" results never match. */
	ok(!passwd_verify("*", "*"), "'*' (a locked account) fails");
	ok(!passwd_verify("*0", "x"), "'*0' fails");
	ok(!passwd_verify("*0", "*0"), "'*0' with '*0' as password fails");
	ok(!passwd_verify("*1", "*0"), "'*1' fails");
	ok(!passwd_verify("!", "!"), "'!' fails");
	ok(!passwd_verify("", ""), "an empty hash fails, even for ''");
	ok(!passwd_verify("$y$", ""), "a bare prefix fails");
	ok(!passwd_verify("$9$nosuchscheme", "x"), "an unknown scheme fails");

	return done_testing();
}
