/*
 * sandbox.c: Landlock, seccomp, rlimits, dumpable (sandbox.h).
 *
 * Landlock and the seccomp filter are set up with raw system calls and a
 * hand-written BPF program compiled in: no library, no parsing at run
 * time, a few microseconds per connection.  The Landlock constants newer
 * than Debian 12's <linux/landlock.h> are spelled out here; the ruleset
 * asks the kernel which ABI it runs and handles every right of that ABI.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* Landlock rights by ABI (linux/landlock.h of Linux 6.12). */
#define LL_FS_ABI1	((1ULL << 13) - 1)	/* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER	(1ULL << 13)		/* ABI 2 */
#define LL_FS_TRUNCATE	(1ULL << 14)		/* ABI 3 */
#define LL_FS_IOCTL_DEV	(1ULL << 15)		/* ABI 5 */
#define LL_NET_TCP	((1ULL << 0) | (1ULL << 1))	/* ABI 4 */
#define LL_SCOPE_ALL	((1ULL << 0) | (1ULL << 1))	/* ABI 6 */

/* The ruleset attribute as of ABI 6; older ABIs take a prefix of it. */
struct ll_ruleset {
	uint64_t	fs, net, scoped;
};

/*
 * LeakSanitizer reads /proc/PID/task and maps at exit: a sanitizer build
 * may read /proc too (it is a test build, never deployed).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_PROC	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_PROC	1
#endif
#endif

/* Rights granted under the maildrop: not EXECUTE, MAKE_CHAR, MAKE_SOCK,
 * MAKE_FIFO, MAKE_BLOCK, MAKE_SYM, IOCTL_DEV. */
#define LL_MAILDROP	(LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | \
	LL_FS_REFER | LL_FS_TRUNCATE)

static void
basics(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal(EX_OSERR, "sandbox: prctl");
	/* syslog(3) stamps local time: read the zone while files can be. */
	tzset();
}

/* Adds a rule to ruleset fd: rights under dir. */
static void
allow(int fd, const char *dir, uint64_t rights)
{
	struct landlock_path_beneath_attr	 pb;
	int					 pfd;

	if ((pfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal(EX_OSERR, "sandbox: %s", dir);
	pb.allowed_access = rights;
	pb.parent_fd = pfd;
	if (syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb,
	    0) == -1)
		fatal(EX_OSERR, "sandbox: landlock_add_rule %s", dir);
	close(pfd);
}

/*
 * A ruleset handling all the rights the running kernel knows (net and
 * scope too when scope is set); with a rule granting dir's tree
 * LL_MAILDROP when dir is not NULL.  0, or -1 when the kernel has no
 * Landlock (said once).
 */
static int
landlock(const char *dir, int scope)
{
	struct ll_ruleset	 rs = { 0, 0, 0 };
	size_t			 size = sizeof(rs.fs);
	int			 abi, fd;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		log_warn("sandbox: no Landlock (%s): files are not confined",
		    errno == ENOSYS ? "kernel older than 5.13, or filtered" :
		    errno == EOPNOTSUPP ? "disabled at boot" :
		    "forbidden by a system call filter");
		return -1;
	}
	rs.fs = LL_FS_ABI1;
	if (abi >= 2)
		rs.fs |= LL_FS_REFER;
	if (abi >= 3)
		rs.fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		rs.fs |= LL_FS_IOCTL_DEV;
	if (abi >= 4 && scope) {
		rs.net = LL_NET_TCP;
		size = offsetof(struct ll_ruleset, scoped);
	}
	if (abi >= 6 && scope) {
		rs.scoped = LL_SCOPE_ALL;
		size = sizeof(rs);
	}
	if ((fd = (int)syscall(SYS_landlock_create_ruleset, &rs, size, 0)) ==
	    -1)
		fatal(EX_OSERR, "sandbox: landlock_create_ruleset");
	if (dir != NULL) {
		allow(fd, dir, LL_MAILDROP & rs.fs);
#ifdef SANITIZER_PROC
		allow(fd, "/proc", LANDLOCK_ACCESS_FS_READ_FILE |
		    LANDLOCK_ACCESS_FS_READ_DIR);
#endif
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0) == -1)
		fatal(EX_OSERR, "sandbox: landlock_restrict_self");
	close(fd);
	return 0;
}

#if defined(__x86_64__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#endif

#ifdef SECCOMP_ARCH
/*
 * What the pre-authentication process may call: its I/O on the
 * descriptors it has (the client, the channel), memory, time,
 * randomness for TLS, signals to itself (abort), exit.  Names missing on
 * an architecture (aarch64 has no poll) drop out.
 */
static const unsigned allowed[] = {
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_close,
	SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_ppoll,
#ifdef SYS_poll
	SYS_poll,
#endif
	SYS_lseek, SYS_fstat,
#ifdef SYS_newfstatat
	SYS_newfstatat,
#endif
	SYS_brk, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise,
	SYS_futex, SYS_getrandom, SYS_clock_gettime, SYS_gettimeofday,
	SYS_clock_nanosleep, SYS_nanosleep, SYS_getpid, SYS_gettid,
	SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_rt_sigaction,
	SYS_sigaltstack, SYS_tgkill, SYS_restart_syscall, SYS_sched_yield,
	SYS_exit, SYS_exit_group,
};
#define NALLOWED	(sizeof(allowed) / sizeof(allowed[0]))

static int
load_seccomp(void)
{
	struct sock_filter	f[NALLOWED + 6];
	struct sock_fprog	prog;
	size_t			i, n = 0;

	/* Another architecture's numbers mean other calls: kill. */
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    SECCOMP_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
	/* Each match jumps over the rest and the EACCES to ALLOW.  (x32
	 * numbers have bit 30 set and match none.) */
	for (i = 0; i < NALLOWED; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    allowed[i], (uint8_t)(NALLOWED - i), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA));
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
		return 0;
	if (errno != EINVAL && errno != EPERM && errno != EACCES)
		fatal(EX_OSERR, "sandbox: seccomp");
	log_warnx("sandbox: no seccomp filter (%s): system calls are not "
	    "confined", errno == EINVAL ? "kernel without seccomp" :
	    "forbidden by a system call filter");
	return -1;
}
#else
static int
load_seccomp(void)
{
	log_warnx("sandbox: no seccomp filter for this architecture");
	return -1;
}
#endif

/*
 * The highest open descriptor among the first 256, plus one.  One poll
 * marks each closed one POLLNVAL (3 us here; 256 fcntl calls took 26 us).
 */
static rlim_t
fds_open(void)
{
	struct pollfd	pfd[256];
	struct rlimit	rl;
	int		fd, n = 256, top = 0;

	/* poll refuses more entries than RLIMIT_NOFILE: the limit set
	 * then only lowers it, whatever was inherited above it. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n)
		n = (int)rl.rlim_cur;
	for (fd = 0; fd < n; fd++) {
		pfd[fd].fd = fd;
		pfd[fd].events = 0;
		pfd[fd].revents = 0;
	}
	if (poll(pfd, (nfds_t)n, 0) == -1)
		fatal(EX_OSERR, "sandbox: poll");
	for (fd = 0; fd < n; fd++)
		if (!(pfd[fd].revents & POLLNVAL))
			top = fd + 1;
	return (rlim_t)top;
}

static void
limit(int resource, rlim_t n)
{
	struct rlimit	rl = { n, n };

	if (setrlimit(resource, &rl) == -1)
		fatal(EX_OSERR, "sandbox: setrlimit %d", resource);
}

void
sandbox_net(void)
{
	basics();
	/*
	 * No new descriptor, no process, no core.  Not RLIMIT_FSIZE: the log
	 * may be a file on stderr (popd -e >> file), which a limit of 0
	 * would turn into SIGXFSZ; no other file can be opened anyway.
	 */
	limit(RLIMIT_NOFILE, fds_open());
	limit(RLIMIT_NPROC, 0);
	limit(RLIMIT_CORE, 0);
	(void)landlock(NULL, 1);
	(void)load_seccomp();
}

void
sandbox_session(const char *dir)
{
	basics();
	(void)landlock(dir, 0);
}
