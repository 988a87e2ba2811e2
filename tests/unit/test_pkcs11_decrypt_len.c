/* test_pkcs11_decrypt_len.c: C_Decrypt's buffer rules over a scripted G
 * card (1024-bit key): a NULL buffer asks for the length (an upper
 * bound, no card); a buffer too small gets CKR_BUFFER_TOO_SMALL and the
 * exact length, nothing written, the operation still active and the
 * plaintext kept, so the retry does not go to the card again. */
#include "tests/unit/scripted_token.h"

static void test_decrypt_buffer_rules(void **state)
{
    (void)state;
    CK_SLOT_ID slot;
    token_init(G_ATR, &slot);
    expect_open_g();
    CK_SESSION_HANDLE h;
    assert_rv(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_OK);
    sc_expect("00 20 00 01 08 12 34 56 FF FF FF FF FF", "90 00");
    assert_rv(f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)"123456", 6), CKR_OK);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
    CK_OBJECT_HANDLE key;
    CK_ULONG n = 0;
    expect_g_objects();
    expect_g_probes();      /* keys without a certificate, looked for once */
    assert_rv(f->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_rv(f->C_FindObjects(h, &key, 1, &n), CKR_OK);
    assert_rv(f->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
    assert_rv(f->C_DecryptInit(h, &m, key), CKR_OK);   /* the objects just checked */
    token_done();

    CK_BYTE ct[128];
    memset(ct, 0x42, sizeof(ct));
    CK_ULONG len = 0;
    assert_rv(f->C_Decrypt(h, ct, sizeof(ct), NULL, &len), CKR_OK);
    assert_int_equal(len, 128 - 11);
    sc_expect("00 22 41 B8 06 80 01 12 84 01 03", "90 00");
    uint8_t pso[5 + 128 + 1] = { 0x80, 0x2A, 0x80, 0x84, 0x80 };
    memset(pso + 5, 0x42, 128);
    sc_expect_bin(pso, sizeof(pso), (const uint8_t *)"\x5E\xC2\xE7\xA1\xB2", 5, 0x9000);
    CK_BYTE four[4];
    len = sizeof(four);
    assert_rv(f->C_Decrypt(h, ct, sizeof(ct), four, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 5);
    token_done();
    CK_BYTE five[5];
    len = sizeof(five);
    assert_rv(f->C_Decrypt(h, ct, sizeof(ct), five, &len), CKR_OK);    /* no card */
    assert_int_equal(len, 5);
    assert_memory_equal(five, "\x5E\xC2\xE7\xA1\xB2", 5);
    assert_rv(f->C_Decrypt(h, ct, sizeof(ct), five, &len), CKR_OPERATION_NOT_INITIALIZED);
    token_done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_decrypt_buffer_rules, token_fini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
