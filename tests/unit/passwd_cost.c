/*
 * passwd_cost.c: a failed login costs the same whoever the user is
 * (passwd_check).  crypt_rn is interposed here: every call popd's code
 * makes is recorded with its setting, then handed to libxcrypt's.  For an
 * unknown user, a user without a password and every known user, the same
 * crypt(3) calls must be made: one per method and cost in the
 * configuration, with a setting of that method and cost.
 */
#include <crypt.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../popd/session.h"
#include "tap.h"

#define MAXCALLS	16

typedef char *(*crypt_rn_fn)(const char *, const char *, void *, int);

static char	*calls[MAXCALLS];	/* the settings, in call order */
static int	 ncalls, recording;

char *
crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
	static crypt_rn_fn	real;

	if (real == NULL &&
	    (real = (crypt_rn_fn)dlsym(RTLD_NEXT, "crypt_rn")) == NULL) {
		fprintf(stderr, "dlsym crypt_rn: %s\n", dlerror());
		exit(2);
	}
	if (recording && ncalls < MAXCALLS)
		calls[ncalls++] = strdup(setting);
	return real(phrase, setting, data, size);
}

static void
forget(void)
{
	while (ncalls > 0)
		free(calls[--ncalls]);
}

/* A hash of password made with setting prefix and cost (0: default). */
static char *
make_hash(const char *prefix, unsigned long cost, const char *password)
{
	struct crypt_data	cd;
	char			salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char		*h;

	memset(&cd, 0, sizeof(cd));
	if (crypt_gensalt_rn(prefix, cost, NULL, 0, salt, sizeof(salt)) ==
	    NULL || (h = crypt_rn(password, salt, &cd, sizeof(cd))) == NULL ||
	    h[0] == '*') {
		fprintf(stderr, "cannot make a %s hash\n", prefix);
		exit(2);
	}
	return strdup(h);
}

static void
errfn(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	printf("# %s:%d: %s\n", file, line, msg);
}

/* The cost prefix of calls[i], for comparisons. */
static char *
prefix_of(const char *h)
{
	static char	buf[8][128];
	static int	n;
	char		*p = buf[n++ % 8];

	snprintf(p, sizeof(buf[0]), "%.*s", (int)passwd_cost_prefix(h), h);
	return p;
}

/* 1 when the recorded calls are one per prefix in want (any order). */
static int
calls_are(const char *const *want, int nwant)
{
	int	i, j, seen[MAXCALLS] = { 0 };

	if (ncalls != nwant)
		return 0;
	for (i = 0; i < ncalls; i++) {
		for (j = 0; j < nwant; j++)
			if (!seen[j] &&
			    strcmp(prefix_of(calls[i]), want[j]) == 0)
				break;
		if (j == nwant)
			return 0;
		seen[j] = 1;
	}
	return 1;
}

static void
show_calls(void)
{
	int	i;

	for (i = 0; i < ncalls; i++)
		printf("#   crypt_rn setting %s\n", calls[i]);
}

/* passwd_check for user (NULL: not in c) with recording on. */
static int
check(const struct conf *c, const char *user, const char *password)
{
	const struct account	*a = NULL;
	int			 r;

	if (user != NULL)
		a = conf_account(c, user);
	forget();
	recording = 1;
	r = passwd_check(c, a, password);
	recording = 0;
	return r;
}

static void
test_prefixes(void)
{
	is_int(passwd_cost_prefix("$y$j9T$salt$hash"), 7, "yescrypt: $y$j9T$");
	is_int(passwd_cost_prefix("$gy$jAT$salt$hash"), 8,
	    "gost-yescrypt: $gy$jAT$");
	is_int(passwd_cost_prefix("$2b$12$0123456789012345678901hash"), 7,
	    "bcrypt: $2b$12$");
	is_int(passwd_cost_prefix("$6$rounds=9000$salt$hash"), 15,
	    "sha512-crypt with rounds: through rounds=N$");
	is_int(passwd_cost_prefix("$6$salt$hash"), 3,
	    "sha512-crypt, default rounds: $6$");
	is_int(passwd_cost_prefix("$5$rounds=1000$salt$hash"), 15,
	    "sha256-crypt with rounds");
	is_int(passwd_cost_prefix("$1$salt$hash"), 3, "md5-crypt: $1$");
	is_int(passwd_cost_prefix("$7$CU..../....salt$hash"), 23,
	    "scrypt (cost inside the salt field): the whole hash");
	is_int(passwd_cost_prefix("ab01234567890"), 13,
	    "descrypt: the whole hash");
	is_int(passwd_cost_prefix("!"), 1, "a locked account: itself");
	is_int(passwd_cost_prefix("$2b$$$"), 6, "a malformed bcrypt: itself");
}

/* The audit's case: only sha512-crypt hashes, of one rounds count. */
static void
test_sha512_only(void)
{
	struct conf	 c;
	char		 text[1024];
	char		*alice = make_hash("$6$", 7000, "right");
	char		*bob = make_hash("$6$", 7000, "other");
	const char	*want[] = { "$6$rounds=7000$" };
	int		 r;

	snprintf(text, sizeof(text), "[alice]\npassword = %s\n"
	    "maildrop = /m/a\n[bob]\npassword = %s\nmaildrop = /m/b\n"
	    "[nopw]\nmaildrop = /m/n\n", alice, bob);
	if (!ok(conf_parse(&c, "sha512.conf", text, errfn, NULL) == 0,
	    "sha512-only config parses"))
		return;
	r = check(&c, NULL, "right");
	ok(!r, "unknown user: fails");
	if (!ok(calls_are(want, 1), "unknown user: one crypt, with an "
	    "sha512-crypt setting of rounds=7000"))
		show_calls();
	ok(ncalls == 1 && strcmp(calls[0], alice) == 0,
	    "...the first such hash of the file as the setting");
	r = check(&c, "nopw", "right");
	ok(!r && calls_are(want, 1), "a user without password: the same");
	r = check(&c, "bob", "right");
	ok(!r && calls_are(want, 1), "bob, wrong password: the same");
	ok(ncalls == 1 && strcmp(calls[0], bob) == 0,
	    "...against bob's own hash");
	r = check(&c, "alice", "right");
	ok(r && calls_are(want, 1), "alice, right password: in, same work");
	conf_free(&c);
	free(alice);
	free(bob);
}

/* Hashes of several methods and costs: every login computes each once. */
static void
test_mixed(void)
{
	static const char *const users[] = {
		"alice", "bob", "carol", "dave", "nopw", NULL
	};
	struct conf	 c;
	char		 text[2048], name[128];
	char		*y = make_hash("$y$", 0, "pw-y");
	char		*s = make_hash("$6$", 6000, "pw-s");
	char		*b = make_hash("$2b$", 5, "pw-b");
	char		*y2 = make_hash("$y$", 0, "pw-y2");
	const char	*want[] = { "$y$j9T$", "$6$rounds=6000$", "$2b$05$" };
	size_t		 i;

	snprintf(text, sizeof(text), "[alice]\npassword = %s\n"
	    "maildrop = /m/a\n[bob]\npassword = %s\nmaildrop = /m/b\n"
	    "[carol]\npassword = %s\nmaildrop = /m/c\n[dave]\npassword = %s\n"
	    "maildrop = /m/d\n[nopw]\nmaildrop = /m/n\n", y, s, b, y2);
	if (!ok(conf_parse(&c, "mixed.conf", text, errfn, NULL) == 0,
	    "mixed config parses"))
		return;
	is_int(passwd_classes(&c), 3, "three methods and costs");
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		check(&c, users[i], "wrong");
		snprintf(name, sizeof(name), "%s, wrong password: one crypt "
		    "per method and cost (yescrypt, sha512-crypt, bcrypt)",
		    users[i] != NULL ? users[i] : "unknown user");
		if (!ok(calls_are(want, 3), name))
			show_calls();
	}
	check(&c, "dave", "wrong");
	ok(ncalls == 3 && (strcmp(calls[0], y2) == 0 ||
	    strcmp(calls[1], y2) == 0 || strcmp(calls[2], y2) == 0),
	    "dave's class (alice's too): computed with dave's own hash");
	ok(check(&c, "dave", "pw-y2") && calls_are(want, 3),
	    "dave, right password: in");
	ok(!check(&c, "dave", "pw-y"), "dave with alice's password: no");
	ok(check(&c, "bob", "pw-s"), "bob, right password: in");
	ok(check(&c, "carol", "pw-b"), "carol, right password: in");
	ok(!check(&c, NULL, "pw-y") && !check(&c, NULL, "pw-s") &&
	    !check(&c, NULL, "pw-b"),
	    "an unknown user with a configured password: never in");
	conf_free(&c);
	free(y);
	free(s);
	free(b);
	free(y2);
}

/* No POP3 login at all: still one crypt (the built-in dummy). */
static void
test_none(void)
{
	struct conf	 c;
	const char	*want[] = { "$y$j9T$" };

	if (!ok(conf_parse(&c, "none.conf", "[a]\nmaildrop = /m/a\n", errfn,
	    NULL) == 0, "config without passwords parses"))
		return;
	ok(!check(&c, "a", "x") && calls_are(want, 1),
	    "no hashes: one yescrypt of the dummy, and no login");
	conf_free(&c);
}

int
main(void)
{
	test_prefixes();
	test_sha512_only();
	test_mixed();
	test_none();
	forget();
	return done_testing();
}
