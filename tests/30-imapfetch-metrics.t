#!/bin/sh
# imapfetch's metrics-file against a real Dovecot: series per account and
# mailbox; counters carried from run to run through the file; failures
# counted by kind (auth, network, tempfail); the last success kept through
# failures; a run of one account keeping the other's series as they were;
# a mailbox name with '"', '\' and a blank, escaped; the file replaced
# whole, readable by the node exporter whatever the umask; a damaged or
# foreign file ignored with a warning; two runs at once (imapfetch@.timer)
# and -j both counted.  promtool check metrics reads every file written.
. tests/lib.sh
. tests/lib-dovecot.sh
need flock stat

# promtool is in Debian's "prometheus".  Installed here only when missing
# and apt can: without starting or enabling its server.
PROMTOOL=$(command -v promtool || true)
PROMSKIP="promtool not installed (Debian package prometheus)"
install_promtool() {
	_prc=/usr/sbin/policy-rc.d _made=""
	if [ ! -e "$_prc" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$_prc" && chmod 755 "$_prc" &&
		    _made=1
	fi
	for _try in 1 2; do
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		    --no-install-recommends prometheus </dev/null \
		    >"$T/apt.log" 2>&1 && break
		[ $_try = 2 ] || apt-get update -q >>"$T/apt.log" 2>&1
	done
	[ -z "$_made" ] || rm -f "$_prc"
	systemctl disable --quiet --no-reload prometheus.service 2>/dev/null ||
	    rm -f /etc/systemd/system/*.wants/prometheus.service
	command -v promtool
}
if [ -z "$PROMTOOL" ] && [ "$(id -u)" -eq 0 ] &&
    command -v apt-get >/dev/null; then
	if PROMTOOL=$(install_promtool); then
		diag "promtool: installed the Debian package prometheus"
	else
		PROMSKIP="promtool: apt-get install prometheus failed"
	fi
fi

imap_user alice pw-alice
imap_user bob pw-bob
# Folders of alice's Maildir++ (Dovecot's layout: ".NAME").
WEIRD='Q"x\y z'
for f in Work "$WEIRD"; do
	for d in new cur tmp; do mkdir -p "$(imap_maildir alice)/.$f/$d"; done
done
chown -R "$TUSER:" "$(imap_maildir alice)"
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi

# put USER FOLDER TAG N: N new messages in USER's FOLDER ("" = INBOX); the
# corpus stays in $T/c/TAG, for the byte counts.
_seed=10
put() {
	_seed=$((_seed + 1))
	python3 tests/mkcorpus.py --prefix "$3." --seed "$_seed" "$T/c/$3" "$4"
	_d=$(imap_maildir "$1")${2:+/.$2}
	for _f in "$T/c/$3"/*; do
		cp "$_f" "$_d/tmp/put.$$" &&
		    mv "$_d/tmp/put.$$" \
		    "$_d/new/$(date +%s).P$$.$_seed.$(basename "$_f").test"
	done
	chown -R "$TUSER:" "$(imap_maildir "$1")"
}
# bytes TAG...: the size of those corpora.
bytes() { for _t in "$@"; do cat "$T/c/$_t"/*; done | wc -c | tr -d ' '; }

printf 'pw-alice\n' > "$T/alice.pass"
printf 'pw-bob\n' > "$T/bob.pass"
chmod 600 "$T/alice.pass" "$T/bob.pass"
mkdir -p "$T/prom"
chown "$TUSER:" "$T/alice.pass" "$T/bob.pass" "$T/prom"
M=$T/prom/imapfetch.prom
# section NAME DROP PORT [LINE...]
section() {
	printf '\n[%s]\nmaildrop = %s\nimap-host = 127.0.0.1\n' "$1" "$2"
	printf 'imap-port = %s\nimap-ca-file = %s\nimap-user = %s\n' "$3" \
	    "$CA_DIR/ca.crt" "$1"
	printf 'imap-password-file = %s\n' "$T/$1.pass"
	shift 3
	for _l in "$@"; do printf '%s\n' "$_l"; done
}
# mkconf [BOBPORT]: alice (three mailboxes) and bob, metrics-file $M.
mkconf() {
	{
		printf 'metrics-file = %s\n' "$M"
		section alice "$T/adrop" "$IMAPS_PORT" \
		    'mailboxes = "INBOX, Work, Q\"x\\y z"'
		section bob "$T/bdrop" "${1:-$IMAPS_PORT}"
	} > "$T/f.conf"
	chown "$TUSER:" "$T/f.conf"
}
mkconf

# val METRIC [LABELS]: the value of that sample in $M; empty if none.
val() {
	K="$1${2:+{$2\}} " awk 'index($0, ENVIRON["K"]) == 1 {
	    print substr($0, length(ENVIRON["K"]) + 1) }' "$M"
}
# mb ACCOUNT MAILBOX [KIND]: the labels of a series, as the file has them.
mb() {
	printf 'account="%s",mailbox="%s"' "$1" "$2"
	[ $# -lt 3 ] || printf ',kind="%s"' "$3"
}
MW='Q\"x\\y z'			# $WEIRD as a label value
# msgs, bytes, lastok ACCOUNT MAILBOX: those samples of the series.
msgs() { val imapfetch_messages_fetched_total "$(mb "$1" "$2")"; }
bytes_of() { val imapfetch_bytes_fetched_total "$(mb "$1" "$2")"; }
lastok() { val imapfetch_last_success_timestamp_seconds "$(mb "$1" "$2")"; }
# fails ACCOUNT MAILBOX: its failures_total, "kind=n" for each kind.
fails() {
	for _k in network protocol auth local config tempfail; do
		printf '%s=%s ' "$_k" "$(val imapfetch_failures_total \
		    "$(mb "$1" "$2" "$_k")")"
	done
}
NOFAIL="network=0 protocol=0 auth=0 local=0 config=0 tempfail=0 "
# promcheck NAME: promtool check metrics < $M.
promcheck() {
	if [ -z "$PROMTOOL" ]; then skip "$1 ($PROMSKIP)"; return; fi
	if "$PROMTOOL" check metrics < "$M" > "$T/promtool.out" 2>&1; then
		ok "$1"
	else
		nok "$1"; diag "$(cat "$T/promtool.out")"
	fi
}
# between NAME VALUE LO HI
between() {
	if [ -n "$2" ] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then
		ok "$1"
	else
		nok "$1"; diag "got '$2', want $3..$4"
	fi
}

# --- First run: every series, from nothing -------------------------------
put alice "" a1 3
put alice Work w1 2
put alice "$WEIRD" q1 1
put bob "" b1 4
t0=$(date +%s)
fetch -q -c "$T/f.conf"
t1=$(date +%s)
is "first run: exit 0" "$rc" 0
is "first run: nothing on stderr" "$(cat "$T/err")" ""
promcheck "first run: promtool check metrics"
is "one TYPE line per family, in order" \
    "$(grep '^# TYPE ' "$M" | cut -d' ' -f3- | paste -sd' ')" \
    "$(printf 'imapfetch_%s ' last_run_timestamp_seconds\ gauge \
    exit_code\ gauge last_success_timestamp_seconds\ gauge \
    last_run_duration_seconds\ gauge messages_fetched_total\ counter \
    bytes_fetched_total\ counter failures_total\ counter | sed 's/ $//')"
is "one HELP line per family, just before its TYPE" \
    "$(grep '^# ' "$M" | awk '$2 == "HELP" { h = $3; n++ }
    $2 == "TYPE" && h == $3 { k++ } END { print n, k }')" "7 7"
between "last run timestamp" "$(val imapfetch_last_run_timestamp_seconds)" \
    "$t0" "$t1"
is "exit codes" "$(val imapfetch_exit_code 'account="alice"') $(val \
    imapfetch_exit_code 'account="bob"')" "0 0"
is "messages per mailbox" "$(msgs alice INBOX) $(msgs alice Work) $(msgs \
    alice "$MW") $(msgs bob INBOX)" "3 2 1 4"
is "bytes per mailbox" "$(bytes_of alice INBOX) $(bytes_of alice Work) \
$(bytes_of alice "$MW") $(bytes_of bob INBOX)" \
    "$(bytes a1) $(bytes w1) $(bytes q1) $(bytes b1)"
is "bytes: what the maildrop got" \
    "$(grep '^imapfetch_bytes_fetched_total{account="alice",' "$M" |
    awk '{ n += $NF } END { print n + 0 }')" \
    "$(cat "$T"/adrop/new/* | wc -c | tr -d ' ')"
between "last success of alice/Work" "$(lastok alice Work)" "$t0" "$t1"
is "a duration per mailbox, in seconds to the millisecond" "$(grep -c \
    '^imapfetch_last_run_duration_seconds{.*} [0-9]*\.[0-9][0-9][0-9]$' "$M")" 4
is "no failure, each kind written" "$(fails alice "$MW")" "$NOFAIL"
is "4 series x 6 kinds of failure" \
    "$(grep -c '^imapfetch_failures_total{.*} 0$' "$M")" 24
is "the label of '$WEIRD', escaped" "$(grep -cF \
    'imapfetch_messages_fetched_total{account="alice",mailbox="Q\"x\\y z"} 1' \
    "$M")" 1
is "no temporary file left" "$(ls -A "$T/prom")" imapfetch.prom

# --- Counters carried: the file is the state -----------------------------
put alice "" a2 2
ino=$(stat -c %i "$M")
ok_alice=$(lastok alice INBOX)
sleep 1
(umask 077; fetch -q -c "$T/f.conf")
is "second run: exit 0" "$rc" 0
is "messages: carried and added" \
    "$(msgs alice INBOX) $(msgs alice Work) $(msgs bob INBOX)" "5 2 4"
is "bytes: carried and added" "$(bytes_of alice INBOX)" "$(bytes a1 a2)"
is "the escaped series is carried too (read back as written)" \
    "$(msgs alice "$MW")" 1
check "last success moves on" test "$(lastok alice INBOX)" -gt "$ok_alice"
check "the file was replaced (a new inode)" test "$(stat -c %i "$M")" != "$ino"
is "umask 077: still readable by the node exporter" "$(stat -c %a "$M")" 644
promcheck "second run: promtool check metrics"

# --- bob alone, and failing: alice's series stay as they were -----------
grep 'account="alice"' "$M" > "$T/alice.before"
ok_bob=$(lastok bob INBOX)
printf 'wrong\n' > "$T/bob.pass"
sleep 1
t2=$(date +%s)
fetch -q -c "$T/f.conf" bob
is "bob, wrong password: exit 77" "$rc" 77
is "bob: exit code 77" "$(val imapfetch_exit_code 'account="bob"')" 77
is "bob: one auth failure" "$(fails bob INBOX)" \
    "network=0 protocol=0 auth=1 local=0 config=0 tempfail=0 "
is "bob: last success kept" "$(lastok bob INBOX)" "$ok_bob"
is "bob: messages kept" "$(msgs bob INBOX)" 4
check "last run timestamp: this run" \
    test "$(val imapfetch_last_run_timestamp_seconds)" -ge "$t2"
grep 'account="alice"' "$M" > "$T/alice.after"
check "alice's series: kept as they were, byte for byte" \
    cmp -s "$T/alice.before" "$T/alice.after"
promcheck "partial run: promtool check metrics"

# A network failure: nothing listens on bob's port.
mkconf "$(free_port)"
fetch -q -c "$T/f.conf" bob
is "bob, connection refused: exit 69" "$rc" 69
is "bob: then a network failure" "$(fails bob INBOX)" \
    "network=1 protocol=0 auth=1 local=0 config=0 tempfail=0 "
mkconf

# Another run holds bob's lock (state_lock: flock of .imapfetch/lock).
printf 'pw-bob\n' > "$T/bob.pass"
exec 9<"$T/bdrop/.imapfetch/lock"
flock -n 9
fetch -q -c "$T/f.conf" bob
exec 9<&-
is "bob, locked: exit 75" "$rc" 75
is "bob: then a tempfail" "$(fails bob INBOX)" \
    "network=1 protocol=0 auth=1 local=0 config=0 tempfail=1 "
is "bob: exit code 75" "$(val imapfetch_exit_code 'account="bob"')" 75

sleep 1
fetch -q -c "$T/f.conf" bob
is "bob again: exit 0" "$rc" 0
check "bob: last success moves on" test "$(lastok bob INBOX)" -gt "$ok_bob"
is "bob: failures stay counted" "$(fails bob INBOX)" \
    "network=1 protocol=0 auth=1 local=0 config=0 tempfail=1 "
is "bob: exit code 0" "$(val imapfetch_exit_code 'account="bob"')" 0
promcheck "after the failures: promtool check metrics"

# --- Two runs at once, as two imapfetch@.timer do: both counted ---------
for i in 1 2 3 4 5; do
	put alice "" p$i 1
	put bob "" r$i 1
	: > "$T/bg-err"
	fetch_bg -q -c "$T/f.conf" alice
	fetch -q -c "$T/f.conf" bob
	wait "$BGPID"
done
is "two runs at once, five times: nothing lost" \
    "$(msgs alice INBOX) $(msgs bob INBOX)" "10 9"
is "two runs at once: no temporary file left" "$(ls -A "$T/prom")" \
    imapfetch.prom
# imapfetch -j 2: each job writes its own series, the parent the time.
put alice "" j1 1
put bob "" j2 1
t3=$(date +%s)
fetch -q -j 2 -c "$T/f.conf"
is "-j 2: exit 0, nothing said" "$rc $(cat "$T/err")" "0 "
is "-j 2: both accounts counted" "$(msgs alice INBOX) $(msgs bob INBOX)" \
    "11 10"
check "-j 2: the time of this run" \
    test "$(val imapfetch_last_run_timestamp_seconds)" -ge "$t3"
is "-j 2: no temporary file left" "$(ls -A "$T/prom")" imapfetch.prom
promcheck "-j 2: promtool check metrics"
# What makes that so: read, merge and replace under a flock(2) of the
# directory.  While someone holds it, the file stays as it is.
ino=$(stat -c %i "$M")
exec 8<"$T/prom"
flock -n 8
: > "$T/bg-err"
fetch_bg -q -c "$T/f.conf" bob 8<&-
sleep 1
is "directory locked: the file not replaced meanwhile" "$(stat -c %i "$M")" \
    "$ino"
exec 8<&-
wait "$BGPID"
check "lock released: then it is" test "$(stat -c %i "$M")" != "$ino"
is "lock released: no warning" "$(cat "$T/bg-err")" ""

# --- A damaged file: a warning, counters from 0, never a crash ----------
printf '%s{%s} x\n' imapfetch_messages_fetched_total "$(mb alice INBOX)" \
    >> "$M"
put alice "" d1 1
fetch -q -c "$T/f.conf"
is "damaged file: exit 0" "$rc" 0
check "damaged file: a warning naming the line" \
    grep -q "metrics-file $M: line [0-9]*: .*ignored" "$T/err"
is "damaged file: counters start again" \
    "$(msgs alice INBOX) $(fails bob INBOX)" "1 $NOFAIL"
promcheck "after a damaged file: promtool check metrics"
fetch -q -c "$T/f.conf"
is "the next run: no warning" "$(cat "$T/err")" ""

# Another program's file at that path: the same.
printf '# HELP node_x X.\n# TYPE node_x gauge\nnode_x 1\n' > "$M"
fetch -q -c "$T/f.conf"
is "foreign file: exit 0" "$rc" 0
check "foreign file: a warning" grep -q "metrics-file $M: .*ignored" "$T/err"
check "foreign file: replaced by ours" sh -c "! grep -q node_x '$M'"
promcheck "after a foreign file: promtool check metrics"

# imapfetch 0.1's file (per-account gauges): read without a warning,
# its exit codes kept for the account that does not run.
cat > "$M" <<EOF
# HELP imapfetch_last_run_timestamp_seconds When imapfetch last ran.
# TYPE imapfetch_last_run_timestamp_seconds gauge
imapfetch_last_run_timestamp_seconds 1700000000
# HELP imapfetch_exit_code Exit code of the account's last run (0: success).
# TYPE imapfetch_exit_code gauge
imapfetch_exit_code{account="bob"} 69
imapfetch_exit_code{account="alice"} 0
# HELP imapfetch_messages_fetched Messages delivered by the last run.
# TYPE imapfetch_messages_fetched gauge
imapfetch_messages_fetched{account="bob"} 0
imapfetch_messages_fetched{account="alice"} 3
# HELP imapfetch_bytes_fetched Bytes delivered by the last run.
# TYPE imapfetch_bytes_fetched gauge
imapfetch_bytes_fetched{account="bob"} 0
imapfetch_bytes_fetched{account="alice"} 1234
EOF
fetch -q -c "$T/f.conf" alice
is "the file of imapfetch 0.1: exit 0, no warning" "$rc $(cat "$T/err")" "0 "
is "the file of imapfetch 0.1: bob's exit code kept" \
    "$(val imapfetch_exit_code 'account="bob"')" 69
check "the file of imapfetch 0.1: its gauges gone" \
    sh -c "! grep -q '^imapfetch_messages_fetched{' '$M'"
promcheck "after the file of imapfetch 0.1: promtool check metrics"

# --- A section gone from the configuration: its series go too ----------
{ printf 'metrics-file = %s\n' "$M"; section alice "$T/adrop" "$IMAPS_PORT"; } \
    > "$T/g.conf"
chown "$TUSER:" "$T/g.conf"
fetch -q -c "$T/g.conf"
is "section removed: exit 0" "$rc" 0
check "its series are gone" sh -c "! grep -q 'account=\"bob\"' '$M'"
check "so are those of alice's mailboxes no longer fetched" \
    sh -c "! grep -q 'mailbox=\"Work\"' '$M'"
is "alice/INBOX is still there" "$(val imapfetch_exit_code \
    'account="alice"')" 0


# --- --watch: the file after each round, counters carried ---------------
# (alice with INBOX alone: g.conf.)  What is there, then a message the
# watcher learns of by IDLE: each shows in the file while it still runs.
n0=$(msgs alice INBOX) b0=$(bytes_of alice INBOX)
put alice "" wa 2
: > "$T/bg-err"
fetch_bg --watch alice -c "$T/g.conf"
WPID=$BGPID
at_exit 'kill $WPID 2>/dev/null'
# upto N SECONDS: until alice/INBOX shows N messages in the file.
upto() {
	_i=0
	while [ "$(msgs alice INBOX)" != "$1" ] && [ $_i -lt $(($2 * 20)) ]; do
		sleep 0.05; _i=$((_i+1))
	done
	is "$3" "$(msgs alice INBOX)" "$1"
}
upto $((n0 + 2)) 10 "--watch: the first round in the file, carried on"
promcheck "--watch, first round: promtool check metrics"
ino=$(stat -c %i "$M")
put alice "" wb 1
upto $((n0 + 3)) 10 "--watch: the next round (IDLE) in the file, still watching"
check "--watch: still running" kill -0 "$WPID"
check "--watch: the file replaced (a new inode)" \
    test "$(stat -c %i "$M")" != "$ino"
is "--watch: bytes carried and added" "$(bytes_of alice INBOX)" \
    "$((b0 + $(bytes wa wb)))"
is "--watch: exit code 0 in the file" \
    "$(val imapfetch_exit_code 'account="alice"')" 0
is "--watch: no temporary file left" "$(ls -A "$T/prom")" imapfetch.prom
promcheck "--watch, after IDLE: promtool check metrics"
# A server that goes away: the watcher counts the broken connection.
# (Dovecot's imap processes outlive its master: end ours too.)
imaps=$(pgrep -P "$(cat "$DOVECOT_DIR/run/master.pid")" -x imap)
dovecot_stop
[ -z "$imaps" ] || kill -KILL $imaps 2>/dev/null
_i=0
while [ "$(fails alice INBOX)" = "$NOFAIL" ] && [ $_i -lt 200 ]; do
	sleep 0.05; _i=$((_i+1))
done
nf=$(fails alice INBOX | cut -d' ' -f1)
check "--watch: a server gone counts as network failures ($nf)" \
    test "${nf#network=}" -ge 1
is "--watch: no other kind of failure" "$(fails alice INBOX | cut -d' ' -f2-)" \
    "${NOFAIL#network=0 }"
check "--watch: exit code 69 in the file" \
    test "$(val imapfetch_exit_code 'account="alice"')" = 69
promcheck "--watch, after a failure: promtool check metrics"
kill -TERM "$WPID"
wait "$WPID"
is "--watch, SIGTERM: exit 0" "$?" 0
is "--watch: the counters outlive it" "$(msgs alice INBOX)" $((n0 + 3))

done_testing
