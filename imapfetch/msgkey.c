/*
 * msgkey.c: Message-ID, size and digest of a message, computed while it streams
 * past (the fetch path) or from a file (the maildrop index).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"
#include "msgkey.h"

enum { K_NAME, K_ID, K_OTHER };

void
msgkey_init(struct msgkey *k)
{
	memset(k, 0, sizeof(*k));
	sha256_init(&k->sha);
	k->in_header = 1;
	k->bol = 1;
	k->state = K_NAME;
}

/* A new header line starts with ch: is it a continuation of the last? */
static void
header_bol(struct msgkey *k, unsigned char ch)
{
	if (ch == ' ' || ch == '\t')
		return;			/* folded: same field goes on */
	if (k->state == K_ID && k->idlen > 0)
		k->found = 1;
	k->state = K_NAME;
	k->fieldlen = 0;
}

/* One header byte; returns 1 at the blank line that ends the header. */
static int
header_byte(struct msgkey *k, unsigned char ch)
{
	/* CR at the start of a line: wait for the LF of a blank line. */
	if (k->bol && ch == '\r')
		return 0;
	if (k->bol && ch == '\n') {
		header_bol(k, 'x');
		return 1;
	}
	if (k->bol) {
		k->bol = 0;
		header_bol(k, ch);
	}
	if (ch == '\n') {
		k->bol = 1;
		return 0;
	}
	if (ch == '\r')
		return 0;
	if (k->state == K_NAME) {
		if (ch == ':') {
			k->field[k->fieldlen] = '\0';
			k->state = !k->found &&
			    strcasecmp(k->field, "message-id") == 0 ?
			    K_ID : K_OTHER;
		} else if (k->fieldlen + 1 < sizeof(k->field))
			k->field[k->fieldlen++] = ch;
		else
			k->state = K_OTHER;
	} else if (k->state == K_ID && k->idlen + 1 < sizeof(k->id))
		k->id[k->idlen++] = ch;
	return 0;
}

void
msgkey_update(struct msgkey *k, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 i;

	sha256_update(&k->sha, buf, len);
	k->size += len;
	for (i = 0; i < len && k->in_header; i++)
		if (header_byte(k, p[i]))
			k->in_header = 0;
}

void
msgkey_final(struct msgkey *k, struct msgkeys *out)
{
	unsigned char	 d[32];
	char		*lt, *gt, *s;
	size_t		 i;

	if (k->state == K_ID && k->idlen > 0)
		k->found = 1;
	k->id[k->idlen] = '\0';
	s = k->id;
	if ((lt = strchr(s, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
		s = lt;
		gt[1] = '\0';
	} else {
		s += strspn(s, " \t");
		for (i = strlen(s); i > 0 && (s[i - 1] == ' ' ||
		    s[i - 1] == '\t'); i--)
			s[i - 1] = '\0';
	}
	out->id[0] = '\0';
	if (k->found && *s != '\0')
		snprintf(out->id, sizeof(out->id), "m:%llu:%s", k->size, s);
	sha256_final(&k->sha, d);
	memcpy(out->digest, "d:", 2);
	for (i = 0; i < 32; i++)
		snprintf(out->digest + 2 + 2 * i, 3, "%02x", d[i]);
}

/*
 * The keys of one file; 0, or -1 when it is not a regular file or cannot
 * be read.  O_NONBLOCK: a FIFO planted there must not hang the run.
 */
static int
key_file(int dirfd, const char *name, struct msgkeys *out)
{
	struct msgkey	 k;
	struct stat	 st;
	char		 buf[65536];
	ssize_t		 n;
	int		 fd;

	fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	msgkey_init(&k);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		msgkey_update(&k, buf, n);
	close(fd);
	if (n == -1)
		return -1;
	msgkey_final(&k, out);
	return 0;
}

static void
index_add(struct msgindex *ix, size_t *cap, const char *key)
{
	if (ix->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		ix->keys = xreallocarray(ix->keys, *cap, sizeof(*ix->keys));
	}
	ix->keys[ix->n++] = xstrdup(key);
}

static int
index_dir(int mdfd, const char *sub, struct msgindex *ix, size_t *cap)
{
	struct msgkeys	 keys;
	DIR		*dir;
	struct dirent	*de;
	int		 fd;

	if ((fd = openat(mdfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		/* Vanished meanwhile (a POP3 client), not a regular file:
		 * nothing to match. */
		if (key_file(fd, de->d_name, &keys) == -1)
			continue;
		index_add(ix, cap, keys.digest);
		if (keys.id[0] != '\0')
			index_add(ix, cap, keys.id);
	}
	closedir(dir);
	return 0;
}

static int
cmpkey(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
msgindex_build(int dirfd, struct msgindex *ix)
{
	size_t	 cap = 0;

	memset(ix, 0, sizeof(*ix));
	if (index_dir(dirfd, "new", ix, &cap) == -1 ||
	    index_dir(dirfd, "cur", ix, &cap) == -1) {
		msgindex_free(ix);
		return -1;
	}
	qsort(ix->keys, ix->n, sizeof(*ix->keys), cmpkey);
	return 0;
}

int
msgindex_has(const struct msgindex *ix, const char *key)
{
	return ix->n > 0 &&
	    bsearch(&key, ix->keys, ix->n, sizeof(*ix->keys), cmpkey) != NULL;
}

int
msgindex_known(const struct msgindex *ix, const struct msgkeys *k)
{
	return msgindex_has(ix, k->digest) ||
	    (k->id[0] != '\0' && msgindex_has(ix, k->id));
}

void
msgindex_free(struct msgindex *ix)
{
	size_t	 i;

	for (i = 0; i < ix->n; i++)
		free(ix->keys[i]);
	free(ix->keys);
	memset(ix, 0, sizeof(*ix));
}
