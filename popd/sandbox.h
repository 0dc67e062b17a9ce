/*
 * sandbox.h: what popd's processes take away from themselves, with what
 * Linux gives an unprivileged process.  It holds under any supervisor;
 * a unit's own sandbox is a second layer.
 *
 * Both: not dumpable (no core, no ptrace or /proc/PID/mem by the same
 * uid) and no new privileges (no set-uid gain; needed for the rest).
 * Where the kernel lacks Landlock or seccomp (or a supervisor's filter
 * forbids them), one line is logged and the process goes on without.
 * Any other failure ends the process: a half-built sandbox is not used.
 */
#ifndef POPD_SANDBOX_H
#define POPD_SANDBOX_H

/*
 * The pre-authentication process, once it has its descriptors and its
 * TLS context: Landlock with every file system right handled and none
 * granted (no file can be opened or made), no TCP, no signal to a
 * process outside; rlimits of no new descriptor, process or core; and a
 * seccomp filter that lets through only the I/O, memory, time and exit
 * calls a session needs (read, write, poll, mmap, futex, getrandom, ...):
 * open, socket, connect, execve, fork, ptrace and the rest fail with
 * EACCES.
 */
void	sandbox_net(void);

/*
 * The privileged process after a login, the maildrop open and locked:
 * Landlock grants files and directories under dir only (read, write,
 * make, remove, rename; no devices, links, sockets or execution), so the
 * session cannot reach another user's maildrop or the configuration.
 */
void	sandbox_session(const char *dir);

#endif
