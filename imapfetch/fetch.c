/*
 * fetch.c: one batch, from UID FETCH to the server flag.  Bodies go from
 * libetpan's literal reader straight into tmp/ through the body handler,
 * so memory stays flat whatever the message size; the message-attribute
 * handler then tells which UID the body belonged to (the UID may come
 * before or after the body in the FETCH response).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "log.h"
#include "util.h"
#include "sync.h"

struct got {
	uint32_t	 uid;
	struct dmsg	*m;		/* NULL: a duplicate, dropped */
	struct msgkeys	*keys;		/* dedup mode only */
};

/* Why the body being received is not kept. */
enum skip { SK_NONE, SK_ODD, SK_BIG, SK_DEFER };

struct fctx {
	struct mbox	*mb;
	struct dmsg	*cur;		/* body being received */
	struct msgkey	 key;		/* of cur, in dedup mode */
	/* The FETCH response being received: */
	const struct mailimap_msg_att_body_section *sec; /* its BODY[] */
	enum skip	 skip;
	int		 lerr;		/* errno of the first local failure */
	uint64_t	 kept;		/* bytes of the messages kept so far */
	struct got	*got;
	size_t		 ngot, cap;
	struct want	*redo;		/* deferred: the batch was full */
	size_t		 nredo;
	const struct want *w;		/* asked for, sorted by UID */
	size_t		 batch;		/* messages asked for */
	time_t		 shown;		/* last progress line */
};

static int
start_body(struct fctx *f)
{
	if (deliver_begin(f->mb->dl, &f->cur) == -1) {
		f->lerr = errno;
		f->cur = NULL;
		return -1;
	}
	if (f->mb->st.dedup)
		msgkey_init(&f->key);
	return 0;
}

/* Stops receiving the current body into a file; why says what to do. */
static void
skip_body(struct fctx *f, enum skip why)
{
	if (f->skip == SK_NONE || f->skip == SK_DEFER)
		f->skip = why;
	if (f->cur != NULL)
		(void)deliver_drop(f->mb->dl, f->cur);
	f->cur = NULL;
}

/*
 * Takes len bytes of the body being received, within the limits: sizes
 * are those of the bytes that come, never what RFC822.SIZE said (a server
 * may under-report them by any amount).  A message past max-message-size
 * is left on the server; one that would overfill the batch (unless it is
 * the batch's first) is fetched again in a later one.
 */
static void
take_body(struct fctx *f, const char *bytes, size_t len)
{
	uint64_t	 max = f->mb->acct->max_message_size, have;

	if (f->lerr != 0 || f->skip != SK_NONE)
		return;
	if (f->cur == NULL && start_body(f) == -1)
		return;
	have = f->cur->size + len;
	if (max != 0 && have > max) {
		skip_body(f, SK_BIG);
		return;
	}
	if (f->kept > 0 && f->kept + have > IMAP_BATCH_BYTES) {
		skip_body(f, SK_DEFER);
		return;
	}
	if (len > 0 && deliver_write(f->cur, bytes, len) == -1) {
		f->lerr = errno;
		return;
	}
	if (f->mb->st.dedup)
		msgkey_update(&f->key, bytes, len);
}

/* 1 for the whole message, BODY[]: no section text, no partial. */
static int
whole_body(const struct mailimap_msg_att_body_section *sec)
{
	return sec != NULL && (sec->sec_section == NULL ||
	    sec->sec_section->sec_spec == NULL) && sec->sec_origin_octet == 0;
}

/*
 * libetpan hands over every body item of a response: BODY[] as asked, but
 * also RFC822, RFC822.TEXT or other sections a server sends unasked.
 * Only the bytes of one BODY[] go into the file; anything else makes the
 * whole response odd, and nothing of it is delivered or flagged.  Always
 * true: refusing data would leave the stream mid-literal.
 */
static bool
on_body(int type, struct mailimap_msg_att_body_section *sec,
    const char *bytes, size_t len, void *arg)
{
	struct fctx	*f = arg;

	if (type != MAILIMAP_MSG_ATT_BODY_SECTION || !whole_body(sec) ||
	    (f->sec != NULL && f->sec != sec))
		skip_body(f, SK_ODD);
	else {
		f->sec = sec;
		take_body(f, bytes, len);
	}
	return true;
}

static void
on_progress(size_t cur, size_t max, void *arg)
{
	struct fctx	*f = arg;
	time_t		 now;

	if (!f->mb->tty || (now = time(NULL)) == f->shown)
		return;
	f->shown = now;
	fprintf(stderr, "\r%s/%s: %lu/%lu, message %zu/%zu KB   ",
	    f->mb->acct->name, f->mb->name, f->mb->t.nnew + f->ngot + 1,
	    f->mb->total, cur / 1024, max / 1024);
}

static void
keep_got(struct fctx *f, uint32_t uid)
{
	struct got	*g;

	if (f->ngot == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 32;
		f->got = xreallocarray(f->got, f->cap, sizeof(*f->got));
	}
	g = &f->got[f->ngot++];
	g->uid = uid;
	g->m = f->cur;
	g->keys = NULL;
	if (f->mb->st.dedup) {
		g->keys = xcalloc(1, sizeof(*g->keys));
		msgkey_final(&f->key, g->keys);
	}
	f->kept += f->cur->size;
	f->cur = NULL;
}

/* 1 when uid was delivered before or is already in this batch. */
static int
seen_uid(const struct fctx *f, uint32_t uid)
{
	size_t	 i;

	if (uidset_has(&f->mb->st.delivered, uid))
		return 1;
	for (i = 0; i < f->ngot; i++)
		if (f->got[i].uid == uid)
			return 1;
	return 0;
}

static int
cmp_uid_want(const void *key, const void *elt)
{
	uint32_t	 uid = *(const uint32_t *)key;

	return uid < ((const struct want *)elt)->uid ? -1 :
	    uid > ((const struct want *)elt)->uid;
}

/*
 * What this FETCH asked for uid, or NULL.  A body for another UID is
 * refused: it may be \Seen, or above max-message-size, and recording it
 * as delivered would flag it.
 */
static const struct want *
asked(const struct fctx *f, uint32_t uid)
{
	return bsearch(&uid, f->w, f->batch, sizeof(*f->w), cmp_uid_want);
}

/*
 * The UID of a response (0: none).  *body: 0 when it has no BODY[], 1 when
 * it is NIL, 2 when it has one.  *odd: it also has other body items (the
 * body handler sees only those with bytes) or two BODY[].
 */
static uint32_t
msg_uid(struct mailimap_msg_att *att, int *body, int *odd)
{
	struct mailimap_msg_att_static		*st;
	struct mailimap_msg_att_item		*it;
	clistiter				*ci;
	uint32_t				 uid = 0;
	int					 n = 0;

	*body = *odd = 0;
	for (ci = clist_begin(att->att_list); ci != NULL; ci = clist_next(ci)) {
		it = clist_content(ci);
		if (it->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		st = it->att_data.att_static;
		switch (st->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			uid = st->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (!whole_body(st->att_data.att_body_section) ||
			    n++ > 0)
				*odd = 1;
			else
				*body = st->att_data.att_body_section->
				    sec_body_part != NULL ? 2 : 1;
			break;
		case MAILIMAP_MSG_ATT_RFC822:
		case MAILIMAP_MSG_ATT_RFC822_HEADER:
		case MAILIMAP_MSG_ATT_RFC822_TEXT:
			*odd = 1;
			break;
		}
	}
	return uid;
}

/* Logs why the message uid was not kept, and counts it. */
static void
not_kept(struct fctx *f, uint32_t uid, int body)
{
	struct mbox		*mb = f->mb;
	const struct want	*w = asked(f, uid);

	if (uid != 0 && w == NULL)
		log_warnx("%s/%s: UID %u: sent but not asked for; ignored",
		    mb->acct->name, mb->name, uid);
	else if (f->skip == SK_ODD)
		log_warnx("%s/%s: UID %u: body sections not asked for; left "
		    "on the server", mb->acct->name, mb->name, uid);
	else if (uid == 0 || (!body && f->skip == SK_NONE)) {
		/* NIL body (the message vanished), no UID: left on the
		 * server.  A local failure is reported after the FETCH. */
		if (f->lerr == 0)
			log_warnx("%s/%s: UID %u: no body or no UID received; "
			    "left on the server", mb->acct->name, mb->name,
			    uid);
	} else if (f->skip == SK_BIG) {
		if (!mb->run->quiet)
			log_info("%s/%s: UID %u: more than max-message-size "
			    "(%llu bytes) received: left on the server",
			    mb->acct->name, mb->name, uid, (unsigned long long)
			    mb->acct->max_message_size);
		mb->t.skipped++;
	} else if (f->skip == SK_DEFER) {
		f->redo = xreallocarray(f->redo, f->nredo + 1,
		    sizeof(*f->redo));
		f->redo[f->nredo++] = *w;
	}
}

/* One message's FETCH response is complete. */
static void
on_msg(struct mailimap_msg_att *att, void *arg)
{
	struct fctx	*f = arg;
	uint32_t	 uid;
	int		 body, odd;

	uid = msg_uid(att, &body, &odd);
	if (odd)
		skip_body(f, SK_ODD);
	/* An empty message: BODY[] "" or {0} brings no bytes. */
	if (body == 2 && f->cur == NULL)
		take_body(f, "", 0);
	if (body == 2 && f->cur != NULL && f->skip == SK_NONE &&
	    f->lerr == 0 && uid != 0 && asked(f, uid) != NULL &&
	    !seen_uid(f, uid)) {
		if (deliver_finish(f->cur) == 0)
			keep_got(f, uid);
		else
			f->lerr = errno;
	} else if (body != 0 || f->skip != SK_NONE)
		/* Not a FLAGS update of another client's: say why. */
		not_kept(f, uid, body == 2);
	if (f->cur != NULL)
		(void)deliver_drop(f->mb->dl, f->cur);
	f->cur = NULL;
	f->sec = NULL;
	f->skip = SK_NONE;
}

static int
local_fail(struct mbox *mb, int err, const char *what)
{
	errno = err;
	log_warn("%s/%s: %s %s", mb->acct->name, mb->name, what,
	    mb->acct->maildrop);
	return EX_CANTCREAT;
}

/* After a UIDVALIDITY change: what the maildrop holds is not delivered
 * again, only recorded and flagged. */
static void
drop_known(struct mbox *mb, struct fctx *f)
{
	size_t	 i;

	for (i = 0; i < f->ngot; i++) {
		if (f->got[i].keys == NULL ||
		    !msgindex_known(&mb->idx, f->got[i].keys))
			continue;
		log_debug("%s/%s: UID %u already in the maildrop (%.60s)",
		    mb->acct->name, mb->name, f->got[i].uid,
		    f->got[i].keys->digest);
		(void)deliver_drop(mb->dl, f->got[i].m);
		f->got[i].m = NULL;
		mb->t.dups++;
	}
}

/*
 * Hands the messages received to the durability worker (steps 2-3 of
 * sync.h run there); fetch_flag flags them once they are durable.
 */
static int
hand_over(struct mbox *mb, struct fctx *f)
{
	struct cbatch	*b;
	size_t		 i, j, k;

	if (mb->st.dedup)
		drop_known(mb, f);
	b = xcalloc(1, sizeof(*b));
	deliver_take(mb->dl, &b->files);
	b->fuid = xreallocarray(NULL, b->files.n + 1, sizeof(*b->fuid));
	b->dups = xreallocarray(NULL, f->ngot + 1, sizeof(*b->dups));
	/* The registry keeps the order of deliver_begin, got that of the
	 * responses: the same, but matched by pointer to be sure. */
	for (i = k = 0; i < f->ngot; i++) {
		if (f->got[i].m == NULL) {
			b->dups[b->ndups++] = f->got[i].uid;
			continue;
		}
		for (j = 0; j < b->files.n && b->files.v[j] != f->got[i].m;
		    j++)
			;
		if (j == b->files.n)
			fatalx(EX_SOFTWARE, "a received message is not in "
			    "the tmp registry");
		b->fuid[j] = f->got[i].uid;
		k++;
	}
	if (k != b->files.n)
		fatalx(EX_SOFTWARE, "the tmp registry holds messages not "
		    "received");
	commit_push(mb->cm, b);
	return 0;
}

/*
 * One batch back from the worker, durable: counted, recorded as delivered
 * in mb->st (as it is on the disk), and flagged (step 4 of sync.h) unless
 * flag is 0.
 */
static int
flag_batch(struct mbox *mb, struct cbatch *b, int flag)
{
	uint32_t	*uids;
	size_t		 i, n = 0;
	int		 r;

	uids = xreallocarray(NULL, b->files.n + b->ndups + 1, sizeof(*uids));
	for (i = 0; i < b->files.n; i++) {
		uids[n++] = b->fuid[i];
		mb->t.nnew++;
		mb->t.bytes += b->files.v[i]->size;
	}
	for (i = 0; i < b->ndups; i++)
		uids[n++] = b->dups[i];
	for (i = 0; i < n; i++)
		uidset_add(&mb->st.delivered, uids[i]);
	/* A broken connection cannot flag: the next run flags what the
	 * state says is delivered. */
	r = !flag || mb->conn->error != 0 ? 0 : sync_flag(mb, uids, n);
	free(uids);
	return r;
}

/*
 * Called between two FETCHes, so a STORE costs one round trip of its own.
 * Sending it on the same write as the next FETCH was tried: Dovecot then
 * streams the FETCH's messages before the STORE's tagged OK (RFC 3501 5.5
 * lets a server run them at once), and libetpan reads a response up to the
 * first tagged line and refuses any tag but the last one sent, so it can
 * follow neither that order nor the reverse one.
 */
int
fetch_flag(struct mbox *mb, int wait)
{
	struct cbatch	*b, *next;
	int		 r = 0;

	for (b = commit_collect(mb->cm, wait); b != NULL; b = next) {
		next = b->next;
		if (b->err != 0) {
			if (b->err != ECANCELED)
				r = ex_worst(r, local_fail(mb, b->err,
				    b->what));
			else
				r = ex_worst(r, EX_CANTCREAT);
		} else
			/* After a failure the server is left alone: the
			 * next run flags these. */
			r = ex_worst(r, flag_batch(mb, b, r == 0));
		commit_free(b);
	}
	return r;
}

static struct mailimap_fetch_type *
body_fetch_type(void)
{
	struct mailimap_fetch_type	*ft;

	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (ft == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != MAILIMAP_NO_ERROR ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)))
	    != MAILIMAP_NO_ERROR)
		fatalx(EX_OSERR, "out of memory");
	return ft;
}

static int
fetch_bodies(struct mbox *mb, struct fctx *f, const struct want *w, size_t n)
{
	mailimap			*imap = mb->conn->imap;
	struct mailimap_set		*set;
	struct mailimap_fetch_type	*ft;
	clist				*res = NULL;
	size_t				 i;
	int				 r;

	if ((set = mailimap_set_new_empty()) == NULL)
		fatalx(EX_OSERR, "out of memory");
	for (i = 0; i < n; i++)
		if (mailimap_set_add_single(set, w[i].uid) != MAILIMAP_NO_ERROR)
			fatalx(EX_OSERR, "out of memory");
	ft = body_fetch_type();
	mailimap_set_msg_body_handler(imap, on_body, f);
	mailimap_set_msg_att_handler(imap, on_msg, f);
	mailimap_set_progress_callback(imap, on_progress, NULL, f);
	mb->conn->bodies = 1;
	r = mailimap_uid_fetch(imap, set, ft, &res);
	mb->conn->bodies = 0;
	mailimap_set_msg_body_handler(imap, NULL, NULL);
	mailimap_set_msg_att_handler(imap, NULL, NULL);
	mailimap_set_progress_callback(imap, NULL, NULL, NULL);
	/* On failure libetpan has freed the list already, and left res
	 * pointing to it. */
	if (r == MAILIMAP_NO_ERROR && res != NULL)
		mailimap_fetch_list_free(res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (mb->tty)
		fputs("\r\033[K", stderr);
	if (r != MAILIMAP_NO_ERROR)
		return conn_fail(mb->conn, r, "UID FETCH");
	return 0;
}

int
fetch_batch(struct mbox *mb, const struct want *w, size_t n)
{
	struct fctx	 f;
	size_t		 i;
	int		 r;

	memset(&f, 0, sizeof(f));
	f.mb = mb;
	f.w = w;
	f.batch = n;
	r = fetch_bodies(mb, &f, w, n);
	if (f.cur != NULL)
		(void)deliver_drop(mb->dl, f.cur);
	/*
	 * What came whole is delivered even when the FETCH failed after it
	 * (a NO for a message the server cannot read, a connection cut):
	 * else that message, or a link that never lasts a whole batch,
	 * would hold back the rest of the batch forever.  Not after a
	 * local failure: the disk comes first.
	 */
	if (f.lerr != 0)
		r = ex_worst(r, local_fail(mb, f.lerr, "writing into"));
	else if (f.ngot > 0)
		r = ex_worst(r, hand_over(mb, &f));
	/* Whatever was not recorded as pending goes: the server keeps it. */
	deliver_abort(mb->dl);
	for (i = 0; i < f.ngot; i++)
		free(f.got[i].keys);
	free(f.got);
	/* Deferred messages join the work list, now that w is done with. */
	if (r == 0)
		for (i = 0; i < f.nredo; i++)
			work_add(mb, &f.redo[i]);
	free(f.redo);
	return r;
}
