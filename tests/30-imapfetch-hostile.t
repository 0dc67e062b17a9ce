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

# conf DROP [KEY = VALUE...]: account alice on badimap, 2 s timeouts, the
# password from a file unless a line gives another source.
conf() {
	_d=$1; shift
	printf 'pw1\n' > "$T/pass"
	chmod 600 "$T/pass"
	_pw="imap-password-file = $T/pass"
	for _l in "$@"; do
		case $_l in imap-pass*|imap-oauth2*) _pw="" ;; esac
	done
	{
		printf '[alice]\nmaildrop = %s\nimap-host = 127.0.0.1\n' "$_d"
		printf 'imap-port = %s\nimap-tls = none\nimap-user = alice\n' "$PORT"
		printf 'imap-timeout = 2\n%s\n' "$_pw"
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
for cmd in true "echo pw1; exit 3" "printf %03000d 1"; do
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
bad plain
mkmaildir "$T/d13"
mkdir -p "$T/d13/.imapfetch"
echo precious > "$T/victim"
ln -s "$T/victim" "$T/d13/.imapfetch/INBOX.state.new"
chown -R "$TUSER:" "$T/d13" "$T/victim"
conf "$T/d13"
run
is "state.new a symlink: exit 0" "$rc" 0
is "state.new a symlink: its target untouched" "$(cat "$T/victim")" precious
check "state.new a symlink: the state written" \
    grep -q "^delivered 1:3" "$T/d13/.imapfetch/INBOX.state"
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
    grep -q '^imapfetch_messages_fetched{account="alice"} 3$' "$T/prom/m.prom"
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

done_testing
