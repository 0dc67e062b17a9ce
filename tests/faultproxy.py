#!/usr/bin/env python3
"""faultproxy.py: a plaintext IMAP proxy that breaks one connection on purpose.

  faultproxy.py --port P --upstream U --log FILE --fault NAME
                [--times N] [--at K] [--bytes B] [--min-literal S]

Listens on 127.0.0.1:P and forwards each connection to 127.0.0.1:U (a real
server: the test Dovecot's plain IMAP port).  Connections are served one
after the other until it is killed.  The first N connections (--times,
default 1) in which the client says something (a port probe does not
count) each get the fault; the later ones are forwarded faithfully, so
that a test can run a broken run and then a healthy one through the same
host and port (imapfetch keys its state by them).  What it did is appended
to FILE, one line per event; "fired" marks the moment the fault struck.

"The body FETCH" is the answer to a client command "UID FETCH ...
BODY.PEEK[]"; its literals are counted from 1, only those of at least S
bytes (--min-literal, default 0).  The fault strikes in literal K (--at,
default 1) after B bytes of it (--bytes, default half of it).

Faults:
  cut-literal       closes both sides there
  stall             stops forwarding from the server there; the sockets stay
                    open until the client goes
  trickle           from there on, forwards one byte every 0.3 s
  corrupt           literal K's marker "{1234}" goes out as "{123x}"
  cut-before-store  closes both sides instead of forwarding a "UID STORE"
  cut-during-store  forwards the "UID STORE", then closes both sides instead
                    of forwarding the server's tagged answer to it
"""
import argparse
import re
import select
import socket
import time

FETCH = re.compile(rb"^(\S+) UID FETCH .*BODY\.PEEK\[\]", re.I)
STORE = re.compile(rb"^(\S+) UID STORE ", re.I)
LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


class Cut(Exception):
    pass


used = 0    # connections that got past the greeting (not port probes)


class Conn:
    def __init__(self, a, n, client):
        self.a, self.n, self.c = a, n, client
        self.u = socket.create_connection(("127.0.0.1", a.upstream), 10)
        self.faulty = None      # decided when the client first speaks
        self.fired = False
        self.cline = b""        # client line being read
        self.cskip = 0          # client literal bytes to pass
        self.sline = b""        # server line being read
        self.lit = 0            # server literal bytes left
        self.lpos = 0           # bytes of it seen
        self.strike = None      # byte offset in this literal to strike at
        self.fetch_tag = self.store_tag = None
        self.nlit = 0           # body literals counted
        self.linestart = True   # the server line starts a response
        self.drip = b""         # trickle: bytes still to send
        self.stalled = self.trickling = False
        self.cdone = self.udone = False

    def log(self, msg):
        with open(self.a.log, "a") as f:
            f.write("conn %d: %s\n" % (self.n, msg))

    def fire(self, what):
        self.fired = True
        self.log("fired %s: %s" % (self.a.fault, what))

    # Client to server: whole lines, literals passed as they are.
    def from_client(self, data):
        global used
        if self.faulty is None:
            self.faulty = used < self.a.times
            used += 1
            self.log("fault " + self.a.fault if self.faulty else "faithful")
        out = b""
        while data:
            if self.cskip:
                k = min(self.cskip, len(data))
                out, data, self.cskip = out + data[:k], data[k:], self.cskip - k
                continue
            i = data.find(b"\n")
            if i < 0:
                self.cline += data
                break
            ln, data = self.cline + data[:i + 1], data[i + 1:]
            self.cline = b""
            m = LITERAL.search(ln)
            if m:
                self.cskip = int(m.group(1))
            if FETCH.match(ln):
                self.fetch_tag = FETCH.match(ln).group(1)
                self.nlit = 0
            if self.faulty and not self.fired and STORE.match(ln):
                if self.a.fault == "cut-before-store":
                    self.u.sendall(out)
                    self.fire("UID STORE not forwarded: " +
                              ln.decode("latin-1").strip())
                    raise Cut
                if self.a.fault == "cut-during-store":
                    self.store_tag = STORE.match(ln).group(1)
            out += ln
        if out:
            self.u.sendall(out)

    # Server to client: lines, and the literals they announce.
    def from_server(self, data):
        out = b""
        while data:
            if self.lit:
                k = min(self.lit, len(data))
                if self.strike is not None and self.lpos + k > self.strike:
                    k = self.strike - self.lpos
                    out += data[:k]
                    self.lpos += k
                    self.lit -= k
                    self.send(out)
                    return self.strike_now(data[k:])
                out, data = out + data[:k], data[k:]
                self.lit -= k
                self.lpos += k
                continue
            i = data.find(b"\n")
            if i < 0:
                self.sline += data
                break
            ln, data = self.sline + data[:i + 1], data[i + 1:]
            self.sline = b""
            start, self.linestart = self.linestart, True
            if start and self.store_tag and ln.startswith(self.store_tag + b" "):
                self.send(out)
                self.fire("tagged answer to UID STORE not forwarded: " +
                          ln.decode("latin-1").strip())
                raise Cut
            if start and self.fetch_tag and ln.startswith(self.fetch_tag + b" "):
                self.fetch_tag = None
            m = LITERAL.search(ln)
            if m:
                self.lit, self.lpos, self.linestart = int(m.group(1)), 0, False
                ln = self.body_literal(ln, m)
            out += ln
        self.send(out)

    def body_literal(self, ln, m):
        """Counts a body literal; arms or applies the fault on the K-th."""
        if (not self.faulty or self.fired or self.fetch_tag is None or
                not ln.rstrip().endswith(b"BODY[] " + m.group(0).strip()) or
                self.lit < self.a.min_literal):
            return ln
        self.nlit += 1
        if self.nlit != self.a.at:
            return ln
        if self.a.fault == "corrupt":
            d = m.group(1)
            bad = (d[:-1] + b"x") if len(d) > 1 else b"x"
            self.fire("literal %d marker {%s} sent as {%s}" % (
                self.nlit, d.decode(), bad.decode()))
            return ln[:m.start(1)] + bad + ln[m.end(1):]
        if self.a.fault in ("cut-literal", "stall", "trickle"):
            b = self.lit // 2 if self.a.bytes is None else self.a.bytes
            self.strike = max(0, min(b, self.lit - 1))
        return ln

    def strike_now(self, rest):
        what = "literal %d, after %d of %d bytes" % (
            self.nlit, self.lpos, self.lpos + self.lit)
        self.strike = None
        self.fire(what)
        if self.a.fault == "cut-literal":
            raise Cut
        if self.a.fault == "stall":
            self.stalled = True
        else:
            self.trickling = True
            self.drip = rest

    def send(self, data):
        if not data:
            return
        if self.trickling:
            self.drip += data
        if self.trickling or self.stalled:
            return
        self.c.sendall(data)

    def run(self):
        try:
            self.loop()
        except Cut:
            pass
        except OSError as e:
            self.log("socket error: %s" % e)
        for s in (self.c, self.u):
            try:
                s.close()
            except OSError:
                pass
        self.log("closed")

    def loop(self):
        due = idle = 0.0        # trickle: when the next byte goes
        while not (self.cdone and self.udone):
            if self.cdone and (self.stalled or self.trickling):
                return          # the client gave up
            rd = [] if self.cdone else [self.c]
            # Stalled: the server's bytes are left unread.
            if not self.udone and not self.stalled and len(self.drip) < 1 << 22:
                rd.append(self.u)
            if not rd:
                return
            wait = max(0.0, due - time.monotonic()) if self.drip else 5
            r, _, _ = select.select(rd, [], [], wait)
            if self.drip and time.monotonic() >= due:
                self.c.sendall(self.drip[:1])
                self.drip = self.drip[1:]
                due = time.monotonic() + 0.3
                if not self.drip and self.udone:
                    self.c.shutdown(socket.SHUT_WR)
            idle = 0 if r or self.drip else idle + wait
            if idle > 60:
                return
            for s in r:
                data = s.recv(65536)
                if s is self.u and not data:
                    self.udone = True
                    if not self.drip:
                        self.c.shutdown(socket.SHUT_WR)
                elif s is self.u:
                    self.from_server(data)
                elif not data:
                    self.cdone = True
                    self.u.shutdown(socket.SHUT_WR)
                else:
                    self.from_client(data)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fault", required=True, choices=[
        "cut-literal", "stall", "trickle", "corrupt", "cut-before-store",
        "cut-during-store"])
    ap.add_argument("--times", type=int, default=1)
    ap.add_argument("--at", type=int, default=1)
    ap.add_argument("--bytes", type=int, default=None)
    ap.add_argument("--min-literal", type=int, default=0)
    a = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(8)
    n = 0
    while True:
        c, _ = ls.accept()
        n += 1
        try:
            Conn(a, n, c).run()
        except OSError as e:    # upstream refused
            with open(a.log, "a") as f:
                f.write("conn %d: upstream: %s\n" % (n, e))
            c.close()


if __name__ == "__main__":
    main()
