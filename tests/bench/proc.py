#!/usr/bin/env python3
"""proc.py: what a server costs, read from /proc, for make bench.

  proc.py cpu PID
      CPU seconds (user + system) of PID and every live process under it,
      with what they reaped (cutime, cstime): taken before and after a load
      run, the difference is what the server spent on it, listener, forks
      and exited per-connection processes included, each counted once.

  proc.py rss PID COMM[,COMM...] PORT USER PASS [CAFILE]
      Opens one POP3 session (implicit TLS with CAFILE), logs in, runs
      STAT, UIDL and LIST, and while the session is still open sums the
      peak RSS (VmHWM) and the proportional set size (Pss) of the
      processes under PID whose name is one of COMM: the memory that
      session costs the server.  Prints "hwm=KB pss=KB procs=N", then QUITs.
"""
import os
import socket
import ssl
import sys

HZ = os.sysconf("SC_CLK_TCK")


def children():
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        # The name may hold spaces and parentheses: split after the last ')'.
        rest = s[s.rindex(")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(p))
    return kids


def tree(pid):
    kids, out, todo = children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu(pid):
    total = 0
    for p in tree(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        total += sum(int(x) for x in rest[11:15])     # utime stime cutime cstime
    return total / HZ


def status(p, key):
    try:
        with open("/proc/%d/status" % p) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss(p):
    try:
        with open("/proc/%d/smaps_rollup" % p) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def comm(p):
    try:
        with open("/proc/%d/comm" % p) as f:
            return f.read().strip()
    except OSError:
        return ""


def rss(pid, names, port, user, password, ca=None):
    s = socket.create_connection(("127.0.0.1", port))
    if ca:
        s = ssl.create_default_context(cafile=ca).wrap_socket(
            s, server_hostname="127.0.0.1")
    f = s.makefile("rwb")

    def ok(multi=False):
        line = f.readline()
        if not line.startswith(b"+OK"):
            sys.exit("proc.py: server said %r" % line)
        while multi and f.readline() != b".\r\n":
            pass

    ok()
    for c, multi in ((b"USER " + user.encode(), False),
                     (b"PASS " + password.encode(), False),
                     (b"STAT", False), (b"UIDL", True), (b"LIST", True)):
        f.write(c + b"\r\n")
        f.flush()
        ok(multi)
    procs = [p for p in tree(pid) if comm(p) in names]
    print("hwm=%d pss=%d procs=%d" % (sum(status(p, "VmHWM") for p in procs),
                                      sum(pss(p) for p in procs), len(procs)))
    f.write(b"QUIT\r\n")
    f.flush()
    ok()


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "cpu":
        print("%.3f" % cpu(int(a[1])))
    elif len(a) in (6, 7) and a[0] == "rss":
        rss(int(a[1]), a[2].split(","), int(a[3]), a[4], a[5],
            a[6] if len(a) == 7 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
