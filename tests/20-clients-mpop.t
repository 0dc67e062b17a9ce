#!/bin/sh
# End-to-end: mpop against popd under systemd-socket-activate --inetd,
# delivering into a Maildir.
#
# What mpop 1.4 (Debian 12) changes, modelled exactly by pop3check.py: it
# prepends a Received: header of three lines,
#     Received: from 127.0.0.1 (localhost [127.0.0.1])
#     <TAB>by HOST (mpop-1.4.18) with POP3
#     <TAB>for <USER>; DATE
# and turns each line's CRLF into LF (a lone CR stays).  Nothing else: no
# blank line is added to a headers-only message, an empty message is just
# that header.  It names delivered files TIME.M<usec>P<pid>Q<n>.HOST, n
# counting deliveries, which gives the order back.  mpop sends CAPA, then
# pipelines its commands (popd offers PIPELINING).
. tests/lib.sh
need mpop

mkconf "$T/popd.conf" </dev/null
fixtures "$T/alice"
# The same fixtures again, untouched, to compare with after popd deleted them.
python3 tests/mkfixtures.py "$T/ref"
port=$(free_port)
if command -v systemd-socket-activate >/dev/null; then kind=socket-activate; else kind=tcpserver; fi
check "popd listening under $kind" serve $kind "$port" "$T/popd.conf"

MP="$T/mp"
mkdir -p "$MP/home" "$MP/out1/new" "$MP/out1/cur" "$MP/out1/tmp" \
    "$MP/out2/new" "$MP/out2/cur" "$MP/out2/tmp"
chown -R "$TUSER:" "$MP"
# mpop RUN OUTDIR OPTION...: one mpop run, command line only (--host), as the
# test user; its -d trace goes to $MP/log.RUN.
run_mpop() {
	_run=$1 _out=$2; shift 2
	as_user env HOME="$MP/home" USER="$TUSER" mpop --host=127.0.0.1 --port="$port" \
	    --tls=off --user=alice --passwordeval='echo secret' \
	    --uidls-file="$MP/uidls" --delivery=maildir,"$_out" -d "$@" \
	    >"$MP/log.$_run" 2>&1
}
showlog() { diag "mpop log:"; tail -n 15 "$MP/log.$1" | while IFS= read -r l; do diag "$l"; done; }
uidls() { LC_ALL=C sort; }

# keep, USER/PASS: everything, and popd files the retrieved ones in cur/.
run_mpop keep "$MP/out1" --auth=user --keep; rc=$?
is "mpop --keep --auth=user: exit 0" "$rc" 0 || showlog keep
check "mpop logged in with USER/PASS" grep -q '^--> PASS' "$MP/log.keep"
tap_import python3 tests/pop3check.py --manifest "$T/ref.json" --out "$MP/out1" mpop
tap_import python3 tests/pop3check.py --manifest "$T/alice.json" kept
python3 -c 'import json,sys; [print(m["uidl"]) for m in json.load(open(sys.argv[1]))]' \
    "$T/ref.json" | uidls > "$MP/want.uidls"
grep -v '^[# ]' "$MP/uidls" | uidls > "$MP/got.uidls"
check "mpop's UIDLS file holds exactly popd's UIDLs" cmp -s "$MP/got.uidls" "$MP/want.uidls"

# Again: nothing is new, since the UIDLs did not change with the move to cur/.
run_mpop again "$MP/out1" --auth=user --keep; rc=$?
is "mpop again: exit 0" "$rc" 0 || showlog again
is "... and delivered nothing more" "$(ls "$MP/out1/new" | wc -l)" "$(wc -l < "$MP/want.uidls")"

# Everything once more, SASL PLAIN, not kept: RETR, DELE, QUIT.
run_mpop flush "$MP/out2" --auth=plain --only-new=off --keep=off; rc=$?
is "mpop --auth=plain --only-new=off: exit 0" "$rc" 0 || showlog flush
check "mpop logged in with AUTH PLAIN" grep -q '^--> AUTH PLAIN' "$MP/log.flush"
tap_import python3 tests/pop3check.py --manifest "$T/ref.json" --out "$MP/out2" mpop
tap_import python3 tests/pop3check.py --manifest "$T/alice.json" gone
serve_stop
done_testing
