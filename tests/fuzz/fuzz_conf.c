/*
 * fuzz_conf.c: conf_parse on arbitrary text.  Properties: the result is
 * the number of errors passed to the callback; conf_free zeroes the
 * struct; a valid file's conf_dump reads back as a valid file that dumps
 * the same (conf.h: "a popd.conf(5) that reads back the same"), password
 * hashes aside: they show as "(hidden)", which is no hash, so the dump
 * gets a stand-in before it is read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

static FILE	*devnull;

static void
count_err(void *arg, const char *file, int line, const char *msg)
{
	CHECK(file != NULL && msg != NULL && line >= 0, "errfn arguments");
	CHECK(strchr(msg, '\n') == NULL, "newline in message: %s", msg);
	(*(int *)arg)++;
}

/* Dumps c into a malloc'd string. */
static char *
dump(const struct conf *c)
{
	char	*s = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&s, &len)) == NULL)
		abort();
	conf_dump(c, f);
	if (fclose(f) != 0)
		abort();
	return s;
}

/* The dump with "password = (hidden)" given a value that parses. */
static char *
unhide(const char *d)
{
	const char	*hid = "\npassword = (hidden)\n", *p;
	char		*out = malloc(strlen(d) * 2 + 1), *o = out;

	if (out == NULL)
		abort();
	while ((p = strstr(d, hid)) != NULL) {
		memcpy(o, d, (size_t)(p - d));
		o += p - d;
		o = stpcpy(o, "\npassword = $fuzz$hidden\n");
		d = p + strlen(hid);
	}
	strcpy(o, d);
	return out;
}

static void
roundtrip(const struct conf *c)
{
	struct conf	 c2;
	char		*d1, *d2, *text;
	int		 n = 0, r;

	d1 = dump(c);
	text = unhide(d1);
	r = conf_parse(&c2, "dump", text, count_err, &n);
	CHECK(r == 0, "the dump does not read back (%d errors):\n%s", r, d1);
	d2 = dump(&c2);
	CHECK(strcmp(d1, d2) == 0, "dump changed:\n%s---\n%s", d1, d2);
	conf_free(&c2);
	free(d1);
	free(d2);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct conf zero;
	struct conf	 c;
	char		*text;
	size_t		 i;
	int		 n = 0, r;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	r = conf_parse(&c, "fuzz.conf", text, count_err, &n);
	CHECK(r == n, "returned %d, reported %d errors", r, n);
	conf_dump(&c, devnull);
	if (r == 0) {
		for (i = 0; i < c.naccounts; i++) {
			CHECK(conf_valid_name(c.accounts[i].name),
			    "section name %s", c.accounts[i].name);
			CHECK(conf_account(&c, c.accounts[i].name) ==
			    &c.accounts[i], "conf_account(%s)",
			    c.accounts[i].name);
			CHECK(c.accounts[i].maildrop != NULL &&
			    c.accounts[i].maildrop[0] == '/', "maildrop");
		}
		roundtrip(&c);
	}
	conf_free(&c);
	CHECK(memcmp(&c, &zero, sizeof(c)) == 0, "conf_free left data");
	free(text);
	return 0;
}
