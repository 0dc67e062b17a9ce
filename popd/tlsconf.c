/*
 * tlsconf.c: the libtls server context.  Each popd connection reads the
 * key and certificate anew, so a renewed certificate is served at once,
 * with no reload.  They are loaded before the first client byte is parsed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tls.h>

#include "params.h"
#include "tlsconf.h"

/* Reads path into *buf; 0, or -1 with a message. */
static int
load(const char *path, uint8_t **buf, size_t *len, char *err,
    size_t errlen)
{
	if ((*buf = tls_load_file(path, len, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (*len > POPD_PEM_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    POPD_PEM_MAX);
		tls_unload_file(*buf, *len);
		*buf = NULL;
		*len = 0;
		return -1;
	}
	return 0;
}

int
tlsconf_read(const struct conf *c, struct tls_pem *p, char *err,
    size_t errlen)
{
	p->cert = p->key = p->staple = NULL;
	p->certlen = p->keylen = p->staplelen = 0;
	if (c->tls_cert == NULL || c->tls_key == NULL) {
		snprintf(err, errlen, "tls-cert and tls-key are not set");
		return -1;
	}
	if (load(c->tls_cert, &p->cert, &p->certlen, err, errlen) == -1 ||
	    load(c->tls_key, &p->key, &p->keylen, err, errlen) == -1 ||
	    (c->tls_ocsp_staple != NULL && load(c->tls_ocsp_staple,
	    &p->staple, &p->staplelen, err, errlen) == -1)) {
		tlsconf_pem_free(p);
		return -1;
	}
	return 0;
}

void
tlsconf_pem_free(struct tls_pem *p)
{
	/* tls_unload_file wipes before it frees. */
	if (p->cert != NULL)
		tls_unload_file(p->cert, p->certlen);
	if (p->key != NULL)
		tls_unload_file(p->key, p->keylen);
	if (p->staple != NULL)
		tls_unload_file(p->staple, p->staplelen);
	p->cert = p->key = p->staple = NULL;
	p->certlen = p->keylen = p->staplelen = 0;
}

struct tls *
tlsconf_server_mem(const struct tls_pem *p, char *err, size_t errlen)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;
	uint32_t		 protos;

	if ((cfg = tls_config_new()) == NULL) {
		snprintf(err, errlen, "tls_config_new failed");
		return NULL;
	}
	if (tls_config_parse_protocols(&protos, "tlsv1.2,tlsv1.3") == -1 ||
	    tls_config_set_protocols(cfg, protos) == -1 ||
	    tls_config_set_ciphers(cfg, TLS_CIPHERS) == -1 ||
	    tls_config_set_dheparams(cfg, "none") == -1 ||
	    tls_config_set_keypair_mem(cfg, p->cert, p->certlen, p->key,
	    p->keylen) == -1 ||
	    (p->staplelen > 0 && tls_config_set_ocsp_staple_mem(cfg,
	    p->staple, p->staplelen) == -1)) {
		snprintf(err, errlen, "%s", tls_config_error(cfg));
		goto done;
	}
	/* Session resumption off: each process is new, tickets buy nothing. */
	tls_config_set_session_lifetime(cfg, 0);
	tls_config_prefer_ciphers_server(cfg);
	if ((ctx = tls_server()) == NULL) {
		snprintf(err, errlen, "tls_server failed");
		goto done;
	}
	if (tls_configure(ctx, cfg) == -1) {
		snprintf(err, errlen, "%s", tls_error(ctx));
		tls_free(ctx);
		ctx = NULL;
	}
done:
	tls_config_free(cfg);	/* wipes its copy of the key */
	return ctx;
}

struct tls *
tlsconf_server(const struct conf *c, char *err, size_t errlen)
{
	struct tls_pem	 p;
	struct tls	*ctx;

	if (tlsconf_read(c, &p, err, errlen) == -1)
		return NULL;
	ctx = tlsconf_server_mem(&p, err, errlen);
	tlsconf_pem_free(&p);
	return ctx;
}
