/*
 * check.h: popd -t and popd -n, the configuration as an admin checks it.
 */
#ifndef POPD_CHECK_H
#define POPD_CHECK_H

/*
 * popd -t: every error of the file on stderr; the TLS files are loaded.
 * Run as root, it also checks, as the service user user (the units'
 * "popd"), that the files and maildrops the service needs are readable
 * (and the maildrops writable), and says what is not.  Returns 0 or
 * EX_CONFIG.
 */
int	check_config(const char *path, const char *user);

/* popd -n: the effective configuration on stdout, secrets masked.
 * Returns 0 or EX_CONFIG. */
int	check_dump(const char *path);

#endif
