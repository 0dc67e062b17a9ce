#!/bin/sh
# imapfetch against a real Dovecot: a corpus with the edge cases arrives
# once, byte for byte, flagged \Seen; a second run fetches nothing; new
# mail is fetched alone; STARTTLS and plaintext on loopback; -q and -v.
. tests/lib.sh
. tests/lib-dovecot.sh

imap_user alice pw1
imap_user bob pw2
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi

python3 tests/mkcorpus.py --edge --big 3 --seed 5 "$T/corpus" 150
imap_put alice "$T"/corpus/*
fetchconf "$T/f.conf" "$T/drop"

fetch -c "$T/f.conf"
is "first run exits 0" "$rc" 0
is "one summary line" "$(sed 's/, [0-9.]* MB, [0-9.]* s$//' "$T/err")" \
    "imapfetch: alice/INBOX: 150 new"
is "150 files in new/" "$(ls "$T/drop/new" | wc -l)" 150
is "byte-exact: the corpus's digests" "$(drop_hashes "$T/drop")" \
    "$(corpus_hashes "$T/corpus")"
check "names carry ,S= and ,W= (the POP3 size)" check_names "$T/drop"
is "server: all \\Seen" "$(imaptool unseen alice pw1)" 0
is "server: all still there" "$(imaptool count alice pw1)" 150
is "tmp/ empty" "$(ls -A "$T/drop/tmp" | wc -l)" 0
check "state file written, named by host, port, user and mailbox" \
    test -s "$(state_file "$T/drop")"
is "the state names its account" "$(sed -n 2p "$(state_file "$T/drop")")" \
    "account 127.0.0.1 $IMAPS_PORT alice INBOX"

fetch -c "$T/f.conf"
is "second run exits 0" "$rc" 0
check "second run: 0 new" grep -q "alice/INBOX: 0 new" "$T/err"
is "second run delivers nothing" "$(ls "$T/drop/new" | wc -l)" 150

python3 tests/mkcorpus.py --prefix n --seed 9 "$T/more" 7
imap_put alice "$T"/more/*
fetch -c "$T/f.conf"
check "new mail between runs: 7 new" grep -q "alice/INBOX: 7 new" "$T/err"
is "exactly the old and the new" "$(drop_hashes "$T/drop")" \
    "$(cat "$T"/corpus/* >/dev/null; { corpus_hashes "$T/corpus"; corpus_hashes "$T/more"; } | sort)"

# -q: nothing on stderr when all is well.
python3 tests/mkcorpus.py --prefix q --seed 3 "$T/q" 2
imap_put alice "$T"/q/*
fetch -q -c "$T/f.conf"
is "-q exits 0" "$rc" 0
is "-q prints nothing" "$(cat "$T/err")" ""
is "-q still fetched" "$(ls "$T/drop/new" | wc -l)" 159

# on-new runs after new mail (and only then); metrics-file is written.
python3 tests/mkcorpus.py --prefix h --seed 8 "$T/h" 3
imap_put alice "$T"/h/*
{
	printf 'metrics-file = %s/metrics.prom\n' "$T"
	cat "$T/f.conf"
	printf 'on-new = echo "$IMAPFETCH_ACCOUNT $IMAPFETCH_NEW" >> %s/on-new.log\n' "$T"
} > "$T/h.conf"
chown "$TUSER:" "$T/h.conf"
fetch -c "$T/h.conf"
is "on-new: exit 0" "$rc" 0
is "on-new ran once with the count" "$(cat "$T/on-new.log" 2>/dev/null)" "alice 3"
check "metrics: messages fetched" grep -q \
    '^imapfetch_messages_fetched_total{account="alice",mailbox="INBOX"} 3$' \
    "$T/metrics.prom"
check "metrics: exit code" \
    grep -q '^imapfetch_exit_code{account="alice"} 0$' "$T/metrics.prom"
fetch -c "$T/h.conf"
is "on-new: not run without new mail" "$(wc -l < "$T/on-new.log")" 1
check "metrics: none fetched the second time, the counter stays" grep -q \
    '^imapfetch_messages_fetched_total{account="alice",mailbox="INBOX"} 3$' \
    "$T/metrics.prom"

# STARTTLS on the plain port, and plaintext allowed on loopback.
python3 tests/mkcorpus.py --prefix b --seed 4 "$T/b" 5
imap_put bob "$T"/b/*
IMAP_LOGIN=bob IMAP_PASSWORD=pw2 fetchconf "$T/s.conf" "$T/sdrop"
sed -i "s/^imap-port = .*/imap-port = $IMAP_PORT\nimap-tls = starttls/" "$T/s.conf"
fetch -v -c "$T/s.conf"
is "STARTTLS run exits 0" "$rc" 0; [ "$rc" = 0 ] || diag "$(grep -v "^imapfetch: [CS]:" "$T/err")"
check "STARTTLS was used" grep -q "STARTTLS" "$T/err"
is "STARTTLS run delivered 5" "$(ls "$T/sdrop/new" | wc -l)" 5
check "-v trace never shows the password" sh -c "! grep -q pw2 '$T/err'"
check "-v trace shows the masked login" grep -q "secret masked" "$T/err"

python3 tests/mkcorpus.py --prefix p --seed 6 "$T/p" 3
imap_put bob "$T"/p/*
sed -i "s/^imap-tls = starttls/imap-tls = none/" "$T/s.conf"
fetch -c "$T/s.conf"
is "imap-tls = none on loopback exits 0" "$rc" 0
is "plaintext run delivered 3 more" "$(ls "$T/sdrop/new" | wc -l)" 8

# An inline password needs a 0600 file; a password command works too.
sed -i "/^imap-password-file/d; /^imap-tls/d; s/^imap-port = .*/imap-port = $IMAPS_PORT/" "$T/s.conf"
printf 'imap-password-command = echo pw2\n' >> "$T/s.conf"
fetch -c "$T/s.conf"
is "imap-password-command exits 0" "$rc" 0
sed -i "/^imap-password-command/d" "$T/s.conf"
printf 'imap-password = pw2\n' >> "$T/s.conf"
chmod 644 "$T/s.conf"
fetch -c "$T/s.conf"
is "inline password in a 0644 file: config error (78)" "$rc" 78
chmod 600 "$T/s.conf"
fetch -c "$T/s.conf"
is "inline password in a 0600 file: exits 0" "$rc" 0

done_testing
