# lib-cyrus.sh: a private Cyrus IMAP (IMAP + IMAPS) for the imapfetch
# tests: a second real server beside Dovecot.  Source it after lib.sh and
# lib-dovecot.sh (whose mkca, imaptool, fetch, fetch_bg, drop_hashes,
# corpus_hashes, check_names and state_file work here as they are: they
# only need IMAP_PORT, IMAPS_PORT and CA_DIR).  Everything lives under
# $T/cyrus; the server listens on 127.0.0.1 only, on ports the kernel says
# are free, and runs as the test user from start to end.
#
# Debian's cyrus-imapd conflicts with dovecot-imapd (both provide
# imap-server), so it cannot be installed beside it.  Where it is installed
# its binaries are used; otherwise the two packages, cyrus-imapd and
# cyrus-common, are fetched with apt-get download and unpacked (never
# installed: no user, no unit, no service) into $CYRUS_CACHE, once.  The
# libraries they need (libical3, libxapian30) and saslpasswd2 (sasl2-bin)
# are in .ci/deps.
#
#   cyrus_need                skips the test file unless Cyrus can be had
#   cyrus_start               start it (IMAP_PORT, IMAPS_PORT set);
#                             CYRUS_HIERSEP=/ for unixhierarchysep: yes
#                             (mailboxes "INBOX/Sub"), "." by default
#   cyrus_stop                stops it and every process it started
#   cyrus_user NAME PASSWORD  add an account (before or after cyrus_start;
#                             its INBOX is made at its first login)
#   cyrus_put NAME FILE...    APPEND each file to NAME's INBOX, unseen
#   cyrus_append NAME MAILBOX FILE...
#                             the same into MAILBOX, created when missing
#   cyrus_hashes NAME PASSWORD [MAILBOX [SEEN]]
#                             sorted sha256 of what Cyrus serves
#   cyrus_conf FILE DROP NAME [KEY = VALUE...]
#                             an imapfetch config: section [NAME], IMAPS,
#                             test CA, NAME's password in a file

CYRUS_DIR="$T/cyrus"
if [ "$(id -u)" -eq 0 ]; then
	: "${CYRUS_CACHE:=/var/cache/imapfetch-tests}"
else
	: "${CYRUS_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/imapfetch-tests}"
fi

# The unpacked packages of version $1 in $CYRUS_CACHE/cyrus-$1 (made once;
# a half-made copy is never used: it is renamed into place when whole).
_cyrus_unpack() {
	_c=$CYRUS_CACHE/cyrus-$1
	[ -x "$_c/usr/lib/cyrus/bin/imapd" ] && return 0
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
	    return 1
	mkdir -p "$CYRUS_CACHE" || return 1
	rm -rf "$_c.$$"
	mkdir "$_c.$$" || return 1
	(
		umask 022
		cd "$_c.$$" &&
		    apt-get download -q "cyrus-common=$1" "cyrus-imapd=$1" &&
		    for _d in ./*.deb; do dpkg-deb -x "$_d" . || exit 1; done &&
		    rm -f ./*.deb
	) > "$T/cyrus-unpack.log" 2>&1 || { rm -rf "$_c.$$"; return 1; }
	rm -rf "$_c"
	mv "$_c.$$" "$_c"
}

# Sets CYRUS_BIN (master, imapd, ctl_cyrusdb) and CYRUS_LIBDIR (for
# LD_LIBRARY_PATH; empty for an installed Cyrus).
cyrus_find() {
	if [ -x /usr/lib/cyrus/bin/master ] &&
	    [ -x /usr/lib/cyrus/bin/imapd ]; then
		CYRUS_BIN=/usr/lib/cyrus/bin CYRUS_LIBDIR=
		return 0
	fi
	_v=$(apt-cache policy cyrus-imapd 2>/dev/null |
	    sed -n 's/^ *Candidate: //p')
	case $_v in ""|"(none)") return 1 ;; esac
	_cyrus_unpack "$_v" || return 1
	CYRUS_BIN=$CYRUS_CACHE/cyrus-$_v/usr/lib/cyrus/bin
	CYRUS_LIBDIR=$(dirname "$(find "$CYRUS_CACHE/cyrus-$_v/usr/lib" \
	    -name 'libcyrus.so.0' | head -1)")
}

cyrus_need() {
	command -v saslpasswd2 >/dev/null ||
	    { echo "1..0 # SKIP saslpasswd2 (sasl2-bin) missing"; exit 0; }
	cyrus_find || {
		echo "1..0 # SKIP Cyrus IMAP neither installed nor downloadable"
		exit 0
	}
}

# The realm is the servername: imapd asks SASL for user@127.0.0.1.
cyrus_user() {
	mkdir -p "$CYRUS_DIR/users"
	printf '%s\n' "$2" > "$CYRUS_DIR/users/$1"
	printf '%s' "$2" | saslpasswd2 -p -c -f "$CYRUS_DIR/sasldb2" \
	    -u 127.0.0.1 "$1" || return 1
	chown -R "$TUSER:" "$CYRUS_DIR" 2>/dev/null || true
}

_cyrus_imapd_conf() {
	[ "${CYRUS_HIERSEP:-.}" = / ] && _sep=yes || _sep=no
	cat <<EOF
configdirectory: $CYRUS_DIR/conf
partition-default: $CYRUS_DIR/spool
defaultpartition: default
proc_path: $CYRUS_DIR/run/proc
mboxname_lockpath: $CYRUS_DIR/run/lock
lmtpsocket: $CYRUS_DIR/run/socket/lmtp
idlesocket: $CYRUS_DIR/run/socket/idle
notifysocket: $CYRUS_DIR/run/socket/notify
servername: 127.0.0.1
cyrus_user: $TUSER
syslog_prefix: imapfetch-test-cyrus
altnamespace: no
unixhierarchysep: $_sep
autocreate_quota: 0
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $CYRUS_DIR/sasldb2
sasl_mech_list: PLAIN LOGIN
tls_server_cert: $CYRUS_DIR/tls/server.crt
tls_server_key: $CYRUS_DIR/tls/server.key
tls_versions: tls1_2 tls1_3
EOF
}

# master passes no -C to the services: each command names the config.
_cyrus_conf() {
	_c="-C $CYRUS_DIR/imapd.conf"
	cat <<EOF
START {
	recover cmd="$CYRUS_BIN/ctl_cyrusdb -r $_c"
}
SERVICES {
	imap cmd="$CYRUS_BIN/imapd $_c" listen="127.0.0.1:$IMAP_PORT"
	imaps cmd="$CYRUS_BIN/imapd -s $_c" listen="127.0.0.1:$IMAPS_PORT"
}
EOF
}

cyrus_start() {
	[ -n "${CYRUS_BIN:-}" ] || cyrus_find || return 1
	[ -f "$CA_DIR/server.crt" ] || mkca || return 1
	# conf/socket: each imapd binds its IDLE socket there.
	mkdir -p "$CYRUS_DIR/conf/socket" "$CYRUS_DIR/spool" "$CYRUS_DIR/tls" \
	    "$CYRUS_DIR/run/proc" "$CYRUS_DIR/run/lock" "$CYRUS_DIR/run/socket"
	# The key stays the test user's: Cyrus never runs as root here.
	cp "$CA_DIR/server.crt" "$CA_DIR/server.key" "$CYRUS_DIR/tls/"
	: "${IMAP_PORT:=$(free_port)}" "${IMAPS_PORT:=$(free_port)}"
	_cyrus_imapd_conf > "$CYRUS_DIR/imapd.conf"
	_cyrus_conf > "$CYRUS_DIR/cyrus.conf"
	chown -R "$TUSER:" "$CYRUS_DIR" 2>/dev/null || true
	# Not as_user (a function: & would give a subshell's pid), and not
	# master -d: a daemon's parent is init, which may never reap it.
	# In a session of its own: master ends with kill(0, SIGTERM), which
	# would also hit every process of the test user in our process group
	# (imapfetch, another test's Cyrus, the test itself when not root).
	# setsid does not fork here: a background job of a shell without job
	# control is no process group leader.
	_su=""
	[ "$(id -u)" -ne 0 ] ||
	    _su="setpriv --reuid=$TUSER --regid=$TUSER --init-groups --"
	LD_LIBRARY_PATH=${CYRUS_LIBDIR}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
	    setsid $_su "$CYRUS_BIN/master" -C "$CYRUS_DIR/imapd.conf" \
	    -M "$CYRUS_DIR/cyrus.conf" -p "$CYRUS_DIR/run/master.pid" \
	    -L "$CYRUS_DIR/master.log" </dev/null &
	CYRUS_PID=$!
	# Stopped before lib.sh's exit trap removes $T (registered once).
	if [ -z "${_cyrus_atexit:-}" ]; then
		_cyrus_atexit=1
		at_exit cyrus_stop
	fi
	wait_port "$IMAP_PORT" && wait_port "$IMAPS_PORT" || {
		diag "cyrus is not listening:"
		diag "$(tail -20 "$CYRUS_DIR/master.log" 2>/dev/null)"
		return 1
	}
}

# SIGTERM makes master end its children (imapd processes stay after a
# session, to serve the next one) and itself; after 5 s, SIGKILL for it
# and for what were its children.
cyrus_stop() {
	[ -n "${CYRUS_PID:-}" ] || return 0
	_kids=$(pgrep -P "$CYRUS_PID" 2>/dev/null)
	kill -TERM "$CYRUS_PID" 2>/dev/null
	_i=0
	while kill -0 "$CYRUS_PID" 2>/dev/null && [ $_i -lt 100 ]; do
		# A zombie answers kill -0: reaped by wait below.
		case $(ps -o stat= -p "$CYRUS_PID" 2>/dev/null) in
		Z*) break ;;
		esac
		sleep 0.05; _i=$((_i+1))
	done
	kill -KILL "$CYRUS_PID" 2>/dev/null
	wait "$CYRUS_PID" 2>/dev/null
	for _k in $_kids; do kill -KILL "$_k" 2>/dev/null; done
	CYRUS_PID=
}

# Cyrus is slow to answer a command whose answer is large, or that waits
# for a literal (50 ms for a FETCH of 12 KB on loopback, Dovecot 0.3 ms:
# small writes held back until the client's delayed ACK, it seems): the
# helpers below send few commands.  cyrus_append sends 100 messages per
# APPEND (MULTIAPPEND, RFC 3502) in non-synchronising literals (LITERAL+),
# the bytes as they are (imaplib's APPEND would turn a bare CR or LF into
# CRLF).
cyrus_append() {
	python3 - "$IMAPS_PORT" "$CA_DIR/ca.crt" "$1" \
	    "$(cat "$CYRUS_DIR/users/$1")" "$@" <<'PY'
import socket, ssl, sys
port, ca, user, pw, _, box = sys.argv[1:7]
files = sys.argv[7:]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))),
                    server_hostname="127.0.0.1")
f = s.makefile("rb")
f.readline()
def cmd(tag, data):
    s.sendall(data)
    while True:
        line = f.readline()
        if not line:
            sys.exit("cyrus_append: connection closed")
        if line.startswith(tag + b" "):
            return line.split()[1] == b"OK", line
q = lambda x: b'"' + x.encode() + b'"'
if not cmd(b"a", b"a LOGIN " + q(user) + b" " + q(pw) + b"\r\n")[0]:
    sys.exit("cyrus_append: LOGIN failed")
if box.upper() != "INBOX":
    cmd(b"b", b"b CREATE " + q(box) + b"\r\n")    # NO: it exists
for i in range(0, len(files), 100):
    out = [b"c APPEND " + q(box)]
    for name in files[i:i + 100]:
        with open(name, "rb") as fh:
            m = fh.read()
        out.append(b" {%d+}\r\n" % len(m) + m)
    ok, line = cmd(b"c", b"".join(out) + b"\r\n")
    if not ok:
        sys.exit("cyrus_append: %s" % line)
cmd(b"z", b"z LOGOUT\r\n")
PY
}

# cyrus_hashes NAME PASSWORD [MAILBOX [SEEN]]: sorted sha256 of the bodies
# Cyrus serves (only those \Seen with SEEN), in one UID FETCH.
cyrus_hashes() {
	python3 - "$IMAPS_PORT" "$CA_DIR/ca.crt" "$@" <<'PY'
import hashlib, imaplib, re, ssl, sys
port, ca, user, pw = sys.argv[1:5]
box = sys.argv[5] if len(sys.argv) > 5 else "INBOX"
m = imaplib.IMAP4_SSL("127.0.0.1", int(port),
                      ssl_context=ssl.create_default_context(cafile=ca))
m.login(user, pw)
if m.select(box, readonly=True)[0] != "OK":
    sys.exit("cyrus_hashes: SELECT %s failed" % box)
typ, data = m.uid("SEARCH", None, "SEEN" if len(sys.argv) > 6 else "ALL")
uids = set(data[0].split())
out = []
if uids:
    typ, data = m.uid("FETCH", b",".join(sorted(uids)).decode(),
                      "(UID BODY.PEEK[])")
    for x in data:
        if not isinstance(x, tuple):
            continue
        uid = re.search(rb"UID (\d+)", x[0]).group(1)
        if uid in uids:
            out.append(hashlib.sha256(x[1]).hexdigest())
m.logout()
for h in sorted(out):
    print(h)
PY
}

cyrus_put() {
	_u=$1; shift
	cyrus_append "$_u" INBOX "$@"
}

cyrus_conf() {
	_conf=$1 _drop=$2 _u=$3; shift 3
	cp "$CYRUS_DIR/users/$_u" "$T/$_u.pass"
	chmod 600 "$T/$_u.pass"
	{
		printf '[%s]\nmaildrop = %s\n' "$_u" "$_drop"
		printf 'imap-host = 127.0.0.1\n'
		printf 'imap-port = %s\nimap-ca-file = %s\n' "$IMAPS_PORT" \
		    "$CA_DIR/ca.crt"
		printf 'imap-user = %s\nimap-password-file = %s\n' "$_u" \
		    "$T/$_u.pass"
		for _l in "$@"; do printf '%s\n' "$_l"; done
	} > "$_conf"
	chown "$TUSER:" "$_conf" "$T/$_u.pass" 2>/dev/null || true
}
