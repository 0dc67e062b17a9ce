#!/bin/sh
# Which users exist must not show in how long a failed login takes: popd
# makes the same crypt(3) calls for an unknown user as for a known one
# with a wrong password, whatever hashes the configuration holds (one per
# method and cost, each with a setting of that method and cost).  Checked
# exactly with a crypt_rn shim (LD_PRELOAD) that records every setting
# popd passes, then as a client sees it, by the clock.
. tests/lib.sh
need cc python3
# Under AddressSanitizer (the CI's second pass) this check cannot work:
# an LD_PRELOAD shim cannot come before the ASan runtime.
if ldd "$POPD" 2>/dev/null | grep -q libasan; then
	echo "1..0 # SKIP popd is built with AddressSanitizer: an LD_PRELOAD shim cannot come before the ASan runtime"
	exit 0
fi

# The shim: every crypt_rn setting, one per line, to $CRYPTSPY.
cat > "$T/cryptspy.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef char *(*crypt_rn_fn)(const char *, const char *, void *, int);

char *
crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
	crypt_rn_fn	 real = (crypt_rn_fn)dlsym(RTLD_NEXT, "crypt_rn");
	const char	*f = getenv("CRYPTSPY");
	int		 fd;

	if (f != NULL && (fd = open(f, O_WRONLY | O_APPEND | O_CREAT,
	    0644)) != -1) {
		dprintf(fd, "%s\n", setting);
		close(fd);
	}
	return real(phrase, setting, data, size);
}
EOF
if ! cc -shared -fPIC -o "$T/cryptspy.so" "$T/cryptspy.c" 2>"$T/cc.log"; then
	echo "1..0 # SKIP cannot build the LD_PRELOAD shim: $(head -1 "$T/cc.log")"
	exit 0
fi

# mkhash PREFIX COST PASSWORD: a crypt(3) hash made by libxcrypt.
mkhash() {
	python3 - "$@" <<'PY'
import ctypes, sys
lib = ctypes.CDLL("libcrypt.so.1")
lib.crypt_gensalt.restype = ctypes.c_char_p
lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
lib.crypt.restype = ctypes.c_char_p
lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
salt = lib.crypt_gensalt(sys.argv[1].encode(), int(sys.argv[2]), None, 0)
print(lib.crypt(sys.argv[3].encode(), salt).decode())
PY
}

# writeconf FILE NAME=HASH...: sections with those hashes, maildrops in $T.
writeconf() {
	_f=$1; shift
	{
		echo "auth-failure-delay = 0"
		echo "plaintext-auth = always"
		for _u in "$@"; do
			printf '\n[%s]\npassword = %s\nmaildrop = %s/%s\n' \
			    "${_u%%=*}" "${_u#*=}" "$T" "${_u%%=*}"
		done
	} > "$_f"
	chmod 600 "$_f"
	chown "$TUSER:" "$_f" 2>/dev/null || true
}

# spy CONF USER: one failed login as USER under the shim; prints the
# settings popd passed to crypt_rn, one per line.
spy() {
	rm -f "$T/spy.out"
	printf 'USER %s\r\nPASS wrong-password\r\nQUIT\r\n' "$2" |
	    as_user env LD_PRELOAD="$T/cryptspy.so" CRYPTSPY="$T/spy.out" \
	    "$POPD" -e -c "$1" > "$T/spy.pop" 2>>"$T/popd.log"
	grep -q '^-ERR \[AUTH\] Authentication failed' "$T/spy.pop" ||
	    diag "no failed login for $2: $(tr -d '\r' < "$T/spy.pop")"
	cat "$T/spy.out" 2>/dev/null
}

# kinds: the method and cost of each setting read on stdin, sorted.
kinds() {
	sed -e 's/^\(\$y\$[^$]*\$\).*/\1/' -e 's/^\(\$2b\$[0-9][0-9]\$\).*/\1/' \
	    -e 's/^\(\$6\$rounds=[0-9]*\$\).*/\1/' | sort | tr '\n' ' '
}

# The audit's case: only sha512-crypt hashes of one rounds count.
A=$(mkhash '$6$' 7000 secret)
B=$(mkhash '$6$' 7000 other)
writeconf "$T/sha.conf" "alice=$A" "bob=$B"
got=$(spy "$T/sha.conf" nobody)
is "unknown user, sha512-crypt config: one crypt, an sha512-crypt setting of rounds=7000" \
    "$(echo "$got" | kinds)" '$6$rounds=7000$ '
is "...alice's hash as the setting (the class's first)" "$got" "$A"
got=$(spy "$T/sha.conf" bob)
is "bob, wrong password: the same, with bob's own hash" "$got" "$B"

# Several methods and costs: every failed login computes each once.
Y=$(mkhash '$y$' 0 secret)
S=$(mkhash '$6$' 6000 secret)
C=$(mkhash '$2b$' 5 secret)
writeconf "$T/mixed.conf" "alice=$Y" "bob=$S" "carol=$C"
want='$2b$05$ $6$rounds=6000$ $y$j9T$ '
for u in alice bob carol nobody; do
	is "mixed config, $u: one crypt per method and cost" \
	    "$(spy "$T/mixed.conf" "$u" | kinds)" "$want"
done

# By the clock: the seconds from PASS to its -ERR, median of 7, for an
# unknown user and a known one, sha512-crypt config.  Unknown users once
# cost a yescrypt (20-60 ms) against sha512-crypt's 1-2 ms.
cat > "$T/clock.py" <<'PY'
import os, subprocess, sys, time
conf, user, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
times = []
for _ in range(7):
    p = subprocess.Popen(argv + ["-e", "-c", conf], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    p.stdin.write(b"USER %s\r\n" % user.encode()); p.stdin.flush()
    p.stdout.readline()
    t = time.monotonic()
    p.stdin.write(b"PASS wrong-password\r\n"); p.stdin.flush()
    p.stdout.readline()
    times.append(time.monotonic() - t)
    p.stdin.close(); p.wait()
print("%.1f" % (sorted(times)[3] * 1000))
PY
if [ "$(id -u)" -eq 0 ]; then
	run="setpriv --reuid=$TUSER --regid=$TUSER --init-groups -- $POPD"
else
	run=$POPD
fi
known=$(python3 "$T/clock.py" "$T/sha.conf" alice $run)
unknown=$(python3 "$T/clock.py" "$T/sha.conf" nobody $run)
check "by the clock: unknown user ${unknown} ms, known user ${known} ms (within 8 ms)" \
    awk -v a="$known" -v b="$unknown" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && b > 0 && d < 8) }'

done_testing
