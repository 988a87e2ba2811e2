/* ca_rules.c: who may renew or revoke what.
 * OpenSSL's server checks that a signed request chains to a trusted root;
 * it does not check that the signer is a live certificate in our database,
 * nor that a kur's oldCertID names the certificate that signed it. */
#include "tests/ca/ca.h"

#include <string.h>
#include <openssl/err.h>
#include <openssl/objects.h>

/* The extraCerts entry whose key verifies the message protection (with the
 * sender name and senderKID matching it), up-referenced; or NULL. */
X509 *ca_find_signer(const struct ca_msg_info *info, const OSSL_CMP_MSG *req)
{
    int i;

    if (info->extra == NULL || info->prot_nid == NID_id_PasswordBasedMAC
        || info->prot_nid == NID_undef)
        return NULL;
    for (i = 0; i < sk_X509_num(info->extra); i++) {
        X509 *x = sk_X509_value(info->extra, i);
        OSSL_CMP_CTX *tmp = OSSL_CMP_CTX_new(NULL, NULL);
        int ok;

        if (tmp == NULL)
            return NULL;
        ERR_set_mark();
        OSSL_CMP_CTX_set_log_verbosity(tmp, OSSL_CMP_LOG_EMERG);
        ok = OSSL_CMP_CTX_set1_srvCert(tmp, x) && OSSL_CMP_validate_msg(tmp, req);
        ERR_pop_to_mark();
        OSSL_CMP_CTX_free(tmp);
        if (ok) {
            X509_up_ref(x);
            return x;
        }
    }
    return NULL;
}

/* Issued by us, current, in the database, not revoked, the same bytes. */
static const char *live(const struct ca *ca, X509 *cert, time_t now)
{
    struct ca_rec rec;
    char *hex;
    X509 *stored;
    int rc, same;

    if (X509_NAME_cmp(X509_get_issuer_name(cert),
                      X509_get_subject_name(ca->cert)) != 0
        || X509_verify(cert, X509_get0_pubkey(ca->cert)) <= 0) {
        ERR_clear_error();
        return "the protection certificate was not issued by this CA";
    }
    if (X509_cmp_time(X509_get0_notAfter(cert), &now) < 0)
        return "the protection certificate has expired: an RA must renew it";
    if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0)
        return "the protection certificate is not valid yet";
    hex = ca_serial_hex(X509_get0_serialNumber(cert));
    if (hex == NULL)
        return "internal error";
    rc = ca_db_lookup(ca->dir, hex, &rec);
    stored = rc == 0 ? ca_db_cert(ca->dir, hex) : NULL;
    OPENSSL_free(hex);
    if (rc < 0)
        return "cannot read the certificate database";
    if (rc > 0)
        return "the protection certificate is not in this CA's database";
    same = stored != NULL && X509_cmp(stored, cert) == 0;
    X509_free(stored);
    if (!same)
        return "the protection certificate differs from the one this CA issued";
    if (rec.status == 'R')
        return "the protection certificate has been revoked";
    return NULL;
}

const char *ca_kur_check(const struct ca *ca, X509 *signer,
                         const OSSL_CRMF_CERTID *old, time_t now)
{
    const char *why;
    const X509_NAME *oi;
    const ASN1_INTEGER *os;

    if (signer == NULL)
        return "a key update must be signed with the certificate being "
               "updated; this one is not signed by a certificate of this CA";
    why = live(ca, signer, now);
    if (why != NULL)
        return why;
    if (old == NULL)
        return "the key update names no old certificate (oldCertID)";
    oi = OSSL_CRMF_CERTID_get0_issuer(old);
    os = OSSL_CRMF_CERTID_get0_serialNumber(old);
    if (oi == NULL || os == NULL
        || X509_NAME_cmp(oi, X509_get_issuer_name(signer)) != 0
        || ASN1_INTEGER_cmp(os, X509_get0_serialNumber(signer)) != 0)
        return "oldCertID names a different certificate from the one that "
               "signed the request";
    return NULL;
}

const char *ca_rr_check(const struct ca *ca, X509 *signer, int mac_ok,
                        const X509_NAME *issuer, const ASN1_INTEGER *serial)
{
    struct ca_rec rec;
    char *hex;
    int rc;

    if (issuer == NULL || serial == NULL)
        return "the revocation request names no issuer and serial";
    if (X509_NAME_cmp(issuer, X509_get_subject_name(ca->cert)) != 0)
        return "the certificate to revoke was not issued by this CA";
    hex = ca_serial_hex(serial);
    if (hex == NULL)
        return "internal error";
    rc = ca_db_lookup(ca->dir, hex, &rec);
    OPENSSL_free(hex);
    if (rc < 0)
        return "cannot read the certificate database";
    if (rc > 0)
        return "the certificate to revoke is not in this CA's database";
    if (rec.status == 'R')
        return "the certificate is already revoked";
    if (mac_ok)
        return NULL;
    if (signer == NULL
        || ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(signer)) != 0
        || X509_NAME_cmp(X509_get_issuer_name(signer), issuer) != 0)
        return "a revocation must be signed by the certificate being revoked "
               "or protected by a one-time secret";
    return live(ca, signer, time(NULL));
}
