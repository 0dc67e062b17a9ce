#!/usr/bin/env python3
"""tlspolicy.py: raw-socket POP3 clients for tests/40-tls-policy.t, for
what ordinary clients cannot do: pipeline a command behind STLS, speak
plaintext to pop3s, stall a handshake, and check the plaintext-auth policy
before and after STLS.

  tlspolicy.py inject HOST PORT            STLS + pipelined USER
  tlspolicy.py policy HOST PORT CA NAME    plaintext-auth refuses USER/AUTH
                                           before TLS, allows after STLS
  tlspolicy.py loopback HOST PORT          tls-or-loopback allows USER
  tlspolicy.py garbage HOST PORT STLS|TLS  not TLS after STLS / on pop3s
  tlspolicy.py stall HOST PORT             a silent and a trickling client;
                                           prints the seconds each lasted
  tlspolicy.py abort HOST PORT CA          pop3s, RETR 1, hang up mid-message

Prints "ok - ..." / "not ok - ..." and "# ..." lines (tests/lib.sh's
tap_import).  Every wait is bounded, so a hung popd fails, never hangs.
"""
import base64
import socket
import ssl
import sys
import threading
import time

PLAIN = base64.b64encode(b"\0alice\0secret").decode()


def t(cond, name, *diag):
    print(("ok - " if cond else "not ok - ") + name)
    if not cond:
        for d in diag:
            print("# " + repr(d)[:400])
    sys.stdout.flush()


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""

    def line(self):
        """One reply line without CRLF; None at EOF."""
        while b"\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                return None
            self.buf += data
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r").decode("latin-1")

    def ask(self, cmd):
        self.sock.sendall(cmd.encode() + b"\r\n")
        return self.line()

    def body(self):
        lines = []
        while True:
            l = self.line()
            if l is None or l == ".":
                return lines
            lines.append(l)

    def rest(self):
        """Everything until EOF (bytes).  A reset counts as EOF: popd
        closing with our bytes unread makes the kernel send RST."""
        data = self.buf
        while True:
            try:
                d = self.sock.recv(4096)
            except ConnectionResetError:
                return data
            if not d:
                return data
            data += d

    def starttls(self, ca):
        ctx = ssl.create_default_context(cafile=ca)
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")


def inject(host, port):
    # CVE-2011-0411: whatever rides with STLS was sent in plaintext.
    for pre in ("", "CAPA\r\n"):
        c = Conn(host, port)
        c.line()
        c.sock.sendall(pre.encode() + b"STLS\r\nUSER alice\r\n")
        got = c.rest().decode("latin-1")
        name = "%sSTLS + pipelined USER in one write" % (
            "CAPA + " if pre else "")
        lines = [l for l in got.split("\r\n") if l]
        if pre:
            t(lines[:1] == ["+OK Capability list follows"], name + ": CAPA answered", got)
            lines = lines[lines.index(".") + 1:] if "." in lines else lines
        t(lines[:1] == ["-ERR Data after STLS, closing"], name + ": -ERR", got)
        t(len(lines) == 1, name + ": nothing after it (no +OK for USER), then EOF", got)


def refused(reply):
    return reply is not None and reply.startswith("-ERR [AUTH] ")


def policy(host, port, ca, name):
    c = Conn(host, port)
    c.line()
    c.ask("CAPA")
    caps = c.body()
    t("STLS" in caps, name + ": CAPA offers STLS", caps)
    t("USER" not in caps and not any(x.startswith("SASL") for x in caps),
      name + ": CAPA offers neither USER nor SASL before TLS", caps)
    r = c.ask("USER alice")
    t(refused(r), name + ": USER refused with -ERR [AUTH]", r)
    r = c.ask("PASS secret")
    t(refused(r), name + ": PASS refused with -ERR [AUTH]", r)
    r = c.ask("AUTH PLAIN " + PLAIN)
    t(refused(r), name + ": AUTH PLAIN refused with -ERR [AUTH]", r)
    t(c.ask("STLS").startswith("+OK"), name + ": STLS")
    c.starttls(ca)
    c.ask("CAPA")
    caps = c.body()
    t("USER" in caps and "SASL PLAIN" in caps and "STLS" not in caps,
      name + ": after STLS CAPA offers USER and SASL, not STLS", caps)
    t(c.ask("USER alice") == "+OK Send PASS", name + ": USER after STLS")
    r = c.ask("PASS secret")
    t(r is not None and r.startswith("+OK alice has"), name + ": PASS after STLS", r)
    t(c.ask("QUIT").startswith("+OK"), name + ": QUIT")


def loopback(host, port):
    c = Conn(host, port)
    c.line()
    c.ask("CAPA")
    caps = c.body()
    t("USER" in caps and "STLS" in caps,
      "tls-or-loopback from %s: CAPA offers USER and STLS" % host, caps)
    t(c.ask("USER alice") == "+OK Send PASS", "tls-or-loopback: USER in plaintext")
    r = c.ask("PASS secret")
    t(r is not None and r.startswith("+OK"), "tls-or-loopback: PASS in plaintext", r)
    c.ask("QUIT")


def garbage(host, port, how):
    c = Conn(host, port)
    start = time.monotonic()
    if how == "STLS":
        c.line()
        t(c.ask("STLS").startswith("+OK"), "plaintext after STLS: +OK first")
    c.sock.sendall(b"USER alice\r\nPASS secret\r\n")
    got = c.rest()
    name = "plaintext after STLS" if how == "STLS" else "plaintext to pop3s"
    t(b"+OK" not in got, name + ": no +OK, connection closed", got)
    t(time.monotonic() - start < 5, name + ": closed at once")


def stall(host, port):
    """Two handshakes that never finish: one sends nothing, one sends a
    TLS record header and then one byte every half second (slowloris)."""
    took = {}

    def silent():
        s = socket.create_connection((host, port), timeout=60)
        start = time.monotonic()
        while s.recv(4096):
            pass
        took["silent"] = time.monotonic() - start

    def trickle():
        s = socket.create_connection((host, port), timeout=60)
        start = time.monotonic()
        s.sendall(b"\x16\x03\x01\x02\x00")      # handshake record, 512 bytes
        s.settimeout(0.5)
        try:
            for _ in range(100):
                try:
                    if not s.recv(4096):
                        break
                except socket.timeout:
                    s.sendall(b"\x01")
        except OSError:
            pass
        took["trickle"] = time.monotonic() - start

    ts = [threading.Thread(target=f) for f in (silent, trickle)]
    for x in ts:
        x.start()
    for x in ts:
        x.join()
    print("silent %.1f trickle %.1f" % (took.get("silent", -1), took.get("trickle", -1)))


def abort(host, port, ca):
    """Hangs up during a long RETR: popd's next write fails (EPIPE or
    ECONNRESET); it must end the session, not die of SIGPIPE."""
    c = Conn(host, port)
    c.starttls(ca)
    c.line()
    c.ask("USER alice")
    c.ask("PASS secret")
    r = c.ask("RETR 1")
    t(r is not None and r.startswith("+OK"), "hang-up: RETR 1 started", r)
    c.sock.recv(1000)
    c.sock.close()


def main():
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if cmd == "inject":
        inject(host, port)
    elif cmd == "policy":
        policy(host, port, sys.argv[4], sys.argv[5])
    elif cmd == "loopback":
        loopback(host, port)
    elif cmd == "garbage":
        garbage(host, port, sys.argv[4])
    elif cmd == "stall":
        stall(host, port)
    elif cmd == "abort":
        abort(host, port, sys.argv[4])


if __name__ == "__main__":
    main()
