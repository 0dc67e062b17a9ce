/*
 * msgkey.c: the keys of a message (imapfetch/msgkey.h): "d:" and the
 * SHA-256 of the bytes, always, and "m:<size>:<Message-ID>" when the
 * header has one.  Every case is also fed split at every byte position and
 * byte by byte: neither key may depend on how the message arrives.  Then
 * msgindex over a temporary Maildir: what msgindex_known takes for a
 * message already there (same bytes, or same Message-ID and same size,
 * never the Message-ID alone), and files that are no messages (FIFOs,
 * symbolic links, devices, directories) that must neither hang the index
 * nor be in it.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../imapfetch/msgkey.h"
#include "sha256.h"
#include "fixture.h"
#include "tap.h"

static char	top[64];

/* The keys of len bytes fed in one update. */
static void
key_whole(const void *buf, size_t len, struct msgkeys *out)
{
	struct msgkey	 k;

	msgkey_init(&k);
	msgkey_update(&k, buf, len);
	msgkey_final(&k, out);
}

/* 1 when both keys are want's; else says which way differed. */
static int
same_keys(const struct msgkeys *got, const struct msgkeys *want,
    const char *how)
{
	if (strcmp(got->digest, want->digest) == 0 &&
	    strcmp(got->id, want->id) == 0)
		return 1;
	printf("#   %s: got '%s' '%.60s', want '%s' '%.60s'\n", how,
	    got->digest, got->id, want->digest, want->id);
	return 0;
}

/*
 * 1 when every way of feeding buf gives want: whole, byte by byte, split
 * in two at every position, in three at every pair (short messages).
 */
static int
key_everyway(const char *buf, size_t len, const struct msgkeys *want)
{
	struct msgkey	 k;
	struct msgkeys	 out;
	char		 how[64];
	size_t		 i, j;

	key_whole(buf, len, &out);
	if (!same_keys(&out, want, "whole"))
		return 0;
	msgkey_init(&k);
	for (i = 0; i < len; i++)
		msgkey_update(&k, buf + i, 1);
	msgkey_final(&k, &out);
	if (!same_keys(&out, want, "byte by byte"))
		return 0;
	for (i = 0; i <= len; i++) {
		msgkey_init(&k);
		msgkey_update(&k, buf, i);
		msgkey_update(&k, buf + i, len - i);
		msgkey_final(&k, &out);
		snprintf(how, sizeof(how), "split at %zu", i);
		if (!same_keys(&out, want, how))
			return 0;
	}
	for (i = 0; len <= 200 && i <= len; i++)
		for (j = i; j <= len; j++) {
			msgkey_init(&k);
			msgkey_update(&k, buf, i);
			msgkey_update(&k, buf + i, j - i);
			msgkey_update(&k, buf + j, len - j);
			msgkey_final(&k, &out);
			snprintf(how, sizeof(how), "split at %zu, %zu", i, j);
			if (!same_keys(&out, want, how))
				return 0;
		}
	return 1;
}

/* "d:" and the SHA-256 of the bytes, by common/sha256.c. */
static void
digest_key(const void *buf, size_t len, char out[2 + 64 + 1])
{
	char	 hex[65];

	sha256_hex(buf, len, hex);
	snprintf(out, 2 + 64 + 1, "d:%s", hex);
}

/* The keys a message of len bytes with Message-ID id (NULL: none) has. */
static void
want_keys(const void *buf, size_t len, const char *id, struct msgkeys *out)
{
	digest_key(buf, len, out->digest);
	if (id != NULL)
		snprintf(out->id, sizeof(out->id), "m:%zu:%s", len, id);
	else
		out->id[0] = '\0';
}

struct kcase {
	const char	*name;
	const char	*msg;
	const char	*id;		/* NULL: no Message-ID */
};

static const struct kcase cases[] = {
	{ "CRLF", "Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody\r\n",
	    "<a@b>" },
	{ "LF", "Message-ID: <a@b>\nSubject: x\n\nbody\n", "<a@b>" },
	{ "at the very start, no other field", "Message-ID:<a@b>\r\n\r\n",
	    "<a@b>" },
	{ "after other fields",
	    "From: x@y\r\nTo: z@w\r\nMessage-ID: <id.1@host>\r\n"
	    "Subject: s\r\n\r\nbody", "<id.1@host>" },
	{ "last field", "From: x\nSubject: s\nMessage-ID: <last@h>\n\nb",
	    "<last@h>" },
	{ "lower case name", "message-id: <a@b>\n\n", "<a@b>" },
	{ "upper case name", "MESSAGE-ID: <a@b>\n\n", "<a@b>" },
	{ "Message-Id", "Message-Id: <a@b>\n\n", "<a@b>" },
	{ "mixed case", "mEsSaGe-iD: <a@b>\n\n", "<a@b>" },
	{ "folded, CRLF SP", "Subject: s\r\nMessage-ID:\r\n <fold@h>\r\n"
	    "X: y\r\n\r\nbody", "<fold@h>" },
	{ "folded, LF TAB", "Message-ID:\n\t<fold@h>\n\nbody", "<fold@h>" },
	{ "folded twice", "Message-ID:\r\n \r\n <f2@h>\r\n\r\n", "<f2@h>" },
	{ "a comment after the id",
	    "Message-ID:  <c@h> (comment)\r\n\r\n", "<c@h>" },
	{ "no brackets: trimmed", "Message-ID:   bare@h  \t\r\n\r\n",
	    "bare@h" },
	{ "no blank line, no final newline", "Message-ID: <eof@h>",
	    "<eof@h>" },
	{ "no blank line, final CRLF", "Message-ID: <eof@h>\r\n",
	    "<eof@h>" },
	{ "the first of two wins",
	    "Message-ID: <one@h>\nMessage-ID: <two@h>\n\n", "<one@h>" },
	{ "a later one after an empty one",
	    "Message-ID:\nMessage-ID: <two@h>\n\n", "<two@h>" },
	{ "long other field before it",
	    "X-A-Very-Long-Header-Field-Name-Indeed: v\nMessage-ID: <l@h>\n\n",
	    "<l@h>" },
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
	struct msgkeys	 want;
	char		 name[200];
	size_t		 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].msg);
		want_keys(cases[i].msg, len, cases[i].id, &want);
		snprintf(name, sizeof(name), "%s: digest and %.100s, fed "
		    "every way", cases[i].name, cases[i].id ? want.id :
		    "no id key");
		ok(key_everyway(cases[i].msg, len, &want), name);
	}
}

static void
test_identity(void)
{
	static const char	 a[] = "Message-ID: <same@h>\r\nSubject: one"
	    "\r\n\r\nfirst body\r\n";
	static const char	 a2[] = "Message-ID: <same@h>\r\nSubject: two"
	    "\r\n\r\nfirst body\r\n";
	static const char	 b[] = "Received: from x\n\tby y\nSubject: two"
	    "\nMessage-Id:\n <same@h>\n\nanother body, LF this time\n";
	static const char	 c[] = "From: x\r\n\r\nbody one\r\n";
	static const char	 d[] = "From: x\r\n\r\nbody two\r\n";
	struct msgkeys		 ka, ka2, kb, kc, kd, want;
	char			 big[20000], *huge, name[120];
	size_t			 i, len;

	key_whole(a, sizeof(a) - 1, &ka);
	key_whole(b, sizeof(b) - 1, &kb);
	ok(strcmp(ka.id, kb.id) != 0 && strcmp(ka.digest, kb.digest) != 0,
	    "same Message-ID, different bytes and size: different keys");
	ok(strncmp(ka.id, "m:", 2) == 0 && strcmp(strchr(ka.id + 2, ':'),
	    strchr(kb.id + 2, ':')) == 0,
	    "...though the same Message-ID after the size");
	key_whole(a2, sizeof(a2) - 1, &ka2);
	ok(strcmp(ka.id, ka2.id) == 0 && strcmp(ka.digest, ka2.digest) != 0,
	    "same Message-ID and size, different bytes: same id key, "
	    "different digests");
	key_whole(c, sizeof(c) - 1, &kc);
	key_whole(d, sizeof(d) - 1, &kd);
	ok(strcmp(kc.digest, kd.digest) != 0 && kc.id[0] == '\0' &&
	    kd.id[0] == '\0', "no Message-ID, bodies differ: different "
	    "digests, no id key");
	key_whole(c, sizeof(c) - 1, &kd);
	ok(strcmp(kc.digest, kd.digest) == 0 && strcmp(kc.id, kd.id) == 0,
	    "the same bytes twice: the same keys");
	key_whole(a, sizeof(a) - 1, &kd);
	ok(strcmp(ka.digest, kd.digest) == 0 && strcmp(ka.id, kd.id) == 0,
	    "the same bytes twice, with a Message-ID: the same keys");
	is_int(strlen(kc.digest), 2 + 64, "a digest key is d: and 64 hex "
	    "digits");
	ok(strncmp(kc.digest, "d:", 2) == 0 && strspn(kc.digest + 2,
	    "0123456789abcdef") == 64, "...lower-case hex");

	/* A large body without Message-ID, one byte different at the end. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = i < 10 ? "From: x\n\n"[i] : (char)('a' + i % 26);
	key_whole(big, sizeof(big), &kc);
	big[sizeof(big) - 1] ^= 1;
	key_whole(big, sizeof(big), &kd);
	ok(strcmp(kc.digest, kd.digest) != 0, "20 KB messages differing in "
	    "the last byte: different digests");
	want_keys(big, sizeof(big), NULL, &want);
	is_str(kd.digest, want.digest, "and the digest is their SHA-256");

	/* The id key holds the exact byte count, whatever the size. */
	len = 3 * 1024 * 1024 + 17;
	if ((huge = malloc(len)) == NULL)
		die("malloc");
	memset(huge, 'b', len);
	memcpy(huge, "Message-ID: <big@h>\r\n\r\n", 24);
	want_keys(huge, len, "<big@h>", &want);
	key_whole(huge, len, &kd);
	snprintf(name, sizeof(name), "a %zu-byte message: id key \"m:%zu:"
	    "<big@h>\"", len, len);
	is_str(kd.id, want.id, name);
	is_str(kd.digest, want.digest, "...and its digest");
	{
		struct msgkey	 k;

		msgkey_init(&k);
		for (i = 0; i < len; i += 4093)
			msgkey_update(&k, huge + i, len - i < 4093 ? len - i :
			    4093);
		msgkey_final(&k, &kd);
		ok(strcmp(kd.id, want.id) == 0 &&
		    strcmp(kd.digest, want.digest) == 0,
		    "...the same fed in 4093-byte pieces");
	}
	free(huge);
	key_whole("Message-ID: <e@h>", 17, &kd);
	is_str(kd.id, "m:17:<e@h>", "a 17-byte message: m:17:<e@h>");
}

/* A Message-ID of 10 KB, and other sizes around MSGKEY_MAX. */
static void
test_long(void)
{
	const size_t	 sizes[] = { 900, 995, 996, 997, 998, 999, 1000, 1001,
	    2000, 10240 };
	struct msgkey	 k;
	struct msgkeys	*out, want;
	char		*msg, *body, pre[64], *xs;
	size_t		 i, n, len, plen;
	int		 bounded = 1, prefixed = 1, bodyok = 1;

	if ((msg = malloc(20000)) == NULL || (xs = malloc(20000)) == NULL)
		die("malloc");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = sizes[i];
		len = (size_t)snprintf(msg, 20000, "Message-ID: <");
		memset(msg + len, 'x', n);
		len += n;
		len += (size_t)snprintf(msg + len, 20000 - len,
		    ">\r\nSubject: s\r\n\r\nbody\r\n");
		/* Exactly one struct: ASan sees any overrun. */
		if ((out = malloc(sizeof(*out))) == NULL)
			die("malloc");
		memset(out, 'Z', sizeof(*out));
		msgkey_init(&k);
		msgkey_update(&k, msg, len);
		msgkey_final(&k, out);
		bounded = bounded && memchr(out->id, '\0',
		    sizeof(out->id)) != NULL && memchr(out->digest, '\0',
		    sizeof(out->digest)) != NULL;
		plen = (size_t)snprintf(pre, sizeof(pre), "m:%zu:<xxxx", len);
		prefixed = prefixed && strncmp(out->id, pre, plen) == 0;
		if (n <= MSGKEY_MAX - 4) {
			memset(xs, 'x', n);
			xs[n] = '\0';
			snprintf(want.id, sizeof(want.id), "m:%zu:<%s>", len,
			    xs);
			prefixed = prefixed && strcmp(out->id, want.id) == 0;
		}
		free(out);
	}
	ok(bounded, "Message-IDs of 900..10240 bytes: both keys terminated "
	    "inside struct msgkeys");
	ok(prefixed, "...the id key is m:<size>: and the id (whole while "
	    "it fits)");

	/* A 10 KB id, then a body: the body is not scanned or kept. */
	n = 10240;
	len = (size_t)snprintf(msg, 20000, "Message-ID: <");
	memset(msg + len, 'y', n);
	len += n;
	len += (size_t)snprintf(msg + len, 20000 - len, ">\n\n");
	body = msg + len;
	len += (size_t)snprintf(body, 20000 - len, "Message-ID: <b@h>\n");
	if ((out = malloc(sizeof(*out))) == NULL)
		die("malloc");
	key_whole(msg, len, out);
	plen = (size_t)snprintf(pre, sizeof(pre), "m:%zu:<yyy", len);
	bodyok = strncmp(out->id, pre, plen) == 0 &&
	    strstr(out->id, "b@h") == NULL;
	ok(bodyok, "a 10 KB id then a body with a Message-ID: the header's");

	/* A 10 KB Subject before the Message-ID. */
	len = (size_t)snprintf(msg, 20000, "Subject: ");
	memset(msg + len, 's', 10240);
	len += 10240;
	len += (size_t)snprintf(msg + len, 20000 - len,
	    "\r\nMessage-ID: <after@h>\r\n\r\n");
	want_keys(msg, len, "<after@h>", &want);
	ok(key_everyway(msg, len, &want),
	    "after a 10 KB field: found, fed every way");

	/* A long field name is not mistaken for Message-ID. */
	len = (size_t)snprintf(msg, 20000, "Message-ID-But-Longer-Than-"
	    "Sixteen: <no@h>\n\n");
	want_keys(msg, len, NULL, &want);
	ok(key_everyway(msg, len, &want), "a long name starting Message-ID: "
	    "digest only");

	/* What was in the output before does not survive. */
	memset(out, 'Z', sizeof(*out));
	key_whole("From: x\n\nbody", 13, out);
	ok(out->id[0] == '\0' && strlen(out->digest) == 66,
	    "a struct msgkeys full of junk: id \"\" without Message-ID, "
	    "digest terminated");
	free(out);
	free(msg);
	free(xs);
}

static void
cleanup(void)
{
	rm_tree(top);
}

static void
mkfile(const char *path, const char *text)
{
	put_file(top, path, text);
}

/* mkdir top/path, or die. */
static void
mkd(const char *path)
{
	char	 p[256];

	snprintf(p, sizeof(p), "%s%s%s", top, *path ? "/" : "", path);
	if (mkdir(p, 0700) == -1)
		die(p);
}

/* Opens top as a fresh empty Maildir; its fd. */
static int
fresh_maildir(void)
{
	int	 dfd;

	cleanup();
	mkd("");
	mkd("new");
	mkd("cur");
	mkd("tmp");
	if ((dfd = open(top, O_RDONLY | O_DIRECTORY)) == -1)
		die(top);
	return dfd;
}

/* 1 when ix holds both keys of text (the id key only if it has one). */
static int
has_msg(const struct msgindex *ix, const char *text, const char *id)
{
	struct msgkeys	 k;

	want_keys(text, strlen(text), id, &k);
	return msgindex_has(ix, k.digest) &&
	    (id == NULL || msgindex_has(ix, k.id));
}

static void
test_index(void)
{
	static const char	 n1[] = "Message-ID: <n1@h>\n\nb\n";
	static const char	 c1[] = "message-id: <c1@h>\r\n\r\nb";
	static const char	 nomid[] = "From: x\n\nno id here\n";
	static const char	 hidden[] = "From: hidden\n\nbody\n";
	static const char	 t1[] = "Message-ID: <t1@h>\n\nb\n";
	struct msgindex		 ix;
	struct msgkeys		 k;
	char			 key[2 + 20 + 1 + MSGKEY_MAX + 1];
	int			 dfd;
	size_t			 i;
	int			 sorted = 1;

	dfd = fresh_maildir();
	mkfile("new/1.M1P1Q1.h,S=1,W=1", n1);
	mkfile("cur/2.M1P1Q1.h,S=1,W=1:2,S", c1);
	mkfile("cur/3.M1P1Q1.h:2,", nomid);
	mkfile("new/.hidden", hidden);
	mkfile("tmp/4.M1P1Q1.h", t1);
	mkd("cur/subdir");

	is_int(msgindex_build(dfd, &ix), 0, "msgindex_build");
	is_int(ix.n, 5, "three messages in new/ and cur/, not tmp/ or dot "
	    "files: 3 digests, 2 id keys");
	for (i = 1; i < ix.n; i++)
		sorted = sorted && strcmp(ix.keys[i - 1], ix.keys[i]) < 0;
	ok(sorted, "keys sorted");
	snprintf(key, sizeof(key), "m:%zu:<n1@h>", strlen(n1));
	ok(msgindex_has(&ix, key), "has the new/ message's id key");
	ok(has_msg(&ix, n1, "<n1@h>"), "...and its digest");
	ok(has_msg(&ix, c1, "<c1@h>"), "has both keys of the cur/ message");
	ok(has_msg(&ix, nomid, NULL), "has the digest of the one without id");
	want_keys(t1, strlen(t1), "<t1@h>", &k);
	ok(!msgindex_has(&ix, k.id) && !msgindex_has(&ix, k.digest),
	    "not tmp/'s");
	want_keys(hidden, strlen(hidden), NULL, &k);
	ok(!msgindex_has(&ix, k.digest), "not the dot file's");
	key[strlen(key) - 1] = '\0';
	ok(!msgindex_has(&ix, key), "not a prefix of a key");
	snprintf(key, sizeof(key), "m:%zu:<n1@h>", strlen(n1) + 1);
	ok(!msgindex_has(&ix, key), "not the id with another size");
	ok(!msgindex_has(&ix, "m:<n1@h>") && !msgindex_has(&ix, ""),
	    "not the id without size, not \"\"");
	msgindex_free(&ix);
	ok(ix.n == 0 && ix.keys == NULL, "msgindex_free empties it");
	snprintf(key, sizeof(key), "m:%zu:<n1@h>", strlen(n1));
	ok(!msgindex_has(&ix, key), "an empty index has nothing");
	close(dfd);

	cleanup();
	mkd("");
	if ((dfd = open(top, O_RDONLY | O_DIRECTORY)) == -1)
		die(top);
	ok(msgindex_build(dfd, &ix) == -1 && ix.n == 0 && ix.keys == NULL,
	    "no new/ or cur/: -1, an empty index");
	close(dfd);
}

/* What msgindex_known takes for a message already in the maildrop. */
static void
test_known(void)
{
	static const char	 a[] = "Message-ID: <same@h>\r\nSubject: one"
	    "\r\n\r\nbody A\r\n";
	static const char	 a_same_size[] = "Message-ID: <same@h>\r\n"
	    "Subject: one\r\n\r\nbody B\r\n";
	static const char	 a_other_size[] = "Message-ID: <same@h>\r\n"
	    "Subject: one\r\n\r\nbody AA\r\n";
	static const char	 a_other_id[] = "Message-ID: <diff@h>\r\n"
	    "Subject: one\r\n\r\nbody A\r\n";
	static const char	 c[] = "From: x\r\n\r\nbody one\r\n";
	static const char	 c_other[] = "From: x\r\n\r\nbody two\r\n";
	static const char	 c_with_id[] = "Message-ID: <c@h>\r\n"
	    "From: x\r\n\r\nbody one\r\n";
	struct msgindex		 ix;
	struct msgkeys		 k;
	int			 dfd;

	dfd = fresh_maildir();
	mkfile("cur/1.M1P1Q1.h:2,S", a);
	mkfile("new/2.M1P1Q1.h", c);
	if (msgindex_build(dfd, &ix) == -1)
		die("msgindex_build");

	key_whole(a, strlen(a), &k);
	ok(msgindex_known(&ix, &k), "the same bytes: known");
	key_whole(a_same_size, strlen(a_same_size), &k);
	ok(strlen(a_same_size) == strlen(a) && !msgindex_has(&ix, k.digest),
	    "(a second message: same Message-ID and size, other bytes)");
	ok(msgindex_known(&ix, &k), "same Message-ID and size, other bytes: "
	    "known by its id key");
	key_whole(a_other_size, strlen(a_other_size), &k);
	ok(!msgindex_known(&ix, &k), "same Message-ID, another size: NOT "
	    "known");
	key_whole(a_other_id, strlen(a_other_id), &k);
	ok(strlen(a_other_id) == strlen(a) && !msgindex_known(&ix, &k),
	    "same size, another Message-ID: not known");
	key_whole(c, strlen(c), &k);
	ok(msgindex_known(&ix, &k), "no Message-ID, the same bytes: known");
	key_whole(c_other, strlen(c_other), &k);
	ok(!msgindex_known(&ix, &k), "no Message-ID, other bytes (same "
	    "size): not known");
	key_whole(c_with_id, strlen(c_with_id), &k);
	ok(!msgindex_known(&ix, &k), "the same body with a Message-ID "
	    "added: not known");
	msgindex_free(&ix);

	/* An empty index knows nothing; neither does an empty key. */
	ok(msgindex_build(dfd, &ix) == 0, "build again");
	k.digest[0] = 'x';
	k.id[0] = '\0';
	ok(!msgindex_known(&ix, &k), "a key struct with id \"\" and a "
	    "digest of nothing: not known");
	msgindex_free(&ix);
	key_whole(a, strlen(a), &k);
	ok(!msgindex_known(&ix, &k), "an empty index: not known");
	close(dfd);
}

static void
on_alarm(int sig)
{
	static const char	 msg[] = "Bail out! msgindex_build hung on a "
	    "file that is no message\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) == -1)
		_exit(2);
	_exit(1);
}

/* FIFOs, links, a device, directories in new/ and cur/. */
static void
test_odd_files(void)
{
	static const char	 r1[] = "Message-ID: <r1@h>\n\nregular\n";
	static const char	 r2[] = "From: x\n\nregular, no id\n";
	static const char	 outside[] = "Message-ID: <outside@h>\n\nx\n";
	static const char	 deep[] = "Message-ID: <deep@h>\n\nx\n";
	struct msgindex		 ix;
	struct msgkeys		 k;
	struct timespec		 t0, t1;
	char			 p[256];
	int			 dfd, r, dev = 0;
	double			 secs;

	dfd = fresh_maildir();
	mkfile("new/1.M1P1Q1.h", r1);
	mkfile("cur/2.M1P1Q1.h:2,S", r2);
	mkfile("outside.eml", outside);
	mkd("new/subdir");
	mkd("cur/subdir.h:2,");
	mkfile("new/subdir/3.M1P1Q1.h", deep);
	mkfile("cur/subdir.h:2,/4.M1P1Q1.h", deep);
	snprintf(p, sizeof(p), "%s/new/5.M1P1Q1.fifo", top);
	if (mkfifo(p, 0600) == -1)
		die(p);
	snprintf(p, sizeof(p), "%s/cur/6.M1P1Q1.fifo:2,", top);
	if (mkfifo(p, 0600) == -1)
		die(p);
	snprintf(p, sizeof(p), "%s/new/7.M1P1Q1.dangling", top);
	if (symlink("../nonexistent", p) == -1)
		die(p);
	snprintf(p, sizeof(p), "%s/cur/8.M1P1Q1.link:2,", top);
	if (symlink("../outside.eml", p) == -1)
		die(p);
	snprintf(p, sizeof(p), "%s/new/9.M1P1Q1.link", top);
	if (symlink("../cur/2.M1P1Q1.h:2,S", p) == -1)
		die(p);
	snprintf(p, sizeof(p), "%s/cur/10.M1P1Q1.dirlink", top);
	if (symlink("../new/subdir", p) == -1)
		die(p);
	/* A character device (/dev/null's numbers), where allowed. */
	snprintf(p, sizeof(p), "%s/new/11.M1P1Q1.null", top);
	dev = mknod(p, S_IFCHR | 0600, makedev(1, 3)) == 0;
	snprintf(p, sizeof(p), "%s/cur/12.M1P1Q1.zero", top);
	dev = dev && mknod(p, S_IFCHR | 0600, makedev(1, 5)) == 0;

	fflush(stdout);		/* on_alarm writes past stdio */
	signal(SIGALRM, on_alarm);
	alarm(5);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = msgindex_build(dfd, &ix);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	snprintf(p, sizeof(p), "FIFOs, symbolic links, subdirectories%s in "
	    "new/ and cur/: msgindex_build returns 0", dev ? ", devices" : "");
	is_int(r, 0, p);
	ok(secs < 2, "...at once (no open or read that waits)");
	is_int(ix.n, 3, "only the two regular files are indexed (3 keys)");
	ok(has_msg(&ix, r1, "<r1@h>") && has_msg(&ix, r2, NULL),
	    "...their keys");
	want_keys(outside, strlen(outside), "<outside@h>", &k);
	ok(!msgindex_has(&ix, k.id) && !msgindex_has(&ix, k.digest),
	    "a symbolic link to a message elsewhere is not followed");
	want_keys(deep, strlen(deep), "<deep@h>", &k);
	ok(!msgindex_has(&ix, k.id) && !msgindex_has(&ix, k.digest),
	    "subdirectories are not entered");
	want_keys("", 0, NULL, &k);
	ok(!msgindex_has(&ix, k.digest), "no empty message (a FIFO or "
	    "device read as one)");
	msgindex_free(&ix);
	if (!dev)
		printf("# (no device nodes: mknod not permitted here)\n");
	close(dfd);
}

int
main(void)
{
	snprintf(top, sizeof(top), "%s/msgkey.XXXXXX",
	    getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 40 ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		die("mkdtemp");
	atexit(cleanup);
	test_cases();
	test_identity();
	test_long();
	test_index();
	test_known();
	test_odd_files();
	return done_testing();
}
