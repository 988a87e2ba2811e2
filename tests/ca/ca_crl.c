/* ca_crl.c: a CRL of the revoked entries, numbered from CADIR/crlnumber. */
#include "tests/ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static int add_revoked(X509_CRL *crl, const struct ca_rec *r)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *when = ASN1_TIME_set(NULL, (time_t)r->revoked_at);
    BIGNUM *bn = NULL;
    int ok = 0;

    if (rev != NULL && when != NULL && BN_hex2bn(&bn, r->serial)
        && (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL
        && X509_REVOKED_set_serialNumber(rev, serial)
        && X509_REVOKED_set_revocationDate(rev, when)
        && X509_CRL_add0_revoked(crl, rev)) {
        rev = NULL;
        ok = 1;
    }
    X509_REVOKED_free(rev);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    BN_free(bn);
    return ok;
}

static long next_number(const char *dir)
{
    char path[4096], line[32];
    uint8_t *buf;
    size_t len;
    long n = 1;
    int k;

    snprintf(path, sizeof(path), "%s/crlnumber", dir);
    if (ca_read_file(path, 31, &buf, &len) == 0) {
        n = strtol((char *)buf, NULL, 10) + 1;
        free(buf);
    }
    if (n < 1)
        n = 1;
    k = snprintf(line, sizeof(line), "%ld\n", n);
    return ca_write_atomic(path, line, (size_t)k, 0644) == 0 ? n : -1;
}

int ca_crl_write(const struct ca *ca, const char *out)
{
    X509_CRL *crl = X509_CRL_new();
    struct ca_rec *recs = NULL;
    ASN1_TIME *t = NULL;
    ASN1_INTEGER *num = NULL;
    X509V3_CTX v3;
    X509_EXTENSION *akid = NULL;
    BIO *b = NULL;
    char *p;
    long len, number;
    size_t n = 0, i;
    time_t now = time(NULL);
    int rc = -1, lk = ca_lock(ca->dir);

    if (lk < 0 || crl == NULL || ca_db_load(ca->dir, &recs, &n) != 0
        || (number = next_number(ca->dir)) < 0)
        goto out;
    if (!X509_CRL_set_version(crl, 1)
        || !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert))
        || (t = ASN1_TIME_set(NULL, now)) == NULL
        || !X509_CRL_set1_lastUpdate(crl, t)
        || ASN1_TIME_set(t, now + 7 * CA_DAY) == NULL
        || !X509_CRL_set1_nextUpdate(crl, t))
        goto out;
    for (i = 0; i < n; i++)
        if (recs[i].status == 'R' && !add_revoked(crl, &recs[i]))
            goto out;
    X509_CRL_sort(crl);
    X509V3_set_ctx(&v3, ca->cert, NULL, NULL, crl, 0);
    if ((num = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set(num, number)
        || !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0)
        || (akid = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier,
                                       "keyid:always")) == NULL
        || !X509_CRL_add_ext(crl, akid, -1)
        || !X509_CRL_sign(crl, ca->key, EVP_sha256()))
        goto out;
    b = BIO_new(BIO_s_mem());
    if (b == NULL || !PEM_write_bio_X509_CRL(b, crl))
        goto out;
    len = BIO_get_mem_data(b, &p);
    rc = ca_write_atomic(out, p, (size_t)len, 0644);
out:
    ca_unlock(lk);
    BIO_free(b);
    X509_EXTENSION_free(akid);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t);
    X509_CRL_free(crl);
    free(recs);
    return rc;
}
