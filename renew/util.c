/* util.c: certificate times and names, key pair checks, public keys
 * read from the token. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include "renew/cardkey.h"
#include "renew/util.h"

time_t renew_asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    /* timegm, which Windows lacks: days since 1970-01-01 of a Gregorian
     * date (H. Hinnant's days_from_civil), then the time of day. */
    long long y = tm.tm_year + 1900LL - (tm.tm_mon < 2);
    long long era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    long long doy = (153 * (tm.tm_mon + (tm.tm_mon < 2 ? 10 : -2)) + 2) / 5 + tm.tm_mday - 1;
    long long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    return (time_t)(days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
}

void renew_subject_cn(X509 *x, char *out, size_t outlen)
{
    out[0] = '\0';
    if (x)
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)outlen);
}

int renew_sign_check(EVP_PKEY *key, EVP_PKEY *pub, int md_nid)
{
    static const unsigned char msg[] = "cardrenew: key and certificate check";
    unsigned char sig[1024];
    size_t siglen = sizeof sig;
    const EVP_MD *md = EVP_get_digestbynid(md_nid);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int rc = -1;
    if (!c || !md)
        goto out;
    if (EVP_DigestSignInit(c, NULL, md, NULL, key) != 1 ||
        EVP_DigestSign(c, sig, &siglen, msg, sizeof msg) != 1)
        goto out;
    EVP_MD_CTX_free(c);
    rc = -2;
    if (!(c = EVP_MD_CTX_new()))
        goto out;
    if (EVP_DigestVerifyInit(c, NULL, md, NULL, pub) == 1 &&
        EVP_DigestVerify(c, sig, siglen, msg, sizeof msg) == 1)
        rc = 0;
out:
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    return rc;
}

int renew_cred_check(struct renew_p11 *p, const struct renew_cred *c, EVP_PKEY *key,
                     int *md_nid, CK_RV *rv)
{
    EVP_PKEY *certpub = X509_get0_pubkey(c->x509);
    bool sha1_only = c->key_type == CKK_RSA &&
                     renew_p11_has_mech(p, CKM_SHA1_RSA_PKCS, NULL) &&
                     !renew_p11_has_mech(p, CKM_SHA256_RSA_PKCS, NULL);
    *md_nid = sha1_only ? NID_sha1 : NID_sha256;
    int s = renew_sign_check(key, certpub, *md_nid);
    *rv = renew_cardkey_last_rv(key);
    /* A card that takes only a SHA-1 DigestInfo says so only when asked. */
    if (s == -1 && *md_nid == NID_sha256 && c->key_type == CKK_RSA &&
        (*rv == CKR_DATA_LEN_RANGE || *rv == CKR_DATA_INVALID)) {
        *md_nid = NID_sha1;
        s = renew_sign_check(key, certpub, *md_nid);
        *rv = renew_cardkey_last_rv(key);
    }
    return s;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *b)
{
    OSSL_PARAM *params = b ? OSSL_PARAM_BLD_to_param(b) : NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *k = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
        k = NULL;
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static EVP_PKEY *rsa_pub(struct renew_p11 *p, CK_OBJECT_HANDLE o)
{
    unsigned char *n = NULL, *e = NULL;
    size_t nl, el;
    EVP_PKEY *k = NULL;
    OSSL_PARAM_BLD *b = NULL;
    BIGNUM *bn = NULL, *be = NULL;
    if (renew_p11_attr(p, o, CKA_MODULUS, &n, &nl) != CKR_OK ||
        renew_p11_attr(p, o, CKA_PUBLIC_EXPONENT, &e, &el) != CKR_OK)
        goto out;
    bn = BN_bin2bn(n, (int)nl, NULL);
    be = BN_bin2bn(e, (int)el, NULL);
    b = OSSL_PARAM_BLD_new();
    if (bn && be && b && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be))
        k = from_params("RSA", b);
out:
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return k;
}

static EVP_PKEY *ec_pub(struct renew_p11 *p, CK_OBJECT_HANDLE o)
{
    unsigned char *par = NULL, *pt = NULL;
    size_t parl, ptl;
    EVP_PKEY *k = NULL;
    OSSL_PARAM_BLD *b = NULL;
    ASN1_OBJECT *oid = NULL;
    ASN1_OCTET_STRING *os = NULL;
    const unsigned char *q;
    if (renew_p11_attr(p, o, CKA_EC_PARAMS, &par, &parl) != CKR_OK ||
        renew_p11_attr(p, o, CKA_EC_POINT, &pt, &ptl) != CKR_OK)
        goto out;
    q = par;
    if (!(oid = d2i_ASN1_OBJECT(NULL, &q, (long)parl)))
        goto out;
    const char *curve = OBJ_nid2sn(OBJ_obj2nid(oid));
    /* CKA_EC_POINT is a DER OCTET STRING; some modules give the raw point. */
    const unsigned char *point = pt;
    size_t point_len = ptl;
    q = pt;
    if (pt[0] == 0x04 && (os = d2i_ASN1_OCTET_STRING(NULL, &q, (long)ptl)) &&
        q == pt + ptl) {
        point = ASN1_STRING_get0_data(os);
        point_len = (size_t)ASN1_STRING_length(os);
    }
    b = OSSL_PARAM_BLD_new();
    if (curve && b &&
        OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) &&
        OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, point_len))
        k = from_params("EC", b);
out:
    OSSL_PARAM_BLD_free(b);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(os);
    free(par);
    free(pt);
    return k;
}

EVP_PKEY *renew_p11_pubkey(struct renew_p11 *p, const struct renew_cred *c)
{
    EVP_PKEY *k = NULL;
    CK_OBJECT_HANDLE objs[2];
    int n = 0;
    if (c->has_pub)
        objs[n++] = c->pub;
    if (c->has_priv)
        objs[n++] = c->priv;
    for (int i = 0; !k && i < n; i++)
        k = c->key_type == CKK_EC ? ec_pub(p, objs[i]) : rsa_pub(p, objs[i]);
    ERR_clear_error();
    return k;
}

static void cert_der(X509 *x, unsigned char *buf, size_t *len)
{
    int n = x ? i2d_X509(x, NULL) : 0;
    unsigned char *p = buf;
    *len = 0;
    if (n > 0 && n <= RENEW_CERT_MAX && i2d_X509(x, &p) == n)
        *len = (size_t)n;
}

void renew_result_certs(struct renew_result *res, const char *serial, X509 *old, X509 *nw)
{
    snprintf(res->serial, sizeof res->serial, "%s", serial);
    cert_der(old != nw ? old : NULL, res->old_cert, &res->old_cert_len);
    cert_der(nw, res->new_cert, &res->new_cert_len);
}
