/* tlsconf.h: the libtls server context of popd. */
#ifndef POPD_TLSCONF_H
#define POPD_TLSCONF_H

#include <stddef.h>

#include "conf.h"

struct tls;

/*
 * A configured server context from tls-cert, tls-key and tls-ocsp-staple
 * (TLS 1.2+, forward-secret AEAD ciphers, no resumption), or NULL with a
 * message in err.  The caller owns the context (tls_free).
 */
struct tls *tlsconf_server(const struct conf *, char *err, size_t errlen);

#endif
