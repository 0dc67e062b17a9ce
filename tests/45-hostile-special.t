#!/bin/sh
# What is not a regular file in a maildrop: a symlink to /etc/passwd, a
# FIFO, a directory and a socket in new/ and in cur/ from the start (not
# listed), then four listed messages swapped for one of each while the
# session holds the maildrop (audit item 3: a FIFO swapped in hung RETR
# with the lock held).  No RETR or TOP hangs (a 15 s socket timeout would
# say so), none serves /etc/passwd, the session goes on, QUIT answers,
# the lock is released and /etc/passwd is untouched.  The entries are
# made by this (root) process as another program would, owned by the test
# user.
. tests/lib.sh
. tests/lib-hostile.sh
need tcpserver python3

mkmaildir "$T/alice"
mkconf "$T/popd.conf" </dev/null
check "popd under tcpserver" hserve port sup "$T/popd.conf" 64
tap_import python3 tests/hostile.py special --port "$port" --ppid "$sup" \
    --maildrop "$T/alice"
diag "$(grep -v '^tcpserver' "$T/popd.conf.log")"
done_testing
