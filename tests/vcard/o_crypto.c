/* o_crypto.c: MANAGE SECURITY ENVIRONMENT, PSO COMPUTE DIGITAL SIGNATURE
 * (PKCS#1 v1.5 over a DigestInfo, PSS and ECDSA over a hash), PSO
 * DECIPHER and INTERNAL AUTHENTICATE (raw PKCS#1), all with OpenSSL EVP. */
#include <stdlib.h>
#include <string.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "tests/vcard/clock.h"
#include "tests/vcard/o_card.h"

#define ALG_PKCS1      0x12
#define ALG_PSS        0x32
#define ALG_ECDSA      0x44
#define ALG_RAW_PKCS1  0x02

/* DigestInfo prefixes: SHA-1, SHA-256, SHA-384, SHA-512. */
static const struct { uint8_t pre[19]; size_t pre_len, hash_len; } digest_infos[] = {
    { { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A,
        0x05, 0x00, 0x04, 0x14 }, 15, 20 },
    { { 0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
        0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 }, 19, 32 },
    { { 0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
        0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 }, 19, 48 },
    { { 0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
        0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 }, 19, 64 },
};

static bool is_digest_info(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < sizeof digest_infos / sizeof digest_infos[0]; i++)
        if (n == digest_infos[i].pre_len + digest_infos[i].hash_len &&
            memcmp(d, digest_infos[i].pre, digest_infos[i].pre_len) == 0)
            return true;
    return false;
}

static const EVP_MD *md_for(size_t hash_len)
{
    switch (hash_len) {
    case 20: return EVP_sha1();
    case 32: return EVP_sha256();
    case 48: return EVP_sha384();
    case 64: return EVP_sha512();
    default: return NULL;
    }
}

uint16_t vc_o_mse(struct o_card *c, const struct o_apdu *a)
{
    if (a->p1 == 0xF3) {               /* restore: an empty environment */
        c->se_tmpl = 0;
        return SW_OK;
    }
    if (a->p1 != 0x41)
        return SW_BAD_P1P2;
    if (a->p2 != 0xB6 && a->p2 != 0xA4 && a->p2 != 0xB8 && a->p2 != 0xAA)
        return SW_BAD_P1P2;
    int ref = -1, alg = -1;
    for (size_t k = 0; k < a->lc;) {
        if (k + 2 > a->lc || a->data[k + 1] != 1 || k + 3 > a->lc)
            return SW_BAD_DATA;
        if (a->data[k] == 0x84)
            ref = a->data[k + 2];
        else if (a->data[k] == 0x80)
            alg = a->data[k + 2];
        else
            return SW_BAD_DATA;
        k += 3;
    }
    c->se_tmpl = 0;
    if (a->p2 == 0xAA)                 /* hash template: no on-card hashing */
        return alg < 0 ? SW_BAD_DATA : SW_OK;
    if (ref < 0 || alg < 0)
        return SW_BAD_DATA;
    if (!(ref & 0x80) || (ref & 0x7F) < 1 || (ref & 0x7F) > O_KEY_SLOTS)
        return SW_REF_NOT_FND;
    const EVP_PKEY *k = c->slots[(ref & 0x7F) - 1].key;
    if (!k)
        return SW_REF_NOT_FND;
    bool ec = EVP_PKEY_is_a(k, "EC");
    bool ok;
    switch (a->p2) {
    case 0xB6: ok = ec ? alg == ALG_ECDSA : (alg == ALG_PKCS1 || alg == ALG_PSS); break;
    case 0xA4: ok = !ec && alg == ALG_RAW_PKCS1; break;
    default:   ok = !ec && (alg == 0x0A || alg == 0x1A); break;
    }
    if (!ok)
        return SW_BAD_DATA;
    c->se_tmpl = a->p2;
    c->se_key = ref & 0x7F;
    c->se_alg = (uint8_t)alg;
    return SW_OK;
}

/* The key the environment names, once the PIN allows its use. */
static uint16_t se_key(struct o_card *c, uint8_t tmpl, EVP_PKEY **k)
{
    if (c->se_tmpl != tmpl)
        return SW_COND_USE;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    *k = c->slots[c->se_key - 1].key;
    return *k ? SW_OK : SW_REF_NOT_FND;
}

static uint16_t alloc_out(struct o_resp *r, size_t n)
{
    r->data = malloc(n);
    r->len = 0;
    r->fixed = true;
    return r->data ? SW_OK : SW_ERROR;
}

/* ECDSA-Sig DER -> r||s, 32 bytes each. */
static int ec_raw(const uint8_t *der, size_t n, uint8_t *out)
{
    const uint8_t *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (!sig)
        return -1;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    int ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok ? 0 : -1;
}

static uint16_t sign(EVP_PKEY *k, uint8_t alg, const uint8_t *in, size_t n,
                     struct o_resp *r)
{
    size_t klen = (size_t)EVP_PKEY_get_size(k), out_len = klen;
    const EVP_MD *md = NULL;
    if (alg == ALG_PKCS1 || alg == ALG_RAW_PKCS1) {
        if (n == 0 || n > klen - 11)
            return SW_WRONG_LEN;
        if (alg == ALG_PKCS1 && !is_digest_info(in, n))
            return SW_BAD_DATA;
    } else {
        md = md_for(n);
        if (!md && (alg == ALG_PSS || n == 0 || n > 64))
            return SW_WRONG_LEN;
        if (alg == ALG_PSS && 2 * n + 2 > klen)
            return SW_WRONG_LEN;
    }
    if (alloc_out(r, klen) != SW_OK)
        return SW_ERROR;
    vc_clock_key_op(k);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    int ok = ctx && EVP_PKEY_sign_init(ctx) > 0;
    if (ok && alg == ALG_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(ctx, md) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0;
    else if (ok && alg != ALG_ECDSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    if (ok)
        ok = EVP_PKEY_sign(ctx, r->data, &out_len, in, n) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (ok && alg == ALG_ECDSA) {
        uint8_t raw[64];
        ok = ec_raw(r->data, out_len, raw) == 0;
        memcpy(r->data, raw, sizeof raw);
        out_len = sizeof raw;
    }
    if (!ok) {
        free(r->data);
        r->data = NULL;
        return SW_ERROR;
    }
    r->len = out_len;
    return SW_OK;
}

static uint16_t decipher(EVP_PKEY *k, const uint8_t *in, size_t n, struct o_resp *r)
{
    size_t klen = (size_t)EVP_PKEY_get_size(k), out_len = klen;
    if (n < 1 || (in[0] != 0x81 && in[0] != 0x00))
        return SW_BAD_DATA;
    if (n - 1 != klen)
        return SW_WRONG_LEN;
    if (alloc_out(r, klen) != SW_OK)
        return SW_ERROR;
    r->fixed = false;
    vc_clock_key_op(k);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    int ok = ctx && EVP_PKEY_decrypt_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_decrypt(ctx, r->data, &out_len, in + 1, n - 1) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(r->data, klen);
        free(r->data);
        r->data = NULL;
        return SW_BAD_DATA;
    }
    r->len = out_len;
    return SW_OK;
}

uint16_t vc_o_pso(struct o_card *c, const struct o_apdu *a, struct o_resp *r)
{
    EVP_PKEY *k;
    uint16_t sw;
    if (a->p1 == 0x9E && a->p2 == 0x9A) {
        if ((sw = se_key(c, 0xB6, &k)) != SW_OK)
            return sw;
        return sign(k, c->se_alg, a->data, a->lc, r);
    }
    if (a->p1 == 0x80 && a->p2 == 0x86) {
        if ((sw = se_key(c, 0xB8, &k)) != SW_OK)
            return sw;
        return decipher(k, a->data, a->lc, r);
    }
    return SW_BAD_P1P2;
}

uint16_t vc_o_int_auth(struct o_card *c, const struct o_apdu *a, struct o_resp *r)
{
    EVP_PKEY *k;
    uint16_t sw;
    if (a->p1 != 0 || a->p2 != 0)
        return SW_BAD_P1P2;
    if ((sw = se_key(c, 0xA4, &k)) != SW_OK)
        return sw;
    return sign(k, ALG_RAW_PKCS1, a->data, a->lc, r);
}
