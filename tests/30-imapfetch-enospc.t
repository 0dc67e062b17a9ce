#!/bin/sh
# A full maildrop (a small tmpfs): imapfetch stops with EX_CANTCREAT (73)
# and a clear message; everything flagged on the server is in the
# maildrop; once there is room, the next run delivers the rest, once.
. tests/lib.sh
. tests/lib-dovecot.sh

if [ "$(id -u)" -ne 0 ]; then
	skip "ENOSPC needs root to mount a small tmpfs"
	done_testing
	exit
fi
imap_user alice pw1
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
mkdir "$T/small"
if ! mount -t tmpfs -o size=3m,mode=0755 tmpfs "$T/small"; then
	skip "cannot mount a tmpfs here"
	done_testing
	exit
fi
at_exit 'umount "$T/small"'
chown "$TUSER:" "$T/small"

# About 6 MB in 250 messages: the first batch fits, a later one does not.
python3 tests/mkcorpus.py --seed 41 --mean 22000 "$T/corpus" 250
imap_put alice "$T"/corpus/*
fetchconf "$T/f.conf" "$T/small/drop"

fetch -c "$T/f.conf"
is "full maildrop: exit 73" "$rc" 73
check "full maildrop: says so" grep -q "No space left on device" "$T/err"
n=$(ls "$T/small/drop/new" | wc -l)
check "some delivered before it filled up ($n)" test "$n" -gt 0 -a "$n" -lt 250
is "flagged on the server = in the maildrop" \
    "$(imaptool seen-hashes alice pw1 | sort)" "$(drop_hashes "$T/small/drop")"
is "tmp/ holds no partial message" "$(ls -A "$T/small/drop/tmp" | wc -l)" 0

mount -o remount,size=64m "$T/small"
fetch -c "$T/f.conf"
is "with room again: exit 0" "$rc" 0
is "all delivered, once" "$(drop_hashes "$T/small/drop")" \
    "$(corpus_hashes "$T/corpus")"
is "server: all \\Seen" "$(imaptool unseen alice pw1)" 0
is "tmp/ empty" "$(ls -A "$T/small/drop/tmp" | wc -l)" 0

done_testing
