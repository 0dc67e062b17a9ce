#!/bin/sh
# End-to-end: Python's poplib (and a raw socket for the exact dot-stuffed
# bytes) against popd spawned per connection by systemd-socket-activate
# --inetd and by ucspi-tcp's tcpserver, on the fixtures of mkfixtures.py.
# What each check asserts is in tests/pop3check.py.
. tests/lib.sh
need

mkconf "$T/popd.conf" </dev/null
for kind in socket-activate tcpserver; do
	case $kind in
	socket-activate) tool=systemd-socket-activate ;;
	tcpserver) tool=tcpserver ;;
	esac
	if ! command -v $tool >/dev/null; then skip "$tool not installed"; continue; fi
	TAP_PREFIX="$kind: "
	port=$(free_port)
	check "$kind: listening on $port" serve $kind "$port" "$T/popd.conf"

	# Reads everything, drops a connection, QUITs: see check_read/drop.
	fixtures "$T/alice"
	tap_import python3 tests/pop3check.py --port "$port" --manifest "$T/alice.json" \
	    capa auth drop read
	# DELE/RSET/QUIT on fresh fixtures, then mail arriving during a session.
	fixtures "$T/alice"
	tap_import python3 tests/pop3check.py --port "$port" --manifest "$T/alice.json" dele snapshot
	serve_stop
done
TAP_PREFIX=
if [ "$_fail" -ne 0 ]; then diag "popd log:"; tail -n 30 "$T/popd.log" | while IFS= read -r l; do diag "$l"; done; fi
done_testing
