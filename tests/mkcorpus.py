#!/usr/bin/env python3
"""mkcorpus.py: a reproducible test corpus of RFC 5322 messages.

  mkcorpus.py [--seed S] [--edge] [--big K] [--bigsize BYTES]
              [--mean BYTES] [--prefix P] OUTDIR N

Writes N files OUTDIR/<prefix>NNNNN.eml with CRLF line ends (what an IMAP
server serves, so that a delivered copy can be compared byte for byte).
Sizes follow a realistic mix around --mean (many small, a long tail);
K of them are --bigsize bytes.  --edge adds the cases that break fetchers:
a headers-only message without a blank line, one without a final newline,
dot lines, 8-bit bytes, a 65 KB line, a message without Message-ID and a
folded Message-ID header.
"""
import argparse
import os
import random


def body(rng, size):
    words = [b"lorem", b"ipsum", b"dolor", b"sit", b"amet", b"mail",
             b"fetch", b"durable", b"exactly", b"once", b"."]
    out, n = [], 0
    while n < size:
        line = b" ".join(rng.choice(words) for _ in range(rng.randint(1, 14)))
        if rng.random() < 0.05:
            line = b"." + line          # dot-stuffing material
        out.append(line + b"\r\n")
        n += len(line) + 2
    return b"".join(out)


def header(i, prefix, msgid=True):
    h = (b"From: Sender %d <s%d@example.org>\r\n" % (i, i) +
         b"To: alice@example.com\r\n" +
         b"Subject: test message " + prefix.encode() + b"%d\r\n" % i +
         b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n")
    if msgid:
        h += b"Message-ID: <" + prefix.encode() + b"%d.corpus@example.org>\r\n" % i
    return h


def edge_cases(prefix):
    p = prefix.encode()
    return [
        # headers only, no blank line, no body
        b"From: a@example.org\r\nSubject: headers only\r\nMessage-ID: <" + p + b"ho@x>\r\n",
        # no final newline
        b"From: a@example.org\r\nMessage-ID: <" + p + b"nonl@x>\r\n\r\nno final newline",
        # dot lines
        b"From: a@example.org\r\nMessage-ID: <" + p + b"dots@x>\r\n\r\n.\r\n..\r\n.x\r\n...\r\nend\r\n",
        # 8-bit bytes
        b"From: a@example.org\r\nMessage-ID: <" + p + b"8bit@x>\r\n\r\n" +
        bytes(range(128, 256)) + b"\r\n\xc3\xa9t\xc3\xa9\r\n",
        # a 65 KB line
        b"From: a@example.org\r\nMessage-ID: <" + p + b"long@x>\r\n\r\n" + b"x" * 66560 + b"\r\n",
        # no Message-ID
        b"From: a@example.org\r\nSubject: no id " + p + b"\r\n\r\nbody without id\r\n",
        # folded Message-ID header
        b"From: a@example.org\r\nMessage-ID:\r\n <" + p + b"folded@x>\r\n\r\nfolded\r\n",
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--edge", action="store_true")
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--bigsize", type=int, default=1 << 20)
    ap.add_argument("--mean", type=int, default=20000)
    ap.add_argument("--prefix", default="m")
    ap.add_argument("outdir")
    ap.add_argument("n", type=int)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    msgs = edge_cases(a.prefix) if a.edge else []
    bigs = set(rng.sample(range(a.n), min(a.big, a.n)))
    for i in range(a.n - len(msgs)):
        if i in bigs:
            size = a.bigsize
        else:
            # log-normal-ish: most a few KB, some tens or hundreds of KB
            size = int(min(rng.lognormvariate(0, 1.0) * a.mean * 0.6, 40 * a.mean))
        msgs.append(header(i, a.prefix) + b"\r\n" + body(rng, max(size, 10)))
    for i, m in enumerate(msgs):
        with open(os.path.join(a.outdir, "%s%05d.eml" % (a.prefix, i)), "wb") as f:
            f.write(m)


if __name__ == "__main__":
    main()
