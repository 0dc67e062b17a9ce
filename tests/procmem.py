"""procmem: what a live process holds in memory, for the tests that check
popd keeps no secret (16-secrets.t), that its pre-authentication
process never saw a password hash (12-privsep.t) and what libraries each
of its processes maps (17-lazytls.t); with the TAP line their Python
halves print.  Needs root (popd's processes are not dumpable)."""


def ok(cond, name, *diag):
    """One TAP line (numbered by tests/lib.sh's tap_import); diag lines
    follow a failure."""
    print(("ok - " if cond else "not ok - ") + name)
    if not cond:
        for d in diag:
            print("# %s" % d)


def children(pid):
    """pid's child processes."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def mappings(pid):
    """Every readable mapping of pid, as a list of (name, bytes); a mapping
    the kernel does not let us read is left out."""
    out = []
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for l in maps:
            f = l.split()
            if "r" not in f[1]:
                continue
            a, b = (int(x, 16) for x in f[0].split("-"))
            try:
                mem.seek(a)
                out.append((f[5] if len(f) > 5 else "anon", mem.read(b - a)))
            except (OSError, OverflowError, ValueError):
                pass
    return out
