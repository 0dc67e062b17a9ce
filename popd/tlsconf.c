/*
 * tlsconf.c: the libtls server context.  Each popd connection that
 * starts TLS reads the key and certificate anew, so a renewed certificate
 * is served at once, with no reload.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "params.h"
#include "tlsconf.h"
#include "tlsload.h"

/*
 * Reads path into *buf (malloc'd, at most POPD_PEM_MAX bytes); 0, or -1
 * with a message.  One more byte than the cap is asked for, so that a
 * file that grows while it is read is refused, not cut.
 */
static int
load(const char *path, uint8_t **buf, size_t *len, char *err,
    size_t errlen)
{
	uint8_t	*b;
	size_t	 n = 0;
	ssize_t	 r;
	int	 fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((b = malloc(POPD_PEM_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (n < POPD_PEM_MAX + 1 &&
	    (r = read(fd, b + n, POPD_PEM_MAX + 1 - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		n += (size_t)r;
	}
	if (n == 0 || n > POPD_PEM_MAX) {
		snprintf(err, errlen, n == 0 ? "%s: empty" :
		    "%s: larger than %d bytes", path, POPD_PEM_MAX);
		goto fail;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
fail:
	explicit_bzero(b, n);
	free(b);
	close(fd);
	return -1;
}

/* Wipes (a key may be among them) and frees. */
static void
unload(uint8_t **buf, size_t *len)
{
	if (*buf != NULL) {
		explicit_bzero(*buf, *len);
		free(*buf);
	}
	*buf = NULL;
	*len = 0;
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
	unload(&p->cert, &p->certlen);
	unload(&p->key, &p->keylen);
	unload(&p->staple, &p->staplelen);
}

struct tls *
tlsconf_server_mem(const struct tlsfn *fn, const struct tls_pem *p, char *err,
    size_t errlen)
{
	struct tls_config	*cfg;
	struct tls		*ctx = NULL;
	uint32_t		 protos;

	if ((cfg = fn->config_new()) == NULL) {
		snprintf(err, errlen, "tls_config_new failed");
		return NULL;
	}
	if (fn->config_parse_protocols(&protos, "tlsv1.2,tlsv1.3") == -1 ||
	    fn->config_set_protocols(cfg, protos) == -1 ||
	    fn->config_set_ciphers(cfg, TLS_CIPHERS) == -1 ||
	    fn->config_set_dheparams(cfg, "none") == -1 ||
	    fn->config_set_keypair_mem(cfg, p->cert, p->certlen, p->key,
	    p->keylen) == -1 ||
	    (p->staplelen > 0 && fn->config_set_ocsp_staple_mem(cfg,
	    p->staple, p->staplelen) == -1)) {
		snprintf(err, errlen, "%s", fn->config_error(cfg));
		goto done;
	}
	/* Session resumption off: each process is new, tickets buy nothing. */
	fn->config_set_session_lifetime(cfg, 0);
	fn->config_prefer_ciphers_server(cfg);
	if ((ctx = fn->server()) == NULL) {
		snprintf(err, errlen, "tls_server failed");
		goto done;
	}
	if (fn->configure(ctx, cfg) == -1) {
		snprintf(err, errlen, "%s", fn->error(ctx));
		fn->free(ctx);
		ctx = NULL;
	}
done:
	fn->config_free(cfg);	/* wipes its copy of the key */
	return ctx;
}

struct tls *
tlsconf_server(const struct tlsfn *fn, const struct conf *c, char *err,
    size_t errlen)
{
	struct tls_pem	 p;
	struct tls	*ctx;

	if (tlsconf_read(c, &p, err, errlen) == -1)
		return NULL;
	ctx = tlsconf_server_mem(fn, &p, err, errlen);
	tlsconf_pem_free(&p);
	return ctx;
}
