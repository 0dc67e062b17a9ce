#!/bin/sh
# imapfetch -j: accounts side by side.  Each delivered once; two sections
# that share a maildrop still both fetch (one job, one after the other);
# stderr lines whole; the exit code the worst.
. tests/lib.sh
. tests/lib-dovecot.sh
need python3 dovecot

for u in u1 u2 u3 u4; do imap_user $u "pw-$u"; done
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
for u in u1 u2 u3 u4; do
	python3 tests/mkcorpus.py --prefix "$u." --seed "${u#u}" "$T/c-$u" 40
	imap_put $u "$T"/c-$u/*
	printf 'pw-%s\n' $u > "$T/$u.pass"
	chmod 600 "$T/$u.pass"
done
printf 'wrong\n' > "$T/bad.pass"; chmod 600 "$T/bad.pass"
section() {	# NAME USER DROP PASSFILE
	printf '[%s]\nmaildrop = %s\nimap-host = 127.0.0.1\nimap-port = %s\n' "$1" "$3" "$IMAPS_PORT"
	printf 'imap-ca-file = %s\nimap-user = %s\nimap-password-file = %s\n\n' "$CA_DIR/ca.crt" "$2" "$4"
}
{
	section a u1 "$T/d1" "$T/u1.pass"
	section b u2 "$T/d2" "$T/u2.pass"
	section c u3 "$T/d3" "$T/u3.pass"
	section c2 u4 "$T/d3" "$T/u4.pass"	# shares d3 with c
	section x u1 "$T/dx" "$T/bad.pass"	# refused
} > "$T/j.conf"
chmod 600 "$T/j.conf"
chown "$TUSER:" "$T/j.conf" "$T"/*.pass 2>/dev/null

fetch -j 4 -c "$T/j.conf"
is "-j 4: the worst code (77, the refused login)" "$rc" 77
is "a: its 40, once" "$(drop_hashes "$T/d1")" "$(corpus_hashes "$T/c-u1")"
is "b: its 40, once" "$(drop_hashes "$T/d2")" "$(corpus_hashes "$T/c-u2")"
is "c and c2 into one maildrop: both, once" "$(drop_hashes "$T/d3")" \
    "$({ corpus_hashes "$T/c-u3"; corpus_hashes "$T/c-u4"; } | sort)"
check "no 'already running': one job per maildrop" sh -c "! grep -q 'already running' '$T/err'"
check "every stderr line whole" sh -c "! grep -v '^imapfetch: [a-z0-9]*/INBOX: 40 new, [0-9.]* MB, [0-9.]* s\$\\|^imapfetch: x: .*rejected' '$T/err'"
is "four summary lines" "$(grep -c ' 40 new' "$T/err")" 4
fetch -j 4 -c "$T/j.conf" a b c c2
is "-j 4 again, good accounts only: 0" "$rc" 0
is "...nothing new" "$(grep -c ' 0 new' "$T/err")" 4
as_user "$IMAPFETCH" -j 0 -c "$T/j.conf" 2>/dev/null
is "-j 0: usage (64)" "$?" 64
as_user "$IMAPFETCH" -j 2 --list -c "$T/j.conf" 2>/dev/null
is "-j with --list: usage (64)" "$?" 64
done_testing
