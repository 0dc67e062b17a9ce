#!/bin/sh
# imapfetch's idea of an account, against a real Dovecot: two sections
# feeding one maildrop from two IMAP users; a section whose imap-user
# changes; a legacy state file in a shared maildrop; fetch = all; the
# dedup after a UIDVALIDITY change when a Message-ID is reused; what is
# not imapfetch's in the maildrop (another host's tmp files, a FIFO, a
# dangling link); the helper commands killed with their whole process
# group.  Throughout: nothing \Seen or deleted on a server without its
# copy in the maildrop, every message there once.
. tests/lib.sh
. tests/lib-dovecot.sh
need pgrep timeout

USERS="alice bob carol dave erin frank gina hank ivy jo kim lee max"
for u in $USERS; do imap_user "$u" "pw-$u"; done
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi

count() { ls "$1" 2>/dev/null | wc -l; }

# put USER TAG N: N new messages (Subject and Message-ID carry TAG) in
# USER's INBOX; kept in $T/c/USER/TAG for the digests.
_seed=100
put() {
	_seed=$((_seed + 1))
	python3 tests/mkcorpus.py --prefix "$2." --seed "$_seed" --mean 3000 \
	    "$T/c/$1/$2" "$3"
	imap_put "$1" "$T/c/$1/$2"/*
}
# ch USER/TAG...: sorted digests of those corpora.
ch() { for _c in "$@"; do corpus_hashes "$T/c/$_c"; done | sort; }
# same NAME GOT WANT: "is" for sorted lists of digests; a mismatch is told
# as counts (missing, extra or twice), not as two walls of digests.
same() {
	if [ "$2" = "$3" ]; then ok "$1"; return; fi
	nok "$1"
	printf '%s\n' "$2" | grep . > "$T/got.h"
	printf '%s\n' "$3" | grep . > "$T/want.h"
	diag "got $(wc -l < "$T/got.h"), want $(wc -l < "$T/want.h"): $(comm \
	    -13 "$T/got.h" "$T/want.h" | wc -l) missing, $(comm -23 \
	    "$T/got.h" "$T/want.h" | wc -l) extra or twice"
}
# tool CMD USER: imaptool with USER's password.
tool() { imaptool "$1" "$2" "pw-$2"; }
# uidv USER N: sets the UIDVALIDITY of USER's INBOX (doveadm).
uidv() {
	doveadm -c "$DOVECOT_DIR/dovecot.conf" mailbox update -u "$1" \
	    --uid-validity "$2" INBOX
}
# seen_kept USER DROP: every message \Seen in USER's INBOX is in DROP.
seen_kept() {
	tool seen-hashes "$1" | sort -u > "$T/seen.h" || return 1
	drop_hashes "$2" | sort -u > "$T/drop.h"
	[ -z "$(comm -23 "$T/seen.h" "$T/drop.h")" ]
}
# section NAME USER DROP [LINE...]: a config section for USER's INBOX on
# our Dovecot, delivering into DROP; the password from a file unless a
# line gives another source.
section() {
	_n=$1 _u=$2 _d=$3; shift 3
	printf 'pw-%s\n' "$_u" > "$T/$_u.pass"
	chmod 600 "$T/$_u.pass"
	chown "$TUSER:" "$T/$_u.pass" 2>/dev/null || true
	printf '\n[%s]\nmaildrop = %s\nimap-host = 127.0.0.1\n' "$_n" "$_d"
	printf 'imap-port = %s\nimap-ca-file = %s\nimap-user = %s\n' \
	    "$IMAPS_PORT" "$CA_DIR/ca.crt" "$_u"
	_pw="imap-password-file = $T/$_u.pass"
	for _l in "$@"; do
		case $_l in imap-pass*|imap-oauth2*) _pw="" ;; esac
	done
	[ -z "$_pw" ] || printf '%s\n' "$_pw"
	for _l in "$@"; do printf '%s\n' "$_l"; done
}
# conf FILE: stdin becomes FILE, readable by the test user.
conf() { cat > "$1"; chown "$TUSER:" "$1" 2>/dev/null || true; }

# --- Two sections, one maildrop, two IMAP users (contract 1) -----------
# [alice] also logs in to popd (password); [alice-home] fetches bob's
# mail into the same maildrop.  Their INBOXes have the same UIDVALIDITY
# and overlapping UIDs: a state shared by the two would have the second
# account flag its messages as "delivered earlier".
D1=$T/d1
put alice a0 5
put bob b0 4
uidv alice 1000001
uidv bob 1000001
is "alice and bob: one UIDVALIDITY (the dangerous case)" \
    "$(tool uidvalidity alice) $(tool uidvalidity bob)" "1000001 1000001"
{
	section alice alice "$D1" "password = $(hash_password secret)" \
	    "after-fetch = seen"
	section alice-home bob "$D1" "after-fetch = seen"
} | conf "$T/f1.conf"
fetch -c "$T/f1.conf"
is "two accounts, one maildrop: exit 0" "$rc" 0
same "two accounts, one maildrop: both accounts' messages, each once" \
    "$(drop_hashes "$D1")" "$(ch alice/a0 bob/b0)"
is "two accounts, one maildrop: alice all \\Seen" "$(tool unseen alice)" 0
is "two accounts, one maildrop: bob all \\Seen" "$(tool unseen bob)" 0
check "two accounts, one maildrop: nothing of bob's \\Seen and not delivered" \
    seen_kept bob "$D1"
is "two accounts, one maildrop: one state file each" \
    "$(for f in "$D1"/.imapfetch/*.state; do sed -n 1,2p "$f"; done | sort)" \
    "$(printf 'account 127.0.0.1 %s %s INBOX\n' "$IMAPS_PORT" alice \
    "$IMAPS_PORT" bob; printf 'imapfetch-state 2\n%.0s' 1 2)"
fetch -c "$T/f1.conf"
is "two accounts, again: exit 0" "$rc" 0
is "two accounts, again: nothing new" "$(count "$D1/new")" 9
check "two accounts, again: no UIDVALIDITY change seen" \
    sh -c "! grep -q 'UIDVALIDITY changed' '$T/err'"

# New mail for both; [alice-home] now deletes what it delivered (whether
# the older ones, delivered and \Seen, are deleted too is not said here).
put alice a1 2
put bob b1 3
{
	section alice alice "$D1" "password = $(hash_password secret)" \
	    "after-fetch = seen"
	section alice-home bob "$D1" "after-fetch = delete"
} | conf "$T/f1d.conf"
fetch -c "$T/f1d.conf"
is "two accounts, one deleting: exit 0" "$rc" 0
same "two accounts, one deleting: the new mail of both, each once" \
    "$(drop_hashes "$D1")" "$(ch alice/a0 alice/a1 bob/b0 bob/b1)"
is "two accounts, one deleting: alice's all there, \\Seen" \
    "$(tool count alice) $(tool unseen alice)" "7 0"
ch bob/b1 > "$T/b1.h"
is "two accounts, one deleting: bob's new ones deleted" \
    "$(tool hashes bob | sort | comm -12 - "$T/b1.h")" ""

# --- A legacy state file in a maildrop fed by two sections --------------
# "INBOX.state" of format 1 says UIDs 1:3 of UIDVALIDITY 1000007 are
# delivered; lee's and max's INBOXes both match it.  It cannot tell whose
# it was: not adopted, so neither flags a message it did not deliver.
DL=$T/dl
put lee l0 3
put max x0 3
uidv lee 1000007
uidv max 1000007
mkmaildir "$DL"
mkdir -p "$DL/.imapfetch"
printf 'imapfetch-state 1\nuidvalidity 1000007\ndelivered 1:3\nend\n' \
    > "$DL/.imapfetch/INBOX.state"
chown -R "$TUSER:" "$DL"
{
	section lee lee "$DL"
	section lee-home max "$DL"
} | conf "$T/fl.conf"
fetch -c "$T/fl.conf"
is "legacy state, two sections: exit 0" "$rc" 0
check "legacy state, two sections: nothing of lee's \\Seen and not delivered" \
    seen_kept lee "$DL"
check "legacy state, two sections: nothing of max's \\Seen and not delivered" \
    seen_kept max "$DL"
same "legacy state, two sections: both accounts' messages, each once" \
    "$(drop_hashes "$DL")" "$(ch lee/l0 max/x0)"

# --- The section's imap-user changes (contract 1) ----------------------
# [x] fetched carol's INBOX, then is pointed at dave's: same section,
# same maildrop, same UIDVALIDITY, UIDs 1:3 both.  Dave's are all
# fetched; none flagged (after-fetch = seen) or deleted (= delete)
# without being delivered.
D2=$T/d2
put carol c0 3
put dave e0 3
uidv carol 1000002
uidv dave 1000002
section x carol "$D2" "after-fetch = seen" | conf "$T/f2.conf"
fetch -c "$T/f2.conf"
is "imap-user carol: exit 0" "$rc" 0
same "imap-user carol: delivered" "$(drop_hashes "$D2")" "$(ch carol/c0)"
section x dave "$D2" "after-fetch = seen" | conf "$T/f2.conf"
fetch -c "$T/f2.conf"
is "imap-user changed to dave: exit 0" "$rc" 0
same "imap-user changed to dave: dave's all delivered, each once" \
    "$(drop_hashes "$D2")" "$(ch carol/c0 dave/e0)"
check "imap-user changed to dave: nothing \\Seen and not delivered" \
    seen_kept dave "$D2"
put carol c1 2
section x carol "$D2" "after-fetch = seen" | conf "$T/f2.conf"
fetch -c "$T/f2.conf"
is "imap-user back to carol: exit 0" "$rc" 0
same "imap-user back to carol: her new mail, nothing twice" \
    "$(drop_hashes "$D2")" "$(ch carol/c0 carol/c1 dave/e0)"

D3=$T/d3
put erin r0 3
put frank f0 3
uidv erin 1000003
uidv frank 1000003
section y erin "$D3" "after-fetch = delete" | conf "$T/f3.conf"
fetch -c "$T/f3.conf"
is "imap-user erin, deleting: exit 0" "$rc" 0
same "imap-user erin, deleting: delivered" "$(drop_hashes "$D3")" "$(ch erin/r0)"
is "imap-user erin, deleting: then deleted" "$(tool count erin)" 0
section y frank "$D3" "after-fetch = delete" | conf "$T/f3.conf"
fetch -c "$T/f3.conf"
is "imap-user changed to frank, deleting: exit 0" "$rc" 0
same "imap-user changed to frank, deleting: nothing deleted undelivered" \
    "$(drop_hashes "$D3")" "$(ch erin/r0 frank/f0)"
is "imap-user changed to frank, deleting: his mailbox emptied" \
    "$(tool count frank)" 0

# --- fetch = all (contract 6; selection, contract 2) --------------------
# gina's messages were read by another client (\Seen).  The default
# (fetch = unseen) leaves them, whatever after-fetch says; fetch = all
# delivers them once, with after-fetch = none (server untouched) and
# with after-fetch = seen.
put gina g0 3
tool see gina
is "gina: all \\Seen by another client" "$(tool unseen gina)" 0
section g gina "$T/d4a" "after-fetch = seen" | conf "$T/f4.conf"
fetch -c "$T/f4.conf"
is "default fetch, after-fetch = seen: exit 0" "$rc" 0
is "default fetch, after-fetch = seen: the \\Seen ones not delivered" \
    "$(count "$T/d4a/new")" 0
section g gina "$T/d4b" "after-fetch = none" | conf "$T/f4.conf"
fetch -c "$T/f4.conf"
is "default fetch, after-fetch = none: exit 0" "$rc" 0
is "default fetch, after-fetch = none: the \\Seen ones not delivered" \
    "$(count "$T/d4b/new")" 0
section g gina "$T/d4c" "fetch = all" "after-fetch = none" | conf "$T/f4.conf"
fetch -c "$T/f4.conf"
is "fetch = all, after-fetch = none: exit 0" "$rc" 0
same "fetch = all, after-fetch = none: the \\Seen ones delivered" \
    "$(drop_hashes "$T/d4c")" "$(ch gina/g0)"
fetch -c "$T/f4.conf"
is "fetch = all, after-fetch = none, again: nothing twice" \
    "$(count "$T/d4c/new")" 3
put gina g1 2
section g gina "$T/d4c" "fetch = all" "after-fetch = seen" | conf "$T/f4.conf"
fetch -c "$T/f4.conf"
is "fetch = all, then after-fetch = seen: exit 0" "$rc" 0
same "fetch = all, then after-fetch = seen: only the new ones added" \
    "$(drop_hashes "$T/d4c")" "$(ch gina/g0 gina/g1)"
is "fetch = all, then after-fetch = seen: all \\Seen" "$(tool unseen gina)" 0
fetch -c "$T/f4.conf"
is "fetch = all, after-fetch = seen, again: nothing twice" \
    "$(count "$T/d4c/new")" 5
put hank h0 2
tool see hank
put hank h1 2
section h hank "$T/d4d" "fetch = all" "after-fetch = seen" | conf "$T/f4.conf"
fetch -c "$T/f4.conf"
is "fetch = all, after-fetch = seen, from scratch: exit 0" "$rc" 0
same "fetch = all, after-fetch = seen, from scratch: \\Seen and unseen delivered" \
    "$(drop_hashes "$T/d4d")" "$(ch hank/h0 hank/h1)"
is "fetch = all, after-fetch = seen, from scratch: all \\Seen" \
    "$(tool unseen hank)" 0

# --- Dedup after a UIDVALIDITY change (contract 4) ----------------------
# ivy's mailbox is restored (all unseen, a new UIDVALIDITY), with three
# new messages: one reusing a delivered Message-ID for other bytes and
# size (delivered), one with a delivered Message-ID and size but a byte
# changed (counted as there), one really new (delivered).
msg() {		# msg FILE MESSAGE-ID BODY: a small CRLF message
	mkdir -p "$(dirname "$1")"
	{
		printf 'From: someone@example.org\r\nSubject: dedup\r\n'
		[ -z "$2" ] || printf 'Message-ID: <%s>\r\n' "$2"
		printf '\r\n%s\r\n' "$3"
	} > "$1"
}
msg "$T/c/ivy/i0/one" one@x "first"
msg "$T/c/ivy/i0/two" two@x "second"
msg "$T/c/ivy/i0/three" "" "third, no Message-ID"
imap_put ivy "$T"/c/ivy/i0/*
section i ivy "$T/d5" | conf "$T/f5.conf"
fetch -c "$T/f5.conf"
same "ivy: 3 delivered" "$(drop_hashes "$T/d5")" "$(ch ivy/i0)"
msg "$T/c/ivy/i1/one-again" one@x "first, but rewritten: another message"
msg "$T/c/ivy/i1/five" five@x "fifth"
msg "$T/c/ivy/other/two-again" two@x "secont"
tool unsee ivy
uidv ivy 2000005
imap_put ivy "$T"/c/ivy/i1/* "$T"/c/ivy/other/*
is "ivy: a new UIDVALIDITY, 6 unseen" "$(tool uidvalidity ivy) $(tool unseen ivy)" \
    "2000005 6"
fetch -c "$T/f5.conf"
is "after the UIDVALIDITY change: exit 0" "$rc" 0
check "after the UIDVALIDITY change: said so" grep -q "UIDVALIDITY changed" "$T/err"
same "after the UIDVALIDITY change: same Message-ID, other bytes and size: delivered" \
    "$(drop_hashes "$T/d5")" "$(ch ivy/i0 ivy/i1)"
check "after the UIDVALIDITY change: 2 new, 4 already there" \
    grep -q "2 new.*(0 too large, 4 already in the maildrop)" "$T/err"
is "after the UIDVALIDITY change: all \\Seen" "$(tool unseen ivy)" 0

# --- What is not imapfetch's in the maildrop (contract 10) -------------
# A tmp file of imapfetch on another host (a maildrop on NFS) survives
# every run: a normal one, and one that recovers from a kill.  Our own
# debris goes.
D6=$T/d6
mkmaildir "$D6"
OTHER=1700000000.M1P1Q1_imapfetch.otherhost
echo "another host's delivery in progress" > "$D6/tmp/$OTHER"
host=$(hostname)
case $host in
*[!A-Za-z0-9.-]*|"") ours="" ;;
*) ours=1700000001.M2P2Q2_imapfetch.$host
   echo "our debris" > "$D6/tmp/$ours" ;;
esac
chown -R "$TUSER:" "$D6"
put jo j0 3
section j jo "$D6" | conf "$T/f6.conf"
fetch -c "$T/f6.conf"
is "another host's tmp file: exit 0" "$rc" 0
same "another host's tmp file: the run delivered" "$(drop_hashes "$D6")" "$(ch jo/j0)"
check "another host's tmp file: still there" test -f "$D6/tmp/$OTHER"
if [ -n "$ours" ]; then
	check "our own tmp debris: removed" test ! -e "$D6/tmp/$ours"
else
	skip "hostname $host: our debris's name not predictable"
fi
put jo j1 250
if [ "$(id -u)" -eq 0 ]; then
	set -- setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups --
else
	set --
fi
k=$(python3 tests/killat.py --watch "$D6/new" --delay-max 0 -- "$@" \
    "$IMAPFETCH" -c "$T/f6.conf")
diag "the run was $k"
fetch -c "$T/f6.conf"
is "another host's tmp file, run after a kill: exit 0" "$rc" 0
same "another host's tmp file, run after a kill: each message once" \
    "$(drop_hashes "$D6")" "$(ch jo/j0 jo/j1)"
is "another host's tmp file, run after a kill: tmp/ holds only it" \
    "$(ls "$D6/tmp")" "$OTHER"

# A FIFO and dangling links in new/ and cur/ when the dedup index is
# built (after a UIDVALIDITY change): opening the FIFO would wait for a
# writer forever.  The run ends (within seconds), exit 0.
mkfifo "$D6/new/fifo" "$D6/cur/fifo:2,S"
ln -s "$T/nowhere" "$D6/new/dangling"
ln -s "$T/nowhere" "$D6/cur/dangling:2,S"
chown -h "$TUSER:" "$D6"/new/* "$D6"/cur/*
put jo j2 2
tool unsee jo
uidv jo 2000006
t0=$(date +%s)
as_user timeout 10 "$IMAPFETCH" -c "$T/f6.conf" 2>"$T/err"
rc=$?
t1=$(date +%s)
is "FIFO and dangling links in the maildrop: exit 0" "$rc" 0
check "FIFO and dangling links in the maildrop: done in seconds ($((t1 - t0)) s)" \
    test $((t1 - t0)) -le 5
same "FIFO and dangling links in the maildrop: the new ones, nothing twice" \
    "$(drop_hashes "$D6")" "$(ch jo/j0 jo/j1 jo/j2)"
check "FIFO and dangling links in the maildrop: another host's file still there" \
    test -f "$D6/tmp/$OTHER"

# --- The helper commands' process group (contract 8) ------------------
# A password command that starts a background grandchild and never
# prints; an on-new command that does the same.  At imap-timeout (1 s)
# the whole group is killed, not only the shell.  The sleeps carry a
# duration of their own so that pgrep finds them, and only them.
M=$((7000 + $$ % 1000))
left() {	# left TAG: pids of our marked sleeps still running
	pgrep -f "^sleep $M\\.$1[0-9]\$" 2>/dev/null | tr '\n' ' '
}
gone() {	# gone TAG: none left (they get 2 s to be reaped)
	_i=0
	while [ -n "$(left "$1")" ] && [ $_i -lt 20 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ -z "$(left "$1")" ]
}
at_exit 'for _p in $(left 1) $(left 2); do kill "$_p"; done'
section p alice "$T/d7" "imap-timeout = 1" \
    "imap-password-command = sleep $M.11 & sleep $M.12" | conf "$T/f7.conf"
t0=$(date +%s)
fetch -c "$T/f7.conf"
t1=$(date +%s)
is "password command with a grandchild: exit 78" "$rc" 78
check "password command with a grandchild: ended at imap-timeout ($((t1 - t0)) s)" \
    test $((t1 - t0)) -le 4
check "password command with a grandchild: says killed" grep -q "killed" "$T/err"
check "password command with a grandchild: no process of it left" gone 1
put kim k0 1
section k kim "$T/d8" "imap-timeout = 1" \
    "on-new = sleep $M.21 & sleep $M.22" | conf "$T/f8.conf"
t0=$(date +%s)
fetch -c "$T/f8.conf"
t1=$(date +%s)
is "on-new with a grandchild: exit 0" "$rc" 0
same "on-new with a grandchild: delivered" "$(drop_hashes "$T/d8")" "$(ch kim/k0)"
check "on-new with a grandchild: ended at imap-timeout ($((t1 - t0)) s)" \
    test $((t1 - t0)) -le 4
check "on-new with a grandchild: says killed" grep -q "on-new.*killed" "$T/err"
check "on-new with a grandchild: no process of it left" gone 2

done_testing
