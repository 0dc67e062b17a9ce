#!/bin/sh
# Password guessing against popd under tcpserver, 13 clients at once: one
# guess at a time, AUTH PLAIN and USER/PASS mixed with other user names,
# ten clients with ten guesses each in one write, and a user who gets it
# right at the third try.  Each failure is answered after
# auth-failure-delay (1 s here; a lower bound only: a loaded machine can
# make it longer, never shorter), the session is closed at the cap
# (POPD_AUTH_TRIES), and each failure is exactly one "auth failed user=X
# addr=Y" line in the log (popd -e: stderr, as under s6 or journald; the
# fail2ban filter reads that line: tests/07-fail2ban.t).
. tests/lib.sh
. tests/lib-hostile.sh
need tcpserver python3

mkmaildir "$T/alice"
mkconf "$T/popd.conf" </dev/null
sed -i 's/^auth-failure-delay = 0$/auth-failure-delay = 1/' "$T/popd.conf"
cap=$(popd_limit POPD_AUTH_TRIES)
check "the cap is in common/params.h ($cap)" test -n "$cap"
check "popd under tcpserver -c 64" hserve port sup "$T/popd.conf" 64
tap_import python3 tests/hostile.py brute --port "$port" --ppid "$sup" \
    --log "$T/popd.conf.log" --delay 1 --cap "$cap"
is "the sessions closed at the cap say why" \
    "$(grep -c 'end=too many auth failures' "$T/popd.conf.log")" 12
done_testing
