# lib-tls.sh: fixtures for the TLS tests (tests/40-tls-*.t).  Source it
# after lib.sh.  A test PKI made with openssl(1), and popd served by
# systemd-socket-activate, one popd per accepted connection as in
# production (units/pop3s@.service).

# mkpki DIR: a root CA (DIR/ca.pem, the only file clients trust), an
# intermediate CA, and a localhost certificate signed by the intermediate.
# DIR/fullchain.pem is leaf + intermediate, so a client that verifies
# proves that popd serves the whole chain from tls-cert.  RSA keys: with an
# ECDSA key, ECDHE-RSA suites would fail for the key type, not the policy.
mkpki() {
	_d=$1
	mkdir -p "$_d"
	cat > "$_d/ext.cnf" <<-'EOF'
	[ca]
	basicConstraints = critical, CA:TRUE
	keyUsage = critical, keyCertSign, cRLSign
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	[leaf]
	basicConstraints = critical, CA:FALSE
	keyUsage = critical, digitalSignature, keyEncipherment
	extendedKeyUsage = serverAuth
	subjectAltName = DNS:localhost, IP:127.0.0.1
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	EOF
	openssl req -x509 -new -newkey rsa:2048 -nodes -days 2 -sha256 \
	    -subj "/CN=popd test root CA" -keyout "$_d/ca.key" \
	    -out "$_d/ca.pem" -extensions ca -config "$_d/ext.cnf" \
	    2>/dev/null || return 1
	_pki_sign "$_d" int "popd test intermediate CA" ca ca || return 1
	_pki_sign "$_d" leaf localhost int leaf || return 1
	cat "$_d/leaf.pem" "$_d/int.pem" > "$_d/fullchain.pem"
	cp "$_d/leaf.key" "$_d/key.pem"
	chmod 600 "$_d/key.pem"
	chown "$TUSER:" "$_d/key.pem" "$_d/fullchain.pem" 2>/dev/null || true
}

# _pki_sign DIR NAME CN ISSUER EXT: DIR/NAME.{key,pem} signed by ISSUER.
_pki_sign() {
	openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$3" \
	    -keyout "$1/$2.key" -out "$1/$2.csr" -config "$1/ext.cnf" \
	    2>/dev/null &&
	openssl x509 -req -in "$1/$2.csr" -CA "$1/$4.pem" -CAkey "$1/$4.key" \
	    -CAcreateserial -days 2 -sha256 -extfile "$1/ext.cnf" \
	    -extensions "$5" -out "$1/$2.pem" 2>/dev/null
}

# tls_serve PORTVAR CONF [POPD-ARGS...]: popd under systemd-socket-activate
# on 127.0.0.1 (a free port), as the test user, with extra arguments such
# as --tls (lib.sh's serve takes none).  Sets the variable named PORTVAR to
# the port; popd's log (-e) goes to CONF.log.  Stopped by tls_stop and at
# exit.
_tls_pids="" _tls_jobs=""
tls_serve() {
	_var=$1 _conf=$2
	shift 2
	_port=$(free_port)
	# as_user is a function: $! would name a subshell, not the server.
	as_user sh -c 'echo $$ > "$0.pid"; exec "$@"' "$_conf" \
	    systemd-socket-activate -a --inetd -l "127.0.0.1:$_port" \
	    "$POPD" -e -c "$_conf" "$@" 2>>"$_conf.log" </dev/null &
	_tls_jobs="$_tls_jobs $!"
	eval "$_var=\$_port"
	wait_listen "$_port" || return 1
	_tls_pids="$_tls_pids $(cat "$_conf.pid")"
}

# Waits until TCP port $1 listens in this network namespace (5 s at most),
# without connecting: a probe would start a popd and leave a failed
# handshake in its log.  /proc/net/tcp: state 0A is LISTEN.
listening() {
	awk -v p=":$(printf '%04X' "$1")" \
	    '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
	    /proc/net/tcp
}
wait_listen() {
	_i=0
	while [ $_i -lt 100 ]; do
		listening "$1" && return 0
		sleep 0.05; _i=$((_i+1))
	done
	return 1
}

# Safe under set -e (tests/bench): a failed kill or a job's nonzero status
# must not end the trap before _cleanup removes $T.
tls_stop() {
	_src=$?
	for _p in $_tls_pids; do kill "$_p" 2>/dev/null || true; done
	for _p in $_tls_jobs; do wait "$_p" 2>/dev/null || true; done
	_tls_pids="" _tls_jobs=""
	return $_src
}
at_exit tls_stop

# s_client ARGS...: openssl s_client verifying against the test CA; the
# POP3 dialogue comes on stdin.  Prints its output and the summary.  It
# reads until popd closes (after QUIT), 10 s at most.
s_client() {
	timeout 10 openssl s_client -CAfile "$PKI/ca.pem" -verify_return_error \
	    -verify_hostname localhost -ign_eof "$@" 2>&1
}
