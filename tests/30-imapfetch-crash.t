#!/bin/sh
# Exactly once under kill -9, two accounts into one maildrop: [alice]
# (imap-user alice, after-fetch = seen) and [alice-home] (imap-user bob,
# after-fetch = delete).  1000 messages of mixed sizes (a few of 1 MB) are
# fetched by runs killed at random moments, CRASH_KILLS times (25; 100 in
# make check-long), new mail arriving whenever a run finishes; then kills
# aimed at the commit of either account; then one full run.  Both
# mailboxes have the same UIDVALIDITY: a state shared by the two accounts
# flags or expunges one's messages for the other's.  After the kills no
# message may be \Seen (alice), \Deleted or gone (bob) on the server
# without being in the maildrop; at the end every message is there
# exactly once, byte for byte, tmp/ is empty, alice's mailbox all \Seen,
# bob's empty, each account has its own state file with nothing pending,
# and one more run delivers nothing.
. tests/lib.sh
. tests/lib-dovecot.sh

KILLS=${CRASH_KILLS:-25}
TARGETED=${TARGETED:-12}
DROP=$T/drop
imap_user alice pw1
imap_user bob pw2
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi

# corpus/USER/BATCH/: what was put into USER's INBOX.  The prefixes keep
# the two accounts' messages apart (Subject, Message-ID, so the bytes).
mkdir -p "$T/corpus/alice" "$T/corpus/bob"
python3 tests/mkcorpus.py --edge --big 3 --seed 21 --mean 12000 \
    --prefix a. "$T/corpus/alice/0" 500
python3 tests/mkcorpus.py --edge --big 3 --seed 22 --mean 12000 \
    --prefix b. "$T/corpus/bob/0" 500
imap_put alice "$T"/corpus/alice/0/*
imap_put bob "$T"/corpus/bob/0/*
# The same UIDVALIDITY in both accounts, as two servers may well have
# (Dovecot takes the clock): UID n then names a different message in each,
# and a state that mixed them up would flag or expunge one for the other.
uv=$(imaptool uidvalidity alice pw1)
doveadm -c "$DOVECOT_DIR/dovecot.conf" mailbox update -u bob \
    --uid-validity "$uv" INBOX
is "both accounts have UIDVALIDITY $uv" "$(imaptool uidvalidity bob pw2)" "$uv"

# newmail TAG SEED N [USER...]: N more messages for each USER (both by
# default), a few of them 1 MB.
newmail() {
	_tag=$1 _seed=$2 _nm=$3; shift 3
	[ $# -gt 0 ] || set -- alice bob
	for _u in "$@"; do
		_s=$_seed
		[ "$_u" = bob ] && _s=$((_seed + 50000))
		python3 tests/mkcorpus.py --prefix "$_tag.${_u%"${_u#?}"}." \
		    --seed "$_s" --big 1 --mean 12000 "$T/corpus/$_u/$_tag" "$_nm"
		imap_put "$_u" "$T/corpus/$_u/$_tag"/*
	done
}

# Sorted digests of everything put into USER's mailbox / of all of it.
user_hashes() {
	for _d in "$T/corpus/$1"/*; do corpus_hashes "$_d"; done | sort
}
all_hashes() { { user_hashes alice; user_hashes bob; } | sort; }
nmessages() { find "$T/corpus" -type f | wc -l; }
ndrop() { find "$DROP/new" "$DROP/cur" -type f | wc -l; }

# The config: one maildrop fed by two accounts.  [alice] also logs in to
# popd (password), [alice-home] only fetches.
printf 'pw1\n' > "$T/alice.pass"
printf 'pw2\n' > "$T/bob.pass"
chmod 600 "$T/alice.pass" "$T/bob.pass"
{
	printf '[alice]\npassword = %s\n' "$(hash_password secret)"
	for s in "alice alice alice.pass seen" "alice-home bob bob.pass delete"; do
		set -- $s
		[ "$1" = alice ] || printf '\n[%s]\n' "$1"
		printf 'maildrop = %s\nimap-host = 127.0.0.1\n' "$DROP"
		printf 'imap-port = %s\nimap-ca-file = %s\n' "$IMAPS_PORT" \
		    "$CA_DIR/ca.crt"
		printf 'imap-user = %s\nimap-password-file = %s\n' "$2" "$T/$3"
		printf 'after-fetch = %s\n' "$4"
	done
} > "$T/f.conf"
chown "$TUSER:" "$T/f.conf" "$T/alice.pass" "$T/bob.pass"
fetch -t -c "$T/f.conf"
is "the two-account config is valid" "$rc" 0

# undeleted_hashes USER PASS: digests of USER's messages not \Deleted.
undeleted_hashes() {
	python3 - "$IMAPS_PORT" "$CA_DIR/ca.crt" "$1" "$2" <<'PY'
import hashlib, imaplib, ssl, sys
port, ca, user, pw = sys.argv[1:5]
m = imaplib.IMAP4_SSL("127.0.0.1", int(port),
                      ssl_context=ssl.create_default_context(cafile=ca))
m.login(user, pw)
m.select("INBOX", readonly=True)
typ, data = m.uid("SEARCH", None, "UNDELETED")
for uid in data[0].split():
    typ, d = m.uid("FETCH", uid, "(BODY.PEEK[])")
    print(hashlib.sha256(d[0][1]).hexdigest())
m.logout()
PY
}

# safe TITLE: not one message \Seen at alice, or \Deleted or gone at bob,
# without its copy in the maildrop, wherever the runs were killed.
safe() {
	drop_hashes "$DROP" | sort -u > "$T/h.drop"
	if ! imaptool seen-hashes alice pw1 > "$T/h.aseen" ||
	    ! undeleted_hashes bob pw2 > "$T/h.bkept"; then
		nok "$1: reading the server failed"
		return
	fi
	sort -o "$T/h.aseen" "$T/h.aseen"
	sort -o "$T/h.bkept" "$T/h.bkept"
	user_hashes bob > "$T/h.bob"
	_a=$(comm -23 "$T/h.aseen" "$T/h.drop" | wc -l)
	_b=$(comm -23 "$T/h.bob" "$T/h.bkept" | comm -23 - "$T/h.drop" | wc -l)
	diag "$1: $(wc -l < "$T/h.drop") distinct in the maildrop," \
	    "$(wc -l < "$T/h.aseen") \\Seen at alice," \
	    "$(wc -l < "$T/h.bkept") not \\Deleted at bob"
	is "$1: \\Seen at alice but not in the maildrop" "$_a" 0
	is "$1: \\Deleted or expunged at bob but not in the maildrop" "$_b" 0
}

# The plan, one line per kill, reproducible with CRASH_SEED: "time D"
# (a fifth of them: kill D = 5 to 80 ms after the start: connect, login,
# SELECT, SEARCH, sizes, the first bodies) or "msgs P" (kill once message
# P of the first fetch has begun to arrive, and 0 to 3 ms later).  The
# first fetch is the 1000 and the new mail that arrives meanwhile (10 +
# 10 after every fifth kill).  The P are random and sorted: the kills
# spread over the whole fetch, alice's part and bob's, in a batch or in
# its commit, whatever the speed of the machine.  Once the first fetch
# is done, "msgs" kills land in the first 40 messages of a run.
seed=${CRASH_SEED:-$$}
nfirst=$((1000 + KILLS / 5 * 20))
python3 -c "
import random, sys
r = random.Random(int(sys.argv[1]))
k, n = int(sys.argv[2]), int(sys.argv[3])
pos = sorted(r.randint(1, n) for _ in range(k))
for p in pos:
    if r.random() < 0.2:
        print('time %.3f' % r.uniform(0.005, 0.08))
    else:
        print('msgs %d' % p)
" "$seed" "$KILLS" "$nfirst" > "$T/plan"

# killrun SEED MODE ARG: one whole imapfetch run (both sections), killed
# with SIGKILL as the plan says.  "msgs P": the maildrop holds D messages
# when the run starts; the kill comes when P - D new names have appeared
# in tmp/.  Prints "killed N" (N: D + the messages this run began to
# receive), or "exit RC" when it ended before the kill.
killrun() {
	python3 - "$DROP" "$T/bg-err" "$@" $runas "$IMAPFETCH" -q \
	    -c "$T/f.conf" <<'PY'
import os, random, signal, subprocess, sys, time
drop, errf, seed, mode, arg = sys.argv[1:6]
cmd = sys.argv[6:]
r = random.Random(int(seed))
def ls(d):
    try:
        return set(os.listdir(os.path.join(drop, d)))
    except FileNotFoundError:
        return set()
old, seen, d = ls("tmp"), set(), len(ls("new"))
if mode == "time":
    arg = float(arg)
else:
    arg = int(arg) - d
    if arg < 1:
        arg = r.randint(1, 40)
t0 = time.monotonic()
with open(errf, "ab") as err:
    p = subprocess.Popen(cmd, stderr=err)
while p.poll() is None:
    seen |= ls("tmp") - old
    if mode == "time":
        if time.monotonic() - t0 >= arg:
            break
    else:
        if len(seen) >= arg:
            time.sleep(r.uniform(0, 0.003))
            break
    time.sleep(0.0005)
if p.poll() is None:
    os.kill(p.pid, signal.SIGKILL)
p.wait()
if p.returncode == -signal.SIGKILL:
    print("killed %d" % (d + len(seen)))
else:
    print("exit %d" % p.returncode)
PY
}

if [ "$(id -u)" -eq 0 ]; then
	runas="setpriv --reuid=$TUSER --regid=$TUSER --init-groups --"
else
	runas=""
fi

# A kill counts when it hit a running imapfetch (SIGKILL reported); a run
# that ended first takes the same line of the plan again.  At most
# 8 x CRASH_KILLS runs.  New mail arrives after every fifth kill and after
# each run that finished.
diag "CRASH_SEED=$seed CRASH_KILLS=$KILLS TARGETED=$TARGETED"
: > "$T/bg-err"
live=0 runs=0 finished=0 failed=0 first= ka=0 kb=0
while [ "$live" -lt "$KILLS" ] && [ "$runs" -lt $((KILLS * 8)) ]; do
	runs=$((runs+1))
	out=$(killrun $((seed * 1000 + runs)) \
	    $(sed -n "$((live + 1))p" "$T/plan"))
	case $out in
	killed*)
		live=$((live+1))
		if [ "${out#killed }" -le $((nfirst / 2)) ]; then ka=$((ka+1))
		elif [ "${out#killed }" -le "$nfirst" ]; then kb=$((kb+1)); fi
		# New mail now and then, between two killed runs too.
		[ $((live % 5)) -ne 0 ] || newmail "k$live" $((200 + live)) 10
		;;
	"exit 0")
		# It fetched everything: new mail for the next runs.
		finished=$((finished+1))
		[ -n "$first" ] || first=$live
		newmail "r$runs" "$runs" 30
		;;
	*) failed=$((failed+1)); diag "run $runs: $out" ;;
	esac
done
[ -n "$first" ] || first=$live
diag "$first kills during the first fetch ($nfirst messages): $ka in its" \
    "first half (alice's part, mostly), $kb in the second"
diag "$runs runs: $live killed while running, $finished finished," \
    "$failed failed"
check "at least $KILLS runs killed while running" test "$live" -ge "$KILLS"
is "no run failed but by the kill" "$failed" 0
check "killed runs printed nothing (-q)" sh -c "! grep -q . '$T/bg-err'"
[ -s "$T/bg-err" ] && diag "$(head -20 "$T/bg-err")"
safe "after the random kills"

# Targeted kills: just after the first rename into new/, a few ms later,
# i.e. inside the commit (renames, state file, flags or expunge on the
# server).  New mail for alice, for bob alone (so the kill lands in
# [alice-home]'s commit), or for both, in turn.
targeted=0 i=0
while [ $i -lt "$TARGETED" ]; do
	i=$((i+1))
	case $((i % 3)) in
	1) newmail "t$i" $((100 + i)) 40 alice ;;
	2) newmail "t$i" $((100 + i)) 40 bob ;;
	0) newmail "t$i" $((100 + i)) 30 ;;
	esac
	out=$(python3 tests/killat.py --watch "$DROP/new" --delay-max 0.004 \
	    --seed "$i" -- $runas "$IMAPFETCH" -q -c "$T/f.conf")
	[ "$out" = killed ] && targeted=$((targeted+1))
done
diag "$targeted targeted kills during the commit"
check "targeted kills happened" test "$targeted" -ge $((TARGETED / 2))
safe "after the targeted kills"

fetch -c "$T/f.conf"
is "the full run exits 0" "$rc" 0
[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
n=$(nmessages) na=$(user_hashes alice | wc -l) nb=$(user_hashes bob | wc -l)
all_hashes > "$T/h.want"
drop_hashes "$DROP" > "$T/h.got"
lost=$(comm -23 "$T/h.want" "$T/h.got" | wc -l)
dup=$(comm -13 "$T/h.want" "$T/h.got" | wc -l)
diag "kills: $live random + $targeted targeted; messages: $n" \
    "(alice $na, bob $nb); lost: $lost, duplicated: $dup"
is "0 lost" "$lost" 0
is "0 duplicated" "$dup" 0
check "every message exactly once, byte for byte" cmp -s "$T/h.want" "$T/h.got"
is "as many files as messages" "$(ndrop)" "$n"
is "tmp/ empty" "$(ls -A "$DROP/tmp" | wc -l)" 0
is "alice's server: all \\Seen" "$(imaptool unseen alice pw1)" 0
is "alice's server: all still there" "$(imaptool count alice pw1)" "$na"
is "bob's server: empty (after-fetch = delete)" "$(imaptool count bob pw2)" 0
set -- "$DROP"/.imapfetch/*.state
check "state files exist" test -f "$1"
check "state: nothing pending" sh -c '! grep -q "^pending" "$@"' sh "$@"
for u in alice bob; do
	is "one state file for $u" \
	    "$(grep -l "^account [^ ]* $IMAPS_PORT $u INBOX\$" "$@" | wc -l)" 1
done
check "names carry ,S= and ,W=" check_names "$DROP"

fetch -c "$T/f.conf"
is "one more run exits 0" "$rc" 0
check "one more run: [alice] 0 new" grep -q "alice/INBOX: 0 new" "$T/err"
check "one more run: [alice-home] 0 new" \
    grep -q "alice-home/INBOX: 0 new" "$T/err"
is "one more run: still as many files as messages" "$(ndrop)" "$n"

done_testing
