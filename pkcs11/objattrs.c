/* objattrs.c: the attributes of a card's objects, built once per cache
 * refresh from a container: a certificate (its subject, issuer, serial
 * and dates taken from the DER by card/x509.c), its public key, and the
 * private key whose secret parts exist but are sensitive. Nothing here
 * goes through OpenSSL's key decoders or encoders: they cost millions of
 * instructions per object, and the objects are built on every change. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "card/x509.h"
#include "pkcs11/p11.h"

static const uint8_t p256_oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

EVP_PKEY *p11_container_pkey(const struct card_container *c)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL, *e = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (!bld)
        goto out;
    if (c->type == CARD_KEY_RSA) {
        n = BN_bin2bn(c->modulus, (int)c->modulus_len, NULL);
        e = BN_bin2bn(c->exponent, (int)c->exponent_len, NULL);
        if (!n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    } else {
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, c->ec_point,
                                              c->ec_point_len))
            goto out;
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (!ctx || !params || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* A DER Time as CK_DATE; an empty value when it does not parse. */
static CK_RV add_date(struct p11_attrs *l, CK_ATTRIBUTE_TYPE t, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    ASN1_TIME *at = d2i_ASN1_TIME(NULL, &p, (long)len);
    struct tm tm;
    bool ok = at && ASN1_TIME_to_tm(at, &tm);
    ASN1_TIME_free(at);
    if (!ok)
        return p11_attrs_add(l, t, NULL, 0);
    char buf[16];
    CK_DATE d;
    snprintf(buf, sizeof(buf), "%04d%02d%02d", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
    memcpy(d.year, buf, 4);
    memcpy(d.month, buf + 4, 2);
    memcpy(d.day, buf + 6, 2);
    return p11_attrs_add(l, t, &d, sizeof(d));
}

/* The certificate's own attributes, its fields as they are in the DER. */
static CK_RV cert_attrs(struct p11_attrs *l, const struct card_container *c,
                        const struct card_cert_parts *x)
{
    CK_RV rv = CKR_OK;
    if ((rv = p11_attrs_add_ulong(l, CKA_CERTIFICATE_TYPE, CKC_X_509)) ||
        (rv = p11_attrs_add_bool(l, CKA_TRUSTED, false)) ||
        (rv = p11_attrs_add_ulong(l, CKA_CERTIFICATE_CATEGORY, 1)) ||
        (rv = p11_attrs_add_ulong(l, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0)) ||
        (rv = p11_attrs_add(l, CKA_URL, NULL, 0)) ||
        (rv = p11_attrs_add(l, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0)) ||
        (rv = p11_attrs_add(l, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0)) ||
        (rv = p11_attrs_add(l, CKA_VALUE, c->cert, c->cert_len)) ||
        (rv = p11_attrs_add(l, CKA_ISSUER, x->issuer, x->issuer_len)) ||
        (rv = add_date(l, CKA_START_DATE, x->not_before, x->not_before_len)) ||
        (rv = add_date(l, CKA_END_DATE, x->not_after, x->not_after_len)))
        return rv;
    return p11_attrs_add(l, CKA_SERIAL_NUMBER, x->serial, x->serial_len);
}

/* DER tag and length before n bytes of value; returns the header's size. */
static size_t der_head(uint8_t *out, uint8_t tag, size_t n)
{
    out[0] = tag;
    if (n < 0x80) {
        out[1] = (uint8_t)n;
        return 2;
    }
    if (n < 0x100) {
        out[1] = 0x81;
        out[2] = (uint8_t)n;
        return 3;
    }
    out[1] = 0x82;
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    return 4;
}

/* A positive INTEGER from an unsigned big-endian magnitude. */
static size_t der_uint(uint8_t *out, const uint8_t *v, size_t n)
{
    while (n > 1 && *v == 0) {
        v++;
        n--;
    }
    bool pad = !n || (*v & 0x80);
    size_t h = der_head(out, 0x02, n + pad);
    if (pad)
        out[h++] = 0;
    if (n)
        memcpy(out + h, v, n);
    return h + n;
}

#define SPKI_MAX 1100

/* SubjectPublicKeyInfo, DER-encoded as i2d_PUBKEY gives it; 0 when the
 * key is not one this module shows. */
static size_t spki_der(const struct card_container *c, uint8_t out[SPKI_MAX])
{
    static const uint8_t rsa_alg[] = { 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7,
                                       0x0D, 0x01, 0x01, 0x01, 0x05, 0x00 };
    static const uint8_t ec_alg[] = { 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02,
                                      0x01, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01,
                                      0x07 };
    uint8_t key[SPKI_MAX];
    size_t kn;
    const uint8_t *alg;
    size_t algn;
    if (c->type == CARD_KEY_RSA) {
        if (!c->modulus || !c->exponent || c->modulus_len > 512 || c->exponent_len > 16)
            return 0;
        uint8_t ints[SPKI_MAX];
        size_t in = der_uint(ints, c->modulus, c->modulus_len);
        in += der_uint(ints + in, c->exponent, c->exponent_len);
        kn = der_head(key, 0x30, in);
        memcpy(key + kn, ints, in);
        kn += in;
        alg = rsa_alg;
        algn = sizeof(rsa_alg);
    } else {
        if (c->ec_point_len != 65 || c->ec_point[0] != 0x04)
            return 0;
        memcpy(key, c->ec_point, 65);
        kn = 65;
        alg = ec_alg;
        algn = sizeof(ec_alg);
    }
    uint8_t bits[SPKI_MAX];
    size_t bn = der_head(bits, 0x03, kn + 1);
    bits[bn++] = 0;
    memcpy(bits + bn, key, kn);
    bn += kn;
    size_t n = der_head(out, 0x30, algn + bn);
    memcpy(out + n, alg, algn);
    memcpy(out + n + algn, bits, bn);
    return n + algn + bn;
}

static CK_RV key_attrs(struct p11_attrs *l, const struct card_container *c, bool priv)
{
    CK_RV rv;
    bool rsa = c->type == CARD_KEY_RSA;
    /* The key's own usage, as the card states it. Identity agents pick the
     * login key by CKA_DECRYPT, so it stays true where only the profile's
     * APDUs cannot carry the cryptogram (G, 2048 bits): C_DecryptInit
     * says so for that key. */
    bool decrypt = rsa && c->can_decrypt;
    if ((rv = p11_attrs_add_ulong(l, CKA_KEY_TYPE, rsa ? CKK_RSA : CKK_EC)) ||
        (rv = p11_attrs_add(l, CKA_START_DATE, NULL, 0)) ||
        (rv = p11_attrs_add(l, CKA_END_DATE, NULL, 0)) ||
        (rv = p11_attrs_add_bool(l, CKA_DERIVE, false)) ||
        (rv = p11_attrs_add_bool(l, CKA_LOCAL, true)) ||
        (rv = p11_attrs_add_ulong(l, CKA_KEY_GEN_MECHANISM,
                                  rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN)))
        return rv;
    if (rsa) {
        if ((rv = p11_attrs_add(l, CKA_MODULUS, c->modulus, c->modulus_len)) ||
            (rv = p11_attrs_add(l, CKA_PUBLIC_EXPONENT, c->exponent, c->exponent_len)) ||
            (rv = p11_attrs_add_ulong(l, CKA_MODULUS_BITS, c->bits)))
            return rv;
    } else {
        uint8_t pt[2 + 133];
        if (c->ec_point_len > 133)
            return CKR_DEVICE_ERROR;
        pt[0] = 0x04;
        pt[1] = (uint8_t)c->ec_point_len;
        memcpy(pt + 2, c->ec_point, c->ec_point_len);
        if ((rv = p11_attrs_add(l, CKA_EC_PARAMS, p256_oid, sizeof(p256_oid))) ||
            (!priv && (rv = p11_attrs_add(l, CKA_EC_POINT, pt, c->ec_point_len + 2))))
            return rv;
    }
    uint8_t spki[SPKI_MAX];
    if ((rv = p11_attrs_add(l, CKA_PUBLIC_KEY_INFO, spki, spki_der(c, spki))) != CKR_OK)
        return rv;
    if (priv) {
        if ((rv = p11_attrs_add_bool(l, CKA_SENSITIVE, true)) ||
            (rv = p11_attrs_add_bool(l, CKA_ALWAYS_SENSITIVE, true)) ||
            (rv = p11_attrs_add_bool(l, CKA_EXTRACTABLE, false)) ||
            (rv = p11_attrs_add_bool(l, CKA_NEVER_EXTRACTABLE, true)) ||
            (rv = p11_attrs_add_bool(l, CKA_SIGN, c->can_sign)) ||
            (rv = p11_attrs_add_bool(l, CKA_DECRYPT, decrypt)) ||
            (rv = p11_attrs_add_bool(l, CKA_SIGN_RECOVER, false)) ||
            (rv = p11_attrs_add_bool(l, CKA_UNWRAP, false)) ||
            (rv = p11_attrs_add_bool(l, CKA_ALWAYS_AUTHENTICATE, false)) ||
            (rv = p11_attrs_add_bool(l, CKA_WRAP_WITH_TRUSTED, false)))
            return rv;
        static const CK_ATTRIBUTE_TYPE secret_rsa[] = {
            CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
            CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
        };
        if (rsa) {
            for (size_t i = 0; i < sizeof(secret_rsa) / sizeof(secret_rsa[0]); i++)
                if ((rv = p11_attrs_add_sensitive(l, secret_rsa[i])))
                    return rv;
        } else if ((rv = p11_attrs_add_sensitive(l, CKA_VALUE))) {
            return rv;
        }
    } else {
        if ((rv = p11_attrs_add_bool(l, CKA_ENCRYPT, decrypt)) ||
            (rv = p11_attrs_add_bool(l, CKA_VERIFY, true)) ||
            (rv = p11_attrs_add_bool(l, CKA_VERIFY_RECOVER, false)) ||
            (rv = p11_attrs_add_bool(l, CKA_WRAP, false)) ||
            (rv = p11_attrs_add_bool(l, CKA_TRUSTED, false)))
            return rv;
    }
    return CKR_OK;
}

/* A label this process asked for (at key generation, or set before the
 * certificate is written) wins over the card's, then the certificate's
 * CN, then the key reference. */
static void label_of(const struct card_container *c, const struct card_cert_parts *x,
                     const char *asked, char *out, size_t n)
{
    const char *src = asked;
    size_t l = asked ? strlen(asked) : 0;
    if (!l) {
        src = c->label;
        l = strnlen(c->label, sizeof(c->label));
    }
    if (l) {
        l = l < n - 1 ? l : n - 1;
        memcpy(out, src, l);
        out[l] = '\0';
        return;
    }
    if (x && card_name_cn(x->subject, x->subject_len, out, n) == CARD_OK && out[0])
        return;
    snprintf(out, n, "key %u", c->ref);
}

CK_RV p11_object_attrs_build(const struct card_container *c, enum p11_kind kind,
                             const char *asked, struct p11_attrs *l)
{
    struct card_cert_parts parts;
    const struct card_cert_parts *x = NULL;
    if (c->cert && card_cert_split(c->cert, c->cert_len, &parts) == CARD_OK)
        x = &parts;
    if (kind == P11_CERT && !x)
        return CKR_DEVICE_ERROR;
    static const CK_OBJECT_CLASS cls[] = { CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY };
    char label[128];
    label_of(c, x, asked, label, sizeof(label));
    CK_RV rv;
    if ((rv = p11_attrs_add_ulong(l, CKA_CLASS, cls[kind])) ||
        (rv = p11_attrs_add_bool(l, CKA_TOKEN, true)) ||
        (rv = p11_attrs_add_bool(l, CKA_PRIVATE, kind == P11_PRIV)) ||
        (rv = p11_attrs_add_bool(l, CKA_MODIFIABLE, false)) ||
        (rv = p11_attrs_add_bool(l, CKA_COPYABLE, false)) ||
        (rv = p11_attrs_add_bool(l, CKA_DESTROYABLE, kind != P11_PUB)) ||
        (rv = p11_attrs_add(l, CKA_LABEL, label, strlen(label))) ||
        (rv = p11_attrs_add(l, CKA_ID, c->id, c->id_len)))
        return rv;
    if (x)
        rv = p11_attrs_add(l, CKA_SUBJECT, x->subject, x->subject_len);
    else if (kind != P11_CERT)
        rv = p11_attrs_add(l, CKA_SUBJECT, NULL, 0);
    if (rv != CKR_OK)
        return rv;
    return kind == P11_CERT ? cert_attrs(l, c, x) : key_attrs(l, c, kind == P11_PRIV);
}
