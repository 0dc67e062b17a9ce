#!/bin/sh
# TLS policy of popd, server side: TLS 1.0/1.1 and non-PFS or CBC suites
# refused by popd itself; STLS with a pipelined command refused
# (CVE-2011-0411); plaintext-auth = tls, and tls-or-loopback from 127.0.0.1
# and from a real non-loopback peer (two network namespaces joined by a
# veth pair); handshake timeout for a silent and a trickling client; no
# hang or crash on garbage; an OCSP staple; a renewed certificate served by
# the next connection with nothing restarted; STLS not offered while the key
# cannot be read.
. tests/lib.sh
. tests/lib-tls.sh
need openssl systemd-socket-activate
POL="python3 $TOP/tests/tlspolicy.py"

PKI=$T/pki
check "test PKI" mkpki "$PKI"
mkmaildir "$T/alice"
# 4 MB: more than the socket buffers hold, for the hang-up test.
python3 -c 'import sys; sys.stdout.write("Subject: policy\n\n" + ("x" * 78 + "\n") * 52000)' \
    > "$T/alice/new/1600000000.M1P1.policy"
chown -R "$TUSER:" "$T/alice" 2>/dev/null

# An OCSP response for the leaf, signed by its issuer, to staple.
serial=$(openssl x509 -in "$PKI/leaf.pem" -noout -serial | cut -d= -f2)
printf 'V\t%s\t\t%s\tunknown\t/CN=localhost\n' \
    "$(date -u -d '+2 days' +%y%m%d%H%M%SZ)" "$serial" > "$PKI/index.txt"
openssl ocsp -issuer "$PKI/int.pem" -cert "$PKI/leaf.pem" -no_nonce \
    -reqout "$PKI/req.der" >/dev/null 2>&1 &&
openssl ocsp -index "$PKI/index.txt" -rsigner "$PKI/int.pem" \
    -rkey "$PKI/int.key" -CA "$PKI/int.pem" -reqin "$PKI/req.der" \
    -respout "$PKI/staple.der" -ndays 1 >/dev/null 2>&1
chmod 644 "$PKI/staple.der"

# The handshake is bounded by idle-timeout when shorter than
# TLS_HANDSHAKE_TIMEOUT (30 s); 10 s is the least popd.conf allows.
mkconf "$T/tls.conf" <<EOF
tls-cert = $PKI/fullchain.pem
tls-key = $PKI/key.pem
tls-ocsp-staple = $PKI/staple.der
plaintext-auth = tls
idle-timeout = 10
EOF
mkconf "$T/loop.conf" <<EOF
tls-cert = $PKI/fullchain.pem
tls-key = $PKI/key.pem
EOF
check "pop3s listener" tls_serve P3S "$T/tls.conf" --tls
check "pop3 listener, plaintext-auth = tls" tls_serve P3 "$T/tls.conf"
check "pop3 listener, plaintext-auth = tls-or-loopback" tls_serve PL "$T/loop.conf"

# Started first, checked last: the other tests run meanwhile.
$POL stall 127.0.0.1 "$P3S" > "$T/stall" 2>&1 &
stall=$!

# Protocol versions and suites: refused by popd (its alert, its log line),
# not by the client; OpenSSL 3 needs SECLEVEL=0 to even offer TLS 1.0/1.1.
refused() {
	_name=$1 _alert=$2; shift 2
	printf 'QUIT\r\n' | s_client -connect "127.0.0.1:$P3S" "$@" > "$T/ref" 2>&1
	if ! grep -q '+OK popd ready' "$T/ref" && grep -q "$_alert" "$T/ref"; then
		ok "$_name refused by popd ($_alert)"
	else
		nok "$_name refused by popd"; diag "$(tail -5 "$T/ref")"
	fi
}
refused "TLS 1.0" "alert protocol version" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
refused "TLS 1.1" "alert protocol version" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
refused "TLS 1.2 AES128-GCM-SHA256 (no forward secrecy)" "alert handshake failure" \
    -tls1_2 -cipher AES128-GCM-SHA256
refused "TLS 1.2 ECDHE-RSA-AES128-SHA (CBC, SHA-1)" "alert handshake failure" \
    -tls1_2 -cipher ECDHE-RSA-AES128-SHA
for c in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-CHACHA20-POLY1305; do
	printf 'QUIT\r\n' | s_client -connect "127.0.0.1:$P3S" -tls1_2 -cipher $c |
	    tr -d '\r' > "$T/acc"
	check "TLS 1.2 $c accepted" grep -q "^New, TLSv1.2, Cipher is $c" "$T/acc"
done
check "popd logged the four refusals, one line each" \
    test "$(grep -c 'tls handshake failed addr=127.0.0.1: handshake failed: .*\(unsupported protocol\|no shared cipher\)' "$T/tls.conf.log")" -eq 4

# OCSP stapling from tls-ocsp-staple.
printf 'QUIT\r\n' | s_client -connect "127.0.0.1:$P3S" -status > "$T/ocsp"
check "OCSP staple: successful response, Cert Status: good" \
    sh -c "grep -q 'OCSP Response Status: successful' '$T/ocsp' && grep -q 'Cert Status: good' '$T/ocsp'"

tap_import $POL inject 127.0.0.1 "$P3"
check "popd logged end=data after STLS" grep -q 'end=data after STLS' "$T/tls.conf.log"
tap_import $POL policy 127.0.0.1 "$P3" "$PKI/ca.pem" "plaintext-auth = tls, 127.0.0.1"
tap_import $POL loopback 127.0.0.1 "$PL"
tap_import $POL garbage 127.0.0.1 "$P3S" TLS
tap_import $POL garbage 127.0.0.1 "$P3" STLS
tap_import $POL abort 127.0.0.1 "$P3S" "$PKI/ca.pem"
# Not killed by SIGPIPE: it logs its session line and exits 0 (the exit
# codes are checked at the end).
i=0
while [ "$(grep -c 'session user=alice addr=127.0.0.1 tls=yes auth=ok' "$T/tls.conf.log")" -lt 2 ] &&
    [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "hang-up mid-RETR: popd ends the session and logs it" \
    test "$(grep -c 'session user=alice addr=127.0.0.1 tls=yes auth=ok' "$T/tls.conf.log")" -eq 2

# tls-or-loopback from a non-loopback peer: popd in one new network
# namespace on 192.0.2.1 (TEST-NET-1), the client in another on 192.0.2.2,
# joined by a veth pair.  Only namespaces made here are touched.
cat > "$T/netns.sh" <<EOF
set -u
ip link set lo up
unshare -n sleep 30 & peer=\$!
i=0
while [ "\$(readlink /proc/\$peer/ns/net)" = "\$(readlink /proc/self/ns/net)" ] && [ \$i -lt 100 ]; do
	sleep 0.02; i=\$((i+1))
done
ip link add pv0 type veth peer name pv1 netns \$peer &&
ip addr add 192.0.2.1/24 dev pv0 && ip link set pv0 up &&
nsenter -t \$peer -n sh -c 'ip link set lo up && ip addr add 192.0.2.2/24 dev pv1 && ip link set pv1 up' ||
    { echo "not ok - veth pair"; kill \$peer; exit 0; }
setpriv --reuid=$TUSER --regid=$TUSER --init-groups -- systemd-socket-activate -a --inetd \
    -l 192.0.2.1:11110 "$POPD" -e -c "$T/loop.conf" 2>>"$T/netns.log" </dev/null & server=\$!
i=0
while ! grep -q ':2B66 00000000:0000 0A' /proc/net/tcp && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i+1)); done
nsenter -t \$peer -n $POL policy 192.0.2.1 11110 "$PKI/ca.pem" "tls-or-loopback, peer 192.0.2.2"
kill \$server \$peer
wait
EOF
if [ "$(id -u)" -ne 0 ]; then
	skip "non-loopback peer: network namespaces need root"
elif ! command -v ip >/dev/null || ! command -v nsenter >/dev/null; then
	skip "non-loopback peer: ip (iproute2) or nsenter missing"
elif ! unshare -n true 2>/dev/null; then
	skip "non-loopback peer: unshare -n not permitted here"
else
	tap_import unshare -n sh "$T/netns.sh"
	check "popd saw the peer as addr=192.0.2.2" \
	    grep -q 'session user=alice addr=192.0.2.2 tls=yes auth=ok' "$T/netns.log"
fi

# A renewed certificate (new key, new serial) is served by the next
# connection; the listener is the same process throughout.
mkdir -p "$T/renew"
cp "$PKI/fullchain.pem" "$PKI/key.pem" "$T/renew/"
chown -R "$TUSER:" "$T/renew" 2>/dev/null
mkconf "$T/renew.conf" <<EOF
tls-cert = $T/renew/fullchain.pem
tls-key = $T/renew/key.pem
EOF
check "pop3s listener on renewable files" tls_serve PR "$T/renew.conf" --tls
serial_of() {
	printf 'QUIT\r\n' | s_client -connect "127.0.0.1:$PR" 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null
}
before=$(serial_of)
listener=$(cat "$T/renew.conf.pid")
_pki_sign "$PKI" new localhost int leaf
cat "$PKI/new.pem" "$PKI/int.pem" > "$T/renew/fullchain.new"
cp "$PKI/new.key" "$T/renew/key.new"
chmod 600 "$T/renew/key.new"
chown "$TUSER:" "$T/renew/key.new" "$T/renew/fullchain.new" 2>/dev/null
# Key first, then chain: each rename is atomic, as certbot's are.
mv "$T/renew/key.new" "$T/renew/key.pem"
mv "$T/renew/fullchain.new" "$T/renew/fullchain.pem"
after=$(serial_of)
want=$(openssl x509 -in "$PKI/new.pem" -noout -serial)
check "renewed certificate served at once ($before -> $after)" \
    test -n "$before" -a "$before" != "$after" -a "$after" = "$want"
check "same listener, nothing restarted" kill -0 "$listener"

# A tls-key that popd cannot read: STLS is not offered, rather than offered
# and refused, and the log says why; offered again once it can be read.
cp "$PKI/key.pem" "$T/nokey.pem"
chmod 000 "$T/nokey.pem"
mkconf "$T/nokey.conf" <<EOF
tls-cert = $PKI/fullchain.pem
tls-key = $T/nokey.pem
EOF
capa() {
	printf 'CAPA\r\nQUIT\r\n' | as_user "$POPD" -e -c "$T/nokey.conf" \
	    > "$T/nokey.out" 2> "$T/nokey.err"
}
capa
check "unreadable tls-key: CAPA does not offer STLS" \
    sh -c "grep -q '^TOP' '$T/nokey.out' && ! grep -q '^STLS' '$T/nokey.out'"
check "...and the log says why" grep -q \
    "tls: $T/nokey.pem: Permission denied; STLS not offered" "$T/nokey.err"
chown "$TUSER:" "$T/nokey.pem" 2>/dev/null
chmod 600 "$T/nokey.pem"
capa
check "readable again: STLS offered, nothing logged" \
    sh -c "grep -q '^STLS' '$T/nokey.out' && ! grep -q 'tls:' '$T/nokey.err'"

# The stalled handshakes: dropped after the 10 s bound, logged once each.
wait $stall
read -r _ silent _ trickle < "$T/stall" || diag "$(cat "$T/stall")"
in_bound() { awk -v s="$1" 'BEGIN { exit !(s >= 9.5 && s <= 14) }'; }
check "silent client dropped after the handshake timeout (${silent:-?} s)" in_bound "${silent:--1}"
check "trickling client dropped after the same bound (${trickle:-?} s)" in_bound "${trickle:--1}"
check "two 'handshake timed out' log lines" \
    test "$(grep -c 'tls handshake failed addr=127.0.0.1: handshake timed out' "$T/tls.conf.log")" -eq 2

# No crash: every popd ended with 0 or EX_PROTOCOL (76), no sanitizer report.
codes=$(cat "$T"/*.log | sed -n 's/^Child [0-9]* died with code //p' | sort -u | tr '\n' ' ')
check "every popd exited 0 or 76 (got: $codes)" \
    sh -c "! cat '$T'/*.log | grep 'died with code' | grep -qv 'code \(0\|76\)$'"
check "no sanitizer report in the logs" sh -c "! grep -q 'Sanitizer\|runtime error' '$T'/*.log"

if [ "$_fail" -ne 0 ]; then diag "popd log:"; tail -n 40 "$T/tls.conf.log" | while IFS= read -r l; do diag "$l"; done; fi
done_testing
