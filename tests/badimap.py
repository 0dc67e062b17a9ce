#!/usr/bin/env python3
"""badimap.py: a scripted, plaintext IMAP server that misbehaves on purpose.

  badimap.py --port P --log FILE --mode MODE [--count N]

Not a model of any real server: it speaks just enough IMAP4rev1 for
imapfetch to log in, SELECT, UID SEARCH, UID FETCH and UID STORE, and
breaks the rules the way hostile or broken servers do.  Every command
line it receives is appended to FILE (literals and SASL lines too), so a
test can check what imapfetch sent.  Connections are served one after
the other until it is killed.  The mailbox holds N unseen messages, UIDs
1..N; in some modes one more, UID 99, that is already \\Seen.

Modes:
  plain        behaves (with UIDPLUS)
  unasked      answers the size FETCH with an unsolicited FETCH for UID 99
               (no RFC822.SIZE) and the body FETCH with UID 99's body too
  bigger       RFC822.SIZE says 10 bytes; the bodies are 200000 bytes
  midliteral   the second body literal says 100000 bytes; 5000 come,
               then the connection closes
  huge         the first body literal says 4000000000 bytes; 3 MB come,
               then the connection closes
  noise        EXISTS, RECENT, EXPUNGE and FLAGS updates between bodies
  nouidplus    no UIDPLUS; UID 98 is another client's, flagged \\Deleted
  nouidplus-alone  no UIDPLUS, and no other message flagged \\Deleted
  xoauth2      AUTH=XOAUTH2 SASL-IR only: any token is refused the way
               Gmail does it (a "+" challenge with an error, then NO)
  oauthbearer  SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER: OAUTHBEARER (RFC
               7628) with exactly good_token() (20 KB), user alice,
               host 127.0.0.1 and our port logs in; anything else gets
               the error challenge, and then NO when the client answered
               it with a lone ^A ("AQ=="), BAD otherwise; XOAUTH2 gets NO
  nosaslir     AUTH=PLAIN without SASL-IR: the response after a "+"
  loginonly    no AUTH=PLAIN: imapfetch must use LOGIN
  stall        the body FETCH is never answered (the server hangs)
  twobodies    UID 1's FETCH carries BODY[HEADER] and then BODY[]; UID 2's
               BODY[] twice
  fetchno      UID 2 cannot be read: the body FETCH sends the others,
               then says NO (Exchange and Dovecot do, for a broken message)
  fetchno1     the same for the first body FETCH that asks for UID 2 only;
               later ones behave
  onebig       UID 2's body is 5000 bytes (RFC822.SIZE says so), the
               others small
  rfc822       UID 1's body comes as RFC822 {n} (the whole message, no
               BODY[]); UID 2's as RFC822.TEXT {n} and then BODY[] {n};
               UID 3 behaves
  nobody       UID 1's body FETCH response has a UID and FLAGS, no body
  headeronly   UID 1's body FETCH response has only RFC822.HEADER {n},
               UID 2's only RFC822.TEXT {n}; UID 3 behaves
  partial      UID 1's body comes as BODY[]<5> {n} (a part from octet 5),
               UID 2's as BODY[TEXT] {n}; UID 3 behaves
  liesize      RFC822.SIZE says 100 bytes; the bodies are 300000 bytes
  longline     the answer to UID SEARCH is one line of 200 MB (sent in
               1 MB chunks, never held whole), then CRLF
  bigliteral   the SELECT answer carries an unsolicited LIST whose mailbox
               name is a literal of 50 MB
  bigalert     the SELECT answer carries "* OK [ALERT] {52428800}" and a
               50 MB line after it
  trickle      the body FETCH answer comes one byte every 0.4 s
  escapes      SELECT is answered NO with ESC [2J, BEL, a lone 0x9b and a
               UTF-8 C1 control (C2 9B) in the text
  escapes-cr   the same with a bare CR in the text too

UID SEARCH honours UNSEEN, DELETED and a UID set ("UID 4:*" matches the
highest UID even below 4, as RFC 3501 says); ALL and SINCE match all.
"""
import argparse
import base64
import hashlib
import re
import socket
import time

MB = 1024 * 1024


def good_token():
    """The one token the oauthbearer mode accepts: 20480 bytes of RFC 6750
    b64token characters, the same on every run."""
    out, h = "", b"badimap"
    while len(out) < 20480:
        h = hashlib.sha256(h).digest()
        out += base64.urlsafe_b64encode(h).decode().rstrip("=")
    return out[:20480]


def body(uid, mode):
    if mode == "bigger":
        return (b"Subject: big %d\r\n\r\n" % uid) + b"x" * 199900 + b"\r\n"
    if mode == "liesize":
        h = b"Subject: liar %d\r\n\r\n" % uid
        return h + b"y" * (300000 - len(h) - 2) + b"\r\n"
    if mode == "onebig" and uid == 2:
        h = b"Message-ID: <%d@badimap>\r\nSubject: big %d\r\n\r\n" % (
            uid, uid)
        return h + b"z" * (5000 - len(h) - 2) + b"\r\n"
    return b"Message-ID: <%d@badimap>\r\nSubject: m%d\r\n\r\nbody %d\r\n" % (
        uid, uid, uid)


class Box:
    def __init__(self, n, mode):
        self.flags = {u: set() for u in range(1, n + 1)}
        self.failed = False		# fetchno1: UID 2 refused once
        if mode == "unasked":
            self.flags[99] = {"\\Seen"}
        if mode == "nouidplus":
            self.flags[98] = {"\\Seen", "\\Deleted"}

    def uids(self):
        return sorted(self.flags)

    def seq(self, uid):
        return self.uids().index(uid) + 1


def parse_set(s, box):
    out = []
    top = max(box.uids() or [0])
    for part in s.split(","):
        lo, _, hi = part.partition(":")
        lo = top if lo == "*" else int(lo)
        hi = lo if not hi else (top if hi == "*" else int(hi))
        lo, hi = min(lo, hi), max(lo, hi)
        out += [u for u in box.uids() if lo <= u <= hi]
    return out


class Conn:
    def __init__(self, sock, log, mode, box):
        self.s, self.log, self.mode, self.box = sock, log, mode, box
        self.buf = b""

    def note(self, data):
        with open(self.log, "ab") as f:
            f.write(data.rstrip(b"\r\n") + b"\n")

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        self.note(ln)
        return ln.decode("latin-1")

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def caps(self):
        c = "IMAP4rev1"
        if self.mode == "xoauth2":
            return c + " SASL-IR AUTH=XOAUTH2"
        if self.mode == "oauthbearer":
            return c + " SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER UIDPLUS"
        if self.mode == "nosaslir":
            c += " AUTH=PLAIN"
        elif self.mode != "loginonly":
            c += " SASL-IR AUTH=PLAIN"
        if not self.mode.startswith("nouidplus"):
            c += " UIDPLUS"
        return c

    def fetch_sizes(self, tag, uids):
        for u in uids:
            self.send("* %d FETCH (UID %d RFC822.SIZE %d)\r\n" % (
                self.box.seq(u), u,
                10 if self.mode == "bigger" else
                100 if self.mode == "liesize" else len(body(u, self.mode))))
        if self.mode == "unasked":
            self.send("* %d FETCH (UID 99 FLAGS (\\Seen))\r\n" %
                      self.box.seq(99))
        self.send("%s OK done\r\n" % tag)

    def odd_body(self, u, b):
        """The FETCH response of the odd modes for UID u, or None."""
        pre = b"* %d FETCH (UID %d " % (self.box.seq(u), u)
        h = b.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
        t = b[len(h):]
        lit = lambda item, data: b"%s {%d}\r\n%s" % (item, len(data), data)
        if self.mode == "rfc822" and u == 1:
            return pre + lit(b"RFC822", b) + b")\r\n"
        if self.mode == "rfc822" and u == 2:
            return (pre + lit(b"RFC822.TEXT", t) + b" " + lit(b"BODY[]", b) +
                    b")\r\n")
        if self.mode == "nobody" and u == 1:
            return pre + b"FLAGS ())\r\n"
        if self.mode == "headeronly" and u == 1:
            return pre + lit(b"RFC822.HEADER", h) + b")\r\n"
        if self.mode == "headeronly" and u == 2:
            return pre + lit(b"RFC822.TEXT", t) + b")\r\n"
        if self.mode == "partial" and u == 1:
            return pre + lit(b"BODY[]<5>", b[5:]) + b")\r\n"
        if self.mode == "partial" and u == 2:
            return pre + lit(b"BODY[TEXT]", t) + b")\r\n"
        return None

    def trickle(self, tag, uids):
        out = b"".join(b"* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n" % (
            self.box.seq(u), u, len(body(u, self.mode)), body(u, self.mode))
            for u in uids) + b"%s OK done\r\n" % tag.encode()
        for i in range(len(out)):
            self.send(out[i:i + 1])
            time.sleep(0.4)

    def fetch_bodies(self, tag, uids):
        if self.mode == "stall":
            return
        if self.mode == "trickle":
            self.trickle(tag, uids)
            return
        if self.mode == "unasked":
            uids = uids + [99]
        refuse = self.mode == "fetchno" or (
            self.mode == "fetchno1" and not self.box.failed)
        for i, u in enumerate(uids):
            if refuse and u == 2:
                self.box.failed = True
                continue
            b = body(u, self.mode)
            odd = self.odd_body(u, b)
            if odd is not None:
                self.send(odd)
                continue
            head = "* %d FETCH (UID %d BODY[] {%d}\r\n" % (
                self.box.seq(u), u, len(b))
            if i == 1 and self.mode == "midliteral":
                self.send("* 2 FETCH (UID %d BODY[] {100000}\r\n" % u)
                self.send(b"y" * 5000)
                raise EOFError
            if i == 0 and self.mode == "huge":
                self.send("* 1 FETCH (UID %d BODY[] {4000000000}\r\n" % u)
                for _ in range(48):
                    self.send(b"z" * 65536)
                raise EOFError
            if self.mode == "twobodies" and u in (1, 2):
                h = b.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
                extra = b"BODY[HEADER] {%d}\r\n%s " % (len(h), h) \
                    if u == 1 else b"BODY[] {%d}\r\n%s " % (len(b), b)
                head = "* %d FETCH (UID %d " % (self.box.seq(u), u)
                self.send(head.encode() + extra + b"BODY[] {%d}\r\n" %
                          len(b) + b + b")\r\n")
                continue
            self.send(head.encode() + b + b")\r\n")
            if self.mode == "noise":
                self.send("* 7 EXISTS\r\n* 1 RECENT\r\n"
                          "* 5 FETCH (FLAGS (\\Seen))\r\n")
        if self.mode == "noise":
            self.send("* 2 EXPUNGE\r\n")
        if refuse and 2 in uids:
            self.send("%s NO [SERVERBUG] Some messages could not be "
                      "FETCHed\r\n" % tag)
            return
        self.send("%s OK done\r\n" % tag)

    def search(self, tag, args):
        if self.mode == "longline":
            # One line of 200 MB, streamed: never all of it in memory.
            self.send("* SEARCH ")
            chunk = b"x" * MB
            for _ in range(200):
                self.send(chunk)
            self.send("\r\n%s OK done\r\n" % tag)
            return
        u = self.box.uids()
        m = re.search(r"\bUID ([0-9*:,]+)", args)
        if m:
            u = [x for x in u if x in parse_set(m.group(1), self.box)]
        if "DELETED" in args:
            u = [x for x in u if "\\Deleted" in self.box.flags[x]]
        if "UNSEEN" in args:
            u = [x for x in u if "\\Seen" not in self.box.flags[x]]
        self.send("* SEARCH%s\r\n%s OK done\r\n" % (
            "".join(" %d" % x for x in u), tag))

    def store(self, tag, args):
        m = re.match(r"(\S+) \+FLAGS\.SILENT \((.*)\)", args)
        for u in parse_set(m.group(1), self.box):
            self.box.flags[u] |= set(m.group(2).split())
        self.send("%s OK done\r\n" % tag)

    def expunge(self, tag, uids):
        for u in uids:
            if "\\Deleted" in self.box.flags.get(u, ()):
                self.send("* %d EXPUNGE\r\n" % self.box.seq(u))
                del self.box.flags[u]
        self.send("%s OK done\r\n" % tag)

    def oauthbearer(self, tag, args):
        mech, _, ir = args.partition(" ")
        if not ir:
            self.send("+ \r\n")
            ir = self.line()
        want = "n,a=alice,\x01host=127.0.0.1\x01port=%d\x01auth=Bearer " \
            "%s\x01\x01" % (self.s.getsockname()[1], good_token())
        try:
            got = base64.b64decode(ir, validate=True).decode("latin-1")
        except ValueError:
            got = None
        if mech.upper() == "OAUTHBEARER" and got == want:
            self.send("%s OK [CAPABILITY %s] in\r\n" % (tag, self.caps()))
            return
        if mech.upper() != "OAUTHBEARER":
            self.send("%s NO [AUTHENTICATIONFAILED] badimap: not "
                      "OAUTHBEARER\r\n" % tag)
            return
        # RFC 7628 3.2.2: the error as a challenge; 3.2.3: the client
        # answers with a lone ^A; the server then fails the exchange.
        self.send("+ %s\r\n" % base64.b64encode(
            b'{"status":"invalid_token"}').decode())
        if self.line() == "AQ==":
            self.send("%s NO [AUTHENTICATIONFAILED] badimap: invalid "
                      "token\r\n" % tag)
        else:
            self.send("%s BAD badimap: the error challenge wants "
                      "AQ==\r\n" % tag)

    def authenticate(self, tag, args):
        if self.mode == "oauthbearer":
            self.oauthbearer(tag, args)
            return
        if self.mode == "xoauth2":
            # Gmail: the error as a challenge, an empty answer, then NO.
            self.send("+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=\r\n")
            self.line()
            self.send("%s NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
                      % tag)
            return
        if " " not in args:
            self.send("+ \r\n")
            self.line()
        self.send("%s OK [CAPABILITY %s] in\r\n" % (tag, self.caps()))

    def command(self, ln):
        tag, _, rest = ln.partition(" ")
        cmd, _, args = rest.partition(" ")
        cmd = cmd.upper()
        if cmd == "UID":
            cmd, _, args = args.partition(" ")
            cmd = "UID " + cmd.upper()
        m = re.match(r".*\{(\d+)\}$", ln)
        if m:				# a literal argument: take it too
            self.send("+ go on\r\n")
            need = int(m.group(1))
            while len(self.buf) < need:
                self.buf += self.s.recv(65536)
            self.note(self.buf[:need])
            self.buf = self.buf[need:]
            self.line()
        if cmd == "CAPABILITY":
            self.send("* CAPABILITY %s\r\n%s OK done\r\n" % (self.caps(), tag))
        elif cmd == "AUTHENTICATE":
            self.authenticate(tag, args)
        elif cmd == "LOGIN":
            self.send("%s OK logged in\r\n" % tag)
        elif cmd in ("SELECT", "EXAMINE") and self.mode.startswith("escapes"):
            self.send(b"%s NO [UNAVAILABLE] no \x1b[2J\x07box\x9b here "
                      b"\xc2\x9b%s now\r\n" % (tag.encode(), b"\r" if
                      self.mode == "escapes-cr" else b""))
        elif cmd in ("SELECT", "EXAMINE"):
            if self.mode == "bigliteral":
                self.send('* LIST () "/" {%d}\r\n' % (50 * MB))
                for _ in range(50):
                    self.send(b"L" * MB)
                self.send("\r\n")
            if self.mode == "bigalert":
                self.send("* OK [ALERT] {%d}\r\n" % (50 * MB))
                for _ in range(50):
                    self.send(b"A" * MB)
                self.send("\r\n")
            self.send("* %d EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n"
                      "* OK [UIDNEXT 100] n\r\n%s OK [READ-WRITE] done\r\n"
                      % (len(self.box.uids()), tag))
        elif cmd == "UID SEARCH":
            self.search(tag, args)
        elif cmd == "UID FETCH":
            uids = parse_set(args.split(" ", 1)[0], self.box)
            if "RFC822.SIZE" in args:
                self.fetch_sizes(tag, uids)
            else:
                self.fetch_bodies(tag, uids)
        elif cmd == "UID STORE":
            self.store(tag, args)
        elif cmd == "UID EXPUNGE":
            self.expunge(tag, parse_set(args, self.box))
        elif cmd == "EXPUNGE":
            self.expunge(tag, self.box.uids())
        elif cmd == "LOGOUT":
            self.send("* BYE bye\r\n%s OK done\r\n" % tag)
            raise EOFError
        elif cmd == "NOOP":
            self.send("%s OK done\r\n" % tag)
        else:
            self.send("%s BAD what\r\n" % tag)

    def run(self):
        self.send("* OK [CAPABILITY %s] badimap ready\r\n" % self.caps())
        try:
            while True:
                self.command(self.line())
        except (EOFError, ConnectionError):
            pass
        self.s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="plain")
    ap.add_argument("--count", type=int, default=3)
    a = ap.parse_args()
    box = Box(a.count, a.mode)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(4)
    while True:
        s, _ = ls.accept()
        s.settimeout(30)
        try:
            Conn(s, a.log, a.mode, box).run()
        except socket.timeout:
            s.close()


if __name__ == "__main__":
    main()
