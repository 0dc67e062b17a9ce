#!/bin/sh
# popd benchmarks: the cost of one session (connect -> QUIT) on a
# 2000-message maildrop, RETR throughput, and peak memory while sending a
# 100 MB message.  Prints numbers; asserts nothing (see tests/ for that).
set -eu
. tests/lib.sh
N=${N:-50}
mkmaildir "$T/alice"
python3 - "$T/alice" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(2000):
    p = os.path.join(d, "new", "%d.M%dP1.bench,S=%d,W=%d" % (1700000000 + i, i, 200, 210))
    with open(p, "wb") as f:
        f.write(b"Subject: m%d\n\n" % i + b"x" * 60 + b"\n")
    os.utime(p, (1700000000 + i, 1700000000 + i))
PY
chown -R "$TUSER:" "$T/alice"
mkconf "$T/popd.conf" </dev/null
session() { printf 'USER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL\r\nQUIT\r\n'; }
session > "$T/in"
bench_sessions() {
	s=$(date +%s%N)
	i=0
	while [ $i -lt "$N" ]; do
		as_user "$POPD" -e -c "$T/popd.conf" < "$T/in" > /dev/null 2>&1
		i=$((i+1))
	done
	e=$(date +%s%N)
	echo "$(( (e - s) / N / 1000 ))"
}
us=$(bench_sessions)
echo "popd session (login, STAT, LIST, UIDL of 2000 messages, QUIT): ${us} us per session (mean of $N, pipes)"
printf 'QUIT\r\n' > "$T/in"
us=$(bench_sessions)
echo "popd session without login (greeting, QUIT): ${us} us per session"
# The crypt(3) share of a login: yescrypt at the default cost.
printf 'USER alice\r\nPASS secret\r\nQUIT\r\n' > "$T/in"
us=$(bench_sessions)
echo "popd session (login, QUIT): ${us} us per session"
# popd's own work, with a cheap hash (sha512-crypt, 5000 rounds) instead.
cp "$T/popd.conf" "$T/yescrypt.conf"
sed -i "s|^password = .*|password = $(openssl passwd -6 secret)|" "$T/popd.conf"
session > "$T/in"
us=$(bench_sessions)
echo "popd session as above with a sha512-crypt hash: ${us} us per session"
cp "$T/yescrypt.conf" "$T/popd.conf"
# Added only now: without ",W=" its size is counted at each login, which
# would swamp the session figures above.
python3 - "$T/alice" <<'PY'
import os, sys
big = os.path.join(sys.argv[1], "cur", "big:2,S")
with open(big, "wb") as f:
    line = b"y" * 75 + b"\n"
    f.write(b"Subject: big\n\n" + line * (100 * 1024 * 1024 // len(line)))
os.utime(big, (1600000000, 1600000000))
PY
chown "$TUSER:" "$T/alice/cur/big:2,S"
printf 'USER alice\r\nPASS secret\r\nRETR 1\r\nQUIT\r\n' > "$T/in"
s=$(date +%s%N)
as_user /usr/bin/time -f '%M' -o "$T/rss" "$POPD" -e -c "$T/popd.conf" < "$T/in" 2>/dev/null | wc -c > "$T/bytes"
e=$(date +%s%N)
ms=$(( (e - s) / 1000000 ))
echo "RETR of a 100 MB message: $(cat "$T/bytes") bytes in ${ms} ms ($(( $(cat "$T/bytes") / 1024 / (ms > 0 ? ms : 1) )) MB/s), peak RSS $(cat "$T/rss") KiB"
