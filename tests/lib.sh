# lib.sh: TAP helpers and fixtures for the shell tests.  Source it.
# Tests run from the top of the tree; each gets a private $T directory.

set -u
TOP=$(pwd)
POPD="$TOP/popd/popd"
IMAPFETCH="$TOP/imapfetch/imapfetch"
_n=0 _fail=0

T=$(mktemp -d "${TMPDIR:-/tmp}/popd-test.XXXXXX")
chmod 755 "$T"
# at_exit CMD: runs CMD when the test ends, before $T is removed, last
# registered first.  set +e: under set -e a failing stop command would end
# the trap early and leave listeners and $T behind.
_atexit=""
at_exit() { _atexit="$1; $_atexit"; }
_cleanup() {
	_rc=$?
	set +e
	eval "$_atexit"
	[ -n "${KEEP:-}" ] || rm -rf "$T"
	exit $_rc
}
trap _cleanup EXIT INT TERM

ok()   { _n=$((_n+1)); echo "ok $_n - $*"; }
nok()  { _n=$((_n+1)); _fail=$((_fail+1)); echo "not ok $_n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# check NAME CMD...: ok when CMD succeeds.
check() { _name=$1; shift; if "$@"; then ok "$_name"; else nok "$_name"; fi; }
# is NAME GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1"; diag "got:  '$2'" "want: '$3'"; fi
}
skip() { _n=$((_n+1)); echo "ok $_n # skip $*"; }
done_testing() { echo "1..$_n"; [ "$_fail" -eq 0 ]; }

# Tests run popd as an unprivileged user: popd refuses root.  As root we
# create (once) and use the system user "popdtest"; otherwise we are it.
if [ "$(id -u)" -eq 0 ]; then
	TUSER=popdtest
	id "$TUSER" >/dev/null 2>&1 ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin "$TUSER"
	chown "$TUSER:" "$T"
	# Runs a command as the test user, keeping the environment.
	as_user() { setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups -- "$@"; }
else
	TUSER=$(id -un)
	as_user() { "$@"; }
fi

# The build tree may sit where the test user cannot reach it (a clone under
# /root): then the tests run copies of the programs from $T.
if [ "$(id -u)" -eq 0 ] && ! as_user test -x "$POPD" 2>/dev/null; then
	mkdir -p "$T/bin"
	cp "$POPD" "$T/bin/popd"
	POPD=$T/bin/popd
	if [ -f "$IMAPFETCH" ]; then
		cp "$IMAPFETCH" "$T/bin/imapfetch"
		IMAPFETCH=$T/bin/imapfetch
	fi
fi

# need CMD...: skips the whole test file (TAP "1..0 # SKIP") unless popd is
# built and every CMD is installed.
need() {
	[ -x "$POPD" ] || { echo "1..0 # SKIP popd/popd not built"; exit 0; }
	for _c in "$@"; do
		command -v "$_c" >/dev/null ||
		    { echo "1..0 # SKIP $_c not installed"; exit 0; }
	done
}

# A free TCP port on 127.0.0.1, never the same twice in one test.  Not
# bind(0): the kernel hands a closed port straight back on the next call
# (two listeners of one Dovecot then collide), and its ports lie in the
# ephemeral range, where any outgoing connection may take one before the
# server binds it.  So: a random port below that range that binds now and
# is not yet in $T/.ports.
free_port() {
	python3 - "$T/.ports" <<'PY'
import random, socket, sys
path = sys.argv[1]
try:
    used = set(open(path).read().split())
except FileNotFoundError:
    used = set()
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    top = int(f.read().split()[0])
top = min(top, 32768) if top > 21000 else 32768
for _ in range(2000):
    p = random.randrange(20000, top)
    if str(p) in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    with open(path, "a") as f:
        f.write("%d\n" % p)
    print(p)
    sys.exit(0)
sys.exit("free_port: no free port in 20000-%d" % (top - 1))
PY
}

# Waits until something listens on 127.0.0.1:$1 (5 s at most).
wait_port() {
	_i=0
	while [ $_i -lt 100 ]; do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" \
		    2>/dev/null && return 0
		sleep 0.05; _i=$((_i+1))
	done
	return 1
}

# A crypt(3) hash of $1 made by popd itself.
hash_password() { printf '%s\n' "$1" | "$POPD" --hash-password; }

# mkconf FILE: writes a config with user alice (password "secret") whose
# maildrop is $T/alice; extra global lines come on stdin.
mkconf() {
	_h=$(hash_password secret)
	{ echo "auth-failure-delay = 0"; cat; printf '\n[alice]\npassword = %s\nmaildrop = %s\n' "$_h" "$T/alice"; } > "$1"
	chmod 600 "$1"
	chown "$TUSER:" "$1" 2>/dev/null || true
}

# Makes $T/alice a Maildir owned by the test user.
mkmaildir() {
	mkdir -p "$1/tmp" "$1/new" "$1/cur"
	chown -R "$TUSER:" "$1" 2>/dev/null || true
}

# tap_import CMD...: runs CMD, which prints "ok - ..." / "not ok - ..." and
# "# ..." lines (tests/pop3check.py does), as this test's ok/nok/diag so
# that numbering stays one sequence ($TAP_PREFIX goes before each name).
# CMD failing is one more failure.
tap_import() {
	"$@" > "$T/.tap_import" 2>&1; _rc=$?
	while IFS= read -r _l; do
		case $_l in
		"ok - "*) ok "${TAP_PREFIX:-}${_l#ok - }" ;;
		"not ok - "*) nok "${TAP_PREFIX:-}${_l#not ok - }" ;;
		*) diag "${_l#\# }" ;;
		esac
	done < "$T/.tap_import"
	[ $_rc -eq 0 ] || nok "$1 exited $_rc"
}

# fixtures DIR [OPTION...]: (re)writes DIR as a Maildir of test messages
# owned by the test user, and DIR.json listing them (tests/mkfixtures.py).
fixtures() {
	_d=$1; shift
	rm -rf "$_d" "$_d.json"
	python3 "$TOP/tests/mkfixtures.py" "$@" "$_d" && mkmaildir "$_d"
}

# serve KIND PORT CONF: listens on 127.0.0.1:PORT and runs "popd -e -c CONF"
# for each connection, as the test user, under KIND: "socket-activate"
# (systemd-socket-activate --inetd, like a socket unit with Accept=yes) or
# "tcpserver" (ucspi-tcp).  popd's log goes to $T/popd.log.  The listeners
# are killed by serve_stop, and at exit.
_serve_pids=""
serve() {
	# Not as_user: a function run with & is a subshell that kill would
	# leave the listener's parent of.  Same privileges as as_user.
	_su=""
	[ "$(id -u)" -ne 0 ] || _su="setpriv --reuid=$TUSER --regid=$TUSER --init-groups --"
	case $1 in
	socket-activate) $_su systemd-socket-activate -a --inetd -l "127.0.0.1:$2" \
	    "$POPD" -e -c "$3" >>"$T/popd.log" 2>&1 </dev/null & ;;
	tcpserver) $_su tcpserver -q -HRl0 127.0.0.1 "$2" \
	    "$POPD" -e -c "$3" >>"$T/popd.log" 2>&1 </dev/null & ;;
	*) return 1 ;;
	esac
	_serve_pids="$_serve_pids $!"
	wait_port "$2"
}
serve_stop() {
	_src=$?
	for _p in $_serve_pids; do kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; done
	_serve_pids=""
	return $_src
}
at_exit serve_stop
