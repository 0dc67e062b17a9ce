#!/usr/bin/env python3
"""check.py: the checks and the report of demo/run.

  check.py compare --imap-port P --ca CA --imap-user U --imap-password-file F
                   --corpus DIR --drop MAILDIR --client MAILDIR
      Fetches every message from Dovecot over IMAPS (BODY.PEEK[]: nothing
      changes on the server) and pairs it by Message-ID with
        - the file demo/mkmail.py wrote (Dovecot stores it as it is and
          sends it with CRLF line ends),
        - imapfetch's copy in the maildrop: byte for byte what Dovecot sent,
        - mpop's copy in the client's Maildir: the POP3 wire form of that
          (a bare LF sent as CRLF, a CRLF added to a last line without one,
          dot-stuffing undone) with mpop's changes undone: it prepends a
          Received header and writes LF line ends (as tests/pop3check.py
          models it).
      Prints one line per stage and a final "PASS: ..." or "FAIL: ..."; exits
      1 on FAIL.

  check.py report --pop3-port P --pop3s-port P --ca CA --user U --password PW
      Logs in to popd over pop3s, and over STLS on the plain port, and
      prints STAT, then LIST, UIDL and the decoded Subject of a few messages.
"""
import argparse
import email
import email.header
import imaplib
import os
import poplib
import re
import ssl
import sys

HOST = "127.0.0.1"
MPOP_RECEIVED = re.compile(rb"Received: from 127\.0\.0\.1 \(localhost \[127\.0\.0\.1\]\)\n"
                           rb"\tby \S+ \(mpop-[0-9.]+\) with POP3\n\tfor <[^>\n]+>; [^\n]+\n")


def message_id(data):
    head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
    m = re.search(rb"^message-id:[ \t]*(<[^>\r\n]+>)", head, re.I | re.M)
    return m.group(1).decode() if m else None


def wire(data):
    """What RETR sends for these bytes, before dot-stuffing: every LF not
    preceded by CR becomes CRLF, and a last line without LF gets CRLF."""
    lines = data.split(b"\n")
    last = lines.pop()
    out = b"".join((l if l.endswith(b"\r") else l + b"\r") + b"\n" for l in lines)
    return out + last + b"\r\n" if last else out


def by_id(paths, what, problems):
    out = {}
    for p in paths:
        with open(p, "rb") as fh:
            data = fh.read()
        mid = message_id(data)
        if mid is None or mid in out:
            problems.append("%s: %s: %s Message-ID" % (what, os.path.basename(p),
                                                     "no" if mid is None else "a repeated"))
            continue
        out[mid] = data
    return out


def maildir_files(d, subdirs=("new", "cur")):
    return [os.path.join(d, s, n) for s in subdirs if os.path.isdir(os.path.join(d, s))
            for n in sorted(os.listdir(os.path.join(d, s)))]


def imap_messages(a):
    ctx = ssl.create_default_context(cafile=a.ca)
    with open(a.imap_password_file) as fh:
        pw = fh.readline().rstrip("\n")
    imap = imaplib.IMAP4_SSL(HOST, a.imap_port, ssl_context=ctx)
    imap.login(a.imap_user, pw)
    imap.select("INBOX", readonly=True)
    typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
    imap.logout()
    if typ != "OK":
        raise RuntimeError("IMAP FETCH: %s %r" % (typ, data))
    return [d[1] for d in data if isinstance(d, tuple)]


def compare(a):
    problems = []
    served = imap_messages(a)
    dove = {}
    for data in served:
        mid = message_id(data)
        if mid is None or mid in dove:
            problems.append("Dovecot: a message with %s Message-ID" % ("no" if mid is None else "a repeated"))
        else:
            dove[mid] = data
    corpus = by_id(sorted(os.path.join(a.corpus, n) for n in os.listdir(a.corpus)),
                   "corpus", problems)
    drop = by_id(maildir_files(a.drop), "maildrop", problems)
    client = by_id(maildir_files(a.client, ("new",)), "mpop", problems)
    n = len(dove)

    def stage(name, got, same):
        good = [m for m in dove if m in got and same(dove[m], got[m])]
        for m in dove:
            if m not in got:
                problems.append("%s: %s missing" % (name, m))
            elif m not in good:
                problems.append("%s: %s differs" % (name, m))
        for m in got:
            if m not in dove:
                problems.append("%s: %s is not on the server" % (name, m))
        return len(good)

    def lf(b):
        return b.replace(b"\r\n", b"\n")

    def via_mpop(d, c):
        h = MPOP_RECEIVED.match(c)
        return h is not None and c[h.end():] == lf(wire(d))

    nbytes = sum(len(d) for d in dove.values())
    nwire = sum(len(wire(d)) for d in dove.values())
    print("    Dovecot serves     %3d messages, %d bytes (IMAP BODY[], CRLF line ends)" % (n, nbytes))
    if nwire != nbytes:
        unended = sum(1 for d in dove.values() if d and not d.endswith(b"\n"))
        print("    on the POP3 wire   %d octets: popd adds a CRLF to the %d message(s) that"
              " do not end in one" % (nwire, unended))
    c = stage("corpus", corpus, lambda d, f: lf(d) == lf(f))
    print("    generated files    %3d/%d the same text as Dovecot's (line ends aside)" % (c, n))
    k = stage("maildrop", drop, lambda d, f: d == f)
    print("    imapfetch maildrop %3d/%d byte for byte what Dovecot sent" % (k, n))
    p = stage("mpop", client, via_mpop)
    print("    mpop (pop3s)       %3d/%d the same bytes: mpop's Received header and LF ends aside" % (p, n))
    if n > 0 and c == k == p == n == len(corpus) == len(drop) == len(client) and not problems:
        print("PASS: %d of %d messages went Dovecot -> imapfetch -> popd -> mpop unchanged" % (n, n))
        return 0
    for pr in problems[:20]:
        print("    problem: " + pr)
    print("FAIL: of %d messages on the server, %d arrived unchanged in the maildrop and %d"
          " through mpop; %d problems" % (n, k, p, len(problems)))
    return 1


def subject(header_lines):
    msg = email.message_from_bytes(b"\r\n".join(header_lines) + b"\r\n\r\n")
    raw = msg.get("Subject", "")
    return str(email.header.make_header(email.header.decode_header(raw)))


def report(a):
    ctx = ssl.create_default_context(cafile=a.ca)
    p = poplib.POP3_SSL(HOST, a.pop3s_port, context=ctx, timeout=30)
    p.user(a.user)
    p.pass_(a.password)
    count, size = p.stat()
    sizes = {int(l.split()[0]): int(l.split()[1]) for l in p.list()[1]}
    uidls = {int(l.split()[0]): l.split()[1].decode() for l in p.uidl()[1]}
    print("    pop3s (port %d), STAT: %d messages, %d octets" % (a.pop3s_port, count, size))
    print("    %4s %8s  %s" % ("#", "octets", "Subject (TOP n 0, RFC 2047 decoded)"))
    show = sorted(set(range(1, min(count, 13) + 1)) | {count}) if count else []
    for i in show:
        if i == count and count > 14:
            print("    %4s" % "...")
        _, lines, _ = p.top(i, 0)
        print("    %4d %8d  %s" % (i, sizes[i], subject(lines)))
    print("    UIDL (the unique part of the maildrop file name; it never changes):")
    for i in range(1, min(count, 3) + 1):
        print("    %4d  %s" % (i, uidls[i]))
    p.quit()
    # The same login on the plain port, upgraded with STLS first.
    q = poplib.POP3(HOST, a.pop3_port, timeout=30)
    q.stls(context=ctx)
    q.user(a.user)
    q.pass_(a.password)
    c2, s2 = q.stat()
    q.quit()
    same = "the same" if (c2, s2) == (count, size) else "DIFFERENT"
    print("    pop3 + STLS (port %d), STAT: %d messages, %d octets (%s)" % (a.pop3_port, c2, s2, same))
    return 0 if (c2, s2) == (count, size) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    for opt in ("--ca", "--imap-user", "--imap-password-file", "--corpus", "--drop", "--client"):
        c.add_argument(opt, required=True)
    c.add_argument("--imap-port", type=int, required=True)
    r = sub.add_parser("report")
    r.add_argument("--pop3-port", type=int, required=True)
    r.add_argument("--pop3s-port", type=int, required=True)
    for opt in ("--ca", "--user", "--password"):
        r.add_argument(opt, required=True)
    a = ap.parse_args()
    try:
        return compare(a) if a.cmd == "compare" else report(a)
    except Exception as e:  # a broken server is a failed demo, said in one line
        print("FAIL: %s: %s: %s" % (a.cmd, type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
