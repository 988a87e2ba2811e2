/* cmp.c: one CMP key update transaction (RFC 4210/9483) with OSSL_CMP.
 * The old certificate and card key protect the request; the new card key
 * proves possession. The issued certificate is judged (judge.c) before it
 * is accepted, and the verdict goes back to the CA in certConf, so a CA
 * learns that its certificate was refused (no implicit confirmation). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/cmp.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include "renew/cmp.h"
#include "renew/judge.h"
#include "renew/tls.h"

#define DEFAULT_TIMEOUT 20

void renew_cmp_url_free(struct renew_cmp_url *u)
{
    OPENSSL_free(u->host);
    OPENSSL_free(u->port);
    OPENSSL_free(u->path);
    memset(u, 0, sizeof *u);
}

int renew_cmp_url_parse(const struct renew_ca *ca, struct renew_cmp_url *u, struct renew_err *e)
{
    int portnum;
    memset(u, 0, sizeof *u);
    if (!ca->url || !*ca->url)
        return renew_fail(e, RENEW_E_USAGE,
                          "no CA configured: set ca_url in the configuration or give --ca URL");
    /* OpenSSL takes a bare word for a host name: ask for the scheme. */
    bool schemed = strncmp(ca->url, "http://", 7) == 0 || strncmp(ca->url, "https://", 8) == 0;
    if (!schemed || strpbrk(ca->url, " \t\r\n") ||
        !OSSL_HTTP_parse_url(ca->url, &u->ssl, NULL, &u->host, &u->port, &portnum,
                             &u->path, NULL, NULL)) {
        ERR_clear_error();
        return renew_fail(e, RENEW_E_USAGE, "the CA URL \"%s\" is not a valid http or https URL: check --ca or ca_url", ca->url);
    }
    return 0;
}

/* Where a connection to the CA goes first: the proxy that http_proxy and
 * no_proxy choose for this host, as OSSL_CMP's own transfer will use it,
 * else the CA itself. */
static int first_hop(const struct renew_cmp_url *u, char *hp, size_t n, const char **proxy)
{
    char *host = NULL, *port = NULL;
    int ssl;
    *proxy = OSSL_HTTP_adapt_proxy(NULL, NULL, u->host, u->ssl);
    if (!*proxy)
        return snprintf(hp, n, "%s:%s", u->host, u->port) < (int)n ? 0 : -1;
    if (!OSSL_HTTP_parse_url(*proxy, &ssl, NULL, &host, &port, NULL, NULL, NULL, NULL))
        return -1;
    int r = snprintf(hp, n, "%s:%s", host, port) < (int)n ? 0 : -1;
    OPENSSL_free(host);
    OPENSSL_free(port);
    return r;
}

int renew_ca_usable(const struct renew_ca *ca, struct renew_err *e)
{
    struct renew_cmp_url u;
    int rc = renew_cmp_url_parse(ca, &u, e);
    if (rc)
        return rc;
    struct renew_tls *t = u.ssl ? renew_tls_new(&u, ca, DEFAULT_TIMEOUT, e) : NULL;
    renew_cmp_url_free(&u);
    if (u.ssl && !t)
        return e->code;
    renew_tls_free(t);
    X509_STORE *st = renew_trust_load(ca->cert_file, e);
    X509_STORE_free(st);
    return st ? 0 : e->code;
}

/* One connection attempt, waiting at most timeout seconds for an answer.
 * BIO_do_connect_retry would retry a refused connection until the
 * timeout, so a CA that is down would take that long to be reported. */
static int connect_once(BIO *b, int timeout)
{
    time_t deadline = time(NULL) + timeout;
    for (;;) {
        if (BIO_do_connect(b) > 0)
            return 1;
        if (!BIO_should_retry(b) || BIO_wait(b, deadline, 100) <= 0)
            return 0;
    }
}

int renew_cmp_reachable(const struct renew_ca *ca, struct renew_err *e)
{
    struct renew_cmp_url u;
    const char *proxy;
    char hp[600];
    int rc = renew_cmp_url_parse(ca, &u, e);
    if (rc)
        return rc;
    if (first_hop(&u, hp, sizeof hp, &proxy) != 0) {
        ERR_clear_error();
        renew_cmp_url_free(&u);
        return renew_fail(e, RENEW_E_USAGE, "the proxy \"%s\" (http_proxy) is not a valid "
                          "URL: fix http_proxy or set no_proxy for the CA", proxy ? proxy : "");
    }
    int timeout = ca->timeout > 0 ? ca->timeout : DEFAULT_TIMEOUT;
    BIO *b = BIO_new_connect(hp);
    int ok = b && BIO_set_nbio(b, 1) > 0 && connect_once(b, timeout);
    if (ok && u.ssl) {
        /* The TLS handshake too: a CA whose certificate is not trusted is
         * found before the card is touched. */
        struct renew_tls *t = renew_tls_new(&u, ca, timeout, e);
        rc = t ? renew_tls_check(t, b, ca->url, e) : e->code;
        renew_tls_free(t);
        renew_cmp_url_free(&u);
        return rc;
    }
    BIO_free_all(b);
    ERR_clear_error();
    renew_cmp_url_free(&u);
    if (!ok && proxy)
        return renew_fail(e, RENEW_E_CA,
                          "the proxy %s (http_proxy) for the certificate authority at %s cannot "
                          "be reached: check the proxy setting and the network connection", proxy,
                          ca->url);
    if (!ok)
        return renew_fail(e, RENEW_E_CA,
                          "the certificate authority at %s cannot be reached: check the network connection and retry later",
                          ca->url);
    return 0;
}

static const struct renew_hooks *log_hooks;

static int log_cb(const char *func, const char *file, int line, OSSL_CMP_severity level,
                  const char *msg)
{
    (void)func; (void)file; (void)line; (void)level;
    if (log_hooks && log_hooks->debug)
        log_hooks->debug(log_hooks->arg, msg);
    return 1;
}

static int judge_cb(OSSL_CMP_CTX *ctx, X509 *cert, int fail_info, const char **txt)
{
    struct renew_cmp_verdict *v = OSSL_CMP_CTX_get_certConf_cb_arg(ctx);
    STACK_OF(X509) *extra = OSSL_CMP_CTX_get1_extraCertsIn(ctx);
    v->in.trust = OSSL_CMP_CTX_get0_trustedStore(ctx);
    v->in.untrusted = extra;
    v->in.now = time(NULL);
    if (renew_judge(&v->in, cert, v->why, sizeof v->why) != 0) {
        fail_info |= 1 << OSSL_CMP_PKIFAILUREINFO_badCertTemplate;
        *txt = v->why;
    } else if (!fail_info && v->keep && v->keep(v->keep_arg, cert) != 0) {
        /* Not kept safe: refused, so the CA does not count it as delivered. */
        snprintf(v->why, sizeof v->why, "it could not be saved before confirming it");
        fail_info |= 1 << OSSL_CMP_PKIFAILUREINFO_systemFailure;
        *txt = v->why;
    } else if (fail_info) {
        snprintf(v->why, sizeof v->why, "%s", *txt ? *txt : "OpenSSL's CMP client refused it");
    }
    sk_X509_pop_free(extra, X509_free);
    return fail_info;
}

OSSL_CMP_CTX *renew_cmp_ctx_new(const struct renew_ca *ca, int digest_nid,
                                const struct renew_hooks *h, struct renew_err *e)
{
    struct renew_cmp_url u;
    X509_STORE *trust = NULL;
    OSSL_CMP_CTX *ctx = NULL;
    int timeout = ca->timeout > 0 ? ca->timeout : DEFAULT_TIMEOUT;
    if (renew_cmp_url_parse(ca, &u, e))
        return NULL;
    if (!(trust = renew_trust_load(ca->cert_file, e)))
        goto out;
    ctx = OSSL_CMP_CTX_new(NULL, NULL);
    log_hooks = h;
    if (ctx && !OSSL_CMP_CTX_set0_trustedStore(ctx, trust)) {
        OSSL_CMP_CTX_free(ctx);
        ctx = NULL;
    }
    if (!ctx)
        X509_STORE_free(trust);
    if (!ctx || !OSSL_CMP_CTX_set_log_cb(ctx, log_cb) ||
        !OSSL_CMP_CTX_set1_server(ctx, u.host) ||
        !OSSL_CMP_CTX_set_serverPort(ctx, atoi(u.port)) ||
        !OSSL_CMP_CTX_set1_serverPath(ctx, u.path) ||
        !OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_DIGEST_ALGNID, digest_nid) ||
        !OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_MSG_TIMEOUT, timeout) ||
        !OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_TOTAL_TIMEOUT, 3 * timeout)) {
        OSSL_CMP_CTX_free(ctx);
        ctx = NULL;
        renew_fail(e, RENEW_E_TOKEN, "cannot set up the CMP request (out of memory?): close other programs and retry");
    }
    if (ctx && u.ssl) {
        /* OSSL_CMP uses TLS when its http callback has an argument. */
        struct renew_tls *t = renew_tls_new(&u, ca, timeout, e);
        if (!t || !OSSL_CMP_CTX_set_http_cb(ctx, renew_tls_cb) ||
            !OSSL_CMP_CTX_set_http_cb_arg(ctx, t)) {
            if (t)
                renew_fail(e, RENEW_E_TOKEN, "cannot set up the CMP request (out of memory?): close other programs and retry");
            renew_tls_free(t);
            OSSL_CMP_CTX_free(ctx);
            ctx = NULL;
        }
    }
out:
    renew_cmp_url_free(&u);
    return ctx;
}

OSSL_CMP_CTX *renew_cmp_ctx_for_key(const struct renew_ca *ca, int digest_nid, EVP_PKEY *newkey,
                                    struct renew_cmp_verdict *v, const struct renew_hooks *h,
                                    struct renew_err *e)
{
    OSSL_CMP_CTX *ctx = renew_cmp_ctx_new(ca, digest_nid, h, e);
    if (!ctx)
        return NULL;
    EVP_PKEY_up_ref(newkey);
    if (!OSSL_CMP_CTX_set0_newPkey(ctx, 1, newkey))
        EVP_PKEY_free(newkey);
    else if (OSSL_CMP_CTX_set_certConf_cb(ctx, judge_cb) &&
             OSSL_CMP_CTX_set_certConf_cb_arg(ctx, v))
        return ctx;
    renew_cmp_ctx_free(ctx);
    renew_fail(e, RENEW_E_TOKEN, "cannot set up the CMP request (out of memory?): close other programs and retry");
    return NULL;
}

void renew_cmp_ctx_free(OSSL_CMP_CTX *ctx)
{
    ERR_clear_error();
    log_hooks = NULL;
    if (ctx)
        renew_tls_free(OSSL_CMP_CTX_get_http_cb_arg(ctx));
    OSSL_CMP_CTX_free(ctx);
}

/* The CA's own words for a refusal: its statusString, one line. */
static void ca_words(OSSL_CMP_CTX *ctx, char *out, size_t n)
{
    OSSL_CMP_PKIFREETEXT *t = OSSL_CMP_CTX_get0_statusString(ctx);
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; t && i < sk_ASN1_UTF8STRING_num(t) && k + 1 < n; i++) {
        const ASN1_UTF8STRING *s = sk_ASN1_UTF8STRING_value(t, i);
        int len = snprintf(out + k, n - k, "%s%.*s", k ? "; " : "", ASN1_STRING_length(s),
                           (const char *)ASN1_STRING_get0_data(s));
        k = len > 0 ? k + (size_t)len : k;
    }
    for (char *q = out; *q; q++)
        if ((unsigned char)*q < 0x20)
            *q = ' ';
}

/* What went wrong, in plain words; OpenSSL's own detail goes to the
 * debug hook (--verbose). */
static int explain(OSSL_CMP_CTX *ctx, const struct renew_ca *ca, const struct renew_cmp_verdict *v,
                   const struct renew_hooks *h, X509 **refused, struct renew_err *e)
{
    char why[256] = "", detail[256] = "";
    bool not_accepted = false, timeout = false;
    unsigned long err;
    const char *data;
    int flags;
    while ((err = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (ERR_GET_LIB(err) == ERR_LIB_CMP &&
            ERR_GET_REASON(err) == CMP_R_CERTIFICATE_NOT_ACCEPTED)
            not_accepted = true;
        ERR_error_string_n(err, detail, sizeof detail);
        bool text = data && (flags & ERR_TXT_STRING);
        timeout |= strstr(detail, "timeout") || (text && strstr(data, "timeout"));
        if (h && h->debug) {
            char line[512];
            snprintf(line, sizeof line, "%s%s%s", detail, text ? ": " : "", text ? data : "");
            h->debug(h->arg, line);
        }
    }
    if (not_accepted && OSSL_CMP_CTX_get0_newCert(ctx)) {
        *refused = X509_dup(OSSL_CMP_CTX_get0_newCert(ctx));
        return renew_fail(e, RENEW_E_CA,
                          "the certificate authority at %s issued a certificate that cannot replace yours: %s",
                          ca->url, v->why[0] ? v->why : "OpenSSL's CMP client refused it");
    }
    int status = OSSL_CMP_CTX_get_status(ctx);
    if (status < 0 || status == OSSL_CMP_PKISTATUS_accepted ||
        status == OSSL_CMP_PKISTATUS_grantedWithMods)
        return renew_fail(e, RENEW_E_CA, timeout
            ? "the certificate authority at %s did not answer in time: nothing was changed; retry later"
            : "the certificate authority at %s did not complete the renewal (the connection failed or the answer was not a valid CMP message): nothing was changed; check the network and the CA settings, then retry",
            ca->url);
    int fi = OSSL_CMP_CTX_get_failInfoCode(ctx);
    if (fi > 0 && (fi & (1 << OSSL_CMP_PKIFAILUREINFO_certRevoked)))
        return renew_fail(e, RENEW_E_CA,
                          "the certificate authority says your certificate is revoked: ask your RA to cancel and re-issue your smartcard");
    ca_words(ctx, why, sizeof why);
    return renew_fail(e, RENEW_E_CA,
                      "the certificate authority refused the renewal%s%s%s: ask your RA to renew your smartcard",
                      why[0] ? " (\"" : "", why, why[0] ? "\")" : "");
}

int renew_cmp_kur(const struct renew_ca *ca, X509 *oldcert, EVP_PKEY *oldkey,
                  EVP_PKEY *newkey, EVP_PKEY *newpub, int digest_nid,
                  const struct renew_hooks *h, X509 **issued, X509 **refused,
                  struct renew_err *e)
{
    struct renew_cmp_verdict v = { .in = { .old = oldcert, .newpub = newpub } };
    int rc;
    *issued = NULL;
    *refused = NULL;
    OSSL_CMP_CTX *ctx = renew_cmp_ctx_for_key(ca, digest_nid, newkey, &v, h, e);
    if (!ctx)
        return e->code;
    rc = renew_fail(e, RENEW_E_TOKEN, "cannot set up the CMP request (out of memory?): close other programs and retry");
    if (!OSSL_CMP_CTX_set1_cert(ctx, oldcert) || !OSSL_CMP_CTX_set1_pkey(ctx, oldkey))
        goto out;
    ERR_clear_error();
    X509 *cert = OSSL_CMP_exec_KUR_ses(ctx);
    if (!cert) {
        rc = explain(ctx, ca, &v, h, refused, e);
        goto out;
    }
    if (!X509_up_ref(cert))
        goto out;
    *issued = cert;
    rc = 0;
out:
    renew_cmp_ctx_free(ctx);
    return rc;
}
