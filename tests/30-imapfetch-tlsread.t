#!/bin/sh
# imapfetch over TLS reads the socket in large pieces.  Dovecot sends TLS
# records of about 4 KB; read straight from the socket, OpenSSL took two
# read(2)s for each (its 5-byte header, then its body): 2 KB a call.
# Counted with strace, the reads that returned data must average over
# 3 KB.  (How much more depends on whether Dovecot or we are the faster:
# when it is, a read finds one record.)
. tests/lib.sh
. tests/lib-dovecot.sh
need strace

imap_user alice pw1
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi

python3 tests/mkcorpus.py --seed 11 --mean 40000 "$T/corpus" 200
imap_put alice "$T"/corpus/*
chown -R "$TUSER:" "$IMAP_ROOT"
imaptool count alice pw1 >/dev/null	# Dovecot indexes first
fetchconf "$T/f.conf" "$T/drop"

# LeakSanitizer (a sanitizer build) stops the process with ptrace at
# exit, which strace already holds: no leak check under strace.
as_user env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -e trace=read -e signal=none -c -o "$T/st" \
    "$IMAPFETCH" -q -c "$T/f.conf" 2>"$T/err"
is "fetch over TLS under strace exits 0" "$?" 0
is "byte-exact" "$(drop_hashes "$T/drop")" "$(corpus_hashes "$T/corpus")"
bytes=$(du -sb "$T/corpus" | awk '{print $1}')
# strace -c: calls in column 4, errors (EAGAIN) in 5 when there are any.
reads=$(awk '$NF == "read" {print $4 - (NF == 6 ? $5 : 0)}' "$T/st")
diag "$bytes bytes of mail in ${reads:-?} read(2) calls that returned data"
check "those reads average over 3 KB" \
    test "${reads:-0}" -gt 0 -a "$((bytes / ${reads:-1}))" -gt 3072

done_testing
