#!/bin/sh
# Slowloris: 50 clients at once that never log in, on the plain port and
# on the implicit-TLS port, each as tcpserver serves popd in production
# (-c 64, the shipped units' cap): 15 trickle a byte every 2 s and never
# end the line, 10 send a whole CAPA every 3 s, 5 send STLS and then
# nothing, 10 open TLS and say nothing, 10 trickle a ClientHello a byte
# every 2 s.  idle-timeout = 10 (its minimum) makes the pre-auth deadline
# 10 s: each must be cut at 10 s (not before; at most 20 s after, as a
# loaded machine is slow, where without the deadline they would hold their
# process for ever), its popd gone; meanwhile a normal client logs in on
# both ports before the first of them is cut.
. tests/lib.sh
. tests/lib-hostile.sh
need tcpserver openssl python3

PKI=$T/pki
check "test PKI" mkpki "$PKI"
mkmaildir "$T/alice"
mkconf "$T/popd.conf" <<EOF2
idle-timeout = 10
tls-cert = $PKI/fullchain.pem
tls-key = $PKI/key.pem
EOF2
check "popd under tcpserver -c 64" hserve port sup "$T/popd.conf" 64
check "popd --tls under tcpserver -c 64" hserve tport tsup "$T/popd.conf" 64 --tls
tap_import python3 tests/hostile.py slowloris --port "$port" --tls-port "$tport" \
    --ca "$PKI/ca.pem" --ppid "$sup" --ppid "$tsup" --deadline 10 \
    --log "$T/popd.conf.log"
done_testing
