#!/bin/sh
# A maildrop of 200,000 messages with max-messages = 1000: the login
# answers with the 1,000 oldest, and the session's peak memory (VmHWM of
# the popd process, read from /proc while it is live) stays under 32 MB,
# a bound set by max-messages, not by the maildrop's size (issue 11, audit
# item 2: a 1,000,000-message maildrop took 277 MB at login).  About
# 16 MB of it is the password check (yescrypt's default memory cost), on
# an empty maildrop as well.  The
# maildrop is on a tmpfs: on this disk, making and removing 200,000 files
# takes minutes; on a tmpfs, seconds.
. tests/lib.sh
. tests/lib-hostile.sh
need tcpserver python3
N=200000 MAX=1000 BOUND_KB=32768

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root for a tmpfs (200,000 files on disk take minutes)"
	exit 0
fi
mkdir "$T/big"
mount -t tmpfs -o "size=256m,nr_inodes=$((N + 1000)),mode=755,uid=$(id -u "$TUSER"),gid=$(id -g "$TUSER")" \
    tmpfs "$T/big" || { nok "tmpfs mounted"; done_testing; exit; }
# Sessions first: a popd still in the maildrop would keep the mount busy.
at_exit 'hserve_stop; umount "$T/big"'
t0=$(date +%s)
python3 tests/hostile.py mkbig "$T/big/alice" $N
# popd needs the directories (its lock, the moves to cur/); the files are
# read-only to it, as a delivery agent's may be.
chown "$TUSER:" "$T/big/alice" "$T/big/alice/new" "$T/big/alice/cur" "$T/big/alice/tmp"
check "$N messages made ($(($(date +%s) - t0)) s)" \
    test "$(find "$T/big/alice/new" "$T/big/alice/cur" -type f | wc -l)" -eq $N
mkconf "$T/popd.conf" <<EOF2
max-messages = $MAX
EOF2
sed -i "s|^maildrop = .*|maildrop = $T/big/alice|" "$T/popd.conf"
check "popd under tcpserver" hserve port sup "$T/popd.conf" 64
tap_import python3 tests/hostile.py bigdrop --port "$port" --ppid "$sup" \
    --maildrop "$T/big/alice" --want $MAX --out "$T/mem.json"
hwm=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmhwm_kb"])' "$T/mem.json" 2>/dev/null)
login=$(python3 -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["login_s"])' "$T/mem.json" 2>/dev/null)
diag "VmHWM of the session: ${hwm:-?} kB; PASS answered in ${login:-?} s"
# A generous bound: the scan of 200,000 names takes a second or two here;
# 30 s would mean a per-message open or a machine far too loaded.
check "the login answered within 30 s" \
    python3 -c "import sys; sys.exit(not float(sys.argv[1]) < 30)" "${login:-99}"
check "peak memory under $((BOUND_KB / 1024)) MB with max-messages = $MAX (${hwm:-?} kB)" \
    test "${hwm:-999999}" -lt $BOUND_KB
done_testing
