/* test_pkcs11_writes.c: after C_GenerateKeyPair and C_CreateObject the
 * module puts the new key or certificate into its cached objects and
 * reads only the change counter, instead of reading the card's objects
 * again; what it then shows is what the card holds. Over a scripted G
 * card that fails the test on any command not queued. */
#include "tests/unit/scripted_token.h"

#include <openssl/core_names.h>

static CK_ULONG find(CK_SESSION_HANDLE h, CK_ATTRIBUTE *t, CK_ULONG nt, CK_OBJECT_HANDLE *out)
{
    CK_ULONG n = 0;
    assert_rv(f->C_FindObjectsInit(h, t, nt), CKR_OK);
    assert_rv(f->C_FindObjects(h, out, 4, &n), CKR_OK);
    assert_rv(f->C_FindObjectsFinal(h), CKR_OK);
    return n;
}

/* A certificate of at least 256 bytes (profile G finds only 30 82 ones)
 * for this key, CN "Bob New". */
static size_t cert_for(EVP_PKEY *k, uint8_t **der)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 2);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Bob New", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    *der = NULL;
    int len = i2d_X509(x, der);
    X509_free(x);
    assert_true(len >= 256);
    return (size_t)len;
}

static void test_generate_then_certify_g(void **state)
{
    (void)state;
    CK_SLOT_ID slot;
    token_init(G_ATR, &slot);
    expect_open_g();
    CK_SESSION_HANDLE h;
    assert_rv(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
              CKR_OK);
    sc_expect("00 20 00 01 08 12 34 56 FF FF FF FF FF", "90 00");
    assert_rv(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)"123456", 6), CKR_OK);
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
    CK_ATTRIBUTE tc = { CKA_CLASS, &cc, sizeof(cc) };
    CK_OBJECT_HANDLE got[4];
    expect_g_objects();
    assert_int_equal(find(h, &tc, 1, got), 1);
    token_done();

    /* The key: the store (where it goes), the first free reference asked
     * and used, then the counter alone (the store is still selected). */
    EVP_PKEY *k = EVP_RSA_gen(1024);
    assert_non_null(k);
    BIGNUM *n = NULL;
    assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n));
    uint8_t mod[128];
    assert_int_equal(BN_bn2binpad(n, mod, sizeof(mod)), 128);
    BN_free(n);
    expect_g_store();
    sc_expect("80 46 01 04 00", "6A 88");
    sc_expect_data("80 46 00 04 04 91 02 04 00 00", mod, sizeof(mod), 0x9000);
    uint8_t rd[5] = { 0x00, 0xB0, 0x00, 0x00, G_HDR };
    sc_expect_bin(rd, 5, g_img, G_HDR, 0x9000);
    CK_ULONG bits = 1024;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pub[] = { { CKA_TOKEN, &yes, sizeof(yes) },
                           { CKA_MODULUS_BITS, &bits, sizeof(bits) } };
    CK_ATTRIBUTE priv[] = { { CKA_TOKEN, &yes, sizeof(yes) } };
    CK_MECHANISM kg = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_OBJECT_HANDLE hpub, hpriv;
    assert_rv(f->C_GenerateKeyPair(h, &kg, pub, 2, priv, 1, &hpub, &hpriv), CKR_OK);
    token_done();
    /* Found with no APDU: the new key is among the cached objects. */
    CK_BYTE id[20];
    CK_ATTRIBUTE ta = { CKA_ID, id, sizeof(id) };
    assert_rv(f->C_GetAttributeValue(h, hpriv, &ta, 1), CKR_OK);
    CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tk[] = { { CKA_CLASS, &pc, sizeof(pc) }, { CKA_ID, id, sizeof(id) } };
    assert_int_equal(find(h, tk, 2, got), 1);
    assert_int_equal(got[0], hpriv);
    token_done();

    /* Its certificate: the store, the writes (zeros up to where it goes,
     * the certificate, the header), then the counter alone. */
    uint8_t *der;
    size_t len = cert_for(k, &der);
    EVP_PKEY_free(k);
    expect_g_store();
    size_t used = g_used, pos = G_HDR + len > used ? G_HDR + len : used;
    for (size_t i = 0; i < (pos - used + 247) / 248 + (len + 247) / 248 + 1; i++)
        sc_expect_prefix("00 D6", "90 00");
    sc_expect_bin(rd, 5, g_img, G_HDR, 0x9000);
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_ATTRIBUTE cert[] = { { CKA_CLASS, &cc, sizeof(cc) },
                            { CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
                            { CKA_VALUE, der, len } };
    CK_OBJECT_HANDLE made;
    assert_rv(f->C_CreateObject(h, cert, 3, &made), CKR_OK);
    token_done();
    /* Both certificates, the new one as the card now holds it, labelled
     * with its CN as a reading of a G card would. */
    assert_int_equal(find(h, &tc, 1, got), 2);
    uint8_t value[2048];
    char label[64] = "";
    CK_ATTRIBUTE tv[] = { { CKA_VALUE, value, sizeof(value) },
                          { CKA_LABEL, label, sizeof(label) - 1 } };
    assert_rv(f->C_GetAttributeValue(h, made, tv, 2), CKR_OK);
    assert_int_equal(tv[0].ulValueLen, len);
    assert_memory_equal(value, der, len);
    label[tv[1].ulValueLen] = '\0';
    assert_string_equal(label, "Bob New");
    token_done();
    OPENSSL_free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_generate_then_certify_g, token_fini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
