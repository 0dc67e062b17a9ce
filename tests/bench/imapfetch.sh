#!/bin/sh
# imapfetch benchmark: 2000 messages (about 90 MB, the edge cases among
# them) from a local Dovecot over IMAPS into a Maildir on disk.  Measures
# wall time, CPU and peak RSS with /usr/bin/time -v, next to mbsync(1)
# (isync) pulling the same corpus from an identical mailbox in the same
# run.  Prints numbers; asserts only that both runs succeeded.
set -u
. tests/lib.sh
. tests/lib-dovecot.sh

N=${N:-2000}
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)"; exit 1; }
command -v mbsync >/dev/null || { echo "bench: mbsync missing (apt-get install isync)"; exit 1; }
imap_user alice pw1
imap_user bob pw2
dovecot_start || exit 1

python3 tests/mkcorpus.py --edge --big 10 --seed 7 --mean 40000 "$T/corpus" "$N"
# The same files in both mailboxes, written straight into Maildir new/.
for u in alice bob; do
	python3 - "$T/corpus" "$(imap_maildir $u)/new" <<'PY'
import os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
for i, f in enumerate(sorted(os.listdir(src))):
    shutil.copyfile(os.path.join(src, f), os.path.join(dst, "1700000000.%d.bench" % i))
PY
done
chown -R "$TUSER:" "$IMAP_ROOT"
imaptool count alice pw1 >/dev/null	# let Dovecot index both before timing
imaptool count bob pw2 >/dev/null
total=$(du -sb "$T/corpus" | awk '{print $1}')

fetchconf "$T/f.conf" "$T/drop-imapfetch"
cat > "$T/mbsyncrc" <<EOF
IMAPAccount bench
Host 127.0.0.1
Port $IMAPS_PORT
User bob
Pass pw2
SSLType IMAPS
CertificateFile $CA_DIR/ca.crt

IMAPStore remote
Account bench

MaildirStore local
Path $T/drop-mbsync/
Inbox $T/drop-mbsync/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Sync Pull New
Create Near
SyncState *
EOF
mkdir -p "$T/drop-mbsync"
chown -R "$TUSER:" "$T/mbsyncrc" "$T/drop-mbsync"

# measure NAME CMD...: one line of numbers from /usr/bin/time -v.
measure() {
	_name=$1; shift
	sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
	as_user /usr/bin/time -v "$@" > "$T/$_name.out" 2> "$T/$_name.time"
	_rc=$?
	awk -v name="$_name" -v rc="$_rc" -F': ' '
	    /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
	    /User time/ { user = $2 } /System time/ { sys = $2 }
	    /Maximum resident set size/ { rss = $2 }
	    END { printf "%-10s wall %6.2f s  user %6.2f s  sys %6.2f s  peak RSS %7d KB  exit %d\n", name, wall, user, sys, rss, rc }' "$T/$_name.time"
	return $_rc
}

echo "corpus: $N messages, $((total / 1000000)) MB, Dovecot $(dovecot --version | cut -d' ' -f1) over IMAPS on 127.0.0.1, Maildir on $(df -T "$T" | awk 'NR==2 {print $2}')"
rc=0
measure imapfetch "$IMAPFETCH" -q -c "$T/f.conf" || rc=1
measure mbsync mbsync -q -c "$T/mbsyncrc" bench || rc=1
ni=$(ls "$T/drop-imapfetch/new" | wc -l)
nm=$(find "$T/drop-mbsync/INBOX/new" "$T/drop-mbsync/INBOX/cur" -type f | wc -l)
echo "delivered: imapfetch $ni, mbsync $nm (of $N)"
if [ "$(drop_hashes "$T/drop-imapfetch")" = "$(corpus_hashes "$T/corpus")" ]; then
	echo "imapfetch: byte-exact, every message once"
else
	echo "imapfetch: NOT byte-exact"; rc=1
fi
exit $rc
