#!/usr/bin/env python3
"""pop3check.py: drives a running popd with Python's poplib (and, for the
exact wire bytes, a raw socket) and checks every answer against the
fixtures that mkfixtures.py wrote.

  pop3check.py --port PORT --manifest MAILDIR.json CHECK...
  pop3check.py --manifest MAILDIR.json --out DIR DELIVERED-CHECK

CHECKs (run in order): capa auth read relist drop dele snapshot many, and the
maildrop's state after a client's run: kept (all retrieved, none deleted),
untouched (as mkfixtures left it), gone (all deleted).
DELIVERED-CHECKs compare what a client delivered into DIR (files 1..N in
message order, or a Maildir whose names carry mpop's Q<n> counter) with the
fixtures, modelling exactly what that client changes (see their comments):
fetchmail-lf fetchmail-crlf mpop.
Prints one "ok - ..." or "not ok - ..." line per assertion and "# ..."
diagnostics; tests/lib.sh's tap_import turns them into TAP.  A check that
crashes is one failure and the next check runs; the exit status is 0
unless the arguments or the manifest are unusable.

poplib's documented behaviour, which the checks rely on: retr() and top()
return the lines without their CRLF, with the dot-stuffing undone (a line
starting ".." loses one "."), and an octet count of what was read less the
removed dots; that count must equal LIST's size.  poplib refuses lines
longer than poplib._MAXLINE (2048): the fixtures have a 70,000-byte line,
so it is raised here.
"""
import base64
import os
import poplib
import re
import socket
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkfixtures  # noqa: E402

poplib._MAXLINE = 1 << 20
HOST = "127.0.0.1"
USER, PASSWORD = "alice", "secret"
CAPS = ["TOP", "UIDL", "USER", "SASL", "RESP-CODES", "AUTH-RESP-CODE",
        "PIPELINING", "EXPIRE", "IMPLEMENTATION"]


class Tap:
    def __init__(self):
        self.failed = 0

    def ok(self, cond, name, *diag):
        print(("ok - " if cond else "not ok - ") + name)
        if not cond:
            self.failed += 1
            for d in diag:
                print("# " + str(d)[:800].replace("\n", "\n# "))
        sys.stdout.flush()
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got:  %r" % (shorten(got),),
                       "want: %r" % (shorten(want),))

    def diag(self, msg):
        print("# " + msg)


def shorten(v):
    if isinstance(v, (bytes, str)) and len(v) > 300:
        return v[:150] + v[-150:]
    if isinstance(v, (list, tuple)) and len(v) > 20:
        return list(v[:10]) + ["..."] + list(v[-10:])
    return v


def first_diff(a, b):
    n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return "lengths %d/%d, first difference at %d: got %r want %r" % (
        len(a), len(b), n, a[max(0, n - 20):n + 20], b[max(0, n - 20):n + 20])


class Ctx:
    def __init__(self, port, manifest):
        self.port = port
        self.manifest = manifest
        self.md = manifest[:-len(".json")]
        self.msgs = mkfixtures.load(manifest)
        self.wire = {}
        self.where = None

    def data(self, m):
        """The bytes of message m, wherever it lives now (new/ or cur/,
        named as written or as popd renamed it)."""
        uniq = mkfixtures.base(m["path"][4:].split(":")[0])
        for fresh in (False, True):
            if fresh or self.where is None:
                self.where = {mkfixtures.base(n.split(":")[0]):
                              os.path.join(self.md, d, n)
                              for d in ("new", "cur")
                              for n in os.listdir(os.path.join(self.md, d))}
            if uniq in self.where and os.path.exists(self.where[uniq]):
                with open(self.where[uniq], "rb") as fh:
                    return fh.read()
        raise FileNotFoundError(m["path"])

    def wire_of(self, m):
        if m["n"] not in self.wire:
            self.wire[m["n"]] = mkfixtures.wire(self.data(m))
        return self.wire[m["n"]]

    def connect(self):
        return poplib.POP3(HOST, self.port, timeout=30)

    def login(self, tries=100):
        """Logs in, retrying while the maildrop is [IN-USE] (the previous
        popd may still be exiting after a dropped connection)."""
        for _ in range(tries):
            p = self.connect()
            p.user(USER)
            try:
                p.pass_(PASSWORD)
                return p
            except poplib.error_proto as e:
                p.close()
                if b"[IN-USE]" not in e.args[0]:
                    raise
                time.sleep(0.05)
        raise RuntimeError("maildrop still [IN-USE] after %d tries" % tries)

    def listing(self):
        """The files in new/ and cur/ as a set of "new/NAME" strings."""
        return {d + "/" + n for d in ("new", "cur")
                for n in os.listdir(os.path.join(self.md, d))}


def expected_after(ctx, kept_all, retrieved, deleted):
    """The new/ and cur/ listing popd must leave after QUIT: deleted messages
    gone, retrieved new/ messages moved to cur/NAME:2,S."""
    want = set()
    for m in kept_all:
        if m["n"] in deleted:
            continue
        if m["n"] in retrieved and m["folder"] == "new":
            want.add("cur/" + m["path"][4:] + ":2,S")
        else:
            want.add(m["path"])
    return want


def check_listing(t, ctx, want, what):
    got = ctx.listing()
    # A message already in cur/ (":2,") that was retrieved may gain the S
    # flag (":2,S"): the spec leaves that open, so both are accepted.
    for p in want - got:
        if p.startswith("cur/") and p.endswith(":2,") and p + "S" in got:
            want = (want - {p}) | {p + "S"}
            t.diag("%s: %s became %sS" % (what, p, p))
    t.ok(got == want, what, "missing: %r" % sorted(want - got)[:10],
         "unexpected: %r" % sorted(got - want)[:10])


def check_capa(t, ctx):
    p = ctx.connect()
    t.ok(p.getwelcome().startswith(b"+OK"), "greeting is +OK")
    caps = p.capa()
    for c in CAPS:
        t.ok(c in caps, "CAPA lists " + c, caps)
    t.eq(caps.get("SASL"), ["PLAIN"], "CAPA SASL PLAIN")
    t.eq(caps.get("EXPIRE"), ["NEVER"], "CAPA EXPIRE NEVER")
    p.quit()


def check_auth(t, ctx):
    n = len(ctx.msgs)
    cred = base64.b64encode(b"\0alice\0secret").decode()
    # RFC 5034 initial response on the AUTH line.
    p = ctx.connect()
    r = p._shortcmd("AUTH PLAIN " + cred)
    t.ok(r.startswith(b"+OK"), "AUTH PLAIN with initial response", r)
    t.eq(p.stat()[0], n, "STAT after AUTH PLAIN (initial response)")
    p.quit()
    # The "+ " continuation form.
    p = ctx.connect()
    r = p._shortcmd("AUTH PLAIN")
    t.ok(r.rstrip() == b"+", "AUTH PLAIN answers an empty '+ ' continuation", r)
    r = p._shortcmd(cred)
    t.ok(r.startswith(b"+OK"), "AUTH PLAIN after continuation", r)
    t.eq(p.stat()[0], n, "STAT after AUTH PLAIN (continuation)")
    p.quit()
    # Rejections carry [AUTH] (RFC 3206).
    for what, cmd in (("wrong password", "AUTH PLAIN " +
                       base64.b64encode(b"\0alice\0wrong").decode()),
                      ("unknown user", "AUTH PLAIN " +
                       base64.b64encode(b"\0mallory\0secret").decode())):
        p = ctx.connect()
        try:
            r = p._shortcmd(cmd)
            t.ok(False, "AUTH PLAIN %s is refused" % what, r)
        except poplib.error_proto as e:
            t.ok(e.args[0].startswith(b"-ERR [AUTH]"), "AUTH PLAIN %s: -ERR [AUTH]" % what,
                 e.args[0])
        p.close()
    p = ctx.connect()
    p.user(USER)
    try:
        r = p.pass_("wrong")
        t.ok(False, "PASS wrong is refused", r)
    except poplib.error_proto as e:
        t.ok(e.args[0].startswith(b"-ERR [AUTH]"), "PASS wrong: -ERR [AUTH]", e.args[0])
    p.close()


def raw_retr_all(t, ctx):
    """RETR of every message on a raw socket: the bytes must be exactly
    "+OK...CRLF", the dot-stuffed wire form and ".CRLF"."""
    s = socket.create_connection((HOST, ctx.port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    for line in (b"USER alice\r\n", b"PASS secret\r\n"):
        s.sendall(line)
        r = f.readline()
    t.ok(r.startswith(b"+OK"), "raw login", r)
    for m in ctx.msgs:
        s.sendall(b"RETR %d\r\n" % m["n"])
        r = f.readline()
        want = mkfixtures.dot_stuff(ctx.wire_of(m)) + b".\r\n"
        got = f.read(len(want)) if r.startswith(b"+OK") else b""
        t.ok(r.startswith(b"+OK") and r.endswith(b"\r\n") and got == want,
             "raw RETR %d (%s): exact dot-stuffed bytes" % (m["n"], m["tag"]),
             r, first_diff(got, want))
    # Leave without QUIT: nothing may change (checked by the callers).
    s.close()


def check_read(t, ctx):
    """Everything a client reads, then QUIT: retrieved new/ messages move."""
    msgs = ctx.msgs
    before = ctx.listing()
    raw_retr_all(t, ctx)
    p = ctx.login()
    t.eq(p.stat(), (len(msgs), sum(m["size"] for m in msgs)), "STAT count and octets")
    resp, lines, _ = p.list()
    t.eq(lines, [b"%d %d" % (m["n"], m["size"]) for m in msgs], "LIST (all): sizes in order")
    resp, lines, _ = p.uidl()
    t.eq(lines, [("%d %s" % (m["n"], m["uidl"])).encode() for m in msgs],
         "UIDL (all): unique parts in delivery order")
    t.ok(all(len(m["uidl"]) == 64 for m in msgs if "Q99." in m["tag"] or "Q100." in m["tag"]),
         "fixture UIDLs of odd names are 64-hex hashes")
    for m in msgs:
        t.eq(p.list(m["n"]), b"+OK %d %d" % (m["n"], m["size"]), "LIST %d" % m["n"])
        t.eq(p.uidl(m["n"]), ("+OK %d %s" % (m["n"], m["uidl"])).encode(), "UIDL %d" % m["n"])
    for m in msgs:
        w = ctx.wire_of(m)
        resp, lines, octets = p.retr(m["n"])
        got = b"".join(l + b"\r\n" for l in lines)
        t.ok(got == w, "poplib RETR %d (%s): bytes equal the file's wire form" % (m["n"], m["tag"]),
             first_diff(got, w))
        t.eq(octets, m["size"], "poplib RETR %d: octets read == LIST size" % m["n"])
    for m in msgs:
        for k in (0, 2):
            want = mkfixtures.top(ctx.wire_of(m), k)
            resp, lines, _ = p.top(m["n"], k)
            got = b"".join(l + b"\r\n" for l in lines)
            t.ok(got == want, "TOP %d %d (%s)" % (m["n"], k, m["tag"]), first_diff(got, want))
    t.ok(p.noop().startswith(b"+OK"), "NOOP")
    t.eq(ctx.listing(), before, "nothing moved before QUIT")
    t.ok(p.quit().startswith(b"+OK"), "QUIT")
    check_listing(t, ctx, expected_after(ctx, msgs, {m["n"] for m in msgs}, set()),
                  "after QUIT: every new/ message moved to cur/NAME:2,S, nothing else")
    check_relist(t, ctx, "after the move")


def check_relist(t, ctx, what="again"):
    """A new session sees the same numbers, sizes, UIDLs and bytes."""
    msgs = ctx.msgs
    p = ctx.login()
    t.eq(p.stat(), (len(msgs), sum(m["size"] for m in msgs)), "STAT %s" % what)
    t.eq(p.list()[1], [b"%d %d" % (m["n"], m["size"]) for m in msgs], "LIST %s" % what)
    t.eq(p.uidl()[1], [("%d %s" % (m["n"], m["uidl"])).encode() for m in msgs],
         "UIDL %s: unchanged by the move to cur/" % what)
    p.quit()


def check_drop(t, ctx):
    """DELE and RETR, then the connection drops: nothing changes.  Also
    [IN-USE] while a session holds the maildrop, and none after its QUIT."""
    before = ctx.listing()
    p = ctx.login()
    news = [m for m in ctx.msgs if m["folder"] == "new"]
    t.ok(p.dele(ctx.msgs[0]["n"]).startswith(b"+OK"), "DELE 1")
    t.ok(p.dele(ctx.msgs[1]["n"]).startswith(b"+OK"), "DELE 2")
    p.retr(news[-1]["n"])
    q = ctx.connect()
    q.user(USER)
    try:
        r = q.pass_(PASSWORD)
        t.ok(False, "a second session is refused while one is open", r)
    except poplib.error_proto as e:
        t.ok(e.args[0].startswith(b"-ERR [IN-USE]"), "second session: -ERR [IN-USE]", e.args[0])
    q.close()
    p.close()               # no QUIT: a dropped connection
    p = ctx.login()         # waits until the dropped popd let go
    t.eq(ctx.listing(), before, "dropped connection: nothing deleted, nothing moved")
    t.eq(p.stat()[0], len(ctx.msgs), "dropped connection: STAT still counts every message")
    t.ok(p.quit().startswith(b"+OK"), "QUIT")
    p = ctx.connect()       # right after QUIT's +OK: no [IN-USE] race
    p.user(USER)
    try:
        t.ok(p.pass_(PASSWORD).startswith(b"+OK"), "login right after QUIT succeeds")
        p.quit()
    except poplib.error_proto as e:
        t.ok(False, "login right after QUIT succeeds", e.args[0])
        p.close()


def check_dele(t, ctx):
    """DELE, RSET, RETR; QUIT applies it: deleted files gone, retrieved new/
    ones in cur/ with :2,S, the rest untouched."""
    msgs = ctx.msgs
    by_tag = {m["tag"]: m for m in msgs}
    dele = [by_tag["dots"], by_tag["crlf"], by_tag["big"] if "big" in by_tag else by_tag["small"]]
    reset = by_tag["mixed"]
    retr = [by_tag["longline"], by_tag["eightbit"], by_tag["empty"]]
    p = ctx.login()
    t.ok(p.dele(reset["n"]).startswith(b"+OK"), "DELE %d (to be RSET)" % reset["n"])
    t.ok(p.rset().startswith(b"+OK"), "RSET")
    t.eq(p.stat()[0], len(msgs), "STAT after RSET counts all")
    for m in dele:
        t.ok(p.dele(m["n"]).startswith(b"+OK"), "DELE %d (%s)" % (m["n"], m["tag"]))
    left = [m for m in msgs if m not in dele]
    t.eq(p.stat(), (len(left), sum(m["size"] for m in left)), "STAT leaves deleted ones out")
    t.eq(p.list()[1], [b"%d %d" % (m["n"], m["size"]) for m in left],
         "LIST leaves deleted ones out, numbers unchanged")
    for what, f in (("RETR", lambda n: p.retr(n)), ("LIST", lambda n: p.list(n)),
                    ("DELE", lambda n: p.dele(n))):
        try:
            f(dele[0]["n"])
            t.ok(False, "%s of a deleted message is refused" % what)
        except poplib.error_proto as e:
            t.ok(e.args[0].startswith(b"-ERR"), "%s of a deleted message: -ERR" % what, e.args[0])
    for m in retr:
        got = b"".join(l + b"\r\n" for l in p.retr(m["n"])[1])
        t.ok(got == ctx.wire_of(m), "RETR %d before QUIT" % m["n"])
    t.ok(p.quit().startswith(b"+OK"), "QUIT")
    check_listing(t, ctx, expected_after(ctx, msgs, {m["n"] for m in retr},
                                         {m["n"] for m in dele}),
                  "after DELE+QUIT: deleted gone, retrieved new/ ones in cur/ with :2,S")
    p = ctx.login()
    t.eq(p.stat(), (len(left), sum(m["size"] for m in left)), "next session: STAT")
    t.eq(p.uidl()[1], [("%d %s" % (i, m["uidl"])).encode() for i, m in enumerate(left, 1)],
         "next session: renumbered, UIDLs kept, order kept")
    p.quit()


def check_snapshot(t, ctx):
    """Mail delivered during a session is not in its list (the snapshot is
    taken at login): DELE of everything listed, then QUIT, leaves it alone."""
    p = ctx.login()
    n, size = p.stat()
    name = "1900000000.M1P1Q1.arrived-during-session"
    path = os.path.join(ctx.md, "new", name)
    with open(path + ".tmp", "wb") as fh:
        fh.write(b"Subject: late\n\narrived while a session was open\n")
    os.rename(path + ".tmp", path)
    t.eq(p.stat(), (n, size), "snapshot: STAT unchanged by a delivery during the session")
    t.eq(len(p.uidl()[1]), n, "snapshot: UIDL lists only the snapshot")
    try:
        p.retr(n + 1)
        t.ok(False, "snapshot: RETR %d (the new one) is refused" % (n + 1))
    except poplib.error_proto as e:
        t.ok(e.args[0].startswith(b"-ERR"), "snapshot: RETR %d (the new one): -ERR" % (n + 1),
             e.args[0])
    for i in range(1, n + 1):
        p.dele(i)
    t.ok(p.quit().startswith(b"+OK"), "snapshot: DELE of all %d, QUIT" % n)
    t.eq(sorted(ctx.listing()), ["new/" + name], "snapshot: only the late delivery is left")
    p = ctx.login()
    t.eq(p.stat(), (1, len(b"Subject: late\r\n\r\narrived while a session was open\r\n")),
         "snapshot: the next session lists it")
    p.quit()


def check_many(t, ctx):
    msgs = ctx.msgs
    p = ctx.login()
    t0 = time.time()
    t.eq(p.stat(), (len(msgs), sum(m["size"] for m in msgs)), "STAT of %d messages" % len(msgs))
    t.eq(p.list()[1], [b"%d %d" % (m["n"], m["size"]) for m in msgs], "LIST: every size")
    u = p.uidl()[1]
    t.eq(u, [("%d %s" % (m["n"], m["uidl"])).encode() for m in msgs], "UIDL: every UIDL")
    t.eq(len({l.split()[1] for l in u}), len(msgs), "UIDLs are unique")
    bad = []
    for m in msgs:
        resp, lines, octets = p.retr(m["n"])
        if b"".join(l + b"\r\n" for l in lines) != ctx.wire_of(m) or octets != m["size"]:
            bad.append(m["n"])
    t.ok(not bad, "RETR of all %d messages in one session: exact bytes" % len(msgs),
         "bad: %r" % bad[:20])
    t.ok(p.quit().startswith(b"+OK"), "QUIT")
    t.diag("%d messages in %.1f s" % (len(msgs), time.time() - t0))
    check_listing(t, ctx, expected_after(ctx, msgs, {m["n"] for m in msgs}, set()),
                  "after QUIT: all new/ ones in cur/ with :2,S")


def client_files(out):
    """The delivered files in message order: DIR/1..N (tests' MDA script),
    or DIR/new/ of a Maildir written by mpop (names hold Q<delivery count>)."""
    new = os.path.join(out, "new")
    if os.path.isdir(new):
        names = os.listdir(new)
        key = lambda n: int(re.search(r"Q(\d+)\.", n).group(1))
        return [os.path.join(new, n) for n in sorted(names, key=key)]
    return [os.path.join(out, n) for n in sorted(os.listdir(out), key=int)]


# fetchmail 6.4 prepends this trace header (three lines, folded with a tab)
# to every message it delivers; --invisible would suppress it.  EOL stands
# for the line end (CRLF, or LF with stripcr).
FM_RECEIVED = (rb"Received: from 127\.0\.0\.1 \[127\.0\.0\.1\]EOL"
               rb"\tby \S+ with POP3 \(fetchmail-[0-9.]+\)EOL"
               rb"\tfor <[^>\r\n]+> \(single-drop\); [^\r\n]+EOL")
# An empty message has no header: fetchmail makes one up.
FM_HEADERLESS = (rb"From: FETCHMAIL-DAEMONEOLTo: [^\r\n]+EOL"
                 rb"Subject: Headerless mail from alice's mailbox on 127\.0\.0\.1EOLEOL")
# fetchmail reads the body in pieces of at most MSGBUFSIZE-1 = 8191 octets
# (transact.c readbody()) and ends each piece of a longer line with its own
# "guard" line end, after the string's NUL and one uninitialised octet:
# lines longer than 8191 octets come out split, with 2 junk octets each cut.
FM_PIECE = 8191


def fetchmail_pattern(w, crlf):
    """What fetchmail hands its MDA for wire form w, as a list of pieces for
    match_pieces(): bytes must match exactly, a compiled regex is for the
    parts that vary (header date and host, junk octets).  With stripcr (the
    default when delivering to an MDA) every CR is deleted, lone ones too;
    with "no stripcr" the CRLFs of the wire stay.  A message without a
    blank line gets one (fetchmail ends the header block itself);
    dot-stuffing is undone."""
    eol = rb"\r\n" if crlf else rb"\n"

    def lit(b):
        return b if crlf else b.replace(b"\r", b"")
    # With stripcr a junk octet that is a CR vanishes too.
    junk = re.compile(rb"\x00(?s:.)\r\n" if crlf else rb"\x00(?s:.)?\n")
    pat = [re.compile(FM_RECEIVED.replace(b"EOL", eol))]
    if not w:
        return pat + [re.compile(FM_HEADERLESS.replace(b"EOL", eol))]
    lines = mkfixtures.crlf_lines(w)
    if b"\r\n" not in lines:
        lines.append(b"\r\n")
    text = []
    for l in lines:
        raw = mkfixtures.dot_stuff(l)         # as read off the socket
        first = True
        while raw:
            piece, raw = raw[:FM_PIECE], raw[FM_PIECE:]
            if first and l.startswith(b"."):
                piece = piece[1:]             # the stuffed dot goes
            first = False
            text.append(lit(piece))
            if raw:
                pat += [b"".join(text), junk]
                text = []
    return pat + [b"".join(text)]


def match_pieces(pieces, got):
    """True when got is exactly the pieces (bytes, or regexes matched at
    that point) one after the other; else a description of the mismatch."""
    pos = 0
    for p in pieces:
        if isinstance(p, bytes):
            if got[pos:pos + len(p)] != p:
                return "at %d: %s" % (pos, first_diff(got[pos:pos + len(p)], p))
            pos += len(p)
        else:
            m = p.match(got, pos)
            if m is None:
                return "at %d: %r does not match %r" % (pos, got[pos:pos + 80], p.pattern[:80])
            pos = m.end()
    return True if pos == len(got) else "%d octets too many: %r" % (len(got) - pos, got[pos:pos + 80])


# mpop 1.4 prepends this Received header and writes LF line ends: each
# line's CRLF becomes LF, a lone CR stays; nothing else changes.
MPOP_RECEIVED = (rb"Received: from 127\.0\.0\.1 \(localhost \[127\.0\.0\.1\]\)\n"
                 rb"\tby \S+ \(mpop-[0-9.]+\) with POP3\n\tfor <[^>\n]+>; [^\n]+\n")


def check_delivered(t, ctx, client):
    """One assertion per message; past 100 messages, one for them all."""
    files = client_files(ctx.out)
    t.eq(len(files), len(ctx.msgs), "%s delivered %d messages" % (client, len(ctx.msgs)))
    one = len(ctx.msgs) <= 100
    bad = []
    for m, f in zip(ctx.msgs, files):
        with open(f, "rb") as fh:
            got = fh.read()
        w = ctx.wire_of(m)
        if client == "mpop":
            h = re.match(MPOP_RECEIVED, got)
            want = b"".join(l[:-2] + b"\n" for l in mkfixtures.crlf_lines(w))
            r = True if h is not None and got[h.end():] == want else \
                first_diff(got[h.end():] if h else got, want)
            what = "Received header + the message with LF ends"
        else:
            r = match_pieces(fetchmail_pattern(w, client == "fetchmail-crlf"), got)
            what = "exactly as modelled"
        if one:
            t.ok(r is True, "%s message %d (%s): %s" % (client, m["n"], m["tag"], what), r)
        elif r is not True:
            bad.append((m["n"], r))
    if not one:
        t.ok(not bad, "%s: all %d messages %s" % (client, len(files), what),
             "%d bad, first: %r" % (len(bad), bad[:3]))


def check_untouched(t, ctx):
    check_listing(t, ctx, {m["path"] for m in ctx.msgs},
                  "maildrop: untouched (nothing deleted, nothing moved)")


def check_kept(t, ctx):
    check_listing(t, ctx, expected_after(ctx, ctx.msgs, {m["n"] for m in ctx.msgs}, set()),
                  "maildrop: every message kept, the new/ ones moved to cur/ with :2,S")


def check_gone(t, ctx):
    t.eq(sorted(ctx.listing()), [], "maildrop: every message deleted")


CHECKS = {"capa": check_capa, "auth": check_auth, "read": check_read,
          "relist": check_relist, "snapshot": check_snapshot, "drop": check_drop, "dele": check_dele,
          "many": check_many, "kept": check_kept,
          "untouched": check_untouched, "gone": check_gone,
          "fetchmail-lf": lambda t, c: check_delivered(t, c, "fetchmail-lf"),
          "fetchmail-crlf": lambda t, c: check_delivered(t, c, "fetchmail-crlf"),
          "mpop": lambda t, c: check_delivered(t, c, "mpop")}


def main(argv):
    port, manifest, out, checks = 0, None, None, []
    args = argv[1:]
    while args:
        if args[0] == "--port":
            port, args = int(args[1]), args[2:]
        elif args[0] == "--manifest":
            manifest, args = args[1], args[2:]
        elif args[0] == "--out":
            out, args = args[1], args[2:]
        else:
            checks.append(args[0])
            args = args[1:]
    if manifest is None or not checks or any(c not in CHECKS for c in checks):
        sys.stderr.write(__doc__)
        return 64
    t = Tap()
    ctx = Ctx(port, manifest)
    ctx.out = out
    for c in checks:
        try:
            CHECKS[c](t, ctx)
        except Exception:
            t.ok(False, "check %s ran to the end" % c, traceback.format_exc())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
