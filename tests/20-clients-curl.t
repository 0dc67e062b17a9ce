#!/bin/sh
# End-to-end: curl's POP3 client against popd under systemd-socket-activate
# --inetd (one popd per connection, as a socket unit with Accept=yes).
#
# curl 7.88 (Debian 12), as observed and as its pop3.c does it: RETR output
# is the message with CRLF line ends kept and the dot-stuffing undone, i.e.
# exactly the wire form, except that an empty message comes out as "\r\n"
# (curl assumes a CRLF before the body and writes it when the terminating
# "." line follows at once).  A URL without a message number sends LIST;
# -X CMD sends CMD and prints its multi-line answer; -l /N sends LIST N
# (single-line, shown only in -v's trace); -X DELE -I /N deletes N.  curl
# authenticates with SASL PLAIN when CAPA offers it: "AUTH PLAIN", then the
# credentials after the "+ " continuation, or on the AUTH line with --sasl-ir.
. tests/lib.sh
need curl

mkconf "$T/popd.conf" </dev/null
fixtures "$T/alice"
python3 tests/mkfixtures.py --expected "$T/alice.json" "$T/want"
count=$(ls "$T/want" | wc -l)
port=$(free_port)
if [ "$(command -v systemd-socket-activate)" ]; then kind=socket-activate; else kind=tcpserver; fi
check "popd listening under $kind" serve $kind "$port" "$T/popd.conf"
U="pop3://alice:secret@127.0.0.1:$port"
crlf() { printf '%s\r\n' "$@"; }

# Listings: LIST (no message number), -X LIST, -X UIDL, byte for byte.
python3 - "$T/alice.json" "$T" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
open(sys.argv[2] + "/list", "wb").write(b"".join(b"%d %d\r\n" % (x["n"], x["size"]) for x in m))
open(sys.argv[2] + "/uidl", "wb").write(b"".join(("%d %s\r\n" % (x["n"], x["uidl"])).encode() for x in m))
PY
curl -sS "$U/" -o "$T/got.list"
check "curl LIST equals the sizes in order" cmp "$T/got.list" "$T/list"
curl -sS -X LIST "$U/" -o "$T/got.xlist"
check "curl -X LIST equals the sizes in order" cmp "$T/got.xlist" "$T/list"
curl -sS -X UIDL "$U/" -o "$T/got.uidl"
check "curl -X UIDL equals the UIDLs in order" cmp "$T/got.uidl" "$T/uidl"
size3=$(sed -n 3p "$T/list" | tr -d '\r')
curl -sSv -l "$U/3" -o /dev/null 2>"$T/trace.l"
is "curl -l /3 (LIST 3)" "$(grep '^< +OK' "$T/trace.l" | tail -1 | tr -d '\r')" "< +OK $size3"

# RETR every message, exact bytes.
n=1
while [ $n -le "$count" ]; do
	curl -sS "$U/$n" -o "$T/got.$n"; rc=$?
	if [ -s "$T/want/$n" ]; then cp "$T/want/$n" "$T/want.$n"; else crlf "" > "$T/want.$n"; fi
	if [ $rc -eq 0 ] && cmp -s "$T/got.$n" "$T/want.$n"; then
		ok "curl RETR $n: exact wire form"
	else
		nok "curl RETR $n: exact wire form (curl exit $rc)"
		diag "$(cmp "$T/got.$n" "$T/want.$n" 2>&1)"
	fi
	n=$((n+1))
done
big=$(python3 -c 'import json,sys; print([m["n"] for m in json.load(open(sys.argv[1])) if m["tag"] == "big"][0])' "$T/alice.json")
is "curl: the 5 MB message's size equals LIST" "$(wc -c < "$T/got.$big" | tr -d ' ')" "$(sed -n "${big}p" "$T/list" | cut -d' ' -f2 | tr -d '\r')"

# TOP through -X, and the SASL forms curl uses.
curl -sS -X "TOP 1 0" "$U/" -o "$T/got.top"
python3 -c 'import sys; sys.path.insert(0, "tests"); import mkfixtures as m
sys.stdout.buffer.write(m.top(open(sys.argv[1], "rb").read(), 0))' "$T/want/1" > "$T/want.top"
check "curl -X 'TOP 1 0': headers and the blank line" cmp "$T/got.top" "$T/want.top"
curl -sSv "$U/1" -o "$T/got.sasl" 2>"$T/trace.sasl"
check "curl used AUTH PLAIN with the '+ ' continuation" \
    grep -q '^> AUTH PLAIN.$' "$T/trace.sasl"
check "... and got the message" cmp "$T/got.sasl" "$T/want.1"
curl -sSv --sasl-ir "$U/1" -o "$T/got.sasl" 2>"$T/trace.sasl"
check "curl --sasl-ir used AUTH PLAIN with an initial response" \
    grep -q '^> AUTH PLAIN AGFsaWNlAHNlY3JldA==' "$T/trace.sasl"
check "... and got the message" cmp "$T/got.sasl" "$T/want.1"
curl -sS "pop3://alice:wrong@127.0.0.1:$port/1" -o /dev/null 2>/dev/null
is "curl with a wrong password: exit 67 (login denied)" "$?" 67

# DELE through -X DELE -I: applied at curl's QUIT, the rest renumbered.
f1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["path"])' "$T/alice.json")
curl -sS -X DELE -I "$U/1"
is "curl -X DELE -I /1: exit 0" "$?" 0
check "message 1's file is gone" test ! -e "$T/alice/$f1"
curl -sS "$U/1" -o "$T/got.after"
check "message 2 is now number 1" cmp "$T/got.after" "$T/want.2"
serve_stop
done_testing
