#!/bin/sh
# The PROXY protocol end to end: popd under systemd-socket-activate on
# 127.0.0.1, with this test as the balancer.  From a trusted peer a v1 or v2
# header is required and its client address is the one in the session
# line, in fail2ban's line and for plaintext-auth = tls-or-loopback; no
# header, a bad one or none in time closes the connection with a log line
# that fail2ban does not take for a client.  From an untrusted peer, or
# without proxy-trusted, a header is a bad command like any other.  Under
# --tls the ClientHello that follows the header is not lost.
. tests/lib.sh
. tests/lib-tls.sh
need systemd-socket-activate python3 openssl

mkmaildir "$T/alice"
PKI=$T/pki
mkpki "$PKI" || { echo "1..0 # SKIP cannot make a test PKI"; exit 0; }
printf 'proxy-trusted = 127.0.0.0/8, ::1\ntls-cert = %s\ntls-key = %s\n' \
    "$PKI/fullchain.pem" "$PKI/key.pem" | mkconf "$T/trusted.conf"
printf 'proxy-trusted = 127.0.0.1\nplaintext-auth = always\n' |
    mkconf "$T/always.conf"
echo 'proxy-trusted = 10.0.0.0/8' | mkconf "$T/untrusted.conf"
mkconf "$T/off.conf" </dev/null

# Nothing is printed before the probe below may skip the whole file.
started=
tls_serve PT "$T/trusted.conf" || started="$started trusted"
tls_serve PTLS "$T/trusted.conf" --tls || started="$started trusted--tls"
tls_serve PA "$T/always.conf" || started="$started always"
tls_serve PU "$T/untrusted.conf" || started="$started untrusted"
tls_serve PO "$T/off.conf" || started="$started off"

# Until popd reads the header, a trusted peer is greeted at once.
if [ -z "$started" ] && python3 - "$PT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1)
try:
    greeted = s.recv(100).startswith(b"+OK")
except socket.timeout:
    greeted = False
sys.exit(0 if greeted else 1)
PY
then
	echo "1..0 # SKIP PROXY not wired yet"
	exit 0
fi
is "five listeners (trusted, --tls, always, untrusted, off)" "$started" ""
as_user "$POPD" -n -c "$T/trusted.conf" > "$T/dump" 2>&1
check "popd -n shows proxy-trusted" grep -qx 'proxy-trusted = 127.0.0.0/8, ::1/128' "$T/dump"

cat > "$T/client.py" <<'PY'
import socket, ssl, struct, sys, time

PT, PTLS, PA, PU, PO = (int(p) for p in sys.argv[1:6])
CA = sys.argv[6]
SIG = b"\r\n\r\n\x00\r\nQUIT\n"

def v1(proto, src, dst, sport=40000, dport=110):
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport, dport)).encode()

def v2(cmd, fam, src=b"", dst=b"", sport=40000, dport=110, tlv=b""):
    body = src + dst + (struct.pack(">HH", sport, dport) if src else b"") + tlv
    return SIG + bytes([0x20 | cmd, fam]) + struct.pack(">H", len(body)) + body

def ip4(s): return socket.inet_pton(socket.AF_INET, s)
def ip6(s): return socket.inet_pton(socket.AF_INET6, s)

n = 0
def ok(c, name, got=None):
    global n
    n += 1
    print("ok - " + name if c else "not ok - " + name)
    if not c and got is not None:
        print("# got: %r" % (got,))

class Conn:
    def __init__(self, port, first=b""):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.settimeout(10)
        if first:
            self.s.sendall(first)
        self.f = self.s.makefile("rb")
    def line(self):
        return self.f.readline().decode(errors="replace").rstrip("\r\n")
    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        return self.line()
    def multi(self, c):
        first = self.cmd(c)
        lines = []
        while first.startswith("+OK"):
            l = self.line()
            if l == ".":
                break
            lines.append(l)
        return first, lines
    # Closed without a word (a reset too: popd leaves unread bytes).
    def closed(self):
        try:
            return self.s.recv(100) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
    def close(self):
        self.s.close()

# Trusted, tls-or-loopback: the client's address decides.
c = Conn(PT, v1("TCP4", "203.0.113.7", "192.0.2.1"))
g = c.line()
ok(g.startswith("+OK"), "v1 TCP4: greeted after the header", g)
first, capa = c.multi("CAPA")
ok("USER" not in capa, "v1 from 203.0.113.7: CAPA offers no USER", capa)
r = c.cmd("USER alice")
ok(r.startswith("-ERR [AUTH]"), "v1 from 203.0.113.7: USER refused outside TLS", r)
ok(c.cmd("QUIT").startswith("+OK"), "v1 TCP4: QUIT")
c.close()

c = Conn(PT, v1("TCP4", "127.0.0.9", "127.0.0.1"))
c.line()
r = [c.cmd("USER alice"), c.cmd("PASS secret"), c.cmd("QUIT")]
ok(all(x.startswith("+OK") for x in r), "v1 from 127.0.0.9: loopback, login", r)
c.close()

c = Conn(PT, v2(1, 0x21, ip6("2001:db8::7"), ip6("2001:db8::1"), 51000, 110))
g = c.line()
ok(g.startswith("+OK"), "v2 TCP6: greeted", g)
ok(c.cmd("QUIT").startswith("+OK"), "v2 TCP6: QUIT")
c.close()

# The header and the first command in one segment: nothing lost.
c = Conn(PT, v2(1, 0x11, ip4("198.51.100.44"), ip4("192.0.2.1"),
                tlv=b"\x04\x00\x03abc") + b"NOOP\r\nQUIT\r\n")
r = [c.line(), c.line(), c.line()]
ok(r[0].startswith("+OK") and r[1].startswith("-ERR") and
   r[2].startswith("+OK"), "v2 TCP4 with a TLV and two commands in one write",
   r)
c.close()

for name, hdr in (("v2 LOCAL", v2(0, 0x00)),
                  ("v1 UNKNOWN", b"PROXY UNKNOWN\r\n")):
    c = Conn(PT, hdr)
    g = c.line()
    ok(g.startswith("+OK") and c.cmd("QUIT").startswith("+OK"),
       name + ": greeted, the socket's address kept", g)
    c.close()

# Trusted peer, no header or a bad one: closed without a word.
for name, first in (("no header, a command", b"CAPA\r\n"),
                    ("a bad v1 port", v1("TCP4", "203.0.113.8", "192.0.2.1", 80, 110).replace(b" 80 ", b" 080 ")),
                    ("v2 version 1", SIG + b"\x11\x11\x00\x0c" + bytes(12)),
                    ("v1 over 107 bytes", b"PROXY UNKNOWN " + b"x" * 100 + b"\r\n")):
    c = Conn(PT, first)
    ok(c.closed(), "trusted, %s: closed, no greeting" % name)
    c.close()

t0 = time.monotonic()
c = Conn(PT, b"PROXY TCP4 1.2")
closed = c.closed()
dt = time.monotonic() - t0
ok(closed and 4 <= dt < 9, "half a header, then silence: closed after %.1f s" % dt)
c.close()

# --tls: the header, then a verified handshake on the same bytes.
ctx = ssl.create_default_context(cafile=CA)
for name, hdr in (("v1", v1("TCP6", "2001:db8::99", "2001:db8::1", 1, 995)),
                  ("v2", v2(1, 0x11, ip4("192.0.2.99"), ip4("192.0.2.1")))):
    raw = socket.create_connection(("127.0.0.1", PTLS))
    raw.settimeout(10)
    raw.sendall(hdr)
    try:
        t = ctx.wrap_socket(raw, server_hostname="localhost")
        f = t.makefile("rb")
        g = f.readline()
        t.sendall(b"QUIT\r\n")
        q = f.readline()
        ok(g.startswith(b"+OK") and q.startswith(b"+OK"),
           "--tls, %s header then TLS: greeted and QUIT" % name, (g, q))
        t.close()
    except (ssl.SSLError, OSError) as e:
        ok(False, "--tls, %s header then TLS" % name, str(e))

# plaintext-auth = always: failed logins name the client, for fail2ban.
for hdr in (v1("TCP4", "198.51.100.23", "192.0.2.1"),
            v2(1, 0x21, ip6("2001:db8::23"), ip6("2001:db8::1"))):
    c = Conn(PA, hdr)
    c.line()
    r = [c.cmd("USER alice"), c.cmd("PASS wrong"), c.cmd("QUIT")]
    ok(r[1].startswith("-ERR"), "plaintext-auth = always: a failed login", r)
    c.close()

# Untrusted peer (127.0.0.1 is not in 10.0.0.0/8), and no proxy-trusted:
# greeted at once; the header is an unknown command.
for port, name in ((PU, "untrusted peer"), (PO, "no proxy-trusted")):
    c = Conn(port)
    g = c.line()
    c.s.sendall(v1("TCP4", "203.0.113.66", "192.0.2.1"))
    r = c.line()
    ok(g.startswith("+OK") and r == "-ERR Unknown command",
       "%s: greeted, a v1 header is a bad command" % name, (g, r))
    ok(c.cmd("QUIT").startswith("+OK"), "%s: the session goes on" % name)
    c.close()

c = Conn(PO)
c.line()
c.s.sendall(v2(1, 0x11, ip4("203.0.113.66"), ip4("192.0.2.1")))
r = c.line()
ok(r.startswith("-ERR"), "no proxy-trusted: a v2 header is a bad command too", r)
c.close()
PY
tap_import python3 "$T/client.py" "$PT" "$PTLS" "$PA" "$PU" "$PO" "$PKI/ca.pem"
tls_stop

log=$T/trusted.conf.log
has() { grep -q -- "$2" "$1"; }
check "session line: addr=203.0.113.7 (v1 TCP4)" has "$log" "session user=- addr=203.0.113.7 tls=no auth=no"
check "session line: addr=127.0.0.9 logged in" has "$log" "session user=alice addr=127.0.0.9 tls=no auth=ok"
check "session line: addr=2001:db8::7 (v2 TCP6)" has "$log" "session user=- addr=2001:db8::7 "
check "session line: addr=198.51.100.44 (v2 TCP4)" has "$log" "session user=- addr=198.51.100.44 "
check "session lines: LOCAL and UNKNOWN keep 127.0.0.1" \
    test "$(grep -c 'session user=- addr=127.0.0.1 ' "$log")" -eq 2
check "session line: --tls, v1 TCP6" has "$log" "session user=- addr=2001:db8::99 tls=yes"
check "session line: --tls, v2 TCP4" has "$log" "session user=- addr=192.0.2.99 tls=yes"
check "refused: no header, logged" has "$log" "PROXY header refused addr=127.0.0.1: not a PROXY header"
check "refused: bad port, logged" has "$log" "PROXY header refused addr=127.0.0.1: v1: bad source port"
check "refused: v2 version, logged" has "$log" "PROXY header refused addr=127.0.0.1: v2: version not 2"
check "refused: too long, logged" has "$log" "PROXY header refused addr=127.0.0.1: v1: no CRLF within 107 bytes"
check "refused: timeout, logged" has "$log" "PROXY header refused addr=127.0.0.1: PROXY header not complete in time"
check "no refused connection has a session line" \
    test "$(grep -c 'session user=' "$log")" -eq 8
check "untrusted: the session is 127.0.0.1's" has "$T/untrusted.conf.log" "session user=- addr=127.0.0.1 "
check "untrusted: nothing from the header" sh -c "! grep -q 203.0.113.66 '$T/untrusted.conf.log' '$T/off.conf.log'"

# fail2ban's filter takes the header's addresses, and no refusal line.
cat "$T/trusted.conf.log" "$T/always.conf.log" > "$T/all.log"
python3 - "$T/all.log" units/fail2ban/popd.conf > "$T/f2b" <<'PY'
import re, sys
log = open(sys.argv[1]).read().splitlines()
rx = [l.split("=", 1)[1].strip() for l in open(sys.argv[2]) if l.startswith("failregex")][0]
rx = re.compile(rx.replace("<HOST>", r"(?P<host>\S+)"))
print(" ".join(m.group("host") for m in map(rx.search, log) if m))
PY
is "fail2ban: the clients from the headers, nothing else" "$(cat "$T/f2b")" "198.51.100.23 2001:db8::23"

if [ "$_fail" -ne 0 ]; then
	for f in "$T"/*.conf.log; do diag "$f:"; while IFS= read -r l; do diag "$l"; done < "$f"; done
fi
done_testing
