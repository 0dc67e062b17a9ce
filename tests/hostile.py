#!/usr/bin/env python3
"""hostile.py: hostile POP3 clients against a popd served on a port by a
supervisor (tests/45-hostile-*.t), and the checks of what they leave.

  hostile.py inuse --port P --ppid PID --maildrop DIR --clients N --dele K
  hostile.py slowloris --port P --tls-port Q --ca CA --ppid PID --ppid PID2
                       --deadline D --log LOG
  hostile.py brute --port P --ppid PID --log LOG --delay S --cap N
  hostile.py mkbig DIR N
  hostile.py bigdrop --port P --ppid PID --maildrop DIR --want N --out FILE
  hostile.py special --port P --ppid PID --maildrop DIR

PID is the supervisor's (tcpserver's): its children are the popd sessions,
whose memory is read and whose end is awaited through /proc.  The user is
alice, password "secret" (tests/lib.sh's mkconf).  Prints one "ok - ..." or
"not ok - ..." line per assertion and "# ..." diagnostics, for tests/lib.sh's
tap_import; exits 0 unless the arguments are unusable.

Time bounds here are generous on purpose: the machine running the tests is
shared and loaded.  A bound only ever says "this did not hang" or "this was
cut by a deadline, not by chance"; the numbers measured go to the
diagnostics.
"""
import argparse
import base64
import collections
import hashlib
import json
import os
import random
import re
import select
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkfixtures  # noqa: E402

HOST = "127.0.0.1"
USER, PASSWORD = "alice", "secret"


def ok(cond, name, *diag):
    print(("ok - " if cond else "not ok - ") + name)
    if not cond:
        for d in diag:
            print("# " + str(d)[:800].replace("\n", "\n# "))
    sys.stdout.flush()
    return cond


def note(*lines):
    for l in lines:
        print("# " + str(l))
    sys.stdout.flush()


class Pop:
    """A raw POP3 client: exact lines, no library in between."""

    def __init__(self, port, ctx=None, timeout=30):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        if ctx is not None:
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.f = self.sock.makefile("rb")

    def line(self):
        l = self.f.readline(65536)
        if not l:
            raise EOFError("connection closed")
        return l.rstrip(b"\r\n")

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, c):
        self.send(c.encode() + b"\r\n")
        return self.line()

    def multi(self):
        out = []
        while True:
            l = self.line()
            if l == b".":
                return out
            out.append(l[1:] if l.startswith(b"..") else l)

    def login(self):
        g = self.line()
        u = self.cmd("USER " + USER)
        p = self.cmd("PASS " + PASSWORD)
        return g, u, p

    def eof(self):
        """True when the server has closed (what is left is read)."""
        try:
            while self.f.readline(65536):
                pass
            return True
        except OSError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def children(ppid):
    """The pids whose parent is ppid (the supervisor's sessions)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as fh:
                st = fh.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == ppid:
            out.append(int(d))
    return out


def wait_no_children(ppids, limit=15):
    """Waits until no supervisor in ppids has a child; returns those left."""
    t0 = time.monotonic()
    while True:
        left = [p for pp in ppids for p in children(pp)]
        if not left or time.monotonic() - t0 > limit:
            return left
        time.sleep(0.1)


def status(pid):
    """/proc/PID/status as a dict of its "Name: value" lines."""
    out = {}
    with open("/proc/%d/status" % pid) as fh:
        for l in fh:
            k, _, v = l.partition(":")
            out[k] = v.strip()
    return out


def kb(v):
    return int(v.split()[0])


def sha(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def drop_state(md):
    """{uidl: (folder, sha256)} of the regular files in new/ and cur/, and
    the count of files (two files with one UIDL show as a smaller dict)."""
    out, n = {}, 0
    for folder in ("new", "cur"):
        for name in os.listdir(os.path.join(md, folder)):
            p = os.path.join(md, folder, name)
            if os.path.isfile(p) and not os.path.islink(p):
                out[mkfixtures.uidl(name)] = (folder, sha(p))
                n += 1
    return out, n


# ---- inuse -------------------------------------------------------------

def inuse(a):
    """N clients send USER at once, wait for each other, then PASS at once:
    one wins the lock, the others are told [IN-USE].  The winner holds the
    lock until every answer is in (so the outcome does not depend on who is
    scheduled when), DELEs K messages and QUITs; the maildrop then holds
    exactly the others, byte for byte."""
    before, nbefore = drop_state(a.maildrop)
    n = a.clients
    b_user = threading.Barrier(n)
    b_pass = threading.Barrier(n)
    res = [None] * n
    errs = [None] * n
    quits = [None] * n
    deleted = []
    winner_log = []
    stamps = [[] for _ in range(n)]       # connected, greeted, USER, PASS sent, answered
    t0 = time.monotonic()

    def run(i):
        p = None
        try:
            p = Pop(a.port, timeout=60)
            stamps[i].append(time.monotonic() - t0)
            g = p.line()
            stamps[i].append(time.monotonic() - t0)
            u = p.cmd("USER " + USER)
            stamps[i].append(time.monotonic() - t0)
            if not (g.startswith(b"+OK") and u.startswith(b"+OK")):
                raise RuntimeError("greeting/USER: %r %r" % (g, u))
            b_user.wait(timeout=90)
            stamps[i].append(time.monotonic() - t0)
            res[i] = p.cmd("PASS " + PASSWORD)
            stamps[i].append(time.monotonic() - t0)
            b_pass.wait(timeout=90)
            if res[i].startswith(b"+OK"):
                p.cmd("UIDL")
                uidls = [l.split()[1].decode() for l in p.multi()]
                for k in range(1, a.dele + 1):
                    r = p.cmd("DELE %d" % k)
                    winner_log.append(("DELE %d" % k, r))
                    if r.startswith(b"+OK"):
                        deleted.append(uidls[k - 1])
            quits[i] = p.cmd("QUIT")
        except Exception as e:  # noqa: BLE001 - reported below
            errs[i] = repr(e)
            b_user.abort()
            b_pass.abort()
        finally:
            if p is not None:
                p.close()

    th = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    note("%d clients: %.1f s" % (n, time.monotonic() - t0))
    full = [x for x in stamps if len(x) == 5]
    if full:
        note("slowest greeting after %.2f s, slowest PASS answer %.2f s after it was sent"
             % (max(x[1] for x in full), max(x[4] - x[3] for x in full)))
    bad = [e for e in errs if e]
    ok(not bad, "%d clients connected, sent USER, then PASS at once" % n,
       *bad[:5])
    wins = [i for i in range(n) if res[i] and res[i].startswith(b"+OK")]
    ok(len(wins) == 1, "exactly one PASS answered +OK", "winners: %d" % len(wins))
    inuse_n = sum(1 for r in res if r and r.startswith(b"-ERR [IN-USE]"))
    ok(inuse_n == n - 1, "the other %d answered -ERR [IN-USE]" % (n - 1),
       "[IN-USE]: %d" % inuse_n,
       *sorted(set(repr(r) for r in res if r and not r.startswith(b"-ERR [IN-USE]")
                   and not r.startswith(b"+OK"))))
    ok(all(r.startswith(b"+OK") for _, r in winner_log) and len(deleted) == a.dele,
       "the winner's DELE 1..%d: +OK" % a.dele, winner_log)
    ok(all(q is not None and q.startswith(b"+OK") for q in quits),
       "every client's QUIT: +OK",
       [q for q in quits if q is None or not q.startswith(b"+OK")][:5])
    left = wait_no_children([a.ppid])
    ok(not left, "no popd left once they quit", left)

    after, nafter = drop_state(a.maildrop)
    want = {u: v[1] for u, v in before.items() if u not in deleted}
    got = {u: v[1] for u, v in after.items()}
    ok(nbefore == len(before) == a.messages, "%d messages before" % a.messages,
       nbefore, len(before))
    ok(set(got) == set(want) and nafter == len(after),
       "after: exactly the %d not deleted, each once" % (a.messages - a.dele),
       "missing: %s" % sorted(set(want) - set(got))[:5],
       "extra: %s" % sorted(set(got) - set(want))[:5], "files: %d" % nafter)
    changed = [u for u in want if u in got and got[u] != want[u]]
    ok(not changed, "every message kept is byte for byte what it was", changed[:5])
    tmp = os.listdir(os.path.join(a.maildrop, "tmp"))
    ok(not tmp, "tmp/ empty", tmp[:5])
    p = Pop(a.port)
    g, u, pw = p.login()
    ok(pw.startswith(b"+OK"), "the lock is free again: a new login", pw)
    st = p.cmd("STAT")
    ok(st.split()[:2] == [b"+OK", str(a.messages - a.dele).encode()],
       "...which sees %d messages" % (a.messages - a.dele), st)
    p.cmd("QUIT")
    p.close()


# ---- slowloris ---------------------------------------------------------

def client_hello():
    """The bytes of a real TLS ClientHello (what a client sends first)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def slow_client(kind, port, every, limit, hello, out, ready):
    """One slow client of the kind named; out gets (kind, seconds until
    the server closed, or None if it never did within limit, error)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection((HOST, port), timeout=30)
    except OSError as e:
        ready.release()
        out.append((kind, None, "connect: %r" % e))
        return
    ready.release()
    if kind == "trickle":
        data, per = b"USER alice-and-a-name-that-never-ends" * 10, b""
    elif kind == "slowlines":
        data, per = b"", b"CAPA\r\n"
    elif kind == "stls":
        s.sendall(b"STLS\r\n")
        data, per = b"", b""
    elif kind == "tls-trickle":
        data, per = hello, b""
    else:                               # tls-silent
        data, per = b"", b""
    pos, next_send, err = 0, t0 + every, ""
    while True:
        now = time.monotonic()
        if now - t0 > limit:
            out.append((kind, None, "still open after %d s" % limit))
            s.close()
            return
        r, _, _ = select.select([s], [], [], max(0.0, next_send - now))
        try:
            if r:
                if not s.recv(65536):
                    break
                continue
            next_send = time.monotonic() + every
            if per:
                s.sendall(per)
            elif pos < len(data):
                s.sendall(data[pos:pos + 1])
                pos += 1
        except OSError as e:            # reset, broken pipe: closed too
            err = repr(e)
            break
    out.append((kind, time.monotonic() - t0, err))
    s.close()


def slowloris(a):
    """Slow clients of five kinds at once, on the plain and the TLS port;
    while they hold their connections, a normal client logs in on both.
    Each slow one must be cut at the pre-auth deadline D (idle-timeout):
    not before D (popd's clock starts after our connect), and not much
    after (20 s of slack: a loaded machine is slow to schedule, but a
    client sending a byte every 2 s would otherwise be held for ever)."""
    kinds = [("trickle", a.port)] * 15 + [("slowlines", a.port)] * 10 + \
            [("stls", a.port)] * 5 + [("tls-silent", a.tls_port)] * 10 + \
            [("tls-trickle", a.tls_port)] * 10
    hello = client_hello()
    limit = a.deadline + 40
    out = []
    ready = threading.Semaphore(0)
    th = [threading.Thread(target=slow_client,
                           args=(k, p, 2.0 if k != "slowlines" else 3.0, limit,
                                 hello, out, ready))
          for k, p in kinds]
    t0 = time.monotonic()
    for t in th:
        t.start()
    for _ in th:
        ready.acquire()
    note("%d slow clients connected in %.1f s" % (len(th), time.monotonic() - t0))
    time.sleep(2)
    live = len(children(a.ppid[0])) + len(children(a.ppid[1]))
    ok(live >= len(th), "%d popd sessions live during the attack" % len(th),
       "live: %d" % live)

    # A normal client on each port, in the thick of it.
    tn = time.monotonic()
    logins = []
    for port, ctx in ((a.port, None), (a.tls_port, ssl.create_default_context(cafile=a.ca))):
        try:
            p = Pop(port, ctx, timeout=60)
            g, u, pw = p.login()
            st = p.cmd("STAT")
            q = p.cmd("QUIT")
            p.close()
            logins.append(pw.startswith(b"+OK") and st.startswith(b"+OK")
                          and q.startswith(b"+OK"))
        except Exception as e:  # noqa: BLE001
            logins.append(False)
            note("normal client: %r" % e)
    t_normal = time.monotonic() - tn
    t_normal_end = time.monotonic() - t0
    note("normal logins (plain, TLS): %.2f s" % t_normal)
    ok(logins == [True, True], "a normal client logs in meanwhile, plain and TLS",
       logins)

    for t in th:
        t.join()
    by = collections.defaultdict(list)
    for kind, secs, err in out:
        by[kind].append((secs, err))
    first_cut = min((s for _, s, _ in out if s is not None), default=None)
    # The point: it got in while every slow client still held its
    # connection, not once the first of them was cut.
    ok(first_cut is not None and t_normal_end < first_cut,
       "...before any slow client was cut (%.1f s < %s s)"
       % (t_normal_end, "%.1f" % first_cut if first_cut else "-"))
    for kind in ("trickle", "slowlines", "stls", "tls-silent", "tls-trickle"):
        v = by[kind]
        secs = [s for s, _ in v if s is not None]
        note("%s: cut after %s s" % (kind, " ".join("%.1f" % s for s in sorted(secs))))
        ok(len(secs) == len(v) and v and
           all(a.deadline - 0.5 <= s <= a.deadline + 20 for s in secs),
           "%d %s clients cut at the %d s deadline" % (len(v), kind, a.deadline),
           [e for _, e in v if e][:3])
    left = wait_no_children(a.ppid)
    ok(not left, "no popd process left", left)
    with open(a.log, errors="replace") as fh:
        log = fh.read()
    n_login = log.count("end=login timeout")
    n_tls = len(re.findall(r"tls handshake failed addr=127\.0\.0\.1: handshake timed out", log))
    note("log: %d login timeouts, %d handshake timeouts" % (n_login, n_tls))
    ok(n_login == 25, "the log says login timeout for the 25 plain ones", n_login)
    ok(n_tls == 25, "...handshake timed out for the 25 TLS and STLS ones", n_tls)


# ---- brute force -------------------------------------------------------

def plain(user, pw):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()


def brute(a):
    """Password guessing, several ways at once; each failure is delayed,
    the session is closed at the cap, and each failure is one log line."""
    expect = collections.Counter()
    lock = threading.Lock()
    results = {}

    def sequential(tag, tries):
        """tries: (command, user) pairs; one at a time, each answer timed."""
        p = Pop(a.port, timeout=60)
        p.line()
        answers, times, closed = [], [], False
        for c, user in tries:
            try:
                if c.startswith("USER"):
                    p.cmd(c)
                    continue
                t = time.monotonic()
                answers.append(p.cmd(c))
                times.append(time.monotonic() - t)
                if user is not None:
                    with lock:
                        expect[user] += 1
            except (EOFError, OSError):
                closed = True
                break
        closed = closed or p.eof()
        p.close()
        results[tag] = (answers, times, closed)

    def pipelined(tag, n):
        """n guesses in one write: popd must still check them one by one."""
        p = Pop(a.port, timeout=60)
        p.line()
        t = time.monotonic()
        p.send(b"".join(b"USER alice\r\nPASS guess-%d\r\n" % i for i in range(n)))
        answers = []
        try:
            while True:
                answers.append(p.line())
        except (EOFError, OSError):
            pass
        el = time.monotonic() - t
        p.close()
        fails = [x for x in answers if x.startswith(b"-ERR [AUTH]")]
        with lock:
            expect["alice"] += len(fails)
        results[tag] = (answers, el)

    wrong = [("USER alice", None), ("PASS wrong-1", "alice"),
             ("USER alice", None), ("PASS wrong-2", "alice"),
             ("USER alice", None), ("PASS wrong-3", "alice"),
             ("USER alice", None), ("PASS wrong-4", "alice"),
             ("USER alice", None), ("PASS wrong-5", "alice")]
    mixed = [("AUTH PLAIN " + plain("alice", "nope"), "alice"),
             ("USER mallory", None), ("PASS x", "mallory"),
             ("AUTH PLAIN " + plain("root", "toor"), "root"),
             ("USER alice", None), ("PASS y", "alice")]
    jobs = [threading.Thread(target=sequential, args=("seq", wrong)),
            threading.Thread(target=sequential, args=("mixed", mixed)),
            threading.Thread(target=sequential,
                             args=("retry", wrong[:4] + [("USER alice", None),
                                                        ("PASS " + PASSWORD, None),
                                                        ("QUIT", None)]))]
    jobs += [threading.Thread(target=pipelined, args=("pipe%d" % i, 10))
             for i in range(10)]
    t0 = time.monotonic()
    for j in jobs:
        j.start()
    for j in jobs:
        j.join()
    note("brute force, 13 clients at once: %.1f s" % (time.monotonic() - t0))
    cap, delay = a.cap, a.delay

    ans, times, closed = results["seq"]
    note("seq: answers after " + " ".join("%.2f" % t for t in times) + " s")
    ok(len(ans) == cap and all(x.startswith(b"-ERR [AUTH]") for x in ans),
       "one guess at a time: %d answers, all -ERR [AUTH]" % cap, ans)
    ok(all(t >= delay - 0.05 for t in times),
       "...each after auth-failure-delay (%g s) at least" % delay, times)
    ok(closed and ans and b"closing" in ans[-1],
       "...then the session is closed, and says so", ans[-1:])

    ans, times, closed = results["mixed"]
    ok(len(ans) == cap and all(x.startswith(b"-ERR [AUTH]") for x in ans) and closed,
       "AUTH PLAIN and USER/PASS, other users too: one cap for all (%d)" % cap, ans)

    ans, times, closed = results["retry"]
    ok(len(ans) == 4 and ans[2].startswith(b"+OK") and ans[3].startswith(b"+OK"),
       "2 failures, then the right password: +OK (no lockout)", ans)

    for i in range(10):
        ans, el = results["pipe%d" % i]
        fails = [x for x in ans if x.startswith(b"-ERR [AUTH]")]
        if not ok(len(fails) == cap and el >= cap * delay - 0.05,
                  "10 guesses in one write: %d checked, %.1f s, closed" % (cap, el),
                  ans):
            break
    left = wait_no_children([a.ppid])
    ok(not left, "no popd process left", left)

    with open(a.log, errors="replace") as fh:
        log = fh.read().splitlines()
    rx = re.compile(r"^popd: auth failed user=(\S+) addr=(\S+)$")
    got = collections.Counter()
    addrs = set()
    for l in log:
        m = rx.match(l)
        if m:
            got[m.group(1)] += 1
            addrs.add(m.group(2))
    loose = [l for l in log if "auth failed" in l and not rx.match(l)]
    note("failures logged: %s" % dict(got))
    ok(got == expect and sum(got.values()) > 0,
       "each failure logged once: \"auth failed user=X addr=Y\" (%d lines)"
       % sum(expect.values()), "got %s" % dict(got), "want %s" % dict(expect))
    ok(addrs == {"127.0.0.1"}, "...with the client's address", addrs)
    ok(not loose, "...and no other line about it", loose[:3])


# ---- a large maildrop --------------------------------------------------

def mkbig(md, n):
    """n empty messages (on a tmpfs an empty file takes an inode and no
    page: 200,000 take ~200 MB, not 800).  Message i has mtime BASE + i (i
    = 0 the oldest); they are made in random order, so that the directory
    order is not the age order; ,S= and ,W= in every name (as imapfetch
    writes them), a quarter in cur/.  The 1,000 oldest UIDLs, oldest
    first, go to md.oldest."""
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, d), exist_ok=True)
    rnd = random.Random(45)
    order = list(range(n))
    rnd.shuffle(order)
    oldest = []
    base = mkfixtures.BASE_MTIME
    for i in order:
        uniq = "%d.M%06xP%dQ%d.big" % (base + i, rnd.getrandbits(24), i, i)
        name = uniq + ",S=0,W=0"
        folder = "new"
        if i % 4 == 0:
            folder, name = "cur", name + ":2,S"
        p = os.path.join(md, folder, name)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.utime(fd, (base + i, base + i))
        os.close(fd)
        if i < 1000:
            oldest.append((i, mkfixtures.uidl(name)))
    with open(md + ".oldest", "w") as fh:
        fh.write("".join(u + "\n" for _, u in sorted(oldest)))


def bigdrop(a):
    """Login to the big maildrop; the session's peak memory (VmHWM) is read
    while it is live and written to --out for the shell to judge."""
    p = Pop(a.port, timeout=120)
    p.line()
    p.cmd("USER " + USER)
    t = time.monotonic()
    pw = p.cmd("PASS " + PASSWORD)
    el = time.monotonic() - t
    pids = children(a.ppid)
    st = status(pids[0]) if len(pids) == 1 else {}
    hwm = kb(st.get("VmHWM", "0 kB"))
    rss = kb(st.get("VmRSS", "0 kB"))
    note("PASS answered in %.2f s: %r" % (el, pw),
         "session pid %s: VmHWM %d kB, VmRSS %d kB" % (pids, hwm, rss))
    ok(pw == b"+OK alice has %d messages" % a.want,
       "login answers: %d messages (max-messages)" % a.want, pw)
    ok(len(pids) == 1 and hwm > 0, "the session's memory was read", pids)
    lst = []
    uidls = []
    if pw.startswith(b"+OK"):
        p.cmd("LIST")
        lst = p.multi()
        p.cmd("UIDL")
        uidls = [l.split()[1].decode() for l in p.multi()]
        ok(len(lst) == a.want, "LIST lists %d" % a.want, len(lst))
        with open(a.maildrop + ".oldest") as fh:
            oldest = fh.read().split()
        ok(uidls == oldest[:a.want],
           "...the %d oldest, oldest first" % a.want, uidls[:3], oldest[:3])
    q = p.cmd("QUIT")
    ok(q.startswith(b"+OK"), "QUIT", q)
    p.close()
    with open(a.out, "w") as fh:
        json.dump({"vmhwm_kb": hwm, "vmrss_kb": rss, "login_s": el}, fh)


# ---- symlinks, FIFOs, directories, sockets -----------------------------

def mksock(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()


def special(a):
    """Non-regular entries in new/ and cur/ from the start, and regular
    messages swapped for them while a session holds the maildrop (audit
    item 3): no RETR hangs, none serves the target, the session goes on."""
    md = a.maildrop
    owner = os.stat(md)
    passwd = sha("/etc/passwd")
    with open("/etc/passwd", "rb") as fh:
        passwd_lines = [l.rstrip(b"\n") for l in fh if l.strip()]

    def own(p):
        os.lchown(p, owner.st_uid, owner.st_gid)

    base = mkfixtures.BASE_MTIME
    bodies, names = {}, {}
    for i, tag in enumerate("ABCDEF"):
        bodies[tag] = b"Subject: %s\n\nmessage %s\n" % (tag.encode(), tag.encode())
        folder, sfx = ("cur", ":2,S") if tag == "B" else ("new", "")
        names[tag] = os.path.join(md, folder, "%d.M%dP1.%s%s" % (base + i, i, tag, sfx))
        with open(names[tag], "wb") as fh:
            fh.write(bodies[tag])
        own(names[tag])
        os.utime(names[tag], (base + i,) * 2)
    makers = (("link", lambda p: os.symlink("/etc/passwd", p)),
              ("fifo", os.mkfifo), ("dir", os.mkdir), ("sock", mksock))
    for folder, sfx in (("new", ""), ("cur", ":2,S")):
        for i, (what, make) in enumerate(makers):
            p = os.path.join(md, folder, "%d.%s.x%s" % (base + 10 + i, what, sfx))
            make(p)
            own(p)

    p = Pop(a.port, timeout=15)
    g, u, pw = p.login()
    ok(pw == b"+OK alice has 6 messages",
       "a symlink, a FIFO, a directory, a socket in new/ and in cur/: not listed",
       pw)
    p.cmd("UIDL")
    uidls = [l.split()[1].decode() for l in p.multi()]
    ok([x.rsplit(".", 1)[1] for x in uidls] == list("ABCDEF"),
       "...the six regular messages are, in order", uidls)
    # popd gave the messages their sizes in their names at login.
    for tag in names:
        names[tag] = mkfixtures.find(md, {"path": os.path.relpath(names[tag], md)})

    def retr(n):
        """RETR n: (status line, body) or (None, error) on a timeout."""
        try:
            r = p.cmd("RETR %d" % n)
            return r, (b"\n".join(p.multi()) if r.startswith(b"+OK") else b"")
        except socket.timeout:
            return None, b"timed out"

    r, body = retr(1)
    ok(r is not None and r.startswith(b"+OK") and body.replace(b"\r", b"")
       == bodies["A"].rstrip(b"\n"), "RETR 1: message A", r, body[:100])

    # Swapped under the session: C becomes a FIFO, D a symlink to
    # /etc/passwd, E a directory, F a socket (each made aside, then renamed
    # over the name the session knows, as another program would).
    tmp = os.path.join(md, "tmp", "swap")
    os.mkfifo(tmp)
    os.rename(tmp, names["C"])
    os.symlink("/etc/passwd", tmp)
    os.rename(tmp, names["D"])
    os.unlink(names["E"])
    os.mkdir(names["E"])
    mksock(tmp)
    os.rename(tmp, names["F"])
    for tag, what in (("C", "FIFO"), ("D", "symlink to /etc/passwd"),
                      ("E", "directory"), ("F", "socket")):
        n = "CDEF".index(tag) + 3
        t = time.monotonic()
        r, body = retr(n)
        el = time.monotonic() - t
        leaked = any(l in body for l in passwd_lines[:3]) if body else False
        ok(r is not None and r.startswith(b"-ERR") and not leaked,
           "RETR %d, swapped for a %s: -ERR, no hang (%.2f s)" % (n, what, el),
           r, body[:200])
        if r is None:
            break
        try:
            top = p.cmd("TOP %d 0" % n)
            noop = p.cmd("NOOP")
        except (socket.timeout, EOFError, OSError) as e:
            top, noop = repr(e).encode(), b""
        ok(top.startswith(b"-ERR") and noop == b"+OK",
           "...TOP too; the session goes on (NOOP +OK)", top, noop)
    r, body = retr(2)
    ok(r is not None and r.startswith(b"+OK") and b"message B" in body,
       "RETR 2: message B still served", r)
    try:
        q = p.cmd("QUIT")
    except (socket.timeout, EOFError, OSError) as e:
        q = repr(e).encode()
    ok(q.startswith(b"+OK") or q.startswith(b"-ERR"), "QUIT answers", q)
    p.close()
    left = wait_no_children([a.ppid])
    ok(not left, "the session's process is gone", left)
    ok(sha("/etc/passwd") == passwd, "/etc/passwd is untouched")
    links = []
    copies = []
    for folder in ("new", "cur", "tmp"):
        for n in os.listdir(os.path.join(md, folder)):
            path = os.path.join(md, folder, n)
            if os.path.islink(path):
                links.append(os.readlink(path))
            elif os.path.isfile(path) and sha(path) == passwd:
                copies.append(path)
    ok(links == ["/etc/passwd"] * 3, "the three symlinks are still symlinks", links)
    ok(not copies, "no copy of /etc/passwd in the maildrop", copies)

    p = Pop(a.port, timeout=15)
    g, u, pw = p.login()
    ok(pw == b"+OK alice has 2 messages", "the lock was released: a new login"
       " lists A and B", pw)
    p.cmd("QUIT")
    p.close()


# Each check's options: (name, type, default); no default: required.
OPTIONS = {
    "inuse": [("--port", int), ("--ppid", int), ("--maildrop", str),
              ("--clients", int, 100), ("--messages", int), ("--dele", int, 10)],
    "slowloris": [("--port", int), ("--tls-port", int), ("--ca", str),
                  ("--ppid", int, []), ("--deadline", int), ("--log", str)],
    "brute": [("--port", int), ("--ppid", int), ("--log", str),
              ("--delay", float), ("--cap", int)],
    "bigdrop": [("--port", int), ("--ppid", int), ("--maildrop", str),
                ("--want", int), ("--out", str)],
    "special": [("--port", int), ("--ppid", int), ("--maildrop", str)],
}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("mkbig")
    s.add_argument("dir")
    s.add_argument("n", type=int)
    for what, opts in OPTIONS.items():
        s = sub.add_parser(what)
        for o in opts:
            if len(o) == 2:
                s.add_argument(o[0], type=o[1], required=True)
            elif isinstance(o[2], list):        # given once or more
                s.add_argument(o[0], type=o[1], action="append", required=True)
            else:
                s.add_argument(o[0], type=o[1], default=o[2])
    a = ap.parse_args()
    if a.what == "mkbig":
        mkbig(a.dir, a.n)
        return 0
    fn = {"inuse": inuse, "slowloris": slowloris, "brute": brute,
          "bigdrop": bigdrop, "special": special}[a.what]
    try:
        fn(a)
    except Exception:  # noqa: BLE001 - a crash is one failure
        import traceback
        ok(False, a.what + " ran to its end", traceback.format_exc())
    return 0


if __name__ == "__main__":
    sys.exit(main())
