#!/bin/sh
# End-to-end: the two shipped supervisor samples, run as shipped except for
# what a test must change, by sed on a copy (checked: the copy differs from
# the sample in exactly those lines, so a changed sample fails here rather
# than being run half-edited):
#  - units/popd.xinetd under xinetd -dontfork: the port (the service name
#    pop3 means 110, so "type = UNLISTED" and "port = N" are added), "bind =
#    127.0.0.1" added, "user = popd" -> the test user, "server" -> the built
#    popd, "server_args" -> our config.  Everything else (socket_type, wait,
#    instances, per_source, disable) is the sample's.
#  - units/s6-popd/run run directly with sh (s6-svscan is not needed to run
#    a run script): "s6-envuidgid popd" -> the test user, "-U 0 110" -> "-U
#    127.0.0.1 PORT", the popd path and /etc/popd.conf -> ours.  Its output
#    (exec 2>&1: tcpserver -v and popd -e) is what s6-log would get.
# Each runs one poplib session (USER, PASS, STAT, RETR of every fixture
# byte-exact against the file's wire form, the server process's user, QUIT).
# Both need root (xinetd and tcpserver -U switch users); xinetd and
# s6-envuidgid come from the Debian packages xinetd and s6 (.ci/deps).
. tests/lib.sh
need python3

mkconf "$T/popd.conf" </dev/null

# session PORT PPID: the poplib session; PPID is the supervisor, whose
# popd child must run as the test user.
cat > "$T/session.py" <<'EOF'
import os, poplib, subprocess, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tests"))
import mkfixtures
port, ppid, user, md = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
msgs = mkfixtures.load(md + ".json")
poplib._MAXLINE = 1 << 20
def ok(c, name, *d):
    print(("ok - " if c else "not ok - ") + name)
    if not c:
        for x in d: print("# " + repr(x)[:400])
p = poplib.POP3("127.0.0.1", port, timeout=20)
ok(p.getwelcome().startswith(b"+OK"), "greeting", p.getwelcome())
ok(p.user("alice").startswith(b"+OK"), "USER alice")
ok(p.pass_("secret").startswith(b"+OK"), "PASS secret")
want = (len(msgs), sum(m["size"] for m in msgs))
ok(p.stat() == want, "STAT %d %d" % want, p.stat())
for m in msgs:
    with open(os.path.join(md, m["path"]), "rb") as fh:
        w = mkfixtures.wire(fh.read())
    resp, lines, octets = p.retr(m["n"])
    got = b"".join(l + b"\r\n" for l in lines)
    ok(resp.startswith(b"+OK") and got == w and octets == m["size"],
       "RETR %d (%s): bytes equal the file's wire form" % (m["n"], m["tag"]),
       resp, len(got), len(w), octets)
ps = subprocess.run(["ps", "-o", "user=,comm=", "--ppid", ppid],
                    capture_output=True, text=True).stdout.split()
ok(ps == [user, "popd"], "the supervisor's child is popd, running as " + user, ps)
ok(p.quit().startswith(b"+OK"), "QUIT")
EOF

# expect_edit SAMPLE COPY N: the copy differs from the sample in N lines.
expect_edit() {
	_d=$(diff "$1" "$2" | grep -c '^[<>]')
	is "$(basename "$2"): $3 lines changed from the sample" "$_d" "$3"
	[ "$_d" = "$3" ] || diff "$1" "$2" | while IFS= read -r l; do diag "$l"; done
}

stop_pid() { [ -z "${1:-}" ] || { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }; true; }

# ---- xinetd ------------------------------------------------------------
xpid=""
at_exit 'stop_pid "$xpid"'
if [ "$(id -u)" -ne 0 ]; then
	skip "xinetd: needs root (xinetd switches to user = $TUSER)"
elif ! command -v xinetd >/dev/null; then
	skip "xinetd: not installed (Debian package xinetd: .ci/deps)"
else
	port=$(free_port)
	# pop3 (110) -> UNLISTED on $port, bound to loopback; the user, popd
	# and its config are ours.  The tabs keep the sample's layout.
	sed -e "/^{\$/a\\
	type		= UNLISTED\\
	port		= $port\\
	bind		= 127.0.0.1" \
	    -e "s|^\(	user		= \)popd\$|\1$TUSER|" \
	    -e "s|^\(	server		= \)/usr/local/sbin/popd\$|\1$POPD|" \
	    -e "s|^\(	server_args	= -c \)/etc/popd.conf\$|\1$T/popd.conf|" \
	    units/popd.xinetd > "$T/popd.xinetd"
	# 3 added, 3 replaced (each a < and a >): 9 diff lines.
	expect_edit units/popd.xinetd "$T/popd.xinetd" 9
	fixtures "$T/alice" --no-big
	xinetd -dontfork -f "$T/popd.xinetd" -pidfile "$T/xinetd.pid" \
	    -filelog "$T/xinetd.log" </dev/null >>"$T/xinetd.log" 2>&1 &
	xpid=$!
	if wait_port "$port"; then
		ok "xinetd: listening on 127.0.0.1:$port"
		TAP_PREFIX="xinetd: "
		tap_import python3 "$T/session.py" "$port" "$xpid" "$TUSER" "$T/alice"
		TAP_PREFIX=
		# popd without -e logs to syslog (mail facility) only.  Readable
		# here only through a systemd journal.
		if [ -S /run/systemd/journal/socket ] && command -v journalctl >/dev/null &&
		    [ "$(ps -p 1 -o comm=)" = systemd ]; then
			_i=0
			until journalctl -q -o cat -t popd --since "-60s" 2>/dev/null |
			    grep -q "^session user=alice addr=127.0.0.1 tls=no auth=ok .* end=quit\$" ||
			    [ $_i -ge 40 ]; do sleep 0.1; _i=$((_i+1)); done
			check "xinetd: the session line reached the journal" \
			    sh -c 'journalctl -q -o cat -t popd --since "-60s" |
			    grep -q "^session user=alice addr=127.0.0.1 tls=no auth=ok .* end=quit\$"'
		else
			skip "xinetd: popd logs to syslog only and no systemd journal runs here to read it from"
		fi
	else
		nok "xinetd: listening on 127.0.0.1:$port"
	fi
	check "xinetd: still running after the session" kill -0 "$xpid"
	is "xinetd: -pidfile names it" "$(cat "$T/xinetd.pid" 2>/dev/null)" "$xpid"
	stop_pid "$xpid"; xpid=""
	if [ "$_fail" -ne 0 ]; then
		diag "xinetd log:"; tail -n 20 "$T/xinetd.log" | while IFS= read -r l; do diag "$l"; done
	fi
fi

# ---- s6 run script (tcpserver) -----------------------------------------
spid=""
at_exit 'stop_pid "$spid"'
if [ "$(id -u)" -ne 0 ]; then
	skip "s6: needs root (tcpserver -U switches to the test user)"
elif ! command -v s6-envuidgid >/dev/null; then
	skip "s6: s6-envuidgid not installed (Debian package s6: .ci/deps)"
elif ! command -v tcpserver >/dev/null; then
	skip "s6: tcpserver not installed (Debian package ucspi-tcp: .ci/deps)"
else
	port=$(free_port)
	sed -e "s|s6-envuidgid popd |s6-envuidgid $TUSER |" \
	    -e "s| -U 0 110 | -U 127.0.0.1 $port |" \
	    -e "s|^\(    \)/usr/local/sbin/popd -e -c /etc/popd.conf\$|\1$POPD -e -c $T/popd.conf|" \
	    units/s6-popd/run > "$T/run"
	expect_edit units/s6-popd/run "$T/run" 4
	fixtures "$T/alice" --no-big
	sh "$T/run" </dev/null >"$T/s6.log" 2>&1 &
	spid=$!		# the run script execs: this is tcpserver
	if wait_port "$port"; then
		ok "s6: listening on 127.0.0.1:$port"
		TAP_PREFIX="s6: "
		tap_import python3 "$T/session.py" "$port" "$spid" "$TUSER" "$T/alice"
		TAP_PREFIX=
		# popd -e writes the line when the session ends: wait for it.
		want="session user=alice addr=127.0.0.1 tls=no auth=ok retr=$(python3 -c \
		    'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/alice.json") dele=0 "
		_i=0
		until grep -q "$want.* end=quit\$" "$T/s6.log" || [ $_i -ge 50 ]; do
			sleep 0.1; _i=$((_i+1))
		done
		check "s6: popd -e logged '${want}... end=quit' (no DNS name: -HRl0)" \
		    grep -q "$want.* end=quit\$" "$T/s6.log"
		check "s6: tcpserver -v logged the connection" \
		    grep -q "^tcpserver: ok [0-9]* 0:127.0.0.1:$port :127.0.0.1::[0-9]*\$" "$T/s6.log"
	else
		nok "s6: listening on 127.0.0.1:$port"
	fi
	stop_pid "$spid"; spid=""
	if [ "$_fail" -ne 0 ]; then
		diag "s6 run output:"; tail -n 20 "$T/s6.log" | while IFS= read -r l; do diag "$l"; done
	fi
fi
done_testing
