#!/bin/sh
# A server that breaks the rules (tests/badimap.py, plaintext on loopback):
# imapfetch must not crash, must not deliver a partial message or one it
# did not ask for, must not touch what is not its own, and must exit with
# the documented code.  Commands that hang; symbolic links planted where
# imapfetch writes its state.
. tests/lib.sh

# IMAPFETCH_BIN: run another build (the ASan one) instead.
[ -n "${IMAPFETCH_BIN:-}" ] && IMAPFETCH=$IMAPFETCH_BIN
PORT=$(free_port)
BADPID=""
# bad MODE: (re)starts badimap.py in MODE with an empty log.
bad() {
	[ -z "$BADPID" ] || { kill "$BADPID"; wait "$BADPID" 2>/dev/null; }
	rm -f "$T/log"
	python3 tests/badimap.py --port "$PORT" --log "$T/log" --mode "$1" &
	BADPID=$!
	wait_port "$PORT"
}
at_exit '[ -z "$BADPID" ] || kill "$BADPID"'

# conf DROP [KEY = VALUE...]: account alice on badimap, 2 s timeouts
# unless a line gives imap-timeout, the password from a file unless a line
# gives another source.
conf() {
	_d=$1; shift
	printf 'pw1\n' > "$T/pass"
	chmod 600 "$T/pass"
	_pw="imap-password-file = $T/pass" _to="imap-timeout = 2"
	for _l in "$@"; do
		case $_l in
		imap-pass*|imap-oauth2*) _pw="" ;;
		imap-timeout*) _to="" ;;
		esac
	done
	{
		printf '[alice]\nmaildrop = %s\nimap-host = 127.0.0.1\n' "$_d"
		printf 'imap-port = %s\nimap-tls = none\nimap-user = alice\n' "$PORT"
		printf '%s\n%s\n' "$_to" "$_pw"
		printf '%s\n' "$@"
	} > "$T/c.conf"
	chown "$TUSER:" "$T/c.conf" "$T/pass" 2>/dev/null || true
}

run() {
	as_user "$IMAPFETCH" "$@" -c "$T/c.conf" 2>"$T/err"
	rc=$?
}

count() { ls "$1" 2>/dev/null | wc -l; }

# hashes DIR / want MODE UID...: sorted sha256 of the files in DIR, and
# of the bodies badimap.py sends in MODE for those UIDs.
hashes() { for _f in "$1"/*; do sha256sum < "$_f"; done | awk '{print $1}' | sort; }
want() {
	python3 -B -c 'import hashlib, sys; sys.path.insert(0, "tests")
from badimap import body
for u in sys.argv[2:]:
    print(hashlib.sha256(body(int(u), sys.argv[1])).hexdigest())' "$@" | sort
}

# The server closes the connection inside the second body literal: 69;
# the first message, which came whole, is delivered, the second is not
# (no partial file left); nothing flagged on a dead connection.  The next
# run flags the first without fetching it again, and gets the second.
bad midliteral
conf "$T/d1"
run
is "closed mid-literal: exit 69" "$rc" 69
is "closed mid-literal: the whole message delivered, not the cut one" \
    "$(hashes "$T/d1/new")" "$(want midliteral 1)"
is "closed mid-literal: tmp/ empty" "$(count "$T/d1/tmp")" 0
check "closed mid-literal: nothing flagged" sh -c "! grep -q STORE '$T/log'"
run
is "closed mid-literal, again: exit 69" "$rc" 69
is "closed mid-literal, again: each once" "$(hashes "$T/d1/new")" \
    "$(want midliteral 1 2)"
check "closed mid-literal, again: the first flagged, not fetched again" \
    sh -c "grep -q 'UID STORE 1 ' '$T/log' && grep -q 'UID FETCH 2,3 (UID BODY' '$T/log'"

# A literal of 4 GB, of which 3 MB come: the same, and no crash.
bad huge
conf "$T/d2"
run
is "4 GB literal cut short: exit 69" "$rc" 69
is "4 GB literal cut short: nothing in new/" "$(count "$T/d2/new")" 0
is "4 GB literal cut short: tmp/ empty" "$(count "$T/d2/tmp")" 0

# EXISTS, RECENT, EXPUNGE and FLAGS updates between the bodies.
bad noise
conf "$T/d3"
run
is "untagged noise mid-fetch: exit 0" "$rc" 0
is "untagged noise mid-fetch: the 3 messages" "$(hashes "$T/d3/new")" \
    "$(want noise 1 2 3)"

# Bodies far larger than RFC822.SIZE said: delivered whole, byte for byte.
bad bigger
conf "$T/d4"
run
is "body larger than RFC822.SIZE: exit 0" "$rc" 0
is "body larger than RFC822.SIZE: 3 delivered" "$(count "$T/d4/new")" 3
is "body larger than RFC822.SIZE: whole bodies, byte for byte" \
    "$(hashes "$T/d4/new")" "$(want bigger 1 2 3)"

# A FETCH for a UID not asked for, already \Seen, in the size answer and
# with a body: neither delivered nor flagged (it would bypass the UNSEEN
# search and max-message-size).
bad unasked
conf "$T/d5"
run
is "UID not asked for: exit 0" "$rc" 0
is "UID not asked for: only the 3 asked for" "$(hashes "$T/d5/new")" \
    "$(want unasked 1 2 3)"
is "UID not asked for: only those flagged" "$(grep STORE "$T/log" | cut -d' ' -f2-4)" \
    "UID STORE 1,2,3"

# after-fetch = delete on a server without UIDPLUS: EXPUNGE would also
# remove what another client flagged \Deleted (and might undelete), so it
# is not sent then; ours stay \Deleted.  Alone, ours are expunged.
bad nouidplus
conf "$T/d6" "after-fetch = delete"
run
is "no UIDPLUS, another client's \\Deleted: exit 0" "$rc" 0
is "no UIDPLUS, another client's \\Deleted: 3 delivered" "$(count "$T/d6/new")" 3
check "no UIDPLUS, another client's \\Deleted: ours flagged" \
    grep -q "UID STORE 1,2,3 +FLAGS.SILENT (.Deleted)" "$T/log"
check "no UIDPLUS, another client's \\Deleted: no EXPUNGE" \
    sh -c "! grep -q '^[0-9]* EXPUNGE' '$T/log'"
check "no UIDPLUS, another client's \\Deleted: says why" grep -q "UIDPLUS" "$T/err"
bad nouidplus-alone
conf "$T/d7" "after-fetch = delete"
run
is "no UIDPLUS, only ours \\Deleted: exit 0" "$rc" 0
check "no UIDPLUS, only ours \\Deleted: EXPUNGE" grep -q "^[0-9]* EXPUNGE" "$T/log"

# XOAUTH2 refused the way Gmail does it: the error comes as a challenge,
# the client answers with an empty line, then NO.  That is a rejection
# (77), at once, not a wait for imap-timeout; the token stays masked.
bad xoauth2
conf "$T/d8" "imap-oauth2-command = echo tok3n"
t0=$(date +%s%N)
run -v
t1=$(date +%s%N)
is "XOAUTH2 refused: exit 77" "$rc" 77
check "XOAUTH2 refused: at once ($(( (t1 - t0) / 1000000 )) ms)" \
    test $(( (t1 - t0) / 1000000 )) -lt 1500
check "XOAUTH2 refused: says rejected" grep -q "rejected" "$T/err"
check "XOAUTH2 refused: the token is not in the -v trace" \
    sh -c "! grep -q 'tok3n\|dG9rM24\|dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2szbgEB' '$T/err'"

# The secret is masked in the -v trace whichever way it goes: AUTHENTICATE
# PLAIN after a continuation (no SASL-IR), LOGIN (no AUTH=PLAIN).
bad nosaslir
conf "$T/d9"
run -v
is "PLAIN without SASL-IR: exit 0" "$rc" 0
check "PLAIN without SASL-IR: sent after the continuation" \
    grep -q "^[0-9]* AUTHENTICATE PLAIN$" "$T/log"
check "PLAIN without SASL-IR: masked in the trace" \
    sh -c "grep -q 'secret masked' '$T/err' && ! grep -q 'AGFsaWNlAHB3MQ\|pw1' '$T/err'"
bad loginonly
conf "$T/d10"
run -v
is "LOGIN: exit 0" "$rc" 0
check "LOGIN: used" grep -q "^[0-9]* LOGIN " "$T/log"
check "LOGIN: masked in the trace" \
    sh -c "grep -q 'secret masked' '$T/err' && ! grep -q 'pw1' '$T/err'"

# The password command: one that hangs is killed at imap-timeout (2 s),
# not waited for with the maildrop locked; one that prints nothing, too
# much, or fails is a configuration error (78) too.
bad plain
conf "$T/d11" "imap-password-command = sleep 30"
t0=$(date +%s)
run
t1=$(date +%s)
is "hung password command: exit 78" "$rc" 78
check "hung password command: killed after imap-timeout ($((t1 - t0)) s)" \
    test $((t1 - t0)) -le 4
check "hung password command: says so" grep -q "killed" "$T/err"
for cmd in true "echo pw1; exit 3" "printf %070000d 1"; do
	conf "$T/d11" "imap-password-command = $cmd"
	run
	is "password command '$cmd': exit 78" "$rc" 78
done
is "password commands that failed: nothing delivered" "$(count "$T/d11/new")" 0
conf "$T/d11" "imap-password-command = echo pw1"
run
is "password command: exit 0" "$rc" 0

# An on-new command that hangs is killed at imap-timeout too: it must not
# keep the run (and the maildrop's lock) forever.  Delivered is delivered.
bad plain
conf "$T/d12" "on-new = sleep 30"
t0=$(date +%s)
run
t1=$(date +%s)
is "hung on-new: exit 0" "$rc" 0
is "hung on-new: 3 delivered" "$(count "$T/d12/new")" 3
check "hung on-new: killed after imap-timeout ($((t1 - t0)) s)" \
    test $((t1 - t0)) -le 4
check "hung on-new: says so" grep -q "on-new.*killed" "$T/err"

# Symbolic links where imapfetch writes: the state file's new copy is a
# fresh file (the link is replaced, its target untouched); a link as the
# lock or as .imapfetch itself is refused (73), nothing written through.
# The state file's name is learnt from a first run (it depends on the
# account); after-fetch = none, so that a state not written would show
# as the messages delivered again.
bad plain
conf "$T/d13" "after-fetch = none"
run
sf=$(cd "$T/d13/.imapfetch" && ls -- *.state)
rm -rf "$T/d13"
bad plain
mkmaildir "$T/d13"
mkdir -p "$T/d13/.imapfetch"
echo precious > "$T/victim"
ln -s "$T/victim" "$T/d13/.imapfetch/$sf.new"
chown -R "$TUSER:" "$T/d13" "$T/victim"
run
is "state.new a symlink: exit 0" "$rc" 0
is "state.new a symlink: its target untouched" "$(cat "$T/victim")" precious
check "state.new a symlink: the state written ($sf)" \
    sh -c "test -f '$T/d13/.imapfetch/$sf' && test ! -L '$T/d13/.imapfetch/$sf'"
run
is "state.new a symlink, again: nothing delivered twice" "$(count "$T/d13/new")" 3
bad plain
mkmaildir "$T/d14"
mkdir -p "$T/d14/.imapfetch"
ln -s "$T/planted" "$T/d14/.imapfetch/lock"
chown -R "$TUSER:" "$T/d14"
conf "$T/d14"
run
is "lock a symlink: exit 73" "$rc" 73
check "lock a symlink: nothing created through it" test ! -e "$T/planted"
is "lock a symlink: nothing delivered" "$(count "$T/d14/new")" 0
mkmaildir "$T/d15"
mkdir -p "$T/elsewhere"
ln -s "$T/elsewhere" "$T/d15/.imapfetch"
chown -R "$TUSER:" "$T/d15" "$T/elsewhere"
conf "$T/d15"
run
is ".imapfetch a symlink: exit 73" "$rc" 73
is ".imapfetch a symlink: nothing written through it" "$(ls -A "$T/elsewhere")" ""

# INBOX is case-insensitive (RFC 3501 5.1): "INBOX, inbox" is one mailbox
# on the server, so one state, or after-fetch = none delivers it twice.
bad plain
conf "$T/d16" "after-fetch = none" "mailboxes = INBOX, inbox"
run
is "INBOX and inbox: exit 0" "$rc" 0
is "INBOX and inbox: each message once" "$(count "$T/d16/new")" 3

# A server that stops answering mid-session: 69 after imap-timeout, and
# no LOGOUT sent into a connection in an unknown state.
bad stall
conf "$T/d17"
t0=$(date +%s)
run
t1=$(date +%s)
is "server hangs: exit 69" "$rc" 69
check "server hangs: gave up after imap-timeout ($((t1 - t0)) s)" \
    test $((t1 - t0)) -le 4
check "server hangs: no LOGOUT after the failure" \
    sh -c "! grep -q LOGOUT '$T/log'"
is "server hangs: nothing delivered" "$(count "$T/d17/new")" 0

# metrics-file: its temporary file is a fresh one, even when a link with
# its name (".<pid>.tmp": the pid is known once exec'd) is planted.
bad plain
mkdir -p "$T/prom"
echo precious > "$T/victim2"
chown "$TUSER:" "$T/prom" "$T/victim2"
conf "$T/d18"
{ printf 'metrics-file = %s/prom/m.prom\n' "$T"; cat "$T/c.conf"; } > "$T/m.conf"
chown "$TUSER:" "$T/m.conf"
as_user sh -c 'ln -s "$1" "$2.$$.tmp" && exec "$3" -c "$4"' sh "$T/victim2" \
    "$T/prom/m.prom" "$IMAPFETCH" "$T/m.conf" 2>"$T/err"
is "metrics-file, a link planted: exit 0" "$?" 0
is "metrics-file, a link planted: its target untouched" "$(cat "$T/victim2")" precious
check "metrics-file, a link planted: the metrics written" \
    grep -q '^imapfetch_messages_fetched_total{account="alice",mailbox="INBOX"} 3$' \
    "$T/prom/m.prom"
is "metrics-file: no temporary file left" "$(ls "$T/prom")" m.prom

# The server cannot send UID 2 and says NO after the others: no crash;
# what came whole is delivered and flagged (else one broken message would
# hold back its whole batch forever); the run says the server failed
# (69); the next run tries UID 2 alone and delivers nothing twice.
bad fetchno
conf "$T/d19"
run
is "FETCH answered NO: exit 69" "$rc" 69
is "FETCH answered NO: the others delivered" "$(hashes "$T/d19/new")" \
    "$(want fetchno 1 3)"
is "FETCH answered NO: the others flagged" "$(grep STORE "$T/log" | cut -d' ' -f2-4)" \
    "UID STORE 1,3"
run
is "FETCH answered NO, again: exit 69" "$rc" 69
is "FETCH answered NO, again: nothing twice" "$(count "$T/d19/new")" 2
is "FETCH answered NO, again: tmp/ empty" "$(count "$T/d19/tmp")" 0

# A FETCH response with a body section not asked for (BODY[HEADER]) or
# BODY[] twice: the body handler sees only bytes, so the file would hold
# both.  Such a message is left on the server, the others delivered.
bad twobodies
conf "$T/d20"
run
is "two body sections: exit 0" "$rc" 0
is "two body sections: only the sane message delivered" \
    "$(hashes "$T/d20/new")" "$(want twobodies 3)"
is "two body sections: only it flagged" "$(grep STORE "$T/log" | cut -d' ' -f2-4)" \
    "UID STORE 3"

# -q prints errors only: a message above max-message-size is not one (it
# would be mailed by cron every run while it waits on the server).
bad plain
conf "$T/d21" "max-message-size = 10"
run -q
is "-q, messages too large: exit 0" "$rc" 0
is "-q, messages too large: nothing printed" "$(cat "$T/err")" ""
run
is "without -q, messages too large: logged" \
    "$(grep -c "above max-message-size" "$T/err")" 3

# Recovery: a pending delivery whose file is nowhere (tmp/, new/, cur/)
# is counted as delivered (a POP3 client may have taken it: fetching it
# again could deliver it twice), and said so.
bad plain
mkmaildir "$T/d22"
mkdir -p "$T/d22/.imapfetch"
printf 'imapfetch-state 1\nuidvalidity 7\npending 1 %s\nend\n' \
    "1.M1P1Q1_imapfetch.gone,S=48,W=48" > "$T/d22/.imapfetch/INBOX.state"
chown -R "$TUSER:" "$T/d22"
conf "$T/d22"
run
is "pending, file gone: exit 0" "$rc" 0
check "pending, file gone: said so" grep -q "in neither tmp/ nor new/" "$T/err"
is "pending, file gone: counted delivered, the others fetched" \
    "$(hashes "$T/d22/new")" "$(want plain 2 3)"

# Body items other than BODY[] (contract 3): UID 1's body as RFC822 (the
# whole message, no BODY[]), UID 2's as RFC822.TEXT and then BODY[].  The
# body handler sees bytes only: UID 1's would be glued in front of UID
# 2's, and UID 2's text in front of its BODY[].  Neither is delivered nor
# flagged; UID 3, sane, is delivered byte for byte.
bad rfc822
conf "$T/d23"
run
is "RFC822, RFC822.TEXT answers: exit 0" "$rc" 0
is "RFC822, RFC822.TEXT answers: only the sane one delivered, byte for byte" \
    "$(hashes "$T/d23/new")" "$(want rfc822 3)"
is "RFC822, RFC822.TEXT answers: only it flagged" \
    "$(grep STORE "$T/log" | cut -d' ' -f2-4)" "UID STORE 3"
check "RFC822, RFC822.TEXT answers: left on the server, said so" \
    grep -q "left on the server" "$T/err"
check "RFC822, RFC822.TEXT answers: UID 1's bytes glued to nothing" \
    sh -c "! grep -rq 'Message-ID: <1@badimap>' '$T/d23/new'"
is "RFC822, RFC822.TEXT answers: tmp/ empty" "$(count "$T/d23/tmp")" 0

# A FETCH response with UID and FLAGS but no body: left on the server (the
# next run asks again); the others delivered.
bad nobody
conf "$T/d24"
run
is "no body in the response: exit 0" "$rc" 0
is "no body in the response: the others, byte for byte" \
    "$(hashes "$T/d24/new")" "$(want nobody 2 3)"
is "no body in the response: only those flagged" \
    "$(grep STORE "$T/log" | cut -d' ' -f2-4)" "UID STORE 2,3"

# A response with only RFC822.HEADER, then one with only RFC822.TEXT,
# then a sane one: no bytes of the first two glued onto the third.
bad headeronly
conf "$T/d25"
run
is "RFC822.HEADER / RFC822.TEXT alone: exit 0" "$rc" 0
is "RFC822.HEADER / RFC822.TEXT alone: the sane one, byte for byte" \
    "$(hashes "$T/d25/new")" "$(want headeronly 3)"
is "RFC822.HEADER / RFC822.TEXT alone: only it flagged" \
    "$(grep STORE "$T/log" | cut -d' ' -f2-4)" "UID STORE 3"
is "RFC822.HEADER / RFC822.TEXT alone: tmp/ empty" "$(count "$T/d25/tmp")" 0

# Partial answers: BODY[]<5> (a part from octet 5) and BODY[TEXT].
# Neither delivered nor flagged.  (libetpan parses BODY[]<0> as BODY[]:
# it is then taken as the whole message, as a BODY[] that a server cut
# short would be.)
bad partial
conf "$T/d26"
run
is "BODY[]<5> and BODY[TEXT]: exit 0" "$rc" 0
is "BODY[]<5> and BODY[TEXT]: only the sane one delivered" \
    "$(hashes "$T/d26/new")" "$(want partial 3)"
is "BODY[]<5> and BODY[TEXT]: only it flagged" \
    "$(grep STORE "$T/log" | cut -d' ' -f2-4)" "UID STORE 3"
check "BODY[]<5> and BODY[TEXT]: left on the server, said so" \
    grep -q "left on the server" "$T/err"

# RFC822.SIZE lies (100 bytes; the bodies are 300000): max-message-size
# (1000) holds on the bytes received.  Nothing delivered or flagged, the
# tmp files gone, the run goes on (exit 0) and says why.
bad liesize
conf "$T/d27" "max-message-size = 1000"
run
is "RFC822.SIZE lies, max-message-size: exit 0" "$rc" 0
is "RFC822.SIZE lies, max-message-size: nothing delivered" "$(count "$T/d27/new")" 0
check "RFC822.SIZE lies, max-message-size: nothing flagged" \
    sh -c "! grep -q STORE '$T/log'"
is "RFC822.SIZE lies, max-message-size: tmp/ empty" "$(count "$T/d27/tmp")" 0
check "RFC822.SIZE lies, max-message-size: said so" \
    grep -q "max-message-size" "$T/err"
check "RFC822.SIZE lies, max-message-size: counted too large" \
    grep -q "3 too large" "$T/err"

# after-fetch = none (contract 2): the same selection as the others, the
# server never modified.  UID 2 the server failed to send once is fetched
# by the next run, although UID 3 above it was delivered.
bad fetchno1
conf "$T/d28" "after-fetch = none"
run
is "after-fetch = none, FETCH answered NO: exit 69" "$rc" 69
is "after-fetch = none, FETCH answered NO: the others delivered" \
    "$(hashes "$T/d28/new")" "$(want fetchno1 1 3)"
run
is "after-fetch = none, server healthy again: exit 0" "$rc" 0
is "after-fetch = none, server healthy again: UID 2 delivered too" \
    "$(hashes "$T/d28/new")" "$(want fetchno1 1 2 3)"
run
is "after-fetch = none, once more: each message once" "$(count "$T/d28/new")" 3
check "after-fetch = none: EXAMINE, never SELECT nor STORE" \
    sh -c "grep -q EXAMINE '$T/log' && ! grep -q 'SELECT\|STORE' '$T/log'"

# after-fetch = none, max-message-size raised between runs: the message
# it held back is fetched then.
bad onebig
conf "$T/d29" "after-fetch = none" "max-message-size = 1K"
run
is "after-fetch = none, max-message-size 1K: exit 0" "$rc" 0
is "after-fetch = none, max-message-size 1K: the small ones" \
    "$(hashes "$T/d29/new")" "$(want onebig 1 3)"
conf "$T/d29" "after-fetch = none"
run
is "after-fetch = none, limit lifted: exit 0" "$rc" 0
is "after-fetch = none, limit lifted: the big one delivered" \
    "$(hashes "$T/d29/new")" "$(want onebig 1 2 3)"

# rss_run: run, and the peak RSS (KB) of imapfetch in $rss.  The
# wrapper runs as us (python3 may be a shim the test user cannot run).
rss_run() {
	if [ "$(id -u)" -eq 0 ]; then
		set -- setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups \
		    -- "$IMAPFETCH" "$@"
	else
		set -- "$IMAPFETCH" "$@"
	fi
	python3 -c 'import resource, subprocess, sys
r = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r if r >= 0 else 128 - r)' "$T/rss" "$@" -c "$T/c.conf" 2>"$T/err"
	rc=$?
	rss=$(cat "$T/rss" 2>/dev/null || echo 999999)
}

# A response line of 200 MB (the answer to UID SEARCH): a protocol error
# once it passes 8 MiB (76), memory bounded; likewise a literal of 50 MB
# that is no message body, and a line of 50 MB after "* OK [ALERT]".
bad longline
conf "$T/d30"
rss_run
is "line of 200 MB: exit 76" "$rc" 76
check "line of 200 MB: says response too long" grep -q "response too long" "$T/err"
check "line of 200 MB: peak RSS under 64 MB ($rss KB)" test "$rss" -lt 65536
for m in bigliteral bigalert; do
	bad $m
	conf "$T/d31$m"
	rss_run
	is "$m, 50 MB: exit 76" "$rc" 76
	check "$m, 50 MB: says response too long" grep -q "response too long" "$T/err"
	check "$m, 50 MB: peak RSS under 64 MB ($rss KB)" test "$rss" -lt 65536
	is "$m, 50 MB: nothing delivered" "$(count "$T/d31$m/new")" 0
done

# A server trickling the answer, one byte every 0.4 s: each read comes
# within imap-timeout (1 s), but the command's deadline (5 s and a second
# per 8 KiB received) ends it: 69, and no partial message.
bad trickle
conf "$T/d32" "imap-timeout = 1"
t0=$(date +%s)
as_user timeout 14 "$IMAPFETCH" -c "$T/c.conf" 2>"$T/err"
rc=$?
t1=$(date +%s)
is "trickling server: exit 69" "$rc" 69
check "trickling server: gave up in time ($((t1 - t0)) s)" test $((t1 - t0)) -le 10
check "trickling server: says deadline" grep -q "deadline" "$T/err"
is "trickling server: nothing delivered" "$(count "$T/d32/new")" 0
is "trickling server: tmp/ empty" "$(count "$T/d32/tmp")" 0

# Server text is sanitised before it is logged: escape sequences, BEL, a
# lone 0x9b (invalid UTF-8, the 8-bit CSI), U+009B (a C1 control), a bare
# CR: none of them reaches stderr raw; ESC shows as \x1b.
no_raw() {
	python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
sys.exit(1 if any(c in d for c in b"\x1b\x07\r\x9b") else 0)' "$1"
}
bad escapes
conf "$T/d33"
run
is "control bytes in a NO: exit 69" "$rc" 69
check "control bytes in a NO: none raw on stderr" no_raw "$T/err"
check "control bytes in a NO: ESC shown as \\x1b" grep -qF '\x1b' "$T/err"
bad escapes-cr
conf "$T/d34"
run
check "control bytes and a bare CR in a NO: exit 69 or 76 ($rc)" \
    test "$rc" -eq 69 -o "$rc" -eq 76
check "control bytes and a bare CR in a NO: none raw on stderr" no_raw "$T/err"

done_testing
