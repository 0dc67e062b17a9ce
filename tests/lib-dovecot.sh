# lib-dovecot.sh: a private Dovecot (IMAP + IMAPS) for the imapfetch tests.
# Source it after lib.sh.  Everything lives under $T/dovecot; the server
# listens on 127.0.0.1 only, on ports the kernel says are free.  Nothing
# here is a mock: it is the Debian dovecot-imapd package, configured for
# this test alone.
#
#   mkca                      test CA + server certificate (SAN IP 127.0.0.1
#                             only: "localhost" is a name mismatch)
#   dovecot_start             start it (IMAP_PORT, IMAPS_PORT set; with
#                             DOVECOT_POP3=1 also POP3_PORT, POP3S_PORT)
#   dovecot_stop
#   imap_user NAME PASSWORD   add an IMAP account, before dovecot_start
#                             (Dovecot may miss a passwd-file change made
#                             in the second it last read the file);
#                             PASSWORD may be a hash: {SHA512-CRYPT}$6$...
#   imap_maildir NAME         its Maildir path ($T/imap/NAME)
#   imap_put NAME FILE...     drop messages into its INBOX (Maildir new/)
#   imaptool ARGS...          tests/imaptool.py against our server
#   fetchconf FILE DROP [KEY = VALUE...]
#                             an imapfetch config: account alice, IMAPS,
#                             test CA, password file; more lines appended;
#                             IMAP_LOGIN/IMAP_PASSWORD: alice/pw1
#   fetch ARGS...             runs imapfetch as the test user; sets $rc,
#                             stderr in $T/err
#   fetch_bg ARGS...          the same in the background: $BGPID, $T/bg-err
#   drop_hashes DIR / corpus_hashes DIR
#                             sorted sha256 of the messages, one per line
#   state_file DROP [USER [MAILBOX]]
#                             the path of the state of USER (alice) and
#                             MAILBOX (INBOX) on our IMAPS port

# IMAPFETCH_BIN: run another build (the ASan one) instead.
[ -n "${IMAPFETCH_BIN:-}" ] && IMAPFETCH=$IMAPFETCH_BIN

DOVECOT_DIR="$T/dovecot"
IMAP_ROOT="$T/imap"
CA_DIR="$T/ca"

# A CA and a server certificate signed by it, valid for the address
# 127.0.0.1 only; also a second, unrelated CA for the "untrusted" cases.
mkca() {
	mkdir -p "$CA_DIR"
	(
		cd "$CA_DIR" || exit 1
		for ca in ca other; do
			openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			    -subj "/CN=imapfetch test $ca" -keyout $ca.key \
			    -out $ca.crt >/dev/null 2>&1 || exit 1
		done
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		    -keyout server.key -out server.csr >/dev/null 2>&1 || exit 1
		printf 'subjectAltName=IP:127.0.0.1\n' > ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
		    -CAcreateserial -days 2 -extfile ext -out server.crt \
		    >/dev/null 2>&1 || exit 1
		chmod 644 ./*.crt
		chmod 600 ./*.key
	)
}

imap_maildir() { echo "$IMAP_ROOT/$1"; }

imap_user() {
	mkdir -p "$DOVECOT_DIR" "$IMAP_ROOT/$1/new" "$IMAP_ROOT/$1/cur" \
	    "$IMAP_ROOT/$1/tmp"
	case $2 in
	"{"*) printf '%s:%s::::::\n' "$1" "$2" ;;
	*) printf '%s:{PLAIN}%s::::::\n' "$1" "$2" ;;
	esac >> "$DOVECOT_DIR/passwd"
	chown -R "$TUSER:" "$IMAP_ROOT" 2>/dev/null || true
}

# imap_put NAME FILE...: each file becomes one unseen message.
imap_put() {
	_u=$1; shift
	_i=0
	for _f in "$@"; do
		_i=$((_i+1))
		cp "$_f" "$IMAP_ROOT/$_u/tmp/put.$$.$_i"
		mv "$IMAP_ROOT/$_u/tmp/put.$$.$_i" \
		    "$IMAP_ROOT/$_u/new/$(date +%s).P$$Q$_i.$(basename "$_f").test"
	done
	chown -R "$TUSER:" "$IMAP_ROOT/$_u" 2>/dev/null || true
}

_dovecot_conf() {
	cat <<EOF
protocols = imap${DOVECOT_POP3:+ pop3}
listen = 127.0.0.1
base_dir = $DOVECOT_DIR/run
state_dir = $DOVECOT_DIR/state
log_path = $DOVECOT_DIR/log
instance_name = imapfetch-test-$$
default_internal_user = $TUSER
default_internal_group = $(id -gn "$TUSER")
default_login_user = $TUSER
first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <$CA_DIR/server.crt
ssl_key = <$CA_DIR/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:$IMAP_ROOT/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DOVECOT_DIR/passwd
}
userdb {
  driver = static
  args = uid=$TUSER gid=$(id -gn "$TUSER") home=$IMAP_ROOT/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
$(_dovecot_pop3_conf)
service anvil {
  chroot =
}
service stats {
  chroot =
}
EOF
}

# POP3 and POP3S as well (DOVECOT_POP3=1): UIDL is the Maildir name's
# unique part, as popd's; a session takes no lock (Dovecot's default).
_dovecot_pop3_conf() {
	[ -n "${DOVECOT_POP3:-}" ] || return 0
	cat <<EOF
pop3_uidl_format = %f
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
    ssl = yes
  }
}
EOF
}

dovecot_start() {
	[ -f "$CA_DIR/server.crt" ] || mkca || return 1
	mkdir -p "$DOVECOT_DIR/run" "$DOVECOT_DIR/state" "$IMAP_ROOT"
	touch "$DOVECOT_DIR/passwd"
	: "${IMAP_PORT:=$(free_port)}" "${IMAPS_PORT:=$(free_port)}"
	[ -z "${DOVECOT_POP3:-}" ] || : "${POP3_PORT:=$(free_port)}" "${POP3S_PORT:=$(free_port)}"
	_dovecot_conf > "$DOVECOT_DIR/dovecot.conf"
	chown -R "$TUSER:" "$IMAP_ROOT" 2>/dev/null || true
	dovecot -c "$DOVECOT_DIR/dovecot.conf" || {
		diag "dovecot did not start:"; diag "$(cat "$DOVECOT_DIR/log" 2>/dev/null)"
		return 1
	}
	wait_port "$IMAP_PORT" && wait_port "$IMAPS_PORT" &&
	    { [ -z "${DOVECOT_POP3:-}" ] || { wait_port "$POP3_PORT" && wait_port "$POP3S_PORT"; }; } || {
		diag "dovecot is not listening:"; diag "$(tail -20 "$DOVECOT_DIR/log")"
		return 1
	}
	# Stopped before lib.sh's exit trap removes $T (registered once).
	if [ -z "${_dovecot_atexit:-}" ]; then
		_dovecot_atexit=1
		at_exit dovecot_stop
	fi
}

dovecot_stop() {
	[ -f "$DOVECOT_DIR/dovecot.conf" ] || return 0
	doveadm -c "$DOVECOT_DIR/dovecot.conf" stop >/dev/null 2>&1 || true
	_i=0
	while [ -f "$DOVECOT_DIR/run/master.pid" ] && [ $_i -lt 100 ]; do
		sleep 0.05; _i=$((_i+1))
	done
}

imaptool() {
	python3 "$TOP/tests/imaptool.py" --port "$IMAPS_PORT" \
	    --ca "$CA_DIR/ca.crt" "$@"
}

fetchconf() {
	_conf=$1 _drop=$2; shift 2
	printf '%s\n' "${IMAP_PASSWORD:-pw1}" > "$T/alice.pass"
	chmod 600 "$T/alice.pass"
	{
		printf '[alice]\nmaildrop = %s\nimap-host = 127.0.0.1\n' "$_drop"
		printf 'imap-port = %s\nimap-ca-file = %s\n' "$IMAPS_PORT" "$CA_DIR/ca.crt"
		printf 'imap-user = %s\nimap-password-file = %s\n' \
		    "${IMAP_LOGIN:-alice}" "$T/alice.pass"
		for _l in "$@"; do printf '%s\n' "$_l"; done
	} > "$_conf"
	chown "$TUSER:" "$_conf" "$T/alice.pass" 2>/dev/null || true
}

fetch() {
	as_user "$IMAPFETCH" "$@" 2>"$T/err"
	rc=$?
}

# fetch_bg ARGS...: imapfetch in the background, its own pid in $BGPID
# (as_user is a function: "as_user ... &" would give a subshell's pid).
fetch_bg() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups -- \
		    "$IMAPFETCH" "$@" 2>>"$T/bg-err" &
	else
		"$IMAPFETCH" "$@" 2>>"$T/bg-err" &
	fi
	BGPID=$!
}

state_file() {
	echo "$1/.imapfetch/127.0.0.1+$IMAPS_PORT+${2:-alice}+${3:-INBOX}.state"
}

corpus_hashes() {
	for _f in "$1"/*; do sha256sum < "$_f"; done | awk '{print $1}' | sort
}

drop_hashes() {
	for _f in "$1"/new/* "$1"/cur/*; do
		[ -f "$_f" ] && sha256sum < "$_f"
	done | awk '{print $1}' | sort
}

# check_names DIR: every name in new/ carries ,S= and ,W= that match the
# file (W= per wire.h: bare LF counts 2, a missing final LF adds CRLF).
check_names() {
	python3 - "$1" <<'PY'
import os, re, sys
d = sys.argv[1] + "/new"
bad = 0
for f in os.listdir(d):
    b = open(os.path.join(d, f), "rb").read()
    m = re.search(r",S=(\d+),W=(\d+)$", f.split(":")[0])
    bare = b.count(b"\n") - b.count(b"\r\n")
    w = len(b) + bare + (2 if b and not b.endswith(b"\n") else 0)
    if not m or int(m.group(1)) != len(b) or int(m.group(2)) != w:
        print("bad name", f, len(b), w)
        bad += 1
sys.exit(1 if bad else 0)
PY
}

# lines_missing A B: the lines of file A that are not in file B.
lines_missing() { sort "$1" > "$1.s"; sort "$2" > "$2.s"; comm -23 "$1.s" "$2.s"; }

# check_invariants NAME DROP: what must hold after any imapfetch run,
# faulty or not: nothing flagged on the server that is not in the
# maildrop, nothing lost, nothing partial, foreign or twice in it.  Reads
# the sha256 lists $T/corpus.h (every message put on the server),
# $T/NAME.seen (flagged \Seen there), $T/NAME.unseen (there and neither
# \Seen nor gone) and, when the caller made it, $T/NAME.deleted (flagged
# \Deleted or expunged); writes the maildrop's as $T/NAME.drop.
check_invariants() {
	drop_hashes "$2" > "$T/$1.drop"
	is "$1: flagged \\Seen on the server => in the maildrop" \
	    "$(lines_missing "$T/$1.seen" "$T/$1.drop")" ""
	if [ -f "$T/$1.deleted" ]; then
		is "$1: deleted on the server => in the maildrop" \
		    "$(lines_missing "$T/$1.deleted" "$T/$1.drop")" ""
	fi
	cat "$T/$1.drop" "$T/$1.unseen" > "$T/$1.kept"
	is "$1: nothing lost (in the maildrop or unseen on the server)" \
	    "$(lines_missing "$T/corpus.h" "$T/$1.kept")" ""
	is "$1: no partial or foreign file in the maildrop" \
	    "$(lines_missing "$T/$1.drop" "$T/corpus.h")" ""
	is "$1: nothing twice in the maildrop" "$(uniq -d "$T/$1.drop")" ""
	# A run cut before its first delivery may leave no Maildir at all.
	if [ -d "$2/new" ]; then
		check "$1: names in new/ match the files" check_names "$2"
	fi
}
