#!/usr/bin/env python3
"""mem.py: keep the guest's memory out of the figures.

  mem.py warm MB    touch MB of anonymous memory once, then free it
  mem.py evict DIR  drop the page cache of every file under DIR

Why: on a virtual machine the host backs guest memory on first touch.
Measured on the bench VM: writing 328 MB into new page-cache pages ran at
457 MB/s (406 MB/s into tmpfs) on never-touched memory, 4.5-4.7 GB/s once
the same amount had been touched and freed, and still 5 s later.  Every
tool here writes its whole corpus into new pages, so untouched memory adds
~1.4 s per 630 MB to all of them alike and hides what the tools themselves
cost.  `warm` makes the free lists warm; it wears off: the guest reports
free 2 MB blocks back to its host (virtio free page reporting, order 9),
so fetch.sh warms again right before each run.  `evict` gives a finished
run's pages back (the
run before is moved aside, not deleted: on an ext4 without a journal,
creating files right after deleting thousands scans the recently freed
inodes, another cost of the harness, not of the tool).
"""
import mmap
import os
import sys


def warm(mb):
    size = mb << 20
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for off in range(0, size, 4096):
        m[off] = 1
    m.close()


def evict(top):
    n = 0
    for root, _dirs, files in os.walk(top):
        for f in files:
            try:
                fd = os.open(os.path.join(root, f), os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
            n += 1
    return n


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("warm", "evict"):
        sys.exit("usage: mem.py warm MB | evict DIR")
    if sys.argv[1] == "warm":
        warm(int(sys.argv[2]))
    else:
        evict(sys.argv[2])


if __name__ == "__main__":
    main()
