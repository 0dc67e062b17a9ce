#!/bin/sh
# End-to-end TLS with real clients that verify popd's certificate against a
# test CA: openssl s_client (pop3s and -starttls pop3), curl (pop3s:// and
# pop3:// with --ssl-reqd), Python poplib (POP3_SSL and stls()), mpop
# (--tls-starttls=off and on).  popd runs under systemd-socket-activate
# --inetd, one process per connection, as units/pop3s@.service runs it.
# The certificate is signed by an intermediate CA and only the root is
# trusted, so each verified connection also shows that popd serves the
# whole chain from tls-cert.
. tests/lib.sh
. tests/lib-tls.sh
need openssl systemd-socket-activate

PKI=$T/pki
check "test PKI: root, intermediate, localhost" mkpki "$PKI"
fixtures "$T/alice"
python3 tests/mkfixtures.py --expected "$T/alice.json" "$T/want"
count=$(ls "$T/want" | wc -l)
mkconf "$T/popd.conf" <<EOF
tls-cert = $PKI/fullchain.pem
tls-key = $PKI/key.pem
EOF
check "pop3s listener (popd --tls)" tls_serve P3S "$T/popd.conf" --tls
check "pop3 listener (STLS)" tls_serve P3 "$T/popd.conf"
crlf() { printf '%s\r\n' "$@"; }

# openssl s_client, pop3s: verified chain, TLS 1.3, a session in TLS.
crlf CAPA "USER alice" "PASS secret" "RETR 1" QUIT |
    s_client -connect "127.0.0.1:$P3S" > "$T/s1"
tr -d '\r' < "$T/s1" > "$T/s1.txt"
check "s_client pop3s: Verify return code: 0 (ok)" \
    grep -q '^Verify return code: 0 (ok)' "$T/s1.txt"
check "s_client pop3s: TLSv1.3 by default" \
    grep -q '^New, TLSv1.3, Cipher is TLS_' "$T/s1.txt"
check "s_client pop3s: the intermediate is served" \
    grep -q '^ 1 s:CN = popd test intermediate CA' "$T/s1.txt"
check "s_client pop3s: greeting under TLS" grep -q '^+OK popd ready' "$T/s1.txt"
check "s_client pop3s: CAPA has USER" grep -qx 'USER' "$T/s1.txt"
check "s_client pop3s: CAPA has no STLS" sh -c "! grep -q '^STLS' '$T/s1.txt'"
check "s_client pop3s: login" grep -q '^+OK alice has' "$T/s1.txt"
check "s_client pop3s: QUIT" grep -q '^+OK popd signing off' "$T/s1.txt"
diag "s_client pop3s: $(grep -m1 '^New, ' "$T/s1.txt"), $(grep -m1 '^Verify return code' "$T/s1.txt")"

# s_client -starttls pop3: STLS offered, then a verified TLS 1.3 session.
crlf CAPA QUIT | s_client -connect "127.0.0.1:$P3" -starttls pop3 |
    tr -d '\r' > "$T/s2.txt"
check "s_client -starttls pop3: Verify return code: 0 (ok)" \
    grep -q '^Verify return code: 0 (ok)' "$T/s2.txt"
check "s_client -starttls pop3: TLSv1.3" \
    grep -q '^New, TLSv1.3, Cipher is TLS_' "$T/s2.txt"
check "s_client -starttls pop3: CAPA after STLS has no STLS" \
    sh -c "grep -q '^+OK Capability' '$T/s2.txt' && ! grep -q '^STLS' '$T/s2.txt'"

# TLS 1.2: an ECDHE suite with AEAD, whatever the client prefers.
crlf QUIT | s_client -connect "127.0.0.1:$P3S" -tls1_2 | tr -d '\r' > "$T/s3.txt"
cipher=$(sed -n 's/^New, TLSv1.2, Cipher is //p' "$T/s3.txt" | head -1)
case $cipher in
ECDHE-*-GCM-*|ECDHE-*-CHACHA20-*) ok "s_client -tls1_2: $cipher" ;;
*) nok "s_client -tls1_2: ECDHE AEAD cipher"; diag "got '$cipher'" ;;
esac
check "s_client -tls1_2: verified" grep -q 'Verify return code: 0 (ok)' "$T/s3.txt"

# No resumption: every popd is a new process, a ticket buys nothing.
for v in -tls1_3 -tls1_2; do
	crlf QUIT | s_client -connect "127.0.0.1:$P3S" $v -sess_out "$T/sess" >/dev/null
	crlf QUIT | s_client -connect "127.0.0.1:$P3S" $v -sess_in "$T/sess" |
	    tr -d '\r' > "$T/resume"
	check "s_client $v -sess_in: a new session, not resumed" grep -q '^New, ' "$T/resume"
done

# curl pop3s:// (IP SAN 127.0.0.1) and pop3:// + STLS: every fixture
# message byte for byte (a 5 MB one too), see 20-clients-curl.t.
bad=0 n=1
while [ $n -le "$count" ]; do
	if [ -s "$T/want/$n" ]; then cp "$T/want/$n" "$T/want.$n"; else crlf "" > "$T/want.$n"; fi
	timeout 20 curl -sS --cacert "$PKI/ca.pem" \
	    "pop3s://alice:secret@127.0.0.1:$P3S/$n" -o "$T/got.$n" &&
	    cmp -s "$T/got.$n" "$T/want.$n" || { bad=$((bad+1)); diag "pop3s RETR $n differs"; }
	n=$((n+1))
done
is "curl pop3s://: RETR of $count messages byte-exact" "$bad" 0
timeout 20 curl -sS --ssl-reqd --cacert "$PKI/ca.pem" \
    "pop3://alice:secret@127.0.0.1:$P3/1" -o "$T/got.stls"
check "curl pop3:// --ssl-reqd (STLS): RETR 1 byte-exact" cmp -s "$T/got.stls" "$T/want.1"
timeout 20 curl -sS "pop3s://alice:secret@127.0.0.1:$P3S/1" -o /dev/null 2>/dev/null
check "curl with the system CAs refuses the test certificate" test $? -ne 0

# Python poplib with a verifying context, pop3s and STLS.
timeout 30 python3 - "$P3S" "$P3" "$PKI/ca.pem" "$T/want/1" > "$T/py" 2>&1 <<'PY'
import poplib, ssl, sys
p3s, p3, ca, want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], open(sys.argv[4], "rb").read()
def t(cond, name):
    print(("ok - " if cond else "not ok - ") + name)
ctx = ssl.create_default_context(cafile=ca)
def session(p, how):
    caps = p.capa()
    t("STLS" not in caps and "USER" in caps, how + ": CAPA under TLS: USER, no STLS")
    p.user("alice"); p.pass_("secret")
    _, lines, _ = p.retr(1)
    t(b"".join(l + b"\r\n" for l in lines) == want, how + ": RETR 1 byte-exact")
    t(p.sock.version() == "TLSv1.3", how + ": " + p.sock.version())
    p.quit()
session(poplib.POP3_SSL("127.0.0.1", p3s, context=ctx, timeout=10), "poplib POP3_SSL")
p = poplib.POP3("127.0.0.1", p3, timeout=10)
t("STLS" in p.capa(), "poplib: STLS in CAPA before TLS")
p.stls(context=ctx)
session(p, "poplib stls()")
try:
    poplib.POP3_SSL("127.0.0.1", p3s, context=ssl.create_default_context(), timeout=10)
    t(False, "poplib: the system CAs do not trust the test certificate")
except ssl.SSLCertVerificationError:
    t(True, "poplib: the system CAs do not trust the test certificate")
PY
tap_import cat "$T/py"
grep -q '^ok - poplib: the system' "$T/py" || diag "$(cat "$T/py")"

# mpop, implicit TLS and STLS, delivering into a Maildir (see pop3check.py
# for what mpop changes in a message).
if command -v mpop >/dev/null; then
	for starttls in off on; do
		port=$P3S; [ $starttls = on ] && port=$P3
		rm -rf "$T/mpop"; mkdir -p "$T/mpop/new" "$T/mpop/cur" "$T/mpop/tmp"
		: > "$T/mpoprc"; chmod 600 "$T/mpoprc"; rm -f "$T/uidls"
		timeout 30 mpop -C "$T/mpoprc" --host=127.0.0.1 --port="$port" \
		    --user=alice --passwordeval='echo secret' --auth=user \
		    --tls=on --tls-starttls=$starttls --tls-trust-file="$PKI/ca.pem" \
		    --deliver=maildir,"$T/mpop" --keep=on --uidls-file="$T/uidls" \
		    -q > "$T/mpop.out" 2>&1
		check "mpop --tls-starttls=$starttls: exit 0" test $? -eq 0
		TAP_PREFIX="mpop --tls-starttls=$starttls: "
		tap_import python3 tests/pop3check.py --manifest "$T/alice.json" \
		    --out "$T/mpop" mpop
		TAP_PREFIX=
	done
else
	skip "mpop not installed"
fi

if [ "$_fail" -ne 0 ]; then diag "popd log:"; tail -n 30 "$T/popd.conf.log" | while IFS= read -r l; do diag "$l"; done; fi
done_testing
