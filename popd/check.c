/*
 * check.c: popd -t and popd -n (see check.h).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "confload.h"
#include "params.h"
#include "session.h"
#include "tlsconf.h"
#include "tlsload.h"

static void
err_stderr(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	if (line > 0)
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

/* 1 when path opens for reading as we are now; else says why. */
static int
readable(const char *what, const char *path, const char *user)
{
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "popd -t: user %s cannot read %s %s: %s\n",
		    user, what, path, strerror(errno));
		return 0;
	}
	close(fd);
	return 1;
}

/*
 * 1 when the maildrop (or, when it does not exist yet, its parent, where
 * it will be made) is usable as we are now.
 */
static int
maildrop_ok(const struct account *a, const char *user)
{
	char		 parent[4096], *slash;
	const char	*dir = a->maildrop;

	if (access(dir, F_OK) == -1 && errno == ENOENT) {
		snprintf(parent, sizeof(parent), "%s", dir);
		if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
			*slash = '\0';
		dir = parent;
	}
	if (access(dir, R_OK | W_OK | X_OK) == -1) {
		fprintf(stderr, "popd -t: [%s]: user %s cannot use %s: %s\n",
		    a->name, user, dir, strerror(errno));
		return 0;
	}
	return 1;
}

/* In a child, as pw: what the service will need.  Exits 0 or 1. */
static void
check_as(const struct conf *c, const char *path, const struct passwd *pw)
{
	size_t	 i;
	int	 ok = 1;

	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
		fprintf(stderr, "popd -t: cannot become %s: %s\n",
		    pw->pw_name, strerror(errno));
		_exit(1);
	}
	ok &= readable("the configuration", path, pw->pw_name);
	if (c->tls_cert != NULL)
		ok &= readable("tls-cert", c->tls_cert, pw->pw_name);
	if (c->tls_key != NULL)
		ok &= readable("tls-key", c->tls_key, pw->pw_name);
	if (c->tls_ocsp_staple != NULL)
		ok &= readable("tls-ocsp-staple", c->tls_ocsp_staple,
		    pw->pw_name);
	for (i = 0; i < c->naccounts; i++) {
		ok &= maildrop_ok(&c->accounts[i], pw->pw_name);
		if (c->accounts[i].imap_password_file != NULL)
			ok &= readable("imap-password-file",
			    c->accounts[i].imap_password_file, pw->pw_name);
	}
	_exit(ok ? 0 : 1);
}

/* As root: fork, become the service user, check.  0, or -1 when not. */
static int
check_service_user(const struct conf *c, const char *path, const char *user)
{
	struct passwd	*pw;
	pid_t		 pid;
	int		 status;

	if ((pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "popd -t: no user %s: the units run popd and "
		    "imapfetch as it (sysusers.d/popd.conf makes it)\n", user);
		return -1;
	}
	fflush(stderr);
	if ((pid = fork()) == -1) {
		perror("popd -t: fork");
		return -1;
	}
	if (pid == 0)
		check_as(c, path, pw);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	fprintf(stderr, "popd -t: user %s can read the configuration, keys "
	    "and password files, and use every maildrop\n", user);
	return 0;
}

/*
 * Whom the configuration file may belong to, besides root: the user the
 * service runs as when we are root (checking for it), else ourselves.
 */
static uid_t
trusted_uid(const char *user)
{
	struct passwd	*pw;

	if (geteuid() == 0 && (pw = getpwnam(user)) != NULL)
		return pw->pw_uid;
	return geteuid();
}

/* Hashes of several methods or costs make every login compute each. */
static void
note_classes(const struct conf *c, const char *path)
{
	size_t	n = passwd_classes(c);

	if (n > 1)
		fprintf(stderr, "%s: note: the password hashes are of %zu "
		    "methods or costs, and every login computes one of each "
		    "(so that timing does not tell users apart); popd "
		    "--hash-password makes them alike\n", path, n);
}

int
check_config(const char *path, const char *user)
{
	const struct tlsfn	*fn;
	struct conf		 c;
	struct tls		*ctx;
	char			 err[256];
	int			 n;

	n = confload(&c, path, trusted_uid(user), err_stderr, NULL);
	if (n == 0)
		note_classes(&c, path);
	/* popd loads libtls only for TLS: a missing one shows here first. */
	if (n == 0 && c.tls_cert != NULL) {
		if ((fn = tlsload(err, sizeof(err))) == NULL ||
		    (ctx = tlsconf_server(fn, &c, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s: tls: %s\n", path, err);
			n++;
		} else
			fn->free(ctx);
	}
	if (n == 0 && geteuid() == 0 && check_service_user(&c, path, user))
		n++;
	conf_free(&c);
	return n == 0 ? 0 : EX_CONFIG;
}

int
check_dump(const char *path)
{
	struct conf	 c;
	int		 n;

	n = confload(&c, path, trusted_uid(POPD_SERVICE_USER), err_stderr,
	    NULL);
	if (n == 0)
		conf_dump(&c, stdout);
	conf_free(&c);
	return n == 0 && fflush(stdout) == 0 ? 0 : EX_CONFIG;
}
