#!/usr/bin/env python3
r"""dialogue.py: runs POP3 send/expect scripts against popd; prints TAP.

    python3 tests/dialogue.py [-v] [-j JOBS] SCRIPT.pop...

One TAP test per script; a failure shows the script line, what was wanted
and what came.  POPD=path chooses the binary (default popd/popd, e.g. an
ASan build); KEEP=1 keeps the temporary directories.  Each script runs in
a fresh directory $DIR with user alice (password "secret", maildrop
$DIR/alice), popd running as the unprivileged user popdtest when we are
root (popd refuses root), with "popd -e -c $DIR/popd.conf" so that its log
lines come on stderr.

Script lines:
  # comment           (and blank lines: ignored)
  C: text             a client line, sent with CRLF ("C:" alone: empty line)
  C-RAW: text         client bytes sent as they are, no CRLF added
  S: text             the next server line, exactly (CRLF not written)
  S~ regex            the next server line matches (re.fullmatch, latin-1)
  @directive args     see below

Escapes in C:, C-RAW:, S:, @msg, @expect-file and @never text: \\ \r \n \t
\0 \xHH, and \{TEXT*N} for TEXT repeated N times ("C: \{x*300}").

Client lines are buffered and sent all at once at the next sync point (popd
supports PIPELINING); a sync point then waits until every S line so far has
come (or popd closed, or @timeout passed) and compares them.  Sync points:
@sync, every file or session directive, and the end of the script.  Every
server line must end in CRLF; output nobody expected fails the script.  A
"+OK N octets" reply (RETR) must be followed by exactly N octets before
dot-stuffing: the LIST == RETR rule is checked on every RETR.

Setup directives (before the first session; @argv, @env and @timeout may
come later too, for what follows):
  @conf LINE              a global line in popd.conf
  @user NAME PASSWORD     another user, maildrop $DIR/NAME
  @section LINE           a line in the last user's section
  @hash-password NAME     that user's hash is made by popd --hash-password
  @rawconf LINE           write popd.conf by hand ($DIR, $HASH of "secret")
  @argv ARGS              popd's arguments (default: -e -c $CONF)
  @env NAME=VALUE         environment of the sessions (@env NAME: unset)
  @as-root                run popd as ourselves (root); skipped unless root
  @timeout SECONDS        how long a sync waits (default 5)
Files (PATH is in alice's maildrop, /PATH in $DIR; escapes allowed):
  @msg PATH BYTES         a file; mtimes 1e9 + 60 s per @msg, in script order
  @mtime PATH EPOCH       sets a file's mtime
  @rm PATH                removes a file
  @symlink PATH TARGET    a symbolic link
  @fifo PATH              a FIFO (named pipe)
  @rename PATH NEWPATH    renames a file, as another program would
  @chmod PATH MODE        sets a file's or directory's mode (octal)
  @expect-file PATH BYTES the file exists and holds exactly BYTES
  @expect-file-gone PATH  the file does not exist
  @expect-ls DIR NAME...  DIR's entries (not dot files) are exactly NAMEs
Sessions (the first C:/S: line starts one when none is open):
  @session [NAME]         switch to session NAME (started if new; the others
                          stay open); no NAME: a new session
  @sync                   send and wait (e.g. before answering "+ ")
  @quiet SECONDS          sync, then nothing more comes for SECONDS
  @close                  drop the connection: send what is buffered, close
                          popd's input, wait for it to exit
  @exit CODE              wait for popd to end by itself; its exit status
  @log~ REGEX             a stderr line of this session matches (waits)
  @sleep SECONDS          sync, then wait (a file system's clock to move on)
  @retr-lies N            exactly N of this session's "+OK N octets" replies
                          are followed by another count (default 0)
  @never TEXT             TEXT is in no output or log (checked at the end)
  @repeat N ... @end      the lines between, N times
"""

import ctypes
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POPD = os.path.abspath(os.environ.get("POPD", os.path.join(TOP, "popd/popd")))
TUSER = "popdtest"
PASSWORD = "secret"
MTIME_BASE = 1000000000
SANITIZER = re.compile(rb"(AddressSanitizer|LeakSanitizer|runtime error:)")


class ScriptError(Exception):
    """A malformed script: a bug in the test, not in popd."""


class Skip(Exception):
    pass


# ---- escapes ---------------------------------------------------------------

SIMPLE = {"\\": 92, "r": 13, "n": 10, "t": 9, "0": 0}


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = s[i + 1:i + 2]
        if e in SIMPLE:
            out.append(SIMPLE[e])
            i += 2
        elif e == "x":
            try:
                out.append(int(s[i + 2:i + 4], 16))
            except ValueError:
                raise ScriptError("bad \\x escape in %r" % s)
            i += 4
        elif e == "{":
            j = s.find("}", i)
            text, star, n = s[i + 2:j].rpartition("*")
            if j == -1 or not star or not n.isdigit():
                raise ScriptError("bad \\{TEXT*N} in %r" % s)
            out += unescape(text) * int(n)
            i = j + 1
        else:
            raise ScriptError("bad escape \\%s in %r" % (e, s))
    return bytes(out)


def show(b, limit=100):
    """Bytes in the escape syntax above, shortened."""
    s = "".join(chr(c) if 0x20 <= c < 0x7f and c != 0x5c else
                {92: "\\\\", 13: "\\r", 10: "\\n", 9: "\\t"}.get(c, "\\x%02x" % c)
                for c in b[:limit])
    return s + ("...(%d bytes)" % len(b) if len(b) > limit else "")


# ---- passwords -------------------------------------------------------------

_hashes = {}
_hash_lock = threading.Lock()


def crypt_hash(password):
    """A yescrypt hash of password, made with libcrypt (one per run)."""
    with _hash_lock:
        if password not in _hashes:
            lib = ctypes.CDLL("libcrypt.so.1")
            lib.crypt_gensalt.restype = ctypes.c_char_p
            lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong,
                                          ctypes.c_char_p, ctypes.c_int]
            lib.crypt.restype = ctypes.c_char_p
            lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
            salt = lib.crypt_gensalt(b"$y$", 0, None, 0)
            _hashes[password] = lib.crypt(password.encode(), salt).decode()
        return _hashes[password]


# ---- running popd ----------------------------------------------------------

def as_user_cmd(argv, root):
    if os.geteuid() == 0 and not root:
        return ["setpriv", "--reuid=" + TUSER, "--regid=" + TUSER,
                "--init-groups", "--"] + argv
    return argv


def chown_user(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam(TUSER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


class Reader(threading.Thread):
    """Collects everything a pipe gives until EOF."""

    def __init__(self, f, cond):
        super().__init__(daemon=True)
        self.f, self.cond, self.data, self.eof = f, cond, bytearray(), False
        self.start()

    def run(self):
        while True:
            b = self.f.read1(65536)
            with self.cond:
                if not b:
                    self.eof = True
                else:
                    self.data += b
                self.cond.notify_all()
            if not b:
                return


class Session:
    def __init__(self, t, name):
        self.t, self.name = t, name
        cmd = as_user_cmd([POPD] + t.argv, t.root)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=t.dir,
                                     env=t.env)
        self.cond = threading.Condition()
        self.out = Reader(self.proc.stdout, self.cond)
        self.err = Reader(self.proc.stderr, self.cond)
        self.pending = bytearray()
        self.expect = []		# (lineno, kind, value)
        self.checked = 0
        self.broken = False		# a mismatch was reported
        self.retr_lies = 0		# RETR replies allowed to lie, exactly
        self.ended = False

    def lines(self):
        return bytes(self.out.data).split(b"\r\n")[:-1]

    def send(self):
        if self.pending and not self.proc.stdin.closed:
            try:
                self.proc.stdin.write(self.pending)
                self.proc.stdin.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
        self.pending.clear()

    def sync(self):
        self.send()
        deadline = time.monotonic() + self.t.timeout
        with self.cond:
            while (len(self.lines()) < len(self.expect) and not self.out.eof
                   and time.monotonic() < deadline):
                self.cond.wait(0.05)
        self.compare()

    def quiet(self, secs):
        """Nothing but the expected lines comes within secs."""
        self.sync()
        time.sleep(secs)
        got = bytes(self.out.data)
        extra = got.split(b"\r\n")[len(self.expect):]
        if not self.broken and any(extra):
            self.t.fail(self.t.lineno, "session %s: within %g s came %s"
                        % (self.name, secs, show(b"\r\n".join(extra))))
            self.broken = True

    def compare(self):
        got = self.lines()
        while self.checked < len(self.expect) and not self.broken:
            lineno, kind, want = self.expect[self.checked]
            if self.checked >= len(got):
                self.t.fail(lineno, "session %s: wanted %s %s\n got nothing%s"
                            % (self.name, kind, show(want),
                               " (popd closed)" if self.out.eof else
                               " within %g s" % self.t.timeout))
                self.broken = True
                return
            line = got[self.checked]
            if kind == "S:":
                good = line == want
            else:
                good = re.fullmatch(want.decode("latin-1"),
                                    line.decode("latin-1")) is not None
            if not good:
                ctx = got[self.checked + 1:self.checked + 4]
                self.t.fail(lineno, "session %s: wanted %s %s\n got    %s%s"
                            % (self.name, kind, show(want), show(line),
                               "".join("\n then  " + show(c) for c in ctx)))
                self.broken = True
                return
            self.checked += 1

    def wait_exit(self):
        try:
            self.proc.wait(self.t.timeout)
        except subprocess.TimeoutExpired:
            self.t.fail(self.t.lineno, "session %s: popd still runs after "
                        "%g s" % (self.name, self.t.timeout))
            self.proc.kill()
            self.proc.wait()
        self.out.join(5)
        self.err.join(5)

    def end(self, drop):
        """Ends the session: drop closes popd's input first."""
        if self.ended:
            return
        if drop:
            self.send()		# what the client has, then it hangs up
        else:
            self.sync()
        if drop:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        self.wait_exit()
        if not drop:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        self.ended = True
        self.compare()
        self.final_checks()

    def final_checks(self):
        t, got = self.t, self.lines()
        rest = bytes(self.out.data).split(b"\r\n")[-1]
        if not self.broken and len(got) > len(self.expect):
            t.fail(t.lineno, "session %s: unexpected output:%s" % (
                self.name, "".join("\n  " + show(g)
                                   for g in got[len(self.expect):][:5])))
        if rest:
            t.fail(t.lineno, "session %s: output not ending in CRLF: %s"
                   % (self.name, show(rest)))
        if SANITIZER.search(self.err.data):
            t.fail(t.lineno, "session %s: sanitizer report:\n%s" % (
                self.name, self.err.data.decode("latin-1")[:3000]))
        if self.proc.returncode < 0:
            t.fail(t.lineno, "session %s: popd killed by signal %d" % (
                self.name, -self.proc.returncode))
        self.check_retr(got)

    def check_retr(self, got):
        """Each "+OK N octets" is followed by N octets, unstuffed."""
        i, lies = 0, []
        while i < len(got):
            m = re.fullmatch(rb"\+OK (\d+) octets", got[i])
            i += 1
            if not m:
                continue
            n, start = 0, i
            while i < len(got) and got[i] != b".":
                n += len(got[i][1:] if got[i].startswith(b".") else got[i]) + 2
                i += 1
            if i < len(got) and n != int(m.group(1)):
                lies.append("RETR said %s octets and sent %d (output line "
                            "%d)" % (m.group(1).decode(), n, start))
        if len(lies) != self.retr_lies:
            self.t.fail(self.t.lineno, "session %s: %d RETR replies lied, "
                        "wanted %d%s" % (self.name, len(lies), self.retr_lies,
                                         "".join("\n  " + l for l in lies)))


# ---- one script ------------------------------------------------------------

def parse(path):
    """The script as (lineno, text) with @repeat blocks expanded."""
    with open(path, encoding="utf-8") as f:
        raw = [(n, l.rstrip("\n")) for n, l in enumerate(f, 1)]

    def block(i, depth):
        out = []
        while i < len(raw):
            n, l = raw[i]
            if l.startswith("@repeat "):
                body, i = block(i + 1, depth + 1)
                out += body * int(l.split()[1])
                continue
            if l.strip() == "@end":
                if depth == 0:
                    raise ScriptError("line %d: @end without @repeat" % n)
                return out, i + 1
            out.append((n, l))
            i += 1
        if depth:
            raise ScriptError("@repeat without @end")
        return out, i

    return block(0, 0)[0]


class Test:
    def __init__(self, path):
        self.path = path
        self.name = os.path.relpath(path, TOP)
        self.failures = []
        self.lineno = 0
        self.timeout = 5.0
        self.root = False
        self.conf, self.rawconf = [], []
        self.users = [["alice", PASSWORD, [], False]]
        self.argv = None
        self.env = dict(os.environ)
        for k in ("REMOTE_ADDR", "TCPREMOTEIP"):
            self.env.pop(k, None)
        self.sessions = {}
        self.current = None
        self.anon = 0
        self.nmsg = 0
        self.never = []
        self.started = False

    def fail(self, lineno, msg):
        self.failures.append("line %d: %s" % (lineno, msg))

    def expand(self, s):
        return (s.replace("$DIR", self.dir)
                 .replace("$CONF", os.path.join(self.dir, "popd.conf"))
                 .replace("$HASH", crypt_hash(PASSWORD)))

    def file(self, p):
        if p.startswith("/"):
            return os.path.join(self.dir, p[1:])
        return os.path.join(self.dir, "alice", p)

    def user_hash(self, u):
        name, password, _, by_popd = u
        if not by_popd:
            return crypt_hash(password)
        r = subprocess.run(as_user_cmd([POPD, "--hash-password"], False),
                           input=(password + "\n").encode(),
                           capture_output=True, cwd=self.dir, timeout=30)
        h = r.stdout.decode().strip()
        if r.returncode != 0 or not h.startswith("$y$"):
            self.fail(self.lineno, "popd --hash-password exited %d: %r %r"
                      % (r.returncode, r.stdout, r.stderr))
        return h

    def setup(self):
        """Writes popd.conf and the maildirs, once, before any session."""
        if self.started:
            return
        self.started = True
        if self.rawconf:
            text = "".join(self.expand(l) + "\n" for l in self.rawconf)
        else:
            text = "" if any(l.startswith("auth-failure-delay")
                             for l in self.conf) else "auth-failure-delay = 0\n"
            text += "".join(self.expand(l) + "\n" for l in self.conf)
            for u in self.users:
                text += "\n[%s]\npassword = %s\nmaildrop = %s/%s\n" % (
                    u[0], self.user_hash(u), self.dir, u[0])
                text += "".join(self.expand(l) + "\n" for l in u[2])
        conf = os.path.join(self.dir, "popd.conf")
        with open(conf, "w") as f:
            f.write(text)
        os.chmod(conf, 0o600)
        chown_user(conf)
        if self.argv is None:
            self.argv = ["-e", "-c", conf]

    def mkdirs(self, p):
        d = os.path.dirname(p)
        todo = []
        while not os.path.isdir(d):
            todo.append(d)
            d = os.path.dirname(d)
        for d in reversed(todo):
            os.mkdir(d, 0o700)
            chown_user(d)

    def session(self):
        if self.current is None or self.current.ended:
            self.setup()
            self.anon += 1
            self.start("#%d" % self.anon)
        return self.current

    def last(self):
        """The current session, even when it has ended."""
        return self.current if self.current is not None else self.session()

    def start(self, name):
        self.setup()
        self.current = self.sessions[name] = Session(self, name)

    def sync(self):
        if self.current is not None and not self.current.ended:
            self.current.sync()

    def directive(self, word, arg):
        if self.started and word in ("@conf", "@rawconf", "@user", "@section",
                                     "@hash-password"):
            raise ScriptError("line %d: %s after the first session"
                              % (self.lineno, word))
        if word == "@conf":
            self.conf.append(arg)
        elif word == "@rawconf":
            self.rawconf.append(arg)
        elif word == "@user":
            name, password = arg.split(None, 1)
            self.users.append([name, password, [], False])
        elif word == "@section":
            self.users[-1][2].append(arg)
        elif word == "@hash-password":
            for u in self.users:
                if u[0] == arg:
                    u[3] = True
        elif word == "@argv":
            self.argv = [self.expand(a) for a in shlex.split(arg)]
        elif word == "@env":
            k, eq, v = arg.partition("=")
            if eq:
                self.env[k] = self.expand(v)
            else:
                self.env.pop(k, None)
        elif word == "@as-root":
            if os.geteuid() != 0:
                raise Skip("not root")
            self.root = True
        elif word == "@timeout":
            self.timeout = float(arg)
        elif word in ("@msg", "@mtime", "@rm", "@symlink", "@fifo",
                      "@rename", "@chmod", "@expect-file",
                      "@expect-file-gone", "@expect-ls"):
            self.sync()
            self.files(word, arg)
        elif word == "@session":
            self.sync()
            if arg and arg in self.sessions:
                self.current = self.sessions[arg]
            else:
                self.anon += 1
                self.start(arg or "#%d" % self.anon)
        elif word == "@sync":
            self.last().sync()
        elif word == "@quiet":
            self.last().quiet(float(arg))
        elif word == "@close":
            self.last().end(drop=True)
        elif word == "@exit":
            s = self.last()
            s.end(drop=False)
            if s.proc.returncode != int(arg):
                self.fail(self.lineno, "session %s: exit status %d, wanted %s"
                          "\n stderr: %s" % (s.name, s.proc.returncode, arg,
                                             show(s.err.data, 300)))
        elif word == "@log~":
            self.log_match(arg)
        elif word == "@sleep":
            if self.current is not None:
                self.last().sync()
            time.sleep(float(arg))
        elif word == "@retr-lies":
            self.last().retr_lies = int(arg)
        elif word == "@never":
            self.never.append((self.lineno, unescape(arg)))
        else:
            raise ScriptError("line %d: unknown directive %s"
                              % (self.lineno, word))

    def log_match(self, regex):
        s = self.last()
        s.sync()
        deadline = time.monotonic() + self.timeout
        rx = re.compile(regex)
        with s.cond:
            while True:
                lines = bytes(s.err.data).decode("latin-1").split("\n")
                if any(rx.search(l) for l in lines[:-1] if l) or (
                        s.err.eof and lines[-1] and rx.search(lines[-1])):
                    return
                if s.err.eof or time.monotonic() > deadline:
                    break
                s.cond.wait(0.05)
        self.fail(self.lineno, "session %s: no log line matches /%s/; "
                  "log:\n%s" % (s.name, regex,
                                bytes(s.err.data).decode("latin-1")[-2000:]))

    def files(self, word, arg):
        self.setup()
        p, _, rest = arg.partition(" ")
        path = self.file(os.fsdecode(unescape(p)))
        if word == "@msg":
            self.mkdirs(path)
            with open(path, "wb") as f:
                f.write(unescape(rest))
            chown_user(path)
            self.nmsg += 1
            t = MTIME_BASE + 60 * self.nmsg
            os.utime(path, (t, t))
        elif word == "@mtime":
            os.utime(path, (int(rest), int(rest)))
        elif word == "@rm":
            os.unlink(path)
        elif word == "@symlink":
            self.mkdirs(path)
            os.symlink(rest, path)
        elif word == "@fifo":
            self.mkdirs(path)
            os.mkfifo(path, 0o600)
            chown_user(path)
        elif word == "@rename":
            to = self.file(os.fsdecode(unescape(rest)))
            self.mkdirs(to)
            os.rename(path, to)
        elif word == "@chmod":
            os.chmod(path, int(rest, 8))
        elif word == "@expect-file":
            want = unescape(rest)
            try:
                with open(path, "rb") as f:
                    got = f.read()
            except OSError as e:
                self.fail(self.lineno, "%s: %s" % (p, e.strerror))
                return
            if got != want:
                self.fail(self.lineno, "%s holds %s\n wanted %s"
                          % (p, show(got), show(want)))
        elif word == "@expect-file-gone":
            if os.path.lexists(path):
                self.fail(self.lineno, "%s still exists" % p)
        elif word == "@expect-ls":
            got = sorted(n for n in os.listdir(path) if not n.startswith("."))
            if got != sorted(rest.split()):
                self.fail(self.lineno, "%s holds %s, wanted %s"
                          % (p, got, sorted(rest.split())))

    def run(self):
        self.dir = tempfile.mkdtemp(prefix="popd-dialogue.")
        os.chmod(self.dir, 0o755)
        chown_user(self.dir)
        os.makedirs(os.path.join(self.dir, "alice"))
        chown_user(os.path.join(self.dir, "alice"))
        try:
            for self.lineno, line in parse(self.path):
                if line.startswith("C: ") or line == "C:":
                    self.session().pending += unescape(line[3:]) + b"\r\n"
                elif line.startswith("C-RAW: "):
                    self.session().pending += unescape(line[7:])
                elif line.startswith("S: ") or line == "S:":
                    self.session().expect.append(
                        (self.lineno, "S:", unescape(line[3:])))
                elif line.startswith("S~ "):
                    self.session().expect.append(
                        (self.lineno, "S~", line[3:].encode("latin-1")))
                elif line.startswith("@"):
                    word, _, arg = line.partition(" ")
                    self.directive(word, arg)
                elif line.strip() == "" or line.startswith("#"):
                    continue
                else:
                    raise ScriptError("line %d: cannot parse %r"
                                      % (self.lineno, line))
            self.lineno += 1
            self.setup()
            for s in self.sessions.values():
                s.end(drop=True)
            self.check_never()
        finally:
            for s in self.sessions.values():
                if s.proc.poll() is None:
                    s.proc.kill()
                    s.proc.wait()
            if os.environ.get("KEEP"):
                self.failures.append("# kept %s" % self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def check_never(self):
        for lineno, text in self.never:
            for s in self.sessions.values():
                for what, data in (("output", s.out.data), ("log", s.err.data)):
                    if text in data:
                        self.fail(lineno, "session %s: %s holds %s"
                                  % (s.name, what, show(text)))


def run_one(path):
    t = Test(path)
    try:
        t.run()
    except Skip as e:
        return t, "skip", str(e)
    except ScriptError as e:
        t.failures.append("script error: %s" % e)
    except Exception as e:		# a runner bug: say so, go on
        t.failures.append("runner error at line %d: %r" % (t.lineno, e))
    return t, "fail" if [f for f in t.failures if not f.startswith("#")] \
        else "ok", None


def ensure_user():
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(TUSER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", TUSER], check=True)


def main(argv):
    verbose, jobs, paths = False, (os.cpu_count() or 2) * 2, []
    it = iter(argv)
    for a in it:
        if a == "-v":
            verbose = True
        elif a == "-j":
            jobs = int(next(it))
        else:
            paths.append(a)
    if not paths:
        print(__doc__, file=sys.stderr)
        return 64
    print("1..%d" % len(paths))
    if not os.access(POPD, os.X_OK):
        for i, p in enumerate(paths, 1):
            print("not ok %d - %s # no %s (make popd/popd)" % (i, p, POPD))
        return 1
    ensure_user()
    failed = 0
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for i, (t, result, why) in enumerate(pool.map(run_one, paths), 1):
            if result == "skip":
                print("ok %d - %s # skip %s" % (i, t.name, why))
                continue
            print("%sok %d - %s" % ("not " if result == "fail" else "", i,
                                    t.name))
            if result == "fail" or verbose:
                for f in t.failures:
                    for l in f.split("\n"):
                        print("# " + l)
            if verbose:
                for s in t.sessions.values():
                    print("# session %s exit %s" % (s.name, s.proc.returncode))
                    for l in bytes(s.out.data).split(b"\r\n"):
                        print("#  S: " + show(l, 200))
                    for l in bytes(s.err.data).split(b"\n"):
                        print("#  E: " + show(l, 200))
            failed += result == "fail"
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
