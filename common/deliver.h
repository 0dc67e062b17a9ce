/*
 * deliver.h: durable delivery into a Maildir (STYLE habit 6).
 *
 * A message is written to tmp/UNIQUE (O_EXCL) and closed with the close
 * checked (deliver_finish); its data is not durable yet.  A batch of such
 * messages is made durable at once (deliver_sync_tmp, deliver_sync_batch:
 * their data and their tmp/ entries), and only then renamed to
 * new/UNIQUE,S=<bytes>,W=<wire> and new/ fsync'd (deliver_commit,
 * deliver_commit_batch).  UNIQUE never changes once chosen: with the sizes
 * it is the POP3 UIDL.  The tmp registry (struct deliver) knows every file
 * this process is writing; deliver_abort() removes those not yet in new/.
 *
 * One sync call for a whole batch instead of one per message is what makes
 * delivery run at the speed of the disk: syncfs(2) on the Maildir's file
 * system, where the kernel reports through it the write-back errors of
 * every file (Linux 5.8 and later); elsewhere, and from the first error
 * syncfs reports on, an fdatasync per file and an fsync of tmp/.
 *
 * UNIQUE is "<sec>.M<usec>P<pid>Q<seq>_<marker>.<host>": the marker lets a
 * later run recognise the tmp files of an interrupted one (deliver_clean_tmp)
 * without touching files other delivery agents are writing.
 *
 * Functions return 0, or -1 with errno set, unless stated otherwise.
 */
#ifndef POPD_DELIVER_H
#define POPD_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Longest UNIQUE, and UNIQUE plus ",S=<20 digits>,W=<20 digits>". */
#define DELIVER_UNIQUE_MAX	160
#define DELIVER_NAME_MAX	(DELIVER_UNIQUE_MAX + 48)

enum dmsg_state { DM_WRITING, DM_WRITTEN, DM_DELIVERED, DM_DROPPED };

struct dmsg {
	char		 unique[DELIVER_UNIQUE_MAX];	/* tmp/ name */
	char		 name[DELIVER_NAME_MAX];	/* new/ name, once written */
	int		 fd;			/* open while DM_WRITING */
	char		*buf;			/* bytes not yet written */
	size_t		 blen;
	enum dmsg_state	 state;
	uint64_t	 size;			/* bytes written */
	struct wire_count wc;
	void		*udata;			/* the caller's, untouched */
};

struct deliver {
	int		 dirfd, tmpfd, newfd;	/* the Maildir, tmp/, new/ */
	int		 syncfs;		/* syncfs(2) reports errors, and
						 * none yet: touched only by
						 * the syncing thread */
	char		 host[64];		/* sanitised host name */
	char		 marker[16];
	unsigned long	 seq;
	struct dmsg	**msgs;			/* the tmp registry */
	size_t		 nmsgs, cap;
};

/*
 * Opens the Maildir at path, creating it and tmp/ new/ cur/ (0700) when
 * missing, durably (the parent of what was made is fsync'd).  marker:
 * 1-15 of [a-z0-9], tags this program's tmp files.
 */
int	deliver_open(struct deliver *, const char *path, const char *marker);

/* deliver_abort(), then closes the directories.  Safe to call twice. */
void	deliver_close(struct deliver *);

/*
 * Creates a new tmp file and registers it.  *out stays owned by the
 * registry (valid until deliver_reset/abort/close).
 */
int	deliver_begin(struct deliver *, struct dmsg **out);

/* Appends len bytes; counts the wire size.  The bytes may be held in
 * memory until a later call or deliver_finish, which may then report a
 * failed write.  On error the message is unusable: drop it or abort. */
int	deliver_write(struct dmsg *, const void *, size_t);

/*
 * Writes what is held, checked close; fills name.  The data is not durable
 * yet (deliver_sync_tmp, deliver_sync_batch).  State becomes DM_WRITTEN.
 */
int	deliver_finish(struct dmsg *);

/* Removes one message's tmp file (a duplicate, a failed fetch). */
int	deliver_drop(struct deliver *, struct dmsg *);

/*
 * Makes the data and the tmp/ entries of every DM_WRITTEN message durable,
 * so that a crash after this point finds them there, whole.
 */
int	deliver_sync_tmp(struct deliver *);

/*
 * Renames every DM_WRITTEN message into new/ and fsyncs new/ and tmp/.
 * Stops at the first failure (those already renamed stay DM_DELIVERED).
 */
int	deliver_commit(struct deliver *);

/* Removes every tmp file still registered, then empties the registry. */
void	deliver_abort(struct deliver *);

/*
 * Empties the registry without removing any file: for messages the caller
 * has recorded as pending, which a later run finishes (deliver_recover).
 */
void	deliver_release(struct deliver *);

/* Forgets delivered/dropped entries: the next batch starts empty. */
void	deliver_reset(struct deliver *);

/*
 * Finishes an interrupted delivery: moves tmp/UNIQUE to new/NAME when the
 * tmp file exists (UNIQUE is NAME up to ",S=").  Returns 1 when it did, 0
 * when tmp/UNIQUE is gone (already renamed, or removed), -1 on error.
 */
int	deliver_recover(struct deliver *, const char *name);

/*
 * Removes the tmp files carrying our marker and this host's name, except
 * those for which keep(arg, unique) returns 1 (keep may be NULL).
 * Returns the number removed, or -1.
 */
int	deliver_clean_tmp(struct deliver *,
	    int (*keep)(void *arg, const char *unique), void *arg);

/*
 * A batch: DM_WRITTEN messages taken out of the registry, owned by the
 * batch.  The functions on a batch touch nothing of struct deliver but
 * the directory descriptors and the syncfs flag, so one thread may sync
 * and commit batches while another writes the next one through the
 * registry (and syncs nothing).
 */
struct dbatch {
	struct dmsg	**v;
	size_t		 n;
};

/* Moves every DM_WRITTEN message of the registry into *b (empty before). */
void	deliver_take(struct deliver *, struct dbatch *);

/* deliver_sync_tmp for the messages of b. */
int	deliver_sync_batch(struct deliver *, struct dbatch *);

/* deliver_commit for the messages of b. */
int	deliver_commit_batch(const struct deliver *, struct dbatch *);

/* Removes the tmp files of b's messages not in new/, then frees b. */
void	deliver_drop_batch(const struct deliver *, struct dbatch *);

/* Frees b without removing a file (they are recorded as pending). */
void	deliver_free_batch(struct dbatch *);

/*
 * 1 when new/ or cur/ holds a file whose unique part (up to ':') is
 * name, 0 when not, -1 on error.
 */
int	deliver_exists(struct deliver *, const char *name);

#endif
