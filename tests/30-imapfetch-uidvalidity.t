#!/bin/sh
# The server renumbers the mailbox (new UIDVALIDITY) and forgets \Seen:
# imapfetch must not deliver again what the maildrop holds (matched by
# Message-ID, or by digest when there is none), must deliver what is
# really new, and must say so.
. tests/lib.sh
. tests/lib-dovecot.sh

imap_user alice pw1
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
python3 tests/mkcorpus.py --edge --seed 31 "$T/corpus" 25
imap_put alice "$T"/corpus/*
fetchconf "$T/f.conf" "$T/drop"
fetch -c "$T/f.conf"
is "first run exits 0" "$rc" 0
is "first run: 25 delivered" "$(ls "$T/drop/new" | wc -l)" 25
v1=$(imaptool uidvalidity alice pw1)

# Rebuild the mailbox as a restore from backup would: indexes gone, all
# unseen again, plus some new mail.
dovecot_stop
sleep 1		# Dovecot derives UIDVALIDITY from the clock
mb=$(imap_maildir alice)
rm -f "$mb"/dovecot-uidlist "$mb"/dovecot.index* "$mb"/dovecot-uidvalidity*
for f in "$mb"/cur/*; do mv "$f" "$mb/new/$(basename "${f%%:*}")"; done
python3 tests/mkcorpus.py --prefix n --seed 32 "$T/more" 4
imap_put alice "$T"/more/*
if ! dovecot_start; then nok "dovecot restarts"; done_testing; exit; fi
v2=$(imaptool uidvalidity alice pw1)
check "the server has a new UIDVALIDITY ($v1 -> $v2)" test "$v1" != "$v2"
is "the server shows all 29 unseen" "$(imaptool unseen alice pw1)" 29

fetch -c "$T/f.conf"
is "run after the reset exits 0" "$rc" 0
check "the change is logged" grep -q "UIDVALIDITY changed" "$T/err"
check "only the 4 new ones delivered" grep -q "alice/INBOX: 4 new" "$T/err"
check "25 recognised" grep -q "25 already in the maildrop" "$T/err"
is "maildrop: old and new, each once" "$(drop_hashes "$T/drop")" \
    "$({ corpus_hashes "$T/corpus"; corpus_hashes "$T/more"; } | sort)"
is "server: all \\Seen again" "$(imaptool unseen alice pw1)" 0
check "state: back to normal (no dedup)" \
    sh -c "test -s '$(state_file "$T/drop")' && ! grep -q '^dedup' '$(state_file "$T/drop")'"

python3 tests/mkcorpus.py --prefix z --seed 33 "$T/z" 2
imap_put alice "$T"/z/*
fetch -c "$T/f.conf"
check "later runs as usual: 2 new" grep -q "alice/INBOX: 2 new" "$T/err"
is "maildrop: 31 messages" "$(ls "$T/drop/new" | wc -l)" 31

done_testing
