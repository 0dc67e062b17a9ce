/*
 * confload.c: popd.conf's owner and mode (confload.h).  The file holds the
 * password hashes and names the maildrops: whoever may write it may log
 * in as anyone, or point a login at any directory popd's user can reach.
 */
#include <sys/stat.h>

#include <pwd.h>
#include <stdio.h>

#include "confload.h"

/* A user for a message: the name, or the number when there is none. */
static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

/* The owner and mode of the file st; 0 when trusted, else 1 (said). */
static int
check_owner_mode(const char *path, const struct stat *st, uid_t uid,
    conf_errfn err, void *arg)
{
	char	msg[256], owner[64], me[64];
	int	n = 0;

	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(msg, sizeof(msg), "writable by group or others "
		    "(mode %04o): refused; chmod go-w %s",
		    (unsigned)(st->st_mode & 07777), path);
		err(arg, path, 0, msg);
		n++;
	}
	if (st->st_uid != 0 && st->st_uid != uid) {
		snprintf(msg, sizeof(msg), "owned by %s, not by root or %s: "
		    "refused; chown root %s",
		    user_name(st->st_uid, owner, sizeof(owner)),
		    user_name(uid, me, sizeof(me)), path);
		err(arg, path, 0, msg);
		n++;
	}
	return n;
}

/* 1 when c holds a password hash. */
static int
has_hashes(const struct conf *c)
{
	size_t	i;

	for (i = 0; i < c->naccounts; i++)
		if (c->accounts[i].password != NULL)
			return 1;
	return 0;
}

int
confload(struct conf *c, const char *path, uid_t uid, conf_errfn err,
    void *arg)
{
	struct stat	 st;
	char		 msg[256];
	int		 n = 0, known;

	/* A file that is not there: conf_load says so. */
	if ((known = stat(path, &st) == 0))
		n = check_owner_mode(path, &st, uid, err, arg);
	n += conf_load(c, path, err, arg);
	if (known && n == 0 && (st.st_mode & S_IROTH) && has_hashes(c)) {
		snprintf(msg, sizeof(msg), "warning: readable by others and "
		    "holds password hashes (mode %04o); chmod o-r %s",
		    (unsigned)(st.st_mode & 07777), path);
		err(arg, path, 0, msg);
	}
	return n;
}
