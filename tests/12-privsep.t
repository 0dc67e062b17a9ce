#!/bin/sh
# Privilege separation, seen from outside on a live connection (plain, and
# implicit TLS).  Before login, the process that reads the client's bytes
# is popd's child: it holds no password hash of the configuration (the
# parent does), is under seccomp with no new privileges, and cannot open
# a file or make a socket (gdb makes it call open(2) and socket(2)).
# After login, the process serving the session cannot open a file in
# another user's maildrop or the configuration, but can in its own; it
# holds no hash any more.  When the pre-auth process dies, popd ends.
# The pre-auth process has no log of its own: stderr is /dev/null (but in
# the ASan build, whose reports go there).
# Both processes are not dumpable, so gdb and
# /proc/PID/mem need root.
. tests/lib.sh
need python3 gdb openssl
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root: popd's processes are not dumpable"
	exit 0
fi
# Under AddressSanitizer the memory scan cannot work (terabytes of shadow
# mappings): only the gdb and /proc/PID/status checks run.
asan=0
ldd "$POPD" 2>/dev/null | grep -q libasan && asan=1

mkmaildir "$T/alice"
mkmaildir "$T/bob"
printf 'Subject: a\n\nalice\n' > "$T/alice/cur/1.alice,S=18,W=21"
printf 'Subject: b\n\nbob\n' > "$T/bob/cur/1.bob"
chown "$TUSER:" "$T/alice/cur/1.alice,S=18,W=21" "$T/bob/cur/1.bob"
ha=$(hash_password alice-Secret-1)
hb=$(hash_password bob-Secret-2)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=localhost -keyout "$T/key.pem" -out "$T/cert.pem" \
    2>/dev/null
chown "$TUSER:" "$T/key.pem" "$T/cert.pem"
printf 'auth-failure-delay = 0\nplaintext-auth = always\ntls-cert = %s\ntls-key = %s\n[alice]\npassword = %s\nmaildrop = %s\n[bob]\npassword = %s\nmaildrop = %s\n' \
    "$T/cert.pem" "$T/key.pem" "$ha" "$T/alice" "$hb" "$T/bob" > "$T/popd.conf"
chmod 600 "$T/popd.conf"
chown "$TUSER:" "$T/popd.conf"

cat > "$T/privsep.py" <<'PY'
"""privsep.py T ASAN HASH... -- POPD...: TAP lines (tap_import)."""
import os, re, socket, ssl, subprocess, sys, time
import procmem
from procmem import ok, children
T, asan = sys.argv[1], sys.argv[2] == "1"
sep = sys.argv.index("--")
hashes = [h.encode() for h in sys.argv[3:sep]]
popd = sys.argv[sep + 1:]


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith(key + ":"):
                return l.split()[1]
    return None


def memory(pid):
    """Every readable mapping of pid, as one bytes."""
    return b"".join(m for _, m in procmem.mappings(pid))


def gdb_calls(pid, *calls):
    """What each C expression returns when pid calls it (None: no answer)."""
    argv = ["gdb", "-p", str(pid), "-batch", "-nx"]
    for c in calls:
        argv += ["-ex", "call (int)%s" % c]
    out = subprocess.run(argv, capture_output=True, text=True,
                         timeout=60).stdout
    got = dict((int(n), int(v)) for n, v in
               re.findall(r"^\$(\d+) = (-?\d+)$", out, re.M))
    return [got.get(i + 1) for i in range(len(calls))]


def start(tls):
    ours, theirs = socket.socketpair()
    env = dict(os.environ)
    if asan:
        # gdb's "call" puts its string arguments in malloc'd memory of
        # popd, which nothing frees: not popd's leak.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    p = subprocess.Popen(popd + ["-e", "-c", T + "/popd.conf"] +
                         (["--tls"] if tls else []), stdin=theirs,
                         stdout=theirs, stderr=subprocess.PIPE, env=env)
    theirs.close()
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ours = ctx.wrap_socket(ours, server_hostname="localhost")
    return p, ours, ours.makefile("rb")


def pre_auth(what, p, f):
    greeting = f.readline()
    ok(greeting.startswith(b"+OK"), "%s: greeting" % what, greeting)
    time.sleep(0.1)
    kids = children(p.pid)
    ok(len(kids) == 1, "%s: popd has one child, the pre-auth process"
       % what, "children: %r" % kids)
    if len(kids) != 1:
        return None
    n = kids[0]
    ok(status(n, "NoNewPrivs") == "1" and status(n, "Seccomp") == "2",
       "%s: pre-auth process: no new privileges, seccomp filter" % what,
       "NoNewPrivs %s Seccomp %s" % (status(n, "NoNewPrivs"),
                                     status(n, "Seccomp")))
    if not asan:
        mn, mp = memory(n), memory(p.pid)
        found = [h for h in hashes if h in mn]
        ok(mn and not found, "%s: no password hash in the pre-auth "
           "process's memory" % what, *["found %s" % h for h in found])
        ok(all(h in mp for h in hashes), "%s: the privileged process "
           "holds them (the scan finds what is there)" % what)
    if not asan:
        fd2 = os.readlink("/proc/%d/fd/2" % n)
        ok(fd2 == "/dev/null", "%s: the pre-auth process's stderr is "
           "/dev/null: its log lines go through the parent" % what,
           "fd 2: %s" % fd2)
        ok(os.readlink("/proc/%d/fd/2" % p.pid).startswith("pipe:"),
           "%s: the parent's is the log" % what)
    r = gdb_calls(n, '((int (*)(const char *, int))open)("/etc/hostname", 0)',
                  '((int (*)(const char *, int))open)("%s/popd.conf", 0)' % T,
                  '((int (*)(int, int, int))socket)(2, 1, 0)',
                  '((int (*)(int, int, int))socket)(1, 1, 0)')
    ok(r == [-1, -1, -1, -1], "%s: pre-auth process cannot open "
       "/etc/hostname or popd.conf, nor make an inet or unix socket"
       % what, "open, open, socket, socket returned %r" % (r,))
    return n


def session(tls):
    what = "TLS" if tls else "plain"
    p, s, f = start(tls)
    n = pre_auth(what, p, f)
    s.sendall(b"USER alice\r\nPASS alice-Secret-1\r\n")
    f.readline()
    reply = f.readline()
    ok(reply.startswith(b"+OK alice has 1 messages"),
       "%s: login" % what, reply)
    time.sleep(0.1)
    kids = children(p.pid)
    if tls:
        ok(kids == [n] and status(n, "Seccomp") == "2",
           "TLS: the pre-auth process relays, still under seccomp",
           "children %r" % kids)
    else:
        ok(kids == [], "plain: the pre-auth process is gone",
           "children %r" % kids)
    ok(status(p.pid, "NoNewPrivs") == "1",
       "%s: the session process has no new privileges" % what)
    r = gdb_calls(p.pid,
                  '((int (*)(const char *, int))open)("%s/bob/cur/1.bob", 0)' % T,
                  '((int (*)(const char *, int))open)("%s/bob/cur", 0x10000)' % T,
                  '((int (*)(const char *, int))open)("%s/popd.conf", 0)' % T,
                  '((int (*)(const char *, int))open)("%s/alice/cur/1.alice,S=18,W=21", 0)' % T)
    ok(r[:3] == [-1, -1, -1], "%s: the session cannot open another "
       "user's message or maildrop, or popd.conf" % what,
       "open returned %r" % (r[:3],))
    ok(r[3] is not None and r[3] >= 0, "%s: ...but can open its own "
       "messages" % what, "open returned %r" % (r[3],))
    if not asan:
        found = [h for h in hashes if h in memory(p.pid)]
        ok(not found, "%s: after login no password hash is left in the "
           "session's memory" % what, *["found %s" % h for h in found])
    s.sendall(b"STAT\r\nQUIT\r\n")
    replies = [f.readline(), f.readline()]
    ok(replies[0].startswith(b"+OK 1 ") and replies[1].startswith(b"+OK"),
       "%s: the session goes on: STAT, QUIT" % what, replies)
    f.close()
    s.close()
    p.wait(timeout=10)
    log = p.stderr.read().decode()
    ok(p.returncode == 0 and log.count("session user=alice") == 1,
       "%s: popd ends with 0 and one session line" % what,
       "exit %r" % p.returncode, *log.splitlines())


def crash():
    """The pre-auth process dies: the parent ends too, and says so."""
    p, s, f = start(False)
    f.readline()
    time.sleep(0.1)
    kids = children(p.pid)
    if kids:
        os.kill(kids[0], 9)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    log = p.stderr.read().decode()
    rest = f.read()
    ok(p.returncode == 70 and "killed by signal 9" in log and rest == b"",
       "pre-auth process killed: popd ends (70), logs it, the client "
       "sees the connection close", "exit %r" % p.returncode,
       *log.splitlines())


session(False)
session(True)
crash()
PY
if [ "$(id -u)" -eq 0 ]; then
	run="setpriv --reuid=$TUSER --regid=$TUSER --init-groups -- $POPD"
fi
tap_import env PYTHONPATH="$TOP/tests" python3 "$T/privsep.py" "$T" "$asan" "$ha" "$hb" -- $run
done_testing
