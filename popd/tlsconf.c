/*
 * tlsconf.c: the libtls server context.  Each popd process reads the key
 * and certificate anew, so a renewed certificate is served at once, with no
 * reload.  They are loaded before the first client byte is parsed.
 */
#include <stdio.h>

#include <tls.h>

#include "limits.h"
#include "tlsconf.h"

struct tls *
tlsconf_server(const struct conf *c, char *err, size_t errlen)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;
	uint32_t		 protos;

	if (c->tls_cert == NULL || c->tls_key == NULL) {
		snprintf(err, errlen, "tls-cert and tls-key are not set");
		return NULL;
	}
	if ((cfg = tls_config_new()) == NULL) {
		snprintf(err, errlen, "tls_config_new failed");
		return NULL;
	}
	if (tls_config_parse_protocols(&protos, "tlsv1.2,tlsv1.3") == -1 ||
	    tls_config_set_protocols(cfg, protos) == -1 ||
	    tls_config_set_ciphers(cfg, TLS_CIPHERS) == -1 ||
	    tls_config_set_dheparams(cfg, "none") == -1 ||
	    tls_config_set_keypair_file(cfg, c->tls_cert, c->tls_key) == -1 ||
	    (c->tls_ocsp_staple != NULL &&
	    tls_config_set_ocsp_staple_file(cfg, c->tls_ocsp_staple) == -1)) {
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
	tls_config_free(cfg);
	return ctx;
}
