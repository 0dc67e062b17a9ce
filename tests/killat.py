#!/usr/bin/env python3
"""killat.py: SIGKILL a command just after it starts delivering.

  killat.py --watch DIR [--delay-max S] [--seed N] -- CMD...

Starts CMD, watches DIR (a Maildir's new/) and, as soon as the number of
entries changes, waits a random 0..S seconds and kills CMD with SIGKILL.
That lands the kill in the narrow part of a batch: renames into new/,
the state file, the flags on the server.  Prints "killed" or "finished".
"""
import argparse
import os
import random
import signal
import subprocess
import time


def count(d):
    try:
        return len(os.listdir(d))
    except FileNotFoundError:
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--watch", required=True)
    ap.add_argument("--delay-max", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    rng = random.Random(a.seed)
    before = count(a.watch)
    p = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    while p.poll() is None:
        if count(a.watch) != before:
            time.sleep(rng.uniform(0, a.delay_max))
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                print("killed")
                return
            break
        time.sleep(0.0005)
    p.wait()
    print("finished")


if __name__ == "__main__":
    main()
