#!/bin/sh
# libtls only where TLS is spoken (issue 12: start-up cost and memory).
# popd is not linked with libtls: a plain session, on a server that offers
# STLS, maps neither libtls nor libssl nor libcrypto in either process,
# before or after login.  After STLS the pre-authentication process that
# answers it (a new one, forked by the privileged process: chan.h
# CHAN_STLS) maps them and holds no password hash; the privileged process
# never maps them, also after the login, when the TLS process relays.
# Under --tls likewise.  /proc/PID/maps of popd's processes under
# tcpserver, one popd per connection.
. tests/lib.sh
need python3 tcpserver openssl objdump
# popd's processes are not dumpable: their maps and memory are root's.
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root: popd's processes are not dumpable"
	exit 0
fi
asan=0
ldd "$POPD" 2>/dev/null | grep -q libasan && asan=1

check "popd has no DT_NEEDED on libtls, libssl or libcrypto" \
    sh -c "! objdump -p '$POPD' | grep -E 'NEEDED +lib(tls|ssl|crypto)'"

mkmaildir "$T/alice"
printf 'Subject: a\n\nalice\n' > "$T/alice/cur/1.alice,S=18,W=21"
chown "$TUSER:" "$T/alice/cur/1.alice,S=18,W=21"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=localhost -keyout "$T/key.pem" -out "$T/cert.pem" \
    2>/dev/null
chown "$TUSER:" "$T/key.pem" "$T/cert.pem"
printf 'plaintext-auth = always\ntls-cert = %s\ntls-key = %s\n' \
    "$T/cert.pem" "$T/key.pem" | mkconf "$T/popd.conf"
hash=$(sed -n 's/^password = //p' "$T/popd.conf")

P=$(free_port)
serve tcpserver "$P" "$T/popd.conf"
PT=$(free_port)
setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups -- \
    tcpserver -q -HRl0 127.0.0.1 "$PT" "$POPD" -e -c "$T/popd.conf" --tls \
    >>"$T/popd.log" 2>&1 </dev/null &
tls_pid=$!
at_exit "kill $tls_pid 2>/dev/null; wait $tls_pid 2>/dev/null"
wait_port "$PT"

cat > "$T/lazy.py" <<'PY'
"""lazy.py PORT TLSPORT HASH ASAN: TAP lines (tap_import)."""
import os, re, socket, ssl, sys, time
import procmem
from procmem import ok, children
port, tport, pwhash, asan = int(sys.argv[1]), int(sys.argv[2]), \
    sys.argv[3].encode(), sys.argv[4] == "1"
LIBS = re.compile(r"/lib(tls|ssl|crypto)\.so")


def libs(pid):
    """The TLS libraries pid maps, by name."""
    with open("/proc/%d/maps" % pid) as f:
        return sorted(set(m.group(1) for m in map(LIBS.search, f) if m))


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def all_popd():
    out = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/comm" % d) as f:
                if d.isdigit() and f.read().strip() == "popd":
                    out.append(int(d))
        except OSError:
            pass
    return out


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def popd_pids(before):
    """The connection's popd (new since before) and its children."""
    time.sleep(0.15)
    new = [p for p in all_popd() if p not in before]
    parents = [p for p in new if ppid(p) not in new]
    if len(parents) != 1:
        return None, []
    return parents[0], children(parents[0])


def ask(f, s, line):
    s.sendall(line + b"\r\n")
    return [f.readline()]


def multiline(f):
    out = []
    while True:
        l = f.readline()
        if l in (b".\r\n", b""):
            return out
        out.append(l)


def clean(what, parent, kids, tls):
    got = libs(parent)
    ok(got == [], "%s: popd's first process maps no libtls, libssl, "
       "libcrypto" % what, "maps %r" % got)
    for k in kids:
        got = libs(k)
        if tls:
            ok(got == ["crypto", "ssl", "tls"], "%s: the TLS process "
               "maps libtls, libssl, libcrypto" % what, "maps %r" % got)
        else:
            ok(got == [], "%s: the pre-auth process maps none" % what,
               "maps %r" % got)


# Plain, STLS offered: no process maps them, before or after login.
before = all_popd()
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
f.readline()
caps = ask(f, s, b"CAPA") + multiline(f)
ok(b"STLS\r\n" in caps, "plain: CAPA offers STLS", caps)
parent, kids = popd_pids(before)
ok(parent is not None and len(kids) == 1, "plain: popd and its pre-auth "
   "process", "parent %r children %r" % (parent, kids))
if parent:
    clean("plain, before login", parent, kids, False)
r = ask(f, s, b"USER alice") + ask(f, s, b"PASS secret")
ok(r[1].startswith(b"+OK alice has 1"), "plain: login", r)
ask(f, s, b"STAT")
if parent:
    clean("plain, after login", parent, children(parent), False)
ask(f, s, b"QUIT")
s.close()

# STLS: a new pre-auth process answers and maps them; the first never.
before = all_popd()
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
f.readline()
parent, kids = popd_pids(before)
# RFC 2595: the USER before STLS is forgotten.
r = ask(f, s, b"USER alice") + ask(f, s, b"STLS")
ok(r[1].startswith(b"+OK Begin TLS"), "STLS: +OK", r)
t = ctx().wrap_socket(s, server_hostname="localhost")
f = t.makefile("rb")
tk = children(parent) if parent else []
ok(parent is not None and len(tk) == 1 and tk != kids,
   "STLS: a new pre-auth process speaks TLS", "before %r after %r"
   % (kids, tk))
if parent:
    clean("STLS, before login", parent, tk, True)
if tk and not asan:
    mem = b"".join(m for _, m in procmem.mappings(tk[0]))
    ok(mem and pwhash not in mem, "STLS: no password hash in the memory "
       "of the pre-auth process the privileged one forked")
caps = ask(f, t, b"CAPA") + multiline(f)
ok(b"STLS\r\n" not in caps and b"USER\r\n" in caps,
   "STLS: CAPA under TLS: USER, no STLS", caps)
r = ask(f, t, b"PASS secret")
ok(r[0].startswith(b"-ERR"), "STLS: the USER before it is forgotten", r)
r = ask(f, t, b"USER alice") + ask(f, t, b"PASS secret")
ok(r[1].startswith(b"+OK alice has 1"), "STLS: login under TLS", r)
r = ask(f, t, b"UIDL") + multiline(f)
ok(r[0].startswith(b"+OK") and len(r) == 2, "STLS: UIDL", r)
if parent:
    clean("STLS, after login", parent, children(parent), True)
ask(f, t, b"QUIT")
t.close()

# --tls: the same.
before = all_popd()
s = socket.create_connection(("127.0.0.1", tport))
t = ctx().wrap_socket(s, server_hostname="localhost")
f = t.makefile("rb")
g = f.readline()
ok(g.startswith(b"+OK"), "--tls: greeting", g)
parent, kids = popd_pids(before)
ok(parent is not None and len(kids) == 1, "--tls: popd and its pre-auth "
   "process", "parent %r children %r" % (parent, kids))
if parent:
    clean("--tls, before login", parent, kids, True)
r = ask(f, t, b"USER alice") + ask(f, t, b"PASS secret")
ok(r[1].startswith(b"+OK alice has 1"), "--tls: login", r)
if parent:
    clean("--tls, after login", parent, children(parent), True)
ask(f, t, b"QUIT")
t.close()
PY
tap_import env PYTHONPATH="$TOP/tests" python3 "$T/lazy.py" "$P" "$PT" "$hash" "$asan"
sleep 0.3
is "session lines: one plain login, two under TLS (STLS, --tls)" \
    "$(grep -c 'session user=alice .*tls=no auth=ok' "$T/popd.log") $(grep -c 'session user=alice .*tls=yes auth=ok' "$T/popd.log")" \
    "1 2"
done_testing
