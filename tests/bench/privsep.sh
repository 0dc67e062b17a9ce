#!/bin/sh
# The cost of popd's privilege separation per connection: N sequential
# sessions (connect, USER, PASS, STAT, QUIT) against popd under tcpserver,
# plain and implicit TLS, in ms per session.  With OLD=path/to/popd (a
# build without the separation) both are measured, in alternating rounds
# so that the load of the machine weighs on both alike.  The hash is
# sha512-crypt (5000 rounds, about 2 ms): the default yescrypt (about
# 50 ms) would hide what is measured.  Prints numbers; asserts nothing.
set -eu
. tests/lib.sh
need tcpserver python3 openssl
N=${N:-200}
ROUNDS=${ROUNDS:-20}
mkmaildir "$T/alice"
for i in 1 2 3 4 5 6 7 8 9 10; do
	printf 'Subject: m%d\n\nbody\n' "$i" > "$T/alice/cur/$i.bench"
done
chown -R "$TUSER:" "$T/alice"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=localhost -keyout "$T/key.pem" -out "$T/cert.pem" \
    2>/dev/null
chown "$TUSER:" "$T/key.pem" "$T/cert.pem"
mkconf "$T/popd.conf" <<EOF
plaintext-auth = always
tls-cert = $T/cert.pem
tls-key = $T/key.pem
EOF
sed -i "s|^password = .*|password = $(openssl passwd -6 secret)|" "$T/popd.conf"

# serve_bin BIN PORT [--tls]
serve_bin() {
	_su=""
	[ "$(id -u)" -ne 0 ] || _su="setpriv --reuid=$TUSER --regid=$TUSER --init-groups --"
	$_su tcpserver -q -H -R -l 0 -c 1000 127.0.0.1 "$2" "$1" -e -c "$T/popd.conf" \
	    ${3:-} >>"$T/popd.log" 2>&1 </dev/null &
	_serve_pids="$_serve_pids $!"
	wait_port "$2"
}
cp "$POPD" "$T/popd.new"
bins="new"
if [ -n "${OLD:-}" ]; then
	cp "$OLD" "$T/popd.old"
	bins="old new"
fi
chmod 755 "$T"/popd.*
ports=""
for b in $bins; do
	p=$(free_port); serve_bin "$T/popd.$b" "$p"
	q=$(free_port); serve_bin "$T/popd.$b" "$q" --tls
	ports="$ports $b:$p:$q"
done

python3 - "$N" "$ROUNDS" $ports <<'PY'
import socket, ssl, sys, time
n, rounds, targets = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def one(port, tls):
    s = socket.create_connection(("127.0.0.1", port))
    if tls:
        s = ctx.wrap_socket(s, server_hostname="localhost")
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n")
    for _ in range(4):
        line = f.readline()
    assert line.startswith(b"+OK"), line
    while s.recv(4096):
        pass
    s.close()


total = {}
for r in range(rounds):
    for t in targets:
        name, p, q = t.split(":")
        for kind, port, tls in (("plain", int(p), False),
                                ("TLS", int(q), True)):
            t0 = time.monotonic()
            for _ in range(n // rounds):
                one(port, tls)
            total.setdefault((name, kind), []).append(
                (time.monotonic() - t0) * 1000 / (n // rounds))
# The machine's other load comes and goes: the median and the best of
# the rounds say more than the mean.
for (name, kind), v in sorted(total.items()):
    v.sort()
    print("popd %-3s %-5s: %.2f ms per session (median of %d rounds of %d;"
          " best %.2f, mean %.2f)" % (name, kind, v[len(v) // 2], rounds,
                                       n // rounds, v[0], sum(v) / len(v)))
PY

# CPU time per session (user + system, the pre-auth child's included:
# wait4 counts the children a process reaped), which the machine's other
# load does not change as it changes the clock: popd run directly on a
# socketpair, N sessions each.
_su=""
[ "$(id -u)" -ne 0 ] || _su="setpriv --reuid=$TUSER --regid=$TUSER --init-groups --"
python3 - "$N" "$T/popd.conf" "$_su" $bins <<'PY'
import os, socket, ssl, sys
n, conf, su, bins = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(), sys.argv[4:]
T = os.path.dirname(conf)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
cpu = {}
# Alternating, session by session: drifting load weighs on all alike.
for _ in range(n):
    for b in bins:
        for kind in ("plain", "TLS"):
            ours, theirs = socket.socketpair()
            argv = su + ["%s/popd.%s" % (T, b), "-e", "-c", conf] + \
                (["--tls"] if kind == "TLS" else [])
            pid = os.fork()
            if pid == 0:
                os.dup2(theirs.fileno(), 0)
                os.dup2(theirs.fileno(), 1)
                fd = os.open(os.devnull, os.O_WRONLY)
                os.dup2(fd, 2)
                os.execvp(argv[0], argv)
            theirs.close()
            s = ctx.wrap_socket(ours, server_hostname="x") if kind == "TLS" else ours
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n")
            for _ in range(4):
                f.readline()
            f.close()
            s.close()
            _, _, ru = os.wait4(pid, 0)
            cpu.setdefault((b, kind), []).append(ru.ru_utime + ru.ru_stime)
for (b, kind), v in sorted(cpu.items()):
    v.sort()
    print("popd %-3s %-5s: %.2f ms CPU per session (user+sys; mean of %d, "
          "median %.2f)" % (b, kind, sum(v) * 1000 / n, n, v[n // 2] * 1000))
PY
