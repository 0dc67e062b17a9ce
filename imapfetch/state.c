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

#define STATE_MAGIC	"imapfetch-state 2"
#define STATE_MAGIC_V1	"imapfetch-state 1"

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
	free(st->account);
	state_settle(st);
	free(st->pend);
	uidset_free(&st->delivered);
	memset(st, 0, sizeof(*st));
}

/*
 * Appends the encoding of s to out (o bytes used, room for cap):
 * [A-Za-z0-9_-] and dots not at the start of the file name are kept, %XX
 * stands for the rest, as in URLs.  Stops once more than max bytes are
 * used.  Returns the new length.
 */
static size_t
encode(const char *s, char *out, size_t o, size_t max)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0' && o <= max; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    (*p == '.' && o > 0))
			out[o++] = (char)*p;
		else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	return o;
}

/*
 * The file name of the n parts, joined by '+' (never in an encoding).  A
 * name whose encoding is too long for a file name keeps its first part and
 * gains "~" and a digest of the whole ('~' is never in an encoding either),
 * so distinct names still get distinct files.  The digest of one part is
 * version 1's: of its bytes alone.
 */
static void
name_of(const char *const *parts, size_t n, char *out, size_t len)
{
	struct sha256	 sha;
	unsigned char	 d[32];
	char		 enc[STATE_NAME_MAX + 4];
	size_t		 i, o = 0;

	for (i = 0; i < n && o <= STATE_NAME_MAX; i++) {
		if (i > 0)
			enc[o++] = '+';
		o = encode(parts[i], enc, o, STATE_NAME_MAX);
	}
	if (o <= STATE_NAME_MAX) {
		snprintf(out, len, "%.*s.state", (int)o, enc);
		return;
	}
	sha256_init(&sha);
	for (i = 0; i < n; i++)		/* with the NULs: a+b is not ab */
		sha256_update(&sha, parts[i], strlen(parts[i]) + (n > 1));
	sha256_final(&sha, d);
	snprintf(out, len, "%.*s~%02x%02x%02x%02x%02x%02x%02x%02x"
	    "%02x%02x%02x%02x%02x%02x%02x%02x.state", STATE_NAME_KEEP, enc,
	    d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9],
	    d[10], d[11], d[12], d[13], d[14], d[15]);
}

void
state_filename(const char *mailbox, char *out, size_t len)
{
	name_of(&mailbox, 1, out, len);
}

/* The host as it names a state: any case of a host name is that host. */
static char *
lower_host(const char *host)
{
	char	*h = xstrdup(host), *p;

	for (p = h; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return h;
}

void
state_idname(const struct stateid *id, char *out, size_t len)
{
	char		 port[12], *host = lower_host(id->host);
	const char	*parts[4];

	snprintf(port, sizeof(port), "%u", id->port);
	parts[0] = host;
	parts[1] = port;
	parts[2] = id->user;
	parts[3] = id->mailbox;
	name_of(parts, 4, out, len);
	free(host);
}

/* The account line's value for id, whole (never cut): malloc'd. */
static char *
id_line(const struct stateid *id)
{
	size_t	 max = 3 * (strlen(id->host) + strlen(id->user) +
		    strlen(id->mailbox)) + 32, o;
	char	*s = xreallocarray(NULL, max + 4, 1), *host = lower_host(id->host);

	/* "." at the start is kept here: this is no file name. */
	s[0] = ' ';
	o = encode(host, s, 1, max);
	o += snprintf(s + o, max - o, " %u ", id->port);
	o = encode(id->user, s, o, max);
	s[o++] = ' ';
	o = encode(id->mailbox, s, o, max);
	s[o] = '\0';
	memmove(s, s + 1, o);
	free(host);
	return s;
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
	if (strcmp(line, "account") == 0) {
		if (st->account != NULL || *v == '\0')
			return -1;
		st->account = xstrdup(v);
	} else if (strcmp(line, "uidvalidity") == 0) {
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
state_load_file(int dirfd, const char *file, struct state *st)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;
	FILE	*f;
	int	 fd, lineno = 0, bad = 0, seen_end = 0, have_uidvalidity = 0;
	int	 v1 = 0;

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
		if (lineno++ == 0) {
			v1 = strcmp(line, STATE_MAGIC_V1) == 0;
			bad = !v1 && strcmp(line, STATE_MAGIC) != 0;
		}
		else if (strcmp(line, "end") == 0)
			seen_end = 1;
		else if (line[0] != '\0') {
			/* A second uidvalidity is damage, not an update. */
			if (strncmp(line, "uidvalidity ", 12) == 0)
				bad = have_uidvalidity++ > 0;
			bad = bad || parse_line(st, line) == -1;
		}
	}
	/* Version 2 names its account; version 1 cannot. */
	bad = bad || ferror(f) || !seen_end || !have_uidvalidity ||
	    v1 != (st->account == NULL);
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

	if (st->account != NULL)
		fprintf(f, "%s\naccount %s\n", STATE_MAGIC, st->account);
	else
		fputs(STATE_MAGIC_V1 "\n", f);
	fprintf(f, "uidvalidity %u\n", st->uidvalidity);
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

/*
 * Writes st as <file>.new; with sync, fdatasync'd.  Removes it on
 * failure.
 */
static int
write_new(int dirfd, const char *file, const struct state *st, int sync)
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
	if (write_state(f, st) == -1 || (sync && fdatasync(fd) == -1)) {
		saved = errno;
		fclose(f);
		goto fail;
	}
	if (fclose(f) == EOF) {
		saved = errno;
		goto fail;
	}
	return 0;
fail:
	(void)unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

/*
 * Renames <file>.new over file, fsyncs the directory; with sync, the new
 * copy is fdatasync'd first.
 */
static int
publish(int dirfd, const char *file, int sync)
{
	char	 tmp[1040];
	int	 saved;

	snprintf(tmp, sizeof(tmp), "%s.new", file);
	if ((sync && fdatasync_at(dirfd, tmp) == -1) ||
	    renameat(dirfd, tmp, dirfd, file) == -1) {
		saved = errno;
		(void)unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	return fsync(dirfd);
}

int
state_save_file(int dirfd, const char *file, const struct state *st)
{
	/* Order matters: data durable before the rename publishes it. */
	if (write_new(dirfd, file, st, 1) == -1)
		return -1;
	return publish(dirfd, file, 0);
}

int
state_stage(int dirfd, const struct stateid *id, struct state *st)
{
	char	 file[STATE_NAME_MAX + 64];

	if (st->account == NULL)
		st->account = id_line(id);
	state_idname(id, file, sizeof(file));
	return write_new(dirfd, file, st, 0);
}

int
state_publish(int dirfd, const struct stateid *id, int sync)
{
	char	 file[STATE_NAME_MAX + 64];

	state_idname(id, file, sizeof(file));
	return publish(dirfd, file, sync);
}

int
state_load(int dirfd, const struct stateid *id, struct state *st)
{
	char	 file[STATE_NAME_MAX + 64], *want = id_line(id);

	state_idname(id, file, sizeof(file));
	if (state_load_file(dirfd, file, st) == -1) {
		free(want);
		return -1;
	}
	if (st->account == NULL && st->uidvalidity == 0 &&
	    st->delivered.n == 0 && st->npend == 0) {
		st->account = want;	/* no file: a fresh state of id */
		return 0;
	}
	if (st->account == NULL || strcmp(st->account, want) != 0) {
		free(want);
		state_free(st);
		errno = EINVAL;
		return -1;
	}
	free(want);
	return 0;
}

int
state_save(int dirfd, const struct stateid *id, struct state *st)
{
	char	 file[STATE_NAME_MAX + 64];

	if (st->account == NULL)
		st->account = id_line(id);
	state_idname(id, file, sizeof(file));
	return state_save_file(dirfd, file, st);
}

int
state_adopt_legacy(int dirfd, const struct stateid *id, struct state *st)
{
	struct stat	 sb;
	char		 old[STATE_NAME_MAX + 64], file[STATE_NAME_MAX + 64];
	struct state	 tmp;

	state_filename(id->mailbox, old, sizeof(old));
	state_idname(id, file, sizeof(file));
	if (fstatat(dirfd, file, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	if (state_load_file(dirfd, old, &tmp) == -1)
		return -1;
	if (tmp.account != NULL || tmp.uidvalidity == 0) {
		state_free(&tmp);	/* none, or not a version 1 file */
		return 0;
	}
	/* Saved under the new name before the old one goes: a crash in
	 * between leaves both, and the new one wins. */
	if (state_save(dirfd, id, &tmp) == -1 ||
	    unlinkat(dirfd, old, 0) == -1 || fsync(dirfd) == -1) {
		state_free(&tmp);
		return -1;
	}
	state_free(st);
	*st = tmp;
	return 1;
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
