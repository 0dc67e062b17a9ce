/*
 * list.h: imapfetch --list: what mailboxes an account has, for the
 * admin writing its "mailboxes =" line.
 *
 * On standard output, a comment line per account, then one line per
 * mailbox, sorted (INBOX first):
 *
 *	<name> TAB <messages and unseen, or "-"> [TAB <attributes>]
 *
 * The name is in UTF-8, as it is written in the configuration (modified
 * UTF-7 decoded, no quotes).  The attributes are the special-use ones
 * (RFC 6154: \All \Archive \Drafts \Flagged \Junk \Sent \Trash),
 * \Noselect, \NonExistent, \Noinferiors and any other the server gives
 * but those about children and new mail; then, in parentheses, why a
 * name cannot be written in "mailboxes =" when it cannot.  Control
 * characters and invalid UTF-8 are escaped (\xHH) as in the logs.
 */
#ifndef IMAPFETCH_LIST_H
#define IMAPFETCH_LIST_H

#include "imapfetch.h"

/*
 * Logs in, lists every mailbox (LIST "" "*", with RETURN (SPECIAL-USE)
 * when the server has SPECIAL-USE and LIST-EXTENDED), asks STATUS
 * (MESSAGES UNSEEN) of each selectable one, prints the lines above and
 * logs out.  Touches no maildrop.  Returns 0 or an exit code (imapfetch.h)
 * after logging why; a STATUS the server refuses is said on its line
 * and counts as EX_UNAVAILABLE, the other mailboxes are still listed.
 */
int	list_account(const struct run *, const struct account *);

#endif
