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
    struct renew_cmp_verdict v = { .in = { .newpub = newpub, .subject = subject },
                                   .keep = keep, .keep_arg = keep_arg };
    char why[512];
    int rc;
    *issued = NULL;
    *refused = NULL;
    OSSL_CMP_CTX *ctx = renew_cmp_ctx_for_key(ca, digest_nid, newkey, &v, h, e);
    if (!ctx)
        return e->code;
    rc = renew_fail(e, RENEW_E_TOKEN, "cannot set up the CMP request (out of memory?): close other programs and retry");
    if (!OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)ref, strlen(ref)) ||
        !OSSL_CMP_CTX_set1_secretValue(ctx, secret, (int)secret_len) ||
        !OSSL_CMP_CTX_set1_subjectName(ctx, subject))
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
    renew_cmp_ctx_free(ctx);
    return rc;
}

int renew_cmp_rr(const struct renew_ca *ca, X509 *cert, EVP_PKEY *key, int digest_nid,
                 int reason_code, const struct renew_hooks *h, struct renew_err *e)
{
    char why[512];
    int rc;
    OSSL_CMP_CTX *ctx = renew_cmp_ctx_new(ca, digest_nid, h, e);
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
    renew_cmp_ctx_free(ctx);
    return rc;
}
