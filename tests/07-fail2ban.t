#!/bin/sh
# The shipped fail2ban filter matches popd's own auth-failure line and
# takes the client's address from it, and nothing else popd logs.
. tests/lib.sh
mkmaildir "$T/alice"
echo "plaintext-auth = always" | mkconf "$T/popd.conf"
printf 'USER alice\r\nPASS wrong\r\nUSER nobody\r\nPASS x\r\nUSER alice\r\nPASS secret\r\nQUIT\r\n' |
    REMOTE_ADDR=198.51.100.9 as_user "$POPD" -e -c "$T/popd.conf" >/dev/null 2>"$T/log"
python3 - "$T/log" units/fail2ban/popd.conf <<'PY'
import re, sys
log = open(sys.argv[1]).read().splitlines()
rx = [l.split("=", 1)[1].strip() for l in open(sys.argv[2]) if l.startswith("failregex")][0]
rx = re.compile(rx.replace("<HOST>", r"(?P<host>\S+)"))
hits = [m.group("host") for m in map(rx.search, log) if m]
# As fail2ban sees a syslog file's line once it has cut the date: a blank,
# the host name, then the tag.
filelog = [" mailhost " + l for l in log]
filehits = [m.group("host") for m in map(rx.search, filelog) if m]
n = 0
def ok(c, name):
    global n; n += 1
    print(("ok" if c else "not ok"), n, "-", name)
    if not c: print("# log:", *log, sep="\n# ")
ok(len(hits) == 2, "two failed logins, two matches")
ok(hits == ["198.51.100.9"] * 2, "the host is the client's address")
ok(any("session user=alice" in l for l in log), "the session line is there, unmatched")
ok(filehits == ["198.51.100.9"] * 2, "a syslog file's lines match too")
print("1..%d" % n)
PY
