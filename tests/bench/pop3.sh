# pop3.sh: popd under tcpserver and under systemd-socket-activate --inetd
# against Dovecot's pop3, plain and implicit TLS (the same RSA-2048
# certificate), on maildrops of the same files, users with the same
# sha512-crypt hash.  Sourced by tests/bench/run.
#
# Load: tests/bench/popload (C, one thread per client) for BENCH_SECONDS
# per run; sessions with 1 and 4 concurrent clients, RETR of every message,
# memory of one open session (proc.py), popload against its own trivial
# server for its limit, and the floor of a session: popfloor under
# tcpserver (fork, exec, one crypt, one readdir, popd's bytes).

POPD_CONF=$T/popd.conf
{
	printf 'auth-failure-delay = 0\ntls-cert = %s\ntls-key = %s\n' \
	    "$CA_DIR/server.crt" "$CA_DIR/server.key"
	for n in $SIZES; do
		for k in 1 2 3 4; do
			for u in p s; do
				printf '\n[%s%sc%s]\npassword = %s\nmaildrop = %s\n' \
				    "$u" "$n" "$k" "$HASH" "$T/popd/$u${n}c$k"
				fill "$T/popd/$u${n}c$k" "$n"
			done
		done
	done
} > "$POPD_CONF"
chmod 600 "$POPD_CONF"
chown "$TUSER:" "$POPD_CONF" "$T/popd"
# The sN users' maildrops cannot keep a listing (common/mdcache.h): their
# top directory is read-only (the lock file made first), so that every
# login reads new/ and cur/, as the first login after a change does.
for d in "$T"/popd/s*; do
	: > "$d/.popd.lock"
	chown "$TUSER:" "$d/.popd.lock"
	chmod 555 "$d"
done
at_exit "chmod u+w '$T'/popd/s* 2>/dev/null"

# listen KIND PORT [--tls]: popd for each connection on 127.0.0.1:PORT,
# as the test user; sets LPID (the listener itself: setpriv execs it).
_su=""
[ "$(id -u)" -ne 0 ] || _su="setpriv --reuid=$TUSER --regid=$TUSER --init-groups --"
_lpids=""
listen() {
	_k=$1 _p=$2
	shift 2
	case $_k in
	# -HRl0: no DNS or ident look-up per connection.
	tcpserver) $_su tcpserver -q -H -R -l0 -c 64 127.0.0.1 "$_p" \
	    "$POPD" -e -c "$POPD_CONF" "$@" 2>>"$T/popd.log" </dev/null & ;;
	socket-activate) $_su systemd-socket-activate -a --inetd -l "127.0.0.1:$_p" \
	    "$POPD" -e -c "$POPD_CONF" "$@" 2>>"$T/popd.log" </dev/null & ;;
	esac
	LPID=$!
	_lpids="$_lpids $LPID"
	wait_port "$_p"
}
listen_stop() { for _p in $_lpids; do kill "$_p" 2>/dev/null; done; _lpids=""; }
at_exit listen_stop

P_TCP=$(free_port); listen tcpserver "$P_TCP"; PID_TCP=$LPID
P_TCPS=$(free_port); listen tcpserver "$P_TCPS" --tls; PID_TCPS=$LPID
P_SA=$(free_port); listen socket-activate "$P_SA"; PID_SA=$LPID
P_SAS=$(free_port); listen socket-activate "$P_SAS" --tls; PID_SAS=$LPID

# popd/scan: popd under tcpserver on the sN maildrops (no kept listing).
POP_SERVERS="popd/tcpserver popd/scan popd/socket-activate dovecot"
# where SERVER TLS: sets PORT, PID and UP (the users' prefix).
where() {
	UP=p
	case $1:$2 in
	popd/scan:plain) PORT=$P_TCP PID=$PID_TCP UP=s ;;
	popd/scan:tls) PORT=$P_TCPS PID=$PID_TCPS UP=s ;;
	popd/tcpserver:plain) PORT=$P_TCP PID=$PID_TCP ;;
	popd/tcpserver:tls) PORT=$P_TCPS PID=$PID_TCPS ;;
	popd/socket-activate:plain) PORT=$P_SA PID=$PID_SA ;;
	popd/socket-activate:tls) PORT=$P_SAS PID=$PID_SAS ;;
	dovecot:plain) PORT=$POP3_PORT PID=$DOVECOT_PID ;;
	dovecot:tls) PORT=$POP3S_PORT PID=$DOVECOT_PID ;;
	esac
}
load() { "$T/bin/popload" "$@" 2>>"$T/popload.err"; }
cpu() { python3 "$B/proc.py" cpu "$1"; }
tlsarg() { [ "$1" = tls ] && echo "-T $CA_DIR/ca.crt"; }

for n in $SIZES; do
	# Warm-up, not recorded: Dovecot indexes each maildrop at its first
	# login; popd's and Dovecot's files come into the page cache.
	for server in $POP_SERVERS; do
		for tls in plain tls; do
			where "$server" "$tls"
			load $(tlsarg $tls) -c 4 -d 0.5 -u "$UP${n}c" -e "$n" session 127.0.0.1 "$PORT" >/dev/null ||
			    note "warm-up $server $tls: errors ($(tail -n 1 "$T/popload.err"))"
		done
	done
	# The answers popd gives, for the trivial server and the floor.
	load -w "$T/record" -d 0.2 -u "p${n}c" session 127.0.0.1 "$P_TCP" >/dev/null
	chmod 644 "$T/record"
	P_FLOOR=$(free_port)
	$_su tcpserver -q -H -R -l0 -c 64 127.0.0.1 "$P_FLOOR" "$T/bin/popfloor" \
	    "$T/record" "$HASH" "$T/popd/p${n}c1" 2>>"$T/popd.log" </dev/null &
	PID_FLOOR=$!
	_lpids="$_lpids $PID_FLOOR"	# stopped at exit too
	wait_port "$P_FLOOR"
	r=0
	while [ $r -lt "$RUNS" ]; do
		r=$((r + 1))
		for tls in plain tls; do
			for c in 1 4; do
				for server in $POP_SERVERS; do
					note "pop3 $n $tls run $r: $c client(s), $server"
					where "$server" "$tls"
					c0=$(cpu "$PID")
					o=$(load $(tlsarg $tls) -c "$c" -d "$SECS" -u "$UP${n}c" -e "$n" \
					    session 127.0.0.1 "$PORT")
					c1=$(cpu "$PID")
					rec session n="$n" tls=$tls clients=$c server=$server \
					    $(echo "$o" | sed 's/cpu=/ccpu=/') \
					    scpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')"
				done
			done
			for server in popd/tcpserver dovecot; do
				note "pop3 $n $tls run $r: RETR, $server"
				where "$server" "$tls"
				c0=$(cpu "$PID")
				o=$(load $(tlsarg $tls) -u "p${n}c" -e "$n" retr 127.0.0.1 "$PORT")
				c1=$(cpu "$PID")
				rec retr n="$n" tls=$tls server=${server%/*} \
				    $(echo "$o" | sed 's/cpu=/ccpu=/') \
				    scpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')"
				[ "$server" = dovecot ] && names=pop3,pop3-login || names=popd
				o=$(python3 "$B/proc.py" rss "$PID" "$names" "$PORT" "p${n}c1" secret \
				    $([ "$tls" = tls ] && echo "$CA_DIR/ca.crt")) &&
				    rec rss n="$n" tls=$tls server=${server%/*} $o
			done
		done
		# popload's own limit.
		lp=$(free_port)
		"$T/bin/popload" -S "$T/record" "$lp" &
		spid=$!
		wait_port "$lp"
		for c in 1 4; do
			note "pop3 $n run $r: popload's limit, $c client(s)"
			o=$(load -c "$c" -d "$SECS" -u "p${n}c" -e "$n" session 127.0.0.1 "$lp")
			rec limit n="$n" clients=$c $(echo "$o" | sed 's/cpu=/ccpu=/')
		done
		kill "$spid"
		wait "$spid" 2>/dev/null
		for c in 1 4; do
			note "pop3 $n run $r: the floor, $c client(s)"
			c0=$(cpu "$PID_FLOOR")
			o=$(load -c "$c" -d "$SECS" -u "p${n}c" -e "$n" session 127.0.0.1 "$P_FLOOR")
			c1=$(cpu "$PID_FLOOR")
			rec floor n="$n" clients=$c $(echo "$o" | sed 's/cpu=/ccpu=/') \
			    scpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')"
		done
	done
	kill "$PID_FLOOR"
	wait "$PID_FLOOR" 2>/dev/null
done
listen_stop
