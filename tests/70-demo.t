#!/bin/sh
# make demo, as a new user runs it: demo/run end to end (Dovecot, imapfetch,
# popd under systemd-socket-activate, mpop), exit 0 and its PASS line, and
# then nothing of it left: no process whose command line carries the name
# of its directory (popd, the listeners and Dovecot's processes all do), and
# no directory.  The same when it is stopped by SIGINT while it keeps the
# servers up (DEMO_KEEP=1), and on a terminal (script(1)), where it waits
# for Enter.  As root, once more as an unprivileged user, from a copy of
# the tree that user owns.
. tests/lib.sh
PATH=$PATH:/usr/sbin:/sbin
need dovecot doveadm mpop curl openssl systemd-socket-activate pgrep
[ -x "$TOP/imapfetch/imapfetch" ] || { echo "1..0 # SKIP imapfetch/imapfetch not built"; exit 0; }
DEMO="$TOP/demo/run"

# after NAME WANT_RC: the checks on a finished run whose output is in
# $T/NAME.out, its exit status in $rc and its TMPDIR $T/NAME.
after() {
	_o="$T/$1.out"
	tr -d '\r' < "$_o" | sed 's/\x1b\[[0-9;]*m//g' > "$_o.txt"
	is "$1: exit $2" "$rc" "$2" || diag "$(tail -n 25 "$_o.txt")"
	check "$1: PASS line" grep -q '^PASS: [1-9][0-9]* of [1-9][0-9]* messages' "$_o.txt"
	check "$1: no FAIL line" test -z "$(grep '^FAIL' "$_o.txt")"
	_mark=$(sed -n 's|^==> Setting up in .*/\(popd-demo\.[A-Za-z0-9]*\)$|\1|p' "$_o.txt")
	if [ -z "$_mark" ]; then
		nok "$1: the run names its directory"
	else
		_left=$(pgrep -f "$_mark")
		is "$1: no process of it left ($_mark)" "$_left" ""
		if [ -n "$_left" ]; then
			diag "$(ps -o pid,user,args -p "$(echo $_left | tr ' ' ,)")"
			kill -9 $_left 2>/dev/null
		fi
	fi
	is "$1: its directory is gone" "$(ls -A "$T/$1" 2>&1)" ""
}

# Plain: no terminal, as in CI.
mkdir "$T/plain"
TMPDIR="$T/plain" sh "$DEMO" </dev/null >"$T/plain.out" 2>&1; rc=$?
after plain 0
check "plain: imapfetch's summary line" \
    grep -q '^imapfetch: demo/INBOX: [1-9][0-9]* new' "$T/plain.out.txt"
check "plain: did not wait for Enter" test -z "$(grep 'Press Enter' "$T/plain.out.txt")"
check "plain: prints a command to try" \
    grep -q "curl -s --cacert .*pop3s://demo:demo-password@127.0.0.1:" "$T/plain.out.txt"

# SIGINT (Ctrl-C) while DEMO_KEEP=1 keeps the servers up.  A background job
# of sh starts with SIGINT ignored, which it could not trap: python3 gives
# it back its default disposition before it runs the demo.
mkdir "$T/int"
TMPDIR="$T/int" DEMO_KEEP=1 python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' sh "$DEMO" </dev/null >"$T/int.out" 2>&1 &
pid=$!
i=0
until grep -qs 'Ctrl-C stops the demo' "$T/int.out" || [ $i -ge 600 ]; do
	kill -0 $pid 2>/dev/null || break
	sleep 0.1; i=$((i + 1))
done
check "int: up and waiting for Ctrl-C" grep -q 'Ctrl-C stops the demo' "$T/int.out"
mark=$(sed -n 's|^==> Setting up in .*/\(popd-demo\.[A-Za-z0-9]*\)$|\1|p' "$T/int.out")
check "int: its listeners are up meanwhile" \
    test -n "$mark" -a -n "$(pgrep -f "systemd-socket-activate.*$mark")"
kill -INT $pid 2>/dev/null
wait $pid; rc=$?
after int 130

# On a terminal: progress lines, and it waits for the Enter that comes.
if command -v script >/dev/null; then
	mkdir "$T/tty"
	printf '\n' | TMPDIR="$T/tty" timeout 120 script -qec "sh '$DEMO'" /dev/null \
	    >"$T/tty.out" 2>&1; rc=$?
	after tty 0
	check "tty: waited for Enter" grep -q 'Press Enter to stop the demo' "$T/tty.out.txt"
else
	skip "tty: script(1) is not installed"
fi

# As an unprivileged user, from a tree that user owns (mode 0700 here, say,
# or under /root, the build tree is out of its reach).
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$T/tree/popd" "$T/tree/imapfetch" "$T/user"
	cp -R "$TOP/demo" "$T/tree/"
	cp "$TOP/popd/popd" "$T/tree/popd/"
	cp "$TOP/imapfetch/imapfetch" "$T/tree/imapfetch/"
	chown -R "$TUSER:" "$T/tree" "$T/user"
	su -s /bin/sh "$TUSER" -c "cd '$T/tree' && TMPDIR='$T/user' sh demo/run </dev/null" \
	    >"$T/user.out" 2>&1; rc=$?
	after user 0
	check "user: ran everything as $TUSER" grep -q "everything runs as $TUSER" "$T/user.out.txt"
else
	skip "user: not root, so the first run was the unprivileged one"
fi
done_testing
