/* test_pkcs11_object.c: objects built from card containers, no card:
 * certificate, public and private key attributes (RSA and EC P-256),
 * sensitivity, CKA_DECRYPT as the key's usage, labels, and
 * handles that stay put across cache refreshes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "pkcs11/p11.h"

static void *dup(const void *p, size_t n)
{
    uint8_t *d = malloc(n);
    assert_non_null(d);
    memcpy(d, p, n);
    return d;
}

static uint8_t *self_signed(EVP_PKEY *k, const char *cn, size_t *len)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    ASN1_TIME_set_string(X509_getm_notBefore(x), "20260101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(x), "20281231235959Z");
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int l = i2d_X509(x, &der);
    assert_true(l > 0);
    *len = (size_t)l;
    uint8_t *out = dup(der, *len);
    OPENSSL_free(der);
    X509_free(x);
    return out;
}

/* A container as a driver reports it: an RSA key of the given size. */
static void rsa_container(struct card_container *c, unsigned bits, bool cert, EVP_PKEY **key)
{
    memset(c, 0, sizeof(*c));
    EVP_PKEY *k = EVP_RSA_gen(bits);
    assert_non_null(k);
    BIGNUM *n = NULL, *e = NULL;
    assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n));
    assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e));
    c->modulus_len = (size_t)BN_num_bytes(n);
    c->modulus = malloc(c->modulus_len);
    BN_bn2bin(n, c->modulus);
    c->exponent_len = (size_t)BN_num_bytes(e);
    c->exponent = malloc(c->exponent_len);
    BN_bn2bin(e, c->exponent);
    BN_free(n);
    BN_free(e);
    SHA1(c->modulus, c->modulus_len, c->id);
    c->id_len = 20;
    c->type = CARD_KEY_RSA;
    c->bits = bits;
    c->ref = 3;
    c->can_sign = c->can_decrypt = true;
    if (cert)
        c->cert = self_signed(k, "Alice Example", &c->cert_len);
    *key = k;
}

static const struct p11_attr *get(const struct p11_attrs *l, CK_ATTRIBUTE_TYPE t)
{
    const struct p11_attr *a = p11_attrs_get0(l, t);
    assert_non_null(a);
    return a;
}

static bool get_bool(const struct p11_attrs *l, CK_ATTRIBUTE_TYPE t)
{
    const struct p11_attr *a = get(l, t);
    assert_int_equal(a->len, 1);
    return *(CK_BBOOL *)a->val == CK_TRUE;
}

static CK_ULONG get_ulong(const struct p11_attrs *l, CK_ATTRIBUTE_TYPE t)
{
    const struct p11_attr *a = get(l, t);
    assert_int_equal(a->len, sizeof(CK_ULONG));
    return *(CK_ULONG *)a->val;
}

static void test_rsa_objects(void **state)
{
    (void)state;
    struct card_container c;
    EVP_PKEY *k;
    rsa_container(&c, 1024, true, &k);
    struct p11_attrs cert = { 0 }, pub = { 0 }, priv = { 0 };
    assert_int_equal(p11_object_attrs_build(&c, P11_CERT, NULL, &cert), CKR_OK);
    assert_int_equal(p11_object_attrs_build(&c, P11_PUB, NULL, &pub), CKR_OK);
    assert_int_equal(p11_object_attrs_build(&c, P11_PRIV, NULL, &priv), CKR_OK);

    assert_int_equal(get_ulong(&cert, CKA_CLASS), CKO_CERTIFICATE);
    assert_int_equal(get_ulong(&cert, CKA_CERTIFICATE_TYPE), CKC_X_509);
    assert_int_equal(get_ulong(&cert, CKA_CERTIFICATE_CATEGORY), 1);
    assert_false(get_bool(&cert, CKA_TRUSTED));
    assert_false(get_bool(&cert, CKA_PRIVATE));
    assert_true(get_bool(&cert, CKA_TOKEN));
    assert_int_equal(get(&cert, CKA_VALUE)->len, c.cert_len);
    assert_memory_equal(get(&cert, CKA_VALUE)->val, c.cert, c.cert_len);
    assert_memory_equal(get(&cert, CKA_ID)->val, c.id, 20);
    assert_memory_equal(get(&cert, CKA_LABEL)->val, "Alice Example", 13);   /* the CN */
    static const uint8_t serial[] = { 0x02, 0x02, 0x10, 0x92 };             /* INTEGER 4242 */
    assert_int_equal(get(&cert, CKA_SERIAL_NUMBER)->len, sizeof(serial));
    assert_memory_equal(get(&cert, CKA_SERIAL_NUMBER)->val, serial, sizeof(serial));
    assert_memory_equal(get(&cert, CKA_START_DATE)->val, "20260101", 8);
    assert_memory_equal(get(&cert, CKA_END_DATE)->val, "20281231", 8);
    assert_int_equal(get(&cert, CKA_SUBJECT)->len, get(&cert, CKA_ISSUER)->len);

    assert_int_equal(get_ulong(&pub, CKA_CLASS), CKO_PUBLIC_KEY);
    assert_int_equal(get_ulong(&pub, CKA_KEY_TYPE), CKK_RSA);
    assert_int_equal(get_ulong(&pub, CKA_MODULUS_BITS), 1024);
    assert_memory_equal(get(&pub, CKA_MODULUS)->val, c.modulus, c.modulus_len);
    assert_true(get_bool(&pub, CKA_VERIFY));
    assert_memory_equal(get(&pub, CKA_SUBJECT)->val, get(&cert, CKA_SUBJECT)->val,
                        get(&cert, CKA_SUBJECT)->len);
    unsigned char *spki = NULL;
    int sl = i2d_PUBKEY(k, &spki);
    assert_int_equal(get(&pub, CKA_PUBLIC_KEY_INFO)->len, sl);
    assert_memory_equal(get(&pub, CKA_PUBLIC_KEY_INFO)->val, spki, sl);
    OPENSSL_free(spki);

    assert_int_equal(get_ulong(&priv, CKA_CLASS), CKO_PRIVATE_KEY);
    assert_true(get_bool(&priv, CKA_PRIVATE));
    assert_true(get_bool(&priv, CKA_SENSITIVE));
    assert_true(get_bool(&priv, CKA_ALWAYS_SENSITIVE));
    assert_false(get_bool(&priv, CKA_EXTRACTABLE));
    assert_true(get_bool(&priv, CKA_NEVER_EXTRACTABLE));
    assert_false(get_bool(&priv, CKA_ALWAYS_AUTHENTICATE));
    assert_true(get_bool(&priv, CKA_SIGN));
    assert_true(get_bool(&priv, CKA_DECRYPT));      /* 128 bytes fit G's APDU */
    assert_memory_equal(get(&priv, CKA_PUBLIC_EXPONENT)->val, c.exponent, c.exponent_len);
    assert_true(get(&priv, CKA_PRIVATE_EXPONENT)->sensitive);
    assert_true(get(&priv, CKA_PRIME_1)->sensitive);
    assert_memory_equal(get(&priv, CKA_ID)->val, c.id, 20);

    EVP_PKEY *back = p11_container_pkey(&c);
    assert_int_equal(EVP_PKEY_eq(back, k), 1);
    EVP_PKEY_free(back);
    p11_attrs_free(&cert);
    p11_attrs_free(&pub);
    p11_attrs_free(&priv);
    EVP_PKEY_free(k);
    struct card_objects o = { (struct card_container *)dup(&c, sizeof(c)), 1 };
    card_objects_clear(&o);
}

static void test_decrypt_usage_and_labels(void **state)
{
    (void)state;
    struct card_container c;
    EVP_PKEY *k;
    rsa_container(&c, 2048, false, &k);
    struct p11_attrs a = { 0 }, b = { 0 }, cert = { 0 };
    assert_int_equal(p11_object_attrs_build(&c, P11_PRIV, "asked", &a), CKR_OK);
    assert_true(get_bool(&a, CKA_DECRYPT));          /* the key's usage, whatever the APDUs */
    assert_memory_equal(get(&a, CKA_LABEL)->val, "asked", 5);
    assert_int_equal(get(&a, CKA_SUBJECT)->len, 0);  /* pending: no certificate */
    assert_int_equal(p11_object_attrs_build(&c, P11_PRIV, NULL, &b), CKR_OK);
    assert_true(get_bool(&b, CKA_DECRYPT));
    assert_memory_equal(get(&b, CKA_LABEL)->val, "key 3", 5);
    assert_int_equal(p11_object_attrs_build(&c, P11_CERT, NULL, &cert), CKR_DEVICE_ERROR);
    p11_attrs_free(&a);
    p11_attrs_free(&b);
    p11_attrs_free(&cert);
    /* The label asked for wins over the card's, which wins over the rest. */
    memcpy(c.label, "card label", 11);
    struct p11_attrs d = { 0 }, e = { 0 };
    assert_int_equal(p11_object_attrs_build(&c, P11_PUB, "asked", &d), CKR_OK);
    assert_memory_equal(get(&d, CKA_LABEL)->val, "asked", 5);
    assert_int_equal(p11_object_attrs_build(&c, P11_PUB, NULL, &e), CKR_OK);
    assert_memory_equal(get(&e, CKA_LABEL)->val, "card label", 10);
    p11_attrs_free(&d);
    p11_attrs_free(&e);
    EVP_PKEY_free(k);
    struct card_objects o = { (struct card_container *)dup(&c, sizeof(c)), 1 };
    card_objects_clear(&o);
}

static void test_ec_objects(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    struct card_container c;
    memset(&c, 0, sizeof(c));
    uint8_t pt[65];
    size_t ptlen = 0;
    assert_true(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen));
    assert_int_equal(ptlen, 65);
    c.ec_point = dup(pt, ptlen);
    c.ec_point_len = ptlen;
    c.type = CARD_KEY_EC_P256;
    c.bits = 256;
    c.can_sign = true;
    SHA1(pt, ptlen, c.id);
    c.id_len = 20;
    struct p11_attrs pub = { 0 }, priv = { 0 };
    assert_int_equal(p11_object_attrs_build(&c, P11_PUB, NULL, &pub), CKR_OK);
    assert_int_equal(p11_object_attrs_build(&c, P11_PRIV, NULL, &priv), CKR_OK);
    static const uint8_t oid[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
    assert_int_equal(get(&pub, CKA_EC_PARAMS)->len, sizeof(oid));
    assert_memory_equal(get(&pub, CKA_EC_PARAMS)->val, oid, sizeof(oid));
    const struct p11_attr *ep = get(&pub, CKA_EC_POINT);
    assert_int_equal(ep->len, 67);
    assert_int_equal(((uint8_t *)ep->val)[0], 0x04);        /* OCTET STRING */
    assert_int_equal(((uint8_t *)ep->val)[1], 65);
    assert_memory_equal((uint8_t *)ep->val + 2, pt, 65);
    assert_int_equal(get_ulong(&pub, CKA_KEY_TYPE), CKK_EC);
    assert_true(get(&priv, CKA_VALUE)->sensitive);
    assert_false(get_bool(&priv, CKA_DECRYPT));
    assert_memory_equal(get(&priv, CKA_EC_PARAMS)->val, oid, sizeof(oid));
    EVP_PKEY *back = p11_container_pkey(&c);
    assert_int_equal(EVP_PKEY_eq(back, k), 1);
    EVP_PKEY_free(back);
    p11_attrs_free(&pub);
    p11_attrs_free(&priv);
    EVP_PKEY_free(k);
    struct card_objects o = { (struct card_container *)dup(&c, sizeof(c)), 1 };
    card_objects_clear(&o);
}

/* Handles survive a refresh; a new container's objects get new ones. */
static void test_handles(void **state)
{
    (void)state;
    struct p11_slot *s = &p11_g.slots[2];
    memset(s, 0, sizeof(*s));
    s->next_handle = 1;
    EVP_PKEY *k1, *k2;
    struct card_container *cs = calloc(2, sizeof(*cs));
    rsa_container(&cs[0], 1024, true, &k1);
    rsa_container(&cs[1], 1024, false, &k2);
    s->cont.c = cs;
    s->cont.n = 1;
    assert_int_equal(p11_objects_build(s), CKR_OK);
    assert_int_equal(s->nobj, 3);
    CK_OBJECT_HANDLE h[3];
    for (int i = 0; i < 3; i++) {
        h[i] = s->obj[i].handle;
        assert_int_equal(h[i] >> 24, 3);            /* slot 2 */
    }
    assert_null(p11_object_get0(s, h[2], false));    /* private: hidden */
    assert_non_null(p11_object_get0(s, h[2], true));
    s->cont.n = 2;
    assert_int_equal(p11_objects_build(s), CKR_OK);
    assert_int_equal(s->nobj, 5);                    /* the pending key has no certificate */
    for (int i = 0; i < 3; i++)
        assert_int_equal(s->obj[i].handle, h[i]);
    for (int i = 3; i < 5; i++)
        for (int j = 0; j < 3; j++)
            assert_int_not_equal(s->obj[i].handle, h[j]);
    p11_objects_free(s);
    card_objects_clear(&s->cont);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_objects),
        cmocka_unit_test(test_decrypt_usage_and_labels),
        cmocka_unit_test(test_ec_objects),
        cmocka_unit_test(test_handles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
