#!/bin/sh
# imap-oauth2-command against a real Dovecot whose oauth2 passdb asks a
# token introspection endpoint (tests/oauth2server.py, RFC 7662) on
# 127.0.0.1: XOAUTH2 or OAUTHBEARER as offered, OAUTHBEARER when both are;
# a token of 6000 bytes (Dovecot refuses a SASL response over 8192 bytes
# of base64, so about 6 KB is its largest); a refused token is exit 77 at
# once, with the server's text, and never in the -v trace; a token
# command that fails or prints nothing is 78; the endpoint down is 69
# (Dovecot's [UNAVAILABLE]).  Then, labelled as such,
# tokens Dovecot cannot take (20 KB, 64 KB) against the scripted server
# tests/badimap.py, which checks the OAUTHBEARER message byte for byte.
. tests/lib.sh
. tests/lib-dovecot.sh

need dovecot
imap_user alice unused
IMAP_PORT=$(free_port) IMAPS_PORT=$(free_port)
mkca || { nok "test CA"; done_testing; exit; }

# tok LEN: LEN random RFC 6750 b64token characters.
tok() {
	python3 -c 'import secrets, string, sys
a = string.ascii_letters + string.digits + "-._~+/"
print("".join(secrets.choice(a) for _ in range(int(sys.argv[1]))))' "$1"
}
tok 6000 > "$T/good.tok"
tok 6000 > "$T/bad.tok"
chmod 644 "$T/good.tok" "$T/bad.tok"

python3 tests/oauth2server.py --token-file "$T/good.tok" --user alice \
    --port-file "$T/oauth2.port" --log "$T/oauth2.log" &
OPID=$!
at_exit 'kill $OPID 2>/dev/null; wait $OPID 2>/dev/null'
_i=0
while [ ! -s "$T/oauth2.port" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i+1)); done
[ -s "$T/oauth2.port" ] || { nok "introspection endpoint starts"; done_testing; exit; }
cat > "$T/dovecot-oauth2.conf.ext" <<EOF
introspection_url = http://127.0.0.1:$(cat "$T/oauth2.port")/introspect
introspection_mode = post
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
EOF

# lib-dovecot.sh's configuration, as it is, with its passwd-file passdb
# and auth_mechanisms replaced: only the oauth2 passdb, and $MECHS.  With
# $CAPS, the capabilities are that list alone (no SASL-IR).
_dovecot_conf > "$T/dovecot-base.conf"
_dovecot_conf() {
	sed -e "s/^auth_mechanisms = .*/auth_mechanisms = $MECHS/" \
	    -e '/^passdb {/,/^}/d' "$T/dovecot-base.conf"
	printf 'passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n'
	printf '  args = %s\n}\n' "$T/dovecot-oauth2.conf.ext"
	[ -z "${CAPS:-}" ] || printf 'imap_capability = %s\n' "$CAPS"
}
# offer MECHS [CAPS]: (re)starts Dovecot offering MECHS.
offer() {
	dovecot_stop
	MECHS=$1 CAPS=${2:-}
	dovecot_start || { nok "dovecot starts offering $1"; done_testing; exit; }
}

# An account whose token comes from a command.
fetchconf "$T/f.conf" "$T/drop"
sed -i '/^imap-password-file/d' "$T/f.conf"
# run CMD [ARGS]: imapfetch -v with imap-oauth2-command = CMD; its time
# in ms in $ms.
run() {
	sed -i '/^imap-oauth2-command/d' "$T/f.conf"
	printf 'imap-oauth2-command = %s\n' "$1" >> "$T/f.conf"
	_t0=$(date +%s%N)
	fetch -v -c "$T/f.conf"
	ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
}
count() { ls "$1" 2>/dev/null | wc -l; }
# mark: from here on, for logged and method.  logged RE: Dovecot logged
# a line matching RE since (its log process may be a moment late: waits
# 2 s).  method: the mechanism of the login since ("" when none).
mark() { _mark=$(wc -l < "$DOVECOT_DIR/log"); }
logged() {
	_i=0
	while [ $_i -lt 40 ]; do
		tail -n +$((_mark + 1)) "$DOVECOT_DIR/log" | grep -q "$1" &&
		    return 0
		sleep 0.05; _i=$((_i+1))
	done
	return 1
}
method() {
	logged "Login: \|Disconnected" || true
	tail -n +$((_mark + 1)) "$DOVECOT_DIR/log" |
	    sed -n 's/.*Login: user=<alice>, method=\([A-Z0-9]*\),.*/\1/p'
}
# untraced FILE [PORT]: $T/err has no 40-byte slice (from the middle)
# of the token in FILE, nor of the base64 of its SASL messages.
untraced() {
	python3 - "$1" "$T/err" "${2:-$IMAPS_PORT}" <<'PY'
import base64, sys
t = open(sys.argv[1]).read().strip()
err = open(sys.argv[2], "rb").read()
msgs = ["n,a=alice,\x01host=127.0.0.1\x01port=%s\x01auth=Bearer %s\x01\x01"
        % (sys.argv[3], t), "user=alice\x01auth=Bearer %s\x01\x01" % t]
bad = [t[len(t) // 2:len(t) // 2 + 40].encode()]
for m in msgs:
    b = base64.b64encode(m.encode())
    bad.append(b[len(b) // 2:len(b) // 2 + 40])
sys.exit(1 if any(s in err for s in bad) else 0)
PY
}

python3 tests/mkcorpus.py --seed 21 "$T/c1" 3
imap_put alice "$T"/c1/*

# XOAUTH2 alone, a 6000-byte token.
offer xoauth2
mark
run "cat $T/good.tok"
is "XOAUTH2, 6000-byte token: exit 0" "$rc" 0
[ "$rc" = 0 ] || diag "$(grep -v "^imapfetch: [CS]:" "$T/err")"
is "XOAUTH2: 3 delivered" "$(count "$T/drop/new")" 3
is "XOAUTH2: Dovecot logged in with it" "$(method)" XOAUTH2
check "XOAUTH2: the introspection saw the whole token" \
    grep -qs "^good post 6000$" "$T/oauth2.log"
check "XOAUTH2: the token is not in the -v trace" untraced "$T/good.tok"
check "XOAUTH2: the login is masked" grep -q "secret masked" "$T/err"

# A refused token: Dovecot's error challenge, the answer, NO: 77 at once.
mark
run "cat $T/bad.tok"
is "XOAUTH2, refused token: exit 77" "$rc" 77
check "XOAUTH2, refused token: at once ($ms ms)" test "$ms" -lt 2000
check "XOAUTH2, refused token: says rejected, with the server's text" \
    grep -q "AUTHENTICATE XOAUTH2 rejected: \[AUTHENTICATIONFAILED\] Authentication failed" "$T/err"
check "XOAUTH2, refused token: not in the -v trace" untraced "$T/bad.tok"
check "XOAUTH2, refused token: the introspection said no" \
    grep -qs "^bad post 6000$" "$T/oauth2.log"

# OAUTHBEARER alone.
python3 tests/mkcorpus.py --prefix b --seed 22 "$T/c2" 2
imap_put alice "$T"/c2/*
offer oauthbearer
mark
run "cat $T/good.tok"
is "OAUTHBEARER, 6000-byte token: exit 0" "$rc" 0
[ "$rc" = 0 ] || diag "$(grep -v "^imapfetch: [CS]:" "$T/err")"
is "OAUTHBEARER: 2 more delivered" "$(count "$T/drop/new")" 5
is "OAUTHBEARER: Dovecot logged in with it" "$(method)" OAUTHBEARER
check "OAUTHBEARER: the token is not in the -v trace" untraced "$T/good.tok"

# Both: OAUTHBEARER is chosen.
python3 tests/mkcorpus.py --prefix c --seed 23 "$T/c3" 2
imap_put alice "$T"/c3/*
offer "xoauth2 oauthbearer"
mark
run "cat $T/good.tok"
is "both offered: exit 0" "$rc" 0
is "both offered: OAUTHBEARER chosen" "$(method)" OAUTHBEARER
is "both offered: 2 more delivered" "$(count "$T/drop/new")" 7

python3 tests/mkcorpus.py --prefix d --seed 24 "$T/c4" 2
imap_put alice "$T"/c4/*
mark
run "cat $T/bad.tok"
is "OAUTHBEARER, refused token: exit 77" "$rc" 77
check "OAUTHBEARER, refused token: at once ($ms ms)" test "$ms" -lt 2000
check "OAUTHBEARER, refused token: says rejected, with the server's text" \
    grep -q "AUTHENTICATE OAUTHBEARER rejected: \[AUTHENTICATIONFAILED\] Authentication failed" "$T/err"
check "OAUTHBEARER, refused token: the error challenge came" \
    grep -q "^imapfetch: S: + eyJ" "$T/err"
check "OAUTHBEARER, refused token: not in the -v trace" untraced "$T/bad.tok"
is "OAUTHBEARER, refused token: nothing delivered" "$(count "$T/drop/new")" 7
is "OAUTHBEARER, refused token: no login" "$(method)" ""

# The token command: failing, printing nothing, or printing something
# that is no token is a configuration error (78); nothing is delivered.
run "exit 1"
is "token command fails: exit 78" "$rc" 78
check "token command fails: says so" grep -q "imap-oauth2-command failed" "$T/err"
run "true"
is "token command prints nothing: exit 78" "$rc" 78
check "token command prints nothing: says so" \
    grep -q "imap-oauth2-command: nothing read" "$T/err"
mark
run "echo 'error: refresh token expired'"
is "token command prints an error on stdout: exit 78" "$rc" 78
check "token command prints an error on stdout: says it is no token" \
    grep -q "imap-oauth2-command: its first line is not an access token" "$T/err"
check "token command prints an error on stdout: not sent" \
    logged "no auth attempts"
is "token command failures: nothing delivered" "$(count "$T/drop/new")" 7

# No SASL-IR: the response follows the server's "+".
offer oauthbearer "IMAP4rev1 IDLE UIDPLUS"
mark
run "cat $T/good.tok"
is "no SASL-IR: exit 0" "$rc" 0
[ "$rc" = 0 ] || diag "$(grep -v "^imapfetch: [CS]:" "$T/err")"
check "no SASL-IR: the response after the continuation" \
    grep -q "^imapfetch: S: +" "$T/err"
is "no SASL-IR: OAUTHBEARER" "$(method)" OAUTHBEARER
is "no SASL-IR: 2 more delivered" "$(count "$T/drop/new")" 9

# A 20 KB token is over Dovecot's limit: it drops the connection; that is
# said (69, not 77: nothing was rejected), and the token stays masked.
tok 20480 > "$T/big.tok"
chmod 644 "$T/big.tok"
offer "xoauth2 oauthbearer"
mark
run "cat $T/big.tok"
is "20 KB token, Dovecot: exit 69 (it drops the connection)" "$rc" 69
check "20 KB token, Dovecot: says the response may be over its limit" \
    grep -q "over the server's limit" "$T/err"
check "20 KB token, Dovecot: not in the -v trace" untraced "$T/big.tok"
check "20 KB token, Dovecot: its log says why" \
    logged "Authentication response too large"

# The introspection endpoint down: Dovecot cannot check the token, and
# says [UNAVAILABLE] (RFC 5530): a temporary failure (69), not a refusal.
kill $OPID; wait $OPID 2>/dev/null
run "cat $T/good.tok"
is "introspection down: exit 69" "$rc" 69
check "introspection down: says UNAVAILABLE, not rejected" \
    sh -c "grep -q 'AUTHENTICATE OAUTHBEARER: \[UNAVAILABLE\]' '$T/err' &&
    ! grep -q rejected '$T/err'"
dovecot_stop

# --- Scripted server (tests/badimap.py, mode oauthbearer), because no
# real server here takes a token over 6 KB: the 20 KB token it knows.
PORT=$(free_port)
python3 tests/badimap.py --port "$PORT" --log "$T/bad.log" --mode oauthbearer &
BADPID=$!
at_exit 'kill $BADPID 2>/dev/null; wait $BADPID 2>/dev/null'
wait_port "$PORT" || nok "badimap.py listens"
python3 -B -c 'import sys; sys.path.insert(0, "tests")
from badimap import good_token; print(good_token())' > "$T/b20.tok"
chmod 644 "$T/b20.tok"
{
	printf '[alice]\nmaildrop = %s\nimap-host = 127.0.0.1\n' "$T/bdrop"
	printf 'imap-port = %s\nimap-tls = none\nimap-user = alice\n' "$PORT"
	printf 'imap-timeout = 5\n'
} > "$T/b.conf"
chown "$TUSER:" "$T/b.conf"
brun() {
	sed -i '/^imap-oauth2-command/d' "$T/b.conf"
	printf 'imap-oauth2-command = %s\n' "$1" >> "$T/b.conf"
	_t0=$(date +%s%N)
	as_user "$IMAPFETCH" -v -c "$T/b.conf" 2>"$T/err"
	rc=$?
	ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
}
# longline N: badimap.py got AUTHENTICATE OAUTHBEARER with an initial
# response of at least N bytes of base64 (grep's {N,} stops at 32767).
longline() {
	awk -v n="$1" '$2 == "AUTHENTICATE" && $3 == "OAUTHBEARER" &&
	    $4 ~ /^[A-Za-z0-9+\/=]+$/ && length($4) >= n { f = 1 }
	    END { exit !f }' "$T/bad.log"
}
brun "cat $T/b20.tok"
is "scripted: 20 KB token, OAUTHBEARER message byte for byte: exit 0" "$rc" 0
[ "$rc" = 0 ] || diag "$(grep -v "^imapfetch: [CS]:" "$T/err")"
is "scripted: 20 KB token: 3 delivered" "$(count "$T/bdrop/new")" 3
check "scripted: 20 KB token: in the first line (SASL-IR)" longline 27000
check "scripted: 20 KB token: not in the -v trace" untraced "$T/b20.tok" "$PORT"

tok 20480 > "$T/b20bad.tok"
chmod 644 "$T/b20bad.tok"
: > "$T/bad.log"
brun "cat $T/b20bad.tok"
is "scripted: refused 20 KB token: exit 77" "$rc" 77
check "scripted: refused 20 KB token: at once ($ms ms)" test "$ms" -lt 2000
check "scripted: refused 20 KB token: the error challenge answered with ^A" \
    grep -qx "AQ==" "$T/bad.log"
check "scripted: refused 20 KB token: the server's text" \
    grep -q "rejected: \[AUTHENTICATIONFAILED\] badimap: invalid token" "$T/err"
check "scripted: refused 20 KB token: not in the -v trace" \
    untraced "$T/b20bad.tok" "$PORT"

# SECRET_MAX (65536) is the longest: read whole, and one more is refused.
tok 65536 > "$T/b64k.tok"
tok 65537 > "$T/b64k1.tok"
chmod 644 "$T/b64k.tok" "$T/b64k1.tok"
: > "$T/bad.log"
brun "cat $T/b64k.tok"
is "scripted: 64 KB token sent whole (refused by its content): exit 77" "$rc" 77
check "scripted: 64 KB token: the whole message on the line" longline 87000
brun "cat $T/b64k1.tok"
is "scripted: a 65537-byte token: exit 78" "$rc" 78
check "scripted: a 65537-byte token: says too long" grep -q "over 65536 bytes" "$T/err"

done_testing
