#!/bin/sh
# A password does not outlive its use in popd's memory: after PASS or AUTH
# PLAIN (initial response or continuation), right or wrong, the password
# and its base64 form are nowhere in the process (its line buffer and the
# bytes of the I/O buffer are wiped).  Read from /proc/PID/mem while the
# session waits for its next command.  Plaintext sessions: over TLS,
# OpenSSL keeps the last record it decrypted until the next one comes,
# which libtls gives no way to wipe.
. tests/lib.sh
need python3
# Under AddressSanitizer (the CI's second pass) this check cannot work:
# its shadow memory is terabytes of mappings to read.
if ldd "$POPD" 2>/dev/null | grep -q libasan; then
	echo "1..0 # SKIP popd is built with AddressSanitizer: its shadow memory is terabytes of mappings to read"
	exit 0
fi
# After login the session process is not dumpable (popd/sandbox.c): only
# root may read its memory.
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root: popd's processes are not dumpable"
	exit 0
fi
mkmaildir "$T/alice"
PW=Zq7-unique-Passw0rd-4711
h=$(printf '%s\n' "$PW" | "$POPD" --hash-password)
printf 'auth-failure-delay = 0\nplaintext-auth = always\n[alice]\npassword = %s\nmaildrop = %s/alice\n' \
    "$h" "$T" > "$T/popd.conf"
chmod 600 "$T/popd.conf"
chown "$TUSER:" "$T/popd.conf" 2>/dev/null || true
if [ "$(id -u)" -eq 0 ]; then
	run="setpriv --reuid=$TUSER --regid=$TUSER --init-groups -- $POPD"
else
	run=$POPD
fi

cat > "$T/scan.py" <<'PY'
"""scan.py PW CONF POPD...: one session per way of sending a password;
prints TAP lines (tap_import) on whether popd's memory still holds it."""
import base64, re, subprocess, sys, time
from procmem import mappings as memory
pw, conf, argv = sys.argv[1].encode(), sys.argv[2], sys.argv[3:]


def session(name, steps, password):
    p = subprocess.Popen(argv + ["-e", "-c", conf], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    for send, replies in steps:
        p.stdin.write(send + b"\r\n")
        p.stdin.flush()
        last = [p.stdout.readline() for _ in range(replies)][-1]
    time.sleep(0.1)		# popd waits for the next command
    try:
        regions = memory(p.pid)
    except OSError as e:
        print("not ok - %s: cannot read popd's memory: %s" % (name, e))
        return
    finally:
        p.stdin.close()
        p.wait()
    b64 = base64.b64encode(b"\0alice\0" + password)
    hits = [(n, w) for n, data in regions for w in (password, b64)
            if w in data]
    print(("ok - " if regions and not hits else "not ok - ") + name +
          " (reply: %s)" % last.decode().strip())
    for n, w in hits:
        print("# %s found in %s" % (w.decode(), n))


def plain(password):
    return base64.b64encode(b"\0alice\0" + password)


for password, what in ((pw, "right"), (b"Wr0ng-unique-Passw0rd-99", "wrong")):
    session("USER/PASS, %s password: gone from memory" % what,
            [(b"USER alice", 1), (b"PASS " + password, 1)], password)
    session("AUTH PLAIN with initial response, %s password: gone" % what,
            [(b"AUTH PLAIN " + plain(password), 1)], password)
    session("AUTH PLAIN after \"+ \", %s password: gone" % what,
            [(b"AUTH PLAIN", 1), (plain(password), 1)], password)
# Pipelined behind PASS: read in one go with it, wiped all the same.
session("PASS with STAT pipelined behind it: gone",
        [(b"USER alice\r\nPASS " + pw + b"\r\nSTAT", 3)], pw)
PY
tap_import env PYTHONPATH="$TOP/tests" python3 "$T/scan.py" "$PW" "$T/popd.conf" $run
done_testing
