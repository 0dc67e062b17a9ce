/*
 * confload.h: popd.conf as popd loads it, for serving and for -t and -n:
 * the file is trusted only when no one but root and popd's own user can
 * change it (as sshd's StrictModes).  imapfetch has rules of its own.
 */
#ifndef POPD_CONFLOAD_H
#define POPD_CONFLOAD_H

#include <sys/types.h>

#include "conf.h"

/*
 * Loads path into *c with conf_load (the caller frees *c with conf_free,
 * whatever the result) and checks the file: an error ("FILE: ...") when
 * it is writable by group or others, or owned by anyone but root and uid
 * (the user popd runs as); a warning through the same err, which does not
 * count, when others may read it and it holds password hashes.  Returns
 * conf_load's count of errors plus these.
 */
int	confload(struct conf *c, const char *path, uid_t uid, conf_errfn err,
	    void *arg);

#endif
