#!/bin/sh
# What an admin runs: --version, popd -n (the effective configuration,
# secrets masked, readable back), popd -t as root (what the service user
# can read and use).
. tests/lib.sh
need

is "popd --version" "$("$POPD" --version)" "popd 0.1"
[ -x "$IMAPFETCH" ] && is "imapfetch --version" "$("$IMAPFETCH" --version)" "imapfetch 0.1"

h=$(hash_password secret)
mkdir -p "$T/etc" "$T/drop"
cat > "$T/etc/popd.conf" <<EOF
plaintext-auth = always
[alice]
password = $h
maildrop = $T/drop/alice
imap-host = imap.example.com
imap-user = "alice # home"
imap-password = inline-s3cret
mailboxes = INBOX, Sent Items # and a comment
[bob]
password = $h
maildrop = $T/drop/bob
EOF
chmod 600 "$T/etc/popd.conf"
"$POPD" -n -c "$T/etc/popd.conf" > "$T/n.out" 2>"$T/n.err"
is "popd -n exits 0" "$?" 0
check "popd -n shows the sections" grep -q '^\[bob\]$' "$T/n.out"
check "popd -n shows defaults" grep -q '^idle-timeout = 600$' "$T/n.out"
check "popd -n quotes what needs it" grep -q '^imap-user = "alice # home"$' "$T/n.out"
check "popd -n: mailboxes as a list" grep -q '^mailboxes = INBOX, Sent Items$' "$T/n.out"
check "popd -n masks the hashes" sh -c "! grep -qF '$h' '$T/n.out' && grep -q '^password = (hidden)' '$T/n.out'"
check "popd -n masks inline secrets" sh -c "! grep -q inline-s3cret '$T/n.out'"
check "popd -n: no IMAP keys where there is no imap-host" \
    sh -c "! sed -n '/^\[bob\]/,\$p' '$T/n.out' | grep -q '^imap-\|^fetch\|^mailboxes'"
# Read back (secrets put back in): the same dump.
sed -e "s|^password = (hidden)|password = $h|" \
    -e "s|^imap-password = (hidden)|imap-password = x|" "$T/n.out" > "$T/etc/back.conf"
chmod 600 "$T/etc/back.conf"
"$POPD" -n -c "$T/etc/back.conf" > "$T/n2.out" 2>&1
is "popd -n reads back to the same dump" "$(cat "$T/n2.out")" "$(cat "$T/n.out")"
printf 'bogus-key = 1\n' > "$T/etc/bad.conf"
"$POPD" -n -c "$T/etc/bad.conf" >/dev/null 2>"$T/n.err"
is "popd -n on a bad file: 78" "$?" 78
check "...naming line and key" grep -q 'bad.conf:1:.*bogus-key' "$T/n.err"

if [ "$(id -u)" -ne 0 ]; then
	skip "popd -t as the service user needs root"
	done_testing
	exit
fi
# As root: popd -t checks as the service user (-u popdtest here).
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=t \
    -keyout "$T/etc/key.pem" -out "$T/etc/cert.pem" >/dev/null 2>&1
chmod 600 "$T/etc/key.pem"
{ printf 'tls-cert = %s\ntls-key = %s\n' "$T/etc/cert.pem" "$T/etc/key.pem"
  printf '[alice]\npassword = %s\nmaildrop = %s/drop/alice\n' "$h" "$T"; } > "$T/etc/t.conf"
chmod 644 "$T/etc/t.conf" "$T/etc/cert.pem"
chmod 755 "$T/etc"
chown "$TUSER:" "$T/drop"
"$POPD" -t -u "$TUSER" -c "$T/etc/t.conf" 2>"$T/t.err"
is "popd -t, key unreadable by the service user: 78" "$?" 78
check "...says which file" grep -q "user $TUSER cannot read tls-key $T/etc/key.pem" "$T/t.err"
chgrp "$(id -gn "$TUSER")" "$T/etc/key.pem"
chmod 640 "$T/etc/key.pem"
"$POPD" -t -u "$TUSER" -c "$T/etc/t.conf" 2>"$T/t.err"
is "popd -t, all readable: 0" "$?" 0
check "...and says so" grep -q "user $TUSER can read" "$T/t.err"
chown root: "$T/drop"
chmod 755 "$T/drop"
"$POPD" -t -u "$TUSER" -c "$T/etc/t.conf" 2>"$T/t.err"
is "popd -t, maildrop's parent not writable: 78" "$?" 78
check "...names the section and the directory" grep -q "\[alice\]: user $TUSER cannot use $T/drop" "$T/t.err"
"$POPD" -t -u no-such-user-here -c "$T/etc/t.conf" 2>"$T/t.err"
is "popd -t, no such service user: 78" "$?" 78
# The longest password a PASS line holds is 250 octets: a hash of a longer
# one could never be used, so --hash-password refuses it.
p250=$(head -c 250 /dev/zero | tr '\0' a)
check "popd --hash-password takes a 250-octet password" \
    sh -c "printf '%s\n' '$p250' | '$POPD' --hash-password | grep -q '^\\\$y\\\$'"
printf '%sa\n' "$p250" | "$POPD" --hash-password > "$T/hp.out" 2> "$T/hp.err"
is "...and refuses 251 octets" "$?" 1
check "...saying why" grep -q "longer than 250 bytes" "$T/hp.err"

done_testing
