/*
 * msgkey.c: the identity of a message (imapfetch/msgkey.h): "m:<id>" from
 * the header's Message-ID, else "d:" and the SHA-256 of the bytes.  Every
 * case is also fed split at every byte position and byte by byte: the key
 * must not depend on how the message arrives.  Then msgindex over a
 * temporary Maildir.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../imapfetch/msgkey.h"
#include "sha256.h"
#include "fixture.h"
#include "tap.h"

#define KEYLEN	(MSGKEY_MAX + 3)

static char	top[64];

/* The key of len bytes fed in one update. */
static void
key_whole(const void *buf, size_t len, char out[KEYLEN])
{
	struct msgkey	 k;

	msgkey_init(&k);
	msgkey_update(&k, buf, len);
	msgkey_final(&k, out, KEYLEN);
}

/*
 * 1 when every way of feeding buf gives want: whole, byte by byte, split
 * in two at every position, in three at every pair (short messages).
 */
static int
key_everyway(const char *buf, size_t len, const char *want)
{
	struct msgkey	 k;
	char		 out[KEYLEN];
	size_t		 i, j;

	key_whole(buf, len, out);
	if (strcmp(out, want) != 0) {
		printf("#   whole: got '%s'\n", out);
		return 0;
	}
	msgkey_init(&k);
	for (i = 0; i < len; i++)
		msgkey_update(&k, buf + i, 1);
	msgkey_final(&k, out, sizeof(out));
	if (strcmp(out, want) != 0) {
		printf("#   byte by byte: got '%s'\n", out);
		return 0;
	}
	for (i = 0; i <= len; i++) {
		msgkey_init(&k);
		msgkey_update(&k, buf, i);
		msgkey_update(&k, buf + i, len - i);
		msgkey_final(&k, out, sizeof(out));
		if (strcmp(out, want) != 0) {
			printf("#   split at %zu: got '%s'\n", i, out);
			return 0;
		}
	}
	for (i = 0; len <= 200 && i <= len; i++)
		for (j = i; j <= len; j++) {
			msgkey_init(&k);
			msgkey_update(&k, buf, i);
			msgkey_update(&k, buf + i, j - i);
			msgkey_update(&k, buf + j, len - j);
			msgkey_final(&k, out, sizeof(out));
			if (strcmp(out, want) != 0) {
				printf("#   split at %zu, %zu: got '%s'\n", i, j,
				    out);
				return 0;
			}
		}
	return 1;
}

/* "d:" and the SHA-256 of the bytes, by common/sha256.c. */
static void
digest_key(const void *buf, size_t len, char out[KEYLEN])
{
	char	 hex[65];

	sha256_hex(buf, len, hex);
	snprintf(out, KEYLEN, "d:%s", hex);
}

struct kcase {
	const char	*name;
	const char	*msg;
	const char	*key;		/* NULL: the digest of msg */
};

static const struct kcase cases[] = {
	{ "CRLF", "Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody\r\n",
	    "m:<a@b>" },
	{ "LF", "Message-ID: <a@b>\nSubject: x\n\nbody\n", "m:<a@b>" },
	{ "at the very start, no other field", "Message-ID:<a@b>\r\n\r\n",
	    "m:<a@b>" },
	{ "after other fields",
	    "From: x@y\r\nTo: z@w\r\nMessage-ID: <id.1@host>\r\n"
	    "Subject: s\r\n\r\nbody", "m:<id.1@host>" },
	{ "last field", "From: x\nSubject: s\nMessage-ID: <last@h>\n\nb",
	    "m:<last@h>" },
	{ "lower case name", "message-id: <a@b>\n\n", "m:<a@b>" },
	{ "upper case name", "MESSAGE-ID: <a@b>\n\n", "m:<a@b>" },
	{ "Message-Id", "Message-Id: <a@b>\n\n", "m:<a@b>" },
	{ "mixed case", "mEsSaGe-iD: <a@b>\n\n", "m:<a@b>" },
	{ "folded, CRLF SP", "Subject: s\r\nMessage-ID:\r\n <fold@h>\r\n"
	    "X: y\r\n\r\nbody", "m:<fold@h>" },
	{ "folded, LF TAB", "Message-ID:\n\t<fold@h>\n\nbody", "m:<fold@h>" },
	{ "folded twice", "Message-ID:\r\n \r\n <f2@h>\r\n\r\n", "m:<f2@h>" },
	{ "a comment after the id",
	    "Message-ID:  <c@h> (comment)\r\n\r\n", "m:<c@h>" },
	{ "no brackets: trimmed", "Message-ID:   bare@h  \t\r\n\r\n",
	    "m:bare@h" },
	{ "no blank line, no final newline", "Message-ID: <eof@h>",
	    "m:<eof@h>" },
	{ "no blank line, final CRLF", "Message-ID: <eof@h>\r\n",
	    "m:<eof@h>" },
	{ "the first of two wins",
	    "Message-ID: <one@h>\nMessage-ID: <two@h>\n\n", "m:<one@h>" },
	{ "a later one after an empty one",
	    "Message-ID:\nMessage-ID: <two@h>\n\n", "m:<two@h>" },
	{ "long other field before it",
	    "X-A-Very-Long-Header-Field-Name-Indeed: v\nMessage-ID: <l@h>\n\n",
	    "m:<l@h>" },
	{ "empty message", "", NULL },
	{ "no Message-ID", "From: x\r\nSubject: s\r\n\r\nbody\r\n", NULL },
	{ "only in the body", "From: x\r\n\r\nMessage-ID: <body@h>\r\n",
	    NULL },
	{ "only in the body, LF", "From: x\n\nMessage-ID: <body@h>\n", NULL },
	{ "body at once", "\r\nMessage-ID: <body@h>\r\n", NULL },
	{ "inside a folded field",
	    "Subject: s\r\n Message-ID: <fold@h>\r\n\r\n", NULL },
	{ "X-Message-ID", "X-Message-ID: <x@h>\n\n", NULL },
	{ "Resent-Message-ID", "Resent-Message-ID: <r@h>\n\n", NULL },
	{ "Message-IDs", "Message-IDs: <s@h>\n\n", NULL },
	{ "In-Reply-To", "In-Reply-To: <r@h>\nReferences: <r@h>\n\n", NULL },
	{ "empty Message-ID", "Message-ID:\r\n\r\nbody", NULL },
	{ "blank Message-ID", "Message-ID:   \t\r\n\r\nbody", NULL },
};

static void
test_cases(void)
{
	char	 want[KEYLEN], name[160];
	size_t	 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].msg);
		if (cases[i].key != NULL)
			snprintf(want, sizeof(want), "%s", cases[i].key);
		else
			digest_key(cases[i].msg, len, want);
		snprintf(name, sizeof(name), "%s: %s, fed every way",
		    cases[i].name, cases[i].key ? cases[i].key : "digest");
		ok(key_everyway(cases[i].msg, len, want), name);
	}
}

static void
test_identity(void)
{
	static const char	 a[] = "Message-ID: <same@h>\r\nSubject: one"
	    "\r\n\r\nfirst body\r\n";
	static const char	 b[] = "Received: from x\n\tby y\nSubject: two"
	    "\nMessage-Id:\n <same@h>\n\nanother body, LF this time\n";
	static const char	 c[] = "From: x\r\n\r\nbody one\r\n";
	static const char	 d[] = "From: x\r\n\r\nbody two\r\n";
	char			 ka[KEYLEN], kb[KEYLEN], kc[KEYLEN], kd[KEYLEN];
	char			 big[20000];
	size_t			 i;

	key_whole(a, sizeof(a) - 1, ka);
	key_whole(b, sizeof(b) - 1, kb);
	is_str(ka, kb, "same Message-ID, different bytes: same key");
	key_whole(c, sizeof(c) - 1, kc);
	key_whole(d, sizeof(d) - 1, kd);
	ok(strcmp(kc, kd) != 0 && strncmp(kc, "d:", 2) == 0 &&
	    strncmp(kd, "d:", 2) == 0,
	    "no Message-ID, bodies differ: different digest keys");
	key_whole(c, sizeof(c) - 1, kd);
	is_str(kc, kd, "the same bytes twice: the same key");
	is_int(strlen(kc), 2 + 64, "a digest key is d: and 64 hex digits");

	/* A large body without Message-ID, one byte different at the end. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = i < 10 ? "From: x\n\n"[i] : (char)('a' + i % 26);
	key_whole(big, sizeof(big), kc);
	big[sizeof(big) - 1] ^= 1;
	key_whole(big, sizeof(big), kd);
	ok(strcmp(kc, kd) != 0, "20 KB messages differing in the last byte: "
	    "different keys");
	digest_key(big, sizeof(big), ka);
	is_str(kd, ka, "and the key is their SHA-256");
}

/* A Message-ID of 10 KB, and other sizes around MSGKEY_MAX. */
static void
test_long(void)
{
	const size_t	 sizes[] = { 900, 995, 996, 997, 998, 999, 1000, 1001,
	    2000, 10240 };
	struct msgkey	 k;
	char		*msg, *out, *body;
	char		 k1[KEYLEN];
	size_t		 i, n, len;
	int		 bounded = 1, prefixed = 1, bodyok = 1;

	if ((msg = malloc(20000)) == NULL)
		die("malloc");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = sizes[i];
		len = (size_t)snprintf(msg, 20000, "Message-ID: <");
		memset(msg + len, 'x', n);
		len += n;
		len += (size_t)snprintf(msg + len, 20000 - len,
		    ">\r\nSubject: s\r\n\r\nbody\r\n");
		/* Exactly KEYLEN bytes: ASan sees any overrun. */
		if ((out = malloc(KEYLEN)) == NULL)
			die("malloc");
		msgkey_init(&k);
		msgkey_update(&k, msg, len);
		msgkey_final(&k, out, KEYLEN);
		bounded = bounded && memchr(out, '\0', KEYLEN) != NULL &&
		    strlen(out) <= MSGKEY_MAX + 2;
		prefixed = prefixed && strncmp(out, "m:<xxxx", 7) == 0;
		if (n <= MSGKEY_MAX - 4)
			prefixed = prefixed && strlen(out) == n + 4 &&
			    out[n + 3] == '>';
		free(out);
	}
	ok(bounded, "Message-IDs of 900..10240 bytes: the key fits "
	    "MSGKEY_MAX + 3 bytes");
	ok(prefixed, "...and is m: and the id (whole while it fits)");

	/* A 10 KB id, then a body: the body is not scanned or kept. */
	n = 10240;
	len = (size_t)snprintf(msg, 20000, "Message-ID: <");
	memset(msg + len, 'y', n);
	len += n;
	len += (size_t)snprintf(msg + len, 20000 - len, ">\n\n");
	body = msg + len;
	len += (size_t)snprintf(body, 20000 - len, "Message-ID: <b@h>\n");
	key_whole(msg, len, k1);
	bodyok = strncmp(k1, "m:<yyy", 6) == 0 && strstr(k1, "b@h") == NULL;
	ok(bodyok, "a 10 KB id then a body with a Message-ID: the header's");

	/* A 10 KB Subject before the Message-ID. */
	len = (size_t)snprintf(msg, 20000, "Subject: ");
	memset(msg + len, 's', 10240);
	len += 10240;
	len += (size_t)snprintf(msg + len, 20000 - len,
	    "\r\nMessage-ID: <after@h>\r\n\r\n");
	ok(key_everyway(msg, len, "m:<after@h>"),
	    "after a 10 KB field: found, fed every way");

	/* A long field name is not mistaken for Message-ID. */
	len = (size_t)snprintf(msg, 20000, "Message-ID-But-Longer-Than-"
	    "Sixteen: <no@h>\n\n");
	digest_key(msg, len, k1);
	ok(key_everyway(msg, len, k1), "a long name starting Message-ID: "
	    "digest");
	free(msg);
}

/* A short output buffer: terminated, never overrun. */
static void
test_short_out(void)
{
	static const char	 m1[] = "Message-ID: <abcdef@h>\n\n";
	static const char	 m2[] = "From: x\n\nbody";
	struct msgkey		 k;
	char			*out;
	size_t			 len;
	int			 good = 1;

	for (len = 1; len <= 80; len++) {
		if ((out = malloc(len)) == NULL)
			die("malloc");
		msgkey_init(&k);
		msgkey_update(&k, m1, sizeof(m1) - 1);
		msgkey_final(&k, out, len);
		good = good && memchr(out, '\0', len) != NULL;
		msgkey_init(&k);
		msgkey_update(&k, m2, sizeof(m2) - 1);
		msgkey_final(&k, out, len);
		good = good && memchr(out, '\0', len) != NULL;
		free(out);
	}
	ok(good, "output buffers of 1..80 bytes: terminated, not overrun");
}

static void
cleanup(void)
{
	rm_tree(top);
}

static void
mkfile(const char *path, const char *text)
{
	char	 p[256];
	int	 fd;

	snprintf(p, sizeof(p), "%s/%s", top, path);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    close(fd) == -1)
		die(p);
}

static void
test_index(void)
{
	static const char	 nomid[] = "From: x\n\nno id here\n";
	static const char	 hidden[] = "From: hidden\n\nbody\n";
	struct msgindex		 ix;
	char			 p[128], key[KEYLEN];
	int			 dfd;
	size_t			 i;
	int			 sorted = 1;

	snprintf(top, sizeof(top), "%s/msgkey.XXXXXX",
	    getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 40 ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	atexit(cleanup);
	snprintf(p, sizeof(p), "%s/new", top);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/cur", top);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/tmp", top);
	mkdir(p, 0700);
	mkfile("new/1.M1P1Q1.h,S=1,W=1", "Message-ID: <n1@h>\n\nb\n");
	mkfile("cur/2.M1P1Q1.h,S=1,W=1:2,S", "message-id: <c1@h>\r\n\r\nb");
	mkfile("cur/3.M1P1Q1.h:2,", nomid);
	mkfile("new/.hidden", hidden);
	mkfile("tmp/4.M1P1Q1.h", "Message-ID: <t1@h>\n\nb\n");
	snprintf(p, sizeof(p), "%s/cur/subdir", top);
	mkdir(p, 0700);

	if ((dfd = open(top, O_RDONLY | O_DIRECTORY)) == -1)
		die(top);
	is_int(msgindex_build(dfd, &ix), 0, "msgindex_build");
	is_int(ix.n, 3, "three messages: new/ and cur/, not tmp/ or dot "
	    "files");
	for (i = 1; i < ix.n; i++)
		sorted = sorted && strcmp(ix.keys[i - 1], ix.keys[i]) < 0;
	ok(sorted, "keys sorted");
	ok(msgindex_has(&ix, "m:<n1@h>"), "has the new/ message's id");
	ok(msgindex_has(&ix, "m:<c1@h>"), "has the cur/ message's id");
	digest_key(nomid, strlen(nomid), key);
	ok(msgindex_has(&ix, key), "has the digest of the one without id");
	ok(!msgindex_has(&ix, "m:<t1@h>"), "not tmp/'s");
	digest_key(hidden, strlen(hidden), key);
	ok(!msgindex_has(&ix, key), "not the dot file's");
	ok(!msgindex_has(&ix, "m:<n1@h"), "not a prefix of a key");
	msgindex_free(&ix);
	ok(ix.n == 0 && ix.keys == NULL, "msgindex_free empties it");
	ok(!msgindex_has(&ix, "m:<n1@h>"), "an empty index has nothing");
	close(dfd);

	cleanup();
	if (mkdir(top, 0700) == -1 ||
	    (dfd = open(top, O_RDONLY | O_DIRECTORY)) == -1)
		die(top);
	ok(msgindex_build(dfd, &ix) == -1 && ix.n == 0 && ix.keys == NULL,
	    "no new/ or cur/: -1, an empty index");
	close(dfd);
}

int
main(void)
{
	test_cases();
	test_identity();
	test_long();
	test_short_out();
	test_index();
	return done_testing();
}
