#!/bin/sh
# End-to-end: a maildrop of 2000 small messages (a third in cur/, half with
# ,W= in the name).  poplib: STAT, every LIST size, every UIDL (unique),
# RETR of all in one session, then QUIT moves the new/ ones to cur/.  curl:
# the LIST and UIDL listings byte for byte.  mpop: all 2000 delivered
# through its pipelined RETRs, byte-exact as modelled.
. tests/lib.sh
need
N=2000

mkconf "$T/popd.conf" </dev/null
fixtures "$T/alice" --many $N
python3 tests/mkfixtures.py --many $N "$T/ref"
port=$(free_port)
if command -v tcpserver >/dev/null; then kind=tcpserver; else kind=socket-activate; fi
check "popd listening under $kind" serve $kind "$port" "$T/popd.conf"
U="pop3://alice:secret@127.0.0.1:$port"

if command -v curl >/dev/null; then
	python3 - "$T/alice.json" "$T" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
open(sys.argv[2] + "/list", "wb").write(b"".join(b"%d %d\r\n" % (x["n"], x["size"]) for x in m))
open(sys.argv[2] + "/uidl", "wb").write(b"".join(("%d %s\r\n" % (x["n"], x["uidl"])).encode() for x in m))
PY
	curl -sS "$U/" -o "$T/got.list"
	check "curl LIST: $N sizes in order" cmp -s "$T/got.list" "$T/list"
	curl -sS -X UIDL "$U/" -o "$T/got.uidl"
	check "curl UIDL: $N UIDLs in order" cmp -s "$T/got.uidl" "$T/uidl"
else
	skip "curl not installed"; skip "curl not installed"
fi

if command -v mpop >/dev/null; then
	mkdir -p "$T/mp/home" "$T/mp/out/new" "$T/mp/out/cur" "$T/mp/out/tmp"
	chown -R "$TUSER:" "$T/mp"
	as_user env HOME="$T/mp/home" USER="$TUSER" mpop --host=127.0.0.1 --port="$port" \
	    --tls=off --auth=user --user=alice --passwordeval='echo secret' --keep \
	    --uidls-file="$T/mp/uidls" --delivery=maildir,"$T/mp/out" -q >"$T/mp/log" 2>&1
	is "mpop --keep of $N messages: exit 0" "$?" 0
	tap_import python3 tests/pop3check.py --manifest "$T/ref.json" --out "$T/mp/out" mpop
	# mpop's RETRs moved the new/ ones; start poplib from fresh fixtures.
	fixtures "$T/alice" --many $N
else
	skip "mpop not installed"
fi

tap_import python3 tests/pop3check.py --port "$port" --manifest "$T/alice.json" many
serve_stop
done_testing
