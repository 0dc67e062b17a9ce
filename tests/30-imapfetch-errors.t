#!/bin/sh
# imapfetch's failures have distinct exit codes and deliver nothing they
# should not: wrong password, server down, untrusted certificate, a second
# run while one holds the lock; after-fetch = none / delete; too large.
. tests/lib.sh
. tests/lib-dovecot.sh

imap_user alice pw1
imap_user carol pw3
imap_user dave pw4
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
python3 tests/mkcorpus.py --seed 11 "$T/corpus" 12
imap_put alice "$T"/corpus/*

# Wrong password: EX_NOPERM (77), nothing delivered, nothing flagged.
IMAP_PASSWORD=wrong fetchconf "$T/bad.conf" "$T/drop"
fetch -c "$T/bad.conf"
is "wrong password: exit 77" "$rc" 77
check "wrong password: says rejected" grep -q "rejected" "$T/err"
is "wrong password: nothing delivered" "$(ls "$T/drop/new" 2>/dev/null | wc -l)" 0

# Server down: EX_UNAVAILABLE (69), not the same as a bad password.
fetchconf "$T/down.conf" "$T/drop"
sed -i "s/^imap-port = .*/imap-port = $(free_port)/" "$T/down.conf"
fetch -c "$T/down.conf"
is "server down: exit 69" "$rc" 69
check "server down: says connect" grep -q "connect to 127.0.0.1" "$T/err"

# A server that accepts and then says nothing: imap-timeout bounds the
# TLS handshake (and every read), and that is a server failure (69).
mport=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
held = []
while True:
    held.append(s.accept()[0])
' "$mport" &
mute=$!
wait_port "$mport"
fetchconf "$T/mute.conf" "$T/drop" "imap-timeout = 2"
sed -i "s/^imap-port = .*/imap-port = $mport/" "$T/mute.conf"
t0=$(date +%s)
fetch -c "$T/mute.conf"
t1=$(date +%s)
kill "$mute"
is "mute server: exit 69" "$rc" 69
check "mute server: gave up after the timeout ($((t1 - t0)) s)" test $((t1 - t0)) -le 6
check "mute server: says timed out" grep -qi "timed out" "$T/err"

# Untrusted certificate: EX_PROTOCOL (76), nothing delivered or flagged.
fetchconf "$T/untrusted.conf" "$T/drop"
sed -i "s|^imap-ca-file = .*|imap-ca-file = $CA_DIR/other.crt|" "$T/untrusted.conf"
fetch -c "$T/untrusted.conf"
is "untrusted certificate: exit 76" "$rc" 76
check "untrusted certificate: says why" grep -qi "certificate\|verify" "$T/err"
is "untrusted certificate: nothing delivered" "$(ls "$T/drop/new" 2>/dev/null | wc -l)" 0
is "untrusted certificate: nothing flagged" "$(imaptool unseen alice pw1)" 12

# A trusted certificate for another name: the host name is checked.
fetchconf "$T/name.conf" "$T/drop"
sed -i "s/^imap-host = .*/imap-host = localhost/" "$T/name.conf"
fetch -c "$T/name.conf"
is "certificate for another name: exit 76" "$rc" 76
check "certificate for another name: says so" grep -qi "name" "$T/err"
is "certificate for another name: nothing delivered" \
    "$(ls "$T/drop/new" 2>/dev/null | wc -l)" 0

# The system store does not know our test CA either.
sed -i "/^imap-ca-file/d" "$T/untrusted.conf"
fetch -c "$T/untrusted.conf"
is "test CA not in the system store: exit 76" "$rc" 76

# Two concurrent runs: the second says "already running", exits 75; the
# first is held inside the lock by a slow password command.
fetchconf "$T/slow.conf" "$T/drop"
sed -i "s|^imap-password-file = .*|imap-password-command = sleep 2; echo pw1|" "$T/slow.conf"
as_user "$IMAPFETCH" -c "$T/slow.conf" 2>"$T/err1" &
first=$!
i=0
while [ ! -e "$T/drop/.imapfetch/lock" ] && [ $i -lt 50 ]; do sleep 0.05; i=$((i+1)); done
sleep 0.3
fetchconf "$T/f.conf" "$T/drop"
fetch -c "$T/f.conf"
is "second concurrent run: exit 75" "$rc" 75
check "second concurrent run: already running" grep -q "already running" "$T/err"
wait $first
is "first run: exit 0" "$?" 0
is "first run delivered all, once" "$(drop_hashes "$T/drop")" "$(corpus_hashes "$T/corpus")"

# Several accounts: one failing does not stop the others; worst code wins.
cat "$T/f.conf" > "$T/multi.conf"
printf '\n[zed]\nmaildrop = %s\nimap-host = 127.0.0.1\nimap-port = %s\n' \
    "$T/zdrop" "$(free_port)" >> "$T/multi.conf"
printf 'imap-ca-file = %s\nimap-user = zed\nimap-password-file = %s\n' \
    "$CA_DIR/ca.crt" "$T/alice.pass" >> "$T/multi.conf"
python3 tests/mkcorpus.py --prefix x --seed 12 "$T/x" 2
imap_put alice "$T"/x/*
fetch -c "$T/multi.conf"
is "two accounts, one down: exit 69" "$rc" 69
check "the other account still fetched" grep -q "alice/INBOX: 2 new" "$T/err"
fetch -c "$T/multi.conf" alice
is "naming the good account: exit 0" "$rc" 0
fetch -c "$T/multi.conf" nosuch
is "unknown account: exit 64" "$rc" 64
fetch -x
is "bad option: exit 64" "$rc" 64
printf 'bogus-key = 1\n' > "$T/broken.conf"; chown "$TUSER:" "$T/broken.conf"
fetch -c "$T/broken.conf"
is "bad config: exit 78" "$rc" 78
check "bad config: names the key" grep -q "bogus-key" "$T/err"
if [ "$(id -u)" -eq 0 ]; then
	"$IMAPFETCH" -c "$T/f.conf" 2>/dev/null
	is "as root: refused, exit 64" "$?" 64
else
	skip "not root"
fi

# after-fetch = none: EXAMINE, the server is left untouched; the state
# still prevents a second delivery; new mail is fetched.
python3 tests/mkcorpus.py --prefix c --seed 13 "$T/c" 6
imap_put carol "$T"/c/*
IMAP_LOGIN=carol IMAP_PASSWORD=pw3 fetchconf "$T/none.conf" "$T/cdrop" \
    "after-fetch = none"
fetch -v -c "$T/none.conf"
is "after-fetch = none: exit 0" "$rc" 0
check "after-fetch = none: EXAMINE" grep -q "EXAMINE INBOX" "$T/err"
is "after-fetch = none: 6 delivered" "$(ls "$T/cdrop/new" | wc -l)" 6
is "after-fetch = none: server still unseen" "$(imaptool unseen carol pw3)" 6
fetch -c "$T/none.conf"
is "after-fetch = none: second run delivers nothing" "$(ls "$T/cdrop/new" | wc -l)" 6
python3 tests/mkcorpus.py --prefix d --seed 14 "$T/c2" 2
imap_put carol "$T"/c2/*
fetch -c "$T/none.conf"
is "after-fetch = none: new mail fetched" "$(ls "$T/cdrop/new" | wc -l)" 8

# after-fetch = delete: gone from the server once delivered.
python3 tests/mkcorpus.py --prefix e --seed 15 "$T/e" 5
imap_put dave "$T"/e/*
IMAP_LOGIN=dave IMAP_PASSWORD=pw4 fetchconf "$T/del.conf" "$T/ddrop" \
    "after-fetch = delete" "max-message-size = 100K"
python3 tests/mkcorpus.py --prefix big --big 1 --bigsize 300000 --seed 16 "$T/big" 1
imap_put dave "$T"/big/*
fetch -c "$T/del.conf"
is "after-fetch = delete: exit 0" "$rc" 0
is "after-fetch = delete: 5 delivered" "$(ls "$T/ddrop/new" | wc -l)" 5
is "after-fetch = delete: only the too large one left" "$(imaptool count dave pw4)" 1
check "max-message-size: logged" grep -q "above max-message-size" "$T/err"
is "max-message-size: left unseen" "$(imaptool unseen dave pw4)" 1

done_testing
