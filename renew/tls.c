/* tls.c: https CA URLs. OSSL_CMP's HTTP transfer does TLS through its
 * connection callback, as OpenSSL's own `openssl cmp -tls_used` does: an
 * SSL BIO pushed on the connection, after an https_proxy's CONNECT tunnel
 * where one applies. The CA's TLS certificate is verified against
 * ca_tls_trust (PEM) or the system's trust store, and its name against the
 * URL's host. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "renew/plat.h"
#include "renew/tls.h"

struct renew_tls {
    SSL_CTX *ssl;
    char host[256], port[16];
    bool ip, proxy;
    int timeout;
};

struct renew_tls *renew_tls_new(const struct renew_cmp_url *u, const struct renew_ca *ca,
                                int timeout, struct renew_err *e)
{
    struct renew_tls *t = calloc(1, sizeof *t);
    if (!t || strlen(u->host) >= sizeof t->host || strlen(u->port) >= sizeof t->port) {
        free(t);
        renew_fail(e, RENEW_E_USAGE, "the CA URL %s is too long: check --ca or ca_url", ca->url);
        return NULL;
    }
    strcpy(t->host, u->host);
    strcpy(t->port, u->port);
    t->timeout = timeout;
    t->proxy = OSSL_HTTP_adapt_proxy(NULL, NULL, u->host, 1) != NULL;
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(u->host);
    t->ip = ip != NULL;
    ASN1_OCTET_STRING_free(ip);
    t->ssl = SSL_CTX_new(TLS_client_method());
    X509_VERIFY_PARAM *vpm = t->ssl ? SSL_CTX_get0_param(t->ssl) : NULL;
    if (!vpm || !(t->ip ? X509_VERIFY_PARAM_set1_ip_asc(vpm, u->host)
                        : X509_VERIFY_PARAM_set1_host(vpm, u->host, 0))) {
        renew_tls_free(t);
        renew_fail(e, RENEW_E_TOKEN, "cannot set up TLS (out of memory?): close other programs and retry");
        return NULL;
    }
    SSL_CTX_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
    int ok = ca->tls_trust && *ca->tls_trust
                 ? SSL_CTX_load_verify_locations(t->ssl, ca->tls_trust, NULL)
                 : renew_plat_default_trust(SSL_CTX_get_cert_store(t->ssl));
    if (!ok) {
        ERR_clear_error();
        renew_tls_free(t);
        renew_fail(e, RENEW_E_USAGE, "cannot read the CA's TLS trust %s (PEM certificates): "
                   "check ca_tls_trust", ca->tls_trust ? ca->tls_trust : "(the system's)");
        return NULL;
    }
    return t;
}

void renew_tls_free(struct renew_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ssl);
    free(t);
}

BIO *renew_tls_cb(BIO *bio, void *arg, int connect, int detail)
{
    struct renew_tls *t = arg;
    if (connect && detail) {
        if (t->proxy && !OSSL_HTTP_proxy_connect(bio, t->host, t->port, NULL, NULL, t->timeout,
                                                 NULL, NULL))
            return NULL;
        BIO *sbio = BIO_new(BIO_f_ssl());
        SSL *ssl = sbio ? SSL_new(t->ssl) : NULL;
        if (!ssl || (!t->ip && !SSL_set_tlsext_host_name(ssl, t->host))) {
            SSL_free(ssl);
            BIO_free(sbio);
            return NULL;
        }
        SSL_set_connect_state(ssl);
        BIO_set_ssl(sbio, ssl, BIO_CLOSE);
        return BIO_push(sbio, bio);
    }
    if (!connect && BIO_method_type(bio) == BIO_TYPE_SSL) {
        (void)ERR_set_mark();
        BIO_ssl_shutdown(bio);
        BIO *next = BIO_pop(bio);
        BIO_free(bio);
        (void)ERR_pop_to_mark();
        return next;
    }
    return bio;
}

int renew_tls_check(struct renew_tls *t, BIO *conn, const char *url, struct renew_err *e)
{
    time_t deadline = time(NULL) + t->timeout;
    BIO *b = renew_tls_cb(conn, t, 1, 1);
    SSL *ssl = NULL;
    int ok = 0;
    if (!b) {
        BIO_free_all(conn);
        ERR_clear_error();
        return renew_fail(e, RENEW_E_CA, "the certificate authority at %s cannot be reached%s: "
                          "check the network connection and retry later", url,
                          t->proxy ? " through the proxy (https_proxy)" : "");
    }
    BIO_get_ssl(b, &ssl);
    for (;;) {
        if (BIO_do_handshake(b) > 0) {
            ok = 1;
            break;
        }
        if (!BIO_should_retry(b) || BIO_wait(b, deadline, 100) <= 0)
            break;
    }
    long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    BIO_free_all(b);
    ERR_clear_error();
    if (ok)
        return 0;
    if (verify != X509_V_OK)
        return renew_fail(e, RENEW_E_CA, "the certificate authority at %s is not the one trusted "
                          "for TLS (%s): check ca_tls_trust, or contact your local IT support "
                          "team", url, X509_verify_cert_error_string(verify));
    return renew_fail(e, RENEW_E_CA, "the certificate authority at %s did not complete a TLS "
                      "connection: check that the URL is its https CMP URL, and retry later", url);
}
