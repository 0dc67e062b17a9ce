#!/bin/sh
# The deployment under a real systemd: a Debian 12 container booted with
# systemd-nspawn (tests/lib-nspawn.sh), the project installed as a Debian
# package when debian/ builds one (else make install install-units), then
# only the README's deployment steps: /etc/popd.conf with a hashed
# password, TLS key and certificate readable by popd, the sockets enabled.
# Checks POP3 (110) and POP3S (995) from the host, imapfetch.service
# against a Dovecot on the host, the sandbox of a live session, aborted TLS
# handshakes leaving no failed unit, the exposure of every service, the
# journal (session lines, fail2ban's match), and the package's remove and
# purge.  Needs root; 20-30 s once the cached root exists (the first
# debootstrap: 40 s more).  One such test at a time on a host (a lock).
. tests/lib.sh
. tests/lib-nspawn.sh
. tests/lib-dovecot.sh

_t0=$(date +%s)
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP not root: booting a container needs root"; exit 0; }
for c in python3 dovecot openssl; do
	command -v $c >/dev/null || { echo "1..0 # SKIP $c not installed"; exit 0; }
done
nspawn_usable || { echo "1..0 # SKIP $NSPAWN_WHY"; exit 0; }
nspawn_base 2>"$T/base.err" ||
    { echo "1..0 # SKIP no Debian root in $NSPAWN_CACHE: $(tail -n 1 "$T/base.err")"; exit 0; }

R=$T/root
if ! nspawn_root "$R" 2>"$T/root.err"; then
	echo "1..0 # SKIP no copy of $NSPAWN_BASE: $(tail -n 1 "$T/root.err")"; exit 0
fi
# Booting is the machine's business (cgroups, privileges): no boot, no test.
if ! nspawn_boot "$R" 2>"$T/boot.err"; then
	echo "1..0 # SKIP systemd-nspawn does not boot $NSPAWN_BASE here: $(tail -n 1 "$T/boot.err") (a stale cache? remove $NSPAWN_CACHE)"
	diag "$(tail -n 20 "$T/nspawn.log")"
	exit 0
fi
# The container shares the host's network: its sockets are the host's.
P110=110 P995=995
port_free 110 || P110=$(free_port)
port_free 995 || P995=$(free_port)
ok "the container boots (systemd $(nsx systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'), $(( $(date +%s) - _t0 )) s so far)"
failed0=$(nsx systemctl list-units --failed --all --no-legend --plain)
is "no failed unit after boot" "$failed0" ""

if ! nspawn_install "$R"; then
	nok "the project installs"; diag "$(tail -n 20 "$T/build.log")"
	done_testing; exit
fi
ok "installed by: $NSPAWN_INSTALLED_BY"
# debian/ is there and its build dependencies too: the package must build
# and install, not fall back to make install unseen.
case $NSPAWN_DEB in
"") diag "no debian/ (or NSPAWN_NO_DEB set): make install install-units" ;;
ok) ok "the Debian package builds and installs in the container"
   if command -v lintian >/dev/null; then
	out=$(lintian --fail-on error "$T"/debs/popd_*.deb 2>&1)
	check "lintian: no error in the package" test $? -eq 0
	[ -z "$out" ] || diag "$out"
   else
	skip "lintian is not installed"
   fi ;;
"no build dependencies"*) skip "the Debian package: $NSPAWN_DEB" ;;
*) nok "the Debian package builds and installs in the container"
   diag "$NSPAWN_DEB; make install install-units was used instead" "$(tail -n 20 "$T/deb.log")" ;;
esac
check "popd and imapfetch in /usr" nsx test -x /usr/sbin/popd -a -x /usr/bin/imapfetch
for u in popd.socket popd@.service pop3s.socket pop3s@.service imapfetch.service \
    imapfetch.timer imapfetch@.service imapfetch@.timer; do
	check "unit $u is known to systemd" \
	    sh -c "nsenter -t $NSPAWN_INIT -a -- systemctl cat $u >/dev/null 2>&1"
done
# The package (or the units' sysusers.d and tmpfiles.d) made the user and
# the state directory: the README asks nothing more.
check "user popd exists, home /var/lib/popd" \
    sh -c "nsenter -t $NSPAWN_INIT -a -- getent passwd popd | grep -q ':/var/lib/popd:'"
is "/var/lib/popd is popd:popd 0750" "$(nsx stat -c '%U:%G %a' /var/lib/popd)" "popd:popd 750"

# Dovecot on the host, for imapfetch; its CA (and its 127.0.0.1
# certificate) also serve popd's TLS.
imap_user alice pw1
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
python3 tests/mkcorpus.py --edge --seed 11 "$T/corpus" 25 >/dev/null
imap_put alice "$T"/corpus/*
python3 tests/mkcorpus.py --prefix b --seed 12 "$T/bob" 5 >/dev/null

# The README's steps ("Configure", "TLS"), as root in the container.
if [ "$NSPAWN_DEB" = ok ]; then
	is "the package's /etc/popd.conf: root:popd 0640" \
	    "$(nsx stat -c '%U:%G %a' /etc/popd.conf 2>&1)" "root:popd 640"
fi
ha=$(printf 'secret\n' | nsx popd --hash-password)
hb=$(printf 'bobpw\n' | nsx popd --hash-password)
check "popd --hash-password in the container" test -n "$ha" -a -n "$hb"
nsx install -d -m 0750 -g popd /etc/popd
nsx install -m 0600 -o popd -g popd /dev/null /etc/popd/alice.imap
printf 'pw1\n' > "$R/etc/popd/alice.imap"
cp "$CA_DIR/server.crt" "$R/etc/popd/server.crt"
cp "$CA_DIR/server.key" "$R/etc/popd/server.key"
cp "$CA_DIR/ca.crt" "$R/etc/popd/imap-ca.pem"
nsx install -m 0644 /etc/popd/server.crt /etc/popd/fullchain.pem
nsx install -m 0640 -g popd /etc/popd/server.key /etc/popd/key.pem
rm -f "$R/etc/popd/server.crt" "$R/etc/popd/server.key"
# Written in place (sudoedit keeps owner and mode): root:popd 0640 from the
# package; from make install, as the README's "Keep the file owned by root".
cat > "$R/etc/popd.conf" <<EOF
tls-cert = /etc/popd/fullchain.pem
tls-key  = /etc/popd/key.pem
plaintext-auth = tls-or-loopback

[alice]
password = $ha
maildrop = /var/lib/popd/alice
imap-host = 127.0.0.1
imap-port = $IMAPS_PORT
imap-user = alice
imap-password-file = /etc/popd/alice.imap
imap-ca-file = /etc/popd/imap-ca.pem

[bob]
password = $hb
maildrop = /var/lib/popd/bob
EOF
if [ "$NSPAWN_DEB" != ok ]; then
	nsx chown root:popd /etc/popd.conf
	nsx chmod 0640 /etc/popd.conf
fi
out=$(nsx popd -t 2>&1)
check "popd -t accepts /etc/popd.conf (user popd reads keys, uses maildrops)" test $? -eq 0
diag "$out"
out=$(nsx popd -n 2>&1)
check "popd -n prints the effective configuration" \
    sh -c 'printf "%s" "$1" | grep -q "^\[alice\]"' - "$out"
if printf '%s' "$out" | grep -qF -e "$ha" -e "$hb"; then
	nok "...without the password hashes"
else
	ok "...without the password hashes"
fi
# bob's maildrop: mail put there by hand (as a local delivery would).
mkdir -p "$R/var/lib/popd/bob/tmp" "$R/var/lib/popd/bob/new" "$R/var/lib/popd/bob/cur"
i=0
for f in "$T"/bob/*; do
	i=$((i+1)); cp "$f" "$R/var/lib/popd/bob/new/$((1700000000 + i)).M${i}P1.test"
done
nsx chown -R popd:popd /var/lib/popd/bob
nsx chmod 0700 /var/lib/popd/bob

if [ "$P110" != 110 ] || [ "$P995" != 995 ]; then
	diag "110 or 995 is taken on this host: drop-ins put the sockets on $P110 and $P995"
	for s in popd:$P110 pop3s:$P995; do
		mkdir -p "$R/etc/systemd/system/${s%:*}.socket.d"
		printf '[Socket]\nListenStream=\nListenStream=%s\n' "${s#*:}" \
		    > "$R/etc/systemd/system/${s%:*}.socket.d/port.conf"
	done
	nsx systemctl daemon-reload
fi
out=$(nsx systemctl enable --now popd.socket pop3s.socket 2>&1)
check "systemctl enable --now popd.socket pop3s.socket" test $? -eq 0
diag "$out"
nspawn_wait_listen "$P110" && nspawn_wait_listen "$P995"
is "popd.socket listening" "$(nsx systemctl is-active popd.socket)" active
is "pop3s.socket listening" "$(nsx systemctl is-active pop3s.socket)" active

# popcheck.py PORT MODE USER PASS DIR: a POP3 session from the host (MODE
# plain, stls or tls, verifying the test CA): greeting, USER/PASS, STAT,
# RETR of each message byte-exact against the files of DIR, QUIT.
cat > "$T/popcheck.py" <<'PY'
import hashlib, os, poplib, ssl, sys, traceback
sys.path.insert(0, os.path.join(os.getcwd(), "tests"))
import mkfixtures
poplib._MAXLINE = 1 << 20
port, mode, ca, user, pw, d = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
pre = "%s on %d as %s: " % (mode, port, user)
def ok(c, name, *diag):
    print(("ok - " if c else "not ok - ") + pre + name)
    if not c:
        for x in diag:
            print("# " + str(x).replace("\n", "\n# "))
ctx = ssl.create_default_context(cafile=ca)
try:
    if mode == "tls":
        p = poplib.POP3_SSL("127.0.0.1", port, timeout=30, context=ctx)
    else:
        p = poplib.POP3("127.0.0.1", port, timeout=30)
    w = p.getwelcome()
    ok(w.startswith(b"+OK"), "greeting", w)
    if mode == "stls":
        ok(b"STLS" in [k.encode() for k in p.capa()], "CAPA offers STLS")
        p.stls(context=ctx)
    if mode != "plain":
        ok(p.sock.version() in ("TLSv1.2", "TLSv1.3"), "TLS, certificate verified (%s)" % p.sock.version())
    p.user(user)
    r = p.pass_(pw)
    ok(r.startswith(b"+OK"), "USER/PASS", r)
    want = [mkfixtures.wire(open(os.path.join(d, f), "rb").read()) for f in sorted(os.listdir(d))]
    n, size = p.stat()
    ok(n == len(want), "STAT: %d messages" % n, "want %d" % len(want))
    ok(size == sum(len(x) for x in want), "STAT: %d octets" % size, "want %d" % sum(len(x) for x in want))
    got = []
    for i in range(1, n + 1):
        resp, lines, octets = p.retr(i)
        got.append(b"".join(l + b"\r\n" for l in lines))
    h = lambda l: sorted(hashlib.sha256(x).hexdigest() for x in l)
    ok(h(got) == h(want), "RETR of every message: byte-exact")
    r = p.quit()
    ok(r.startswith(b"+OK"), "QUIT", r)
except Exception:
    ok(False, "session ran to the end", traceback.format_exc())
PY
pop() { tap_import python3 "$T/popcheck.py" "$1" "$2" "$CA_DIR/ca.crt" "$3" "$4" "$5"; }
pop "$P110" plain bob bobpw "$T/bob"
pop "$P110" stls bob bobpw "$T/bob"
pop "$P995" tls bob bobpw "$T/bob"

# imapfetch.service: one run over every account, into alice's maildrop
# (made at first use), then the mail comes out over POP3.
out=$(timeout 180 nsenter -t "$NSPAWN_INIT" -a -- systemctl start imapfetch.service 2>&1)
check "systemctl start imapfetch.service" test $? -eq 0
diag "$out"
is "imapfetch.service result" \
    "$(nsx systemctl show -P Result imapfetch.service) $(nsx systemctl show -P ExecMainStatus imapfetch.service)" \
    "success 0"
nsx journalctl -q -o cat -u imapfetch.service > "$T/imapfetch.journal"
check "journal: imapfetch's summary line" grep -q 'alice/INBOX: 25 new' "$T/imapfetch.journal"
[ "$_fail" -eq 0 ] || diag "$(tail -n 15 "$T/imapfetch.journal")"
is "alice's maildrop made by imapfetch: popd:popd 0700" \
    "$(nsx stat -c '%U:%G %a' /var/lib/popd/alice 2>&1)" "popd:popd 700"
is "Dovecot: all 25 messages \\Seen" "$(imaptool unseen alice pw1)" 0
pop "$P995" tls alice secret "$T/corpus"
out=$(nsx systemctl enable --now imapfetch.timer 2>&1)
check "systemctl enable --now imapfetch.timer" test $? -eq 0
is "imapfetch.timer active" "$(nsx systemctl is-active imapfetch.timer)" active
check "systemctl list-timers 'imapfetch*' lists it" \
    sh -c "nsenter -t $NSPAWN_INIT -a -- systemctl list-timers --no-legend 'imapfetch*' | grep -q 'imapfetch.timer'"

# The sandbox is applied, not only declared: a live session's process.
python3 - "$P110" "$T/held" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(100)
open(sys.argv[2], "w").close()
time.sleep(3)
s.sendall(b"QUIT\r\n")
s.recv(100)
PY
held=$!
i=0; while [ ! -f "$T/held" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
unit=$(nsx systemctl list-units --no-legend --plain 'popd@*' | awk '{print $1; exit}')
pid=$(nsx systemctl show -P MainPID "$unit")
st=$(nsx cat "/proc/$pid/status" 2>/dev/null)
diag "live session: $unit, pid $pid"
is "session runs as popd" "$(echo "$st" | awk '/^Uid:/ {print $2}')" "$(nsx id -u popd)"
is "session: seccomp filter (Seccomp: 2)" "$(echo "$st" | awk '/^Seccomp:/ {print $2}')" 2
is "session: NoNewPrivs" "$(echo "$st" | awk '/^NoNewPrivs:/ {print $2}')" 1
# popd's own layer inside the unit's: the pre-authentication child has
# systemd's filter and popd's (popd/sandbox.c), and Landlock went in.
child=$(nsx cat "/proc/$pid/task/$pid/children" 2>/dev/null | awk '{print $1}')
nf=$(echo "$st" | awk '/^Seccomp_filters:/ {print $2}')
is "session: the pre-auth child has popd's seccomp filter over the unit's" \
    "$(nsx cat "/proc/${child:-0}/status" 2>/dev/null | awk '/^Seccomp_filters:/ {print $2}')" $((nf + 1))
is "session: no capabilities (CapBnd)" "$(echo "$st" | awk '/^CapBnd:/ {print $2}')" 0000000000000000
check "session: own mount namespace" test "$(nsx readlink /proc/$pid/ns/mnt)" != "$(nsx readlink /proc/1/ns/mnt)"
check "session: own network namespace (PrivateNetwork)" test "$(nsx readlink /proc/$pid/ns/net)" != "$(nsx readlink /proc/1/ns/net)"
check "session: own user namespace (PrivateUsers)" test "$(nsx readlink /proc/$pid/ns/user)" != "$(nsx readlink /proc/1/ns/user)"
# mountinfo: field 5 is the mount point, 6 its options.
mi=$(nsx cat "/proc/$pid/mountinfo")
is "session: / read-only, /var/lib/popd writable (ProtectSystem=strict, StateDirectory=)" \
    "$(echo "$mi" | awk '$5 == "/" || $5 == "/var/lib/popd" { split($6, o, ","); printf "%s %s;", $5, o[1] }')" \
    "/ ro;/var/lib/popd rw;"
wait "$held"

# 20 aborted TLS connections to 995 (close at once, garbage, half a
# ClientHello, a whole one then close, a whole one then RST), one after the
# other; then 20 at once (more than MaxConnectionsPerSource).
acc0=$(nsx systemctl show -P NAccepted pop3s.socket)
cat > "$T/abort.py" <<'PY'
import socket, ssl, struct, sys, time
port, n, gap = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def hello():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
    i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
    s = c.wrap_bio(i, o, server_hostname="localhost")
    try:
        s.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return o.read()
socks = []
for k in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    kind = k % 5
    if kind == 1:
        s.sendall(b"USER alice\r\n" * 20)
    elif kind == 2:
        s.sendall(hello()[:40])
    elif kind in (3, 4):
        s.sendall(hello())
        s.settimeout(5)
        try:
            s.recv(1)
        except OSError:
            pass
    if kind == 4:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if gap:
        s.close()
        time.sleep(gap)
    else:
        socks.append(s)
for s in socks:
    s.close()
PY
instances() { nsx systemctl list-units --all --no-legend --plain 'pop3s@*' 'popd@*' | wc -l; }
settle() { i=0; while [ "$(instances)" -ne 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; }
python3 "$T/abort.py" "$P995" 20 0.1
settle
is "20 aborted handshakes: 20 accepted" "$(( $(nsx systemctl show -P NAccepted pop3s.socket) - acc0 ))" 20
is "...no popd@/pop3s@ instance lingers" "$(instances)" 0
is "...no failed unit" "$(nsx systemctl list-units --failed --all --no-legend --plain)" ""
is "...the journal names each failed handshake" \
    "$(nsx journalctl -q -o cat -u 'pop3s@*' | grep -c 'tls handshake failed')" 20
# CollectMode=inactive-or-failed collects a failed instance at once: only
# the journal tells that it failed.
nsx journalctl -q -o cat -u 'pop3s@*' -u 'popd@*' > "$T/sessions.journal"
is "...no session unit failed (journal)" \
    "$(grep -c -e 'Failed with result' -e 'status=[0-9]*/' "$T/sessions.journal")" 0
python3 "$T/abort.py" "$P995" 20 0
settle
is "20 at once: no instance lingers" "$(instances)" 0
is "...no session unit failed (journal)" \
    "$(nsx journalctl -q -o cat -u 'pop3s@*' -u 'popd@*' | grep -c 'Failed with result')" 0
is "...no failed unit" "$(nsx systemctl list-units --failed --all --no-legend --plain)" ""
is "...pop3s.socket still listening" "$(nsx systemctl is-active pop3s.socket)" active
pop "$P995" tls bob bobpw "$T/bob"

# Exposure of every service, as loaded by this systemd.
for u in popd@test.service pop3s@test.service imapfetch.service imapfetch@alice.service; do
	score=$(nsx systemd-analyze security --no-pager "$u" 2>&1 |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	check "systemd-analyze security $u: ${score:-none} <= 2.0" \
	    awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 2.0) }'
done

# The journal: popd's session lines (syslog from inside the sandbox).
nsx journalctl -q -o cat -u 'popd@*' > "$T/popd.journal"
check "journalctl -u 'popd@*': a session line" \
    grep -q "^session user=bob addr=127.0.0.1 tls=no auth=ok retr=5 " "$T/popd.journal"
check "journalctl -u 'popd@*': the STLS session line" \
    grep -q '^session user=bob addr=[^ ]* tls=yes auth=ok retr=5 ' "$T/popd.journal"
nsx journalctl -q -o cat -u 'pop3s@*' > "$T/pop3s.journal"
check "journalctl -u 'pop3s@*': alice's session line" \
    grep -q '^session user=alice addr=[^ ]* tls=yes auth=ok retr=25 ' "$T/pop3s.journal"
diag "$(grep -h '^session ' "$T/popd.journal" "$T/pop3s.journal" | head -n 3)"
is "journal: popd's sandbox went in whole (no 'sandbox:' line)" \
    "$(cat "$T/popd.journal" "$T/pop3s.journal" | grep -c 'sandbox:')" 0
# A failed login: the line fail2ban reads, with the jail's journalmatch
# (units/fail2ban/popd.conf), as fail2ban's systemd backend builds it
# ("HOST popd[PID]: MESSAGE"), matched by the shipped failregex.
python3 - "$P110" <<'PY'
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)
p.user("bob")
try:
    p.pass_("wrong")
except poplib.error_proto:
    pass
p.quit()
PY
nsx journalctl -q -o json SYSLOG_IDENTIFIER=popd > "$T/popd.json"
# The socket listens on [::]:110: an IPv4 client is logged as IPv4.
is "fail2ban: the journalmatch finds the failed login, the failregex takes its address" \
    "$(python3 - "$T/popd.json" units/fail2ban/popd.conf <<'PY'
import json, re, sys
rx = [l.split("=", 1)[1].strip() for l in open(sys.argv[2]) if l.startswith("failregex")][0]
rx = re.compile(rx.replace("<HOST>", r"(?P<host>\S+)"))
for l in open(sys.argv[1]):
    e = json.loads(l)
    m = rx.search("%s %s[%s]: %s" % (e["_HOSTNAME"], e["SYSLOG_IDENTIFIER"], e["_PID"], e["MESSAGE"]))
    if m:
        print(m.group("host"))
PY
)" "127.0.0.1"
is "no failed unit at the end" "$(nsx systemctl list-units --failed --all --no-legend --plain)" ""

# The README's "Uninstall": remove stops and removes the units, purge also
# /etc/popd.conf; the user popd and the maildrops stay.
if [ "$NSPAWN_DEB" = ok ]; then
	out=$(nsx env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q popd 2>&1)
	check "apt-get remove popd" test $? -eq 0
	[ "$_fail" -eq 0 ] || diag "$out"
	is "...popd.socket, pop3s.socket, imapfetch.timer stopped" \
	    "$(nsx systemctl is-active popd.socket pop3s.socket imapfetch.timer | tr '\n' ' ')" \
	    "inactive inactive inactive "
	if port_free "$P110" && port_free "$P995"; then
		ok "...nothing listens on $P110 and $P995"
	else
		nok "...nothing listens on $P110 and $P995"
	fi
	is "...no failed unit" "$(nsx systemctl list-units --failed --all --no-legend --plain)" ""
	check ".../etc/popd.conf kept" nsx test -f /etc/popd.conf
	out=$(nsx env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q popd 2>&1)
	check "apt-get purge popd" test $? -eq 0
	check ".../etc/popd.conf removed" nsx test ! -e /etc/popd.conf
	check "...the user popd and the maildrops kept" \
	    nsx sh -c 'getent passwd popd >/dev/null && test -d /var/lib/popd/alice/cur'
fi

if [ "$_fail" -ne 0 ]; then
	diag "journal (last 40 lines):"
	diag "$(nsx journalctl -q --no-pager -n 40)"
fi
nspawn_stop
check "the container stopped and its copy is gone" test ! -e "$R"
diag "installed by: $NSPAWN_INSTALLED_BY; $(( $(date +%s) - _t0 )) s"
done_testing
