#!/bin/sh
# 100 clients log in to one maildrop at the same moment (USER from all,
# then PASS from all at once): exactly one gets +OK, the other 99 -ERR
# [IN-USE].  The winner DELEs 10 and QUITs; the maildrop then holds
# exactly the other 190 messages, each byte for byte as before, and a new
# login finds the lock free.  tcpserver allows 200 sessions here (the
# shipped 64 would queue the late ones behind the 64 that wait for each
# other): this is a test of the lock, not of the supervisor's cap.
. tests/lib.sh
. tests/lib-hostile.sh
need tcpserver python3

mkconf "$T/popd.conf" </dev/null
fixtures "$T/alice" --many 200
check "popd under tcpserver -c 200" hserve port sup "$T/popd.conf" 200
tap_import python3 tests/hostile.py inuse --port "$port" --ppid "$sup" \
    --maildrop "$T/alice" --clients 100 --messages 200 --dele 10
is "the log says nothing went wrong" \
    "$(grep -v 'session user=alice\|^tcpserver' "$T/popd.conf.log" | grep -c .)" 0
diag "$(grep -c 'end=quit' "$T/popd.conf.log") sessions ended by QUIT"
done_testing
