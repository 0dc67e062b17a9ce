/*
 * params.h: every tunable of popd and imapfetch, in one place (as
 * popa3d's params.h).  Change a number here, nowhere else.  Each says why
 * it has its value.
 */
#ifndef POPD_PARAMS_H
#define POPD_PARAMS_H

#define POPD_VERSION		"0.1"

/* The user the units run popd and imapfetch as; popd -t checks as it. */
#define POPD_SERVICE_USER	"popd"

/*
 * RFC 2449 section 4: "the maximum length of a command line ... is 255
 * octets, including the terminating CRLF".  We allow 255 octets before the
 * terminator; anything longer is consumed to its LF and answered once.
 */
#define POP3_LINE_MAX		255

/* Longest configuration line; a longer one is an error, not truncated. */
#define CONF_LINE_MAX		4096

/* Largest configuration file read: a real one is a few kilobytes; the
 * bound stops a wrong -c (a mailbox, a log) from being read whole. */
#define CONF_FILE_MAX		(1024 * 1024)

/* A section NAME (POP3 user): 1..64 of [A-Za-z0-9._@+-], not starting '.'. */
#define CONF_NAME_MAX		64

/* Default configuration file; SYSCONFDIR comes from the Makefile. */
#ifndef SYSCONFDIR
#define SYSCONFDIR		"/etc"
#endif
#define CONF_DEFAULT_PATH	SYSCONFDIR "/popd.conf"

/* popd: seconds without a command before the session is closed; a command
 * line must come whole within it (a byte now and then does not renew it).
 * RFC 1939 section 3: the autologout timer "MUST be of at least 10 minutes". */
#define POPD_IDLE_TIMEOUT	600

/* popd: seconds to wait after a failed authentication (slows guessing). */
#define POPD_AUTH_DELAY		2

/* popd: failed authentications before the session is closed. */
#define POPD_AUTH_TRIES		3

/* popd: unknown or malformed commands before the session is closed. */
#define POPD_BAD_COMMANDS	20

/*
 * popd: before login a session may last POPD_PREAUTH_TIMEOUT seconds (or
 * idle-timeout, when that is shorter) and send POPD_PREAUTH_COMMANDS
 * commands, valid or not: a client that never logs in, looping on CAPA or
 * USER or sending a byte now and then, cannot hold a process for ever.  A
 * real client needs about six (CAPA, STLS, CAPA, USER, PASS, and a retry).
 */
#define POPD_PREAUTH_TIMEOUT	60
#define POPD_PREAUTH_COMMANDS	20

/* RFC 1939 section 7: a UIDL is 1..70 octets in 0x21..0x7E. */
#define POP3_UIDL_MAX		70

/* popd: I/O buffer sizes.  RETR streams a message in blocks of
 * POPD_BLOCK bytes; memory stays flat whatever the message size. */
#define IO_RBUF_SIZE		4096
#define IO_WBUF_SIZE		16384
#define POPD_BLOCK		65536

/* popd: messages served in one session; 0 means POPD_MESSAGES_CAP.
 * Importers choke on very large drops, so an admin may cap what one
 * session lists. */
#define POPD_MAX_MESSAGES	0

/*
 * popd: messages listed in a session when max-messages is 0: the oldest
 * this many.  A larger maildrop is served in turns (delete the oldest,
 * the next session lists the next ones), never refused: the scan keeps
 * only the oldest N while it reads the directories, so a session's memory
 * grows with N (48 bytes and the name a message: about 120 bytes with
 * the usual names, 12 MB here; 320 with names of 255), not with the
 * maildrop.
 */
#define POPD_MESSAGES_CAP	100000

/*
 * popd: a listing kept between logins (common/mdcache.h) is used only when
 * new/ and cur/ had not changed for this many seconds when it was made:
 * longer than any file system's timestamp granularity, so that a change
 * made while the scan read them cannot carry the same time.
 */
#define POPD_LISTING_SETTLE	1

/*
 * PROXY protocol (HAProxy's proxy-protocol.txt), from a trusted balancer.
 * Section 2.1: a v1 header is one line "of at most 107 characters"
 * including the CRLF.  Section 2.2: a v2 header is 16 octets and a length
 * of at most 65535 more (addresses and TLVs); balancers add a few hundred
 * octets of TLVs at most (TLS details, an SNI, a unique ID of 128, a cloud
 * endpoint ID), so a longer declared length is refused, never read.
 * The header is sent at once on connect: it must come whole within
 * PROXY_TIMEOUT seconds.  proxy-trusted names at most PROXY_TRUSTED_MAX
 * networks.
 */
#define PROXY_V1_MAX		107
#define PROXY_V2_LEN_MAX	2048
#define PROXY_HDR_MAX		(16 + PROXY_V2_LEN_MAX)
#define PROXY_TIMEOUT		5
#define PROXY_TRUSTED_MAX	64

/*
 * popd: largest TLS certificate chain, key or OCSP staple the privileged
 * process reads and hands to the pre-authentication one (popd/chan.h).  A
 * chain of four RSA-4096 certificates is about 8 KB.
 */
#define POPD_PEM_MAX		(64 * 1024)

/*
 * popd: the privileged process waits for the pre-authentication one at
 * most the pre-authentication time, a TLS handshake, the failure delays
 * and this many seconds more; past that it ends the connection.
 */
#define POPD_PREAUTH_SLACK	10

/*
 * popd: lines the privileged process logs for the pre-authentication one
 * per connection (chan.h CHAN_LOG).  With -v that is a line per command
 * (POPD_PREAUTH_COMMANDS of them) and a few more; past the cap a process
 * a client took over floods nothing: the rest are counted in one line.
 */
#define POPD_PREAUTH_LOG_LINES	64

/* TLS: seconds allowed for a handshake. */
#define TLS_HANDSHAKE_TIMEOUT	30

/* TLS 1.2 ciphers: forward secrecy and AEAD only (TLS 1.3 suites are fixed). */
#define TLS_CIPHERS		"ECDHE+AESGCM:ECDHE+CHACHA20"

/* imapfetch: seconds for connect and for each network read or write. */
#define IMAP_TIMEOUT		60

/*
 * imapfetch: every command must be answered within IMAP_DEADLINE_FACTOR x
 * imap-timeout seconds, plus one second per IMAP_MIN_RATE bytes received:
 * a server that sends a byte now and then, each within imap-timeout,
 * still cannot hold a run (and the maildrop's lock) for ever, while a
 * slow link that moves a large batch steadily is never cut.
 */
#define IMAP_DEADLINE_FACTOR	5
#define IMAP_MIN_RATE		8192

/*
 * imapfetch: libetpan keeps a response in memory, but for the message
 * bodies it streams to disk.  A response line, or the rest of a response
 * outside BODY[] literals, longer than this is a protocol error (a UID
 * SEARCH answer of about a million UIDs still fits).
 */
#define IMAP_RESPONSE_MAX	(8UL * 1024 * 1024)

/*
 * imapfetch: over TLS, the socket is read into a buffer of this size, in
 * one read(2) of whatever has come, and libtls is served from it.  Read
 * straight from the socket, OpenSSL asks for each record's 5-byte header
 * and then its body, two read(2)s per record, and Dovecot sends records
 * of about 4 KB: ten times the calls of plain IMAP.  64 KB holds sixteen
 * such records and is what a loopback or LAN socket has ready at once.
 */
#define IMAP_TLS_READ_BUF	(64 * 1024)

/*
 * imapfetch --watch: every watch-interval seconds (default) it looks at the
 * mailboxes it does not IDLE on, or at all of them when the server has no
 * IDLE.  An IDLE is renewed before 29 minutes: RFC 2177 lets a server drop
 * a client idle for 30.  After a failure it reconnects after 1, 2, 4, ...
 * seconds, at most IMAP_WATCH_BACKOFF_MAX, each with random jitter.
 */
#define IMAP_WATCH_INTERVAL	300
#define IMAP_IDLE_MAX		(29 * 60)
#define IMAP_WATCH_BACKOFF_MAX	300

/* imapfetch -j: accounts fetched at once, at most (one process each). */
#define IMAP_JOBS_MAX		64

/*
 * imapfetch: batches handed to the durability worker and not yet durable
 * (commit.h), at most.  The network runs ahead of the disk by this much:
 * it bounds the dirty data and the tmp files in flight.
 */
#define IMAP_COMMIT_DEPTH	2

/*
 * Delivery gathers a message's bytes into writes of this size: a body comes
 * from the network in pieces of a TLS record (4 KB from Dovecot), and one
 * write(2) per piece cost more system time than the disk sync.  Most mail
 * fits in one.
 */
#define DELIVER_WRITE_BUF	(64 * 1024)

/*
 * imapfetch: a FETCH batch holds at most IMAP_BATCH_COUNT messages or
 * IMAP_BATCH_BYTES.  The first holds IMAP_BATCH_FIRST and each next one
 * twice the last: a small mailbox is flagged soon, a large one pays a
 * FETCH and a STORE round trip (a few ms each on Dovecot) per 400
 * messages, not per 100.
 */
#define IMAP_BATCH_FIRST	100
#define IMAP_BATCH_COUNT	400
#define IMAP_BATCH_BYTES	(32UL * 1024 * 1024)

/*
 * imapfetch: longest password or token line read from a file or command.
 * OAuth2 access tokens are long: Microsoft 365's are JWTs often over 2 KB,
 * longer with many group claims.  64 KB, a Linux pipe's default capacity,
 * leaves room for any token seen, and still bounds a command that prints
 * garbage.  A server may take less (Dovecot: a SASL response of 8 KB of
 * base64, so a token of about 6 KB).
 */
#define SECRET_MAX		65536

/*
 * popd --hash-password: the longest password a client can send.  "PASS "
 * and the password fill one command line; a hash of a longer one would
 * never match, so it is refused when made, not at the first login.
 */
#define POPD_PASSWORD_MAX	(POP3_LINE_MAX - 5)

#endif
