# fetch.sh: imapfetch, mbsync, fetchmail + procmail and getmail6 fetch the
# whole INBOX of iN from the private Dovecot, over IMAP and IMAPS, each into
# a fresh Maildir under $T (the disk, not tmpfs); beside them imapsink, the
# network-only limit.  Sourced by tests/bench/run.
#
# Before each run the drop is new (the last one is moved aside, written
# back and its page cache given back: tests/bench/mem.py says why), and
# \Seen is taken off every message on the server:
# imapfetch, fetchmail and getmail6 fetch only unseen mail and mark what
# they delivered \Seen; mbsync copies everything and marks nothing (it
# mirrors flags, it does not consume mail).  Each row records what arrived
# and how many messages were \Seen afterwards.

# fetchers TLS N PORT: writes the configurations for one size and link.
fetchers() {
	_tls=$1 _n=$2 _port=$3
	printf 'pw\n' > "$T/ipass"
	chmod 600 "$T/ipass"
	cat > "$T/imapfetch.conf" <<EOF
[bench]
maildrop = $T/drop
imap-host = 127.0.0.1
imap-port = $_port
imap-tls = $([ "$_tls" = tls ] && echo implicit || echo none)
imap-ca-file = $CA_DIR/ca.crt
imap-user = i$_n
imap-password-file = $T/ipass
EOF
	cat > "$T/mbsyncrc" <<EOF
IMAPAccount bench
Host 127.0.0.1
Port $_port
User i$_n
Pass pw
SSLType $([ "$_tls" = tls ] && echo IMAPS || echo None)
CertificateFile $CA_DIR/ca.crt
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path $T/drop/
Inbox $T/drop/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Sync Pull New
Create Near
SyncState *
EOF
	# sslcertck with the test CA; the certificate names 127.0.0.1 only.
	# Over plain IMAP, sslproto '' keeps fetchmail off STARTTLS.
	cat > "$T/fetchmailrc" <<EOF
set no syslog
poll 127.0.0.1 protocol IMAP port $_port user "i$_n" password "pw"
    keep no rewrite
    mda "/usr/bin/procmail -m $T/procmailrc"
$([ "$_tls" = tls ] && echo "    ssl sslcertck sslcertfile $CA_DIR/ca.crt" || echo "    sslproto ''")
EOF
	chmod 600 "$T/fetchmailrc"
	cat > "$T/procmailrc" <<EOF
:0
$T/drop/
EOF
	# RFC822 instead of BODY.PEEK[]: fetching marks the message \Seen;
	# UNSEEN: only mail not read yet, as imapfetch and fetchmail do.
	# getmail EXAMINEs (read-only: no \Seen) unless it may delete; it may
	# delete what is bigger than 1 GB, which is nothing here.
	cat > "$T/getmailrc" <<EOF
[retriever]
type = $([ "$_tls" = tls ] && echo SimpleIMAPSSLRetriever || echo SimpleIMAPRetriever)
server = 127.0.0.1
port = $_port
username = i$_n
password = pw
use_peek = false
imap_search = UNSEEN
$([ "$_tls" = tls ] && printf 'ca_certs = %s\nssl_cert_hostname = 127.0.0.1\n' "$CA_DIR/ca.crt")

[destination]
type = Maildir
path = $T/drop/

[options]
read_all = true
delete = false
delete_bigger_than = 1000000000
verbose = 0
EOF
	mkdir -p "$T/home"
	chown -R "$TUSER:" "$T/imapfetch.conf" "$T/ipass" "$T/mbsyncrc" \
	    "$T/fetchmailrc" "$T/procmailrc" "$T/getmailrc" "$T/home"
}

# fetch_cmd TOOL TLS N PORT: the command line.
fetch_cmd() {
	case $1 in
	imapfetch) echo "$IMAPFETCH -q -c $T/imapfetch.conf" ;;
	mbsync) echo "mbsync -q -c $T/mbsyncrc bench" ;;
	fetchmail) echo "fetchmail -N -s -f $T/fetchmailrc --idfile $T/home/fetchids --pidfile $T/home/fetchmail.pid" ;;
	# On one CPU: getmail6 6.18 installs its SIGCHLD handler after fork,
	# and a delivery child that exits first is lost (getmail waits 60 s,
	# then stops: getmail6/getmail6#52, #226).  Its parent waits for each
	# child anyway, so one CPU costs it nothing but the race.
	getmail6) echo "taskset -c 0 getmail -q --rcfile=$T/getmailrc --getmaildir=$T/home/getmail" ;;
	network-only) echo "$T/bin/imapsink $([ "$2" = tls ] && echo "-T $CA_DIR/ca.crt") 127.0.0.1 $4 i$3 pw" ;;
	esac
}

# count TOOL: messages delivered into $T/drop.
count() {
	case $1 in
	network-only) sed -n 's/^messages=\([0-9]*\).*/\1/p' "$T/cmd.out" ;;
	*) find "$T/drop" -path '*/.imapfetch' -prune -o -type f \
	    \( -path '*/new/*' -o -path '*/cur/*' \) -print | wc -l ;;
	esac
}

FETCH_TOOLS=${BENCH_FETCHERS:-"imapfetch mbsync fetchmail getmail6 network-only"}
# A tool whose run took longer than this many seconds runs once only for
# that size and link (fetchmail and getmail6 at 10000 messages): the table
# says how many runs each figure has.
REPEAT_MAX=${BENCH_REPEAT_MAX:-30}
_k=0
mkdir -p "$T/trash"
for n in $SIZES; do
	# Dovecot reads the new maildir once, outside the timing.
	$DOVEADM mailbox status -u "i$n" messages INBOX >/dev/null
	mb=$(du -sb "$(corpus "$n")" | awk '{ printf "%.0f", $1 / 1e6 }')
	for tls in plain tls; do
		[ "$tls" = tls ] && port=$IMAPS_PORT || port=$IMAP_PORT
		fetchers "$tls" "$n" "$port"
		slow=""
		r=0
		while [ $r -lt "$RUNS" ]; do
			r=$((r + 1))
			for tool in $FETCH_TOOLS; do
				case " $slow " in *" $tool "*) continue ;; esac
				note "fetch $n $tls run $r: $tool"
				if [ -d "$T/drop" ]; then
					_k=$((_k + 1))
					mv "$T/drop" "$T/trash/$_k"
					sync
					python3 "$B/mem.py" evict "$T/trash/$_k"
				fi
				rm -rf "$T/home/getmail" "$T/home/fetchids"
				mkdir -p "$T/drop/tmp" "$T/drop/new" "$T/drop/cur" "$T/home/getmail"
				chown -R "$TUSER:" "$T/drop" "$T/home/getmail"
				$DOVEADM flags remove -u "i$n" '\Seen' mailbox INBOX all
				sync
				# Other programs take warm pages meanwhile: the
				# run's drop gets warm ones, whoever ran before.
				python3 "$B/mem.py" warm $((mb * 2 + 256))
				s=$(date +%s%N)
				# shellcheck disable=SC2046
				as_user env HOME="$T/home" /usr/bin/time -f '%U %S %M' -o "$T/time" \
				    $(fetch_cmd "$tool" "$tls" "$n" "$port") >"$T/cmd.out" 2>"$T/cmd.err"
				rc=$?
				e=$(date +%s%N)
				[ $rc -eq 0 ] || note "$tool exited $rc: $(tail -n 2 "$T/cmd.err")"
				[ "$(( (e - s) / 1000000000 ))" -lt "$REPEAT_MAX" ] || slow="$slow $tool"
				seen=$($DOVEADM search -u "i$n" mailbox INBOX SEEN | wc -l)
				[ "$tool" = network-only ] && seen=-
				tail -n 1 "$T/time" | {
					read -r u sy rss
					rec fetch n=$n mb=$mb tls=$tls tool=$tool wall=$(secs "$s" "$e") \
					    cpu=$(awk -v u="$u" -v s="$sy" 'BEGIN { print u + s }') \
					    rss=$rss delivered=$(count "$tool") seen=$seen rc=$rc
				}
			done
		done
	done
done
rm -rf "$T/drop" "$T/trash"
