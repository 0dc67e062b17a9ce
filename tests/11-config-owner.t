#!/bin/sh
# popd trusts popd.conf only when no one but root and popd's own user can
# change it (as sshd's StrictModes): a file writable by group or others,
# or owned by another user, is refused when serving (one -ERR greeting,
# the reason logged) and by popd -t (FILE: reason, exit 78).  A file that
# others may read while it holds password hashes is served, with a
# warning.
. tests/lib.sh
need
mkmaildir "$T/alice"
h=$(hash_password secret)
printf 'auth-failure-delay = 0\n\n[alice]\npassword = %s\nmaildrop = %s/alice\n' \
    "$h" "$T" > "$T/popd.conf"
printf '[bob]\nmaildrop = %s/bob\n' "$T" > "$T/nohash.conf"
chown "$TUSER:" "$T/nohash.conf" 2>/dev/null || true

# mode MODE [OWNER]: sets popd.conf's mode and owner (default: the test user).
mode() {
	chmod "$1" "$T/popd.conf"
	chown "${2:-$TUSER}:" "$T/popd.conf" 2>/dev/null || true
}
# serve_once: one session (QUIT) as the test user; $T/out, $T/log, $rc.
serve_once() {
	printf 'QUIT\r\n' | as_user "$POPD" -e -c "$T/popd.conf" > "$T/out" 2> "$T/log"
	rc=$?
}
# t_check [ARGS]: popd -t as the test user; $T/t.err, $rc.
t_check() {
	as_user "$POPD" -t -c "$T/popd.conf" "$@" 2> "$T/t.err"
	rc=$?
}

mode 600
t_check
is "mode 0600, the user's own: popd -t exits 0" "$rc" 0
is "...and says nothing" "$(cat "$T/t.err")" ""
serve_once
check "...served" grep -q '^+OK popd signing off' "$T/out"
check "...no warning logged" sh -c "! grep -q warning '$T/log'"

for m in 664 620 646 602; do
	mode $m
	t_check
	is "mode 0$m: popd -t exits 78" "$rc" 78
	check "...FILE: writable by group or others (mode 0$m)" grep -q \
	    "^$T/popd.conf: writable by group or others (mode 0$m): refused; chmod go-w $T/popd.conf\$" "$T/t.err"
	serve_once
	is "mode 0$m: serving refused, exit 75" "$rc" 75
	check "...with an -ERR greeting" grep -q '^-ERR \[SYS/TEMP\] Server configuration error' "$T/out"
	check "...and the reason logged" grep -q "^popd: $T/popd.conf: writable by group or others (mode 0$m)" "$T/log"
done

mode 644
t_check
is "mode 0644 with password hashes: popd -t still exits 0" "$rc" 0
check "...with a warning: readable by others" grep -q \
    "^$T/popd.conf: warning: readable by others and holds password hashes (mode 0644); chmod o-r $T/popd.conf\$" "$T/t.err"
serve_once
check "...served" grep -q '^+OK popd signing off' "$T/out"
check "...the warning logged" grep -q "^popd: $T/popd.conf: warning: readable by others and holds password hashes" "$T/log"
chmod 644 "$T/nohash.conf"
as_user "$POPD" -t -c "$T/nohash.conf" 2> "$T/t.err"
is "mode 0644 without hashes: popd -t exits 0" "$?" 0
is "...without a warning" "$(cat "$T/t.err")" ""

if [ "$(id -u)" -ne 0 ]; then
	skip "owners: only root can give the file to another user"
	done_testing
	exit
fi
other=nobody
id "$other" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$other"

mode 644 "$other"
t_check
is "owned by $other: popd -t exits 78" "$rc" 78
check "...FILE: owned by $other, not by root or $TUSER" grep -q \
    "^$T/popd.conf: owned by $other, not by root or $TUSER: refused; chown root $T/popd.conf\$" "$T/t.err"
serve_once
is "owned by $other: serving refused, exit 75" "$rc" 75
check "...the reason logged" grep -q "^popd: $T/popd.conf: owned by $other, not by root or $TUSER" "$T/log"

mode 640 root
chgrp "$(id -gn "$TUSER")" "$T/popd.conf"
t_check
is "root:$TUSER 0640 (as the package installs it): popd -t exits 0" "$rc" 0
is "...and says nothing" "$(cat "$T/t.err")" ""
serve_once
check "...served" grep -q '^+OK popd signing off' "$T/out"

# popd -t as root checks for the service user: its file is fine, another's not.
mode 600
"$POPD" -t -u "$TUSER" -c "$T/popd.conf" 2> "$T/t.err"
is "popd -t as root, -u $TUSER, the file $TUSER's: 0" "$?" 0
mode 600 "$other"
"$POPD" -t -u "$TUSER" -c "$T/popd.conf" 2> "$T/t.err"
is "popd -t as root, -u $TUSER, the file $other's: 78" "$?" 78
check "...saying whose it is" grep -q "owned by $other, not by root or $TUSER" "$T/t.err"
"$POPD" -n -c "$T/popd.conf" > /dev/null 2> "$T/t.err"
is "popd -n refuses it too: 78" "$?" 78
done_testing
