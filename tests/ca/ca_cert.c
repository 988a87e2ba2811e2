/* ca_cert.c: end-entity certificates, as a smartcard login CA issues them. */
#include "tests/ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Default: now .. now+days. With expires_in: notAfter = now + expires_in
 * days and the usual length before it, but never before the CA itself. */
void ca_validity(const struct ca *ca, int days, int have_expires_in,
                 long expires_in, time_t now, time_t *nb, time_t *na)
{
    time_t ca_nb = 0;

    if (days <= 0)
        days = CA_DEFAULT_DAYS;
    if (!have_expires_in) {
        *nb = now;
        *na = now + (time_t)days * CA_DAY;
        return;
    }
    *na = now + (time_t)expires_in * CA_DAY;
    *nb = *na - (time_t)days * CA_DAY;
    if (ca != NULL && ca->cert != NULL) {
        struct tm tm;

        if (ASN1_TIME_to_tm(X509_get0_notBefore(ca->cert), &tm))
            ca_nb = timegm(&tm);
    }
    if (*nb < ca_nb)
        *nb = ca_nb;
}

static int add_ext(X509 *cert, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    int ok = ext != NULL && X509_add_ext(cert, ext, -1);

    X509_EXTENSION_free(ext);
    return ok;
}

static X509 *build(const struct ca *ca, EVP_PKEY *pub, const X509_NAME *subject,
                   time_t nb, time_t na, const ASN1_INTEGER *serial, unsigned flags)
{
    X509 *cert = X509_new();
    X509V3_CTX v3;
    int as_ca = (flags & CA_ISSUE_AS_CA) != 0;
    const char *ku = as_ca ? "critical,digitalSignature,keyCertSign,cRLSign"
        : EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA
        ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature";

    if (cert == NULL
        || !X509_set_version(cert, 2)
        || !X509_set_serialNumber(cert, (ASN1_INTEGER *)serial)
        || !X509_set_subject_name(cert, subject)
        || !X509_set_issuer_name(cert, X509_get_subject_name(ca->cert))
        || ASN1_TIME_set(X509_getm_notBefore(cert), nb) == NULL
        || ASN1_TIME_set(X509_getm_notAfter(cert), na) == NULL
        || !X509_set_pubkey(cert, pub))
        goto fail;
    X509V3_set_ctx(&v3, ca->cert, cert, NULL, NULL, 0);
    if (!add_ext(cert, &v3, NID_basic_constraints, as_ca ? "critical,CA:TRUE" : "critical,CA:FALSE")
        || !add_ext(cert, &v3, NID_key_usage, ku)
        || !add_ext(cert, &v3, NID_ext_key_usage, "clientAuth")
        || !add_ext(cert, &v3, NID_subject_key_identifier, "hash")
        || !add_ext(cert, &v3, NID_authority_key_identifier, "keyid:always")
        || !X509_sign(cert, ca->key, EVP_sha256()))
        goto fail;
    return cert;
fail:
    X509_free(cert);
    return NULL;
}

static void clean_subject(const X509_NAME *name, char *out, size_t len)
{
    char *p;

    X509_NAME_oneline(name, out, (int)len);
    for (p = out; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
            *p = '_';
}

X509 *ca_issue(const struct ca *ca, EVP_PKEY *pub, const X509_NAME *subject,
               time_t nb, time_t na, unsigned flags, char *err, size_t errlen)
{
    struct ca_rec *recs = NULL, *m;
    size_t n = 0;
    X509 *cert = NULL;
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = BN_new();
    char *hex = NULL, *pem = NULL, path[4096];
    size_t pemlen;
    int lk = -1, tries;

    snprintf(err, errlen, "internal error");
    if (subject == NULL || X509_NAME_entry_count(subject) == 0) {
        snprintf(err, errlen, "the request has no subject");
        goto out;
    }
    lk = ca_lock(ca->dir);
    if (lk < 0 || bn == NULL || ca_db_load(ca->dir, &recs, &n) != 0) {
        snprintf(err, errlen, "cannot read the certificate database");
        goto out;
    }
    /* 127 random bits, top bit forced: positive, always the same length. */
    for (tries = 0; tries < 16; tries++) {
        OPENSSL_free(hex);
        hex = NULL;
        if (!BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY)
            || (hex = BN_bn2hex(bn)) == NULL)
            goto out;
        if (ca_db_find(recs, n, hex) < 0)
            break;
    }
    if (tries == 16 || (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
        goto out;
    cert = build(ca, pub, subject, nb, na, serial, flags);
    if (cert == NULL || ca_pem_cert(cert, &pem, &pemlen) != 0) {
        snprintf(err, errlen, "cannot sign the certificate");
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/certs/%s.pem", ca->dir, hex);
    m = realloc(recs, (n + 1) * sizeof(*recs));
    if (m == NULL)
        goto fail;
    recs = m;
    memset(&recs[n], 0, sizeof(recs[n]));
    recs[n].status = 'V';
    recs[n].not_after = (long long)na;
    snprintf(recs[n].serial, sizeof(recs[n].serial), "%s", hex);
    clean_subject(subject, recs[n].subject, sizeof(recs[n].subject));
    /* The certificate file first: an index line always has its file. */
    if (ca_write_atomic(path, pem, pemlen, 0644) != 0
        || ca_db_save(ca->dir, recs, n + 1) != 0) {
        snprintf(err, errlen, "cannot write the certificate database");
        goto fail;
    }
    goto out;
fail:
    X509_free(cert);
    cert = NULL;
out:
    ca_unlock(lk);
    free(recs);
    free(pem);
    OPENSSL_free(hex);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return cert;
}
