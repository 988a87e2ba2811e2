/* test_pkcs11_mech.c: mechanisms per profile, PSS parameter checks and
 * DigestInfo building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "pkcs11/p11.h"

static bool has(const CK_MECHANISM_TYPE *l, size_t n, CK_MECHANISM_TYPE t)
{
    for (size_t i = 0; i < n; i++)
        if (l[i] == t)
            return true;
    return false;
}

static void test_lists(void **state)
{
    (void)state;
    struct card_info g = { .rsa_bits_min = 1024, .rsa_bits_max = 2048 };
    struct card_info o = { .rsa_bits_min = 1024, .rsa_bits_max = 2048,
                           .has_ec = true, .has_pss = true, .has_sha2 = true };
    CK_MECHANISM_TYPE l[32];
    size_t n = p11_mech_list(&g, l, 32);
    assert_int_equal(n, 3);
    assert_true(has(l, n, CKM_RSA_PKCS) && has(l, n, CKM_SHA1_RSA_PKCS) &&
                has(l, n, CKM_RSA_PKCS_KEY_PAIR_GEN));
    n = p11_mech_list(&o, l, 32);
    static const CK_MECHANISM_TYPE want[] = {
        CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS,
        CKM_SHA512_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS, CKM_ECDSA,
        CKM_ECDSA_SHA256, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN,
    };
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_true(has(l, n, want[i]));

    CK_MECHANISM_INFO mi;
    assert_int_equal(p11_mech_info(&g, 1024, CKM_SHA256_RSA_PKCS, &mi), CKR_MECHANISM_INVALID);
    assert_int_equal(p11_mech_info(&g, 0, CKM_RSA_PKCS, &mi), CKR_OK);
    assert_false(mi.flags & CKF_DECRYPT);
    assert_int_equal(mi.ulMaxKeySize, 2048);
    /* Where the card deciphers, the range is what it deciphers with. */
    assert_int_equal(p11_mech_info(&g, 1024, CKM_RSA_PKCS, &mi), CKR_OK);
    assert_true(mi.flags & CKF_HW);
    assert_true(mi.flags & CKF_SIGN);
    assert_true(mi.flags & CKF_DECRYPT);
    assert_int_equal(mi.ulMinKeySize, 1024);
    assert_int_equal(mi.ulMaxKeySize, 1024);
    assert_int_equal(p11_mech_info(&g, 1024, CKM_SHA1_RSA_PKCS, &mi), CKR_OK);
    assert_false(mi.flags & CKF_DECRYPT);
    assert_int_equal(mi.ulMaxKeySize, 2048);
    assert_int_equal(p11_mech_info(&o, 0, CKM_EC_KEY_PAIR_GEN, &mi), CKR_OK);
    assert_true(mi.flags & CKF_GENERATE_KEY_PAIR);
    assert_true(mi.flags & CKF_HW);
    assert_int_equal(mi.ulMaxKeySize, 256);
    assert_int_equal(p11_mech_info(&o, 0, CKM_RSA_PKCS, &mi), CKR_OK);
    assert_false(mi.flags & CKF_DECRYPT);
    assert_int_equal(p11_mech_info(&o, 2048, CKM_RSA_PKCS, &mi), CKR_OK);
    assert_true(mi.flags & CKF_DECRYPT);
    assert_int_equal(mi.ulMaxKeySize, 2048);

    struct card_driver g_drv = { .name = "G" }, o_drv = { .name = "O" };
    assert_int_equal(p11_profile_limits(&g_drv).sign_in_max, 36);
    assert_int_equal(p11_profile_limits(&o_drv).sign_in_max, 0);
}

static CK_RV pss(CK_MECHANISM_TYPE mech, CK_MECHANISM_TYPE hash, CK_RSA_PKCS_MGF_TYPE mgf,
                 CK_ULONG slen, const EVP_MD **md)
{
    CK_RSA_PKCS_PSS_PARAMS p = { hash, mgf, slen };
    CK_MECHANISM m = { mech, &p, sizeof(p) };
    return p11_pss_check(&m, md);
}

static void test_pss(void **state)
{
    (void)state;
    const EVP_MD *md = NULL;
    assert_int_equal(pss(CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32, &md), CKR_OK);
    assert_ptr_equal(md, EVP_sha256());
    assert_int_equal(pss(CKM_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA1, 20, &md), CKR_OK);
    assert_int_equal(pss(CKM_RSA_PKCS_PSS, CKM_SHA512, CKG_MGF1_SHA512, 64, &md), CKR_OK);
    assert_int_equal(pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32, &md), CKR_OK);
    /* MGF1 of another hash, another salt length, another hash. */
    assert_int_equal(pss(CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA1, 32, &md), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(pss(CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 0, &md), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(pss(CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 20, &md), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(pss(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA1, 20, &md), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(pss(CKM_RSA_PKCS_PSS, CKM_MD5, CKG_MGF1_SHA1, 16, &md), CKR_MECHANISM_PARAM_INVALID);
    /* No or short parameters. */
    CK_MECHANISM none = { CKM_RSA_PKCS_PSS, NULL, 0 };
    assert_int_equal(p11_pss_check(&none, &md), CKR_MECHANISM_PARAM_INVALID);
    CK_RSA_PKCS_PSS_PARAMS p = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM shortp = { CKM_RSA_PKCS_PSS, &p, sizeof(p) - 1 };
    assert_int_equal(p11_pss_check(&shortp, &md), CKR_MECHANISM_PARAM_INVALID);
}

static void test_digest_info(void **state)
{
    (void)state;
    uint8_t h[64], out[128];
    memset(h, 0xab, sizeof(h));
    size_t n = sizeof(out);
    assert_int_equal(p11_digest_info(EVP_sha1(), h, 20, out, &n), CKR_OK);
    assert_int_equal(n, 35);        /* fits G's 36-byte limit */
    static const uint8_t sha1_prefix[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                           0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
    assert_memory_equal(out, sha1_prefix, sizeof(sha1_prefix));
    assert_memory_equal(out + 15, h, 20);
    n = sizeof(out);
    assert_int_equal(p11_digest_info(EVP_sha256(), h, 32, out, &n), CKR_OK);
    assert_int_equal(n, 51);
    assert_int_equal(out[1], 0x31);
    assert_int_equal(out[18], 0x20);
    n = sizeof(out);
    assert_int_equal(p11_digest_info(EVP_sha384(), h, 48, out, &n), CKR_OK);
    assert_int_equal(n, 67);
    n = sizeof(out);
    assert_int_equal(p11_digest_info(EVP_sha512(), h, 64, out, &n), CKR_OK);
    assert_int_equal(n, 83);
    assert_int_equal(out[14], 0x03);     /* the SHA-512 OID arc */
    /* A hash of the wrong length, a buffer too small. */
    n = sizeof(out);
    assert_int_equal(p11_digest_info(EVP_sha256(), h, 20, out, &n), CKR_ARGUMENTS_BAD);
    n = 50;
    assert_int_equal(p11_digest_info(EVP_sha256(), h, 32, out, &n), CKR_BUFFER_TOO_SMALL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_pss),
        cmocka_unit_test(test_digest_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
