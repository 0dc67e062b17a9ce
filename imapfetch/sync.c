/*
 * sync.c: one mailbox: SELECT, UIDVALIDITY check, search, sizes, batches,
 * flags.  The batch itself (fetch, deliver, record) is in fetch.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "sync.h"

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

/* SELECT, or EXAMINE when the server must be left untouched. */
static int
select_box(struct mbox *mb, uint32_t *uidvalidity)
{
	mailimap	*imap = mb->conn->imap;
	int		 r;

	if (mb->acct->after_fetch == AF_NONE)
		r = mailimap_examine(imap, mb->name);
	else
		r = mailimap_select(imap, mb->name);
	if (r != MAILIMAP_NO_ERROR)
		return conn_fail(mb->conn, r, mb->acct->after_fetch ==
		    AF_NONE ? "EXAMINE" : "SELECT");
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
 * Batches capped by count and announced bytes (fetch.c holds them to the
 * bytes that really come); skips what announces itself too large.
 */
static int
fetch_all(struct mbox *mb, const struct want *w, size_t n)
{
	uint64_t	 max = mb->acct->max_message_size, bytes;
	struct want	*batch;
	size_t		 i, k;
	int		 r = 0;

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
	}
	mb->total = mb->nwork;
	batch = xreallocarray(NULL, IMAP_BATCH_COUNT, sizeof(*batch));
	/* fetch_batch may add to the list: a copy of each batch is sent. */
	for (i = 0; i < mb->nwork && r == 0; i += k) {
		bytes = 0;
		for (k = 0; i + k < mb->nwork && k < IMAP_BATCH_COUNT &&
		    (k == 0 || bytes + mb->work[i + k].size <=
		    IMAP_BATCH_BYTES); k++) {
			bytes += mb->work[i + k].size;
			batch[k] = mb->work[i + k];
		}
		/* Deferred ones come last: answers are checked by UID. */
		qsort(batch, k, sizeof(*batch), cmp_want);
		r = fetch_batch(mb, batch, k);
	}
	free(batch);
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
		log_warnx("%s/%s: UIDVALIDITY changed from %u to %u: "
		    "matching the maildrop by digest, or Message-ID and size",
		    mb->acct->name, mb->name, mb->st.uidvalidity, uidvalidity);
		account = mb->st.account;
		mb->st.account = NULL;
		state_free(&mb->st);
		mb->st.account = account;
		mb->st.dedup = 1;
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

static int
sync_run(struct mbox *mb)
{
	struct uidlist	 fetch = { 0 }, flag = { 0 };
	struct want	*w = NULL;
	uint32_t	 uidvalidity = 0;
	size_t		 nw = 0;
	int		 r;

	if ((r = select_box(mb, &uidvalidity)) != 0 ||
	    (r = check_uidvalidity(mb, uidvalidity)) != 0)
		return r;
	if ((r = search(mb, &fetch, &flag)) != 0)
		goto done;
	/* Delivered by a run that died before flagging: flag only. */
	if (flag.n > 0) {
		log_debug("%s/%s: %zu delivered earlier, flagging",
		    mb->acct->name, mb->name, flag.n);
		if ((r = sync_flag(mb, flag.v, flag.n)) != 0)
			goto done;
	}
	/* Sorted, so that answers can be checked against it (sizes). */
	if (fetch.n > 1)
		qsort(fetch.v, fetch.n, sizeof(*fetch.v), cmp_uid);
	if (fetch.n > 0 && (r = sizes(mb, fetch.v, fetch.n, &w, &nw)) == 0)
		r = fetch_all(mb, w, nw);
	if (r == 0 && mb->st.dedup) {
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

/* The state of mb->id, adopting a version 1 file when that is safe. */
static int
load_state(struct mbox *mb)
{
	if (state_load(mb->statefd, &mb->id, &mb->st) == -1)
		return -1;
	if (mb->st.uidvalidity != 0 || !sole_feeder(mb->run, mb->acct))
		return 0;
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
	struct timespec	 t0;
	int		 r;

	memset(&mb, 0, sizeof(mb));
	mb.run = run;
	mb.acct = a;
	mb.conn = c;
	mb.dl = dl;
	mb.statefd = statefd;
	/* Any case of INBOX is INBOX (RFC 3501 5.1): one mailbox, so one
	 * state file, or "INBOX, inbox" would deliver it twice. */
	mb.name = strcasecmp(name, "INBOX") == 0 ? "INBOX" : name;
	mb.tty = !run->quiet && isatty(STDERR_FILENO);
	mb.id.host = a->imap_host;
	mb.id.port = account_port(a);
	mb.id.user = a->imap_user;
	mb.id.mailbox = mb.name;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (load_state(&mb) == -1) {
		log_warn("%s/%s: state file in %s/.imapfetch", a->name, mb.name,
		    a->maildrop);
		return EX_CANTCREAT;
	}
	r = sync_run(&mb);
	if (r == 0 || mb.t.nnew > 0)
		summary(&mb, &t0);
	sum->nnew += mb.t.nnew;
	sum->bytes += mb.t.bytes;
	sum->skipped += mb.t.skipped;
	sum->dups += mb.t.dups;
	free(mb.work);
	state_free(&mb.st);
	msgindex_free(&mb.idx);
	return r;
}
