#!/bin/sh
# Mailbox names and discovery, against a real Dovecot whose mailboxes have
# non-ASCII names (a surrogate pair too), spaces, quotes, '&', a comma and
# a "[Gmail]/Spam" hierarchy, some marked special-use.  Names are written
# in UTF-8 in the configuration and go in modified UTF-7 on the wire: each
# message delivered once, the summary lines in UTF-8; a mailbox that does
# not exist is one error naming it, the others are fetched, the exit code
# is not 0; --list shows what an admin can paste into "mailboxes ="; -n
# says what a run would do and changes nothing, here or on the server.
. tests/lib.sh
. tests/lib-dovecot.sh

# Our own Dovecot layout, on top of lib-dovecot.sh's: "/" as the
# hierarchy separator (maildir LAYOUT=fs) and special-use mailboxes
# (RFC 6154).  dovecot_start runs "dovecot -c FILE": the file is amended
# just before.
dovecot() {
	sed -i 's|^\(mail_location = .*\)$|\1:LAYOUT=fs|' "$DOVECOT_DIR/dovecot.conf"
	cat >> "$DOVECOT_DIR/dovecot.conf" <<'EOF'
namespace inbox {
  inbox = yes
  separator = /
  mailbox "[Gmail]/Spam" {
    special_use = \Junk
  }
  mailbox "Sent Items" {
    special_use = \Sent
  }
  mailbox "Archiv/Übersicht" {
    special_use = \Archive
  }
}
EOF
	command dovecot "$@"
}

imap_user alice pw1
imap_user bob pw2
# carl's server says IMAP4rev1 only (a userdb override of the
# capabilities): no SPECIAL-USE, no LIST-EXTENDED.
imap_user carl pw3
sed -i 's/^\(carl:.*\)$/\1userdb_imap_capability=IMAP4rev1/' "$DOVECOT_DIR/passwd"
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi

D=$T/drop
tool() { _c=$1; shift; imaptool "$_c" alice pw1 "$@"; }

# The mailboxes (UTF-8) and how many messages each gets.
BOXES='INBOX:3
Archiv/Übersicht:2
[Gmail]/Spam:2
Sent Items:1
Quote "this" \back:1
台北/日本語:2
R&D:1
Emoji 😀:1
Rechnungen, alt:0'
# put NAME N TAG: N new messages in mailbox NAME, kept in $T/c/TAG.
_seed=300
put() {
	_seed=$((_seed + 1))
	python3 tests/mkcorpus.py --prefix "$3." --seed "$_seed" --mean 2000 \
	    "$T/c/$3" "$2" || return 1
	[ "$1" = INBOX ] && { imap_put alice "$T/c/$3"/*; return; }
	tool append-to "$1" "$T/c/$3"/*
}
i=0
created=0
printf '%s\n' "$BOXES" > "$T/boxes"
while IFS=: read -r name n; do
	i=$((i + 1))
	if [ "$name" != INBOX ]; then
		tool create "$name" || created=1
	fi
	[ "$n" -eq 0 ] || put "$name" "$n" "b$i" || created=1
done < "$T/boxes"
tool create "Entwürfe" || created=1
is "mailboxes created and filled through imaplib" "$created" 0
# Dovecot's own directory names (LAYOUT=fs) are modified UTF-7: an
# encoder independent of ours.
check "Dovecot stores Archiv/Übersicht as Archiv/&ANw-bersicht" \
    test -d "$(imap_maildir alice)/Archiv/&ANw-bersicht/cur"
check "Dovecot stores the surrogate pair as &2D3eAA-" \
    test -d "$(imap_maildir alice)/Emoji &2D3eAA-/cur"

LIST='INBOX, Archiv/Übersicht, [Gmail]/Spam, Sent Items, Quote "this" \back, 台北/日本語, R&D, Emoji 😀'
fetchconf "$T/f.conf" "$D" "mailboxes = $LIST, Fehlt/Größe"
sed -i "1i metrics-file = $T/metrics.prom" "$T/f.conf"

# --- --list -----------------------------------------------------------
as_user "$IMAPFETCH" -c "$T/f.conf" --list alice > "$T/list" 2>"$T/err"
rc=$?
is "--list: exit 0" "$rc" 0
{
	printf '# alice: 13 mailboxes of alice on 127.0.0.1, hierarchy separator "/"\n'
	printf 'INBOX\t3 messages, 3 unseen\n'
	printf 'Archiv\t-\t\\Noselect\n'
	printf 'Archiv/Übersicht\t2 messages, 2 unseen\t\\Archive\n'
	printf 'Emoji 😀\t1 message, 1 unseen\n'
	printf 'Entwürfe\t0 messages, 0 unseen\n'
	printf 'Quote "this" \\back\t1 message, 1 unseen\n'
	printf 'R&D\t1 message, 1 unseen\n'
	printf 'Rechnungen, alt\t0 messages, 0 unseen\t(a comma: cannot be configured)\n'
	printf 'Sent Items\t1 message, 1 unseen\t\\Sent\n'
	printf '[Gmail]\t-\t\\Noselect\n'
	printf '[Gmail]/Spam\t2 messages, 2 unseen\t\\Junk\n'
	printf '台北\t-\t\\Noselect\n'
	printf '台北/日本語\t2 messages, 2 unseen\n'
} > "$T/list.want"
if cmp -s "$T/list" "$T/list.want"; then
	ok "--list: every mailbox in UTF-8, with counts and attributes"
else
	nok "--list: every mailbox in UTF-8, with counts and attributes"
	diag "$(diff "$T/list.want" "$T/list")"
fi
is "--list: nothing on stderr" "$(cat "$T/err")" ""
# Every selectable name of the list, pasted into "mailboxes =", is the
# mailbox: a dry run finds each and its messages.
names=$(grep -v '^#' "$T/list" | grep -v 'Noselect\|cannot be' | cut -f1 |
    paste -sd, | sed 's/,/, /g')
fetchconf "$T/paste.conf" "$T/paste" "mailboxes = $names"
fetch -c "$T/paste.conf" -n
is "names pasted from --list: a dry run finds every one (exit 0)" "$rc" 0
is "names pasted from --list: 13 messages would be fetched" \
    "$(sed -n 's/.*would fetch \([0-9]*\) message.*/\1/p' "$T/err" |
    awk '{ n += $1 } END { print n }')" 13
as_user "$IMAPFETCH" -v -c "$T/f.conf" --list > /dev/null 2>"$T/err"
check "--list: LIST RETURN (SPECIAL-USE), the server having SPECIAL-USE" \
    grep -q 'C: [0-9]* LIST "" "\*" RETURN (SPECIAL-USE)' "$T/err"
check "--list: no SELECT or EXAMINE" sh -c "! grep -q 'C: [0-9]* \(SELECT\|EXAMINE\)' '$T/err'"
check "--list: no maildrop made" test ! -e "$D"
check "--list: no metrics written" test ! -e "$T/metrics.prom"

# Without an account: every account with an imap-host; bob has one, the
# popd-only carol none.
cp "$T/f.conf" "$T/all.conf"
printf 'pw2\n' > "$T/bob.pass"
chmod 600 "$T/bob.pass"
chown "$TUSER:" "$T/bob.pass" 2>/dev/null || true
{
	printf '\n[bob]\nmaildrop = %s\nimap-host = 127.0.0.1\n' "$T/bobdrop"
	printf 'imap-port = %s\nimap-ca-file = %s\n' "$IMAPS_PORT" "$CA_DIR/ca.crt"
	printf 'imap-user = bob\nimap-password-file = %s\n' "$T/bob.pass"
	printf '\n[carol]\nmaildrop = %s\npassword = %s\n' "$T/caroldrop" \
	    "$(hash_password secret)"
} >> "$T/all.conf"
as_user "$IMAPFETCH" -c "$T/all.conf" --list > "$T/list" 2>"$T/err"
rc=$?
is "--list, no account named: exit 0" "$rc" 0
is "--list, no account named: alice's and bob's" "$(grep '^#' "$T/list")" \
    "$(printf '# alice: 13 mailboxes of alice on 127.0.0.1, hierarchy separator "/"\n# bob: 1 mailbox of bob on 127.0.0.1, hierarchy separator "/"')"
as_user "$IMAPFETCH" -c "$T/all.conf" --list nobody > /dev/null 2>"$T/err"
is "--list, unknown account: exit 64" "$?" 64

# Without SPECIAL-USE and LIST-EXTENDED: a plain LIST, whose answer
# Dovecot gives with the special-use attributes all the same.
imaptool create carl pw3 "Sent Items"
IMAP_LOGIN=carl IMAP_PASSWORD=pw3 fetchconf "$T/carl.conf" "$T/carldrop"
as_user "$IMAPFETCH" -v -c "$T/carl.conf" --list > "$T/list" 2>"$T/err"
is "--list, IMAP4rev1 only: exit 0" "$?" 0
check "--list, IMAP4rev1 only: a plain LIST" \
    grep -q 'C: [0-9]* LIST "" "\*"\.\.$' "$T/err"
is "--list, IMAP4rev1 only: the attributes the server gives" "$(cat "$T/list")" \
    "$(printf '# alice: 2 mailboxes of carl on 127.0.0.1, hierarchy separator "/"\nINBOX\t0 messages, 0 unseen\nSent Items\t0 messages, 0 unseen\t\\Sent')"
fetchconf "$T/f.conf" "$D" "mailboxes = $LIST, Fehlt/Größe"
sed -i "1i metrics-file = $T/metrics.prom" "$T/f.conf"

# --- -n before the first run: no maildrop -----------------------------
# flags: every mailbox's "UID FLAGS" lines; \Recent stays until a SELECT,
# so this also tells EXAMINE from SELECT.
names() { printf '%s\n' "$BOXES" | cut -d: -f1; }
flags() { names | tr '\n' '\0' | xargs -0 python3 tests/imaptool.py \
    --port "$IMAPS_PORT" --ca "$CA_DIR/ca.crt" flags alice pw1; }
flags > "$T/flags.before"
fetch -c "$T/f.conf" -n -v
is "-n, one mailbox missing: exit 69" "$rc" 69
check "-n: says the maildrop does not exist" \
    grep -q "alice: maildrop $D does not exist" "$T/err"
check "-n: INBOX: would fetch 3" grep -q "alice/INBOX: would fetch 3 messages, [0-9.]* MB$" "$T/err"
check "-n: Archiv/Übersicht: would fetch 2" \
    grep -q "alice/Archiv/Übersicht: would fetch 2 messages" "$T/err"
check "-n: 台北/日本語: would fetch 2" \
    grep -q "alice/台北/日本語: would fetch 2 messages" "$T/err"
check "-n: Emoji 😀: would fetch 1" \
    grep -q "alice/Emoji 😀: would fetch 1 message, " "$T/err"
check "-n: the missing mailbox named in UTF-8" \
    grep -q "alice/Fehlt/Größe: the server refused to open it (EXAMINE: " "$T/err"
check "-n: EXAMINE only" sh -c "grep -q 'C: [0-9]* EXAMINE' '$T/err' &&
    ! grep -q 'C: [0-9]* SELECT' '$T/err'"
check "-n: nothing stored" sh -c "! grep -q 'C: [0-9]* UID STORE' '$T/err'"
check "-n: the maildrop still does not exist" test ! -e "$D"
flags > "$T/flags.after"
if cmp -s "$T/flags.before" "$T/flags.after"; then
	ok "-n: every flag on the server as it was (\\Recent too)"
else
	nok "-n: every flag on the server as it was (\\Recent too)"
	diag "$(diff "$T/flags.before" "$T/flags.after")"
fi
check "-n: no metrics written" test ! -e "$T/metrics.prom"

# --- The fetch --------------------------------------------------------
fetch -c "$T/f.conf" -v
is "fetch, one mailbox missing: exit 69" "$rc" 69
is "fetch: the missing mailbox is one error, named in UTF-8" \
    "$(grep -c 'Fehlt/Größe' "$T/err")" 1
check "fetch: the error gives the server's reason" \
    grep -q "alice/Fehlt/Größe: the server refused to open it (SELECT: Mailbox doesn't exist: Fehlt/Größe" "$T/err"
all=$(for c in "$T"/c/*; do corpus_hashes "$c"; done | sort)
is "fetch: every other mailbox's messages, each once" "$(drop_hashes "$D")" "$all"
check "fetch: summary line of Archiv/Übersicht in UTF-8" \
    grep -q "alice/Archiv/Übersicht: 2 new, " "$T/err"
check "fetch: summary line of Emoji 😀 in UTF-8" \
    grep -q "alice/Emoji 😀: 1 new, " "$T/err"
check "fetch: summary line of 台北/日本語 in UTF-8" \
    grep -q "alice/台北/日本語: 2 new, " "$T/err"
check "fetch: summary line of Quote \"this\" \\back" \
    grep -q 'alice/Quote "this" \\back: 1 new, ' "$T/err"
# libetpan quotes what it is given: the encoded name, as a quoted string
# with \" and \\ inside when needed.
check 'fetch: SELECT "Quote \"this\" \\back" on the wire' \
    grep -qF 'SELECT "Quote \"this\" \\back"' "$T/err"
check 'fetch: SELECT "Archiv/&ANw-bersicht" on the wire' \
    grep -qF 'SELECT "Archiv/&ANw-bersicht"' "$T/err"
check 'fetch: SELECT "&U,BTFw-/&ZeVnLIqe-" on the wire' \
    grep -qF 'SELECT "&U,BTFw-/&ZeVnLIqe-"' "$T/err"
check 'fetch: SELECT "R&-D" on the wire' grep -qF 'SELECT "R&-D"' "$T/err"
check 'fetch: SELECT "Sent Items" on the wire' grep -qF 'SELECT "Sent Items"' "$T/err"
unseen=$(names | tr '\n' '\0' | xargs -0 python3 tests/imaptool.py \
    --port "$IMAPS_PORT" --ca "$CA_DIR/ca.crt" unseen-each alice pw1)
is "fetch: every message \\Seen on the server" "$unseen" "0 0 0 0 0 0 0 0 0"
check "fetch: the state of Archiv/Übersicht is named in UTF-8" test -f \
    "$D/.imapfetch/127.0.0.1+$IMAPS_PORT+alice+Archiv%2F%C3%9Cbersicht.state"
is "fetch: no state named in UTF-7" \
    "$(ls "$D/.imapfetch" | grep -c 'ANw-\|2D3eAA\|U,BTFw\|%26-')" 0
is "fetch: one state file per mailbox fetched" \
    "$(ls "$D/.imapfetch" | grep -c '\.state$')" 8
fetch -c "$T/f.conf"
is "fetch again: exit 69 (still missing)" "$rc" 69
is "fetch again: nothing twice" "$(drop_hashes "$D")" "$all"

# --- -n on a maildrop with a state ------------------------------------
# INBOX: one new message, and its three old ones unseen again (as after
# a run that died before its STORE): delivered earlier, to be flagged.
put INBOX 1 n1
put "台北/日本語" 1 n2
tool unsee
snap() {	# snap DIR: names, types, sizes, modes, times, digests
	find "$1" -printf '%p %y %s %m %T@\n' | sort
	find "$1" -type f -exec sha256sum {} + | sort
}
snap "$D" > "$T/snap.before"
flags > "$T/flags.before"
metrics() { stat -c '%i %y' "$T/metrics.prom" 2>&1; }
metrics > "$T/metrics.before"
fetch -c "$T/f.conf" -n
is "-n: exit 69 (still missing)" "$rc" 69
check "-n: INBOX: 1 to fetch, 3 to flag" grep -q \
    "alice/INBOX: would fetch 1 message, [0-9.]* MB; 3 delivered earlier would be flagged \\\\Seen$" \
    "$T/err"
check "-n: 台北/日本語: 1 to fetch" \
    grep -q "alice/台北/日本語: would fetch 1 message, [0-9.]* MB$" "$T/err"
check "-n: Archiv/Übersicht: nothing" \
    grep -q "alice/Archiv/Übersicht: would fetch 0 messages, 0.0 MB$" "$T/err"
snap "$D" > "$T/snap.after"
flags > "$T/flags.after"
if cmp -s "$T/snap.before" "$T/snap.after"; then
	ok "-n: the maildrop as it was (names, sizes, modes, times, bytes)"
else
	nok "-n: the maildrop as it was (names, sizes, modes, times, bytes)"
	diag "$(diff "$T/snap.before" "$T/snap.after")"
fi
if cmp -s "$T/flags.before" "$T/flags.after"; then
	ok "-n: the server's flags as they were"
else
	nok "-n: the server's flags as they were"
	diag "$(diff "$T/flags.before" "$T/flags.after")"
fi
is "-n: the metrics file as it was" "$(metrics)" "$(cat "$T/metrics.before")"
fetch -c "$T/f.conf"
is "the run after -n: exit 69 (still missing)" "$rc" 69
check "the run after -n: INBOX: 1 new, as said" grep -q "alice/INBOX: 1 new, " "$T/err"
check "the run after -n: 台北/日本語: 1 new, as said" \
    grep -q "alice/台北/日本語: 1 new, " "$T/err"
is "the run after -n: INBOX all \\Seen" "$(tool unseen INBOX)" 0
all=$(for c in "$T"/c/*; do corpus_hashes "$c"; done | sort)
is "the run after -n: every message once" "$(drop_hashes "$D")" "$all"
check "the run after -n: metrics written" test "$(metrics)" != "$(cat "$T/metrics.before")"

# --- -n and what a run would do to the state ---------------------------
# A version 1 state file that a run would adopt (one section feeds the
# maildrop): read, left alone.  INBOX has UIDs 1 to 4; the file says 1
# and 2 are delivered.
L=$T/legacy
mkmaildir "$L"
mkdir -p "$L/.imapfetch"
printf 'imapfetch-state 1\nuidvalidity %s\ndelivered 1:2\nend\n' \
    "$(tool uidvalidity)" > "$L/.imapfetch/INBOX.state"
chown -R "$TUSER:" "$L"
fetchconf "$T/l.conf" "$L" "fetch = all" "after-fetch = none"
snap "$L" > "$T/snap.before"
fetch -c "$T/l.conf" -n
is "-n, legacy state: exit 0" "$rc" 0
check "-n, legacy state: would adopt it" \
    grep -q "alice/INBOX: a run would adopt the state file of an earlier version" "$T/err"
check "-n, legacy state: would fetch the 2 it does not list" \
    grep -q "alice/INBOX: would fetch 2 messages, " "$T/err"
snap "$L" > "$T/snap.after"
check "-n, legacy state: the maildrop as it was" cmp -s "$T/snap.before" "$T/snap.after"
# A new UIDVALIDITY: said, and what a run would do about it; the state
# keeps the old one.
tool unsee
doveadm -c "$DOVECOT_DIR/dovecot.conf" mailbox update -u alice \
    --uid-validity 1234567 INBOX
snap "$D" > "$T/snap.before"
fetch -c "$T/f.conf" -n
check "-n, new UIDVALIDITY: said" \
    grep -q "alice/INBOX: UIDVALIDITY changed from [0-9]* to 1234567: a run would match the maildrop" "$T/err"
check "-n, new UIDVALIDITY: what it means for the plan" grep -q \
    "alice/INBOX: would fetch 4 messages, [0-9.]* MB; of these, those already in the maildrop would not be delivered again$" \
    "$T/err"
snap "$D" > "$T/snap.after"
check "-n, new UIDVALIDITY: the maildrop as it was" cmp -s "$T/snap.before" "$T/snap.after"

# --- Names that cannot be sent, or were written in UTF-7 ---------------
printf 'mailboxes = INBOX, Bad\377Name\n' > "$T/line"
fetchconf "$T/u.conf" "$T/udrop" "$(cat "$T/line")" "fetch = all" \
    "after-fetch = none"
fetch -c "$T/u.conf" -t
is "-t: a mailbox name that is not UTF-8: exit 78" "$rc" 78
check "-t: says so" grep -q "not valid UTF-8" "$T/err"
fetch -c "$T/u.conf"
is "run: a mailbox name that is not UTF-8: exit 78" "$rc" 78
check "run: the name shown escaped" grep -q 'alice/Bad\\xffName: the mailbox name is not valid UTF-8' "$T/err"
is "run: INBOX fetched all the same" "$(ls "$T/udrop/new" | wc -l)" 4
fetchconf "$T/h.conf" "$T/hdrop" "mailboxes = Entw&APw-rfe" "after-fetch = none"
fetch -c "$T/h.conf"
is "a name written in modified UTF-7: exit 69" "$rc" 69
check "a name written in modified UTF-7: the UTF-8 one suggested" \
    grep -q 'alice/Entw&APw-rfe: the server refused to open it (EXAMINE: .*); names are written in UTF-8 in .*: "Entwürfe"?$' "$T/err"
fetchconf "$T/h.conf" "$T/hdrop" "mailboxes = Entwürfe"
fetch -c "$T/h.conf"
is "the same in UTF-8: exit 0" "$rc" 0

# --- A state recorded under the wire name -------------------------------
# Before names were UTF-8, Entwürfe could only be configured as
# "Entw&APw-rfe", and its state is under that name: UIDs 1 and 2 of its
# three are delivered.  Configured as "Entwürfe" now, that state is its.
put "Entwürfe" 3 e0
M=$T/mdrop
mkmaildir "$M"
mkdir -p "$M/.imapfetch"
old="$M/.imapfetch/127.0.0.1+$IMAPS_PORT+alice+Entw%26APw-rfe.state"
new="$M/.imapfetch/127.0.0.1+$IMAPS_PORT+alice+Entw%C3%BCrfe.state"
printf 'imapfetch-state 2\naccount 127.0.0.1 %s alice Entw%%26APw-rfe\nuidvalidity %s\ndelivered 1:2\nend\n' \
    "$IMAPS_PORT" "$(tool uidvalidity "Entwürfe")" > "$old"
chown -R "$TUSER:" "$M"
fetchconf "$T/m.conf" "$M" "mailboxes = Entwürfe" "fetch = all" \
    "after-fetch = none"
snap "$M" > "$T/snap.before"
fetch -c "$T/m.conf" -n
is "-n, state under the wire name: exit 0" "$rc" 0
check "-n, state under the wire name: would take it over" grep -q \
    "alice/Entwürfe: a run would take over the state recorded under the name Entw&APw-rfe" \
    "$T/err"
check "-n, state under the wire name: would fetch only UID 3" \
    grep -q "alice/Entwürfe: would fetch 1 message, " "$T/err"
snap "$M" > "$T/snap.after"
check "-n, state under the wire name: the maildrop as it was" \
    cmp -s "$T/snap.before" "$T/snap.after"
fetch -c "$T/m.conf"
is "state under the wire name: exit 0" "$rc" 0
check "state under the wire name: taken over" grep -q \
    "alice/Entwürfe: taking over the state recorded under the name Entw&APw-rfe" \
    "$T/err"
is "state under the wire name: only UID 3 delivered" "$(drop_hashes "$M")" \
    "$(tool hashes "Entwürfe" | sed -n 3p)"
check "state under the wire name: the old file gone" test ! -e "$old"
is "state under the wire name: the new file has all three" \
    "$(grep '^delivered' "$new")" "delivered 1:3"

as_user "$IMAPFETCH" -c "$T/f.conf" --list alice > /dev/full 2>"$T/err"
is "--list, output cannot be written: exit 74" "$?" 74
check "--list, output cannot be written: says so" \
    grep -q "alice: standard output: No space left on device" "$T/err"

# Last: Dovecot delays logins from an address that failed one.
printf 'wrong\n' > "$T/wrong.pass"
chmod 600 "$T/wrong.pass"
chown "$TUSER:" "$T/wrong.pass" 2>/dev/null || true
sed "s|^imap-password-file = .*|imap-password-file = $T/wrong.pass|" \
    "$T/f.conf" > "$T/bad.conf"
as_user "$IMAPFETCH" -c "$T/bad.conf" --list > "$T/list" 2>"$T/err"
is "--list, wrong password: exit 77 as a fetch" "$?" 77
is "--list, wrong password: nothing on stdout" "$(cat "$T/list")" ""

done_testing
