#!/bin/sh
# imapfetch against a second real server, Cyrus IMAP (Debian's 3.6, run
# privately by tests/lib-cyrus.sh): the edge-case corpus arrives once, byte
# for byte as Cyrus serves it, flagged \Seen; a second run fetches nothing;
# new mail is fetched alone; a mailbox other than INBOX, under both
# hierarchy separators ("INBOX.Sub", "INBOX/Sub"); a mailbox Cyrus refuses;
# a mailbox made again (new UIDVALIDITY); a name with a space; STARTTLS;
# after-fetch = delete (UID EXPUNGE) empties the mailbox; fetch = all
# takes mail already \Seen; kill -9 in the middle of fetches, then a full
# run: every message exactly once.
. tests/lib.sh
. tests/lib-dovecot.sh
. tests/lib-cyrus.sh

cyrus_need
cyrus_user alice pw1
cyrus_user bob pw2
cyrus_user carol pw3
cyrus_user dave pw4
if ! cyrus_start; then nok "cyrus starts"; done_testing; exit; fi
diag "Cyrus from $CYRUS_BIN"

python3 tests/mkcorpus.py --edge --big 3 --seed 5 "$T/corpus" 150
cyrus_put alice "$T"/corpus/*
# What Cyrus serves is what imapfetch must deliver; that it is also what
# was appended shows Cyrus took every edge case unchanged.
cyrus_hashes alice pw1 > "$T/served"
is "Cyrus serves the corpus unchanged" "$(cat "$T/served")" \
    "$(corpus_hashes "$T/corpus")"

cyrus_conf "$T/f.conf" "$T/drop" alice
fetch -c "$T/f.conf"
is "first run exits 0" "$rc" 0
is "one summary line" "$(sed 's/, [0-9.]* MB, [0-9.]* s$//' "$T/err")" \
    "imapfetch: alice/INBOX: 150 new"
is "150 files in new/" "$(ls "$T/drop/new" | wc -l)" 150
is "byte-exact: the digests of what Cyrus serves" \
    "$(drop_hashes "$T/drop")" "$(cat "$T/served")"
check "names carry ,S= and ,W= (the POP3 size)" check_names "$T/drop"
is "server: all \\Seen" "$(imaptool unseen alice pw1)" 0
is "server: all still there" "$(imaptool count alice pw1)" 150
is "tmp/ empty" "$(ls -A "$T/drop/tmp" | wc -l)" 0
check "state file written" test -s "$(state_file "$T/drop")"

fetch -c "$T/f.conf"
is "second run exits 0" "$rc" 0
check "second run: 0 new" grep -q "alice/INBOX: 0 new" "$T/err"
is "second run delivers nothing" "$(ls "$T/drop/new" | wc -l)" 150

python3 tests/mkcorpus.py --prefix n --seed 9 "$T/more" 7
cyrus_put alice "$T"/more/*
fetch -c "$T/f.conf"
check "new mail between runs: 7 new" grep -q "alice/INBOX: 7 new" "$T/err"
is "exactly the old and the new" "$(drop_hashes "$T/drop")" \
    "$({ corpus_hashes "$T/corpus"; corpus_hashes "$T/more"; } | sort)"

# A mailbox beside INBOX: Cyrus's default namespace puts it under INBOX
# with "." (unixhierarchysep: no).
python3 tests/mkcorpus.py --edge --prefix s --seed 10 "$T/sub" 12
cyrus_append alice INBOX.Sub "$T"/sub/*
cyrus_conf "$T/f.conf" "$T/drop" alice "mailboxes = INBOX, INBOX.Sub"
fetch -c "$T/f.conf"
is "INBOX and INBOX.Sub: exit 0" "$rc" 0
check "INBOX.Sub: 12 new" grep -q "alice/INBOX.Sub: 12 new" "$T/err"
check "INBOX: 0 new" grep -q "alice/INBOX: 0 new" "$T/err"
is "INBOX.Sub: all \\Seen" "$(imaptool unseen alice pw1 INBOX.Sub)" 0
check "INBOX.Sub has its own state file" \
    test -s "$(state_file "$T/drop" alice INBOX.Sub)"
is "INBOX.Sub byte-exact" "$(drop_hashes "$T/drop")" \
    "$({ corpus_hashes "$T/corpus"; corpus_hashes "$T/more"
    corpus_hashes "$T/sub"; } | sort)"

# A mailbox Cyrus refuses (NO to SELECT): exit 69 (EX_UNAVAILABLE, the
# timer tries again), and the next mailbox is still fetched.
python3 tests/mkcorpus.py --prefix x --seed 11 "$T/x" 1
cyrus_append alice INBOX.Sub "$T"/x/*
cyrus_conf "$T/f.conf" "$T/drop" alice "mailboxes = INBOX.Nope, INBOX.Sub"
fetch -c "$T/f.conf"
is "a mailbox that does not exist: exit 69" "$rc" 69
check "the error quotes Cyrus's NO" \
    grep -q "Mailbox does not exist" "$T/err"
[ "$rc" = 69 ] || diag "$(cat "$T/err")"
check "the next mailbox is still fetched" \
    grep -q "alice/INBOX.Sub: 1 new" "$T/err"

# INBOX.Sub deleted and made again (a new UIDVALIDITY), the same mail
# put back: recorded and flagged, not delivered twice.
python3 - "$IMAPS_PORT" "$CA_DIR/ca.crt" <<'PY'
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
m.login("alice", "pw1")
sys.exit(m.delete("INBOX.Sub")[0] != "OK")
PY
cyrus_append alice INBOX.Sub "$T"/sub/* "$T"/x/*
n=$(ls "$T/drop/new" | wc -l)
cyrus_conf "$T/f.conf" "$T/drop" alice "mailboxes = INBOX.Sub"
fetch -c "$T/f.conf"
is "INBOX.Sub made again: exit 0" "$rc" 0
check "the new UIDVALIDITY is noticed" grep -q "UIDVALIDITY changed" "$T/err"
check "all 13 already in the maildrop" \
    grep -q "alice/INBOX.Sub: 0 new.*13 already in the maildrop" "$T/err"
if [ "$rc" != 0 ] || ! grep -q "13 already" "$T/err"; then
	diag "$(cat "$T/err")"
fi
is "nothing delivered twice" "$(ls "$T/drop/new" | wc -l)" "$n"
is "INBOX.Sub made again: all \\Seen" "$(imaptool unseen alice pw1 INBOX.Sub)" 0

# A name with a space (sent quoted; its state file name encodes it).
python3 tests/mkcorpus.py --prefix w --seed 16 "$T/w" 2
cyrus_append alice 'INBOX.Old Mail' "$T"/w/*
cyrus_conf "$T/w.conf" "$T/wdrop" alice "mailboxes = INBOX.Old Mail"
fetch -c "$T/w.conf"
is "a name with a space: exit 0" "$rc" 0
check "INBOX.Old Mail: 2 new" grep -q "alice/INBOX.Old Mail: 2 new" "$T/err"
is "its messages, byte-exact" "$(drop_hashes "$T/wdrop")" \
    "$(corpus_hashes "$T/w")"
check "its state file" test -s \
    "$T/wdrop/.imapfetch/127.0.0.1+$IMAPS_PORT+alice+INBOX.Old%20Mail.state"

# STARTTLS on the plain port.
python3 tests/mkcorpus.py --prefix t --seed 12 "$T/st" 2
cyrus_put alice "$T"/st/*
cyrus_conf "$T/s.conf" "$T/drop" alice "imap-tls = starttls"
sed -i "s/^imap-port = .*/imap-port = $IMAP_PORT/" "$T/s.conf"
fetch -v -c "$T/s.conf"
is "STARTTLS run exits 0" "$rc" 0
check "STARTTLS was used" grep -q "C: [0-9]* STARTTLS" "$T/err"
check "STARTTLS run: 2 new" grep -q "alice/INBOX: 2 new" "$T/err"

# after-fetch = delete: UIDPLUS, so UID EXPUNGE of exactly ours.
python3 tests/mkcorpus.py --edge --big 1 --prefix b --seed 13 "$T/b" 40
cyrus_put bob "$T"/b/*
cyrus_conf "$T/b.conf" "$T/bdrop" bob "after-fetch = delete"
fetch -v -c "$T/b.conf"
is "after-fetch = delete: exit 0" "$rc" 0
check "40 new" grep -q "bob/INBOX: 40 new" "$T/err"
check "UID EXPUNGE was used" grep -q "C: [0-9]* UID EXPUNGE" "$T/err"
is "the mailbox is empty" "$(imaptool count bob pw2)" 0
is "what was deleted is in the maildrop, byte-exact" \
    "$(drop_hashes "$T/bdrop")" "$(corpus_hashes "$T/b")"
fetch -c "$T/b.conf"
check "after delete, a second run: 0 new" grep -q "bob/INBOX: 0 new" "$T/err"

# fetch = all: mail already read in another client is fetched too.
python3 tests/mkcorpus.py --prefix c --seed 14 "$T/c" 6
cyrus_put carol "$T/c/c00000.eml" "$T/c/c00001.eml" "$T/c/c00002.eml" \
    "$T/c/c00003.eml"
imaptool see carol pw3
cyrus_put carol "$T/c/c00004.eml" "$T/c/c00005.eml"
is "carol: 4 of 6 already \\Seen" "$(imaptool unseen carol pw3)" 2
cyrus_conf "$T/c.conf" "$T/cdrop" carol "fetch = all"
fetch -c "$T/c.conf"
is "fetch = all: exit 0" "$rc" 0
check "fetch = all: 6 new" grep -q "carol/INBOX: 6 new" "$T/err"
is "fetch = all: the six, byte-exact" "$(drop_hashes "$T/cdrop")" \
    "$(corpus_hashes "$T/c")"
fetch -c "$T/c.conf"
check "fetch = all, second run: 0 new" grep -q "carol/INBOX: 0 new" "$T/err"

# kill -9 in the middle of fetches (a 1 MB message makes them last),
# then a full run: each message exactly once.  killat.py kills a random
# 0..0.4 s after the first file appears in tmp/ (in a batch), or 0..4 ms
# after the first rename into new/ (in the commit: renames, state file,
# STORE).  New mail comes after a run that finished before its kill.
newmail() {
	python3 tests/mkcorpus.py --big 1 --prefix "d$1." \
	    --seed "$((40 + $1))" --mean 12000 "$T/d/$1" "$2"
	cyrus_put dave "$T/d/$1"/*
}
newmail 0 300
cyrus_conf "$T/d.conf" "$T/ddrop" dave
mkmaildir "$T/ddrop"
runas=""
[ "$(id -u)" -ne 0 ] ||
    runas="setpriv --reuid=$TUSER --regid=$TUSER --init-groups --"
killed=0 finished=0 i=0 lost=0
while [ $killed -lt 12 ] && [ $i -lt 40 ]; do
	i=$((i+1))
	if [ $((i % 2)) -eq 1 ]; then
		set -- --watch "$T/ddrop/tmp" --delay-max 0.4
	else
		set -- --watch "$T/ddrop/new" --delay-max 0.004
	fi
	out=$(python3 tests/killat.py "$@" --seed "$i" -- $runas \
	    "$IMAPFETCH" -q -c "$T/d.conf")
	case $out in
	killed) killed=$((killed+1)) ;;
	*) finished=$((finished+1)); newmail "$i" 30 ;;
	esac
	# Wherever the kill landed: nothing \Seen on the server without its
	# copy in the maildrop.
	find "$T/ddrop/new" "$T/ddrop/cur" -type f -exec sha256sum {} + |
	    awk '{print $1}' | sort -u > "$T/h.drop"
	cyrus_hashes dave pw4 INBOX seen > "$T/h.seen" || lost=$((lost+1000))
	lost=$((lost + $(comm -23 "$T/h.seen" "$T/h.drop" | wc -l)))
done
diag "$i runs: $killed killed while running, $finished finished first"
check "at least 12 runs killed while running" test $killed -ge 12
is "after each run: nothing \\Seen that is not in the maildrop" "$lost" 0
fetch -c "$T/d.conf"
is "the full run after the kills exits 0" "$rc" 0
for _d in "$T/d"/*; do corpus_hashes "$_d"; done | sort > "$T/h.all"
is "every message exactly once, byte-exact ($(wc -l < "$T/h.all"))" \
    "$(drop_hashes "$T/ddrop")" "$(cat "$T/h.all")"
is "dave: all \\Seen" "$(imaptool unseen dave pw4)" 0
is "dave: tmp/ empty" "$(ls -A "$T/ddrop/tmp" | wc -l)" 0
fetch -c "$T/d.conf"
check "one more run: 0 new" grep -q "dave/INBOX: 0 new" "$T/err"

# The other separator, unixhierarchysep: yes (upstream Cyrus 3's
# default): the same mailbox is now "INBOX/Sub", a name with a slash.
cyrus_stop
if CYRUS_HIERSEP=/ cyrus_start; then
	python3 tests/mkcorpus.py --prefix u --seed 15 "$T/u" 3
	cyrus_append alice INBOX/Sub "$T"/u/*
	cyrus_conf "$T/u.conf" "$T/udrop" alice "mailboxes = INBOX/Sub"
	fetch -c "$T/u.conf"
	is "INBOX/Sub: exit 0" "$rc" 0
	check "INBOX/Sub: 3 new (the others are \\Seen)" \
	    grep -q "alice/INBOX/Sub: 3 new" "$T/err"
	is "INBOX/Sub byte-exact" "$(drop_hashes "$T/udrop")" \
	    "$(corpus_hashes "$T/u")"
	check "its state file: the slash encoded" test -s \
	    "$T/udrop/.imapfetch/127.0.0.1+$IMAPS_PORT+alice+INBOX%2FSub.state"
else
	nok "cyrus restarts with unixhierarchysep: yes"
fi

cyrus_stop
check "nothing listens after cyrus_stop" \
    sh -c "! ss -Hltn 'sport = :$IMAPS_PORT or sport = :$IMAP_PORT' | grep -q ."

done_testing
