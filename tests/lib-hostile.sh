# lib-hostile.sh: what the hostile-client tests (tests/45-hostile-*.t)
# share.  Source it after lib.sh.  The clients and their checks are in
# tests/hostile.py.  lib-tls.sh: its wait_listen waits for the port
# without connecting (a probe would be one more popd session to count).
. "$TOP/tests/lib-tls.sh"

# hserve PORTVAR PIDVAR CONF MAXCONN [POPD-ARGS...]: popd under tcpserver
# on 127.0.0.1 (a free port), as the test user, at most MAXCONN sessions
# at once (tcpserver -c; the shipped units say 64).  Sets PORTVAR and
# PIDVAR (tcpserver's pid: its children are the popd sessions).  popd's
# log (-e) goes to CONF.log.  lib.sh's serve takes neither -c nor popd
# arguments.  Stopped at exit.
_hserve_pids=""
hserve() {
	_pv=$1 _iv=$2 _conf=$3 _max=$4
	shift 4
	_port=$(free_port)
	_su=""
	[ "$(id -u)" -ne 0 ] || _su="setpriv --reuid=$TUSER --regid=$TUSER --init-groups --"
	# setpriv execs tcpserver: $! is tcpserver.  -HRl0 as the shipped
	# s6 run script: no DNS or ident lookup per connection (here they
	# delayed greetings by seconds).  -b: a backlog for a hundred connects
	# at once (the default, 20, would only slow them).
	$_su tcpserver -q -HRl0 -c "$_max" -b 256 127.0.0.1 "$_port" \
	    "$POPD" -e -c "$_conf" "$@" >>"$_conf.log" 2>&1 </dev/null &
	_hserve_pids="$_hserve_pids $!"
	eval "$_pv=\$_port $_iv=\$!"
	wait_listen "$_port"
}
# The sessions too: a popd that a regression made hang (on a FIFO, say)
# would outlive its tcpserver.
hserve_stop() {
	for _p in $_hserve_pids; do
		pkill -KILL -P "$_p" 2>/dev/null
		kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null
	done
	_hserve_pids=""
	true
}
at_exit hserve_stop

# todo NAME WHY CMD...: a check the current code is known to fail (TAP
# "# TODO": reported, not counted as a failure; "ok" when it passes).
todo() {
	_tn=$1 _tw=$2
	shift 2
	_n=$((_n+1))
	if "$@"; then echo "ok $_n - $_tn # TODO $_tw"; else echo "not ok $_n - $_tn # TODO $_tw"; fi
}

# A limit of popd's, as common/params.h states it.
popd_limit() { awk -v k="$1" '$1 == "#define" && $2 == k { print $3 }' "$TOP/common/params.h"; }
