/*
 * popfloor: the floor of a POP3 session, for make bench.  Run by a
 * listener once per connection (as popd is), it answers each command line
 * with the next of popd's recorded answers (popload -w), and at PASS does
 * what a login cannot skip: one crypt of the given password against HASH
 * and one readdir of MAILDIR's new/ and cur/.  No parsing, no checks, no
 * privilege separation, no lock: what is left of popd's cost is the fork
 * and exec, the crypt, the readdir and the same bytes.
 *
 *   popfloor RECORD [HASH MAILDIR]
 */
#include <crypt.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAXREC	16

static char	rec[1 << 21];

static void
put(const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0 && (w = write(1, p, n)) > 0) {
		p += w;
		n -= (size_t)w;
	}
}

static long
entries(const char *maildir, const char *sub)
{
	char		 path[4096];
	struct dirent	*de;
	DIR		*d;
	long		 n = 0;

	snprintf(path, sizeof(path), "%s/%s", maildir, sub);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	static const char	 sep[] = "\n--popload-answer--\n";
	struct crypt_data	 cd;
	char			*a[MAXREC], *p, *q, line[512];
	size_t			 n[MAXREC], len = 0;
	ssize_t			 r;
	int			 fd, count = 0, i;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: popfloor record [hash maildir]\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY)) == -1)
		return 1;
	while ((r = read(fd, rec + len, sizeof(rec) - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	rec[len] = '\0';
	for (p = rec; (p = strstr(p, sep)) != NULL && count < MAXREC; p = q) {
		p += sizeof(sep) - 1;
		if ((q = strstr(p, sep)) == NULL)
			q = rec + len;
		a[count] = p;
		n[count++] = (size_t)(q - p);
	}
	if (count == 0)
		return 1;
	put(a[0], n[0]);
	for (i = 1; i < count; i++) {
		/* popload sends a command and waits: one read is one line. */
		if ((r = read(0, line, sizeof(line) - 1)) <= 0)
			return 0;
		line[r] = '\0';
		if (argc == 4 && strncmp(line, "PASS ", 5) == 0) {
			line[strcspn(line, "\r\n")] = '\0';
			memset(&cd, 0, sizeof(cd));
			if (crypt_r(line + 5, argv[2], &cd) == NULL ||
			    strcmp(cd.output, argv[2]) != 0 ||
			    entries(argv[3], "new") + entries(argv[3], "cur") < 4)
				return 1;
		}
		put(a[i], n[i]);
	}
	return 0;
}
