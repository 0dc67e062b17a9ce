/*
 * tlsconf.h: the libtls server context of popd.  The privileged process
 * reads the files (tlsconf_read), with no libtls: it never loads it.  The
 * process that speaks TLS, which may open no file once confined, loads
 * libtls (tlsload.h) and builds the context from their bytes
 * (tlsconf_server_mem).
 */
#ifndef POPD_TLSCONF_H
#define POPD_TLSCONF_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct tls;
struct tlsfn;

/* tls-cert, tls-key and tls-ocsp-staple as read; len 0: not set. */
struct tls_pem {
	uint8_t		*cert, *key, *staple;
	size_t		 certlen, keylen, staplelen;
};

/*
 * Reads c's tls-cert, tls-key and tls-ocsp-staple (each at most
 * POPD_PEM_MAX, none empty) into *p.  0, or -1 with a message in err
 * (and *p empty).
 */
int	tlsconf_read(const struct conf *c, struct tls_pem *p, char *err,
	    size_t errlen);

/* Wipes (the key) and frees what tlsconf_read read; *p is empty. */
void	tlsconf_pem_free(struct tls_pem *p);

/*
 * A configured server context (TLS 1.2+, forward-secret AEAD ciphers, no
 * resumption, no tickets) from the bytes in p, through fn, or NULL with a
 * message in err.  The caller owns the context (fn->free).
 */
struct tls *tlsconf_server_mem(const struct tlsfn *fn,
	    const struct tls_pem *p, char *err, size_t errlen);

/* Both: the files of c, then the context (popd -t). */
struct tls *tlsconf_server(const struct tlsfn *fn, const struct conf *c,
	    char *err, size_t errlen);

#endif
