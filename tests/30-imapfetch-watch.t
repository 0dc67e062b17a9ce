#!/bin/sh
# imapfetch --watch: push mode against a real Dovecot.  What is there is
# fetched at once; a message appended later arrives through IDLE; after a
# Dovecot restart it reconnects and goes on; SIGTERM ends it with 0; every
# message exactly once.  Other mailboxes through NOTIFY (RFC 5465), named
# or, with a non-ASCII name, all personal ones.  A login refused for a
# connection limit is waited out.  Against a server without IDLE it
# polls; against Cyrus (no NOTIFY) the other mailbox comes by
# watch-interval.
. tests/lib.sh
. tests/lib-dovecot.sh
need python3 dovecot

imap_user alice pw1
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
python3 tests/mkcorpus.py --seed 61 "$T/c0" 3
imap_put alice "$T"/c0/*
# imap-timeout 5, not less: a reconnection that times out under a loaded
# machine doubles the backoff (1, 2, 4, 8 s ...), and the waits below
# allow for a few of those.
fetchconf "$T/f.conf" "$T/drop" "imap-timeout = 5" "watch-interval = 2"

# count_new: files delivered so far.  wait_for N SECONDS: until N are there.
count_new() { ls "$T/drop/new" 2>/dev/null | wc -l; }
wait_for() {
	_i=0
	while [ "$(count_new)" -lt "$1" ] && [ $_i -lt $(($2 * 20)) ]; do
		sleep 0.05; _i=$((_i+1))
	done
	[ "$(count_new)" -ge "$1" ]
}
fetch_bg --watch alice -c "$T/f.conf"
WPID=$BGPID
at_exit 'kill $WPID 2>/dev/null'
check "what is there is fetched at once" wait_for 3 10

python3 tests/mkcorpus.py --prefix a --seed 62 "$T/c1" 1
t0=$(date +%s%N)
imaptool append alice pw1 "$T"/c1/*
check "a message appended later arrives (IDLE)" wait_for 4 10
t1=$(date +%s%N)
diag "appended to delivered: $(( (t1 - t0) / 1000000 )) ms"

# A restart of the server: the connection drops; imapfetch comes back.
# (Dovecot's imap processes outlive its master: end ours, as a reboot
# or a crash would.)
imaps=$(pgrep -P "$(cat "$DOVECOT_DIR/run/master.pid")" -x imap)
dovecot_stop
[ -z "$imaps" ] || kill -KILL $imaps 2>/dev/null
sleep 1
if ! dovecot_start; then nok "dovecot restarts"; done_testing; exit; fi
python3 tests/mkcorpus.py --prefix b --seed 63 "$T/c2" 2
imaptool append alice pw1 "$T"/c2/*
check "after a server restart: reconnected, new mail arrives" wait_for 6 60
check "the reconnection is logged" grep -q "reconnecting in" "$T/bg-err"

kill -TERM "$WPID"
_i=0
while kill -0 "$WPID" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i+1)); done
wait "$WPID"
is "SIGTERM: exit 0" "$?" 0
is "every message exactly once" "$(drop_hashes "$T/drop")" \
    "$({ corpus_hashes "$T/c0"; corpus_hashes "$T/c1"; corpus_hashes "$T/c2"; } | sort)"
is "server: all \\Seen" "$(imaptool unseen alice pw1)" 0
is "tmp/ empty" "$(ls -A "$T/drop/tmp" | wc -l)" 0
as_user "$IMAPFETCH" --watch -c "$T/f.conf" 2>/dev/null
is "--watch without an account: usage (64)" "$?" 64

# Other mailboxes, watched through NOTIFY (RFC 5465) on the same
# connection: with watch-interval at an hour, only a notification brings
# their messages in time.  Names in US-ASCII are named in the NOTIFY;
# with a non-ASCII one (Dovecot 2.3 matches those in UTF-8, never
# told), all personal mailboxes are: a word about one not fetched brings
# nothing from it.
imaptool create alice pw1 "Work"
imaptool create alice pw1 "Übersicht"
imaptool create alice pw1 "Junk"
python3 tests/mkcorpus.py --prefix n --seed 65 "$T/c4" 6
set -- "$T"/c4/*
# nwait N SECONDS: until $T/ndrop holds N messages.
nwait() {
	_i=0
	while [ "$(ls "$T/ndrop/new" 2>/dev/null | wc -l)" -lt "$1" ] &&
	    [ $_i -lt $(($2 * 20)) ]; do
		sleep 0.05; _i=$((_i+1))
	done
	[ "$(ls "$T/ndrop/new" 2>/dev/null | wc -l)" -ge "$1" ]
}
# inidle: until the watcher is in its next IDLE (its trace says so).
inidle() {
	_k=$(grep -c '^imapfetch: S: + idling' "$T/bg-err")
	_i=0
	until [ "$(grep -c '^imapfetch: S: + idling' "$T/bg-err")" -gt "${1:-$_k}" ] ||
	    [ $_i -ge 100 ]; do sleep 0.05; _i=$((_i+1)); done
}
# watchn MAILBOXES: a watcher of alice's MAILBOXES into $T/ndrop.
watchn() {
	fetchconf "$T/n.conf" "$T/ndrop" "imap-timeout = 2" \
	    "watch-interval = 3600" "mailboxes = $1"
	: > "$T/bg-err"
	fetch_bg --watch -v alice -c "$T/n.conf"
	NPID=$BGPID
	inidle 0
}
watchn "INBOX, Work"
at_exit 'kill $NPID 2>/dev/null'
check "NOTIFY SET names the mailboxes" \
    grep -q 'C: [^ ]* NOTIFY SET (selected (MessageNew MessageExpunge)) (mailboxes ("INBOX" "Work")' \
    "$T/bg-err"
t0=$(date +%s%N)
imaptool append-to alice pw1 Work "$1"
check "a message appended to the second mailbox arrives (NOTIFY), < 5 s" \
    nwait 1 5
t1=$(date +%s%N)
diag "second mailbox, appended to delivered: $(( (t1 - t0) / 1000000 )) ms"
inidle
imaptool append alice pw1 "$2"
check "INBOX still by IDLE, with NOTIFY set" nwait 2 5
inidle
imaptool append-to alice pw1 Work "$3"
check "the second mailbox again" nwait 3 5
kill -TERM "$NPID"; wait "$NPID"
is "NOTIFY, SIGTERM: exit 0" "$?" 0

watchn "INBOX, Übersicht"
check "a non-ASCII name: NOTIFY SET for the personal mailboxes" \
    grep -q 'C: [^ ]* NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge))' \
    "$T/bg-err"
imaptool append-to alice pw1 "Übersicht" "$4"
check "a message appended to Übersicht arrives (NOTIFY), < 5 s" nwait 4 5
inidle
imaptool append-to alice pw1 Junk "$5"
inidle
imaptool append-to alice pw1 "Übersicht" "$6"
check "Übersicht again, after a word about Junk" nwait 5 5
check "Junk not fetched (not configured)" \
    test "$(ls "$T/ndrop/new" | wc -l)" -eq 5
kill -TERM "$NPID"; wait "$NPID"
is "NOTIFY, non-ASCII, SIGTERM: exit 0" "$?" 0
is "NOTIFY: each message once, Junk's not" "$(drop_hashes "$T/ndrop")" \
    "$(for f in "$1" "$2" "$3" "$4" "$6"; do sha256sum < "$f" | cut -d' ' -f1; done | sort)"

# One connection per user (Gmail's "Too many simultaneous connections",
# here Dovecot's mail_max_userip_connections): a login refused so is for
# later (69), not wrong credentials (77); --watch waits it out.
printf 'protocol imap {\n  mail_max_userip_connections = 1\n}\n' \
    >> "$DOVECOT_DIR/dovecot.conf"
doveadm -c "$DOVECOT_DIR/dovecot.conf" reload
sleep 1
# hold SECONDS: a client logged in as alice for that long ($T/held when in).
hold() {
	python3 -c 'import imaplib, ssl, sys, time
c = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]),
    ssl_context=ssl.create_default_context(cafile=sys.argv[2]))
c.login("alice", "pw1"); open(sys.argv[4], "w").close()
time.sleep(float(sys.argv[3])); c.logout()' "$IMAPS_PORT" "$CA_DIR/ca.crt" \
	    "$1" "$T/held" &
	HPID=$!
	_i=0
	while [ ! -e "$T/held" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i+1)); done
}
hold 30
fetch -c "$T/f.conf"
is "connection limit: exit 69 (try later), not 77" "$rc" 69
check "connection limit: the server's words, said temporary" \
    grep -q "Maximum number of connections.*temporary" "$T/err"
kill $HPID 2>/dev/null; wait $HPID 2>/dev/null; rm -f "$T/held"
python3 tests/mkcorpus.py --prefix d --seed 64 "$T/c3" 1
imap_put alice "$T"/c3/*
hold 3
: > "$T/bg-err"
fetch_bg --watch alice -c "$T/f.conf"
WPID=$BGPID
check "--watch, connection limit: waits, then gets in and fetches" wait_for 7 45
check "--watch, connection limit: it had waited" grep -q "reconnecting in" \
    "$T/bg-err"
check "--watch, connection limit: still watching" kill -0 "$WPID"
kill -TERM "$WPID"; wait "$WPID"
wait $HPID 2>/dev/null

# A server without IDLE (tests/badimap.py): polled every watch-interval.
PORT=$(free_port)
python3 tests/badimap.py --port "$PORT" --log "$T/bad.log" --mode plain &
BADPID=$!
at_exit 'kill $BADPID 2>/dev/null'
wait_port "$PORT"
printf 'pw1\n' > "$T/pass"; chmod 600 "$T/pass"
printf '[bob]\nmaildrop = %s\nimap-host = 127.0.0.1\nimap-port = %s\nimap-tls = none\nimap-user = bob\nimap-password-file = %s\nwatch-interval = 1\n' \
    "$T/bdrop" "$PORT" "$T/pass" > "$T/b.conf"
chown "$TUSER:" "$T/b.conf" "$T/pass" 2>/dev/null
: > "$T/bg-err"
fetch_bg --watch bob -c "$T/b.conf"
BPID=$BGPID
at_exit 'kill $BPID 2>/dev/null'
_i=0
while [ "$(ls "$T/bdrop/new" 2>/dev/null | wc -l)" -lt 3 ] && [ $_i -lt 200 ]; do sleep 0.05; _i=$((_i+1)); done
sleep 2.5
is "no IDLE: delivered once" "$(ls "$T/bdrop/new" | wc -l)" 3
check "no IDLE: says it polls" grep -q "no IDLE: looking every 1 s" "$T/bg-err"
check "no IDLE: the mailbox is looked at again" \
    test "$(grep -c 'UID SEARCH' "$T/bad.log")" -ge 2
kill -TERM "$BPID"; wait "$BPID"
is "no IDLE, SIGTERM: exit 0" "$?" 0

# A second real server: Cyrus IMAP has IDLE but not NOTIFY, and without
# its idled daemon (lib-cyrus.sh starts none) its IDLE looks for news only
# every imapidlepoll (60 s): both mailboxes come by watch-interval.
. tests/lib-cyrus.sh
if command -v saslpasswd2 >/dev/null && cyrus_find; then
	dovecot_stop
	unset IMAP_PORT IMAPS_PORT
	cyrus_user carol pw3
	if ! cyrus_start; then nok "cyrus starts"; done_testing; exit; fi
	python3 tests/mkcorpus.py --prefix y --seed 66 "$T/c5" 3
	set -- "$T"/c5/*
	cyrus_append carol INBOX.Sub "$1"
	cyrus_conf "$T/y.conf" "$T/ydrop" carol "watch-interval = 2" \
	    "mailboxes = INBOX, INBOX.Sub"
	: > "$T/bg-err"
	fetch_bg --watch carol -c "$T/y.conf"
	YPID=$BGPID
	at_exit 'kill $YPID 2>/dev/null'
	# ywait N SECONDS: until $T/ydrop holds N messages.
	ywait() {
		_i=0
		while [ "$(ls "$T/ydrop/new" 2>/dev/null | wc -l)" -lt "$1" ] &&
		    [ $_i -lt $(($2 * 20)) ]; do
			sleep 0.05; _i=$((_i+1))
		done
		[ "$(ls "$T/ydrop/new" 2>/dev/null | wc -l)" -ge "$1" ]
	}
	check "Cyrus: what is there is fetched at once" ywait 1 5
	check "Cyrus: no NOTIFY, said so" grep -q \
	    "no NOTIFY: mailboxes other than INBOX looked at every 2 s" \
	    "$T/bg-err"
	cyrus_put carol "$2"
	check "Cyrus: INBOX within watch-interval (2 s, +2 s)" ywait 2 4
	cyrus_append carol INBOX.Sub "$3"
	check "Cyrus: the other mailbox within watch-interval" ywait 3 4
	check "Cyrus: still the first connection" \
	    sh -c "! grep -q 'reconnecting' '$T/bg-err'"
	kill -TERM "$YPID"; wait "$YPID"
	is "Cyrus, SIGTERM: exit 0" "$?" 0
	is "Cyrus: each message once" "$(drop_hashes "$T/ydrop")" \
	    "$(corpus_hashes "$T/c5")"
else
	skip "Cyrus IMAP: neither installed nor downloadable (sasl2-bin, cyrus-imapd)"
fi
done_testing
