/*
 * msgkey.h: an identity for a message that survives a UIDVALIDITY change:
 * "m:<Message-ID>" when the header has one, else "d:<SHA-256 of the bytes>".
 * Used only to avoid delivering again what the maildrop already holds after
 * the server renumbered a mailbox.
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
};

void	msgkey_init(struct msgkey *);
void	msgkey_update(struct msgkey *, const void *, size_t);
/* Writes the key into out (MSGKEY_MAX + 3 bytes). */
void	msgkey_final(struct msgkey *, char *out, size_t len);

/* The keys of every message in new/ and cur/ of a Maildir, sorted. */
struct msgindex {
	char	**keys;
	size_t	  n;
};

/* Builds the index of the Maildir at dirfd.  0 or -1 with errno. */
int	msgindex_build(int dirfd, struct msgindex *);
int	msgindex_has(const struct msgindex *, const char *key);
void	msgindex_free(struct msgindex *);

#endif
