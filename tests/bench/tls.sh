#!/bin/sh
# popd TLS benchmarks: what a handshake costs and what a whole TLS session
# (connect -> greeting -> QUIT, one popd process per connection under
# systemd-socket-activate, as in production) costs against the same
# session in plaintext, plus the openssl s_client summary.  RSA-2048 and
# ECDSA P-256 leaf certificates.  Prints numbers; asserts nothing.
set -eu
. tests/lib.sh
. tests/lib-tls.sh
N=${N:-200}

PKI=$T/pki
mkpki "$PKI"
# An ECDSA P-256 leaf from the same intermediate, for comparison.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=localhost -keyout "$PKI/ec.key" -out "$PKI/ec.csr" 2>/dev/null
openssl x509 -req -in "$PKI/ec.csr" -CA "$PKI/int.pem" -CAkey "$PKI/int.key" \
    -CAcreateserial -days 2 -extfile "$PKI/ext.cnf" -extensions leaf \
    -out "$PKI/ec.pem" 2>/dev/null
cat "$PKI/ec.pem" "$PKI/int.pem" > "$PKI/ecchain.pem"
chmod 600 "$PKI/ec.key"
chown "$TUSER:" "$PKI/ec.key" "$PKI/ecchain.pem" 2>/dev/null || true
mkmaildir "$T/alice"
mkconf "$T/rsa.conf" <<EOF
tls-cert = $PKI/fullchain.pem
tls-key = $PKI/key.pem
EOF
mkconf "$T/ec.conf" <<EOF
tls-cert = $PKI/ecchain.pem
tls-key = $PKI/ec.key
EOF
tls_serve RSA_S "$T/rsa.conf" --tls
tls_serve RSA_P "$T/rsa.conf"
tls_serve EC_S "$T/ec.conf" --tls
mkconf "$T/none.conf" </dev/null
tls_serve NONE "$T/none.conf"

echo "machine: $(nproc) CPU, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "$(openssl version), libtls-dev $(dpkg-query -W -f='${Version}' libtls-dev 2>/dev/null || echo '?')"

# The s_client summary, as an importer would see it.
for how in "RSA_S:" "RSA_S:-tls1_2" "EC_S:" "RSA_P:-starttls pop3"; do
	eval port=\$${how%%:*}
	args=${how#*:}
	printf 'QUIT\r\n' | s_client -connect "127.0.0.1:$port" $args 2>&1 | tr -d '\r' > "$T/s"
	printf 's_client %-24s %s; %s; %s\n' "${how%%:*} ${args:-(default)}:" \
	    "$(grep -a -m1 '^New, ' "$T/s")" \
	    "$(grep -a -m1 '^Server Temp Key' "$T/s" || echo 'no temp key')" \
	    "$(grep -a -m1 'Verify return code' "$T/s" | sed 's/^ *//')"
done

echo "load average before the loops: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$N" "$PKI" "$RSA_S" "$RSA_P" "$EC_S" "$NONE" <<'PY'
import socket, ssl, statistics, sys, time
n, pki = int(sys.argv[1]), sys.argv[2]
rsa_s, rsa_p, ec_s, none = (int(x) for x in sys.argv[3:7])
ctx = ssl.create_default_context(cafile=pki + "/ca.pem")
ctx12 = ssl.create_default_context(cafile=pki + "/ca.pem")
ctx12.maximum_version = ssl.TLSVersion.TLSv1_2

def readline(f):
    l = f.readline()
    if not l.startswith(b"+OK"):
        raise SystemExit("unexpected reply %r" % l)

def plain(port):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rwb")
    readline(f)
    f.write(b"QUIT\r\n"); f.flush(); readline(f)
    s.close()
    return None

def tls(port, c=ctx):
    t0 = time.perf_counter()
    s = c.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                      server_hostname="localhost")
    hs = time.perf_counter() - t0
    f = s.makefile("rwb")
    readline(f)
    f.write(b"QUIT\r\n"); f.flush(); readline(f)
    s.close()
    return hs

def stls(port):
    t0 = time.perf_counter()
    raw = socket.create_connection(("127.0.0.1", port))
    f = raw.makefile("rwb")
    readline(f)
    f.write(b"STLS\r\n"); f.flush(); readline(f)
    t1 = time.perf_counter()
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    hs = time.perf_counter() - t1
    f = s.makefile("rwb")
    f.write(b"QUIT\r\n"); f.flush(); readline(f)
    s.close()
    return hs

def bench(name, fn, *a):
    fn(*a)                                  # warm the page cache
    total, hs = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        h = fn(*a)
        total.append(time.perf_counter() - t0)
        if h is not None:
            hs.append(h)
    ms = lambda v: "%.2f" % (v * 1000)
    q = lambda v, p: sorted(v)[int(p * (len(v) - 1))]
    line = "%-34s session: median %s ms, p95 %s ms, mean %s ms" % (
        name, ms(statistics.median(total)), ms(q(total, .95)), ms(statistics.mean(total)))
    if hs:
        line += "; handshake: median %s ms, p95 %s ms" % (ms(statistics.median(hs)), ms(q(hs, .95)))
    print(line)
    return statistics.median(total)

print("N=%d sequential connections each, client and server on this host "
      "(times include spawning one popd per connection):" % n)
nokey = bench("plain, no tls-cert in popd.conf", plain, none)
base = bench("plain, STLS offered (key loaded)", plain, rsa_p)
print("%-34s loading key and chain costs %.2f ms per process" % ("", (base - nokey) * 1000))
for name, fn, a in (("pop3s TLS 1.3 RSA-2048", tls, (rsa_s,)),
                    ("pop3s TLS 1.2 RSA-2048 ECDHE", tls, (rsa_s, ctx12)),
                    ("pop3s TLS 1.3 ECDSA P-256", tls, (ec_s,)),
                    ("STLS TLS 1.3 RSA-2048", stls, (rsa_p,))):
    m = bench(name, fn, *a)
    print("%-34s TLS adds %.2f ms per session over plaintext" % ("", (m - base) * 1000))

# The handshake alone, both ends in this process (memory BIOs): the crypto
# and TLS state machine without processes, sockets or config loading.
def mem_handshake(cert, key):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    t = []
    for _ in range(n):
        t0 = time.perf_counter()
        ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = ctx.wrap_bio(ci, co, server_hostname="localhost")
        s = sctx.wrap_bio(si, so, server_side=True)
        done = [False, False]
        while not all(done):
            for i, (x, out, peer_in) in enumerate(((c, co, si), (s, so, ci))):
                if not done[i]:
                    try:
                        x.do_handshake(); done[i] = True
                    except ssl.SSLWantReadError:
                        pass
                peer_in.write(out.read())
        t.append(time.perf_counter() - t0)
    return statistics.median(t) * 1000
print("in-process TLS 1.3 handshake, both ends, RSA-2048: median %.2f ms" %
      mem_handshake(pki + "/fullchain.pem", pki + "/leaf.key"))
print("in-process TLS 1.3 handshake, both ends, P-256:    median %.2f ms" %
      mem_handshake(pki + "/ecchain.pem", pki + "/ec.key"))
PY
