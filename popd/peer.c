/*
 * peer.c: who is on the other end.  getpeername(2) first: it cannot be
 * forged by the environment.  REMOTE_ADDR (systemd Accept=yes) and
 * TCPREMOTEIP (ucspi-tcp) only name the peer when fd 0 is no socket.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

static int
is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	const unsigned char		*a;

	if (ss->ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return 1;
	a = sin6->sin6_addr.s6_addr;
	return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && a[12] == 127;
}

void
peer_lookup(int fd, char *buf, size_t len, int *loopback)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	const char		*env;
	const void		*addr;
	int			 family;

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
		family = ss.ss_family;
		addr = family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)&ss)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
		/* An IPv4 client of a dual-stack socket (systemd's [::]:110)
		 * is logged as itself, for people and fail2ban alike. */
		if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(
		    &((struct sockaddr_in6 *)&ss)->sin6_addr)) {
			family = AF_INET;
			addr = (const unsigned char *)addr + 12;
		}
		if (inet_ntop(family, addr, buf, (socklen_t)len) == NULL)
			snprintf(buf, len, "?");
		*loopback = is_loopback(&ss);
		return;
	}
	/*
	 * A pipe or a Unix socket: a local peer (a test, ssh), unless the
	 * spawner names a remote address, which then decides.
	 */
	*loopback = 1;
	if ((env = getenv("REMOTE_ADDR")) == NULL)
		env = getenv("TCPREMOTEIP");
	snprintf(buf, len, "%s", env != NULL ? env : "local");
	memset(&ss, 0, sizeof(ss));
	if (env != NULL) {
		if (inet_pton(AF_INET, env,
		    &((struct sockaddr_in *)&ss)->sin_addr) == 1)
			ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, env,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
			ss.ss_family = AF_INET6;
		*loopback = is_loopback(&ss);
	}
	for (char *p = buf; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			*p = '?';
}
