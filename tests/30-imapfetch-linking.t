#!/bin/sh
# imapfetch linked from libetpan.a (ETPAN=static, the Makefile's default
# when the archive is there) carries none of the libraries that Debian's
# libetpan.so drags in (GnuTLS, p11-kit, nettle, gmp, libdb...): neither
# libetpan.so nor GnuTLS is DT_NEEDED, and neither is mapped in an
# imapfetch that is running after a fetch over TLS from a real Dovecot, so
# nothing loaded them later either.  Skipped only when the Makefile says
# ETPAN=shared (make etpan-link).
. tests/lib.sh
. tests/lib-dovecot.sh
need python3 dovecot readelf
[ -x "$IMAPFETCH" ] || { echo "1..0 # SKIP imapfetch/imapfetch not built"; exit 0; }

link=$(make -s --no-print-directory -C "$TOP" etpan-link 2>"$T/make.err")
case $link in
shared) echo "1..0 # SKIP ETPAN=shared: imapfetch links the shared libetpan"; exit 0 ;;
static*) ok "make etpan-link: $link" ;;
*) nok "make etpan-link says static or shared"; diag "$link" "$(cat "$T/make.err")"
   done_testing; exit ;;
esac

needed=$(readelf -d "$IMAPFETCH" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
diag "DT_NEEDED: $(echo $needed)"
is "libetpan.so is not DT_NEEDED" "$(echo "$needed" | grep -c '^libetpan')" 0
is "GnuTLS is not DT_NEEDED" "$(echo "$needed" | grep -c '^libgnutls')" 0
check "libtls is DT_NEEDED (OpenSSL's updates reach imapfetch)" \
    sh -c "echo '$needed' | grep -q '^libtls\.so'"

# A running imapfetch: --watch over implicit TLS, once the corpus is in,
# so that the TLS handshake, LOGIN, FETCH and STORE have all run.
imap_user alice pw1
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
python3 tests/mkcorpus.py --seed 71 "$T/corpus" 20 >/dev/null
imap_put alice "$T"/corpus/*
fetchconf "$T/f.conf" "$T/drop"
fetch_bg --watch alice -c "$T/f.conf"
WPID=$BGPID
at_exit 'kill $WPID 2>/dev/null'
_i=0
while [ "$(ls "$T/drop/new" 2>/dev/null | wc -l)" -lt 20 ] && [ $_i -lt 200 ]; do
	sleep 0.05; _i=$((_i+1))
done
is "20 messages fetched over TLS" "$(ls "$T/drop/new" 2>/dev/null | wc -l)" 20
# The process and any child of it (jobs, hooks).
maps=""
for p in $WPID $(pgrep -P "$WPID"); do
	maps="$maps$(cat "/proc/$p/maps" 2>/dev/null)
"
done
if ! echo "$maps" | grep -q '/libtls\.so'; then
	nok "/proc/PID/maps of the running imapfetch can be read (libtls in it)"
	diag "$(ls -l "/proc/$WPID/maps" 2>&1)"
else
	ok "/proc/PID/maps of the running imapfetch can be read (libtls in it)"
	mapped=$(echo "$maps" | awk '$6 ~ /\.so/ {n = split($6, a, "/"); print a[n]}' | sort -u)
	diag "mapped: $(echo $mapped)"
	is "no libetpan.so mapped" "$(echo "$mapped" | grep -c '^libetpan')" 0
	is "no GnuTLS, p11-kit, nettle, gmp or libdb mapped" \
	    "$(echo "$mapped" | grep -Ec '^lib(gnutls|p11-kit|nettle|hogweed|gmp|db-)')" 0
fi
diag "peak RSS of the running imapfetch: $(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$WPID/status")"
kill -TERM $WPID
wait $WPID
is "SIGTERM ends it with 0" "$?" 0

done_testing
