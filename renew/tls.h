/* tls.h: https CA URLs (internal to renew/). */
#ifndef CARDRENEW_RENEW_TLS_H
#define CARDRENEW_RENEW_TLS_H

#include <openssl/bio.h>
#include "renew/cmp.h"

/* What the TLS connection to the CA needs: the trust (ca->tls_trust, a PEM
 * file, or the system's store), the URL's host for the name check and SNI,
 * and whether an https_proxy's CONNECT tunnel comes first. */
struct renew_tls;
struct renew_tls *renew_tls_new(const struct renew_cmp_url *u, const struct renew_ca *ca,
                                int timeout, struct renew_err *e);
void renew_tls_free(struct renew_tls *t);
/* OSSL_HTTP's connection callback (OSSL_CMP_CTX_set_http_cb), arg the
 * struct renew_tls: on connect it tunnels through the proxy if any and
 * pushes an SSL BIO; on disconnect it pops it. */
BIO *renew_tls_cb(BIO *bio, void *arg, int connect, int detail);
/* The TLS handshake over conn (connected to the first hop), the CA's
 * certificate verified: before anything touches the card. RENEW_E_CA with
 * the reason otherwise. conn is freed. */
int renew_tls_check(struct renew_tls *t, BIO *conn, const char *url, struct renew_err *e);

#endif
