/* cardkey.c: a token key as an EVP_PKEY for OpenSSL 3.0.
 *
 * No engine may be loaded in the renewal process (it breaks CMP), and
 * Debian 12 has no pkcs11-provider, so the key is a legacy RSA / EC_KEY
 * with its own method whose sign hook calls C_Sign: CKM_RSA_PKCS over a
 * DigestInfo built here, or CKM_ECDSA over the hash. The deprecated APIs
 * stay in this one file so a provider can replace it.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>
#include <stdlib.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include "renew/cardkey.h"

struct cardkey {
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE sess;
    CK_OBJECT_HANDLE priv;
    CK_RV last_rv;
};

static int rsa_idx = -1, ec_idx = -1;
static RSA_METHOD *rsa_meth;
static EC_KEY_METHOD *ec_meth;

static void ck_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                    long argl, void *argp)
{
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    free(ptr);
}

/* Signs in with mechanism m; returns the signature length or -1. */
static int card_sign(struct cardkey *k, CK_MECHANISM_TYPE m, const unsigned char *in,
                     size_t in_len, unsigned char *out, size_t out_max)
{
    CK_MECHANISM mech = { m, NULL, 0 };
    CK_ULONG len = out_max;
    CK_RV rv = k->f->C_SignInit(k->sess, &mech, k->priv);
    if (rv == CKR_OK)
        rv = k->f->C_Sign(k->sess, (CK_BYTE_PTR)in, in_len, out, &len);
    k->last_rv = rv;
    if (rv != CKR_OK || len > out_max)
        return -1;
    return (int)len;
}

static const struct {
    int nid;
    unsigned char prefix[19];
    size_t len, hlen;
} digest_info[] = {
    { NID_sha1, { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a,
                  0x05, 0x00, 0x04, 0x14 }, 15, 20 },
#define SHA2(n, l, o) { n, { 0x30, (unsigned char)(0x11 + (l)), 0x30, 0x0d, 0x06, 0x09, 0x60, \
                      0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, o, 0x05, 0x00, 0x04, l }, 19, l }
    SHA2(NID_sha224, 28, 0x04), SHA2(NID_sha256, 32, 0x01),
    SHA2(NID_sha384, 48, 0x02), SHA2(NID_sha512, 64, 0x03),
#undef SHA2
};

static int rsa_sign(int type, const unsigned char *m, unsigned int m_len,
                    unsigned char *sig, unsigned int *siglen, const RSA *rsa)
{
    struct cardkey *k = RSA_get_ex_data(rsa, rsa_idx);
    unsigned char in[19 + 64];
    size_t in_len = 0;
    if (!k)
        return 0;
    if (type == NID_md5_sha1 && m_len == 36) {
        memcpy(in, m, 36);
        in_len = 36;
    }
    for (size_t i = 0; !in_len && i < sizeof digest_info / sizeof digest_info[0]; i++) {
        if (digest_info[i].nid != type)
            continue;
        if (m_len != digest_info[i].hlen)
            return 0;
        memcpy(in, digest_info[i].prefix, digest_info[i].len);
        memcpy(in + digest_info[i].len, m, m_len);
        in_len = digest_info[i].len + m_len;
    }
    if (!in_len)
        return 0;
    int n = card_sign(k, CKM_RSA_PKCS, in, in_len, sig, (size_t)RSA_size(rsa));
    if (n < 0)
        return 0;
    *siglen = (unsigned)n;
    return 1;
}

/* OpenSSL's own PKCS#1 v1.5 padding path hands us the DigestInfo. */
static int rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to,
                        RSA *rsa, int padding)
{
    struct cardkey *k = RSA_get_ex_data(rsa, rsa_idx);
    if (!k || padding != RSA_PKCS1_PADDING)
        return -1;
    return card_sign(k, CKM_RSA_PKCS, from, (size_t)flen, to, (size_t)RSA_size(rsa));
}

static ECDSA_SIG *ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
                              const BIGNUM *r, EC_KEY *eckey)
{
    (void)kinv; (void)r;
    struct cardkey *k = EC_KEY_get_ex_data(eckey, ec_idx);
    unsigned char rs[2 * 66];
    if (!k)
        return NULL;
    int n = card_sign(k, CKM_ECDSA, dgst, (size_t)dlen, rs, sizeof rs);
    if (n <= 0 || n % 2)
        return NULL;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(rs, n / 2, NULL), *bs = BN_bin2bn(rs + n / 2, n / 2, NULL);
    if (!s || !br || !bs || !ECDSA_SIG_set0(s, br, bs)) {
        ECDSA_SIG_free(s);
        BN_free(br);
        BN_free(bs);
        return NULL;
    }
    return s;
}

static int ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
                   unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
    (void)type;
    ECDSA_SIG *s = ec_sign_sig(dgst, dlen, kinv, r, eckey);
    if (!s)
        return 0;
    unsigned char *p = sig;
    int n = i2d_ECDSA_SIG(s, &p);
    ECDSA_SIG_free(s);
    if (n <= 0)
        return 0;
    *siglen = (unsigned)n;
    return 1;
}

static bool methods_init(void)
{
    if (!rsa_meth) {
        rsa_idx = RSA_get_ex_new_index(0, NULL, NULL, NULL, ck_free);
        rsa_meth = RSA_meth_dup(RSA_get_default_method());
        if (!rsa_meth || rsa_idx < 0)
            return false;
        RSA_meth_set1_name(rsa_meth, "cardrenew PKCS#11 key");
        RSA_meth_set_sign(rsa_meth, rsa_sign);
        RSA_meth_set_priv_enc(rsa_meth, rsa_priv_enc);
    }
    if (!ec_meth) {
        int (*setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **) = NULL;
        ec_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, ck_free);
        ec_meth = EC_KEY_METHOD_new(EC_KEY_get_default_method());
        if (!ec_meth || ec_idx < 0)
            return false;
        EC_KEY_METHOD_get_sign(ec_meth, NULL, &setup, NULL);
        EC_KEY_METHOD_set_sign(ec_meth, ec_sign, setup, ec_sign_sig);
    }
    return true;
}

EVP_PKEY *renew_cardkey_new(struct renew_p11 *p, CK_OBJECT_HANDLE priv, EVP_PKEY *pub,
                            struct renew_err *e)
{
    EVP_PKEY *out = EVP_PKEY_new();
    struct cardkey *k = calloc(1, sizeof *k);
    RSA *rsa = NULL;
    EC_KEY *ec = NULL;
    if (!out || !k || !methods_init())
        goto fail;
    k->f = p->f;
    k->sess = p->sess;
    k->priv = priv;
    if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA) {
        const RSA *pr = EVP_PKEY_get0_RSA(pub);
        const BIGNUM *n = NULL, *ex = NULL;
        BIGNUM *n2, *e2;
        if (!pr || !(rsa = RSA_new()))
            goto fail;
        RSA_get0_key(pr, &n, &ex, NULL);
        n2 = BN_dup(n);
        e2 = BN_dup(ex);
        if (!n2 || !e2 || !RSA_set0_key(rsa, n2, e2, NULL)) {
            BN_free(n2);
            BN_free(e2);
            goto fail;
        }
        if (!RSA_set_method(rsa, rsa_meth) || !RSA_set_ex_data(rsa, rsa_idx, k))
            goto fail;
        k = NULL;
        if (!EVP_PKEY_assign_RSA(out, rsa))
            goto fail;
        rsa = NULL;
    } else if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC) {
        const EC_KEY *pe = EVP_PKEY_get0_EC_KEY(pub);
        if (!pe || !(ec = EC_KEY_new()) ||
            !EC_KEY_set_group(ec, EC_KEY_get0_group(pe)) ||
            !EC_KEY_set_public_key(ec, EC_KEY_get0_public_key(pe)) ||
            !EC_KEY_set_method(ec, ec_meth) || !EC_KEY_set_ex_data(ec, ec_idx, k))
            goto fail;
        k = NULL;
        if (!EVP_PKEY_assign_EC_KEY(out, ec))
            goto fail;
        ec = NULL;
    } else {
        renew_fail(e, RENEW_E_UNSUPPORTED,
                   "the key on this card is neither RSA nor EC: it cannot be renewed here");
        goto fail_quiet;
    }
    return out;
fail:
    renew_fail(e, RENEW_E_TOKEN, "cannot use the card's key with OpenSSL (out of memory?): close other programs and retry");
fail_quiet:
    free(k);
    RSA_free(rsa);
    EC_KEY_free(ec);
    EVP_PKEY_free(out);
    return NULL;
}

CK_RV renew_cardkey_last_rv(EVP_PKEY *key)
{
    struct cardkey *k = NULL;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        const RSA *r = EVP_PKEY_get0_RSA(key);
        k = r ? RSA_get_ex_data(r, rsa_idx) : NULL;
    } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(key);
        k = ec ? EC_KEY_get_ex_data(ec, ec_idx) : NULL;
    }
    return k ? k->last_rv : CKR_OK;
}
