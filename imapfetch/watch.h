/*
 * watch.h: imapfetch --watch ACCOUNT, push mode.
 *
 * One connection, kept: every mailbox is fetched, then imapfetch IDLEs
 * (RFC 2177) on INBOX (or the first mailbox when INBOX is not fetched)
 * and fetches it again as soon as the server speaks.  With several
 * mailboxes and a server that has NOTIFY (RFC 5465), the server tells of
 * the others during the same IDLE and they are fetched as soon; without
 * NOTIFY they are looked at every watch-interval, and all of them are
 * every watch-interval in any case (what a notification lost between two
 * commands would miss).  The IDLE is renewed before IMAP_IDLE_MAX, with a
 * look at the mailbox; a server without IDLE is polled every
 * watch-interval.  After a failure it
 * reconnects with exponential backoff and jitter.  Every fetch is the
 * ordinary one (sync.h): the exactly-once rules hold unchanged, and
 * SIGTERM or SIGINT end the watch once the batch in flight is delivered.
 * The metrics-file (metrics.h) is replaced after each round, and after a
 * failure of the connection (counted for every mailbox).
 */
#ifndef IMAPFETCH_WATCH_H
#define IMAPFETCH_WATCH_H

#include "imapfetch.h"

/*
 * Watches the account until SIGTERM or SIGINT (then 0), or until a
 * failure that waiting cannot mend: the credentials rejected, the
 * configuration or the maildrop unusable (that exit code).
 */
int	watch_account(const struct run *, const struct account *);

#endif
