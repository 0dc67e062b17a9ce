/*
 * mdcache.h: the listing of a Maildir kept between logins.
 *
 * A login that finds new/ and cur/ as the last scan left them uses that
 * scan's listing from <maildrop>/.popd-listing instead of reading both
 * directories again: no readdir, no name parsed, no sort.  Any change of
 * their entries (a delivery, a rename by another program, popd's own
 * QUIT) changes a directory's mtime and ctime, and so the next login
 * scans again and writes a new listing.
 *
 * What makes a kept listing the one a scan would give now:
 *  - The directories are those it was made from: same device, inode,
 *    mtime, ctime and size for new/ and cur/ (mdstamp), all taken before
 *    the scan read them.
 *  - The stamp was taken POPD_LISTING_SETTLE seconds or more after the
 *    last change of either directory.  A change made while the scan read
 *    them then gets a later time than the stamp, even on a file system
 *    whose timestamps are coarse (a few ms here); without that margin a
 *    change within the same tick as the stamp could go unseen.
 *  - Every message's sizes and time came from its name (sized, and no
 *    mtime): a file's own mtime or contents change without its directory.
 *  - new/ and cur/ (symbolic links followed, as the scan follows them)
 *    are each on a file system that keeps directory times locally:
 *    ext2/3/4, XFS, Btrfs and tmpfs.  Elsewhere (NFS, overlayfs, FUSE)
 *    every login scans.
 *  - The file is whole: its length adds up and its two checksums match
 *    (it is written without fsync: a crash may leave a torn file, which
 *    is then ignored).  Each path is "new/NAME" or "cur/NAME", NAME a
 *    file name that is not a dot file, as the scan would list, and each
 *    UIDL that is not a digest is one (1..70 octets, 0x21..0x7E).
 * Any failure to read or write it costs only a scan.  The caller holds the
 * maildrop's lock for both.
 */
#ifndef POPD_MDCACHE_H
#define POPD_MDCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "maildir.h"

#define MDCACHE_NAME	".popd-listing"

/* new/ ([0]) and cur/ ([1]), and when they were looked at. */
struct mdstamp {
	uint64_t	dev[2], ino[2], size[2];
	int64_t		mtime[2], mtime_ns[2], ctime[2], ctime_ns[2];
	int64_t		at, at_ns;
};

/*
 * The stamp of the Maildir at dirfd, now: 0, or -1 when new/ or cur/ is
 * on a file system not listed above or cannot be looked at (then no
 * listing is kept).
 */
int	mdcache_stamp(int dirfd, struct mdstamp *st);

/*
 * The listing kept for stamp st and max: 0 with *out, *n and *total as
 * maildir_scan gives them (the caller frees with maildir_free), or -1:
 * none, stale, or not whole.
 */
int	mdcache_load(int dirfd, const struct mdstamp *st, size_t max,
	    struct mdmsg **out, size_t *n, size_t *total);

/*
 * Keeps the listing v[0..n) of total that a scan with max made after the
 * stamp st was taken, when the rules above allow it.  0, or -1 (not kept:
 * a rule, or errno from writing).
 */
int	mdcache_save(int dirfd, const struct mdstamp *st, size_t max,
	    const struct mdmsg *v, size_t n, size_t total);

/*
 * The pure part of mdcache_load, for the tests and the fuzzer: buf[0..len)
 * is the file's content.
 */
int	mdcache_parse(const void *buf, size_t len, const struct mdstamp *st,
	    size_t max, struct mdmsg **out, size_t *n, size_t *total);

/* The checksum that ends the file, over the len bytes before it. */
uint64_t mdcache_sum(const void *buf, size_t len);

#endif
