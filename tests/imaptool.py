#!/usr/bin/env python3
"""imaptool.py: look at the test Dovecot from the outside, with imaplib.

  imaptool.py --port P --ca CA unseen USER PASS [MAILBOX]  count of UNSEEN
  imaptool.py --port P --ca CA count USER PASS [MAILBOX]   count of messages
  imaptool.py --port P --ca CA hashes USER PASS [MAILBOX]  sha256 of each body
  imaptool.py --port P --ca CA append USER PASS FILE...    APPEND, unseen
  imaptool.py --port P --ca CA unsee USER PASS             -FLAGS \\Seen on all
  imaptool.py --port P --ca CA see USER PASS               +FLAGS \\Seen on all
  imaptool.py --port P --ca CA uidvalidity USER PASS       UIDVALIDITY
  imaptool.py --port P --ca CA seen-hashes USER PASS       sha256 of \\Seen ones
  imaptool.py --port P --ca CA create USER PASS NAME       CREATE
  imaptool.py --port P --ca CA append-to USER PASS MAILBOX FILE...
                                                           APPEND, unseen
  imaptool.py --port P --ca CA flags USER PASS MAILBOX...  "== MAILBOX" and
                                                           "UID FLAGS" lines
  imaptool.py --port P --ca CA unseen-each USER PASS MAILBOX...
                                                           count of UNSEEN
                                                           of each, one line

Mailbox names are given in UTF-8 and sent in modified UTF-7 (RFC 3501
5.1.3), encoded here with Python's own UTF-16 and base64: not with the
code under test.
"""
import argparse
import base64
import hashlib
import imaplib
import ssl
import sys


def mutf7(name):
    """RFC 3501 5.1.3 modified UTF-7 of name, quoted for a command."""
    out, run = [], []

    def flush():
        if run:
            b = base64.b64encode("".join(run).encode("utf-16-be"))
            out.append("&" + b.decode().rstrip("=").replace("/", ",") + "-")
            run.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    wire = "".join(out)
    return '"' + wire.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(a):
    ctx = ssl.create_default_context(cafile=a.ca)
    m = imaplib.IMAP4_SSL("127.0.0.1", a.port, ssl_context=ctx)
    m.login(a.user, a.password)
    return m


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("cmd")
    p.add_argument("user")
    p.add_argument("password")
    p.add_argument("rest", nargs="*")
    a = p.parse_args()
    m = connect(a)
    box = mutf7(a.rest[0] if a.rest and a.cmd != "append" else "INBOX")
    if a.cmd in ("append", "append-to"):
        files = a.rest if a.cmd == "append" else a.rest[1:]
        for f in files:
            with open(f, "rb") as fh:
                typ, _ = m.append(box, None, None, fh.read())
            if typ != "OK":
                sys.exit("append failed")
        m.logout()
        return
    if a.cmd in ("flags", "unseen-each"):
        counts = []
        for name in a.rest:
            typ, data = m.select(mutf7(name), readonly=True)
            if typ != "OK":
                sys.exit("examine %s failed" % name)
            if a.cmd == "flags":
                print("== " + name)
                typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
                for d in data:
                    if d:
                        print(d.decode())
            else:
                typ, data = m.uid("SEARCH", None, "UNSEEN")
                counts.append(str(len(data[0].split())))
        if counts:
            print(" ".join(counts))
        m.logout()
        return
    if a.cmd == "create":
        typ, data = m.create(box)
        if typ != "OK":
            sys.exit("create %s failed: %s" % (box, data))
        m.logout()
        return
    typ, data = m.select(box, readonly=(a.cmd not in ("see", "unsee")))
    if typ != "OK":
        sys.exit("select failed")
    if a.cmd == "count":
        print(int(data[0]))
    elif a.cmd == "unseen":
        typ, data = m.uid("SEARCH", None, "UNSEEN")
        print(len(data[0].split()))
    elif a.cmd == "unsee":
        m.uid("STORE", "1:*", "-FLAGS.SILENT", "(\\Seen)")
    elif a.cmd == "see":
        m.uid("STORE", "1:*", "+FLAGS.SILENT", "(\\Seen)")
    elif a.cmd == "uidvalidity":
        typ, data = m.status(box, "(UIDVALIDITY)")
        print(data[0].decode().split("UIDVALIDITY ")[1].rstrip(")"))
    elif a.cmd in ("hashes", "seen-hashes"):
        typ, data = m.uid("SEARCH", None,
                          "SEEN" if a.cmd == "seen-hashes" else "ALL")
        for uid in data[0].split():
            typ, d = m.uid("FETCH", uid, "(BODY.PEEK[])")
            print(hashlib.sha256(d[0][1]).hexdigest())
    else:
        sys.exit("unknown command " + a.cmd)
    m.logout()


if __name__ == "__main__":
    main()
