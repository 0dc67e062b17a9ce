/*
 * fuzz_session.c: popd's session (command parser, dispatcher, the
 * AUTHORIZATION and TRANSACTION handlers) in this process, the fuzzer's
 * bytes as the client's.  session_run reads them from a memfd and writes
 * its replies to /dev/null: nothing can block, no thread is needed.
 *
 * Once: a temporary directory (FUZZ_TMPDIR, else /dev/shm or /tmp) with a
 * popd.conf, a certificate when openssl(1) can make one (then CAPA offers
 * STLS and STLS runs a handshake that meets end of file), and users:
 *	alice	password "secret", a Maildir of 7 messages (one in new/
 *		with flags already), max-messages 6
 *	bob	no password (no POP3 login)
 *	carol	password "secret", a maildrop that cannot be created
 *	dave	password "secret", an empty maildrop
 * Hashes are sha512-crypt with rounds=1000, auth-failure-delay = 0.
 * The session runs in one process, as popd's two (popd/chan.h) do
 * between them: logins go to auth_verify, the default verify hook, which
 * is what the privileged process calls for each CHAN_AUTH.
 * Per input: a new session; alice's Maildir is put back as it was when a
 * login may have changed it (QUIT after DELE or RETR).  Checked after each
 * session: the maildrop is closed and no descriptor was left open.
 *
 * Two libc functions are replaced in this program only: syslog(3) (popd
 * logs there; lines go to stderr with FUZZ_VERBOSE=1, else nowhere) and
 * crypt_rn(3), which turns any yescrypt setting (popd/passwd.c's dummy
 * hash, tens of milliseconds, used when no section has a password) into
 * sha512-crypt with rounds=1000.
 * FUZZ_VERBOSE=1 also shows popd's replies: for reading a reproducer.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <crypt.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "log.h"
#include "session.h"
#include "wire.h"

#define CHEAP_HASH	"$6$rounds=1000$fuzzdummy$"

/* Alice's Maildir.  sized: 1 ",S=,W=" right, 2 a stale ",W=", 0 none. */
static const struct fixture {
	const char	*sub, *unique, *info, *text;
	int		 sized;
} fixture[] = {
	{ "new", "1700000001.M1P1Q1.fuzz", "", "From: a@example.com\n"
	  "To: alice@example.com\nSubject: one\nMessage-ID: <1@example.com>\n"
	  "\nline one\n.starts with a dot\n.\n..\nend\n", 1 },
	{ "new", "1700000002.M2P1Q2.fuzz", "",
	  "Subject: two\r\n\r\nbody\r\nno final newline", 0 },
	{ "cur", "1700000003.M3P1Q3.fuzz", ":2,S",
	  "Subject: three\n\nseen already\n", 1 },
	{ "new", "1700000004.M4P1Q4.fuzz", ":2,FR",
	  "Subject: four\n\n\n\nblank lines\n\r\n.\r\n", 0 },
	{ "new", "1700000005.M5P1Q5.empty", "", "", 0 },
	{ "new", "1700000006.M6P1Q6.a-unique-part-longer-than-seventy-octets"
	  "-gets-a-digest-as-its-uidl", "", "Subject: six\n\nstale size\n", 2 },
	{ "new", "1700000007.M7P1Q7.fuzz", "",
	  "Subject: seven\n\nbeyond max-messages\n", 1 },
};
#define NFIXTURE	(sizeof(fixture) / sizeof(fixture[0]))

static char		 dir[4096];
static char		 names[NFIXTURE][256];
static struct conf	 conf;
static int		 infd = -1, outfd = -1, dirty = 1, verbose;

/* popd's syslog lines: to stderr with FUZZ_VERBOSE, else dropped. */
void
openlog(const char *ident, int option, int facility)
{
	(void)ident, (void)option, (void)facility;
}

void
syslog(int pri, const char *fmt, ...)
{
	va_list	ap;

	(void)pri;
	if (!verbose)
		return;
	va_start(ap, fmt);
	fputs("popd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The cheap stand-in for the dummy yescrypt hash (see above). */
char *
crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
	static char	*(*real)(const char *, const char *, void *, int);

	if (real == NULL &&
	    (real = (char *(*)(const char *, const char *, void *, int))
	    dlsym(RTLD_NEXT, "crypt_rn")) == NULL)
		abort();
	if (setting != NULL && strncmp(setting, "$y$", 3) == 0)
		setting = CHEAP_HASH;
	return real(phrase, setting, data, size);
}

static void
die(const char *what)
{
	perror(what);
	abort();
}

static void
put(const char *path, const char *text)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || write(fd, text, strlen(text)) !=
	    (ssize_t)strlen(text) || close(fd) == -1)
		die(path);
}

/* Empties alice's new/ and cur/ (but dot files and directories). */
static void
clear_sub(const char *sub)
{
	char		 path[4200];
	struct dirent	*de;
	DIR		*d;

	snprintf(path, sizeof(path), "%s/alice/%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		die(path);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && de->d_type != DT_DIR)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

static void
restore(void)
{
	struct timespec	 ts[2];
	char		 path[4400];
	size_t		 i;

	clear_sub("new");
	clear_sub("cur");
	for (i = 0; i < NFIXTURE; i++) {
		snprintf(path, sizeof(path), "%s/alice/%s/%s", dir,
		    fixture[i].sub, names[i]);
		put(path, fixture[i].text);
		/* Oldest first: the fixture's order is the listing's. */
		ts[0].tv_sec = ts[1].tv_sec = 1700000000 + (time_t)i;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, path, ts, 0) == -1)
			die(path);
	}
	dirty = 0;
}

static void
make_names(void)
{
	struct wire_count	 wc;
	const struct fixture	*f;
	size_t			 i;

	for (i = 0; i < NFIXTURE; i++) {
		f = &fixture[i];
		wire_count_init(&wc);
		wire_count_update(&wc, f->text, strlen(f->text));
		if (f->sized)
			snprintf(names[i], sizeof(names[i]),
			    "%s,S=%zu,W=%llu%s", f->unique, strlen(f->text),
			    f->sized == 1 ? (unsigned long long)
			    wire_count_final(&wc) : 1ULL, f->info);
		else
			snprintf(names[i], sizeof(names[i]), "%s%s",
			    f->unique, f->info);
	}
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void
cleanup(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
conf_fail(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "fixture %s:%d: %s\n", file, line, msg);
}

/* A certificate for STLS; 0, or -1 when openssl(1) cannot make one. */
static int
make_cert(void)
{
	char	cmd[9000];

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=localhost "
	    "-keyout '%s/key.pem' -out '%s/cert.pem' >/dev/null 2>&1", dir,
	    dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*base = getenv("FUZZ_TMPDIR"), *sub[] = { "alice",
			    "alice/tmp", "alice/new", "alice/cur",
			    "alice/cur/subdir" };
	char		 path[4200], text[16384], tlskeys[8500], *hash;
	size_t		 i;

	(void)argc, (void)argv;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (base == NULL)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/popd-fuzz.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		die(dir);
	atexit(cleanup);
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
		if (mkdir(path, 0700) == -1)
			die(path);
	}
	snprintf(path, sizeof(path), "%s/alice/new/.dotfile", dir);
	put(path, "not a message\n");
	snprintf(path, sizeof(path), "%s/notadir", dir);
	put(path, "");
	make_names();
	restore();
	if ((hash = crypt("secret", "$6$rounds=1000$fuzzsalt$")) == NULL ||
	    hash[0] == '*')
		die("crypt");
	tlskeys[0] = '\0';
	if (make_cert() == 0)
		snprintf(tlskeys, sizeof(tlskeys), "tls-cert = %s/cert.pem\n"
		    "tls-key = %s/key.pem\n", dir, dir);
	snprintf(text, sizeof(text), "auth-failure-delay = 0\n"
	    "plaintext-auth = tls-or-loopback\n%s\n"
	    "[alice]\npassword = %s\nmaildrop = %s/alice\nmax-messages = 6\n\n"
	    "[bob]\nmaildrop = %s/bob\n\n"
	    "[carol]\npassword = %s\nmaildrop = %s/notadir/carol\n\n"
	    "[dave]\npassword = %s\nmaildrop = %s/dave\n",
	    tlskeys, hash, dir, dir, hash, dir, hash, dir);
	if (conf_parse(&conf, "fuzz.conf", text, conf_fail, NULL) != 0)
		abort();
	log_init("popd", LOG_TO_SYSLOG, 1);
	signal(SIGPIPE, SIG_IGN);
	if ((infd = memfd_create("pop3-in", MFD_CLOEXEC)) == -1)
		die("memfd_create");
	outfd = verbose ? dup(2) : open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (outfd == -1)
		die("/dev/null");
	return 0;
}

/* The lowest free descriptor: a leak shows as a higher one. */
static int
fd_probe(void)
{
	int	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd != -1)
		close(fd);
	return fd;
}

static void
run(const uint8_t *data, size_t size)
{
	static struct session	 s;

	if (dirty)
		restore();
	if (ftruncate(infd, 0) == -1 || pwrite(infd, data, size, 0) !=
	    (ssize_t)size || lseek(infd, 0, SEEK_SET) == -1)
		die("memfd");
	session_init(&s, &conf);
	/* STLS ends the session here: another process answers it. */
	s.stls = conf.tls_cert != NULL;
	s.verbose = 1;
	s.loopback = 1;
	snprintf(s.peer, sizeof(s.peer), "fuzz");
	io_init(&s.io, infd, outfd, 5000);
	session_run(&s);
	CHECK(s.mdfd == -1 && s.lockfd == -1 && s.arg_fd == -1 &&
	    s.msgs == NULL, "the maildrop is still open after the session");
	if (s.acct != NULL)
		dirty = 1;
	if (verbose)
		fprintf(stderr, "\nfuzz_session: end=%s\n", s.end);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int	before = fd_probe();

	run(data, size);
	/* A library may open a descriptor once and keep it: only one that
	 * stays open again on a second run of the same input is a leak. */
	if (fd_probe() != before) {
		before = fd_probe();
		run(data, size);
		CHECK(fd_probe() == before, "descriptor %d left open",
		    before);
	}
	return 0;
}
