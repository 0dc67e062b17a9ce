#!/bin/sh
# Faults between imapfetch and a real Dovecot (tests/faultproxy.py on
# the plain IMAP port, imap-tls = none, imap-timeout = 1): the link cut
# inside a body literal, before and during the UID STORE, a server that
# stalls or trickles mid-literal, a corrupt literal marker.  Each faulty
# run has its exit code; after it nothing is lost (a message is in the
# maildrop or unseen on the server), nothing is flagged that is not in
# the maildrop, no partial file is in new/; the next run through the same
# proxy (now faithful) delivers everything exactly once.
. tests/lib.sh
. tests/lib-dovecot.sh

CASES="cutlit cutbig cutstore0 cutstore1 cutstoredel stall trickle corrupt"
for u in $CASES; do imap_user "$u" pw; done
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
# 40 messages, 4 of them 200 KB: their literals span many reads.
python3 tests/mkcorpus.py --seed 31 --mean 8000 --big 4 --bigsize 200000 \
    "$T/corpus" 40
corpus_hashes "$T/corpus" > "$T/corpus.h"
for u in $CASES; do imap_put "$u" "$T"/corpus/*; done

_proxy=""
proxy_stop() {
	[ -n "$_proxy" ] || return 0
	kill "$_proxy" 2>/dev/null
	wait "$_proxy" 2>/dev/null
	_proxy=""
}
at_exit proxy_stop

# The sha256 of the messages on the server, in Dovecot's Maildir: "live"
# (not \Deleted) and unseen ones, or those flagged \Deleted.
server_hashes() {
	python3 - "$(imap_maildir "$1")" "$2" <<'PY'
import hashlib, os, sys
d, want = sys.argv[1], sys.argv[2]
for sub in ("new", "cur"):
    for f in os.listdir(os.path.join(d, sub)):
        flags = f.split(":2,", 1)[1] if ":2," in f else ""
        deleted = "T" in flags
        if (want == "deleted") == deleted and (deleted or "S" not in flags):
            print(hashlib.sha256(open(os.path.join(d, sub, f), "rb").read()).hexdigest())
PY
}

# invariants NAME USER DROP: what the server holds, then the checks of
# lib-dovecot.sh.  Expunged from the server (in the corpus, no longer
# there) counts as deleted.
invariants() {
	imaptool seen-hashes "$2" pw > "$T/$1.seen"
	server_hashes "$2" unseen > "$T/$1.unseen"
	server_hashes "$2" deleted > "$T/$1.deleted"
	cat "$T/$1.unseen" "$T/$1.seen" "$T/$1.deleted" > "$T/$1.all"
	lines_missing "$T/corpus.h" "$T/$1.all" >> "$T/$1.deleted"
	check_invariants "$1" "$3"
}

# fault NAME WANT FAULT [PROXY ARGS...] [-- CONF LINES...]: one faulty run
# (exit WANT: "69" or "69|76"), the invariants, then a healthy run.
fault() {
	name=$1 want=$2 flt=$3; shift 3
	pargs=""
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pargs="$pargs $1"; shift; done
	[ $# -gt 0 ] && shift
	drop=$T/$name.md
	pport=$(free_port)
	python3 tests/faultproxy.py --port "$pport" --upstream "$IMAP_PORT" \
	    --log "$T/$name.plog" --fault "$flt" $pargs &
	_proxy=$!
	wait_port "$pport"
	IMAP_LOGIN=$name IMAP_PASSWORD=pw fetchconf "$T/$name.conf" "$drop" \
	    "imap-tls = none" "imap-timeout = 1" "$@"
	sed -i "s/^imap-port = .*/imap-port = $pport/" "$T/$name.conf"
	t0=$(date +%s)
	# Bounded: a run that never gives up is a failure, not a hang.
	as_user timeout 20 "$IMAPFETCH" -c "$T/$name.conf" 2>"$T/$name.err1"
	rc=$? t1=$(date +%s)
	case "|$want|" in
	*"|$rc|"*) ok "$name: faulty run exits $rc ($((t1 - t0)) s)" ;;
	*) nok "$name: faulty run exits $want"; diag "got $rc" \
	    "$(cat "$T/$name.err1")" ;;
	esac
	check "$name: the fault struck" grep -q fired "$T/$name.plog"
	diag "$(grep fired "$T/$name.plog")"
	invariants "$name" "$name" "$drop"
	fetch -c "$T/$name.conf"
	cp "$T/err" "$T/$name.err2"
	is "$name: healthy run exits 0" "$rc" 0
	[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
	check "$name: healthy run went through the proxy, faithful" \
	    grep -q "faithful" "$T/$name.plog"
	is "$name: every message exactly once" "$(drop_hashes "$drop")" \
	    "$(cat "$T/corpus.h")"
	is "$name: tmp/ empty" "$(ls -A "$drop/tmp" | wc -l)" 0
	case " $* " in
	*"after-fetch = delete"*)
		is "$name: server: all gone" "$(imaptool count "$name" pw)" 0 ;;
	*)	is "$name: server: all \\Seen" "$(imaptool unseen "$name" pw)" 0 ;;
	esac
	proxy_stop
}

# The link cut in the middle of the first body literal: nothing whole
# came, nothing is delivered or flagged.
fault cutlit 69 cut-literal --at 1
is "cutlit: nothing flagged" "$(wc -l < "$T/cutlit.seen")" 0

# Cut in the middle of the second 200 KB message: what came whole before
# it is delivered (not flagged: the link is gone), the rest is not.
fault cutbig 69 cut-literal --at 2 --min-literal 150000
n=$(wc -l < "$T/cutbig.drop")
check "cutbig: what came whole was delivered ($n)" test "$n" -gt 0 -a "$n" -lt 40

# Cut before the UID STORE reaches the server: all delivered, nothing
# flagged; the next run flags them and fetches nothing.
fault cutstore0 69 cut-before-store
is "cutstore0: all delivered by the faulty run" "$(wc -l < "$T/cutstore0.drop")" 40
is "cutstore0: nothing flagged by it" "$(wc -l < "$T/cutstore0.seen")" 0
check "cutstore0: the healthy run fetched nothing new" \
    grep -q "alice/INBOX: 0 new" "$T/cutstore0.err2"

# The STORE reached the server, its answer did not reach imapfetch.
fault cutstore1 69 cut-during-store
is "cutstore1: all delivered by the faulty run" "$(wc -l < "$T/cutstore1.drop")" 40
is "cutstore1: all flagged on the server" "$(wc -l < "$T/cutstore1.seen")" 40

# The same with after-fetch = delete: \Deleted but not expunged; the
# next run expunges them.
fault cutstoredel 69 cut-during-store -- "after-fetch = delete"
is "cutstoredel: all delivered by the faulty run" "$(wc -l < "$T/cutstoredel.drop")" 40
is "cutstoredel: all flagged \\Deleted" "$(wc -l < "$T/cutstoredel.deleted")" 40

# The server stops sending mid-literal: imapfetch gives up after
# imap-timeout (1 s), not much later.
fault stall 69 stall --at 1 --min-literal 150000
check "stall: gave up within 5 s" test $((t1 - t0)) -le 5
check "stall: says timed out" grep -qi "timed out\|timeout" "$T/stall.err1"

# The server trickles one byte every 0.3 s: each read is within
# imap-timeout, the command's deadline (5 s + 1 s per 8 KiB) ends it.
fault trickle 69 trickle --at 1 --bytes 100
check "trickle: says deadline" grep -q "deadline" "$T/trickle.err1"
check "trickle: gave up within 15 s" test $((t1 - t0)) -le 15

# A literal marker "{123x}": a protocol error (76), or the link given up
# (69); whichever, nothing lost, nothing flagged that is not delivered.
fault corrupt "69|76" corrupt --at 2

done_testing
