#!/usr/bin/env python3
"""mkfixtures.py: message fixtures for the end-to-end client tests.

Writes a Maildir full of awkward messages (dot lines, a 70,000-byte line,
no final newline, CRLF, mixed line ends, headers only, empty, 8-bit bytes
and lone CRs, a 5 MB message) with distinct mtimes so that the POP3 order
is fixed, plus a JSON manifest listing them in that order with the sizes
and UIDLs that popd must report.  It also states, as functions, what a
message looks like on the POP3 wire (wire(), top()) so that tests compare
exact bytes.

  mkfixtures.py [--many N] [--no-big] MAILDIR
      writes the fixtures (or N small messages) into MAILDIR (created) and
      the manifest into MAILDIR.json.  The contents and names are the same
      every time: a second copy can stand for the first once popd has
      deleted from it.
  mkfixtures.py --wire FILE      prints FILE's wire form (un-dot-stuffed)
  mkfixtures.py --expected MAILDIR.json DIR
      writes DIR/<n> = the wire form of message n, for cmp(1) in shell.

Used as a module by pop3check.py.
"""
import hashlib
import json
import os
import re
import sys

# Message n is named BASE_MTIME + n (its delivery time, n from 1) and gets
# mtime BASE_MTIME + 60 * n: the POP3 order either way.
BASE_MTIME = 1600000000
UIDL_MAX = 70


def wire(data):
    """The octets RETR sends for a file before dot-stuffing (DESIGN.md):
    every LF not preceded by CR becomes CRLF (a CRLF stays, a lone CR stays),
    and a CRLF is appended when the file is not empty and does not end in LF.
    """
    lines = data.split(b"\n")
    last = lines.pop()          # what follows the last LF: b"" when none
    out = b"".join((l if l.endswith(b"\r") else l + b"\r") + b"\n" for l in lines)
    return out + last + b"\r\n" if last else out


def crlf_lines(w):
    """A wire form split after each CRLF (every LF on the wire ends a line;
    a lone CR does not)."""
    assert w == b"" or w.endswith(b"\r\n")
    return [l + b"\r\n" for l in w.split(b"\r\n")[:-1]]


def dot_stuff(w):
    """What goes over the socket for a wire form w (before the "." line)."""
    return b"".join((b"." + l if l.startswith(b".") else l) for l in crlf_lines(w))


def wire_lines(w):
    """w split into lines without their CRLF (as poplib returns them)."""
    return [l[:-2] for l in crlf_lines(w)]


def top(w, n):
    """TOP msg n: the header lines, the blank line that ends them and the
    first n body lines; all of it when there is no blank line."""
    lines = crlf_lines(w)
    for i, l in enumerate(lines):
        if l == b"\r\n":
            return b"".join(lines[:i + 1 + n])
    return w


def uidl(name):
    """The UIDL of a Maildir file name: the unique part (before ':') without
    popd's size suffix (base()), or the SHA-256 hex of it when it is too
    long or holds a byte outside 0x21-0x7E."""
    if isinstance(name, str):
        name = os.fsencode(name)
    uniq = os.fsencode(base(os.fsdecode(name.split(b":", 1)[0])))
    if len(uniq) > UIDL_MAX or any(b < 0x21 or b > 0x7E for b in uniq):
        return hashlib.sha256(uniq).hexdigest()
    return uniq.decode("ascii")


def base(uniq):
    """A unique part without the size suffix popd gives the names of
    messages it had to count (",popd,S=<s>,W=<w>"): what the UIDL is made
    of, the same before and after."""
    return re.sub(r",popd,S=\d+,W=\d+$", "", uniq)


def find(md, m):
    """Where message m of the manifest is now: new/ or cur/, its name as
    written or as popd renamed it (base(), then any info part)."""
    want = base(m["path"][4:].split(":")[0])
    for d in ("new", "cur"):
        for n in os.listdir(os.path.join(md, d)):
            if base(n.split(":")[0]) == want:
                return os.path.join(md, d, n)
    raise FileNotFoundError(m["path"])


def big_message(size=5 * 1024 * 1024):
    """A deterministic message of exactly size bytes, LF line ends, with dot
    lines and lines of many lengths (some longer than any client buffer)."""
    head = b"From: big@example.org\nSubject: five megabytes\n\n"
    parts = [head]
    n = len(head)
    i = 0
    while n < size:
        i += 1
        if i % 97 == 0:
            line = b"." * (i % 5 + 1) + b" dotted line %d\n" % i
        elif i % 1013 == 0:
            line = b"%d:" % i + b"y" * 9000 + b"\n"
        else:
            line = (b"line %d " % i) + b"abcdefghij" * (i % 13) + b"\n"
        parts.append(line)
        n += len(line)
    data = b"".join(parts)[:size - 1] + b"\n"
    assert len(data) == size
    return data


def fixtures(big=True):
    """(tag, folder, flags, with_w, bytes) in POP3 order.  folder is "new" or
    "cur"; flags is the info part for cur/ ("2,S"), None for new/."""
    eightbit = (b"Subject: eight bit\nContent-Type: text/plain; charset=latin1\n"
                b"Content-Transfer-Encoding: 8bit\n\n" + bytes(range(0x80, 0x100)) +
                b"\nlatin1: caf\xe9 na\xefve \xff\xfe\nlone CR:\rhere\n"
                b"CR CR LF:\r\r\nend\n")
    f = [
        ("dots", "new", None, True,
         b"From: dots@example.org\nSubject: dots\n\n.\n..\n...\n.foo\n..bar\n"
         b"middle . line\n . space dot\n.\nlast\n"),
        ("longline", "new", None, False,
         b"Subject: long line\n\nbefore\n" + b"L" * 69999 + b"\nafter\n"),
        ("nofinalnl", "new", None, True,
         b"Subject: no final newline\n\nfirst\nlast line without newline"),
        ("crlf", "cur", "2,S", True,
         b"From: crlf@example.org\r\nSubject: all CRLF\r\n\r\nline 1\r\n.\r\n"
         b".dot\r\n\r\nline 5\r\n"),
        ("mixed", "new", None, False,
         b"Subject: mixed line ends\r\nX-Mixed: yes\n\r\nlf\ncrlf\r\n\n.\r\n..\nend"),
        ("headersonly", "new", None, True,
         b"From: h@example.org\nSubject: headers only, no blank line\n"),
        ("empty", "new", None, False, b""),
        ("eightbit", "cur", "2,", True, eightbit),
        ("crlast", "new", None, False,
         b"Subject: ends with a lone CR\n\nthe last byte is CR\r"),
        ("dotlast", "new", None, True,
         b"Subject: ends with a dot line\n\nbody\n."),
    ]
    if big:
        f.append(("big", "new", None, True, big_message()))
    f.append(("small", "new", None, False, b"Subject: small\n\nhello\n"))
    return f


def write_maildir(md, msgs, manifest, ties=0):
    """Writes msgs [(name_unique, folder, flags, with_w, data)] into md and
    the manifest; mtimes follow the list order, but the last ties messages
    share one mtime (their names must sort in list order).  A message
    without with_w is listed under the name popd gives it at the first
    login (",popd,S=<s>,W=<w>" after the unique part): "path" is where
    the file is once popd has seen it, "written" where it was written."""
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, d), exist_ok=True)
    out = []
    for i, (uniq, folder, flags, with_w, data) in enumerate(msgs, 1):
        w = wire(data)
        name = settled = uniq
        if with_w:
            name += ",S=%d,W=%d" % (len(data), len(w))
            settled = name
        else:
            settled += ",popd,S=%d,W=%d" % (len(data), len(w))
        if flags is not None:
            name += ":" + flags
            settled += ":" + flags
        path = os.path.join(md, folder, name)
        with open(path, "wb") as fh:
            fh.write(data)
        t = BASE_MTIME + 60 * min(i, len(msgs) - ties + 1)
        os.utime(path, (t, t))
        out.append({"n": i, "path": folder + "/" + settled,
                    "written": folder + "/" + name, "folder": folder,
                    "uidl": uidl(name), "size": len(w), "bytes": len(data),
                    "tag": uniq.rsplit(".", 1)[-1][:12]})
    with open(manifest, "w") as fh:
        json.dump(out, fh, indent=1)
    return out


def make(md, big=True, many=0):
    manifest = md.rstrip("/") + ".json"
    if many:
        msgs = [("%d.M%dP1Q%d.fixture" % (BASE_MTIME + i, i, i), "new" if i % 3 else "cur",
                 None if i % 3 else "2,S", i % 2 == 0,
                 b"Subject: message %d\n\n" % i + b".\n" * (i % 3) + b"x" * (i % 50) + b"\n")
                for i in range(1, many + 1)]
    else:
        msgs = []
        for i, (tag, folder, flags, with_w, data) in enumerate(fixtures(big), 1):
            msgs.append(("%d.M%dP4242Q%d.%s" % (BASE_MTIME + i, i, i, tag),
                         folder, flags, with_w, data))
        # UIDL hashing: a unique part with a byte outside 0x21-0x7E, and one
        # longer than 70 octets; both must come back as 64 hex digits.  The
        # two share a delivery time (and an mtime): the rest of the name
        # decides ("...M100" < "...M99").
        t = BASE_MTIME + len(msgs) + 1
        msgs.append((os.fsdecode(b"%d.M100P4242Q100.caf\xc3\xa9" % t), "new", None,
                     True, b"Subject: 8-bit name\n\nthe UIDL is hashed too\n"))
        msgs.append(("%d.M99P4242Q99.%s" % (t, "n" * 80), "new", None, False,
                     b"Subject: long name\n\nthe UIDL is hashed\n"))
    return write_maildir(md, msgs, manifest, ties=0 if many else 2)


def load(manifest):
    with open(manifest) as fh:
        return json.load(fh)


def main(argv):
    args = argv[1:]
    if args[:1] == ["--wire"]:
        with open(args[1], "rb") as fh:
            sys.stdout.buffer.write(wire(fh.read()))
        return 0
    if args[:1] == ["--expected"]:
        if not args[1].endswith(".json"):
            sys.stderr.write(__doc__)
            return 64
        md = args[1][:-len(".json")]
        os.makedirs(args[2], exist_ok=True)
        for m in load(args[1]):
            with open(find(md, m), "rb") as fh, \
                 open(os.path.join(args[2], str(m["n"])), "wb") as out:
                out.write(wire(fh.read()))
        return 0
    big, many = True, 0
    while len(args) > 1:
        if args[0] == "--no-big":
            big = False
            args = args[1:]
        elif args[0] == "--many":
            many = int(args[1])
            args = args[2:]
        else:
            break
    if len(args) != 1:
        sys.stderr.write(__doc__)
        return 64
    make(args[0], big=big, many=many)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
