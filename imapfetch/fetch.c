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
	char		*key;		/* dedup mode only */
};

struct fctx {
	struct mbox	*mb;
	struct dmsg	*cur;		/* body being received */
	struct msgkey	 key;		/* of cur, in dedup mode */
	int		 lerr;		/* errno of the first local failure */
	struct got	*got;
	size_t		 ngot, cap;
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

static void
write_body(struct fctx *f, const char *bytes, size_t len)
{
	if (f->lerr != 0 || len == 0)
		return;
	if (f->cur == NULL && start_body(f) == -1)
		return;
	if (deliver_write(f->cur, bytes, len) == -1) {
		f->lerr = errno;
		return;
	}
	if (f->mb->st.dedup)
		msgkey_update(&f->key, bytes, len);
}

/* Always true: refusing data would leave the stream mid-literal. */
static bool
on_body(int type, struct mailimap_msg_att_body_section *sec,
    const char *bytes, size_t len, void *arg)
{
	(void)type;
	(void)sec;
	write_body(arg, bytes, len);
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
	char	 key[MSGKEY_MAX + 3];

	if (f->ngot == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 32;
		f->got = xreallocarray(f->got, f->cap, sizeof(*f->got));
	}
	f->got[f->ngot].uid = uid;
	f->got[f->ngot].m = f->cur;
	f->got[f->ngot].key = NULL;
	if (f->mb->st.dedup) {
		msgkey_final(&f->key, key, sizeof(key));
		f->got[f->ngot].key = xstrdup(key);
	}
	f->ngot++;
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
 * 1 when uid is one this FETCH asked for.  A body for another UID is
 * refused: it may be \Seen, or above max-message-size, and recording it
 * as delivered would flag it.
 */
static int
asked(const struct fctx *f, uint32_t uid)
{
	return bsearch(&uid, f->w, f->batch, sizeof(*f->w), cmp_uid_want)
	    != NULL;
}

/*
 * The UID (0: none) and the body section (NULL: none) of a response.
 * *odd is set when it has a section other than the BODY[] asked for, or
 * two: the body handler has written them all, one after the other, into
 * the one file.
 */
static struct mailimap_msg_att_body_section *
msg_parts(struct mailimap_msg_att *att, uint32_t *uid, int *odd)
{
	struct mailimap_msg_att_body_section	*sec = NULL;
	struct mailimap_msg_att_static		*st;
	struct mailimap_msg_att_item		*it;
	clistiter				*ci;

	*uid = 0;
	*odd = 0;
	for (ci = clist_begin(att->att_list); ci != NULL; ci = clist_next(ci)) {
		it = clist_content(ci);
		if (it->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		st = it->att_data.att_static;
		if (st->att_type == MAILIMAP_MSG_ATT_UID)
			*uid = st->att_data.att_uid;
		else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION) {
			if (sec != NULL || (st->att_data.att_body_section->
			    sec_section != NULL && st->att_data.att_body_section->
			    sec_section->sec_spec != NULL))
				*odd = 1;
			sec = st->att_data.att_body_section;
		}
	}
	return sec;
}

/* One message's FETCH response is complete. */
static void
on_msg(struct mailimap_msg_att *att, void *arg)
{
	struct fctx				*f = arg;
	struct mailimap_msg_att_body_section	*sec;
	uint32_t				 uid;
	int					 odd;

	if ((sec = msg_parts(att, &uid, &odd)) == NULL)
		return;		/* an unsolicited FLAGS update */
	/* A body sent as a quoted string bypasses the body handler. */
	if (f->cur == NULL && sec->sec_body_part != NULL && !odd)
		write_body(f, sec->sec_body_part, sec->sec_length);
	if (uid != 0 && !asked(f, uid))
		log_warnx("%s/%s: UID %u: sent but not asked for; ignored",
		    f->mb->acct->name, f->mb->name, uid);
	else if (odd)
		log_warnx("%s/%s: UID %u: body sections not asked for; left "
		    "on the server", f->mb->acct->name, f->mb->name, uid);
	else if (f->lerr == 0 && f->cur != NULL && uid != 0 &&
	    !seen_uid(f, uid)) {
		if (deliver_finish(f->cur) == 0) {
			keep_got(f, uid);
			f->cur = NULL;
			return;
		}
		f->lerr = errno;
	} else if (f->lerr == 0 && (f->cur == NULL || uid == 0))
		/* NIL body (the message vanished), no UID: left on the
		 * server.  A UID sent twice is kept once; a local failure
		 * is reported when the FETCH is over. */
		log_warnx("%s/%s: UID %u: no body or no UID received; left "
		    "on the server", f->mb->acct->name, f->mb->name, uid);
	if (f->cur != NULL)
		(void)deliver_drop(f->mb->dl, f->cur);
	f->cur = NULL;
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
		if (f->got[i].key == NULL || !msgindex_has(&mb->idx,
		    f->got[i].key))
			continue;
		log_debug("%s/%s: UID %u already in the maildrop (%.60s)",
		    mb->acct->name, mb->name, f->got[i].uid, f->got[i].key);
		(void)deliver_drop(mb->dl, f->got[i].m);
		f->got[i].m = NULL;
		mb->t.dups++;
	}
}

/* Steps 2-4 of sync.h for the messages received. */
static int
commit(struct mbox *mb, struct fctx *f)
{
	uint32_t	*uids;
	size_t		 i;
	int		 r;

	if (mb->st.dedup)
		drop_known(mb, f);
	if (deliver_sync_tmp(mb->dl) == -1)
		return local_fail(mb, errno, "fsync tmp/ in");
	for (i = 0; i < f->ngot; i++) {
		if (f->got[i].m != NULL)
			state_add_pending(&mb->st, f->got[i].uid,
			    f->got[i].m->name);
		else
			uidset_add(&mb->st.delivered, f->got[i].uid);
	}
	/*
	 * From here the tmp files may be recorded: never remove them.  If
	 * the state did not reach the disk, the next run removes them.
	 */
	if (state_save(mb->statefd, mb->name, &mb->st) == -1) {
		r = local_fail(mb, errno, "state file in");
		deliver_release(mb->dl);
		return r;
	}
	if (deliver_commit(mb->dl) == -1) {
		r = local_fail(mb, errno, "rename into new/ of");
		deliver_release(mb->dl);
		return r;
	}
	for (i = 0; i < f->ngot; i++) {
		if (f->got[i].m == NULL)
			continue;
		mb->t.nnew++;
		mb->t.bytes += f->got[i].m->size;
	}
	state_settle(&mb->st);
	if (state_save(mb->statefd, mb->name, &mb->st) == -1)
		return local_fail(mb, errno, "state file in");
	deliver_reset(mb->dl);
	/* A broken connection cannot flag: the next run flags what the
	 * state says is delivered. */
	if (mb->conn->error != 0)
		return 0;
	uids = xreallocarray(NULL, f->ngot ? f->ngot : 1, sizeof(*uids));
	for (i = 0; i < f->ngot; i++)
		uids[i] = f->got[i].uid;
	r = sync_flag(mb, uids, f->ngot);
	free(uids);
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
	r = mailimap_uid_fetch(imap, set, ft, &res);
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
		r = ex_worst(r, commit(mb, &f));
	/* Whatever was not recorded as pending goes: the server keeps it. */
	deliver_abort(mb->dl);
	for (i = 0; i < f.ngot; i++)
		free(f.got[i].key);
	free(f.got);
	return r;
}
