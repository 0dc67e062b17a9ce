/*
 * state.c: the per-mailbox state file and the lock.  See state.h for the
 * format and for why the file is replaced the way it is.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "num.h"
#include "sha256.h"
#include "util.h"
#include "deliver.h"
#include "state.h"

#define STATE_MAGIC	"imapfetch-state 1"

/*
 * Adds lo..hi, merging with every range it touches or overlaps.  64-bit
 * arithmetic: hi + 1 must not wrap at UINT32_MAX.
 */
void
uidset_add_range(struct uidset *s, uint32_t lo, uint32_t hi)
{
	size_t	 l = 0, h = s->n, i, j;

	/* i: the first range that ends at lo - 1 or later. */
	while (l < h) {
		i = (l + h) / 2;
		if ((uint64_t)s->r[i].hi + 1 < lo)
			l = i + 1;
		else
			h = i;
	}
	i = l;
	/* j: the first range that starts after hi + 1. */
	for (j = i; j < s->n && s->r[j].lo <= (uint64_t)hi + 1; j++)
		;
	if (i == j) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 8;
			s->r = xreallocarray(s->r, s->cap, sizeof(*s->r));
		}
		memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
		s->r[i].lo = lo;
		s->r[i].hi = hi;
		s->n++;
		return;
	}
	if (s->r[i].lo < lo)
		lo = s->r[i].lo;
	if (s->r[j - 1].hi > hi)
		hi = s->r[j - 1].hi;
	s->r[i].lo = lo;
	s->r[i].hi = hi;
	memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
	s->n -= j - i - 1;
}

void
uidset_add(struct uidset *s, uint32_t uid)
{
	uidset_add_range(s, uid, uid);
}

int
uidset_has(const struct uidset *s, uint32_t uid)
{
	size_t	 lo = 0, hi = s->n, i;

	while (lo < hi) {
		i = (lo + hi) / 2;
		if (s->r[i].hi < uid)
			lo = i + 1;
		else if (s->r[i].lo > uid)
			hi = i;
		else
			return 1;
	}
	return 0;
}

uint32_t
uidset_max(const struct uidset *s)
{
	return s->n ? s->r[s->n - 1].hi : 0;
}

void
uidset_free(struct uidset *s)
{
	free(s->r);
	memset(s, 0, sizeof(*s));
}

void
state_add_pending(struct state *st, uint32_t uid, const char *name)
{
	if (st->npend == st->pcap) {
		st->pcap = st->pcap ? st->pcap * 2 : 16;
		st->pend = xreallocarray(st->pend, st->pcap,
		    sizeof(*st->pend));
	}
	st->pend[st->npend].uid = uid;
	st->pend[st->npend].name = xstrdup(name);
	st->npend++;
}

void
state_settle(struct state *st)
{
	size_t	 i;

	for (i = 0; i < st->npend; i++) {
		uidset_add(&st->delivered, st->pend[i].uid);
		free(st->pend[i].name);
	}
	st->npend = 0;
}

void
state_free(struct state *st)
{
	state_settle(st);
	free(st->pend);
	uidset_free(&st->delivered);
	memset(st, 0, sizeof(*st));
}

/*
 * Keeps [A-Za-z0-9_-] and inner dots, %XX for the rest, as in URLs.  A
 * name whose encoding is too long for a file name keeps its first part and
 * gains "~" and a digest of the whole name ('~' is never in an encoding),
 * so distinct mailboxes still get distinct files.
 */
void
state_filename(const char *mailbox, char *out, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)mailbox;
	char			 enc[STATE_NAME_MAX + 4], digest[65];
	size_t			 o = 0;

	for (; *p != '\0' && o <= STATE_NAME_MAX; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    (*p == '.' && o > 0))
			enc[o++] = (char)*p;
		else {
			enc[o++] = '%';
			enc[o++] = hex[*p >> 4];
			enc[o++] = hex[*p & 15];
		}
	}
	if (o <= STATE_NAME_MAX) {
		snprintf(out, len, "%.*s.state", (int)o, enc);
		return;
	}
	sha256_hex(mailbox, strlen(mailbox), digest);
	snprintf(out, len, "%.*s~%.32s.state", STATE_NAME_KEEP, enc, digest);
}

/* Parses "lo[:hi],..." into the set; 0 or -1. */
static int
parse_ranges(struct uidset *s, char *v)
{
	char		*tok, *colon, *save = NULL;
	uint64_t	 lo, hi;

	for (tok = strtok_r(v, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((colon = strchr(tok, ':')) != NULL)
			*colon++ = '\0';
		if (num_parse(tok, UINT32_MAX, &lo) == -1 || lo == 0)
			return -1;
		hi = lo;
		if (colon != NULL &&
		    (num_parse(colon, UINT32_MAX, &hi) == -1 || hi < lo))
			return -1;
		uidset_add_range(s, (uint32_t)lo, (uint32_t)hi);
	}
	return 0;
}

static int
parse_line(struct state *st, char *line)
{
	char		*v, *name;
	uint64_t	 n;

	if ((v = strchr(line, ' ')) == NULL)
		return -1;
	*v++ = '\0';
	if (strcmp(line, "uidvalidity") == 0) {
		if (num_parse(v, UINT32_MAX, &n) == -1)
			return -1;
		st->uidvalidity = (uint32_t)n;
	} else if (strcmp(line, "dedup") == 0) {
		if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
			return -1;
		st->dedup = v[0] == '1';
	} else if (strcmp(line, "delivered") == 0) {
		return parse_ranges(&st->delivered, v);
	} else if (strcmp(line, "pending") == 0) {
		if ((name = strchr(v, ' ')) == NULL)
			return -1;
		*name++ = '\0';
		if (num_parse(v, UINT32_MAX, &n) == -1 || n == 0 ||
		    strchr(name, '/') != NULL || name[0] == '.' ||
		    strlen(name) >= DELIVER_NAME_MAX)
			return -1;
		state_add_pending(st, (uint32_t)n, name);
	} else
		return -1;
	return 0;
}

int
state_load(int dirfd, const char *mailbox, struct state *st)
{
	char	 file[1024];

	state_filename(mailbox, file, sizeof(file));
	return state_load_file(dirfd, file, st);
}

int
state_load_file(int dirfd, const char *file, struct state *st)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;
	FILE	*f;
	int	 fd, lineno = 0, bad = 0, seen_end = 0, have_uidvalidity = 0;

	memset(st, 0, sizeof(*st));
	if ((fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -1;
	}
	while (!bad && (len = getline(&line, &cap, f)) != -1) {
		/* Every line is whole and text; nothing follows "end". */
		if (len == 0 || line[len - 1] != '\n' || seen_end ||
		    strlen(line) != (size_t)len) {
			bad = 1;
			break;
		}
		line[--len] = '\0';
		if (lineno++ == 0)
			bad = strcmp(line, STATE_MAGIC) != 0;
		else if (strcmp(line, "end") == 0)
			seen_end = 1;
		else if (line[0] != '\0') {
			/* A second uidvalidity is damage, not an update. */
			if (strncmp(line, "uidvalidity ", 12) == 0)
				bad = have_uidvalidity++ > 0;
			bad = bad || parse_line(st, line) == -1;
		}
	}
	bad = bad || ferror(f) || !seen_end || !have_uidvalidity;
	free(line);
	fclose(f);
	if (bad) {
		state_free(st);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
write_state(FILE *f, const struct state *st)
{
	size_t	 i;

	fprintf(f, "%s\nuidvalidity %u\n", STATE_MAGIC, st->uidvalidity);
	if (st->delivered.n > 0) {
		fputs("delivered ", f);
		for (i = 0; i < st->delivered.n; i++) {
			const struct uidrange *r = &st->delivered.r[i];

			fprintf(f, i ? ",%u" : "%u", r->lo);
			if (r->hi != r->lo)
				fprintf(f, ":%u", r->hi);
		}
		fputc('\n', f);
	}
	if (st->dedup)
		fputs("dedup 1\n", f);
	for (i = 0; i < st->npend; i++)
		fprintf(f, "pending %u %s\n", st->pend[i].uid,
		    st->pend[i].name);
	fputs("end\n", f);
	return fflush(f) == EOF || ferror(f) ? -1 : 0;
}

int
state_save(int dirfd, const char *mailbox, const struct state *st)
{
	char	 file[1024];

	state_filename(mailbox, file, sizeof(file));
	return state_save_file(dirfd, file, st);
}

int
state_save_file(int dirfd, const char *file, const struct state *st)
{
	char	 tmp[1040];
	FILE	*f;
	int	 fd, saved;

	snprintf(tmp, sizeof(tmp), "%s.new", file);
	/* A fresh file, never one that is there (a crash's leftover, or a
	 * symbolic link that would have us write, then rename, elsewhere). */
	if (unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		goto fail;
	}
	/* Order matters: data durable before the rename publishes it. */
	if (write_state(f, st) == -1 || fdatasync(fd) == -1) {
		saved = errno;
		fclose(f);
		goto fail;
	}
	if (fclose(f) == EOF) {
		saved = errno;
		goto fail;
	}
	if (renameat(dirfd, tmp, dirfd, file) == -1) {
		saved = errno;
		goto fail;
	}
	return fsync(dirfd);
fail:
	(void)unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

int
state_dir(const char *maildrop)
{
	char	 path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/.imapfetch", maildrop) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Made durable at once: with after-fetch = none, a state lost in a
	 * crash means every message delivered again. */
	if (mkdir(path, 0700) == 0) {
		if (fsync_dir(maildrop) == -1)
			return -1;
	} else if (errno != EEXIST)
		return -1;
	/* Not through a symbolic link: the state and lock are ours. */
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int
state_lock(int dirfd)
{
	int	 fd, saved;

	/* A link as the lock is refused, not removed: another run may hold
	 * a lock on whatever it points to. */
	fd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return -1;
	/* flock: released by the kernel when we die, even by SIGKILL. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
