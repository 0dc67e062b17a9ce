/*
 * fuzz_state.c: imapfetch's state file (imapfetch/state.h) and the file
 * names of states.
 *
 * - state_load_file on the input written as a file: refused with EINVAL
 *   and a zeroed state, or loaded with the UIDs as sorted, disjoint,
 *   non-adjacent ranges; then state_save_file and state_load_file again
 *   give the same state.
 * - state_filename and state_idname on parts of the input (split at NUL
 *   bytes): a safe name (no '/', no leading '.', at most STATE_NAME_MAX + 6
 *   octets, ends in ".state") that, unless shortened with '~', decodes back
 *   to the parts (so distinct names get distinct files).
 * - state_load of that identity finds no file and gives a fresh state,
 *   which state_save writes and state_load reads back.
 * Files go to a temporary directory (FUZZ_TMPDIR, else /dev/shm or /tmp).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "state.h"

static char	dir[4096];
static int	dfd = -1;

static void
cleanup(void)
{
	static const char *const files[] = { "in.state", "out.state",
	    "out.state.new" };
	size_t	i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		(void)unlinkat(dfd, files[i], 0);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*base = getenv("FUZZ_TMPDIR");

	(void)argc, (void)argv;
	if (base == NULL)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/state-fuzz.XXXXXX", base);
	if (mkdtemp(dir) == NULL ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(dir);
		abort();
	}
	atexit(cleanup);
	return 0;
}

static void
check_set(const struct uidset *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++) {
		CHECK(s->r[i].lo >= 1 && s->r[i].lo <= s->r[i].hi,
		    "range %u:%u", s->r[i].lo, s->r[i].hi);
		CHECK(i == 0 || (uint64_t)s->r[i - 1].hi + 1 < s->r[i].lo,
		    "ranges %u:%u and %u:%u not apart", s->r[i - 1].lo,
		    s->r[i - 1].hi, s->r[i].lo, s->r[i].hi);
		CHECK(uidset_has(s, s->r[i].lo) && uidset_has(s, s->r[i].hi) &&
		    !uidset_has(s, s->r[i].lo - 1), "uidset_has");
	}
}

static void
same_state(const struct state *a, const struct state *b)
{
	size_t	i;

	CHECK((a->account == NULL) == (b->account == NULL) &&
	    (a->account == NULL || strcmp(a->account, b->account) == 0),
	    "account");
	CHECK(a->uidvalidity == b->uidvalidity && a->dedup == b->dedup,
	    "uidvalidity or dedup");
	CHECK(a->delivered.n == b->delivered.n && (a->delivered.n == 0 ||
	    memcmp(a->delivered.r, b->delivered.r, a->delivered.n *
	    sizeof(*a->delivered.r)) == 0), "delivered");
	CHECK(a->npend == b->npend, "pending count");
	for (i = 0; i < a->npend; i++)
		CHECK(a->pend[i].uid == b->pend[i].uid &&
		    strcmp(a->pend[i].name, b->pend[i].name) == 0, "pending");
}

static void
check_file(const uint8_t *data, size_t size)
{
	static const struct state zero;
	struct state	 st, st2;
	int		 fd, r;

	if ((fd = openat(dfd, "in.state", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) == -1 || write(fd, data, size) !=
	    (ssize_t)size || close(fd) == -1)
		abort();
	errno = 0;
	if ((r = state_load_file(dfd, "in.state", &st)) == -1) {
		CHECK(errno == EINVAL, "errno %d", errno);
		CHECK(memcmp(&st, &zero, sizeof(st)) == 0, "state not freed");
		return;
	}
	CHECK(r == 0, "state_load_file returned %d", r);
	check_set(&st.delivered);
	CHECK(state_save_file(dfd, "out.state", &st) == 0, "save: %s",
	    strerror(errno));
	CHECK(state_load_file(dfd, "out.state", &st2) == 0,
	    "what state_save_file wrote does not load");
	same_state(&st, &st2);
	state_free(&st);
	state_free(&st2);
}

static int
unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ?
	    c - 'A' + 10 : -1;
}

/* Decodes name[0..len) (%XX) into out; -1 when malformed. */
static int
decode(const char *name, size_t len, char *out)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		if (name[i] != '%')
			out[o++] = name[i];
		else if (i + 2 < len && unhex(name[i + 1]) >= 0 &&
		    unhex(name[i + 2]) >= 0) {
			out[o++] = (char)(unhex(name[i + 1]) << 4 |
			    unhex(name[i + 2]));
			i += 2;
		} else
			return -1;
	}
	out[o] = '\0';
	return 0;
}

/* A safe file name; returns its length without ".state". */
static size_t
check_safe(const char *name)
{
	size_t	len = strlen(name);

	CHECK(len > 6 && len <= STATE_NAME_MAX + 6 &&
	    strcmp(name + len - 6, ".state") == 0, "name %s", name);
	CHECK(name[0] != '.' && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_-.%+~") == len,
	    "unsafe name %s", name);
	return len - 6;
}

static void
check_names(const char *const parts[3], unsigned port)
{
	struct stateid	 id = { parts[0], port, parts[1], parts[2] };
	struct state	 st, st2;
	char		 name[STATE_NAME_MAX + 64], *dec, host[4096], *p, *q;
	size_t		 len, i;
	int		 k;

	state_filename(parts[2], name, sizeof(name));
	if (parts[2][0] == '\0')	/* no IMAP mailbox is called "" */
		goto id;
	len = check_safe(name);
	CHECK(strchr(name, '+') == NULL, "'+' in %s", name);
	if ((dec = malloc(len + 1)) == NULL)
		abort();
	if (memchr(name, '~', len) == NULL)
		CHECK(decode(name, len, dec) == 0 && strcmp(dec, parts[2]) == 0,
		    "%s does not decode to the mailbox", name);
	free(dec);
id:
	state_idname(&id, name, sizeof(name));
	len = check_safe(name);
	if (memchr(name, '~', len) == NULL) {
		snprintf(host, sizeof(host), "%s", parts[0]);
		for (p = host; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 'a' - 'A';
		if ((dec = malloc(len + 1)) == NULL)
			abort();
		name[len] = '\0';
		p = name;
		for (k = 0; k < 4; k++) {
			q = k < 3 ? strchr(p, '+') : p + strlen(p);
			CHECK(q != NULL, "%d parts in %s", k + 1, name);
			CHECK(decode(p, (size_t)(q - p), dec) == 0,
			    "part %d of %s", k, name);
			if (k == 1)
				CHECK(strtoul(dec, NULL, 10) == port, "port");
			else
				CHECK(strcmp(dec, k == 0 ? host :
				    parts[k - 1]) == 0, "part %d of %s", k,
				    name);
			p = q + 1;
		}
		free(dec);
	}

	/* A fresh state of id, saved and read back, then removed. */
	CHECK(state_load(dfd, &id, &st) == 0, "state_load of a fresh id");
	CHECK(st.account != NULL && st.uidvalidity == 0, "fresh state");
	st.uidvalidity = 7;
	for (i = 1; i < 5; i++)
		uidset_add(&st.delivered, (uint32_t)(i * i));
	CHECK(state_save(dfd, &id, &st) == 0, "state_save: %s",
	    strerror(errno));
	CHECK(state_load(dfd, &id, &st2) == 0, "state_load after save");
	same_state(&st, &st2);
	state_free(&st);
	state_free(&st2);
	state_idname(&id, name, sizeof(name));
	CHECK(unlinkat(dfd, name, 0) == 0, "unlink %s", name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*parts[3] = { "", "", "" };
	char		*text;
	size_t		 off = 0;
	int		 k;

	check_file(data, size);
	if (size > 4096)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (k = 0; k < 3 && off <= size; k++) {
		parts[k] = text + off;
		off += strlen(text + off) + 1;
	}
	/* The host is the input's last part: a mailbox name reads better. */
	check_names((const char *[3]){ parts[2], parts[1], parts[0] },
	    (unsigned)(size * 257 % 65536));
	free(text);
	return 0;
}
