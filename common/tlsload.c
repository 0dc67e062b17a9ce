/*
 * tlsload.c: libtls by dlopen (tlsload.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "tlsload.h"

static const struct {
	const char	*name;
	size_t		 off;
} syms[] = {
#define TLSFN_SYM(name)	{ "tls_" #name, offsetof(struct tlsfn, name) },
	TLSFN_LIST(TLSFN_SYM)
#undef TLSFN_SYM
};

const struct tlsfn *
tlsload(char *err, size_t errlen)
{
	static struct tlsfn	 fn;
	static char		 why[256];
	static int		 done;
	void			*h, *p;
	size_t			 i;

	if (done) {
		snprintf(err, errlen, "%s", why);
		return why[0] == '\0' ? &fn : NULL;
	}
	done = 1;
	/* LOCAL: libssl's names must not bind the program's or another
	 * library's; NOW: a missing symbol shows here, not mid-session. */
	if ((h = dlopen(LIBTLS_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(why, sizeof(why), "cannot load %s: %s",
		    LIBTLS_SONAME, dlerror());
		goto fail;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if ((p = dlsym(h, syms[i].name)) == NULL) {
			snprintf(why, sizeof(why), "%s: no %s: %s",
			    LIBTLS_SONAME, syms[i].name, dlerror());
			dlclose(h);
			memset(&fn, 0, sizeof(fn));
			goto fail;
		}
		/* POSIX: a dlsym result converts to a function pointer. */
		memcpy((char *)&fn + syms[i].off, &p, sizeof(p));
	}
	return &fn;
fail:
	snprintf(err, errlen, "%s", why);
	return NULL;
}
