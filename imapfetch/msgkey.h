/*
 * msgkey.h: identities for a message that survive a UIDVALIDITY change:
 * "d:<SHA-256 of the bytes>", and "m:<size>:<Message-ID>" when the header
 * has one.  Used only to avoid delivering again what the maildrop already
 * holds after the server renumbered a mailbox.  A Message-ID alone is not
 * enough: devices, bulk senders and resends reuse them for new messages,
 * and dropping one of those would lose it.  So a message is known only by
 * its bytes, or by its Message-ID and its size together; in doubt it is
 * delivered (a duplicate is better than a loss).
 */
#ifndef IMAPFETCH_MSGKEY_H
#define IMAPFETCH_MSGKEY_H

#include <stddef.h>

#include "sha256.h"

#define MSGKEY_MAX	1000	/* RFC 5322 line limit bounds a Message-ID */

struct msgkey {
	struct sha256	 sha;
	int		 in_header;	/* still before the blank line */
	int		 bol;		/* at the start of a line */
	int		 state;		/* in the Message-ID field, or not */
	size_t		 fieldlen;	/* bytes of the field name so far */
	char		 field[16];
	char		 id[MSGKEY_MAX];
	size_t		 idlen;
	int		 found;
	unsigned long long size;	/* bytes seen */
};

/* The two keys of one message; id is "" without a Message-ID. */
struct msgkeys {
	char	 digest[2 + 64 + 1];
	char	 id[2 + 20 + 1 + MSGKEY_MAX + 1];
};

void	msgkey_init(struct msgkey *);
void	msgkey_update(struct msgkey *, const void *, size_t);
/* Ends the message: its keys into *out.  k is spent. */
void	msgkey_final(struct msgkey *, struct msgkeys *out);

/* Both keys of every message in new/ and cur/ of a Maildir, sorted. */
struct msgindex {
	char	**keys;
	size_t	  n;
};

/*
 * Builds the index of the Maildir at dirfd.  Only regular files count:
 * a FIFO, device or symbolic link there is passed over, never opened in
 * a way that could block.  0 or -1 with errno.
 */
int	msgindex_build(int dirfd, struct msgindex *);
/* 1 when the index holds this one key. */
int	msgindex_has(const struct msgindex *, const char *key);
/* 1 when the maildrop holds the message: same digest, or same id key. */
int	msgindex_known(const struct msgindex *, const struct msgkeys *);
void	msgindex_free(struct msgindex *);

#endif
