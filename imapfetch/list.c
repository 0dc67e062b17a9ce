/*
 * list.c: imapfetch --list: LIST, then STATUS of each selectable mailbox,
 * then one line each.  See list.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "log.h"
#include "util.h"
#include "transport.h"
#include "utf7.h"
#include "list.h"

/* One mailbox as the server listed it. */
struct box {
	const char	*wire;		/* as sent, in the LIST result */
	char		*name;		/* UTF-8; NULL: not modified UTF-7 */
	char		*attrs;		/* " \Junk \Noselect", or "" */
	size_t		 alen;
	int		 noselect;	/* \Noselect or \NonExistent */
	char		 count[64];	/* "3 messages, 1 unseen", "-" */
};

/* Attributes about children and new mail: noise for this purpose. */
static int
quiet_attr(const char *a)
{
	static const char *const quiet[] = {
		"HasChildren", "HasNoChildren", "Marked", "Unmarked"
	};
	size_t	 i;

	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (strcasecmp(a, quiet[i]) == 0)
			return 1;
	return 0;
}

static void
box_attrs(struct box *b, const struct mailimap_mbx_list_flags *fl)
{
	struct mailimap_mbx_list_oflag	*of;
	clistiter			*ci;
	FILE				*m;

	if ((m = open_memstream(&b->attrs, &b->alen)) == NULL)
		fatal(EX_OSERR, "open_memstream");
	if (fl != NULL && fl->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
	    fl->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT) {
		fputs(" \\Noselect", m);
		b->noselect = 1;
	}
	for (ci = fl != NULL ? clist_begin(fl->mbf_oflags) : NULL; ci != NULL;
	    ci = clist_next(ci)) {
		of = clist_content(ci);
		if (of->of_type == MAILIMAP_MBX_LIST_OFLAG_NOINFERIORS)
			fputs(" \\Noinferiors", m);
		else if (of->of_flag_ext != NULL &&
		    !quiet_attr(of->of_flag_ext)) {
			fprintf(m, " \\%s", of->of_flag_ext);
			/* RFC 5258: \NonExistent implies \Noselect. */
			if (strcasecmp(of->of_flag_ext, "Noselect") == 0 ||
			    strcasecmp(of->of_flag_ext, "NonExistent") == 0)
				b->noselect = 1;
		}
	}
	if (fclose(m) == EOF)
		fatal(EX_OSERR, "open_memstream");
}

/*
 * LIST "" "*" RETURN (SPECIAL-USE) (RFC 6154 with RFC 5258), which
 * libetpan has no call for: sent as auth.c sends AUTHENTICATE, the
 * answer parsed by libetpan, which gathers the LIST responses as for its
 * own LIST.
 */
static int
list_special(struct conn *c, clist **res)
{
	static const char	 cmd[] =
	    "LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n";
	struct mailimap_response *rsp = NULL;
	mailimap		*imap = c->imap;
	int			 r, ok;

	if (mailimap_send_current_tag(imap) != MAILIMAP_NO_ERROR ||
	    mailstream_write(imap->imap_stream, cmd, sizeof(cmd) - 1) == -1 ||
	    mailstream_flush(imap->imap_stream) == -1 ||
	    mailimap_read_line(imap) == NULL)
		return conn_fail(c, MAILIMAP_ERROR_STREAM, "LIST");
	if ((r = mailimap_parse_response(imap, &rsp)) != MAILIMAP_NO_ERROR)
		return conn_fail(c, r, "LIST");
	ok = rsp->rsp_resp_done->rsp_type == MAILIMAP_RESP_DONE_TYPE_TAGGED &&
	    rsp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type
	    == MAILIMAP_RESP_COND_STATE_OK;
	mailimap_response_free(rsp);
	*res = imap->imap_response_info->rsp_mailbox_list;
	imap->imap_response_info->rsp_mailbox_list = NULL;
	if (!ok) {
		mailimap_list_result_free(*res);
		*res = NULL;
		return conn_fail(c, MAILIMAP_ERROR_LIST, "LIST");
	}
	return 0;
}

static int
list_all(struct conn *c, clist **res)
{
	int	 r;

	*res = NULL;
	if (mailimap_has_extension(c->imap, "SPECIAL-USE") &&
	    mailimap_has_extension(c->imap, "LIST-EXTENDED"))
		return list_special(c, res);
	/* Without them the attributes come if the server gives them. */
	if ((r = mailimap_list(c->imap, "", "*", res)) != MAILIMAP_NO_ERROR) {
		if (*res != NULL)
			mailimap_list_result_free(*res);
		*res = NULL;
		return conn_fail(c, r, "LIST");
	}
	return 0;
}

/* STATUS (MESSAGES UNSEEN) into b->count. */
static int
box_status(struct conn *c, struct box *b)
{
	struct mailimap_status_att_list		*sa;
	struct mailimap_mailbox_data_status	*st = NULL;
	struct mailimap_status_info		*si;
	clistiter				*ci;
	long long				 msgs = -1, unseen = -1;
	int					 r;

	if ((sa = mailimap_status_att_list_new_empty()) == NULL ||
	    mailimap_status_att_list_add(sa, MAILIMAP_STATUS_ATT_MESSAGES) ||
	    mailimap_status_att_list_add(sa, MAILIMAP_STATUS_ATT_UNSEEN))
		fatalx(EX_OSERR, "out of memory");
	r = mailimap_status(c->imap, b->wire, sa, &st);
	mailimap_status_att_list_free(sa);
	if (r == MAILIMAP_NO_ERROR && st != NULL && st->st_info_list != NULL)
		for (ci = clist_begin(st->st_info_list); ci != NULL;
		    ci = clist_next(ci)) {
			si = clist_content(ci);
			if (si->st_att == MAILIMAP_STATUS_ATT_MESSAGES)
				msgs = si->st_value;
			else if (si->st_att == MAILIMAP_STATUS_ATT_UNSEEN)
				unseen = si->st_value;
		}
	if (st != NULL)
		mailimap_mailbox_data_status_free(st);
	if (r == MAILIMAP_ERROR_STATUS) {
		/* NO: this mailbox only, the session goes on. */
		log_warnx("%s/%s: the server refused STATUS: %s", c->what,
		    b->name, c->imap->imap_response != NULL ?
		    c->imap->imap_response : "(no text)");
		snprintf(b->count, sizeof(b->count), "STATUS refused");
		return EX_UNAVAILABLE;
	}
	if (r != MAILIMAP_NO_ERROR)
		return conn_fail(c, r, "STATUS");
	if (msgs < 0 || unseen < 0) {
		log_warnx("%s/%s: STATUS without MESSAGES or UNSEEN", c->what,
		    b->name);
		return EX_PROTOCOL;
	}
	snprintf(b->count, sizeof(b->count), "%lld message%s, %lld unseen",
	    msgs, msgs == 1 ? "" : "s", unseen);
	return 0;
}

/* INBOX first, then by name (bytes of the UTF-8). */
static int
cmp_box(const void *x, const void *y)
{
	const struct box	*a = x, *b = y;
	const char		*na = a->name ? a->name : a->wire;
	const char		*nb = b->name ? b->name : b->wire;
	int			 ia = strcasecmp(na, "INBOX") == 0;
	int			 ib = strcasecmp(nb, "INBOX") == 0;

	if (ia != ib)
		return ib - ia;
	return strcmp(na, nb);
}

/* Why name cannot stand in "mailboxes =" as it is (common/conf.c). */
static const char *
unconfigurable(const char *name)
{
	const unsigned char	*p;
	size_t			 len = strlen(name);

	if (name[0] == ' ' || name[0] == '\t' ||
	    name[len - 1] == ' ' || name[len - 1] == '\t')
		return "blanks at an end: cannot be configured";
	if (strchr(name, ',') != NULL)
		return "a comma: cannot be configured";
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "a control character: cannot be configured";
	return NULL;
}

static void
print_box(const struct box *b)
{
	const char	*why, *shown = b->name != NULL ? b->name : b->wire;
	char		*esc;
	size_t		 len = strlen(shown) * 4 + 1;

	why = b->name == NULL ? "not modified UTF-7 (RFC 3501 5.1.3): "
	    "imapfetch cannot fetch it" : b->name[0] == '\0' ? "empty" :
	    unconfigurable(b->name);
	esc = xmalloc(len);
	log_escape(esc, len, shown);
	printf("%s\t%s", esc, b->count);
	if (b->alen > 0)
		printf("\t%s", b->attrs + 1);
	if (why != NULL)
		printf("%s(%s)", b->alen > 0 ? " " : "\t", why);
	putchar('\n');
	free(esc);
}

/* The boxes of a LIST result, which must outlive them. */
static struct box *
boxes_of(clist *res, size_t *n, char *sep)
{
	struct mailimap_mailbox_list	*ml;
	struct box			*b;
	clistiter			*ci;

	*n = 0;
	*sep = '\0';
	if (res == NULL)
		return xcalloc(1, sizeof(*b));
	b = xcalloc((size_t)clist_count(res) + 1, sizeof(*b));
	for (ci = clist_begin(res); ci != NULL; ci = clist_next(ci)) {
		ml = clist_content(ci);
		b[*n].wire = ml->mb_name;
		b[*n].name = utf7_decode(ml->mb_name);
		box_attrs(&b[*n], ml->mb_flag);
		/* "?" until STATUS answers, if it does. */
		snprintf(b[*n].count, sizeof(b[*n].count), "%s",
		    b[*n].noselect || b[*n].name == NULL ? "-" : "?");
		if (*sep == '\0' || strcasecmp(ml->mb_name, "INBOX") == 0)
			*sep = ml->mb_delimiter;
		(*n)++;
	}
	return b;
}

static int
print_all(const struct account *a, struct box *b, size_t n, char sep)
{
	char	 how[8] = "none";
	size_t	 i;

	if (sep > ' ' && sep < 0x7f)
		snprintf(how, sizeof(how), "\"%c\"", sep);
	qsort(b, n, sizeof(*b), cmp_box);
	printf("# %s: %zu mailbox%s of %s on %s, hierarchy separator %s\n",
	    a->name, n, n == 1 ? "" : "es", a->imap_user, a->imap_host, how);
	for (i = 0; i < n; i++)
		print_box(&b[i]);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("%s: standard output", a->name);
		return EX_IOERR;
	}
	return 0;
}

int
list_account(const struct run *run, const struct account *a)
{
	struct conn	 c;
	struct box	*b;
	clist		*res;
	size_t		 n, i;
	char		 sep;
	int		 r, worst;

	if ((r = account_connect(run, a, &c)) != 0)
		return r;
	if ((r = list_all(&c, &res)) != 0) {
		conn_close(&c);
		return r;
	}
	b = boxes_of(res, &n, &sep);
	worst = 0;
	for (i = 0; i < n && c.error == 0; i++)
		if (!b[i].noselect && b[i].name != NULL)
			worst = ex_worst(worst, box_status(&c, &b[i]));
	conn_close(&c);
	worst = ex_worst(worst, print_all(a, b, n, sep));
	for (i = 0; i < n; i++) {
		free(b[i].name);
		free(b[i].attrs);
	}
	free(b);
	if (res != NULL)
		mailimap_list_result_free(res);
	return worst;
}
