#!/bin/sh
# A maildrop far larger than a session may list: 200,000 messages.  popd
# never locks its user out: a login lists the oldest max-messages (the
# default cap when 0), in memory bounded by that number, not by the
# maildrop.  And a login costs no system call per message: with 2000
# messages named as imapfetch names them, strace counts no stat or open
# per message.
. tests/lib.sh
need python3 /usr/bin/time

N=200000
PY=/usr/bin/python3
# On tmpfs when there is one: 200,000 files are made in 3 s there, 16 s
# on a busy ext4.
BIG=$T/big
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	BIG=$(mktemp -d /dev/shm/popd-large.XXXXXX)
	at_exit "rm -rf '$BIG'"
	chmod 755 "$BIG"
fi
BIG=$BIG/alice
# Empty files named as imapfetch names them, one mknod(2) each, in a
# shuffled order: what readdir returns first is not the oldest.
$PY - "$BIG" $N <<'EOF'
import os, random, stat, sys
d, n = sys.argv[1], int(sys.argv[2])
for s in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(d, s), exist_ok=True)
order = list(range(n))
random.Random(1).shuffle(order)
for i in order:
    name = "%d.M%06dP1Q%d.host,S=0,W=0" % (1700000000 + i, i, i)
    os.mknod(os.path.join(d, "new" if i % 2 else "cur", name),
             0o600 | stat.S_IFREG)
EOF
mkmaildir "$BIG"
mkconf "$T/popd.conf" <<EOF
plaintext-auth = always
EOF
# session MAX [CMDS]: one session (max-messages MAX, CMDS separated by
# ";") printing popd's replies, then "maxrss KB" (time(1)) and "ms N".
session() {
	sed -i "/^max-messages/d" "$T/popd.conf"
	echo "max-messages = $1" >> "$T/popd.conf"
	{ printf 'USER alice\r\nPASS secret\r\n'
	  printf '%s\n' "${2:-}" | tr ';' '\n' | sed '/^$/d; s/$/\r/'
	  printf 'QUIT\r\n'; } > "$T/in"
	_t0=$(date +%s%N)
	as_user /usr/bin/time -f 'maxrss %M' -o "$T/time" \
	    "$POPD" -c "$T/popd.conf" < "$T/in" | tr -d '\r'
	_t1=$(date +%s%N)
	cat "$T/time"
	echo "ms $(( (_t1 - _t0) / 1000000 ))"
}
# has LINE: the last session's output holds LINE
has() { printf '%s\n' "$out" | grep -qxF -- "$1"; }

# use DIR: the maildrop of the next sessions
use() { sed -i "s|^maildrop = .*|maildrop = $1|" "$T/popd.conf"; }

# A baseline: the same session over an empty maildrop.
mkmaildir "$T/empty"
use "$T/empty"
base=$(session 0 "STAT;" | sed -n 's/^maxrss //p')
use "$BIG"

out=$(session 50 "STAT;UIDL 1;UIDL 50;UIDL 51;")
check "max-messages 50 of $N: the login answers" has '+OK alice has 50 messages'
check "...STAT: 50 messages" has '+OK 50 0'
check "...message 1 is the oldest" has '+OK 1 1700000000.M000000P1Q0.host,S=0,W=0'
check "...message 50 the 50th oldest" has '+OK 50 1700000049.M000049P1Q49.host,S=0,W=0'
check "...no message 51" has '-ERR No such message'
rss=$(printf '%s\n' "$out" | sed -n 's/^maxrss //p')
diag "$N messages, max-messages 50: peak RSS ${rss} KB (empty maildrop: ${base} KB), $(printf '%s\n' "$out" | sed -n 's/^ms //p') ms"
if ldd "$POPD" 2>/dev/null | grep -q libasan; then
	skip "peak RSS: popd is built with AddressSanitizer"
else
	# The old scan held every entry: 55 MB here.  Now 50 are held.
	check "peak RSS within 4 MB of an empty maildrop's" \
	    test "${rss:-999999}" -lt $((${base:-0} + 4096))
fi

out=$(session 0 "STAT;UIDL 100000;")
check "max-messages 0: the default cap, 100000 of $N" has '+OK alice has 100000 messages'
check "...message 100000 is the 100000th oldest" has '+OK 100000 1700099999.M099999P1Q99999.host,S=0,W=0'
diag "$N messages, max-messages 0 (cap 100000): peak RSS $(printf '%s\n' "$out" | sed -n 's/^maxrss //p') KB, $(printf '%s\n' "$out" | sed -n 's/^ms //p') ms"

# Delete the oldest and the 50th: the next session lists the next ones.
out=$(session 50 "DELE 1;DELE 50;")
out=$(session 50 "UIDL 1;UIDL 50;")
check "after DELE 1 and 50, the next session starts with the 2nd oldest" \
    has '+OK 1 1700000001.M000001P1Q1.host,S=0,W=0'
check "...and goes on to the 52nd" has '+OK 50 1700000051.M000051P1Q51.host,S=0,W=0'

# No system call per message: 2000 messages, one login under strace.
if command -v strace >/dev/null; then
	rm -rf "$BIG"
	$PY - "$T/alice" 2000 <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for s in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(d, s), exist_ok=True)
for i in range(n):
    b = b"Subject: %d\n\nbody\n" % i
    p = os.path.join(d, "new", "%d.M%06dP1Q%d.host,S=%d,W=%d" %
                     (1700000000 + i, i, i, len(b), len(b) + 3))
    with open(p, "wb") as f:
        f.write(b)
EOF
	mkmaildir "$T/alice"
	sed -i "/^max-messages/d" "$T/popd.conf"
	use "$T/alice"
	printf 'USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n' > "$T/in"
	as_user strace -f -c -o "$T/strace" "$POPD" -c "$T/popd.conf" \
	    < "$T/in" > "$T/out" 2>/dev/null
	calls=$(awk '$NF == "total" { print $(NF-2) }' "$T/strace")
	# Per-message calls would be stats, opens or reads; what else the
	# C library or a sanitizer's allocator does (mmap) is not counted.
	files=$(awk '$NF ~ /^(newfstatat|fstatat64|statx|stat|lstat|fstat|openat|open|read)$/ {
	    n += $4 } END { print n + 0 }' "$T/strace")
	check "2000 messages: the session answers" grep -q '^+OK 2000 ' "$T/out"
	diag "system calls of a session over 2000 messages: $calls, of which stat, open, read: $files"
	check "...fewer than 500 stats, opens and reads (one per message before: 2036)" \
	    test "${files:-99999}" -lt 500
else
	skip "strace not installed"
fi
done_testing
