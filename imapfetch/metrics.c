/*
 * metrics.c: the Prometheus textfile (metrics.h).  This run's numbers are
 * kept per account and mailbox; at the end the old file is read back
 * under the directory's lock, strictly (only what write_file writes
 * parses), merged with them, and replaced.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "num.h"
#include "util.h"
#include "metrics.h"
#include "utf8.h"

/*
 * Largest old file read back.  A mailbox takes about 1 kB, so this is
 * room for thousands; the bound stops a wrong metrics-file (a log) from
 * being read whole.
 */
#define METRICS_FILE_MAX	(16 * 1024 * 1024)

/*
 * Milliseconds to wait for another imapfetch that is replacing the file
 * (it takes milliseconds).  After that we write anyway: at worst the
 * other run's numbers are lost, rather than ours.
 */
#define METRICS_LOCK_WAIT	10000

/* Kinds of failure, by exit code (kind_of). */
enum kind { K_NETWORK, K_PROTOCOL, K_AUTH, K_LOCAL, K_CONFIG, K_TEMPFAIL,
	NKINDS };

static const char *const kinds[NKINDS] = {
	"network", "protocol", "auth", "local", "config", "tempfail"
};

/* The metric families, in the order of the file. */
enum fam { M_RUN, M_EXIT, M_OK, M_SECS, M_MSGS, M_BYTES, M_FAIL,
	M_OLDMSGS, M_OLDBYTES, NMETRICS };

/* Labels of a family: none, account, account and mailbox, and kind. */
enum labels { L_NONE, L_ACCOUNT, L_MAILBOX, L_KIND };

static const char *const label_names[] = { "account", "mailbox", "kind" };

static const struct family {
	const char	*name;
	const char	*type;
	enum labels	 labels;
	const char	*help;		/* NULL: read, no longer written */
} fams[NMETRICS] = {
	{ "imapfetch_last_run_timestamp_seconds", "gauge", L_NONE,
	    "When imapfetch last ran." },
	{ "imapfetch_exit_code", "gauge", L_ACCOUNT,
	    "Exit code of the account's last run (0: success)." },
	{ "imapfetch_last_success_timestamp_seconds", "gauge", L_MAILBOX,
	    "When the mailbox was last fetched without an error (0: never)." },
	{ "imapfetch_last_run_duration_seconds", "gauge", L_MAILBOX,
	    "Seconds the last run spent on the mailbox." },
	{ "imapfetch_messages_fetched_total", "counter", L_MAILBOX,
	    "Messages delivered into the maildrop." },
	{ "imapfetch_bytes_fetched_total", "counter", L_MAILBOX,
	    "Bytes of the messages delivered into the maildrop." },
	{ "imapfetch_failures_total", "counter", L_KIND,
	    "Runs that failed for the mailbox, by kind of failure." },
	/* imapfetch 0.1 wrote these (last run, per account): an old file
	 * with them is ours, and they are dropped. */
	{ "imapfetch_messages_fetched", "gauge", L_ACCOUNT, NULL },
	{ "imapfetch_bytes_fetched", "gauge", L_ACCOUNT, NULL },
};

/* What the old file gave for a series: one bit per sample. */
#define H_OK		0x01
#define H_SECS		0x02
#define H_MSGS		0x04
#define H_BYTES		0x08
#define H_FAIL(k)	(0x10 << (k))

/* One account and mailbox: this run's numbers, the old file's, or both. */
struct series {
	char		*account;
	char		*mailbox;
	unsigned	 has;		/* H_*: read from the old file */
	int		 code;		/* this run: 0 or an exit code */
	double		 secs;
	uint64_t	 last_ok;	/* time(3) of the last success, or 0 */
	uint64_t	 msgs, bytes;
	uint64_t	 fail[NKINDS];
};

struct list {
	struct series	*v;
	size_t		 n, cap;
};

/* An exit code of the old file. */
struct code {
	char		*account;
	int		 code;
};

/* The old file, read: series sorted by account and mailbox, each once;
 * codes sorted by account, each once. */
struct old {
	struct list	 s;
	struct code	*codes;
	size_t		 ncodes, capcodes;
};

/* A section that fetches, or one this run saw. */
struct acct {
	char		*name;
	int		 fetches;	/* has an imap-host in the conf */
	int		 ran;		/* in this run */
	int		 done;		/* metrics_account: all its series */
	int		 code;		/* this run's exit code */
};

struct metrics {
	char		*path;		/* metrics-file, for messages */
	char		*dir;		/* its directory */
	char		*base;		/* its name there */
	struct acct	*acct;		/* sorted by name */
	size_t		 nacct;
	struct list	 run;		/* this run's series */
};

static enum kind
kind_of(int code)
{
	switch (code) {
	case EX_UNAVAILABLE:
		return K_NETWORK;
	case EX_PROTOCOL:
		return K_PROTOCOL;
	case EX_NOPERM:
		return K_AUTH;
	case EX_CONFIG:
	case EX_USAGE:
		return K_CONFIG;
	case EX_TEMPFAIL:
		return K_TEMPFAIL;
	default:		/* EX_CANTCREAT, EX_OSERR, EX_SOFTWARE */
		return K_LOCAL;
	}
}

/*
 * name as a label value, allocated: any case of INBOX is INBOX (as in
 * sync_mailbox), and what is not UTF-8 becomes U+FFFD, since one bad byte
 * would make the node exporter refuse the whole file.  An empty name (the
 * configuration has none) would be no label at all: U+FFFD too.
 */
static char *
label_value(const char *name, int mailbox)
{
	const unsigned char	*p = (const unsigned char *)name;
	char			*out;
	uint32_t		 cp;
	size_t			 n, len = 0;

	if (mailbox && strcasecmp(name, "INBOX") == 0)
		return xstrdup("INBOX");
	out = xmalloc(3 * strlen(name) + 4);
	for (; *p != '\0'; p += n) {
		if ((n = utf8_decode(p, &cp)) != 0) {
			memcpy(out + len, p, n);
			len += n;
		} else {
			memcpy(out + len, "\xef\xbf\xbd", 3);
			len += 3;
			n = 1;
		}
	}
	if (len == 0) {
		memcpy(out, "\xef\xbf\xbd", 3);
		len = 3;
	}
	out[len] = '\0';
	return out;
}

/* bsearch(3) and qsort(3) want an array, even one of no element. */
static void *
find(const void *key, const void *v, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	return n == 0 ? NULL : bsearch(key, v, n, size, cmp);
}

static void
sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

static int
cmp_series(const void *a, const void *b)
{
	const struct series	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->account, y->account)) != 0)
		return c;
	return strcmp(x->mailbox, y->mailbox);
}

static int
cmp_code(const void *a, const void *b)
{
	return strcmp(((const struct code *)a)->account,
	    ((const struct code *)b)->account);
}

static int
cmp_acct(const void *key, const void *a)
{
	return strcmp(key, ((const struct acct *)a)->name);
}

/* A new zeroed series at the end of l, sharing account and mailbox. */
static struct series *
list_add(struct list *l, char *account, char *mailbox)
{
	struct series	*s;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	s = &l->v[l->n++];
	memset(s, 0, sizeof(*s));
	s->account = account;
	s->mailbox = mailbox;
	return s;
}

static void
list_free_names(struct list *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].account);
		free(l->v[i].mailbox);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void
old_free(struct old *o)
{
	size_t	 i;

	list_free_names(&o->s);
	for (i = 0; i < o->ncodes; i++)
		free(o->codes[i].account);
	free(o->codes);
	memset(o, 0, sizeof(*o));
}

static struct acct *
acct_find(const struct metrics *m, const char *name)
{
	return find(name, m->acct, m->nacct, sizeof(*m->acct), cmp_acct);
}

/* The entry of name, added (in order) when there is none. */
static struct acct *
acct_get(struct metrics *m, const char *name)
{
	struct acct	*a;
	size_t		 i;

	if ((a = acct_find(m, name)) != NULL)
		return a;
	for (i = 0; i < m->nacct && strcmp(m->acct[i].name, name) < 0; i++)
		;
	m->acct = xreallocarray(m->acct, m->nacct + 1, sizeof(*m->acct));
	memmove(&m->acct[i + 1], &m->acct[i],
	    (m->nacct - i) * sizeof(*m->acct));
	m->nacct++;
	memset(&m->acct[i], 0, sizeof(*m->acct));
	m->acct[i].name = xstrdup(name);
	return &m->acct[i];
}

struct metrics *
metrics_new(const struct conf *c)
{
	struct metrics	*m;
	const char	*slash;
	size_t		 i;

	if (c->metrics_file == NULL)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->path = xstrdup(c->metrics_file);
	if ((slash = strrchr(m->path, '/')) == NULL) {
		m->dir = xstrdup(".");
		m->base = xstrdup(m->path);
	} else {
		m->dir = xstrdup(m->path);
		m->dir[slash == m->path ? 1 : slash - m->path] = '\0';
		m->base = xstrdup(slash + 1);
	}
	for (i = 0; i < c->naccounts; i++)
		if (c->accounts[i].imap_host != NULL)
			acct_get(m, c->accounts[i].name)->fetches = 1;
	return m;
}

void
metrics_free(struct metrics *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nacct; i++)
		free(m->acct[i].name);
	free(m->acct);
	list_free_names(&m->run);
	free(m->path);
	free(m->dir);
	free(m->base);
	free(m);
}

/* This run's series of account and mailbox (label values), or NULL. */
static struct series *
run_find(struct metrics *m, const char *account, const char *mailbox)
{
	size_t	 i;

	for (i = 0; i < m->run.n; i++)
		if (strcmp(m->run.v[i].account, account) == 0 &&
		    strcmp(m->run.v[i].mailbox, mailbox) == 0)
			return &m->run.v[i];
	return NULL;
}

void
metrics_add(struct metrics *m, const char *account, const char *mailbox,
    const struct tally *t, double secs, int code)
{
	struct series	*s;
	struct acct	*a;
	char		*acc, *box;

	if (m == NULL)
		return;
	acc = label_value(account, 0);
	box = label_value(mailbox, 1);
	if ((s = run_find(m, acc, box)) == NULL)
		s = list_add(&m->run, acc, box);
	else {
		free(acc);
		free(box);
	}
	s->msgs += t->nnew;
	s->bytes += t->bytes;
	s->secs += secs > 0 && secs < 1e9 ? secs : 0;	/* not NaN either */
	s->code = ex_worst(s->code, code);
	a = acct_get(m, s->account);
	a->ran = 1;
	a->code = ex_worst(a->code, code);
}

void
metrics_account(struct metrics *m, const struct account *a, double secs,
    int code)
{
	static const struct tally	 none;
	struct acct			*ac;
	char				*acc, *box;
	size_t				 i;

	if (m == NULL)
		return;
	acc = label_value(a->name, 0);
	for (i = 0; i < a->nmailboxes; i++) {
		box = label_value(a->mailboxes[i], 1);
		if (run_find(m, acc, box) == NULL)
			metrics_add(m, a->name, a->mailboxes[i], &none, secs,
			    code);
		free(box);
	}
	ac = acct_get(m, acc);
	ac->ran = ac->done = 1;
	ac->code = code;
	free(acc);
}

double
metrics_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Reading the old file back.  Each sample becomes a record; sorting and
 * merging them (old_merge) gives the series, and finds those given twice.
 */

struct parser {
	struct old	*o;
	int		 cur;		/* family of the last TYPE line; -1 */
	unsigned	 help, type;	/* families whose HELP, TYPE came */
	int		 runs;		/* last_run_timestamp samples */
};

static int
family(const char *s, size_t len)
{
	int	 f;

	for (f = 0; f < NMETRICS; f++)
		if (strlen(fams[f].name) == len &&
		    memcmp(fams[f].name, s, len) == 0)
			return f;
	return -1;
}

/* "# HELP name text" or "# TYPE name type".  NULL, or what is wrong. */
static const char *
parse_comment(struct parser *p, char *s)
{
	unsigned	*seen;
	size_t		 n;
	int		 f;

	if (strncmp(s, "# HELP ", 7) == 0)
		seen = &p->help;
	else if (strncmp(s, "# TYPE ", 7) == 0)
		seen = &p->type;
	else
		return "a comment imapfetch does not write";
	s += 7;
	n = strcspn(s, " ");
	if ((f = family(s, n)) == -1)
		return "a metric imapfetch does not write";
	if (s[n] != ' ' || (*seen & 1u << f) != 0)
		return "a bad or repeated HELP or TYPE line";
	*seen |= 1u << f;
	if (seen == &p->type) {
		if (strcmp(s + n + 1, fams[f].type) != 0)
			return "a metric of another type";
		p->cur = f;
	}
	return NULL;
}

/*
 * name="value" at *s: the value unescaped in place (\\, \" and \n, as
 * the text format says), *s past its closing quote.  NULL when malformed,
 * empty or not UTF-8.
 */
static char *
parse_label(char **s, const char *name)
{
	size_t	 n = strlen(name);
	char	*v, *d, *q;

	if (strncmp(*s, name, n) != 0 || (*s)[n] != '=' || (*s)[n + 1] != '"')
		return NULL;
	v = d = q = *s + n + 2;
	for (; *q != '"'; q++) {
		if (*q == '\0')
			return NULL;
		if (*q != '\\')
			*d++ = *q;
		else if (*++q == 'n')
			*d++ = '\n';
		else if (*q == '\\' || *q == '"')
			*d++ = *q;
		else
			return NULL;
	}
	*s = q + 1;
	*d = '\0';
	return *v != '\0' && utf8_valid(v) ? v : NULL;
}

/* {account="a"[,mailbox="m"[,kind="k"]]}, exactly, into lab[]. */
static const char *
parse_labels(char **s, enum labels l, char **lab)
{
	int	 i;

	if (**s != '{')
		return "labels missing";
	for (i = 0; i < (int)l; i++) {
		(*s)++;
		if ((lab[i] = parse_label(s, label_names[i])) == NULL)
			return "a bad label";
		if (**s != (i == (int)l - 1 ? '}' : ','))
			return "other labels than imapfetch writes";
	}
	(*s)++;
	return NULL;
}

/* Seconds as written: digits, then maybe '.' and digits. */
static int
parse_secs(const char *s, double *out)
{
	size_t	 n = strspn(s, "0123456789");

	if (n > 0 && s[n] == '.' && strspn(s + n + 1, "0123456789") > 0)
		n += 1 + strspn(s + n + 1, "0123456789");
	if (n == 0 || s[n] != '\0' || n > 32)
		return -1;
	*out = strtod(s, NULL);
	return isfinite(*out) ? 0 : -1;
}

static void
code_add(struct old *o, const char *account, int code)
{
	if (o->ncodes == o->capcodes) {
		o->capcodes = o->capcodes ? o->capcodes * 2 : 16;
		o->codes = xreallocarray(o->codes, o->capcodes,
		    sizeof(*o->codes));
	}
	o->codes[o->ncodes].account = xstrdup(account);
	o->codes[o->ncodes++].code = code;
}

/* One sample of family f with labels lab and value val, recorded. */
static const char *
record(struct parser *p, int f, char **lab, const char *val)
{
	struct series	*s;
	uint64_t	 v = 0;
	double		 d = 0;
	int		 k = 0;

	if (f == M_SECS ? parse_secs(val, &d) == -1 : num_parse(val,
	    f == M_EXIT ? 255 : f == M_RUN || f == M_OK ? INT64_MAX :
	    UINT64_MAX, &v) == -1)
		return "a bad value";
	if (f == M_FAIL) {
		for (k = 0; k < NKINDS && strcmp(lab[2], kinds[k]) != 0; k++)
			;
		if (k == NKINDS)
			return "an unknown kind of failure";
	}
	switch (f) {
	case M_RUN:
		return p->runs++ == 0 ? NULL : "a repeated sample";
	case M_OLDMSGS:
	case M_OLDBYTES:
		return NULL;
	case M_EXIT:
		code_add(p->o, lab[0], (int)v);
		return NULL;
	}
	s = list_add(&p->o->s, xstrdup(lab[0]), xstrdup(lab[1]));
	switch (f) {
	case M_OK:
		s->has = H_OK;
		s->last_ok = v;
		break;
	case M_SECS:
		s->has = H_SECS;
		s->secs = d;
		break;
	case M_MSGS:
		s->has = H_MSGS;
		s->msgs = v;
		break;
	case M_BYTES:
		s->has = H_BYTES;
		s->bytes = v;
		break;
	default:
		s->has = H_FAIL(k);
		s->fail[k] = v;
	}
	return NULL;
}

/* name[{labels}] value: no timestamp, nothing else. */
static const char *
parse_sample(struct parser *p, char *s)
{
	char		*lab[3] = { NULL, NULL, NULL };
	const char	*why;
	size_t		 n = strcspn(s, "{ ");
	int		 f;

	if ((f = family(s, n)) == -1)
		return "a metric imapfetch does not write";
	if (f != p->cur)
		return "a sample before its TYPE line";
	s += n;
	if (fams[f].labels != L_NONE &&
	    (why = parse_labels(&s, fams[f].labels, lab)) != NULL)
		return why;
	if (*s++ != ' ')
		return "no value";
	return record(p, f, lab, s);
}

/*
 * Sorts the records into series (the samples of one series are on
 * different lines) and the exit codes; any sample twice is an error.
 */
static const char *
old_merge(struct old *o)
{
	struct series	*v = o->s.v, *d;
	size_t		 i, j, k;
	int		 twice = 0;

	sort(v, o->s.n, sizeof(*v), cmp_series);
	for (i = j = 0; i < o->s.n; i++) {
		if (j == 0 || cmp_series(&v[j - 1], &v[i]) != 0) {
			v[j++] = v[i];
			continue;
		}
		d = &v[j - 1];
		twice |= (d->has & v[i].has) != 0;
		d->has |= v[i].has;
		d->last_ok += v[i].last_ok;
		d->secs += v[i].secs;
		d->msgs += v[i].msgs;
		d->bytes += v[i].bytes;
		for (k = 0; k < NKINDS; k++)
			d->fail[k] += v[i].fail[k];
		free(v[i].account);
		free(v[i].mailbox);
	}
	o->s.n = j;
	sort(o->codes, o->ncodes, sizeof(*o->codes), cmp_code);
	for (i = 1; i < o->ncodes; i++)
		twice |= cmp_code(&o->codes[i - 1], &o->codes[i]) == 0;
	return twice ? "a sample repeated" : NULL;
}

/* buf[0..len) into o.  NULL, or what is wrong and on which *line. */
static const char *
parse(char *buf, size_t len, struct old *o, int *line)
{
	struct parser	 p;
	const char	*why = NULL;
	char		*s, *e;

	memset(&p, 0, sizeof(p));
	p.o = o;
	p.cur = -1;
	*line = 0;
	if (strlen(buf) != len)
		return "a NUL byte";
	if (len > 0 && buf[len - 1] != '\n')
		return "cut short";
	for (s = buf; why == NULL && *s != '\0'; s = e + 1) {
		(*line)++;
		e = strchr(s, '\n');
		*e = '\0';
		why = *s == '#' ? parse_comment(&p, s) : parse_sample(&p, s);
	}
	if (why != NULL)
		return why;
	*line = 0;
	return old_merge(o);
}

/*
 * The old file, whole and NUL-terminated, into *buf, and its permissions
 * into *mode.  0; 1 when there is none; -1 after logging why not.
 */
static int
slurp(const struct metrics *m, int dirfd, char **buf, size_t *len,
    mode_t *mode)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	/* Not a FIFO's writer we wait for, nor a link's target. */
	if ((fd = openat(dirfd, m->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		log_warn("metrics-file %s: not read back, counters start "
		    "again from 0", m->path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("metrics-file %s: not read back, counters start "
		    "again from 0", m->path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > METRICS_FILE_MAX) {
		log_warnx("metrics-file %s: %s: ignored, counters start again "
		    "from 0", m->path, S_ISREG(st.st_mode) ? "too large" :
		    "not a regular file");
		close(fd);
		return -1;
	}
	*mode = st.st_mode & 0666;
	*buf = xmalloc((size_t)st.st_size + 1);
	/* Replaced by rename, never rewritten: it cannot grow under us. */
	for (*len = 0; *len < (size_t)st.st_size; *len += (size_t)n)
		if ((n = read(fd, *buf + *len, (size_t)st.st_size - *len)) <= 0)
			break;
	(*buf)[*len] = '\0';
	close(fd);
	return 0;
}

/* The old file into o: empty when there is none, or it is not ours. */
static void
load(const struct metrics *m, int dirfd, struct old *o, mode_t *mode)
{
	const char	*why;
	char		*buf = NULL;
	size_t		 len;
	int		 line;

	if (slurp(m, dirfd, &buf, &len, mode) != 0)
		return;
	if ((why = parse(buf, len, o, &line)) != NULL) {
		if (line > 0)
			log_warnx("metrics-file %s: line %d: %s: damaged, or "
			    "not imapfetch's: ignored, counters start again "
			    "from 0", m->path, line, why);
		else
			log_warnx("metrics-file %s: %s: damaged, or not "
			    "imapfetch's: ignored, counters start again from 0",
			    m->path, why);
		old_free(o);
	}
	free(buf);
}

/*
 * The series of the new file, sorted, into out (which shares their
 * names): this run's added to the old ones; the other old ones kept as
 * they were if their account still fetches, unless metrics_account said
 * which mailboxes it has now.
 */
static void
merge(struct metrics *m, const struct old *o, time_t now, struct list *out)
{
	const struct series	*s, *p;
	const struct acct	*a;
	struct series		*d;
	size_t			 i, k;

	sort(m->run.v, m->run.n, sizeof(*m->run.v), cmp_series);
	for (i = 0; i < o->s.n; i++) {
		a = acct_find(m, o->s.v[i].account);
		if (a != NULL && a->fetches && !a->done &&
		    find(&o->s.v[i], m->run.v, m->run.n, sizeof(*m->run.v),
		    cmp_series) == NULL)
			*list_add(out, NULL, NULL) = o->s.v[i];
	}
	for (i = 0; i < m->run.n; i++) {
		s = &m->run.v[i];
		p = find(s, o->s.v, o->s.n, sizeof(*s), cmp_series);
		d = list_add(out, s->account, s->mailbox);
		d->secs = s->secs;
		d->last_ok = s->code == 0 ? (uint64_t)now : p ? p->last_ok : 0;
		d->msgs = (p ? p->msgs : 0) + s->msgs;
		d->bytes = (p ? p->bytes : 0) + s->bytes;
		for (k = 0; k < NKINDS; k++)
			d->fail[k] = p ? p->fail[k] : 0;
		if (s->code != 0)
			d->fail[kind_of(s->code)]++;
	}
	sort(out->v, out->n, sizeof(*out->v), cmp_series);
}

/* s as a label value of the text format. */
static void
put_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			putc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			putc(*s, f);
	}
}

static void
put_head(FILE *f, int fam)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fams[fam].name,
	    fams[fam].help, fams[fam].name, fams[fam].type);
}

/* The sample of family fam for series s (and kind k). */
static void
put_series(FILE *f, int fam, const struct series *s, int k)
{
	fprintf(f, "%s{account=\"", fams[fam].name);
	put_escaped(f, s->account);
	fputs("\",mailbox=\"", f);
	put_escaped(f, s->mailbox);
	if (fam == M_FAIL)
		fprintf(f, "\",kind=\"%s", kinds[k]);
	fputs("\"} ", f);
	if (fam == M_SECS)
		fprintf(f, "%.3f\n", s->secs);
	else
		fprintf(f, "%llu\n", (unsigned long long)(fam == M_OK ?
		    s->last_ok : fam == M_MSGS ? s->msgs : fam == M_BYTES ?
		    s->bytes : s->fail[k]));
}

/* The exit code of every account that ran, or that still fetches and
 * has one in the old file. */
static void
put_codes(FILE *f, const struct metrics *m, const struct old *o)
{
	const struct code	*c;
	struct code		 key;
	size_t			 i;

	put_head(f, M_EXIT);
	for (i = 0; i < m->nacct; i++) {
		key.account = m->acct[i].name;
		c = m->acct[i].ran ? NULL : find(&key, o->codes, o->ncodes,
		    sizeof(*o->codes), cmp_code);
		if (!m->acct[i].ran && (c == NULL || !m->acct[i].fetches))
			continue;
		fprintf(f, "%s{account=\"", fams[M_EXIT].name);
		put_escaped(f, m->acct[i].name);
		fprintf(f, "\"} %d\n", c != NULL ? c->code : m->acct[i].code);
	}
}

static void
put_all(FILE *f, const struct metrics *m, const struct old *o,
    const struct list *out, time_t now)
{
	size_t	 i;
	int	 fam, k;

	put_head(f, M_RUN);
	fprintf(f, "%s %lld\n", fams[M_RUN].name, (long long)now);
	put_codes(f, m, o);
	for (fam = M_OK; fam <= M_FAIL; fam++) {
		put_head(f, fam);
		for (i = 0; i < out->n; i++)
			for (k = 0; k < (fam == M_FAIL ? NKINDS : 1); k++)
				put_series(f, fam, &out->v[i], k);
	}
}

/*
 * A fresh file beside the old one, written, fsync'd, renamed over it;
 * then the directory fsync'd.  mode: the old file's permissions (the
 * admin's choice of who reads it), not the umask's (the units' 0077 would
 * keep the node exporter out).
 */
static int
replace(const struct metrics *m, int dirfd, const struct old *o,
    const struct list *out, mode_t mode, time_t now)
{
	char	 tmp[4096];
	FILE	*f = NULL;
	int	 fd = -1, saved;

	/* node_exporter reads *.prom files: ours must not end so. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", m->base,
	    (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	/* A fresh file, not a leftover nor a link planted in a directory
	 * that other producers of metrics may share. */
	(void)unlinkat(dirfd, tmp, 0);
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1 || fchmod(fd, mode) == -1 ||
	    (f = fdopen(fd, "w")) == NULL)
		goto fail;
	put_all(f, m, o, out, now);
	/* Whole (an earlier failed write shows only in ferror) and durable
	 * before it replaces the old file: never half a file. */
	if (fflush(f) == EOF || ferror(f) || fsync(fd) == -1)
		goto fail;
	saved = fclose(f);
	f = NULL;
	fd = -1;
	if (saved == EOF || renameat(dirfd, tmp, dirfd, m->base) == -1)
		goto fail;
	if (fsync(dirfd) == -1) {
		log_warn("metrics-file %s: fsync of its directory", m->path);
		return -1;
	}
	return 0;
fail:
	saved = errno;
	if (f != NULL)
		fclose(f);
	else if (fd != -1)
		close(fd);
	(void)unlinkat(dirfd, tmp, 0);
	errno = saved;
	log_warn("metrics-file %s", m->path);
	return -1;
}

/*
 * Waits, METRICS_LOCK_WAIT at most, for the directory's lock.  Polled:
 * a blocking flock(2) could hang this run (and its unit, which its timer
 * then does not start again) behind a stopped one.
 */
static void
lock_dir(const struct metrics *m, int dirfd)
{
	struct timespec	 pause = { 0, 10 * 1000 * 1000 };
	int		 waited;

	for (waited = 0; flock(dirfd, LOCK_EX | LOCK_NB) == -1; waited += 10) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			log_warn("metrics-file %s: locking its directory",
			    m->path);
			return;
		}
		if (waited >= METRICS_LOCK_WAIT) {
			log_warnx("metrics-file %s: another imapfetch holds "
			    "the lock of its directory: writing anyway",
			    m->path);
			return;
		}
		nanosleep(&pause, NULL);
	}
}

/* Written: the next metrics_write adds only what comes after. */
static void
forget_run(struct metrics *m)
{
	size_t	 i;

	list_free_names(&m->run);
	for (i = 0; i < m->nacct; i++)
		m->acct[i].ran = m->acct[i].done = m->acct[i].code = 0;
}

int
metrics_write(struct metrics *m)
{
	struct old	 o;
	struct list	 out;
	mode_t		 mode = 0644;
	time_t		 now = time(NULL);
	int		 dirfd, r;

	if (m == NULL)
		return 0;
	if ((dirfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("metrics-file %s: %s", m->path, m->dir);
		return -1;
	}
	/* Read, merge and replace as one step: two runs (imapfetch@.timer
	 * for two accounts) must not each write the file it read. */
	lock_dir(m, dirfd);
	memset(&o, 0, sizeof(o));
	memset(&out, 0, sizeof(out));
	load(m, dirfd, &o, &mode);
	merge(m, &o, now, &out);
	r = replace(m, dirfd, &o, &out, mode, now);
	free(out.v);
	old_free(&o);
	close(dirfd);
	if (r == 0)
		forget_run(m);
	return r;
}
