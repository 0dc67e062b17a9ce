/*
 * fuzz_retr.c: the RETR/TOP encoder (wire.h) on arbitrary file bytes, as
 * popd's msg_body (static in popd/trans.c) drives it: wire_enc_update in
 * blocks, then wire_enc_final, then the "." line.
 *
 * The output is read back as a client does: lines up to the one that is
 * ".", a leading dot removed.  It must end exactly at that line and give
 * back the input with every LF not after CR turned into CRLF, plus a CRLF
 * when the input does not end in LF; its octets (stuffed dots aside) must
 * be what wire_count and maildir_count say, which LIST and ",W=" show.
 * TOP n must give the header, the blank line and n body lines of that,
 * cut at a line end.  RETR goes once through common/io.c (io_write into a
 * memfd, as popd's sink does) and once in random blocks to a memory sink.
 */
#include <sys/mman.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "io.h"
#include "maildir.h"
#include "wire.h"

struct buf {
	unsigned char	*p;
	size_t		 len, cap;
};

static void
buf_add(struct buf *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 64;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static int
sink_buf(void *arg, const void *p, size_t len)
{
	buf_add(arg, p, len);
	return 0;
}

static int
sink_io(void *arg, const void *p, size_t len)
{
	return io_write(arg, p, len);
}

/* The wire form of data[0..len): the reference, one byte at a time. */
static void
ref_wire(struct buf *out, const uint8_t *data, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			buf_add(out, "\r", 1);
		buf_add(out, &data[i], 1);
	}
	if (len > 0 && data[len - 1] != '\n')
		buf_add(out, "\r\n", 2);
}

/* How much of the input TOP lines sends: up to the LF that ends it. */
static size_t
top_cut(const uint8_t *data, size_t size, long long lines)
{
	size_t		 i, start = 0;
	long long	 body = -1;	/* -1: still in the header */

	if (lines < 0)
		return size;
	for (i = 0; i < size; i++) {
		if (body == lines)
			return start;
		if (data[i] != '\n')
			continue;
		if (body >= 0)
			body++;
		else if (i == start || (i == start + 1 && data[start] == '\r'))
			body = 0;
		start = i + 1;
	}
	return body == lines ? start : size;
}

/*
 * Reads out as a POP3 client: returns the message with its dots
 * unstuffed into msg, after checking that the "." line ends it exactly.
 */
static void
client_read(const struct buf *out, struct buf *msg)
{
	const unsigned char	*p = out->p, *end = p + out->len, *nl;
	int			 done = 0;

	while (p < end) {
		CHECK(!done, "bytes after the final \".\" line");
		nl = memchr(p, '\n', (size_t)(end - p));
		CHECK(nl != NULL && nl > p && nl[-1] == '\r',
		    "output not in CRLF lines at %zu", (size_t)(p - out->p));
		if (nl - p == 2 && p[0] == '.')
			done = 1;
		else {
			if (p[0] == '.')
				p++;
			buf_add(msg, p, (size_t)(nl + 1 - p));
		}
		p = nl + 1;
	}
	CHECK(done, "no final \".\" line");
}

/* Encodes data for TOP lines (-1: RETR) to out, in random blocks. */
static uint64_t
encode_blocks(const uint8_t *data, size_t size, long long lines,
    struct buf *out)
{
	struct wire_enc	 e;
	struct chunker	 ch;
	size_t		 i, k;
	int		 r = 0;

	chunker_init(&ch, data, size);
	wire_enc_init(&e);
	for (i = 0; i < size && r == 0; i += k) {
		k = chunker_next(&ch, size - i, 256);
		r = wire_enc_update(&e, data + i, k, lines, sink_buf, out);
	}
	CHECK(r == 0 || (r == 1 && lines >= 0), "wire_enc_update: %d", r);
	CHECK(wire_enc_final(&e, sink_buf, out) == 0, "wire_enc_final");
	buf_add(out, ".\r\n", 3);
	return e.octets;
}

static void
check(const uint8_t *data, size_t size, const struct buf *out,
    long long lines)
{
	struct buf	 msg = { 0 }, ref = { 0 };

	client_read(out, &msg);
	ref_wire(&ref, data, top_cut(data, size, lines));
	CHECK(msg.len == ref.len && (ref.len == 0 ||
	    memcmp(msg.p, ref.p, ref.len) == 0), "TOP %lld: %zu octets read "
	    "back, %zu expected", lines, msg.len, ref.len);
	free(msg.p);
	free(ref.p);
}

/* RETR as popd sends it: wire_enc over io_write, to a memfd. */
static uint64_t
encode_io(const uint8_t *data, size_t size, struct buf *out)
{
	static struct io	 io;
	static int		 fd = -1;
	struct wire_enc		 e;
	unsigned char		 tmp[4096];
	ssize_t			 n;
	off_t			 off = 0;

	if (fd == -1 && (fd = memfd_create("retr", 0)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1)
		abort();
	io_init(&io, -1, fd, -1);
	wire_enc_init(&e);
	CHECK(wire_enc_update(&e, data, size, -1, sink_io, &io) == 0, "io");
	CHECK(wire_enc_final(&e, sink_io, &io) == 0, "io final");
	CHECK(io_puts(&io, ".\r\n") == 0 && io_flush(&io) == 0, "io flush");
	while ((n = pread(fd, tmp, sizeof(tmp), off)) > 0) {
		buf_add(out, tmp, (size_t)n);
		off += n;
	}
	CHECK(n == 0, "pread");
	CHECK(out->len == io.wbytes, "io wrote %llu, file has %zu",
	    io.wbytes, out->len);
	return e.octets;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long long	 tops[] = { 0, 1, 2, 5 };
	static int		 fd = -1;
	struct wire_count	 wc;
	struct buf		 out = { 0 }, out2 = { 0 };
	uint64_t		 octets, counted;
	size_t			 i;

	wire_count_init(&wc);
	wire_count_update(&wc, data, size);
	/* maildir_count: how popd sizes a file whose name has no ",W=". */
	if (fd == -1 && (fd = memfd_create("file", 0)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size || lseek(fd, 0, SEEK_SET) == -1)
		abort();
	CHECK(maildir_count(fd, &counted) == 0, "maildir_count");
	CHECK(counted == wire_count_final(&wc), "maildir_count %" PRIu64
	    ", wire_count %" PRIu64, counted, wire_count_final(&wc));

	octets = encode_io(data, size, &out);
	CHECK(octets == counted, "RETR sent %" PRIu64 ", LIST says %" PRIu64,
	    octets, counted);
	check(data, size, &out, -1);

	CHECK(encode_blocks(data, size, -1, &out2) == octets, "block octets");
	CHECK(out2.len == out.len && memcmp(out.p, out2.p, out.len) == 0,
	    "RETR differs with the block sizes");
	for (i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		out2.len = 0;
		encode_blocks(data, size, tops[i], &out2);
		check(data, size, &out2, tops[i]);
	}
	free(out.p);
	free(out2.p);
	return 0;
}
