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
#include "util.h"
#include "deliver.h"
#include "state.h"

#define STATE_MAGIC	"imapfetch-state 1"

void
uidset_add(struct uidset *s, uint32_t uid)
{
	size_t	 lo = 0, hi = s->n, i;

	/* First range whose hi >= uid - 1 (binary search). */
	while (lo < hi) {
		i = (lo + hi) / 2;
		if ((uint64_t)s->r[i].hi + 1 < uid)
			lo = i + 1;
		else
			hi = i;
	}
	i = lo;
	if (i < s->n && s->r[i].lo <= uid && uid <= s->r[i].hi)
		return;
	if (i < s->n && s->r[i].hi + 1 == uid) {
		s->r[i].hi = uid;
		/* Joins the next range when the gap closes. */
		if (i + 1 < s->n && s->r[i + 1].lo == uid + 1) {
			s->r[i].hi = s->r[i + 1].hi;
			memmove(&s->r[i + 1], &s->r[i + 2],
			    (s->n - i - 2) * sizeof(*s->r));
			s->n--;
		}
		return;
	}
	if (i < s->n && s->r[i].lo == uid + 1) {
		s->r[i].lo = uid;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->r = xreallocarray(s->r, s->cap, sizeof(*s->r));
	}
	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
	s->r[i].lo = s->r[i].hi = uid;
	s->n++;
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

void
state_filename(const char *mailbox, char *out, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)mailbox;
	size_t			 o = 0;

	/* Keep [A-Za-z0-9_-] and inner dots; %XX for the rest, as in URLs. */
	for (; *p != '\0' && o + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    (*p == '.' && o > 0))
			out[o++] = *p;
		else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	snprintf(out + o, len - o, ".state");
}

/* Parses "lo[:hi],..." into the set; 0 or -1. */
static int
parse_ranges(struct uidset *s, char *v)
{
	char		*tok, *colon, *save = NULL;
	uint64_t	 lo, hi, u;

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
		/* Saved sets are sorted: append whole ranges when we can. */
		if (s->n == 0 || lo > (uint64_t)s->r[s->n - 1].hi + 1) {
			uidset_add(s, (uint32_t)lo);
			s->r[s->n - 1].hi = (uint32_t)hi;
			continue;
		}
		for (u = lo; u <= hi; u++)
			uidset_add(s, (uint32_t)u);
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
		st->dedup = strcmp(v, "1") == 0;
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
	int	 fd, lineno = 0, bad = 0;

	memset(st, 0, sizeof(*st));
	if ((fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -1;
	}
	while (!bad && (len = getline(&line, &cap, f)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (lineno++ == 0)
			bad = strcmp(line, STATE_MAGIC) != 0;
		else if (line[0] != '\0')
			bad = parse_line(st, line) == -1;
	}
	bad = bad || ferror(f) || lineno == 0;
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
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
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
