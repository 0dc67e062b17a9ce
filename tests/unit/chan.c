/*
 * chan.c: popd's channel (popd/chan.h): fields round-trip, and every
 * length the other side sends is checked: a message over the reader's
 * cap, a string over its field's max, a short field, bytes left over, a
 * peer that dies mid-message, a peer that says nothing before a deadline.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../../popd/chan.h"
#include "iowait.h"
#include "tap.h"

static int	sv[2];

static void
pair(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
		perror("socketpair");
		_exit(1);
	}
}

static void
unpair(void)
{
	close(sv[0]);
	close(sv[1]);
}

/* Raw bytes on the wire: a header saying type and len, then body. */
static void
raw(uint32_t type, uint32_t len, const void *body, size_t n)
{
	uint32_t	hdr[2] = { type, len };

	if (write(sv[0], hdr, sizeof(hdr)) != sizeof(hdr) ||
	    (n > 0 && write(sv[0], body, n) != (ssize_t)n))
		_exit(1);
}

int
main(void)
{
	unsigned char	 wbuf[256], rbuf[256];
	char		 s1[16], s2[16];
	struct chanmsg	 w, r;
	const void	*p;
	size_t		 n;

	/* Round trip. */
	pair();
	chan_msg_init(&w, wbuf, sizeof(wbuf));
	chan_put_u32(&w, 7);
	chan_put_u64(&w, 1ULL << 40);
	chan_put_str(&w, "alice", 5);
	chan_put_str(&w, NULL, 0);
	chan_put_str(&w, "xyz", 3);
	ok(chan_send(sv[0], CHAN_AUTH, &w) == 0, "send");
	chan_msg_init(&r, rbuf, sizeof(rbuf));
	is_int(chan_recv(sv[1], &r, 0), CHAN_AUTH, "recv: the type");
	is_int(chan_get_u32(&r), 7, "u32");
	ok(chan_get_u64(&r) == 1ULL << 40, "u64");
	is_int(chan_get_str(&r, s1, 15), 5, "str: length");
	is_str(s1, "alice", "str: bytes, NUL-terminated");
	is_int(chan_get_str(&r, s2, 15), 0, "empty str");
	p = chan_get_bytes(&r, 3, &n);
	ok(p != NULL && n == 3 && memcmp(p, "xyz", 3) == 0, "bytes in place");
	is_int(chan_msg_done(&r), 0, "all read, nothing left");

	/* A string over its field's max, or left unread. */
	ok(chan_send(sv[0], CHAN_AUTH, &w) == 0, "send again");
	is_int(chan_recv(sv[1], &r, 0), CHAN_AUTH, "recv");
	chan_get_u32(&r);
	chan_get_u64(&r);
	is_int(chan_get_str(&r, s1, 4), 0, "a 5-byte string, max 4: refused");
	ok(r.bad && chan_msg_done(&r) == -1, "...and the message is bad");
	ok(chan_send(sv[0], CHAN_AUTH, &w) == 0, "send again");
	is_int(chan_recv(sv[1], &r, 0), CHAN_AUTH, "recv");
	chan_get_u32(&r);
	is_int(chan_msg_done(&r), -1, "bytes left over: bad");

	/* Short fields: a length that points past the end. */
	raw(CHAN_END, 6, "\5\0\0\0ab", 6);
	is_int(chan_recv(sv[1], &r, 0), CHAN_END, "recv a lying string");
	is_int(chan_get_str(&r, s1, 15), 0, "a string of 5 in 2 bytes: refused");
	ok(r.bad, "...bad");
	raw(CHAN_END, 2, "ab", 2);
	is_int(chan_recv(sv[1], &r, 0), CHAN_END, "recv 2 bytes");
	chan_get_u64(&r);
	ok(r.bad, "a u64 from 2 bytes: bad");

	/* Over the reader's cap, and over CHAN_MSG_MAX. */
	raw(CHAN_AUTH, sizeof(rbuf) + 1, NULL, 0);
	errno = 0;
	is_int(chan_recv(sv[1], &r, 0), -1, "a message over the cap: refused");
	is_int(errno, EMSGSIZE, "...EMSGSIZE");
	unpair();
	pair();
	raw(CHAN_AUTH, UINT32_MAX, NULL, 0);
	is_int(chan_recv(sv[1], &r, 0), -1, "4 GB announced: refused");
	unpair();

	/* The writer side refuses what does not fit. */
	chan_msg_init(&w, wbuf, 8);
	chan_put_str(&w, "too long", 8);
	ok(w.bad, "put over the buffer: bad");
	pair();
	errno = 0;
	is_int(chan_send(sv[0], CHAN_AUTH, &w), -1, "a bad message is not sent");
	unpair();

	/* The peer dies: mid-header, mid-body, before anything. */
	pair();
	if (write(sv[0], "\1\0", 2) != 2)
		_exit(1);
	close(sv[0]);
	errno = 0;
	is_int(chan_recv(sv[1], &r, 0), -1, "EOF mid-header: -1");
	is_int(errno, 0, "...errno 0 (end of file)");
	close(sv[1]);
	pair();
	raw(CHAN_AUTH, 10, "abc", 3);
	close(sv[0]);
	is_int(chan_recv(sv[1], &r, 0), -1, "EOF mid-body: -1");
	close(sv[1]);

	/* A silent peer: the deadline. */
	pair();
	errno = 0;
	is_int(chan_recv(sv[1], &r, iow_now() + 50), -1, "silent peer: -1");
	is_int(errno, ETIMEDOUT, "...ETIMEDOUT");
	unpair();
	return done_testing();
}
