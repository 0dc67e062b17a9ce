#!/bin/sh
# Exactly once under kill -9: a few hundred messages (some of 1 MB) are
# fetched by runs killed at random moments, 20 times and more; then one
# full run.  Every message must be in the maildrop exactly once, byte for
# byte, tmp/ empty, the server showing all \Seen, nothing left pending.
. tests/lib.sh
. tests/lib-dovecot.sh

KILLS=${CRASH_KILLS:-25}
imap_user alice pw1
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
mkdir "$T/corpus"
python3 tests/mkcorpus.py --edge --big 15 --seed 21 --mean 12000 "$T/corpus/0" 300
imap_put alice "$T"/corpus/0/*
fetchconf "$T/f.conf" "$T/drop"

# Random delays from 10 to 350 ms, reproducible with CRASH_SEED.
python3 -c "
import random, sys
r = random.Random(int(sys.argv[1]))
for _ in range(int(sys.argv[2]) * 4):
    print('%.3f' % r.uniform(0.01, 0.3))
" "${CRASH_SEED:-$$}" "$KILLS" > "$T/delays"

live=0 runs=0
while read -r d; do
	[ "$live" -ge "$KILLS" ] && break
	fetch_bg -q -c "$T/f.conf"
	pid=$BGPID
	sleep "$d"
	# Count only kills that hit a running process (not a zombie).
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
	killed=0
	if [ -n "$state" ] && [ "$state" != Z ] && kill -9 "$pid" 2>/dev/null; then
		live=$((live+1)) killed=1
	fi
	wait "$pid" 2>/dev/null
	runs=$((runs+1))
	# A run that finished fetched everything: new mail for the next.
	if [ $killed -eq 0 ]; then
		python3 tests/mkcorpus.py --prefix "r$runs." --seed $runs \
		    --big 3 --mean 12000 "$T/corpus/$runs" 60
		imap_put alice "$T"/corpus/$runs/*
	fi
done < "$T/delays"
diag "$runs runs, $live killed while running"
check "at least $KILLS runs killed while running" test "$live" -ge "$KILLS"
check "killed runs only failed by being killed" \
    sh -c "! grep -q . '$T/bg-err'"

# Targeted kills: just after the first rename into new/, a few ms later,
# i.e. inside the commit (renames, state file, flags on the server).
if [ "$(id -u)" -eq 0 ]; then
	runas="setpriv --reuid=$TUSER --regid=$TUSER --init-groups --"
else
	runas=""
fi
targeted=0 i=0
while [ $i -lt "${TARGETED:-12}" ]; do
	i=$((i+1))
	python3 tests/mkcorpus.py --prefix "t$i." --seed $((100 + i)) \
	    --mean 8000 "$T/corpus/t$i" 60
	imap_put alice "$T"/corpus/t$i/*
	out=$(python3 tests/killat.py --watch "$T/drop/new" --delay-max 0.004 \
	    --seed "$i" -- $runas "$IMAPFETCH" -q -c "$T/f.conf")
	[ "$out" = killed ] && targeted=$((targeted+1))
done
diag "$targeted targeted kills during the commit"
check "targeted kills happened" test "$targeted" -ge $(( ${TARGETED:-12} / 2 ))

fetch -c "$T/f.conf"
is "the full run exits 0" "$rc" 0
is "every message exactly once, byte for byte" "$(drop_hashes "$T/drop")" \
    "$(for d in "$T"/corpus/*; do corpus_hashes "$d"; done | sort)"
is "as many files as messages" "$(ls "$T/drop/new" | wc -l)" \
    "$(find "$T/corpus" -type f | wc -l)"
is "tmp/ empty" "$(ls -A "$T/drop/tmp" | wc -l)" 0
is "server: all \\Seen" "$(imaptool unseen alice pw1)" 0
check "state: nothing pending" sh -c "! grep -q '^pending' '$T/drop/.imapfetch/INBOX.state'"
check "names carry ,S= and ,W=" check_names "$T/drop"
fetch -c "$T/f.conf"
check "one more run: 0 new" grep -q "alice/INBOX: 0 new" "$T/err"

done_testing
