/* fuzz_x509.c: the certificate walker (card/x509.c) against OpenSSL.
 *
 * The walker decides what the module shows of a certificate (CKA_ISSUER,
 * CKA_SUBJECT, CKA_SERIAL_NUMBER, the dates, CKA_PUBLIC_KEY_INFO) and which
 * key a certificate pairs with (CKA_ID). So where the walker accepts and
 * OpenSSL decodes the same bytes, they must agree on every field and on
 * the key: a difference would show hosts a certificate other than the one
 * in CKA_VALUE. Where the walker refuses what OpenSSL accepts, the module
 * shows less (a stricter reading of DER); that is allowed. Where the
 * walker accepts what OpenSSL refuses, hosts get a CKA_VALUE they cannot
 * decode: fatal when FUZZ_X509_STRICT=1 (run.sh and replay.sh set it),
 * let pass with FUZZ_X509_STRICT=0, to look for field disagreements alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "card/card.h"
#include "card/x509.h"

static bool strict;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    const char *e = getenv("FUZZ_X509_STRICT");
    strict = e && *e && strcmp(e, "0");
    return 0;
}

static const char *const field[] = { "serial", "issuer", "subject", "notBefore",
                                     "notAfter", "subjectPublicKeyInfo" };

/* The DER OpenSSL gives for a field must be the walker's bytes. */
static void same(int i, const uint8_t *walk, size_t wlen, unsigned char *der, int dlen)
{
    if (dlen <= 0 || (size_t)dlen != wlen || memcmp(walk, der, wlen)) {
        fprintf(stderr, "fuzz_x509: %s: the walker's %zu bytes are not OpenSSL's %d\n",
                field[i], wlen, dlen);
        abort();
    }
    OPENSSL_free(der);
}

static void same_bn(EVP_PKEY *pk, const char *name, const uint8_t *v, size_t len)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
        abort();
    uint8_t buf[1024];
    int n = BN_bn2bin(bn, buf);
    /* The walker keeps a zero as one byte; BN_bn2bin gives none. */
    if (!(n == 0 && len == 1 && v[0] == 0) &&
        ((size_t)n != len || memcmp(buf, v, len)))
        abort();
    BN_free(bn);
}

static void compare_key(X509 *x, const struct card_container *k)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (!pk) {
        if (strict)
            abort();        /* the walker took a key OpenSSL cannot decode */
        return;
    }
    if (k->type == CARD_KEY_RSA) {
        if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)
            abort();
        same_bn(pk, OSSL_PKEY_PARAM_RSA_N, k->modulus, k->modulus_len);
        same_bn(pk, OSSL_PKEY_PARAM_RSA_E, k->exponent, k->exponent_len);
        if ((int)k->bits != EVP_PKEY_get_bits(pk))
            abort();
    } else {
        uint8_t pt[133];
        size_t n = 0;
        if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
            EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                            pt, sizeof(pt), &n) != 1 ||
            n != k->ec_point_len || memcmp(pt, k->ec_point, n))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct card_cert_parts cp;
    bool whole = card_cert_whole(data, size);
    int rv = card_cert_split(data, size, &cp);
    if (rv == CARD_OK && !whole)
        abort();        /* split accepts only what whole accepts */
    struct card_container k = { 0 };
    int krv = card_cert_pubkey(data, size, &k);
    if (krv == CARD_OK && rv != CARD_OK)
        abort();
    char cn[64];
    memset(cn, 0x55, sizeof(cn));
    if (card_cert_cn(data, size, cn, sizeof(cn)) == CARD_OK && !memchr(cn, 0, sizeof(cn)))
        abort();
    if (rv != CARD_OK) {
        card_container_clear(&k);
        return 0;
    }
    /* Each field lies inside the input. */
    const uint8_t *f[] = { cp.serial, cp.issuer, cp.not_before, cp.not_after, cp.subject,
                           cp.spki };
    size_t fl[] = { cp.serial_len, cp.issuer_len, cp.not_before_len, cp.not_after_len,
                    cp.subject_len, cp.spki_len };
    for (size_t i = 0; i < 6; i++)
        if (!f[i] || f[i] < data || fl[i] == 0 || f[i] + fl[i] > data + size)
            abort();
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)size);
    if (!x || p != data + size) {
        if (strict)
            abort();
        X509_free(x);
        card_container_clear(&k);
        return 0;
    }
    unsigned char *der[5] = { NULL };
    int dl[5] = {
        i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der[0]),
        i2d_X509_NAME(X509_get_issuer_name(x), &der[1]),
        i2d_X509_NAME(X509_get_subject_name(x), &der[2]),
        i2d_ASN1_TIME(X509_get0_notBefore(x), &der[3]),
        i2d_ASN1_TIME(X509_get0_notAfter(x), &der[4]),
    };
    const uint8_t *walk[5] = { cp.serial, cp.issuer, cp.subject, cp.not_before,
                               cp.not_after };
    size_t wl[5] = { cp.serial_len, cp.issuer_len, cp.subject_len, cp.not_before_len,
                     cp.not_after_len };
    for (int i = 0; i < 5; i++)
        same(i, walk[i], wl[i], der[i], dl[i]);
    /* OpenSSL re-encodes a SubjectPublicKeyInfo it decoded (a BIT STRING's
     * unused-bits count, absent parameters): the walker's bytes must decode,
     * whole, to the same SubjectPublicKeyInfo as the certificate's. */
    const unsigned char *q = cp.spki;
    X509_PUBKEY *wp = d2i_X509_PUBKEY(NULL, &q, (long)cp.spki_len);
    unsigned char *a = NULL, *b = NULL;
    int al = wp ? i2d_X509_PUBKEY(wp, &a) : -1;
    int bl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &b);
    if (!wp || q != cp.spki + cp.spki_len || al <= 0 || al != bl || memcmp(a, b, (size_t)al)) {
        fprintf(stderr, "fuzz_x509: %s: not the certificate's\n", field[5]);
        abort();
    }
    OPENSSL_free(a);
    OPENSSL_free(b);
    X509_PUBKEY_free(wp);
    if (krv == CARD_OK)
        compare_key(x, &k);
    X509_free(x);
    card_container_clear(&k);
    return 0;
}
