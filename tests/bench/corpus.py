#!/usr/bin/env python3
"""corpus.py: the benchmark corpus, a Maildir's worth of messages.

  corpus.py [--seed S] CACHEDIR N

Prints the path of a directory holding N message files, made once and kept
in CACHEDIR/seed-S-n-N (a later call with the same seed and count only
prints the path).  The same seed and count give the same bytes on every
machine (Python's Mersenne Twister, no other source of randomness).

The mix, after mail as it arrives at a small office: about 56% plain text
of 2-20 KB, 36% multipart/alternative (text + HTML) of 2-20 KB, 7% with a
100 KB-1 MB base64 attachment, 0.1% (at least one) of 10-15 MB; and the
cases that break fetchers and servers: no final newline, a bare CR, a
100 KB line, 8-bit bytes, an empty body, dot-leading lines, headers only.

Files are named as a Maildir delivery would name them,
SECONDS.M<i>P1.bench,S=<size>,W=<size with CRLF>, with LF line ends, and
their mtime is SECONDS: popd and Dovecot take ,S= and ,W= as the sizes, so
both see the same maildrop as after imapfetch.  The edge cases carry no
,S=/,W= (as if written by another tool), so a server must look at them.
"""
import base64
import os
import random
import sys

T0 = 1700000000
WORDS = (b"the of and to in is that for it as was with be by on not he this are "
         b"or his from at which but have an they you were her she there been one "
         b"all we their has would when if so no what up out more said about into "
         b"than them can only other new some could time these two may then do "
         b"first any my now such like our over man me even most made after also "
         b"did many before must through back years where much your way well down "
         b"should because each just those people mr how too little state good very "
         b"make world still own see men work long get here between both life being "
         b"under never day same another know while last might us great old year "
         b"invoice meeting report attached regards thanks please tomorrow").split()


def text_pool(rng, size):
    """About SIZE bytes of wrapped prose, lines of at most 76 bytes."""
    out, line, n = [], [], 0
    while n < size:
        w = rng.choice(WORDS)
        if sum(len(x) + 1 for x in line) + len(w) > 72:
            out.append(b" ".join(line) + b"\n")
            n += len(out[-1])
            line = []
            if rng.random() < 0.08:
                out.append(b"\n")
                n += 1
        line.append(w)
    return b"".join(out)


def slice_lines(rng, pool, size):
    """SIZE bytes or a little less from POOL, whole lines."""
    size = min(size, len(pool) - 1)
    start = pool.index(b"\n", rng.randrange(0, len(pool) - size)) + 1
    end = pool.rfind(b"\n", start, start + size) + 1
    return pool[start:end] if end > start else pool[start:start + size]


def b64_lines(raw):
    b = base64.b64encode(raw)
    return b"".join(b[i:i + 76] + b"\n" for i in range(0, len(b), 76))


def header(i, subject, extra=b""):
    return (b"Return-Path: <sender%d@example.org>\n" % (i % 97) +
            b"Received: from mx.example.org (mx.example.org [192.0.2.1])\n"
            b"\tby mail.example.com with ESMTPS id %08x\n" % i +
            b"\tfor <alice@example.com>; Tue, 14 Nov 2023 22:13:20 +0000\n"
            b"From: Sender %d <sender%d@example.org>\n" % (i % 97, i % 97) +
            b"To: Alice <alice@example.com>\n"
            b"Subject: " + subject + b" %d\n" % i +
            b"Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
            b"Message-ID: <%d.bench@example.org>\n" % i +
            b"MIME-Version: 1.0\n" + extra)


def plain(rng, i, pool, size):
    h = header(i, b"plain", b"Content-Type: text/plain; charset=utf-8\n")
    return h + b"\n" + slice_lines(rng, pool, max(size - len(h), 100))


def alternative(rng, i, pool, size):
    h = header(i, b"alternative",
               b"Content-Type: multipart/alternative; boundary=\"b%d\"\n" % i)
    part = max((size - len(h)) // 3, 200)
    txt = slice_lines(rng, pool, part)
    html = b"<html><body><p>" + slice_lines(rng, pool, part).replace(
        b"\n\n", b"</p>\n<p>") + b"</p></body></html>\n"
    return (h + b"\nThis is a multi-part message in MIME format.\n\n"
            b"--b%d\nContent-Type: text/plain; charset=utf-8\n\n" % i + txt +
            b"\n--b%d\nContent-Type: text/html; charset=utf-8\n\n" % i + html +
            b"\n--b%d--\n" % i)


def attachment(rng, i, pool, bpool, size):
    h = header(i, b"attachment",
               b"Content-Type: multipart/mixed; boundary=\"b%d\"\n" % i)
    att = slice_lines(rng, bpool, size)
    return (h + b"\n--b%d\nContent-Type: text/plain; charset=utf-8\n\n" % i +
            slice_lines(rng, pool, 1500) +
            b"\n--b%d\nContent-Type: application/pdf; name=\"r%d.pdf\"\n" % (i, i) +
            b"Content-Transfer-Encoding: base64\n"
            b"Content-Disposition: attachment; filename=\"r%d.pdf\"\n\n" % i +
            att + b"\n--b%d--\n" % i)


def edge_cases(pool):
    h = lambda n, s: (b"From: edge@example.org\nTo: alice@example.com\n"
                      b"Subject: edge %s\nMessage-ID: <edge%d.bench@example.org>\n" % (s, n))
    return [
        h(0, b"no final newline") + b"\nthe last line has no newline",
        h(1, b"bare CR") + b"\nbefore\ra bare CR\rand after\n",
        h(2, b"long line") + b"\n" + b"x" * 102400 + b"\n",
        h(3, b"8-bit") + b"Content-Type: text/plain; charset=iso-8859-1\n"
        b"Content-Transfer-Encoding: 8bit\n\n" + bytes(range(128, 256)) +
        b"\n\xc3\xa9t\xc3\xa9 \xe2\x82\xac\n",
        h(4, b"empty body") + b"\n",
        h(5, b"dot lines") + b"\n.\n..\n.x\n...\n. \nend\n" + pool[:2000],
        h(6, b"headers only"),
    ]


def wire_size(b):
    return len(b) + b.count(b"\n") - b.count(b"\r\n")


def generate(d, seed, n):
    rng = random.Random(seed)
    pool = text_pool(rng, 1 << 20)
    bpool = b64_lines(rng.randbytes(12 << 20))       # 16 MB of base64
    huge = max(1, round(n * 0.001))
    att = round(n * 0.07)
    alt = round(n * 0.36)
    edges = edge_cases(pool)[:n]
    kinds = (["huge"] * huge + ["att"] * att + ["alt"] * alt)[:n - len(edges)]
    kinds += ["plain"] * (n - len(edges) - len(kinds))
    rng.shuffle(kinds)
    kinds = ["edge"] * len(edges) + kinds
    # The edge cases spread over the maildrop, not all first.
    rng.shuffle(kinds)
    e = iter(edges)
    os.makedirs(d)
    for i, k in enumerate(kinds):
        if k == "edge":
            m = next(e)
        elif k == "plain":
            m = plain(rng, i, pool, rng.randint(2048, 20480))
        elif k == "alt":
            m = alternative(rng, i, pool, rng.randint(2048, 20480))
        elif k == "att":
            m = attachment(rng, i, pool, bpool, rng.randint(100 << 10, 1 << 20))
        else:
            m = attachment(rng, i, pool, bpool, rng.randint(10 << 20, 15 << 20))
        t = T0 + i
        name = "%d.M%dP1.bench" % (t, i)
        if k != "edge":
            name += ",S=%d,W=%d" % (len(m), wire_size(m))
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(m)
        os.utime(p, (t, t))


def main():
    args = sys.argv[1:]
    seed = 12
    if len(args) == 4 and args[0] == "--seed":
        seed, args = int(args[1]), args[2:]
    if len(args) != 2:
        sys.exit("usage: corpus.py [--seed S] CACHEDIR N")
    cache, n = args[0], int(args[1])
    d = os.path.join(cache, "seed-%d-n-%d" % (seed, n))
    if not os.path.isdir(d):
        # Made beside it, renamed when whole: an interrupted run leaves no
        # half corpus behind under the real name.
        tmp = "%s.tmp%d" % (d, os.getpid())
        os.makedirs(cache, exist_ok=True)
        generate(tmp, seed, n)
        os.rename(tmp, d)
    print(d)


if __name__ == "__main__":
    main()
