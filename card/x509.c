/* x509.c: what the drivers need from a certificate: its public key (so a
 * container's CKA_ID comes from the same modulus as its key's) and the
 * subject CN (profile G's token label). */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "card/card_int.h"
#include "card/x509.h"

static int bn_param(EVP_PKEY *pk, const char *name, uint8_t **out, size_t *len)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pk, name, &bn))
        return CARD_E_BAD_RESPONSE;
    size_t n = (size_t)BN_num_bytes(bn);
    *out = malloc(n ? n : 1);
    if (!*out) {
        BN_free(bn);
        return CARD_E_HOST_MEMORY;
    }
    BN_bn2bin(bn, *out);
    *len = n;
    BN_free(bn);
    return CARD_OK;
}

int card_cert_pubkey(const uint8_t *der, size_t len, struct card_container *k)
{
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return CARD_E_BAD_RESPONSE;
    int rv = CARD_E_BAD_RESPONSE;
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (!pk)
        goto out;
    if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) {
        k->type = CARD_KEY_RSA;
        rv = bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &k->modulus, &k->modulus_len);
        if (rv == CARD_OK)
            rv = bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &k->exponent, &k->exponent_len);
        k->bits = (unsigned)EVP_PKEY_get_bits(pk);
    } else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
        uint8_t pt[65];
        size_t n = 0;
        char curve[32];
        if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, curve,
                                            sizeof(curve), NULL) ||
            strcmp(curve, "prime256v1") ||
            !EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                             sizeof(pt), &n) || n != 65)
            goto out;
        k->type = CARD_KEY_EC_P256;
        k->bits = 256;
        k->ec_point = malloc(n);
        if (!k->ec_point) {
            rv = CARD_E_HOST_MEMORY;
            goto out;
        }
        memcpy(k->ec_point, pt, n);
        k->ec_point_len = n;
        rv = CARD_OK;
    }
    if (rv == CARD_OK)
        rv = card_container_set_id(k);
out:
    X509_free(x);
    return rv;
}

int card_cert_cn(const uint8_t *der, size_t len, char *out, size_t cap)
{
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return CARD_E_BAD_RESPONSE;
    out[0] = 0;
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                                      out, (int)cap);
    X509_free(x);
    if (n < 0) {
        out[0] = 0;
        return CARD_E_NOT_FOUND;
    }
    return CARD_OK;
}
