/* The certificate walker (card/x509.c) against OpenSSL: the same fields,
 * the same public key, and nothing but a clean refusal for a certificate
 * cut short or corrupted, or an inner element cut short at any depth. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/ec.h>

#include "card/x509.h"

/* A self-signed certificate for a fresh key; DER in *der. */
static size_t make_cert(EVP_PKEY *key, const char *cn, uint8_t **der)
{
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 730L * 86400);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"NHS", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    *der = NULL;
    int len = i2d_X509(x, der);
    assert_true(len > 0);
    X509_free(x);
    return (size_t)len;
}

static void same_tlv(const uint8_t *got, size_t got_len, const unsigned char *want, int want_len)
{
    assert_int_equal(got_len, (size_t)want_len);
    assert_memory_equal(got, want, got_len);
}

static void check_against_openssl(EVP_PKEY *key)
{
    uint8_t *der;
    size_t len = make_cert(key, "Test User 123456789012", &der);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);

    assert_true(card_cert_whole(der, len));
    struct card_cert_parts parts;
    assert_int_equal(card_cert_split(der, len, &parts), CARD_OK);

    unsigned char *enc = NULL;
    int n = i2d_X509_NAME(X509_get_subject_name(x), &enc);
    same_tlv(parts.subject, parts.subject_len, enc, n);
    OPENSSL_free(enc);
    enc = NULL;
    n = i2d_X509_NAME(X509_get_issuer_name(x), &enc);
    same_tlv(parts.issuer, parts.issuer_len, enc, n);
    OPENSSL_free(enc);
    enc = NULL;
    n = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &enc);
    same_tlv(parts.serial, parts.serial_len, enc, n);
    OPENSSL_free(enc);
    enc = NULL;
    n = i2d_PUBKEY(key, &enc);
    same_tlv(parts.spki, parts.spki_len, enc, n);
    OPENSSL_free(enc);

    char cn[64];
    assert_int_equal(card_cert_cn(der, len, cn, sizeof(cn)), CARD_OK);
    assert_string_equal(cn, "Test User 123456789012");

    struct card_container k;
    memset(&k, 0, sizeof(k));
    assert_int_equal(card_cert_pubkey(der, len, &k), CARD_OK);
    assert_int_equal(k.bits, (unsigned)EVP_PKEY_get_bits(key));
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        BIGNUM *bn = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(key, "n", &bn), 1);
        uint8_t m[512];
        int mlen = BN_bn2bin(bn, m);
        assert_int_equal(k.modulus_len, (size_t)mlen);
        assert_memory_equal(k.modulus, m, (size_t)mlen);
        BN_free(bn);
    } else {
        uint8_t pt[65];
        size_t ptlen = 0;
        assert_int_equal(EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", pt,
                                                         sizeof(pt), &ptlen), 1);
        assert_int_equal(k.ec_point_len, ptlen);
        assert_memory_equal(k.ec_point, pt, ptlen);
    }
    card_container_clear(&k);

    /* Every proper prefix is refused; so is a trailing byte. */
    for (size_t cut = 0; cut < len; cut++)
        assert_false(card_cert_whole(der, cut));
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_false(card_cert_whole(longer, len + 1));
    free(longer);

    X509_free(x);
    OPENSSL_free(der);
}

static void test_rsa_1024(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_RSA_gen(1024);
    check_against_openssl(k);
    EVP_PKEY_free(k);
}

static void test_rsa_2048(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_RSA_gen(2048);
    check_against_openssl(k);
    EVP_PKEY_free(k);
}

static void test_p256(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    check_against_openssl(k);
    EVP_PKEY_free(k);
}

/* A heap copy of exactly n bytes: ASan reports a read one byte past it. */
static uint8_t *exact_copy(const uint8_t *b, size_t n)
{
    uint8_t *c = malloc(n);
    assert_non_null(c);
    memcpy(c, b, n);
    return c;
}

/* How the innermost element is cut short by one byte. */
enum cut { CUT_VALUE, CUT_SEQUENCE, CUT_LENGTH };
static const char *const cut_name[] = { "an OCTET STRING's value", "a SEQUENCE's value",
                                         "a long-form length" };

/* SEQUENCEs nested depth deep around a last element one byte short:
 * 04 01 (a value byte missing), 30 02 01 (a walker that took it would
 * step in and read one past the end) or 30 81 (the length byte missing).
 * Every enclosing length is right, so only the inner check can refuse. */
static size_t nest_cut(int depth, enum cut cut, uint8_t *out, size_t cap)
{
    static const uint8_t inner[][3] = { { 0x04, 0x01 }, { 0x30, 0x02, 0x01 }, { 0x30, 0x81 } };
    static const size_t inner_len[] = { 2, 3, 2 };
    uint8_t buf[64];
    size_t at = sizeof(buf) - inner_len[cut];
    memcpy(buf + at, inner[cut], inner_len[cut]);
    for (int i = 0; i < depth; i++) {
        uint8_t len = (uint8_t)(sizeof(buf) - at);
        buf[--at] = len;
        buf[--at] = 0x30;
    }
    size_t n = sizeof(buf) - at;
    assert_true(n <= cap);
    memcpy(out, buf + at, n);
    return n;
}

/* An inner element cut short is refused at every depth, and the walker
 * reads nothing past the buffer (heap copies of exact size, for ASan). */
static void test_inner_element_cut_short(void **state)
{
    (void)state;
    static const uint8_t seven[] = { 0x30, 0x05, 0x30, 0x03, 0x30, 0x02, 0x01 };
    uint8_t *c = exact_copy(seven, sizeof(seven));
    assert_false(card_cert_whole(c, sizeof(seven)));
    struct card_cert_parts parts;
    assert_int_equal(card_cert_split(c, sizeof(seven), &parts), CARD_E_BAD_RESPONSE);
    free(c);
    for (int depth = 0; depth <= 16; depth++) {
        for (enum cut cut = CUT_VALUE; cut <= CUT_LENGTH; cut++) {
            uint8_t b[64];
            size_t n = nest_cut(depth, cut, b, sizeof(b));
            c = exact_copy(b, n);
            if (card_cert_whole(c, n))
                fail_msg("accepted: depth %d, %s cut short", depth, cut_name[cut]);
            free(c);
        }
    }
    /* The same shape, whole, is accepted: the refusals above are the
     * cut's doing, not the shape's. */
    static const uint8_t whole[] = { 0x30, 0x06, 0x30, 0x04, 0x30, 0x02, 0x04, 0x00 };
    c = exact_copy(whole, sizeof(whole));
    assert_true(card_cert_whole(c, sizeof(whole)));
    free(c);
}

/* Corrupted bytes anywhere: every call returns, and a certificate the
 * walker still accepts yields fields that lie inside the buffer. */
static void test_corruption_is_contained(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_RSA_gen(1024);
    uint8_t *der;
    size_t len = make_cert(key, "Corrupt", &der);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, der, len);
        uint8_t r[3];
        RAND_bytes(r, sizeof(r));
        size_t at = ((size_t)r[0] << 8 | r[1]) % len;
        copy[at] ^= (uint8_t)(r[2] | 1);
        struct card_cert_parts parts;
        if (card_cert_split(copy, len, &parts) == CARD_OK) {
            assert_true(parts.subject >= copy && parts.subject + parts.subject_len <= copy + len);
            assert_true(parts.spki >= copy && parts.spki + parts.spki_len <= copy + len);
        }
        char cn[64];
        if (card_cert_cn(copy, len, cn, sizeof(cn)) == CARD_OK)
            assert_true(strlen(cn) < sizeof(cn));
        struct card_container k;
        memset(&k, 0, sizeof(k));
        (void)card_cert_pubkey(copy, len, &k);
        card_container_clear(&k);
    }
    free(copy);
    OPENSSL_free(der);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_1024),
        cmocka_unit_test(test_rsa_2048),
        cmocka_unit_test(test_p256),
        cmocka_unit_test(test_corruption_is_contained),
        cmocka_unit_test(test_inner_element_cut_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
