#!/usr/bin/env python3
"""table.py RAW: the markdown tables of make bench from its raw lines.

Each line of RAW is "TABLE KEY=VALUE ...", one measurement.  Lines with the
same table and the same key fields (the table's first columns) are one
figure: the median of the runs, with min-max when there was more than one.
"""
import statistics
import sys
from collections import OrderedDict


def load(path):
    rows = []
    for line in open(path):
        f = line.split()
        if f:
            rows.append((f[0], dict(x.split("=", 1) for x in f[1:])))
    return rows


def groups(rows, table, keys):
    g = OrderedDict()
    for t, r in rows:
        if t == table:
            g.setdefault(tuple(r[k] for k in keys), []).append(r)
    return g


def num(rs, k):
    return [float(r[k]) for r in rs if r.get(k, "-") not in ("-", "")]


def per_session(rs, k):
    """CPU ms per session of each run: its k seconds over its sessions."""
    return [float(r[k]) / float(r["sessions"]) * 1000 for r in rs
            if float(r["sessions"])]


def med(v):
    return statistics.median(v) if v else float("nan")


def fig(v, fmt="%.2f"):
    if not v:
        return "-"
    m = fmt % med(v)
    return m if len(v) == 1 else "%s (%s–%s)" % (m, fmt % min(v), fmt % max(v))


def ratio(a, b):
    if not a or not b or med(b) == 0:
        return "-"
    return "%.2f×" % (med(a) / med(b))


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def fetch(rows):
    keys = ("n", "tls", "tool")
    g = groups(rows, "fetch", keys)
    if not g:
        return ""
    out = []
    for (n, tls, tool), rs in g.items():
        wall = num(rs, "wall")
        mb = float(rs[0]["mb"])
        delivered = sorted(set(int(r["delivered"] or 0) for r in rs))
        d = "/".join(map(str, delivered))
        if delivered != [int(n)]:
            d = "**%s of %s**" % (d, n)
        seen = sorted(set(r["seen"] for r in rs))
        rc = sorted(set(r["rc"] for r in rs))
        mbs = g.get((n, tls, "mbsync"))
        out.append([n, "IMAPS" if tls == "tls" else "IMAP", tool, fig(wall),
                    "%.0f" % (int(n) / med(wall)), "%.0f" % (mb / med(wall)),
                    fig(num(rs, "cpu")), fig([x / 1024 for x in num(rs, "rss")], "%.1f"),
                    str(len(rs)), d, "/".join(seen), "/".join(rc),
                    ratio(num(mbs, "wall"), wall) if mbs else "-"])
    return ("### Fetching a whole mailbox into a fresh Maildir\n\n"
            "Wall time in seconds; CPU = user + system seconds of the tool and "
            "its children (procmail); peak RSS of the largest process; "
            "\\Seen = messages flagged on the server afterwards (mbsync does "
            "not flag; the network-only client reads the bytes and discards "
            "them); vs mbsync = mbsync's wall time / this one's.\n\n" +
            table(["messages", "link", "tool", "wall s", "msg/s", "MB/s",
                   "CPU s", "peak RSS MB", "runs", "delivered", "\\Seen", "exit",
                   "vs mbsync"], out))


def sessions(rows):
    keys = ("n", "tls", "clients", "server")
    g = groups(rows, "session", keys)
    if not g:
        return ""
    out = []
    for (n, tls, c, server), rs in g.items():
        rate = num(rs, "rate")
        scpu = per_session(rs, "scpu")
        ccpu = per_session(rs, "ccpu")
        err = sum(int(r["errors"]) for r in rs)
        dv = g.get((n, tls, c, "dovecot"))
        out.append([n, "TLS" if tls == "tls" else "plain", c, server,
                    fig(rate, "%.1f"), fig(scpu), fig(ccpu),
                    "**%d**" % err if err else "0",
                    ratio(rate, num(dv, "rate")) if dv else "-"])
    return ("### POP3 sessions per second\n\n"
            "A session: connect, (TLS handshake,) USER, PASS (sha512-crypt, "
            "5000 rounds, on both servers), STAT, UIDL, LIST, QUIT, until the "
            "server closes; each client its own maildrop of the same content. "
            "Server CPU = user + system ms per session of the listener, the "
            "processes it spawned and Dovecot's own (auth, login, master); "
            "client = popload's.  vs Dovecot = sessions/s over Dovecot's.  "
            "popd/tcpserver and popd/socket-activate log in to maildrops "
            "that do not change between sessions, so after the first login "
            "each uses the listing the last scan kept (common/mdcache.h), as "
            "Dovecot uses its index; popd/scan is popd under tcpserver on "
            "maildrops that cannot keep one (their top directory is "
            "read-only), so that every login reads new/ and cur/: what the "
            "first login after a change costs.\n\n" +
            table(["messages", "link", "clients", "server", "sessions/s",
                   "server CPU ms", "client CPU ms", "errors", "vs Dovecot"], out))


def retr(rows):
    g = groups(rows, "retr", ("n", "tls", "server"))
    if not g:
        return ""
    out = []
    for (n, tls, server), rs in g.items():
        mbps = num(rs, "mbps")
        err = sum(int(r["errors"]) for r in rs)
        dv = g.get((n, tls, "dovecot"))
        out.append([n, "TLS" if tls == "tls" else "plain", server, fig(mbps, "%.0f"),
                    fig(num(rs, "scpu")), fig(num(rs, "ccpu")),
                    "**%d**" % err if err else "0",
                    ratio(mbps, num(dv, "mbps")) if dv else "-"])
    return ("### RETR of every message, one session\n\n"
            "MB/s of the wire bytes (dot-stuffed, CRLF) the client read; CPU "
            "seconds of the server and of the client for the whole session.\n\n" +
            table(["messages", "link", "server", "MB/s", "server CPU s",
                   "client CPU s", "errors", "vs Dovecot"], out))


def rss(rows):
    g = groups(rows, "rss", ("n", "tls", "server"))
    if not g:
        return ""
    out = []
    for (n, tls, server), rs in g.items():
        hwm = num(rs, "hwm")
        dv = g.get((n, tls, "dovecot"))
        out.append([n, "TLS" if tls == "tls" else "plain", server,
                    fig(hwm, "%.0f"), fig(num(rs, "pss"), "%.0f"),
                    "/".join(sorted(set(r["procs"] for r in rs))),
                    ratio(hwm, num(dv, "hwm")) if dv else "-"])
    return ("### Server memory per session\n\n"
            "Taken after LIST while the session is open: the peak RSS (VmHWM) "
            "and the proportional set size of that session's own processes "
            "(popd; Dovecot's pop3, and pop3-login when it proxies TLS), in KB. "
            "Dovecot's auth, master and log processes serve every session and "
            "are not counted.  vs Dovecot = this / Dovecot's.\n\n" +
            table(["messages", "link", "server", "peak RSS KB", "PSS KB",
                   "processes", "vs Dovecot"], out))


def limit(rows):
    g = groups(rows, "limit", ("n", "clients"))
    if not g:
        return ""
    out = []
    for (n, c), rs in g.items():
        out.append([n, c, fig(num(rs, "rate"), "%.0f"),
                    fig(per_session(rs, "ccpu"))])
    return ("### The load client's own limit\n\n"
            "popload against `popload -S`, a one-thread server that answers "
            "each command at once with the bytes popd sent for it (the same "
            "session, plain): the most sessions/s popload can drive here.\n\n" +
            table(["messages", "clients", "sessions/s", "client CPU ms"], out))


def floor(rows):
    g = groups(rows, "floor", ("n", "clients"))
    if not g:
        return ""
    ses = groups(rows, "session", ("n", "tls", "clients", "server"))
    out = []
    for (n, c), rs in g.items():
        rate = num(rs, "rate")
        scpu = per_session(rs, "scpu")
        err = sum(int(r["errors"]) for r in rs)
        dv = ses.get((n, "plain", c, "dovecot"))
        pd = ses.get((n, "plain", c, "popd/tcpserver"))
        ps = ses.get((n, "plain", c, "popd/scan"))
        out.append([n, c, fig(rate, "%.1f"), fig(scpu),
                    "**%d**" % err if err else "0",
                    ratio(rate, num(dv, "rate")) if dv else "-",
                    ratio(num(pd, "rate"), rate) if pd else "-",
                    ratio(num(ps, "rate"), rate) if ps else "-"])
    return ("### The floor of a session\n\n"
            "`tests/bench/popfloor` under tcpserver, as popd: per connection "
            "a fork and an exec, popd's recorded answers, and at PASS one "
            "sha512-crypt of the password (the same hash) and one readdir of "
            "the maildrop's new/ and cur/; nothing else (no privilege "
            "separation, lock, parsing or sorting).  What the issue's \"a "
            "login costs a fork, an exec, one crypt and one readdir\" costs "
            "here.  vs Dovecot = the floor's sessions/s over Dovecot's (plain, "
            "same clients): the most a server that reads the maildrop at "
            "every login could reach; popd = popd/tcpserver's sessions/s over "
            "the floor's (above 1 when its logins skip the readdir: the kept "
            "listing), popd/scan = popd/scan's, which reads it as the floor "
            "does.\n\n" +
            table(["messages", "clients", "sessions/s", "server CPU ms",
                   "errors", "vs Dovecot", "popd", "popd/scan"], out))


def main():
    rows = load(sys.argv[1])
    for part in (fetch, sessions, retr, rss, limit, floor):
        s = part(rows)
        if s:
            print(s)


if __name__ == "__main__":
    main()
