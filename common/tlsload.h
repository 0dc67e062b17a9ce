/*
 * tlsload.h: libtls, loaded when a process first needs it, not at exec.
 *
 * libtls pulls in libssl and libcrypto: a few megabytes of mappings and
 * about a millisecond of relocation in every process that links them.
 * popd's plain sessions never use TLS, so popd is not linked with libtls:
 * the one process that speaks TLS (the pre-authentication one under --tls
 * or after STLS, and popd -t) calls tlsload() after its fork and before
 * its sandbox, which forbids the open(2) that dlopen needs.  The parent
 * never calls it.
 *
 * The library is found by its SONAME (LIBTLS_SONAME, from the Makefile),
 * loaded RTLD_NOW | RTLD_LOCAL: every function below is resolved at once,
 * or none is used.  <tls.h> still gives the types, so a function whose
 * prototype changes is a compile error here, not a crash.
 */
#ifndef POPD_TLSLOAD_H
#define POPD_TLSLOAD_H

#include <stddef.h>

#include <tls.h>

#ifndef LIBTLS_SONAME
#define LIBTLS_SONAME	"libtls.so.26"
#endif

/* Every libtls function popd calls, without its "tls_" prefix. */
#define TLSFN_LIST(X) \
	X(accept_fds) X(close) X(config_error) X(config_free) \
	X(config_new) X(config_parse_protocols) \
	X(config_prefer_ciphers_server) X(config_set_ciphers) \
	X(config_set_dheparams) X(config_set_keypair_mem) \
	X(config_set_ocsp_staple_mem) X(config_set_protocols) \
	X(config_set_session_lifetime) X(configure) X(error) X(free) \
	X(handshake) X(read) X(server) X(write)

/* fn->read is tls_read, and so on, each with <tls.h>'s type. */
struct tlsfn {
#define TLSFN_MEMBER(name)	__typeof__(tls_##name) *name;
	TLSFN_LIST(TLSFN_MEMBER)
#undef TLSFN_MEMBER
};

/*
 * Loads libtls once per process: its functions, or NULL with a message
 * naming the library and dlerror()'s reason in err.  Later calls return
 * the same table (or fail the same way).
 */
const struct tlsfn *tlsload(char *err, size_t errlen);

#endif
