/*
 * sync.c: one mailbox: SELECT, UIDVALIDITY check, search, sizes, batches,
 * flags.  The batch itself (fetch, deliver, record) is in fetch.c.
 *
 * A dry run (-n, run->dryrun) goes the same way up to the sizes, with
 * EXAMINE, and then says what it would do: no state is written, nothing
 * flagged, and the maildrop is not needed (dl is NULL; statefd is -1
 * when the maildrop has no .imapfetch yet).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "metrics.h"
#include "sync.h"
#include "utf7.h"

#define UIDS_PER_COMMAND	500	/* keeps command lines short */

static int
cmp_uid(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A growing array of UIDs. */
struct uidlist {
	uint32_t	*v;
	size_t		 n, cap;
};

static void
uidlist_add(struct uidlist *l, uint32_t uid)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = uid;
}

static struct mailimap_search_key *
key_type(int type)
{
	return mailimap_search_key_new(type, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL,
	    NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL);
}

static struct mailimap_set *
uid_set(const uint32_t *uids, size_t n)
{
	struct mailimap_set	*set;
	size_t			 i;

	if ((set = mailimap_set_new_empty()) == NULL)
		fatalx(EX_OSERR, "out of memory");
	for (i = 0; i < n; i++)
		if (mailimap_set_add_single(set, uids[i]) != MAILIMAP_NO_ERROR)
			fatalx(EX_OSERR, "out of memory");
	return set;
}

/* What a dry run found, for its line. */
struct plan {
	size_t		 nflag;		/* delivered earlier, to flag */
	size_t		 npend;		/* left by an interrupted run */
	uint64_t	 bytes;		/* announced, of mb->work */
};

/*
 * The server refused to open the mailbox (NO): said once, naming it as
 * configured, with the server's reason ("Mailbox doesn't exist: ...").
 * A name that reads as modified UTF-7 already (written as another client
 * shows it) gets a hint.
 */
static int
refused(struct mbox *mb, const char *cmd)
{
	const char	*text = mb->conn->imap->imap_response;
	char		*utf8, hint[256] = "";

	if (strchr(mb->name, '&') != NULL &&
	    (utf8 = utf7_decode(mb->name)) != NULL) {
		if (strcmp(utf8, mb->name) != 0)
			snprintf(hint, sizeof(hint), "; names are written in "
			    "UTF-8 in %s: \"%s\"?", mb->run->conffile, utf8);
		free(utf8);
	}
	log_warnx("%s/%s: the server refused to open it (%s: %s)%s",
	    mb->acct->name, mb->name, cmd, text != NULL ? text : "no text",
	    hint);
	return EX_UNAVAILABLE;
}

/* SELECT, or EXAMINE when the server must be left untouched. */
static int
select_box(struct mbox *mb, const char *wire, uint32_t *uidvalidity)
{
	mailimap	*imap = mb->conn->imap;
	int		 r, ro;

	ro = mb->acct->after_fetch == AF_NONE || mb->run->dryrun;
	if (ro)
		r = mailimap_examine(imap, wire);
	else
		r = mailimap_select(imap, wire);
	/* A NO leaves the session as it was (RFC 3501 6.3.1): the other
	 * mailboxes can still be fetched. */
	if (r == MAILIMAP_ERROR_EXAMINE || r == MAILIMAP_ERROR_SELECT)
		return refused(mb, ro ? "EXAMINE" : "SELECT");
	if (r != MAILIMAP_NO_ERROR)
		return conn_fail(mb->conn, r, ro ? "EXAMINE" : "SELECT");
	if (imap->imap_selection_info == NULL ||
	    imap->imap_selection_info->sel_uidvalidity == 0) {
		log_warnx("%s/%s: the server sent no UIDVALIDITY",
		    mb->acct->name, mb->name);
		return EX_PROTOCOL;
	}
	*uidvalidity = imap->imap_selection_info->sel_uidvalidity;
	return 0;
}

/* Messages of type (UNSEEN, ALL, UNDELETED); SINCE when since is set. */
static struct mailimap_search_key *
search_key(struct mbox *mb, int type, int since)
{
	struct mailimap_search_key	*k;
	struct tm			 tm;
	time_t				 t;

	if ((k = mailimap_search_key_new_multiple_empty()) == NULL)
		fatalx(EX_OSERR, "out of memory");
	mailimap_search_key_multiple_add(k, key_type(type));
	if (since && mb->acct->max_age_days > 0) {
		t = time(NULL) - (time_t)mb->acct->max_age_days * 86400;
		gmtime_r(&t, &tm);
		mailimap_search_key_multiple_add(k,
		    mailimap_search_key_new_since(mailimap_date_new(
		    tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900)));
	}
	return k;
}

/*
 * UID SEARCH with k (freed).  The UIDs go to *in (those delivered) and
 * *out (the others); either may be NULL for "not wanted".
 */
static int
search_split(struct mbox *mb, struct mailimap_search_key *k,
    struct uidlist *in, struct uidlist *out)
{
	clist		*res = NULL;
	clistiter	*ci;
	uint32_t	 uid;
	int		 r;

	r = mailimap_uid_search(mb->conn->imap, NULL, k, &res);
	mailimap_search_key_free(k);
	if (r != MAILIMAP_NO_ERROR)
		return conn_fail(mb->conn, r, "UID SEARCH");
	for (ci = clist_begin(res); ci != NULL; ci = clist_next(ci)) {
		uid = *(uint32_t *)clist_content(ci);
		if (uidset_has(&mb->st.delivered, uid)) {
			if (in != NULL)
				uidlist_add(in, uid);
		} else if (out != NULL)
			uidlist_add(out, uid);
	}
	mailimap_search_result_free(res);
	return 0;
}

/*
 * What to fetch: the messages fetch = unseen | all selects, less those
 * recorded as delivered; the same whatever after-fetch says, so that a
 * message the server failed to send once, or one that was too large, is
 * fetched when it can be.  What to flag: the delivered ones that are not
 * flagged yet (a run died between the delivery and the STORE).
 */
static int
search(struct mbox *mb, struct uidlist *fetch, struct uidlist *flag)
{
	const struct account	*a = mb->acct;
	int			 r, fkey, gkey;

	fkey = a->fetch == FW_ALL ? MAILIMAP_SEARCH_KEY_ALL :
	    MAILIMAP_SEARCH_KEY_UNSEEN;
	/* To delete: all that is still there, \Deleted or not (a run cut
	 * between STORE and EXPUNGE leaves them flagged, not gone). */
	gkey = a->after_fetch == AF_SEEN ? MAILIMAP_SEARCH_KEY_UNSEEN :
	    MAILIMAP_SEARCH_KEY_ALL;
	if (a->after_fetch != AF_NONE && fkey == gkey &&
	    a->max_age_days == 0)
		return search_split(mb, search_key(mb, fkey, 0), flag, fetch);
	r = search_split(mb, search_key(mb, fkey, 1), NULL, fetch);
	if (r == 0 && a->after_fetch != AF_NONE)
		r = search_split(mb, search_key(mb, gkey, 0), flag, NULL);
	return r;
}

static int
cmp_want(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/*
 * Adds the (UID, RFC822.SIZE) pairs of one FETCH result to *w.  Only UIDs
 * in asked (sorted) count: a server may add FETCH responses of its own
 * (a flag changed by another client), and taking those would fetch a
 * message the search did not return, and one of unknown size.
 */
static void
collect_sizes(clist *res, const uint32_t *asked, size_t nasked,
    struct want *w, size_t *nw)
{
	struct mailimap_msg_att_static	*st;
	struct mailimap_msg_att_item	*it;
	clistiter			*ci, *ai;
	struct want			 one;
	int				 sized;

	for (ci = clist_begin(res); ci != NULL; ci = clist_next(ci)) {
		memset(&one, 0, sizeof(one));
		sized = 0;
		for (ai = clist_begin(((struct mailimap_msg_att *)
		    clist_content(ci))->att_list); ai != NULL;
		    ai = clist_next(ai)) {
			it = clist_content(ai);
			if (it->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			st = it->att_data.att_static;
			if (st->att_type == MAILIMAP_MSG_ATT_UID)
				one.uid = st->att_data.att_uid;
			else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE) {
				one.size = st->att_data.att_rfc822_size;
				sized = 1;
			}
		}
		if (sized && *nw < nasked && bsearch(&one.uid, asked, nasked,
		    sizeof(*asked), cmp_uid) != NULL)
			w[(*nw)++] = one;
	}
}

/*
 * UID FETCH (RFC822.SIZE) for uids (sorted), in chunks; *w sorted by UID,
 * each UID once.
 */
static int
sizes(struct mbox *mb, const uint32_t *uids, size_t n, struct want **w,
    size_t *nw)
{
	struct mailimap_fetch_type	*ft;
	struct mailimap_set		*set;
	clist				*res;
	size_t				 i, j, chunk;
	int				 r = 0;

	*w = xreallocarray(NULL, n + 1, sizeof(**w));
	*nw = 0;
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_rfc822_size());
	for (i = 0; i < n && r == 0; i += chunk) {
		chunk = n - i < UIDS_PER_COMMAND ? n - i : UIDS_PER_COMMAND;
		set = uid_set(uids + i, chunk);
		res = NULL;
		r = mailimap_uid_fetch(mb->conn->imap, set, ft, &res);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR) {
			r = conn_fail(mb->conn, r, "UID FETCH (RFC822.SIZE)");
			break;
		}
		collect_sizes(res, uids, n, *w, nw);
		mailimap_fetch_list_free(res);
	}
	mailimap_fetch_type_free(ft);
	qsort(*w, *nw, sizeof(**w), cmp_want);
	/* A UID answered twice is fetched once. */
	for (i = j = 0; i < *nw; i++)
		if (j == 0 || (*w)[j - 1].uid != (*w)[i].uid)
			(*w)[j++] = (*w)[i];
	*nw = j;
	return r;
}

/*
 * Without UIDPLUS only EXPUNGE is left, and it removes every message
 * flagged \Deleted: also those another client flagged (and may still
 * undelete).  So it is sent only when every \Deleted message is one we
 * delivered; otherwise ours stay flagged and a later run tries again.
 * (Another client may flag one between the SEARCH and the EXPUNGE: a
 * window of one round trip.)
 */
static int
expunge_plain(struct mbox *mb)
{
	struct mailimap_search_key	*k;
	clist				*res = NULL;
	clistiter			*ci;
	unsigned long			 others = 0;
	int				 r;

	k = key_type(MAILIMAP_SEARCH_KEY_DELETED);
	r = mailimap_uid_search(mb->conn->imap, NULL, k, &res);
	mailimap_search_key_free(k);
	if (r != MAILIMAP_NO_ERROR)
		return conn_fail(mb->conn, r, "UID SEARCH DELETED");
	for (ci = clist_begin(res); ci != NULL; ci = clist_next(ci))
		if (!uidset_has(&mb->st.delivered,
		    *(uint32_t *)clist_content(ci)))
			others++;
	mailimap_search_result_free(res);
	if (others > 0) {
		if (!mb->run->quiet)
			log_info("%s/%s: %lu messages flagged \\Deleted by "
			    "another client; without UIDPLUS, EXPUNGE would "
			    "remove them too: not expunging", mb->acct->name,
			    mb->name, others);
		return 0;
	}
	if ((r = mailimap_expunge(mb->conn->imap)) != MAILIMAP_NO_ERROR)
		return conn_fail(mb->conn, r, "EXPUNGE");
	return 0;
}

int
sync_flag(struct mbox *mb, const uint32_t *uids, size_t n)
{
	struct mailimap_store_att_flags	*att;
	struct mailimap_flag_list	*fl;
	struct mailimap_set		*set;
	mailimap			*imap = mb->conn->imap;
	size_t				 i, chunk;
	int				 r = MAILIMAP_NO_ERROR, del, uidplus;

	if (mb->acct->after_fetch == AF_NONE || n == 0)
		return 0;
	del = mb->acct->after_fetch == AF_DELETE;
	uidplus = mailimap_has_uidplus(imap);
	for (i = 0; i < n && r == MAILIMAP_NO_ERROR; i += chunk) {
		chunk = n - i < UIDS_PER_COMMAND ? n - i : UIDS_PER_COMMAND;
		fl = mailimap_flag_list_new_empty();
		mailimap_flag_list_add(fl, del ? mailimap_flag_new_deleted() :
		    mailimap_flag_new_seen());
		att = mailimap_store_att_flags_new_add_flags_silent(fl);
		set = uid_set(uids + i, chunk);
		r = mailimap_uid_store(imap, set, att);
		if (r == MAILIMAP_NO_ERROR && del && uidplus)
			r = mailimap_uid_expunge(imap, set);
		mailimap_store_att_flags_free(att);
		mailimap_set_free(set);
	}
	if (r != MAILIMAP_NO_ERROR)
		return conn_fail(mb->conn, r, del ? "UID STORE \\Deleted" :
		    "UID STORE \\Seen");
	/* The UIDs are in the state by now: expunge_plain counts them ours. */
	return del && !uidplus ? expunge_plain(mb) : 0;
}

void
work_add(struct mbox *mb, const struct want *w)
{
	if (mb->nwork == mb->wcap) {
		mb->wcap = mb->wcap ? mb->wcap * 2 : 64;
		mb->work = xreallocarray(mb->work, mb->wcap,
		    sizeof(*mb->work));
	}
	mb->work[mb->nwork++] = *w;
}

/*
 * The work of this run: w less what announces itself too large.  The
 * announced bytes of it go to *bytes.
 */
static void
pick(struct mbox *mb, const struct want *w, size_t n, uint64_t *bytes)
{
	uint64_t	 max = mb->acct->max_message_size;
	size_t		 i;

	*bytes = 0;
	for (i = 0; i < n; i++) {
		if (max != 0 && w[i].size > max) {
			/* Not an error: -q is for cron, which would mail it
			 * every run while the message waits. */
			if (!mb->run->quiet)
				log_info("%s/%s: UID %u: %u bytes, above "
				    "max-message-size: left on the server",
				    mb->acct->name, mb->name, w[i].uid,
				    w[i].size);
			mb->t.skipped++;
			continue;
		}
		work_add(mb, &w[i]);
		*bytes += w[i].size;
	}
	mb->total = mb->nwork;
}

/*
 * Batches capped by count, growing (params.h), and announced bytes
 * (fetch.c holds them to the bytes that really come).
 */
static int
fetch_all(struct mbox *mb)
{
	struct committer cm;
	uint64_t	 bytes;
	struct want	*batch;
	size_t		 i, k, cap;
	int		 r = 0;

	if (commit_start(&cm, mb->dl, mb->statefd, &mb->id, &mb->st) == -1) {
		log_warn("%s/%s: starting the durability thread",
		    mb->acct->name, mb->name);
		return EX_OSERR;
	}
	mb->cm = &cm;
	batch = xreallocarray(NULL, IMAP_BATCH_COUNT, sizeof(*batch));
	/* fetch_batch may add to the list: a copy of each batch is sent. */
	for (i = 0, cap = IMAP_BATCH_FIRST; i < mb->nwork && r == 0;
	    i += k, cap = cap * 2 > IMAP_BATCH_COUNT ? IMAP_BATCH_COUNT :
	    cap * 2) {
		bytes = 0;
		for (k = 0; i + k < mb->nwork && k < cap &&
		    (k == 0 || bytes + mb->work[i + k].size <=
		    IMAP_BATCH_BYTES); k++) {
			bytes += mb->work[i + k].size;
			batch[k] = mb->work[i + k];
		}
		/* Deferred ones come last: answers are checked by UID. */
		qsort(batch, k, sizeof(*batch), cmp_want);
		r = fetch_batch(mb, batch, k);
		/* Flags what is durable by now: one STORE between two
		 * FETCHes, no waiting for the disk. */
		if (r == 0)
			r = fetch_flag(mb, 0);
	}
	free(batch);
	r = ex_worst(r, fetch_flag(mb, 1));
	if (commit_stop(&cm) == -1) {
		log_warn("%s/%s: state file in %s", mb->acct->name, mb->name,
		    mb->acct->maildrop);
		r = ex_worst(r, EX_CANTCREAT);
	}
	mb->cm = NULL;
	return r;
}

/*
 * A new UIDVALIDITY: the old UIDs mean nothing now.  Until this mailbox
 * has been fully synchronised again, messages the maildrop already holds
 * (same Message-ID, or same bytes) are recorded but not delivered.
 */
static int
check_uidvalidity(struct mbox *mb, uint32_t uidvalidity)
{
	char	*account;

	if (mb->st.uidvalidity != 0 && mb->st.uidvalidity != uidvalidity) {
		log_warnx("%s/%s: UIDVALIDITY changed from %u to %u: %s "
		    "the maildrop by digest, or Message-ID and size",
		    mb->acct->name, mb->name, mb->st.uidvalidity, uidvalidity,
		    mb->run->dryrun ? "a run would match" : "matching");
		account = mb->st.account;
		mb->st.account = NULL;
		state_free(&mb->st);
		mb->st.account = account;
		mb->st.dedup = 1;
	}
	if (mb->run->dryrun) {
		mb->st.uidvalidity = uidvalidity;
		return 0;
	}
	if (mb->st.uidvalidity != uidvalidity) {
		mb->st.uidvalidity = uidvalidity;
		if (state_save(mb->statefd, &mb->id, &mb->st) == -1) {
			log_warn("%s/%s: state file", mb->acct->name, mb->name);
			return EX_CANTCREAT;
		}
	}
	if (mb->st.dedup && msgindex_build(mb->dl->dirfd, &mb->idx) == -1) {
		log_warn("%s/%s: reading %s", mb->acct->name, mb->name,
		    mb->acct->maildrop);
		return EX_CANTCREAT;
	}
	return 0;
}

static void
summary(struct mbox *mb, const struct timespec *t0)
{
	struct timespec	 t1;
	char		 extra[96] = "";
	double		 secs;

	if (mb->run->quiet)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
	if (mb->t.skipped || mb->t.dups)
		snprintf(extra, sizeof(extra), " (%lu too large, %lu already "
		    "in the maildrop)", mb->t.skipped, mb->t.dups);
	log_info("%s/%s: %lu new, %.1f MB, %.1f s%s", mb->acct->name,
	    mb->name, mb->t.nnew, mb->t.bytes / 1e6, secs, extra);
}

static void
addf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends to the string in buf, cutting what does not fit. */
static void
addf(char *buf, size_t size, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 len = strlen(buf);

	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* The line of a dry run, in place of the summary. */
static void
plan_summary(struct mbox *mb, const struct plan *p)
{
	char	 more[512] = "";

	if (mb->run->quiet)
		return;
	if (p->nflag > 0)
		addf(more, sizeof(more), "; %zu delivered earlier would be %s",
		    p->nflag, mb->acct->after_fetch == AF_DELETE ?
		    "deleted" : "flagged \\Seen");
	if (mb->t.skipped > 0)
		addf(more, sizeof(more), "; %lu above max-message-size would "
		    "be left on the server", mb->t.skipped);
	if (p->npend > 0)
		addf(more, sizeof(more), "; %zu deliveries of an interrupted "
		    "run would be finished first", p->npend);
	if (mb->st.dedup && mb->nwork > 0)
		addf(more, sizeof(more), "; of these, those already in the "
		    "maildrop would not be delivered again");
	log_info("%s/%s: would fetch %zu message%s, %.1f MB%s",
	    mb->acct->name, mb->name, mb->nwork, mb->nwork == 1 ? "" : "s",
	    p->bytes / 1e6, more);
}

static int
sync_run(struct mbox *mb, const char *wire, struct plan *plan)
{
	struct uidlist	 fetch = { 0 }, flag = { 0 };
	struct want	*w = NULL;
	uint32_t	 uidvalidity = 0;
	size_t		 nw = 0;
	int		 r;

	if ((r = select_box(mb, wire, &uidvalidity)) != 0 ||
	    (r = check_uidvalidity(mb, uidvalidity)) != 0)
		return r;
	if ((r = search(mb, &fetch, &flag)) != 0)
		goto done;
	plan->nflag = flag.n;
	/* Delivered by a run that died before flagging: flag only. */
	if (flag.n > 0 && !mb->run->dryrun) {
		log_debug("%s/%s: %zu delivered earlier, flagging",
		    mb->acct->name, mb->name, flag.n);
		if ((r = sync_flag(mb, flag.v, flag.n)) != 0)
			goto done;
	}
	/* Sorted, so that answers can be checked against it (sizes). */
	if (fetch.n > 1)
		qsort(fetch.v, fetch.n, sizeof(*fetch.v), cmp_uid);
	if (fetch.n > 0 && (r = sizes(mb, fetch.v, fetch.n, &w, &nw)) == 0) {
		pick(mb, w, nw, &plan->bytes);
		if (!mb->run->dryrun)
			r = fetch_all(mb);
	}
	if (r == 0 && mb->st.dedup && !mb->run->dryrun) {
		mb->st.dedup = 0;
		if (state_save(mb->statefd, &mb->id, &mb->st) == -1) {
			log_warn("%s/%s: state file", mb->acct->name, mb->name);
			r = EX_CANTCREAT;
		}
	}
done:
	free(fetch.v);
	free(flag.v);
	free(w);
	return r;
}

/*
 * 1 when a is the only section that fetches into its maildrop: only then
 * may a state written before states had an identity be taken as its own.
 */
static int
sole_feeder(const struct run *run, const struct account *a)
{
	size_t	 i, n = 0;

	for (i = 0; i < run->conf->naccounts; i++)
		if (run->conf->accounts[i].imap_host != NULL &&
		    strcmp(run->conf->accounts[i].maildrop, a->maildrop) == 0)
			n++;
	return n == 1;
}

/*
 * A dry run reads the version 1 file that a run would adopt, and leaves
 * it where it is.
 */
static int
peek_legacy(struct mbox *mb)
{
	struct state	 old;
	char		 file[STATE_NAME_MAX + 64];

	state_filename(mb->name, file, sizeof(file));
	if (state_load_file(mb->statefd, file, &old) == -1)
		return -1;
	if (old.account != NULL || old.uidvalidity == 0) {
		state_free(&old);
		return 0;
	}
	log_info("%s/%s: a run would adopt the state file of an earlier "
	    "version", mb->acct->name, mb->name);
	state_free(&mb->st);
	mb->st = old;
	return 0;
}

/*
 * Before names were UTF-8, a mailbox such as "Entwürfe" could only be
 * written as it goes on the wire, "Entw&APw-rfe", and its state is under
 * that name.  Once the configuration says "Entwürfe", that state is this
 * one's: saved under the new name, then the old file removed (a crash in
 * between leaves both, and the new one wins).  A dry run only reads it.
 */
static int
adopt_wire_name(struct mbox *mb, const char *wire)
{
	struct stateid	 old = mb->id;
	struct state	 st;
	char		 file[STATE_NAME_MAX + 64];

	old.mailbox = wire;
	if (state_load(mb->statefd, &old, &st) == -1)
		return -1;
	if (st.uidvalidity == 0) {
		state_free(&st);
		return 0;
	}
	log_info("%s/%s: %s the state recorded under the name %s",
	    mb->acct->name, mb->name, mb->run->dryrun ?
	    "a run would take over" : "taking over", wire);
	if (!mb->run->dryrun) {
		free(st.account);
		st.account = NULL;	/* state_save writes the new one */
		state_idname(&old, file, sizeof(file));
		if (state_save(mb->statefd, &mb->id, &st) == -1 ||
		    unlinkat(mb->statefd, file, 0) == -1 ||
		    fsync(mb->statefd) == -1) {
			state_free(&st);
			return -1;
		}
	}
	state_free(&mb->st);
	mb->st = st;
	return 0;
}

/*
 * The state of mb->id; else the one recorded under the wire name, or a
 * version 1 file when that is safe.
 */
static int
load_state(struct mbox *mb, const char *wire)
{
	/* A dry run on a maildrop that has none: all is new. */
	if (mb->statefd == -1)
		return 0;
	if (state_load(mb->statefd, &mb->id, &mb->st) == -1)
		return -1;
	if (mb->st.uidvalidity == 0 && strcmp(wire, mb->name) != 0 &&
	    adopt_wire_name(mb, wire) == -1)
		return -1;
	if (mb->st.uidvalidity != 0 || !sole_feeder(mb->run, mb->acct))
		return 0;
	if (mb->run->dryrun)
		return peek_legacy(mb);
	switch (state_adopt_legacy(mb->statefd, &mb->id, &mb->st)) {
	case 1:
		log_info("%s/%s: state file of an earlier version adopted",
		    mb->acct->name, mb->name);
		return 0;
	case 0:
		return 0;
	default:
		return -1;
	}
}

int
sync_mailbox(const struct run *run, const struct account *a, struct conn *c,
    struct deliver *dl, int statefd, const char *name, struct tally *sum)
{
	struct mbox	 mb;
	struct plan	 plan;
	struct timespec	 t0;
	char		*wire;
	int		 r;

	memset(&mb, 0, sizeof(mb));
	memset(&plan, 0, sizeof(plan));
	mb.run = run;
	mb.acct = a;
	mb.conn = c;
	mb.dl = dl;
	mb.statefd = statefd;
	/* Any case of INBOX is INBOX (RFC 3501 5.1): one mailbox, so one
	 * state file, or "INBOX, inbox" would deliver it twice. */
	mb.name = strcasecmp(name, "INBOX") == 0 ? "INBOX" : name;
	/* Names are UTF-8 everywhere but on the wire (utf7.h). */
	if ((wire = utf7_encode(mb.name)) == NULL) {
		log_warnx("%s/%s: the mailbox name is not valid UTF-8",
		    a->name, mb.name);
		return EX_CONFIG;
	}
	mb.tty = !run->quiet && isatty(STDERR_FILENO);
	mb.id.host = a->imap_host;
	mb.id.port = account_port(a);
	mb.id.user = a->imap_user;
	mb.id.mailbox = mb.name;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (load_state(&mb, wire) == -1) {
		log_warn("%s/%s: state file in %s/.imapfetch", a->name, mb.name,
		    a->maildrop);
		free(wire);
		return EX_CANTCREAT;
	}
	/* A run finishes them first (sync_recover): then they count as
	 * delivered. */
	if (run->dryrun && (plan.npend = mb.st.npend) > 0)
		state_settle(&mb.st);
	r = sync_run(&mb, wire, &plan);
	if (r == 0 && run->dryrun)
		plan_summary(&mb, &plan);
	else if (r == 0 || mb.t.nnew > 0)
		summary(&mb, &t0);
	metrics_add(run->metrics, a->name, mb.name, &mb.t, metrics_since(&t0),
	    r);
	sum->nnew += mb.t.nnew;
	sum->bytes += mb.t.bytes;
	sum->skipped += mb.t.skipped;
	sum->dups += mb.t.dups;
	free(mb.work);
	free(wire);
	state_free(&mb.st);
	msgindex_free(&mb.idx);
	return r;
}
