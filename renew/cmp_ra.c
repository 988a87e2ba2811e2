/* cmp_ra.c: the Registration Authority's CMP transactions with OSSL_CMP:
 * an initial request (ir) protected by the RA's one-time secret (PBM,
 * senderKID = the reference), and a revocation request (rr) signed by
 * the certificate being revoked. The ir's certificate is judged as a
 * relying party would (judge.c) and the verdict sent in certConf. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/cmp.h>
#include <openssl/err.h>
#include "renew/cmp.h"
#include "renew/judge.h"

#define DEFAULT_TIMEOUT 20

static const struct renew_hooks *log_hooks;

static int log_cb(const char *func, const char *file, int line, OSSL_CMP_severity level,
                  const char *msg)
{
    (void)func; (void)file; (void)line; (void)level;
    if (log_hooks && log_hooks->debug)
        log_hooks->debug(log_hooks->arg, msg);
    return 1;
}

struct verdict {
    struct renew_judge_in in;
    char why[256];
    int (*keep)(void *arg, X509 *cert);
    void *keep_arg;
};

static int judge_cb(OSSL_CMP_CTX *ctx, X509 *cert, int fail_info, const char **txt)
{
    struct verdict *v = OSSL_CMP_CTX_get_certConf_cb_arg(ctx);
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

/* A context for ca with the CA certificate(s) trusted; NULL with e set. */
static OSSL_CMP_CTX *ctx_new(const struct renew_ca *ca, int digest_nid,
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
out:
    renew_cmp_url_free(&u);
    return ctx;
}

/* The CA's reason, from its status and OpenSSL's error queue (the error
 * details the CA sent ride in the queue's data). */
static void reason(OSSL_CMP_CTX *ctx, char *why, size_t n)
{
    char status[256] = "", last[256] = "no answer", detail[256] = "";
    unsigned long err;
    const char *data;
    int flags;
    while ((err = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        ERR_error_string_n(err, last, sizeof last);
        if ((flags & ERR_TXT_STRING) && data && *data && !detail[0])
            snprintf(detail, sizeof detail, "%s", data);
    }
    if (OSSL_CMP_CTX_get_status(ctx) >= 0)
        OSSL_CMP_CTX_snprint_PKIStatus(ctx, status, sizeof status);
    /* The CA's own words, where it sent them: OpenSSL renders an error
     * message's details as "errorDetails: <lib>, <reason>, <text>". */
    const char *d = strstr(detail, "errorDetails: ");
    if (d) {
        d += strlen("errorDetails: ");
        for (int i = 0; i < 2 && strstr(d, ", "); i++)
            d = strstr(d, ", ") + 2;
        snprintf(why, n, "%s", d);
    } else {
        snprintf(why, n, "%s", status[0] ? status : detail[0] ? detail : last);
    }
    for (char *q = why; *q; q++)
        if (*q == '\n' || *q == '\r')
            *q = ' ';
}

int renew_cmp_ir(const struct renew_ca *ca, const char *ref, const unsigned char *secret,
                 size_t secret_len, const X509_NAME *subject, EVP_PKEY *newkey,
                 EVP_PKEY *newpub, int digest_nid, int (*keep)(void *arg, X509 *cert),
                 void *keep_arg, const struct renew_hooks *h, X509 **issued, X509 **refused,
                 struct renew_err *e)
{
    struct verdict v = { .in = { .newpub = newpub, .subject = subject }, .keep = keep,
                         .keep_arg = keep_arg };
    char why[512];
    int rc;
    *issued = NULL;
    *refused = NULL;
    OSSL_CMP_CTX *ctx = ctx_new(ca, digest_nid, h, e);
    if (!ctx)
        return e->code;
    rc = renew_fail(e, RENEW_E_TOKEN, "cannot set up the CMP request (out of memory?): close other programs and retry");
    EVP_PKEY_up_ref(newkey);
    if (!OSSL_CMP_CTX_set0_newPkey(ctx, 1, newkey)) {
        EVP_PKEY_free(newkey);
        goto out;
    }
    if (!OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)ref, strlen(ref)) ||
        !OSSL_CMP_CTX_set1_secretValue(ctx, secret, (int)secret_len) ||
        !OSSL_CMP_CTX_set1_subjectName(ctx, subject) ||
        !OSSL_CMP_CTX_set_certConf_cb(ctx, judge_cb) ||
        !OSSL_CMP_CTX_set_certConf_cb_arg(ctx, &v))
        goto out;
    ERR_clear_error();
    X509 *cert = OSSL_CMP_exec_IR_ses(ctx);
    if (cert && X509_up_ref(cert)) {
        *issued = cert;
        rc = 0;
        goto out;
    }
    if (OSSL_CMP_CTX_get0_newCert(ctx) && v.why[0]) {
        *refused = X509_dup(OSSL_CMP_CTX_get0_newCert(ctx));
        rc = renew_fail(e, RENEW_E_CA,
                        "the certificate authority at %s issued a certificate that cannot be used: %s",
                        ca->url, v.why);
        goto out;
    }
    reason(ctx, why, sizeof why);
    if (OSSL_CMP_CTX_get_status(ctx) == OSSL_CMP_PKISTATUS_rejection || strstr(why, "secret"))
        rc = renew_fail(e, RENEW_E_CA,
                        "the certificate authority refused the request (%s): check the reference and the one-time secret",
                        why);
    else
        rc = renew_fail(e, RENEW_E_CA,
                        "the certificate authority at %s did not complete the request (%s): check the network and the CA certificate, then retry",
                        ca->url, why);
out:
    ERR_clear_error();
    log_hooks = NULL;
    OSSL_CMP_CTX_free(ctx);
    return rc;
}

int renew_cmp_rr(const struct renew_ca *ca, X509 *cert, EVP_PKEY *key, int digest_nid,
                 int reason_code, const struct renew_hooks *h, struct renew_err *e)
{
    char why[512];
    int rc;
    OSSL_CMP_CTX *ctx = ctx_new(ca, digest_nid, h, e);
    if (!ctx)
        return e->code;
    rc = renew_fail(e, RENEW_E_TOKEN, "cannot set up the CMP request (out of memory?): close other programs and retry");
    if (!OSSL_CMP_CTX_set1_cert(ctx, cert) || !OSSL_CMP_CTX_set1_pkey(ctx, key) ||
        !OSSL_CMP_CTX_set1_oldCert(ctx, cert) ||
        !OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_REVOCATION_REASON, reason_code))
        goto out;
    ERR_clear_error();
    if (OSSL_CMP_exec_RR_ses(ctx) == 1) {
        rc = 0;
        goto out;
    }
    reason(ctx, why, sizeof why);
    rc = renew_fail(e, RENEW_E_CA, "the certificate authority at %s did not cancel the certificate (%s)",
                    ca->url, why);
out:
    ERR_clear_error();
    log_hooks = NULL;
    OSSL_CMP_CTX_free(ctx);
    return rc;
}
