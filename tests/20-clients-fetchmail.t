#!/bin/sh
# End-to-end: fetchmail against popd under ucspi-tcp's tcpserver, delivering
# each message to its own file through an MDA script.
#
# What fetchmail 6.4 (Debian 12) changes, each modelled exactly by
# pop3check.py's fetchmail_pattern():
#  - it prepends a Received: header of three lines:
#      Received: from 127.0.0.1 [127.0.0.1]
#      <TAB>by HOST with POP3 (fetchmail-6.4.37)
#      <TAB>for <USER@localhost> (single-drop); DATE
#  - with an MDA, "stripcr" is on by default: every CR goes, lone CRs too,
#    so lines end in LF; with "no stripcr" the wire's CRLFs stay;
#  - a message without a blank line gets one after its headers; an empty
#    message becomes "From: FETCHMAIL-DAEMON", "To: USER@HOST",
#    "Subject: Headerless mail from alice's mailbox on 127.0.0.1" and a
#    blank line;
#  - a line longer than 8191 octets is cut every 8191 octets, each cut
#    getting a NUL, one uninitialised octet and a line end (a fetchmail
#    bug: its 8 KiB read buffer's guard line end is written past the NUL);
#  - dot-stuffing is undone; nothing else (with "no rewrite") changes.
. tests/lib.sh
need fetchmail

mkconf "$T/popd.conf" </dev/null
fixtures "$T/alice"
# The same fixtures again, untouched, to compare with after popd deleted them.
python3 tests/mkfixtures.py "$T/ref"
port=$(free_port)
if command -v tcpserver >/dev/null; then kind=tcpserver; else kind=socket-activate; fi
check "popd listening under $kind" serve $kind "$port" "$T/popd.conf"

FM="$T/fm"
mkdir -p "$FM/home" "$FM/out1" "$FM/out2"
# The MDA: each message into the next numbered file of the directory $1.
cat > "$FM/mda" <<'MDA'
#!/bin/sh
n=$(ls "$1" | wc -l)
exec cat > "$1/$((n + 1))"
MDA
chmod 755 "$FM/mda"
# rcfile NAME OUTDIR SERVER-OPTIONS USER-OPTIONS: a fetchmailrc (mode 0600,
# owned by the user who runs fetchmail, or fetchmail refuses it).
rcfile() {
	cat > "$FM/$1" <<RC
set no syslog
poll 127.0.0.1 service $port protocol POP3 auth password $3
  user "alice" there with password "secret" is "$TUSER" here
  options no rewrite sslproto '' $4
  mda "$FM/mda $2"
RC
	chmod 600 "$FM/$1"
}
rcfile rc.keep "$FM/out1" uidl keep
rcfile rc.flush "$FM/out2" "" "nokeep fetchall no stripcr"
chown -R "$TUSER:" "$FM"
fetch() {
	as_user env HOME="$FM/home" FETCHMAILHOME="$FM/home" \
	    fetchmail -v --nosyslog -f "$FM/$1" >"$FM/log.$1" 2>&1
}
showlog() { diag "fetchmail log:"; tail -n 15 "$FM/log.$1" | while IFS= read -r l; do diag "$l"; done; }

# keep with UIDLs: everything, stripcr (LF).  With keep fetchmail reads
# each message with "TOP n 99999999", not RETR (so that servers do not mark
# it seen): popd must send the whole message and leave the maildrop as it was.
fetch rc.keep; rc=$?
is "fetchmail (keep, uidl): exit 0, mail retrieved" "$rc" 0 || showlog rc.keep
tap_import python3 tests/pop3check.py --manifest "$T/ref.json" --out "$FM/out1" fetchmail-lf
tap_import python3 tests/pop3check.py --manifest "$T/alice.json" untouched
# Again: the UIDLs did not change when popd moved the messages to cur/.
cp "$FM/rc.keep" "$FM/rc.again"; chown "$TUSER:" "$FM/rc.again"
fetch rc.again; rc=$?
is "fetchmail again (keep, uidl): exit 1, no new mail" "$rc" 1 || showlog rc.again
is "... and delivered nothing more" "$(ls "$FM/out1" | wc -l)" "$(ls "$T/ref/new" "$T/ref/cur" | grep -c '^1')"
# nokeep, fetchall, no stripcr (CRLF): RETR and DELE of everything.
fetch rc.flush; rc=$?
is "fetchmail (nokeep, fetchall, no stripcr): exit 0" "$rc" 0 || showlog rc.flush
tap_import python3 tests/pop3check.py --manifest "$T/ref.json" --out "$FM/out2" fetchmail-crlf
tap_import python3 tests/pop3check.py --manifest "$T/alice.json" gone
serve_stop
done_testing
